#!/bin/bash
# `kvsm bench --short` runs to its end and writes valid JSON with every figure's samples, the three
# breakdowns (kvsm, state swap, floor), and the figures of the floor and of VTL1's protection calls.
# Asserts no timing. Prints "ok NAME", "FAIL NAME: details" or "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)			# not build/: read-only inside tests/kvm-in-qemu
trap 'rm -rf "$tmp"' EXIT
out=$tmp/check.json
if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "skip bench-short: /dev/kvm is not available, the bench runs a guest"
	exit 0
fi
if ! log=$(timeout 120 build/kvsm bench --short --json "$out" 2>&1); then
	echo "FAIL bench-short: kvsm bench --short failed"
	printf '%s\n' "$log" | tail -20 | sed 's/^/    /'
	exit 0
fi
if err=$(python3 - "$out" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["figures"]:
    assert len(f["samples"]) >= 1, f["key"]
assert d["breakdown"]["kvsm"]["ioctls"] and d["breakdown"]["swap"]["ioctls"] and d["breakdown"]["floor"]["ioctls"]
keys = {f["key"] for f in d["figures"]}
for k in ("floor_exit", "forced_reads", "vtl_round_trip", "vtl1_protect_1", "vtl1_relax_1", "vtl1_protect_64",
          "vtl1_relax_64"):
    assert k in keys, k
assert {f["floor"] for f in d["figures"] if f["key"] == "vtl_round_trip"} == {"2 x (exit + shared-state reads + GPR load)"}
PY
); then
	echo "ok bench-short"
else
	echo "FAIL bench-short: $out is not the JSON expected"
	printf '%s\n' "$err" | tail -5 | sed 's/^/    /'
fi
