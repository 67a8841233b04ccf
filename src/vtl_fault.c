/*
 * Violations of VTL protections, as KVM reports them (DESIGN.md section 3),
 * turned into secure intercepts. A lower VTL's access to a page its view
 * maps without that access arrives in one of three ways:
 *
 * - KVM_RUN fails with EFAULT before the instruction runs (hardware-
 *   virtualized KVM). Nothing says which access: decode the instruction at
 *   RIP (Zydis, src/x86/insn.c), translate each of its linear addresses
 *   through the VTL's own page tables and ask the core which one a higher
 *   VTL denies.
 * - KVM_EXIT_MMIO on a RAM GPA: KVM's instruction emulator ran it (on an
 *   emulating KVM, or on a readable-but-not-executable page, which is out of
 *   the VTL's memslots: ram_slots.c). An allowed access is completed from
 *   RAM. A denied read comes before the instruction retires: let KVM finish
 *   it with zeros (KVM_RUN with immediate_exit), then put the state saved
 *   before back. A denied write comes after its register effects:
 *   reconstruct the instruction and roll them back (insn_reconstruct_write),
 *   counting guesses in --stats.
 * - An emulation failure with RIP on a page the VTL may not execute.
 *
 * In every case the access never reaches memory, the VP is left at the
 * faulting instruction, and vtl_enter takes it to the VTL the core chose.
 */
#include "vtl_fault.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"
#include "vtl_regs.h"
#include "timeline.h"
#include "util.h"
#include "x86/arch.h"
#include "x86/insn.h"
#include "kvsm/tlfs.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define PAGE_MASK (GUEST_PAGE_SIZE - 1)
#define HYPERCALL_INSN_LEN 3	/* the hypercall page's `nop; out imm8` */
#define TRANSLATE_PRIVILEGE_EXEMPT (1ull << 3)	/* HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT: a walk, no checks */

/* What the faulting VP looked like: its VTL, registers and paging state. */
struct fault {
	struct vcpu *cpu;
	unsigned int vtl;
	struct hv_paging_regs paging;
	struct insn_cpu ic;
};

static void load_fault(struct fault *f, struct vcpu *cpu)
{
	struct kvm_regs *r = &cpu->run->s.regs.regs;
	const struct kvm_sregs *s = &cpu->run->s.regs.sregs;
	const bool lma = s->efer & EFER_LMA;

	f->cpu = cpu;
	f->vtl = vcpu_vtl(cpu);
	f->paging = (struct hv_paging_regs){
		.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer, .rflags = r->rflags, .cpl = s->ss.dpl,
	};
	for (unsigned int i = 0; i < 16; i++)
		f->ic.gpr[i] = *vtl_regs_gpr(r, i);
	f->ic.rip = r->rip;
	f->ic.rflags = r->rflags;
	f->ic.seg_base[INSN_ES] = s->es.base, f->ic.seg_base[INSN_CS] = s->cs.base;
	f->ic.seg_base[INSN_SS] = s->ss.base, f->ic.seg_base[INSN_DS] = s->ds.base;
	f->ic.seg_base[INSN_FS] = s->fs.base, f->ic.seg_base[INSN_GS] = s->gs.base;
	f->ic.mode = lma && s->cs.l ? 64 : (s->cr0 & 1) && s->cs.db ? 32 : 16;
	f->ic.stack_size = lma ? 64 : s->ss.db ? 32 : 16;
}

/* The GPA of linear address la in the faulting VTL's paging context. */
static bool translate(void *opaque, uint64_t la, uint64_t *gpa)
{
	struct fault *f = opaque;

	return hv_translate_gva(f->cpu->vm->hv, f->vtl, &f->paging, la, TRANSLATE_PRIVILEGE_EXEMPT, gpa) ==
	       HV_TRANSLATE_GVA_SUCCESS;
}

/*
 * kvsm's own read of guest bytes at linear la, as the VTL's view holds them
 * (its overlay pages included) but whatever its protections: instruction
 * bytes for the higher VTL's message.
 */
static size_t read_linear(void *opaque, uint64_t la, uint8_t *buf, size_t n)
{
	struct fault *f = opaque;
	size_t done = 0;

	while (done < n) {
		size_t chunk = GUEST_PAGE_SIZE - ((la + done) & PAGE_MASK);
		uint64_t gpa;
		void *src;

		if (chunk > n - done)
			chunk = n - done;
		if (!translate(f, la + done, &gpa))
			break;
		src = overlay_find(&f->cpu->vm->mem, f->vtl, gpa);
		if (!src && !(src = guest_mem_priv(&f->cpu->vm->mem, gpa, chunk)))
			break;
		memcpy(buf + done, src, chunk);
		done += chunk;
	}
	return done;
}

void vtl_intercept_state(struct vcpu *cpu, struct hv_intercept_state *st)
{
	struct kvm_sync_regs *sr = &cpu->run->s.regs;
	struct kvm_regs *r = &sr->regs;

	for (unsigned int i = 0; i < 16; i++)
		st->gpr[i] = *vtl_regs_gpr(r, i);
	st->rip = r->rip;
	st->rflags = r->rflags;
	st->cr0 = sr->sregs.cr0;
	st->cr8 = sr->sregs.cr8;
	st->efer = sr->sregs.efer;
	vtl_regs_seg_to_hv(&sr->sregs.cs, st->cs);
	vtl_regs_seg_to_hv(&sr->sregs.ds, st->ds);
	vtl_regs_seg_to_hv(&sr->sregs.es, st->es);
	vtl_regs_seg_to_hv(&sr->sregs.ss, st->ss);
	st->interruption_pending = sr->events.exception.injected || sr->events.interrupt.injected ||
				   sr->events.nmi.injected;
	st->interrupt_shadow = sr->events.interrupt.shadow != 0;
}

/* The synced state, with the registers of the faulting instruction (a write rolled back). */
static void intercept_state(const struct fault *f, struct hv_intercept_state *st)
{
	vtl_intercept_state(f->cpu, st);
	memcpy(st->gpr, f->ic.gpr, sizeof(st->gpr));
	st->rip = f->ic.rip;
	st->rflags = f->ic.rflags;
}

/* Ask the core; if a higher VTL denies the access, post the intercept and go there. */
static bool deliver(struct fault *f, const struct hv_gpa_access *a)
{
	struct hv_intercept_state st = { 0 };
	enum hv_vtl_entry reason;
	int to;

	intercept_state(f, &st);
	to = hv_gpa_intercept(f->cpu->vm->hv, f->cpu->index, f->vtl, &st, a, &reason);
	if (to < 0)
		return false;
	stat_inc(&f->cpu->vm->stats, STAT_GPA_INTERCEPT);
	if (f->cpu->tl)
		timeline_gpa(f->cpu->tl, (unsigned int)to, a, f->ic.rip);
	vtl_enter(f->cpu, (unsigned int)to, reason);
	return true;
}

static void set_insn(struct hv_gpa_access *a, const struct insn_decoded *d)
{
	a->insn_len = (uint8_t)d->len;
	a->insn_bytes = (uint8_t)d->len;
	memcpy(a->insn, d->bytes, d->len);
}

/* The first access of d (fetch, then data in order) that a higher VTL denies, delivered. */
static bool deliver_first_denied(struct fault *f, const struct insn_decoded *d)
{
	struct hv_gpa_access a = { 0 };

	set_insn(&a, d);
	for (unsigned int i = 0; i < d->n; i++) {
		const struct insn_access *acc = &d->acc[i];

		/* Each page the access touches: a straddling access faults on either. */
		for (uint64_t la = acc->la; la < acc->la + acc->size; la = (la | PAGE_MASK) + 1) {
			uint64_t gpa;

			if (!translate(f, la, &gpa))
				continue;
			a.gpa = gpa;
			a.gva = la;
			a.gva_valid = true;
			if (acc->fetch)
				a.access = HV_INTERCEPT_EXECUTE;
			else if (acc->read && hv_vtl_prot_denier(f->cpu->vm->hv, f->vtl, gpa, HV_MAP_GPA_READABLE) >= 0)
				a.access = HV_INTERCEPT_READ;
			else
				a.access = acc->write ? HV_INTERCEPT_WRITE : HV_INTERCEPT_READ;
			if (deliver(f, &a))
				return true;
		}
	}
	return false;
}

/* Decode the instruction at RIP as it stands (not yet executed). */
static bool decode_at_rip(struct fault *f, struct insn_decoded *d)
{
	uint8_t b[INSN_MAX_LEN];
	size_t n = read_linear(f, f->ic.rip, b, sizeof(b));

	return n && insn_decode(&f->ic, b, n, d) == 0;
}

/*
 * A fault no current protection explains is most likely stale: another VP's
 * VTL lifted the protection between the fault and now, and running again
 * completes the access. Anything else faulting that way would loop, so a
 * burst of them on one VP (UNEXPLAINED_BURST within a second, nothing
 * delivered between) is reported as the error it is.
 */
#define UNEXPLAINED_BURST 1000

static __thread unsigned int unexplained;	/* in the current burst of this VP's thread */
static __thread uint64_t burst_start_ns;

static bool outcome(bool delivered)
{
	uint64_t now;

	if (delivered) {
		unexplained = 0;
		return true;
	}
	now = monotonic_ns();
	if (!unexplained || now - burst_start_ns > 1000000000ull) {
		unexplained = 0;
		burst_start_ns = now;
	}
	return ++unexplained < UNEXPLAINED_BURST;
}

bool vtl_fault_decode_at(struct vcpu *cpu, uint64_t rip, struct insn_decoded *d)
{
	struct fault f;

	load_fault(&f, cpu);
	f.ic.rip = rip;
	return decode_at_rip(&f, d);
}

bool vtl_fault_efault(struct vcpu *cpu)
{
	struct fault f;
	struct insn_decoded d;
	struct hv_gpa_access a = { .access = HV_INTERCEPT_EXECUTE, .gva_valid = true };

	load_fault(&f, cpu);
	if (decode_at_rip(&f, &d))
		return outcome(deliver_first_denied(&f, &d));
	/* Undecodable: only a fetch of RIP's own page can be told. */
	a.gva = f.ic.rip;
	return outcome(translate(&f, f.ic.rip, &a.gpa) && deliver(&f, &a));
}

bool vtl_fault_fetch(struct vcpu *cpu)
{
	struct fault f;
	struct insn_decoded d;
	struct hv_gpa_access a = { .access = HV_INTERCEPT_EXECUTE, .gva_valid = true };
	struct kvm_vcpu_events *ev = &cpu->run->s.regs.events;

	/*
	 * Without KVM_CAP_EXIT_ON_EMULATION_FAILURE, KVM has also queued #UD
	 * for the failed instruction; the VP resumes at it, so it goes.
	 */
	if (!cpu->vm->exit_on_emulation_failure && ev->exception.injected && ev->exception.nr == 6) {
		ev->exception.injected = 0;
		ev->exception.pending = 0;
		cpu->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	}
	load_fault(&f, cpu);
	if (decode_at_rip(&f, &d)) {
		set_insn(&a, &d);
		/* The fetch is acc[0]; it may straddle into a second page. */
		for (uint64_t la = f.ic.rip; la < f.ic.rip + d.len; la = (la | PAGE_MASK) + 1) {
			a.gva = la;
			if (translate(&f, la, &a.gpa) && deliver(&f, &a))
				return outcome(true);
		}
	} else {
		a.gva = f.ic.rip;
		if (translate(&f, f.ic.rip, &a.gpa) && deliver(&f, &a))
			return outcome(true);
	}
	/* Code outside RAM (the MMIO hole, past the end): nothing to retry, the VM stops. */
	if (!translate(&f, f.ic.rip, &a.gpa) || !guest_range_is_ram(cpu->vm->mem.size, a.gpa, 1))
		return false;
	/*
	 * Not a denied fetch: RAM was missing for an instant (a memslot change,
	 * ram_slots.c), or KVM cannot emulate an instruction whose data lies on
	 * a non-executable page. Retry; a burst of them is the latter.
	 */
	if (outcome(false))
		return true;
	pr_warning("vp%u VTL%u: KVM cannot emulate the instruction at RIP %#llx (%s), which touches a page its "
		   "VTL protections make non-executable (an exit per access, docs/vsm.md)", cpu->index, f.vtl,
		   (unsigned long long)f.ic.rip, decode_at_rip(&f, &d) ? d.mnemonic : "undecodable");
	return false;
}

void vtl_fault_hypercall(struct vcpu *cpu, uint64_t gpa, bool write)
{
	struct fault f;
	struct hv_gpa_access a = {
		.access = write ? HV_INTERCEPT_WRITE : HV_INTERCEPT_READ, .gpa = gpa, .insn_len = HYPERCALL_INSN_LEN,
	};

	load_fault(&f, cpu);
	a.insn_bytes = (uint8_t)read_linear(&f, f.ic.rip, a.insn, HYPERCALL_INSN_LEN);
	if (!deliver(&f, &a))
		vcpu_fatal(cpu, "a protected hypercall parameter at GPA %#llx has no VTL to tell",
			   (unsigned long long)gpa);
}

/*
 * Let KVM finish the instruction it is emulating without running the guest
 * further: reads get zeros, writes go nowhere, memory and ports alike (an
 * OUTS reads memory, then writes a port). Documented: KVM_RUN completes
 * pending MMIO and port I/O, then honours immediate_exit.
 */
static bool finish_pending(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;

	for (int i = 0; i < 64; i++) {
		run->immediate_exit = 1;
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			run->immediate_exit = 0;
			return errno == EINTR;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
		else if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN)
			memset((uint8_t *)run + run->io.data_offset, 0, (size_t)run->io.size * run->io.count);
		else if (run->exit_reason != KVM_EXIT_MMIO && run->exit_reason != KVM_EXIT_IO)
			break;
	}
	run->immediate_exit = 0;
	return false;
}

/*
 * An allowed access to RAM that exited: to a readable, non-executable page
 * (a hole in the VTL's memslots, ram_slots.c), or while a protection or
 * memslot changed. Complete it as the VTL's view holds the page.
 */
static void complete_mmio(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint64_t gpa = run->mmio.phys_addr;
	void *ram = overlay_find(&cpu->vm->mem, vcpu_vtl(cpu), gpa);

	if (!ram)
		ram = guest_mem_priv(&cpu->vm->mem, gpa, run->mmio.len);

	if (run->mmio.is_write)
		memcpy(ram, run->mmio.data, run->mmio.len);
	else
		memcpy(run->mmio.data, ram, run->mmio.len);
}

/* A read exit: save the state, finish the read with zeros, restore, and report the read. */
static bool mmio_read(struct fault *f, uint64_t gpa)
{
	struct vcpu *cpu = f->cpu;
	struct vcpu_vtl *v = &cpu->v[f->vtl];
	struct kvm_sync_regs saved = cpu->run->s.regs;
	struct hv_gpa_access a = { .access = HV_INTERCEPT_READ, .gpa = gpa };
	struct insn_decoded d;

	if (ioctl(v->fd, KVM_GET_XSAVE, v->xsave))
		vcpu_fatal_errno(cpu, "KVM_GET_XSAVE");
	if (decode_at_rip(f, &d)) {
		set_insn(&a, &d);
		for (unsigned int i = 0; i < d.n; i++) {
			uint64_t p;

			if (!d.acc[i].fetch && translate(f, d.acc[i].la, &p) && (p & ~PAGE_MASK) == (gpa & ~PAGE_MASK)) {
				a.gva = d.acc[i].la + (gpa & PAGE_MASK) - (p & PAGE_MASK);
				a.gva_valid = true;
				break;
			}
		}
	}
	if (!finish_pending(cpu))
		return false;
	cpu->run->s.regs.regs = saved.regs;
	cpu->run->s.regs.sregs = saved.sregs;
	cpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	if (ioctl(v->fd, KVM_SET_XSAVE, v->xsave))
		vcpu_fatal_errno(cpu, "KVM_SET_XSAVE");
	return deliver(f, &a);
}

static bool rollback_failure_said;

/* A write exit: the instruction already ran; find it and roll its register effects back. */
static bool mmio_write(struct fault *f, uint64_t gpa)
{
	struct vcpu *cpu = f->cpu;
	struct kvm_run *run = cpu->run;
	const struct insn_mem mem = { .translate = translate, .read = read_linear, .opaque = f };
	struct hv_gpa_access a = { .access = HV_INTERCEPT_WRITE, .gpa = gpa };
	struct insn_back back;
	enum insn_back_result r;
	struct kvm_regs *regs = &run->s.regs.regs;

	r = insn_reconstruct_write(&f->ic, gpa, run->mmio.len, run->mmio.data, &mem, &back);
	stat_inc(&cpu->vm->stats, r == INSN_BACK_UNIQUE	   ? STAT_ROLLBACK_UNIQUE
				 : r == INSN_BACK_SAME_EFFECT ? STAT_ROLLBACK_SAME_EFFECT
				 : r == INSN_BACK_AMBIGUOUS   ? STAT_ROLLBACK_AMBIGUOUS
							      : STAT_ROLLBACK_NONE);
	/* Said once; --stats counts them all. */
	if (r == INSN_BACK_NONE && !__atomic_exchange_n(&rollback_failure_said, true, __ATOMIC_RELAXED))
		pr_warning("vp%u VTL%u: the write to protected GPA %#llx at RIP %#llx could not be undone; the "
			   "instruction stays retired (without its write; see --stats)", cpu->index, f->vtl,
			   (unsigned long long)gpa, (unsigned long long)f->ic.rip);
	if (!finish_pending(cpu))
		return false;
	if (r != INSN_BACK_NONE) {
		for (unsigned int i = 0; i < 16; i++)
			*vtl_regs_gpr(regs, i) = back.rolled.gpr[i];
		regs->rip = back.rolled.rip;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		f->ic = back.rolled;
		set_insn(&a, &back.insn);
		for (unsigned int i = 0; i < back.insn.n; i++)
			if (back.insn.acc[i].write) {
				a.gva = back.insn.acc[i].la;
				a.gva_valid = true;
				break;
			}
	}
	return deliver(f, &a);
}

bool vtl_fault_mmio(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint64_t gpa = run->mmio.phys_addr;
	struct fault f;
	uint8_t need = run->mmio.is_write ? HV_MAP_GPA_WRITABLE : HV_MAP_GPA_READABLE;

	if (!guest_range_is_ram(cpu->vm->mem.size, gpa, run->mmio.len))
		return false;	/* a device's MMIO */
	if (hv_vtl_prot_denier(cpu->vm->hv, vcpu_vtl(cpu), gpa, need) < 0) {
		stat_inc(&cpu->vm->stats, STAT_PROT_COMPLETED);
		complete_mmio(cpu);
		return true;
	}
	load_fault(&f, cpu);
	stat_inc(&cpu->vm->stats, STAT_PROT_MMIO);
	return run->mmio.is_write ? mmio_write(&f, gpa) : mmio_read(&f, gpa);
}
