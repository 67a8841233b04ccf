#!/bin/bash
# Prepare build/kvm-in-qemu/: a Debian kernel with KVM modules and an initramfs
# (busybox, virtio/9p and kvm modules, ./init) for run.sh. Installs what is missing
# from Debian's packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
S=tests/kvm-in-qemu
O=build/kvm-in-qemu
pkgs="qemu-system-x86 busybox-static kmod cpio xz-utils"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "kvm-in-qemu: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
mkdir -p "$O"
if ! ls "$O"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
	# The kernel image package linux-image-amd64 depends on (modules included).
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	(cd "$O" && apt-get download -qq "$pkg")
	dpkg-deb -x "$O"/"$pkg"_*.deb "$O/kernel"
	rm -f "$O"/"$pkg"_*.deb
fi
[ "$O/initramfs.cpio.gz" -nt "$S/init" ] && exit 0

KDIR=$O/kernel
KVER=$(ls "$KDIR/lib/modules" | head -1)
[ -f "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
mkdir -p "$R"/{bin,dev,proc,sys,mnt/root,mnt/cmd,modules}
cp /bin/busybox "$R/bin/busybox"
for a in sh mount insmod mkdir cat echo ls grep chroot stty poweroff ip; do
	ln -s busybox "$R/bin/$a"
done
# insmod order: each module after its dependencies (modprobe --show-depends lists them first).
for m in virtio_pci 9pnet_virtio 9p kvm-amd kvm-intel; do
	modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	b=$(basename "$ko")
	case "$b" in
	*.ko.xz) xz -dc "$ko" >"$R/modules/${b%.xz}"; b=${b%.xz} ;;
	*) cp "$ko" "$R/modules/$b" ;;
	esac
	echo "$b" >>"$R/modules/order"
done
cp "$S/init" "$R/init"
chmod +x "$R/init"
(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet | gzip -9) >"$O/initramfs.cpio.gz"
