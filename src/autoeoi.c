#include "autoeoi.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/arch.h"

#include <sys/ioctl.h>
#include <time.h>

/* While the guest cannot take the interrupt (IF=0, shadow, TPR), look again this often. */
#define RETRY_NS 100000

void autoeoi_init(struct vcpu *cpu)
{
	vcpu_create_kick_timer(cpu, &cpu->autoeoi_timer);
}

void autoeoi_raise(struct vcpu *cpu, uint8_t vector)
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

void autoeoi_deliver(struct vcpu *cpu)
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
		die_errno(KVSM_EXIT_HOST, "KVM_SET_MP_STATE");
	stat_inc(&cpu->vm->stats, STAT_AUTOEOI);
	if (highest_pending(cpu) >= 0)
		retry_later(cpu);	/* one event per entry: come back for the rest */
}
