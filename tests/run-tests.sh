#!/bin/bash
# Run every kvsm test and print "N passed, N failed, N skipped" last.
# Each test program prints one line per case: "ok NAME", "FAIL NAME ..." or "skip NAME: reason".
set -u
cd "$(dirname "$0")/.."
B=build
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"; [ -n "${smoke:-}" ] && rm -rf "$smoke"' EXIT

tally() {	# read a test program's output, echo it, count its case lines
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"ok "*) pass=$((pass + 1)) ;;
		"FAIL "*) fail=$((fail + 1)) ;;
		"skip "*) skip=$((skip + 1)) ;;
		esac
	done
}

echo "== host unit tests"
for t in "$B"/tests/unit/*; do
	[ -x "$t" ] || continue
	"$t" >"$log" 2>&1
	rc=$?
	tally <"$log"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$log"; then
		echo "FAIL $(basename "$t") exited with status $rc"; fail=$((fail + 1))
	fi
done

echo "== command-line tests"
for t in tests/cli/*.sh; do
	bash "$t" >"$log" 2>&1
	tally <"$log"
done

echo "== fuzzing (short smoke runs from tests/fuzz/corpus/; 'make fuzz' runs longer)"
# New inputs go to a scratch directory (build/ may be read-only, as under make check-qemu); crash
# inputs to build/fuzz/ where it is writable.
smoke=$(mktemp -d)
art="$B/fuzz"
[ -w "$art" ] || art=$smoke
for t in hypercall regs intercept loader insn; do
	rm -rf "${smoke:?}/$t" && mkdir -p "$smoke/$t"
	if "$B"/fuzz/fuzz_$t -max_total_time=5 -max_len=8192 -artifact_prefix="$art/$t-" \
		"$smoke/$t" tests/fuzz/corpus/$t >"$log" 2>&1; then
		echo "ok fuzz_$t ($(grep -o 'Done [0-9]* runs' "$log"))"; pass=$((pass + 1))
	else
		echo "FAIL fuzz_$t"; tail -30 "$log"; fail=$((fail + 1))
	fi
done

echo "== guest tests"
tests/guest/run-guests.sh >"$log" 2>&1
tally <"$log"

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
