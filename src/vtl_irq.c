#include "vtl_irq.h"
#include "irqchip.h"
#include "gdb.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/arch.h"
#include "vtl.h"
#include "vina_watch.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>


static uint64_t apic_now_ns(void *ctx)
{
	(void)ctx;
	return monotonic_ns();
}

static uint64_t apic_tsc(void *ctx)
{
	struct vcpu_vtl *v = ctx;

	return vm_guest_tsc(v->cpu->vm);
}

/* Wake the VP that owns an APIC: out of KVM_RUN, or out of its HLT wait (its own thread looks anyway). */
static void wake(struct vcpu *cpu)
{
	if (!pthread_equal(pthread_self(), cpu->thread))
		vcpu_kick(cpu);
}

static void apic_notify(void *ctx, struct lapic *apic)
{
	struct vcpu_vtl *v = ctx;

	(void)apic;
	wake(v->cpu);
}

/* IPIs stay inside the sender's VTL: only that VTL's APICs are candidates. */
static void apic_send_ipi(void *ctx, struct lapic *src, uint64_t icr, bool x2apic)
{
	struct vcpu_vtl *v = ctx;
	struct vm *vm = v->cpu->vm;
	bool lowest = LAPIC_ICR_DM(icr) == LAPIC_DM_LOWEST;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct lapic *dst = &vm->vcpus[i].v[v->vtl].apic;

		if (!lapic_icr_match(dst, src, icr, x2apic))
			continue;
		lapic_icr_deliver(dst, icr);
		if (lowest)	/* kvsm picks the first match for lowest priority (allowed by SDM 11.6.2.4) */
			break;
	}
}

static struct lapic_ops apic_ops = {
	.now_ns = apic_now_ns,
	.tsc = apic_tsc,
	.send_ipi = apic_send_ipi,
	.notify = apic_notify,
};

void vtl_irq_init_vm(struct vm *vm)
{
	apic_ops.tsc_hz = vm->tsc_hz;
	apic_ops.phys_bits = vm->phys_bits;
}

static void user_apic_init(struct vcpu *cpu, unsigned int vtl)
{
	lapic_init(&cpu->v[vtl].apic, cpu->index, cpu->index == 0, &apic_ops, &cpu->v[vtl]);
}

void vtl_irq_init(struct vcpu *cpu)
{
	if (cpu->vm->opts->vtls > 1)
		vcpu_create_kick_timer(cpu, &cpu->apic_timer);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/*
 * Fire due APIC timers and look for VTL0 interrupts VINA should report; keep
 * the VP's host timer armed for the earliest remaining deadline of either,
 * which it returns (0: none).
 */
static uint64_t run_timers(struct vcpu *cpu)
{
	uint64_t next = 0, now = 0;	/* the clock is read only once something needs it (most exits: never) */

	for (unsigned int vtl = 1; vtl < cpu->vm->opts->vtls; vtl++) {
		struct lapic *a = &cpu->v[vtl].apic;
		uint64_t d = lapic_timer_deadline(a);

		if (d && !now)
			now = monotonic_ns();
		if (d && d <= now) {
			lapic_timer_expired(a);
			d = lapic_timer_deadline(a);
		}
		next = earliest(next, d);
	}
	vina_watch_poll(cpu, &now);
	next = earliest(next, vina_watch_next(cpu));
	if (next != cpu->apic_timer_armed) {
		struct itimerspec its = { .it_value = { .tv_sec = (time_t)(next / 1000000000u),
							.tv_nsec = (long)(next % 1000000000u) } };

		timer_settime(cpu->apic_timer, TIMER_ABSTIME, &its, NULL);
		cpu->apic_timer_armed = next;
	}
	return next;
}

static bool vtl_has_interrupt(struct vcpu *cpu, unsigned int vtl)
{
	struct lapic *a = &cpu->v[vtl].apic;

	return lapic_pending_vector(a) >= 0 || lapic_nmi_pending(a);
}

static bool user_apic_may_wake(struct vcpu *cpu, unsigned int vtl)
{
	return vtl_has_interrupt(cpu, vtl) || lapic_timer_deadline(&cpu->v[vtl].apic) ||
	       hv_vp_timer_armed(cpu->vm->hv, cpu->index, vtl);
}

bool vtl_irq_may_wake(struct vcpu *cpu)
{
	unsigned int enabled = hv_vp_enabled_vtls(cpu->vm->hv, cpu->index);

	for (unsigned int h = vcpu_vtl(cpu) + 1; h < cpu->vm->opts->vtls; h++)
		if ((enabled & (1u << h)) && cpu->v[h].chip->may_wake(cpu, h))
			return true;
	return false;
}

/* spec 4.4: the highest VTL above the running one with a deliverable interrupt takes the VP. */
static bool preempt(struct vcpu *cpu)
{
	unsigned int enabled = hv_vp_enabled_vtls(cpu->vm->hv, cpu->index);

	for (unsigned int h = cpu->vm->opts->vtls - 1; h > vcpu_vtl(cpu); h--) {
		if (!(enabled & (1u << h)) || !vtl_has_interrupt(cpu, h))
			continue;
		vtl_enter(cpu, h, HV_VTL_ENTRY_INTERRUPT);
		return true;
	}
	return false;
}

/*
 * Deliver the APIC's NMI and highest deliverable vector. When kvsm itself
 * changed the vCPU's events since its last exit (SetVpRegisters of a pending
 * event), KVM will load the synced events at entry, so the interrupt must go
 * in there too, or KVM_RUN would overwrite what KVM_INTERRUPT/KVM_NMI queued.
 */
static void user_apic_before_run(struct vcpu *cpu)
{
	struct lapic *a = &cpu->v[vcpu_vtl(cpu)].apic;
	struct kvm_run *run = cpu->run;
	struct kvm_vcpu_events *ev = &run->s.regs.events;
	bool via_events = run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS;
	struct kvm_interrupt irq;
	int vector;

	if (lapic_take_nmi(a)) {
		if (via_events) {
			ev->nmi.pending = 1;
			ev->flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
		} else if (ioctl(cpu->fd, KVM_NMI, 0)) {
			vcpu_fatal_errno(cpu, "KVM_NMI");
		}
	}
	run->cr8 = lapic_get_cr8(a);
	vector = lapic_pending_vector(a);
	run->request_interrupt_window = 0;
	if (vector < 0)
		return;
	if (!run->ready_for_interrupt_injection ||
	    (via_events && (ev->interrupt.injected || ev->exception.injected || ev->nmi.injected ||
			    ev->interrupt.shadow || !(run->s.regs.regs.rflags & RFLAGS_IF)))) {
		run->request_interrupt_window = 1;	/* KVM exits as soon as the vCPU can take it */
		return;
	}
	if (via_events) {
		ev->interrupt.injected = 1;
		ev->interrupt.nr = (uint8_t)vector;
		ev->interrupt.soft = 0;
	} else {
		irq.irq = (uint32_t)vector;
		if (ioctl(cpu->fd, KVM_INTERRUPT, &irq))
			vcpu_fatal_errno(cpu, "KVM_INTERRUPT");
	}
	lapic_ack(a, (uint8_t)vector);
}

void vtl_irq_prepare_run(struct vcpu *cpu)
{
	if (cpu->vm->opts->vtls > 1) {
		run_timers(cpu);
		if (preempt(cpu))
			run_timers(cpu);	/* the entered VTL may want VINA: look now, arm for the next look */
	}
}

static void user_apic_after_exit(struct vcpu *cpu)
{
	lapic_set_cr8(&cpu->v[vcpu_vtl(cpu)].apic, cpu->run->cr8);
}

static bool user_apic_mmio(struct vcpu *cpu)
{
	struct lapic *a = &cpu->v[vcpu_vtl(cpu)].apic;
	struct kvm_run *run = cpu->run;
	uint64_t base;
	uint32_t val;

	if (!lapic_mmio_base(a, &base) || run->mmio.phys_addr < base ||
	    run->mmio.phys_addr >= base + LAPIC_PAGE_SIZE)
		return false;
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, 4);
		lapic_mmio_write(a, (uint32_t)(run->mmio.phys_addr - base), run->mmio.len, val);
	} else {
		val = lapic_mmio_read(a, (uint32_t)(run->mmio.phys_addr - base), run->mmio.len);
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		memcpy(run->mmio.data, &val, run->mmio.len < 4 ? run->mmio.len : 4);
	}
	return true;
}

static bool user_apic_msr(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint32_t msr = run->msr.index;
	struct lapic *a = &cpu->v[vcpu_vtl(cpu)].apic;
	uint64_t val = 0;
	bool ok;

	if (!(msr == LAPIC_MSR_APIC_BASE || msr == LAPIC_MSR_TSC_DEADLINE ||
			       (msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST)))
		return false;
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		ok = lapic_msr_read(a, msr, &val);
		run->msr.data = val;
	} else {
		ok = lapic_msr_write(a, msr, run->msr.data);
	}
	run->msr.error = !ok;
	return true;
}

/* An event another VTL injected with SetVpRegisters ends HLT, as its delivery would. */
static bool event_injected(const struct kvm_run *run)
{
	const struct kvm_vcpu_events *ev = &run->s.regs.events;

	return (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) &&
	       (ev->exception.injected || ev->interrupt.injected || ev->nmi.injected);
}

/* HLT in a VTL >= 1: sleep until this VTL can take an interrupt, or a higher VTL has one. */
static bool user_apic_halt(struct vcpu *cpu)
{
	struct vm *vm = cpu->vm;
	unsigned int vtl = vcpu_vtl(cpu);
	bool if_set = cpu->run->s.regs.regs.rflags & RFLAGS_IF;

	for (;;) {
		unsigned int seq = vcpu_wait_seq(cpu);
		uint64_t next;

		vcpu_service_requests(cpu);
		next = run_timers(cpu);
		if ((if_set && lapic_pending_vector(&cpu->v[vtl].apic) >= 0) ||
		    lapic_nmi_pending(&cpu->v[vtl].apic) || event_injected(cpu->run))
			return true;
		for (unsigned int h = vtl + 1; h < vm->opts->vtls; h++)
			if ((hv_vp_enabled_vtls(vm->hv, cpu->index) & (1u << h)) && vtl_has_interrupt(cpu, h))
				return true;
		vcpu_answer_halt_round(cpu, !if_set && !vtl_irq_may_wake(cpu));
		gdb_vp_poll(cpu);		/* the debugger stops a halted VP here */
		/* Every source of a wake-up kicks the VP; timers and VINA looks are due at `next`. */
		if (!vcpu_wait_until(cpu, seq, next))
			return false;
	}
}

static void user_apic_raise(struct vcpu *cpu, unsigned int vtl, uint8_t vector, bool auto_eoi)
{
	lapic_accept_irq(&cpu->v[vtl].apic, vector, false, auto_eoi);
}

const struct irqchip_ops user_apic_chip = {
	.init = user_apic_init,
	.before_run = user_apic_before_run,
	.after_exit = user_apic_after_exit,
	.halt = user_apic_halt,
	.may_wake = user_apic_may_wake,
	.mmio = user_apic_mmio,
	.msr = user_apic_msr,
	.raise = user_apic_raise,
};
