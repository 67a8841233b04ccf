#!/bin/bash
# kvsm run --timeline (docs/timeline.md): the file parses as JSON, its spans are closed, its
# tracks named and in time order (tests/cli/timeline_check.py), and its events agree with --stats.
# Without /dev/kvm only the KVM-free cases run. Prints "ok NAME", "FAIL NAME: details" or "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
KVSM=build/kvsm
G=build/guests
CHECK="python3 tests/cli/timeline_check.py"
TIMEOUT=${KVSM_GUEST_TIMEOUT:-120}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v python3 >/dev/null; then
	echo "FAIL timeline: python3 is missing (make deps)"
	exit 1
fi

# verdict NAME RC: the check's output is in $tmp/check.
verdict() {
	if [ "$2" -eq 0 ]; then
		echo "ok $1"
	else
		echo "FAIL $1"
		sed 's/^/    /' "$tmp/check" | tail -20
	fi
}

# A full buffer: events dropped and counted, the track still closed.
build/tests/cli/mktimeline "$tmp/synthetic.json" && $CHECK "$tmp/synthetic.json" --expect-dropped >"$tmp/check" 2>&1
verdict timeline-overflow $?

# A path that cannot be created is a usage error, before the guest (or /dev/kvm) is looked at.
"$KVSM" run --timeline "$tmp/no/such/dir/t.json" "$G/hello.elf" >"$tmp/check" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "^kvsm: cannot create timeline '$tmp/no/such/dir/t.json'" "$tmp/check"
verdict timeline-bad-path $?

# timeline NAME STATUS CHECK-ARGS -- KVSM-RUN-ARGS...: run a guest, then check its timeline.
timeline() {
	local name=$1 want=$2 args=() rc
	shift 2
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "skip $name: /dev/kvm is not available, guest tests need KVM"
		return
	fi
	rm -f "$tmp/t.json"
	timeout "$TIMEOUT" "$KVSM" run --stats --timeline "$tmp/t.json" "$@" >"$tmp/out" 2>"$tmp/stats"
	rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL $name: exit status $rc, expected $want"
		sed 's/^/    /' "$tmp/out" "$tmp/stats" | tail -20
		return
	fi
	$CHECK "$tmp/t.json" "${args[@]}" >"$tmp/check" 2>&1
	verdict "$name" $?
}

# One VP: when the guest stops, no other VP is still counting, so the counts match --stats exactly.
timeline timeline-vsm-basic 1 --stats "$tmp/stats" --min-switches 2 -- --vtls 2 "$G/vsm_basic.elf"
timeline timeline-vsm-protect 1 --stats "$tmp/stats" --min-switches 2 -- --vtls 2 "$G/vsm_protect.elf"
timeline timeline-vsm-regint 1 --stats "$tmp/stats" --min-switches 2 -- --vtls 2 "$G/vsm_regint.elf"
timeline timeline-vsm-vtl2 1 --stats "$tmp/stats" --min-switches 2 -- --vtls 3 "$G/vsm_vtl2.elf"
# Several VPs: the other VPs may still exit between --stats and the file, so structure only.
timeline timeline-vsm-irq-smp2 1 --min-switches 2 -- --vtls 2 --smp 2 "$G/vsm_irq.elf"
# A guest that dies (triple fault, status 6) still leaves a valid file.
timeline timeline-triple-fault 6 --stats "$tmp/stats" -- "$G/triple_fault.elf"
