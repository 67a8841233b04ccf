#!/bin/sh
# Install the Debian 12 packages kvsm needs to build and test, if missing.
set -e
pkgs="gcc make binutils libc6-dev pkg-config clang libclang-rt-14-dev libzydis-dev python3 gdb"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "kvsm: missing packages:$missing (run 'make deps' as root or install them)" >&2
	exit 1
fi
echo "kvsm: installing$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
