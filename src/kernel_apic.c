/*
 * VTL0's interrupt controller: KVM's in-kernel local APIC (with its IOAPIC,
 * PIC and PIT). kvsm's interrupts for it are MSIs, except SynIC AutoEOI
 * vectors: KVM's APIC always sets the in-service bit, and a guest that asked
 * for AutoEOI never clears it. So those bypass the APIC: the VP's own thread
 * injects them as an already-accepted external interrupt
 * (kvm_vcpu_events.interrupt) when the vCPU can take one.
 */
#include "irqchip.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/arch.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

/* While the guest cannot take the interrupt (IF=0, shadow, TPR), look again this often. */
#define RETRY_NS 100000

static void kernel_apic_init(struct vcpu *cpu, unsigned int vtl)
{
	vcpu_create_kick_timer(cpu, &cpu->autoeoi_timer);
}

/* Queue vector for the VP's thread to inject (any thread). */
static void autoeoi_raise(struct vcpu *cpu, uint8_t vector)
{
	__atomic_or_fetch(&cpu->autoeoi_pending[vector / 64], 1ull << (vector % 64), __ATOMIC_RELEASE);
	if (!pthread_equal(pthread_self(), cpu->thread))
		vcpu_kick(cpu);
}

static int highest_pending(const struct vcpu *cpu)
{
	for (int w = 3; w >= 0; w--) {
		uint64_t m = __atomic_load_n(&cpu->autoeoi_pending[w], __ATOMIC_ACQUIRE);

		if (m)
			return w * 64 + 63 - __builtin_clzll(m);
	}
	return -1;
}

static void retry_later(struct vcpu *cpu)
{
	struct itimerspec its = { .it_value.tv_nsec = RETRY_NS };

	timer_settime(cpu->autoeoi_timer, 0, &its, NULL);
}

/* Inject the highest queued AutoEOI vector if the vCPU can take it now. */
static void kernel_apic_before_run(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct kvm_vcpu_events *ev = &run->s.regs.events;
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };
	int vector = highest_pending(cpu);

	if (vector < 0)
		return;
	/* Interruptible (SDM 6.8.1): IF set, no STI/MOV-SS shadow, no event already being delivered. */
	if (!(run->s.regs.regs.rflags & RFLAGS_IF) || ev->interrupt.shadow || ev->interrupt.injected ||
	    ev->exception.injected || ev->nmi.injected || (unsigned int)vector >> 4 <= (run->s.regs.sregs.cr8 & 0xf)) {
		retry_later(cpu);
		return;
	}
	__atomic_and_fetch(&cpu->autoeoi_pending[vector / 64], ~(1ull << (vector % 64)), __ATOMIC_ACQ_REL);
	ev->interrupt.injected = 1;
	ev->interrupt.nr = (uint8_t)vector;
	ev->interrupt.soft = 0;
	run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	/* An injected event does not end HLT in KVM; an interrupt does, so end it here. */
	if (ioctl(cpu->fd, KVM_SET_MP_STATE, &runnable))
		vcpu_fatal_errno(cpu, "KVM_SET_MP_STATE");
	stat_inc(&cpu->vm->stats, STAT_AUTOEOI);
	if (highest_pending(cpu) >= 0)
		retry_later(cpu);	/* one event per entry: come back for the rest */
}

/*
 * A fixed, edge, physical-destination MSI to the VP's in-kernel local APIC:
 * destination bits 7:0 in the address, and with KVM_CAP_X2APIC_API bits 31:8
 * in address_hi, so VP 256 is not VP 0 (vm.c refuses --smp > 255 without it).
 */
static void kernel_apic_raise(struct vcpu *cpu, unsigned int vtl, uint8_t vector, bool auto_eoi)
{
	struct vm *vm = cpu->vm;
	struct kvm_msi msi = {
		.address_lo = 0xfee00000u | ((cpu->index & 0xff) << 12),
		.address_hi = vm->msi_32bit_dest ? cpu->index & 0xffffff00u : 0,
		.data = vector,
	};

	if (auto_eoi)
		autoeoi_raise(cpu, vector);
	else if (ioctl(vm->vm_fd[0], KVM_SIGNAL_MSI, &msi) < 0)
		pr_warning("KVM_SIGNAL_MSI to vp%u vector %u: %s", cpu->index, vector, strerror(errno));
}

static void nothing(struct vcpu *cpu)
{
}

/* KVM handles HLT, MMIO of the APIC page and the APIC MSRs of VTL0 itself. */
static bool not_ours(struct vcpu *cpu)
{
	return false;
}

static bool halt_in_kernel(struct vcpu *cpu)
{
	return true;
}

/* VTL0 is never above another VTL: nothing of it can preempt one. */
static bool never_wakes(struct vcpu *cpu, unsigned int vtl)
{
	return false;
}

const struct irqchip_ops kernel_apic_chip = {
	.init = kernel_apic_init,
	.before_run = kernel_apic_before_run,
	.after_exit = nothing,
	.halt = halt_in_kernel,
	.may_wake = never_wakes,
	.mmio = not_ours,
	.msr = not_ours,
	.raise = kernel_apic_raise,
};
