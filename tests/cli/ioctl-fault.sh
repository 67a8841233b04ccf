#!/bin/bash
# A KVM ioctl that fails and an exit kvsm does not expect (LD_PRELOAD of
# build/tests/cli/ioctl_fault.so, see there): kvsm stops with its own exit
# status and exactly one diagnostic line on stderr, naming the VP, the VTL,
# what failed and the registers; never a hang (60 s), never a crash.
# Needs /dev/kvm (make check-qemu); prints "ok NAME", "FAIL NAME: ..." or "skip NAME: ...".
set -u
cd "$(dirname "$0")/../.."
K=build/kvsm
G=build/guests
SHIM=build/tests/cli/ioctl_fault.so
tmp=$(mktemp -d) || {
	echo "FAIL ioctl-fault: no temporary directory"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT

# The registers of the one-line diagnostic (vm_stop.c), then the status.
REGS='; rip 0x[0-9a-f]+ rsp (0|0x[0-9a-f]+) cr0 0x[0-9a-f]+ cr3 0x[0-9a-f]+ cr4 0x[0-9a-f]+ efer 0x[0-9a-f]+; exit status'

# fault NAME SPEC STATUS LINE-REGEX KVSM-RUN-ARGS...: LINE-REGEX is the whole of stderr (one line).
fault() {
	local name=$1 spec=$2 want=$3 line=$4 rc
	shift 4
	if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "skip ioctl-fault-$name: /dev/kvm is not available"
		return
	fi
	KVSM_IOCTL_FAULT="$spec" LD_PRELOAD=$PWD/$SHIM timeout 60 "$K" run "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL ioctl-fault-$name: exit status $rc, expected $want ($spec: kvsm run $*)"
		sed 's/^/    /' "$tmp/err" | head -5
		tail -5 "$tmp/out" | sed 's/^/    /'
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qxE -- "$line" "$tmp/err"; then
		echo "FAIL ioctl-fault-$name: stderr is not the one line '$line'"
		sed 's/^/    /' "$tmp/err" | head -5
	elif grep -q '^checks: ' "$tmp/out"; then
		echo "FAIL ioctl-fault-$name: the guest ran to its end"
	else
		echo "ok ioctl-fault-$name"
	fi
}

[ -f "$SHIM" ] || {
	echo "FAIL ioctl-fault: $SHIM is missing (make unit builds it)"
	exit 0
}
# KVM_RUN fails: in VTL0, in VTL1, on VP1 of two.
fault run-vtl0 "KVM_RUN 5 EIO" 4 "kvsm: vp0 vtl0: KVM_RUN failed: Input/output error$REGS 4" $G/hello.elf
fault run-vtl1 "KVM_RUN@1 3 EIO" 4 "kvsm: vp0 vtl1: KVM_RUN failed: Input/output error$REGS 4" \
	--vtls 2 $G/vsm_basic.elf
fault run-enomem-smp "KVM_RUN@0 30 ENOMEM" 4 "kvsm: vp[01] vtl0: KVM_RUN failed: Cannot allocate memory$REGS 4" \
	--vtls 2 --smp 2 $G/vsm_irq.elf
# An EFAULT no protection explains is retried (a protection just lifted); for ever is an error.
fault run-efault-forever "KVM_RUN@0 30+ EFAULT" 4 "kvsm: vp0 vtl0: KVM_RUN failed: Bad address$REGS 4" \
	--vtls 2 $G/vsm_basic.elf
# The VTL switch: each of its ioctls (the first VTL call, VTL0 -> VTL1).
fault switch-get-xsave "KVM_GET_XSAVE 1 EIO" 4 "kvsm: vp0 vtl1: KVM_GET_XSAVE: Input/output error$REGS 4" \
	--vtls 2 $G/vsm_basic.elf
fault switch-set-xsave "KVM_SET_XSAVE 1 EIO" 4 "kvsm: vp0 vtl1: KVM_SET_XSAVE \(VTL1\): Input/output error$REGS 4" \
	--vtls 2 $G/vsm_basic.elf
fault switch-get-debugregs "KVM_GET_DEBUGREGS 2 EIO" 4 \
	"kvsm: vp0 vtl1: KVM_GET_DEBUGREGS \(VTL1\): Input/output error$REGS 4" --vtls 2 $G/vsm_basic.elf
fault switch-set-xcrs "KVM_SET_XCRS 1 EINVAL" 4 "kvsm: vp0 vtl1: KVM_SET_XCRS \(VTL1\): Invalid argument$REGS 4" \
	--vtls 2 $G/vsm_basic.elf
# Interrupt delivery (into VTL1's user-space APIC), the XMM of a fast hypercall, VP start.
fault inject-vtl1 "KVM_INTERRUPT 1 EIO" 4 "kvsm: vp[01] vtl1: KVM_INTERRUPT: Input/output error$REGS 4" \
	--vtls 2 --smp 2 $G/vsm_irq.elf
fault fast-xmm "KVM_GET_XSAVE 1 EIO" 4 \
	"kvsm: vp0 vtl0: KVM_GET_XSAVE \(XMM of a fast hypercall\): Input/output error$REGS 4" --smp 4 \
	$G/hv_ipi_flush.elf -- cpus=4
fault vina-get-lapic "KVM_GET_LAPIC 1 EIO" 4 "kvsm: vp0 vtl1: KVM_GET_LAPIC \(VTL0\): Input/output error$REGS 4" \
	--vtls 2 $G/vsm_vina.elf
fault start-vp "KVM_SET_MP_STATE 1 EIO" 4 \
	"kvsm: vp1 vtl0: KVM_SET_MP_STATE \(VTL0, VP start\): Input/output error$REGS 4" --vtls 2 --smp 2 $G/vsm_smp.elf
# Set-up, before any VP runs: the plain one-line error.
fault setup-set-regs "KVM_SET_REGS 2 EINVAL" 4 "kvsm: KVM_SET_REGS: Invalid argument" $G/hello.elf
# Exits kvsm has no handler for, from VTL0 and from VTL1 (exit_reason rewritten after KVM_RUN).
fault exit-vtl0 "KVM_RUN 5 exit=0x10" 10 "kvsm: vp0 vtl0: unhandled KVM exit reason 16$REGS 10" $G/hello.elf
fault exit-vtl1 "KVM_RUN@1 2 exit=30583" 10 "kvsm: vp0 vtl1: unhandled KVM exit reason 30583$REGS 10" \
	--vtls 2 $G/vsm_basic.elf
fault exit-smp4 "KVM_RUN@0 200 exit=0x7fffffff" 10 \
	"kvsm: vp[0-3] vtl0: unhandled KVM exit reason 2147483647$REGS 10" --vtls 2 --smp 4 $G/vsm_smp.elf
