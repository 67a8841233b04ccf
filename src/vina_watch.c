/*
 * VINA for VTL0's in-kernel interrupt sources (spec 4.4).
 *
 * VTL0's local APIC, IOAPIC and PIC live in KVM. While a VP runs a higher
 * VTL, its VTL0 vCPU is not in KVM_RUN, so nothing tells kvsm that VTL0 got
 * an interrupt: an IPI from another VTL0 VP or an IOAPIC/PIC line sets an IRR
 * bit of the sleeping in-kernel APIC, and its timer only records an expiry
 * that KVM injects at the next entry. kvsm therefore looks, but only while
 * VINA could have an effect (hv_vina_wanted: the running VTL enabled VINA
 * and VinaAsserted is clear):
 *  - the in-kernel APIC's IRR (KVM_GET_LAPIC, which also folds posted
 *    interrupts into the IRR) every VINA_POLL_NS, and at once on entry;
 *  - VTL0's APIC timer: its next expiry is computed from the same read
 *    (TMCCT and the divider, or IA32_TSC_DEADLINE), and the VP's host timer
 *    is armed for it, so a timer expiry is seen on time, not at the next poll.
 * The cost is one KVM_GET_LAPIC per entry into a VTL that wants VINA and per
 * poll period while it runs (docs/vsm.md gives the measured latency).
 */
#include "vina_watch.h"
#include "kvm.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/arch.h"

#include <string.h>
#include <sys/ioctl.h>

#define VINA_POLL_NS		1000000ull	/* IRR poll period while VINA is wanted */
#define KVM_APIC_NS_PER_CYCLE	1		/* KVM's APIC bus runs at 1 GHz */

/* xAPIC register offsets in struct kvm_lapic_state (SDM 11.4.1). */
enum { APIC_SVR = 0xf0, APIC_IRR = 0x200, APIC_LVT_TIMER = 0x320, APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0 };
#define SVR_ENABLE	(1u << 8)
#define LVT_MASKED	(1u << 16)
#define LVT_MODE(v)	(((v) >> 17) & 3)
#define MODE_TSC_DEADLINE 2

static uint32_t reg(const struct kvm_lapic_state *s, unsigned int off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, sizeof(v));
	return v;
}

static bool irr_pending(const struct kvm_lapic_state *s)
{
	for (unsigned int i = 0; i < 8; i++)
		if (reg(s, APIC_IRR + 0x10 * i))
			return true;
	return false;
}

/* Divide configuration (SDM 11.5.4): bits 3,1,0 = 000 -> 2 ... 110 -> 128, 111 -> 1. */
static uint64_t divisor(uint32_t tdcr)
{
	unsigned int v = (tdcr & 3) | ((tdcr & 8) >> 1);

	return v == 7 ? 1 : 2u << v;
}

/* Host monotonic time of VTL0's next APIC timer interrupt, or 0 if none is coming. */
static uint64_t timer_deadline(struct vcpu *cpu, const struct kvm_lapic_state *s, uint64_t now)
{
	uint32_t lvt = reg(s, APIC_LVT_TIMER);
	uint64_t deadline, tsc;

	if (!(reg(s, APIC_SVR) & SVR_ENABLE) || (lvt & LVT_MASKED))
		return 0;
	if (LVT_MODE(lvt) != MODE_TSC_DEADLINE)
		return reg(s, APIC_TMCCT) ? now + reg(s, APIC_TMCCT) * divisor(reg(s, APIC_TDCR)) * KVM_APIC_NS_PER_CYCLE
					  : 0;
	if (!kvm_vcpu_get_msr(cpu->v[0].fd, MSR_IA32_TSC_DEADLINE, &deadline) || !deadline)
		return 0;
	tsc = vm_guest_tsc(cpu->vm);
	if (deadline <= tsc)
		return now;
	return now + (uint64_t)((unsigned __int128)(deadline - tsc) * 1000000000u / cpu->vm->tsc_hz);
}

void vina_watch_start(struct vcpu *cpu)
{
	cpu->vina.timer_ns = 0;
	cpu->vina.next_poll_ns = 1;	/* due now: look once on entry */
}

void vina_watch_poll(struct vcpu *cpu, uint64_t *now_ns)
{
	struct vina_watch *w = &cpu->vina;
	struct kvm_lapic_state s;
	uint64_t now;

	if (vcpu_vtl(cpu) == 0 || !hv_vina_wanted(cpu->vm->hv, cpu->index)) {
		w->next_poll_ns = w->timer_ns = 0;
		return;
	}
	if (!*now_ns)
		*now_ns = monotonic_ns();
	now = *now_ns;
	if (!w->next_poll_ns)			/* VINA was cleared or enabled while this VTL ran */
		w->next_poll_ns = 1;
	if (now < w->next_poll_ns && (!w->timer_ns || now < w->timer_ns))
		return;
	stat_inc(&cpu->vm->stats, STAT_VINA_POLL);
	if (ioctl(cpu->v[0].fd, KVM_GET_LAPIC, &s))
		vcpu_fatal_errno(cpu, "KVM_GET_LAPIC (VTL0)");
	if (irr_pending(&s) || (w->timer_ns && now >= w->timer_ns)) {
		hv_vina_notify(cpu->vm->hv, cpu->index, 0);
		w->next_poll_ns = w->timer_ns = 0;
		return;
	}
	w->timer_ns = timer_deadline(cpu, &s, now);
	w->next_poll_ns = now + VINA_POLL_NS;
}

uint64_t vina_watch_next(const struct vcpu *cpu)
{
	const struct vina_watch *w = &cpu->vina;

	if (!w->next_poll_ns)
		return 0;
	return w->timer_ns && w->timer_ns < w->next_poll_ns ? w->timer_ns : w->next_poll_ns;
}
