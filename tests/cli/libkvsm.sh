#!/bin/bash
# libkvsm as a library (docs/libkvsm.md): libkvsm.so exports exactly the functions
# include/kvsm/*.h declares; make install lays out the library, headers, kvsm.pc, kvsm and
# kvsm(1) (DESTDIR honoured); examples/minimal-host.c, built from a temporary prefix with
# pkg-config only against the shared and the static library, boots its guest on /dev/kvm (skipped
# without) with the expected output. Prints "ok NAME", "FAIL NAME: details" or "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
SO=build/lib/libkvsm.so.0.1.0
# Under build/; in tests/kvm-in-qemu/, where the tree is read-only, in $TMPDIR.
tmp=$(mktemp -d "$PWD/build/libkvsm-test.XXXXXX" 2>/dev/null || mktemp -d) || {
	echo "FAIL libkvsm: no temporary directory"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT

# verdict NAME RC: details, if any, are in $tmp/why.
verdict() {
	if [ "$2" -eq 0 ]; then
		echo "ok $1"
	else
		echo "FAIL $1: $(head -c 2000 "$tmp/why")"
	fi
	: >"$tmp/why"
}
: >"$tmp/why"

# The functions the public headers declare, as the compiler parses them (-aux-info lists every
# prototype of the translation unit with its file; struct members such as host ops are not prototypes).
for h in include/kvsm/*.h; do echo "#include \"$PWD/$h\""; done >"$tmp/all.c"
gcc -std=gnu11 -fsyntax-only -aux-info "$tmp/aux" "$tmp/all.c" 2>"$tmp/why"
grep "$PWD/include/kvsm/[^/]*\.h:" "$tmp/aux" | sed 's|^/\*.*\*/ ||; s/ (.*//; s/.*[ *]//' | sort -u >"$tmp/declared"
nm -D --defined-only "$SO" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported"
[ -s "$tmp/declared" ] && diff "$tmp/declared" "$tmp/exported" | sed -n 's/^</declared, not exported:/p; s/^>/exported, not declared:/p' >>"$tmp/why"
[ -s "$tmp/declared" ] && [ ! -s "$tmp/why" ]
verdict libkvsm-exports $?

# make from inside make check: a fresh make, not the parent's jobserver.
install_to() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory install "$@" >"$tmp/why" 2>&1
}

# A packager's install: PREFIX is what the files say, DESTDIR where they land.
stage=$tmp/stage/opt/kvsm
if ! install_to PREFIX=/opt/kvsm DESTDIR="$tmp/stage"; then
	echo "make install failed;" >>"$tmp/why"
else
	for f in bin/kvsm lib/libkvsm.so.0.1.0 lib/libkvsm.a include/kvsm/hv.h lib/pkgconfig/kvsm.pc \
		share/man/man1/kvsm.1; do
		[ -f "$stage/$f" ] || echo "no $f;"
	done
	[ "$(readlink "$stage/lib/libkvsm.so.0")" = libkvsm.so.0.1.0 ] || echo "libkvsm.so.0 is not a link to 0.1.0;"
	[ "$(readlink "$stage/lib/libkvsm.so")" = libkvsm.so.0 ] || echo "libkvsm.so is not a link to .so.0;"
	readelf -d "$stage/lib/libkvsm.so.0.1.0" | grep -q 'SONAME.*\[libkvsm\.so\.0\]' || echo "soname is not libkvsm.so.0;"
	grep -qx 'prefix=/opt/kvsm' "$stage/lib/pkgconfig/kvsm.pc" || echo "kvsm.pc lacks prefix=/opt/kvsm;"
	nm "$stage/lib/libkvsm.a" | grep -q ' T hv_hypercall$' || echo "libkvsm.a lacks hv_hypercall;"
	head -1 "$stage/share/man/man1/kvsm.1" | grep -q '^\.TH KVSM 1' || echo "kvsm.1 has no .TH KVSM 1;"
fi >>"$tmp/why"
[ ! -s "$tmp/why" ]
verdict install-destdir $?

# kvsm --help and the man page's SYNOPSIS are the same lines (man/kvsm.1.md feeds both).
build/kvsm --help | cut -c8- >"$tmp/help"
awk '/^\.SH SYNOPSIS/ { s = 1; next } s && /^\.fi/ { exit } s && !/^\.nf/ { gsub(/\\-/, "-"); print }' \
	build/gen/kvsm.1 >"$tmp/synopsis"
diff "$tmp/help" "$tmp/synopsis" >"$tmp/why"
verdict man-help-synopsis $?

# The example, built against a temporary prefix with pkg-config alone (shared, then static),
# boots its guest where /dev/kvm exists; its transcript must be minimal-host.expected exactly.
prefix=$tmp/prefix
example() {	# example KIND FLAGS...: build $tmp/host-KIND, check its linkage, run it
	local kind=$1 rc=0
	shift
	${CC:-cc} -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror -o "$tmp/host-$kind" \
		examples/minimal-host.c examples/minimal-guest.S "$@" 2>"$tmp/why" || rc=1
	if [ $rc = 0 ] && [ "$kind" = shared ] && ! readelf -d "$tmp/host-$kind" | grep -q 'NEEDED.*\[libkvsm\.so\.0\]'; then
		echo "not linked to libkvsm.so.0" >>"$tmp/why"
		rc=1
	fi
	if [ $rc = 0 ] && [ "$kind" = static ] && readelf -d "$tmp/host-$kind" | grep -q 'NEEDED.*libkvsm'; then
		echo "linked to libkvsm.so" >>"$tmp/why"
		rc=1
	fi
	verdict "minimal-host-build-$kind" $rc
	[ $rc = 0 ] || return
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "skip minimal-host-$kind: no /dev/kvm (the example boots a guest)"
		return
	fi
	"$tmp/host-$kind" >"$tmp/out" 2>"$tmp/why" && diff tests/cli/minimal-host.expected "$tmp/out" >>"$tmp/why"
	verdict "minimal-host-$kind" $?
}
if install_to PREFIX="$prefix"; then
	export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
	# shellcheck disable=SC2046
	example shared $(pkg-config --cflags --libs kvsm) -Wl,-rpath,"$(pkg-config --variable=libdir kvsm)"
	# shellcheck disable=SC2046
	example static $(pkg-config --cflags --libs-only-L kvsm) -Wl,-Bstatic -lkvsm -Wl,-Bdynamic \
		$(pkg-config --static --libs-only-l kvsm | sed 's/-lkvsm//')
else
	echo "make install failed" >"$tmp/why"
	verdict minimal-host-build-shared 1
	echo "make install failed" >"$tmp/why"
	verdict minimal-host-build-static 1
fi
