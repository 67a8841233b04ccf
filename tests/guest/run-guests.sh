#!/bin/bash
# Boot every guest test under kvsm and check its exit status and output.
# One line per case: "ok NAME", "FAIL NAME ..." or "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
K=build/kvsm
G=build/guests
TIMEOUT=${KVSM_GUEST_TIMEOUT:-120}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

have_kvm=1
[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || have_kvm=0

# judge NAME STATUS CHECKS TEXT RC: one verdict line for a finished run whose output is in $out.
# Every run is judged by its exit status, the absence of guest FAIL lines and, where CHECKS is a
# number, the exact line "checks: CHECKS passed, 0 failed"; TEXT (may be empty) must appear too.
judge() {
	local name=$1 want=$2 checks=$3 text=$4 rc=$5
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit status $rc, expected $want"
	elif grep -q '^FAIL' "$out"; then
		echo "FAIL $name: a guest check failed"
	elif [ "$checks" != - ] && ! grep -qx -- "checks: $checks passed, 0 failed" "$out"; then
		echo "FAIL $name: no line 'checks: $checks passed, 0 failed'"
	elif [ -n "$text" ] && ! grep -qF -- "$text" "$out"; then
		echo "FAIL $name: output lacks '$text'"
	else
		echo "ok $name"
		return
	fi
	# The guest's own FAIL lines first (they may lie far above the tail), then the tail.
	grep '^FAIL' "$out" | head -20 | sed 's/^/    /'
	sed 's/^/    /' "$out" | tail -40
}

# guest NAME STATUS CHECKS EXPECTED-OUTPUT KVSM-RUN-ARGS...
guest() {
	local name=$1 want=$2 checks=$3 text=$4
	shift 4
	if [ $have_kvm = 0 ]; then
		echo "skip $name: /dev/kvm is not available, guest tests need KVM"
		return
	fi
	timeout "$TIMEOUT" "$K" run "$@" >"$out" 2>&1
	judge "$name" "$want" "$checks" "$text" $?
}

# Test guests report "checks: N passed, 0 failed" and exit with debug-exit 0 (status 1).
guest hello 1 - "hello from a kvsm guest" $G/hello.elf
# make demo's guest: VTL1 holds against three attacks from VTL0.
guest demo 1 1 "VTL1 held, the secret, the kernel text and LSTAR are intact" --vtls 2 $G/demo.elf
guest exitcode-0 1 - "" $G/exitcode.elf -- code=0
guest exitcode-42 85 - "" $G/exitcode.elf -- code=42
guest exitcode-127 255 - "" $G/exitcode.elf -- code=127
guest memmap-64M 1 26 "" --mem 64M $G/memmap.elf -- mem=67108864
guest memmap-5G 1 30 "" --mem 5G $G/memmap.elf -- mem=5368709120
guest smp-1 1 5 "" $G/smp.elf -- cpus=1
guest smp-2 1 7 "AP with APIC ID 1 is online" --smp 2 $G/smp.elf -- cpus=2
guest smp-4 1 11 "AP with APIC ID 3 is online" --smp 4 $G/smp.elf -- cpus=4
guest apic-timer 1 6 "" $G/apic_timer.elf
guest pit 1 4 "" $G/pit.elf
guest triple-fault 6 - "guest shutdown (triple fault)" $G/triple_fault.elf
# A guest error in either VTL (code fetched from the MMIO hole) stops the VM with one line and status 10.
guest fault-vtl0 10 - "kvsm: vp0 vtl0: KVM internal error, suberror 1 (instruction emulation failed); rip 0xd0000000 rsp " --vtls 2 $G/fault_exit.elf -- vtl=0
guest fault-vtl1 10 - "kvsm: vp0 vtl1: KVM internal error, suberror 1 (instruction emulation failed); rip 0xd0000000 rsp " --vtls 2 $G/fault_exit.elf -- vtl=1
guest halt-forever 8 - "every vCPU is halted with interrupts disabled" --smp 2 $G/halt.elf

# The Hyper-V interface.
guest hv-cpuid-msr 1 71 "" $G/hv_cpuid_msr.elf -- cpus=1
guest hv-cpuid-msr-smp4 1 71 "" --smp 4 $G/hv_cpuid_msr.elf -- cpus=4
guest hv-hypercall 1 39 "" $G/hv_hypercall.elf -- cpus=1
guest hv-hypercall-unimplemented 1 - "kvsm: the guest called HvCallAssertVirtualInterrupt (0x0094), which kvsm does not implement" $G/hv_hypercall.elf -- cpus=1
guest hv-cpl3 1 6 "" $G/hv_cpl3.elf
guest hv-autoeoi 1 14 "" --testdev $G/hv_autoeoi.elf
guest hv-hypercall-smp3 1 39 "" --smp 3 $G/hv_hypercall.elf -- cpus=3
guest hv-synic-smp2 1 132 "" --testdev --smp 2 $G/hv_synic.elf -- cpus=2
guest hv-synic-smp4 1 166 "" --testdev --smp 4 $G/hv_synic.elf -- cpus=4
guest hv-stimer 1 101 "" --smp 2 $G/hv_stimer.elf -- cpus=2
guest hv-time 1 23 "" $G/hv_time.elf -- cpus=1
guest hv-time-smp2 1 25 "" --smp 2 $G/hv_time.elf -- cpus=2
guest hv-ipi-flush 1 58 "" --smp 4 $G/hv_ipi_flush.elf -- cpus=4
# This KVM has no stale-TLB window, so the guest cannot see a missing flush; kvsm's own count can:
# 10 functional flushes (8 of VPs 1-3, 2 of all 4) and 3 successful status calls of all 4 VPs.
guest hv-ipi-flush-count 1 58 "TLB flushes (per VP)         44" --stats --smp 4 $G/hv_ipi_flush.elf -- cpus=4

# Virtual Trust Levels.
# VTL0-only guests behave the same when the partition could enable VTL1 (one KVM VM per VTL).
guest vtls2-hv-synic 1 132 "" --vtls 2 --testdev --smp 2 $G/hv_synic.elf -- cpus=2
guest vtls2-hv-ipi-flush 1 58 "" --vtls 2 --smp 4 $G/hv_ipi_flush.elf -- cpus=4
guest vtls3-smp 1 11 "" --vtls 3 --smp 4 $G/smp.elf -- cpus=4
guest vsm-basic 1 108 "" --vtls 2 $G/vsm_basic.elf
guest vsm-halt 1 - "VTL1 timer fired while VTL0 was halted" --vtls 2 $G/vsm_halt.elf
guest vsm-irq 1 18 "" --vtls 2 --smp 2 $G/vsm_irq.elf
guest vsm-smp 1 96 "" --vtls 2 --smp 4 $G/vsm_smp.elf
guest vsm-vtl2 1 75 "" --vtls 3 $G/vsm_vtl2.elf
guest vsm-synic 1 88 "" --vtls 2 --testdev $G/vsm_synic.elf
guest vsm-events 1 96 "" --vtls 2 $G/vsm_events.elf
guest vsm-translate 1 44 "" --vtls 2 $G/vsm_translate.elf
guest vsm-tlblock 1 24 "" --vtls 2 --smp 2 $G/vsm_tlblock.elf
# VINA for VTL0's in-kernel interrupt sources (its APIC timer; an IPI from another VP).
guest vsm-vina-smp1 1 10 "VINA latency, VTL0 timer expiry" --vtls 2 $G/vsm_vina.elf -- cpus=1
guest vsm-vina-smp2 1 17 "VINA latency, VTL0 IPI" --vtls 2 --smp 2 $G/vsm_vina.elf -- cpus=2
# Hostile VTL0: bad start contexts, an EnableVpVtl race, a GetVpRegisters ring on 4 VPs, timer storms.
guest vsm-hostile 1 19 "" --vtls 2 --smp 4 $G/vsm_hostile.elf
# A malicious VTL0: VSM set up out of order, VTL1-only registers and calls, parameter blocks at every limit, overlays over protected pages.
guest attack-vtl0 1 73 "" --vtls 2 $G/attack_vtl0.elf
# A malicious VTL1 against VTL2: enables out of order, every access kind, hypercall buffers, overlays,
# VTL2's registers and masks; VTL0 intercepted straight into VTL2 is returned to by VTL2.
guest attack-vtl1 1 175 "" --vtls 3 $G/attack_vtl1.elf
# Hypercall inputs at every limit: rep counts and starts, block edges, RAM and GPA-limit edges, VP sets.
guest attack-limits 1 60 "" --smp 2 $G/attack_limits.elf
# Floods: hypercalls (rep calls resumed in batches), IPIs (3 kinds, last of each burst delivered),
# PostMessage to INSUFFICIENT_BUFFERS and drained by EOM, 2000 timer re-arms with one expiry.
guest attack-flood 1 16 "" --testdev --smp 2 $G/attack_flood.elf
# VTL1 in x2APIC mode: its MSRs reach kvsm only as KVM_MSR_EXIT_REASON_INVAL exits.
guest vsm-x2apic-smp2 1 64 "" --vtls 2 --smp 2 $G/vsm_x2apic.elf -- cpus=2
guest vsm-x2apic-smp4 1 80 "" --vtls 2 --smp 4 $G/vsm_x2apic.elf -- cpus=4
# VTL protections and GPA intercepts: read, write, push, call, rep stos, rep movs, xchg, cmpxchg, SSE,
# straddling loads and stores, OUTS/INS (KVM-emulated), fetch, hypercall parameters, an overlay over a
# protected page; skip, retry, relax, inject #GP; readable but not executable pages (trapped and
# completed); the intercept page.
guest vsm-protect 1 376 "" --vtls 2 $G/vsm_protect.elf
guest vsm-protect-x2apic 1 376 "" --vtls 2 $G/vsm_protect.elf -- x2apic=1
# VTL0 on the other VPs hammers a page while VTL1 on VP0 protects and releases it.
guest vsm-protect-smp2 1 13 "" --vtls 2 --smp 2 $G/vsm_protect_smp.elf -- cpus=2
guest vsm-protect-smp4 1 23 "" --vtls 2 --smp 4 $G/vsm_protect_smp.elf -- cpus=4
# SMP stress: for 300 ms 4 VPs make VTL calls, take GPA intercepts, VTL1 timer messages, VTL1 and VTL0
# IPIs while VTL1 on VP0 flips a page's protection; every event counted by sender and receiver.
guest stress-smp 1 43 "none lost or twice" --vtls 2 --smp 4 $G/stress_smp.elf -- cpus=4
guest vsm-regint 1 139 "refused with OPERATION_DENIED" --vtls 2 $G/vsm_regint.elf
guest vsm-regint-permissive 1 139 "unenforced intercepts (permissive)   2" --vtls 2 --policy permissive --stats $G/vsm_regint.elf -- policy=1

# The same VMM built with ThreadSanitizer, on guests where many threads meet (VPs, timers, requests).
tsan() {
	local name=$1 checks=$2 rc
	shift 2
	if [ $have_kvm = 0 ] || [ ! -x build/tsan/kvsm ]; then
		echo "skip tsan-$name: needs /dev/kvm and build/tsan/kvsm"
		return
	fi
	TSAN_OPTIONS="report_thread_leaks=0 exitcode=99" timeout "$TIMEOUT" build/tsan/kvsm run "$@" >"$out" 2>&1
	rc=$?
	if grep -q "WARNING: ThreadSanitizer" "$out"; then
		echo "FAIL tsan-$name: ThreadSanitizer reported a race (kvsm run $*)"
		grep -A30 "WARNING: ThreadSanitizer" "$out" | head -40 | sed 's/^/    /'
		return
	fi
	judge "tsan-$name" 1 "$checks" "" $rc
}
tsan vsm-smp 96 --vtls 2 --smp 4 $G/vsm_smp.elf
tsan vsm-irq 18 --vtls 2 --smp 2 $G/vsm_irq.elf
tsan vsm-protect-smp4 23 --vtls 2 --smp 4 $G/vsm_protect_smp.elf -- cpus=4
tsan hv-synic 166 --testdev --smp 4 $G/hv_synic.elf -- cpus=4
tsan hv-ipi-flush 58 --smp 4 $G/hv_ipi_flush.elf -- cpus=4
tsan stress-smp 43 --vtls 2 --smp 4 $G/stress_smp.elf -- cpus=4
tsan attack-flood 16 --testdev --smp 2 $G/attack_flood.elf

# Multiboot v1 kernels written as if built elsewhere (tests/guest/mb32/).
guest mb32-hello 85 - "hello from a multiboot kernel, cmdline: $G/mb32-hello.elf one two" $G/mb32-hello.elf -- one two
guest mb32-smp-2 5 - "CPUs online: 2" --smp 2 $G/mb32-smp.elf
guest mb32-smp-4 9 - "CPUs online: 4" --smp 4 $G/mb32-smp.elf
# 32-bit hypercall and VTL call/return conventions; status 67 = every check passed, 7 = check 3 (no VSM).
guest mb32-vsm32 67 - "" --vtls 2 $G/mb32-vsm32.elf
guest mb32-vsm32-novsm 7 - "" $G/mb32-vsm32.elf
