#!/bin/bash
# Run a shell command where /dev/kvm exists, on a host that has none: in a
# QEMU-emulated (TCG) x86-64 machine whose CPU has AMD SVM, so the Debian
# kernel inside runs hardware-virtualized KVM (nested paging included). The
# VM sees the host's / read-only and runs the command chrooted there, in the
# caller's directory; /tmp is empty. Output streams to stdout; the exit
# status is the command's (124: timeout, 125: the VM failed).
# Prepare once with setup.sh. Environment: KIQ_MEM (8G), KIQ_TIMEOUT (1800 s).
# One emulated CPU on single-threaded TCG: with thread=multi the emulated kernel locked
# up in long runs, and with two CPUs their TSCs disagree (a TSC read could go backwards).
set -u
cd "$(dirname "$0")/../.."
O=$PWD/build/kvm-in-qemu
[ $# -eq 1 ] || { echo "usage: $0 'shell command'" >&2; exit 2; }
D=$(mktemp -d /tmp/kvm-in-qemu.XXXXXX)
trap 'rm -rf "$D"' EXIT
{
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8'
	printf 'cd %q\n' "$OLDPWD"
} >"$D/env"
printf '%s\n' "$1" >"$D/cmd.sh"
timeout --foreground -k 10 "${KIQ_TIMEOUT:-1800}" \
	qemu-system-x86_64 -accel tcg,thread=single -cpu max -m "${KIQ_MEM:-8G}" -smp 1 \
	-nodefaults -display none -monitor none -no-reboot \
	-kernel "$(ls "$O"/kernel/boot/vmlinuz-* | head -1)" -initrd "$O/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 mitigations=off" \
	-serial "file:$D/console.log" -serial stdio \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$D,mount_tag=hcmd,security_model=none" \
	</dev/null 2> >(grep -v "warning: host doesn.t support requested feature" >&2)
qrc=${PIPESTATUS[0]}
[ -f "$D/status" ] && exit "$(cat "$D/status")"
echo "kvm-in-qemu: the VM ended without a status (qemu: $qrc); its console ends:" >&2
tail -25 "$D/console.log" >&2
[ "$qrc" = 124 ] && exit 124
exit 125
