#!/bin/bash
# The core (src/hv/*.[ch], include/kvsm/*.h) is free of KVM: none of its files includes
# <linux/kvm.h>, directly or through another header. The direct check names file and line;
# the indirect one asks the preprocessor (-M lists system headers too) for each core source
# and each public header. A planted offender proves the direct check still catches one.
# Prints "ok NAME" or "FAIL NAME: details".
set -u
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
tmp=$(mktemp -d) || {
	echo "FAIL core-no-kvm: no temporary directory"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT

# Lines of the files given that include linux/kvm.h (any spacing, <> or "").
direct() {
	grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]linux/kvm\.h[>"]' "$@"
}

core=(src/hv/*.c src/hv/*.h include/kvsm/*.h)
if hits=$(direct "${core[@]}"); then
	echo "FAIL core-no-kvm-direct: the KVM-free core includes <linux/kvm.h>; move KVM code to src/ outside src/hv/: $hits"
else
	echo "ok core-no-kvm-direct (${#core[@]} files)"
fi

bad=
for f in src/hv/*.c include/kvsm/*.h; do
	if ! "$CC" -std=gnu11 -D_GNU_SOURCE -Isrc -Iinclude -Ibuild/gen -x c -M "$f" >"$tmp/deps" 2>"$tmp/err"; then
		bad+=" $f (preprocessing failed: $(head -c 300 "$tmp/err"))"
	elif grep -q 'linux/kvm\.h' "$tmp/deps"; then
		bad+=" $f"
	fi
done
if [ -n "$bad" ]; then
	echo "FAIL core-no-kvm-indirect: <linux/kvm.h> reaches the KVM-free core through a header:$bad"
else
	echo "ok core-no-kvm-indirect"
fi

printf '#include <stdint.h>\n  #  include "linux/kvm.h"\n' >"$tmp/planted.h"
if direct "$tmp/planted.h" >/dev/null; then
	echo "ok core-no-kvm-catches"
else
	echo "FAIL core-no-kvm-catches: the check misses a planted #include of linux/kvm.h"
fi
