#include "vtl.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "timeline.h"
#include "vtl_regs.h"
#include "vina_watch.h"
#include "kvsm/tlfs.h"

#include <string.h>
#include <sys/ioctl.h>

/* RAX..R15 except RSP, i.e. every GPR; RIP and RFLAGS are private (spec 4.3). */
static void copy_gprs(struct kvm_regs *dst, const struct kvm_regs *src)
{
	uint64_t rsp = dst->rsp, rip = dst->rip, rflags = dst->rflags;

	*dst = *src;
	dst->rsp = rsp;
	dst->rip = rip;
	dst->rflags = rflags;
}

/*
 * DR0-DR3 are shared; DR6 is private (VsmCapabilities.Dr6Shared = 0) and so
 * is DR7. A vCPU's registers only change while it runs, so the target's
 * values are known from when the VP last left it: write them only if they
 * differ, saving ioctls on every switch.
 */
static void copy_debugregs(struct vcpu_vtl *from, struct vcpu_vtl *to)
{
	struct kvm_debugregs a, b;

	if (ioctl(from->fd, KVM_GET_DEBUGREGS, &a))
		vcpu_fatal_errno(from->cpu, "KVM_GET_DEBUGREGS");
	memcpy(from->dr, a.db, sizeof(from->dr));
	if (to->shared_known && !memcmp(to->dr, a.db, sizeof(a.db)))
		return;
	if (ioctl(to->fd, KVM_GET_DEBUGREGS, &b))
		vcpu_fatal_errno(to->cpu, "KVM_GET_DEBUGREGS (VTL%u)", to->vtl);
	memcpy(b.db, a.db, sizeof(b.db));
	if (ioctl(to->fd, KVM_SET_DEBUGREGS, &b))
		vcpu_fatal_errno(to->cpu, "KVM_SET_DEBUGREGS (VTL%u)", to->vtl);
	memcpy(to->dr, a.db, sizeof(to->dr));
}

/* XCR0, written only when it differs (as DR0-3). */
static void copy_xcr0(struct vcpu_vtl *from, struct vcpu_vtl *to)
{
	struct kvm_xcrs xcrs;

	if (ioctl(from->fd, KVM_GET_XCRS, &xcrs) || xcrs.nr_xcrs < 1)
		vcpu_fatal_errno(from->cpu, "KVM_GET_XCRS");
	from->xcr0 = xcrs.xcrs[0].value;
	if (to->shared_known && to->xcr0 == from->xcr0)
		return;
	if (ioctl(to->fd, KVM_SET_XCRS, &xcrs))
		vcpu_fatal_errno(to->cpu, "KVM_SET_XCRS (VTL%u)", to->vtl);
	to->xcr0 = from->xcr0;
}

/*
 * Whether two XSAVE images from KVM_GET_XSAVE are equal: KVM zero-fills all
 * but the legacy area, the header and the components the guest may enable,
 * so only those ranges are compared.
 */
static bool xsave_equal(const struct vm *vm, const struct kvm_xsave *a, const struct kvm_xsave *b)
{
	const uint8_t *x = (const uint8_t *)a->region, *y = (const uint8_t *)b->region;

	for (unsigned int i = 0; i < vm->nr_xsave_ranges; i++)
		if (memcmp(x + vm->xsave_ranges[i].off, y + vm->xsave_ranges[i].off, vm->xsave_ranges[i].len))
			return false;
	return true;
}

/*
 * x87, SSE, AVX and wider state: read every time; written only when it
 * differs from what the target holds (often the higher VTL leaves the FPU
 * alone, and the lower VTL still has exactly that state).
 */
static void copy_fpu(struct vcpu_vtl *from, struct vcpu_vtl *to)
{
	if (ioctl(from->fd, KVM_GET_XSAVE, from->xsave))
		vcpu_fatal_errno(from->cpu, "KVM_GET_XSAVE");
	if (to->shared_known && xsave_equal(from->cpu->vm, to->xsave, from->xsave))
		return;
	if (ioctl(to->fd, KVM_SET_XSAVE, from->xsave))
		vcpu_fatal_errno(to->cpu, "KVM_SET_XSAVE (VTL%u)", to->vtl);
	memcpy(to->xsave, from->xsave, sizeof(*to->xsave));
}

void vtl_copy_extended_state(struct vcpu_vtl *from, struct vcpu_vtl *to)
{
	copy_debugregs(from, to);
	copy_xcr0(from, to);
	copy_fpu(from, to);
	from->shared_known = to->shared_known = true;
}

bool vtl_is_mtrr(uint32_t msr)
{
	return (msr >= 0x200 && msr <= 0x20f) || msr == 0x250 || msr == 0x258 || msr == 0x259 ||
	       (msr >= 0x268 && msr <= 0x26f) || msr == 0x2ff;
}

/*
 * The one list of shared registers (spec 4.3), by HV_REGISTER_NAME: what
 * switch_vcpu carries from VTL to VTL (every GPR but RSP, CR2, the x87/SSE/
 * AVX state with XFEM, DR0-DR3). They live in the vCPU of the VTL the VP runs.
 * MTRRs are shared too, but KVM keeps a copy in every vCPU: vtl_set_shared.
 */
bool vtl_is_shared_register(uint32_t name)
{
	return (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_R15 && name != HV_X64_REGISTER_RSP) ||
	       (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM_CONTROL_STATUS) || name == HV_X64_REGISTER_CR2 ||
	       name == HV_X64_REGISTER_XFEM || (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR0 + 3);
}

bool vtl_is_mtrr_register(uint32_t name)
{
	return name >= HV_X64_REGISTER_MSR_MTRR_DEF_TYPE && name <= HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 7;
}

bool vtl_set_shared(struct vcpu *cpu, unsigned int first, bool (*set)(struct vcpu *, unsigned int, void *),
		    void *arg)
{
	/* The writing VTL first: if KVM refuses the value there, the write fails and nothing changed. */
	if (!set(cpu, first, arg))
		return false;
	for (unsigned int vtl = 0; vtl < cpu->vm->opts->vtls; vtl++)
		if (vtl != first && !set(cpu, vtl, arg))
			vcpu_fatal(cpu, "VTL%u refused a shared (MTRR) write that VTL%u took", vtl, first);
	return true;
}

struct msr_write {
	uint32_t msr;
	uint64_t val;
};

static bool set_msr(struct vcpu *cpu, unsigned int vtl, void *arg)
{
	const struct msr_write *w = arg;

	return kvm_vcpu_set_msr(cpu->v[vtl].fd, w->msr, w->val);
}

bool vtl_write_shared_msr(struct vcpu *cpu, uint32_t msr, uint64_t val)
{
	struct msr_write w = { msr, val };

	return vtl_set_shared(cpu, vcpu_vtl(cpu), set_msr, &w);
}

/* Move the VP from its vCPU of VTL `from` to that of `to`: shared state goes along (spec 4.3). */
static void switch_vcpu(struct vcpu *cpu, unsigned int from, unsigned int to)
{
	struct vcpu_vtl *a = &cpu->v[from], *b = &cpu->v[to];
	struct kvm_sync_regs *sa = &a->run->s.regs, *sb = &b->run->s.regs;

	copy_gprs(&sb->regs, &sa->regs);
	b->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	if (sb->sregs.cr2 != sa->sregs.cr2) {
		sb->sregs.cr2 = sa->sregs.cr2;
		b->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
	vtl_copy_extended_state(a, b);
	/* A kick that arrived for the old vCPU must not be lost. */
	b->run->immediate_exit |= a->run->immediate_exit;
	a->run->immediate_exit = 0;
	cpu->fd = b->fd;
	cpu->run = b->run;
}

/*
 * The one place a VP changes VTL: the core's record (entry reason, trace),
 * then the host's vCPU. Callers: a VTL call or return (hyperv.c), a higher
 * VTL's interrupt preempting a lower one (vtl_irq.c), a VP's start
 * (hv_host.c).
 */
void vtl_enter(struct vcpu *cpu, unsigned int to, enum hv_vtl_entry reason)
{
	unsigned int from = vcpu_vtl(cpu);

	hv_vtl_entered(cpu->vm->hv, cpu->index, to, reason);
	if (to == from)
		return;
	switch_vcpu(cpu, from, to);
	if (cpu->tl)
		timeline_vtl(cpu->tl, to, reason, cpu->v[from].run->s.regs.regs.rip, cpu->run->s.regs.regs.rip);
	if (from == 0)
		vina_watch_start(cpu);
	stat_inc(&cpu->vm->stats, STAT_VTL_SWITCH);
	if (reason == HV_VTL_ENTRY_INTERRUPT || reason == HV_VTL_ENTRY_INTERCEPT)
		stat_inc(&cpu->vm->stats, STAT_VTL_INTERRUPT_ENTRY);
}

/*
 * The core decoded the context and checked it against the architecture; the
 * vCPU's own limits (its CPU model's CR4/EFER bits, address widths) are
 * checked here with the rules register writes use.
 */
uint16_t vtl_load_initial_context(struct vcpu *cpu, unsigned int vtl, const struct hv_initial_vp_context *c)
{
	struct kvm_run *run = cpu->v[vtl].run;
	struct kvm_sregs s = run->s.regs.sregs;
	const uint64_t regs[][2] = {
		{ HV_X64_REGISTER_RIP, c->rip }, { HV_X64_REGISTER_RSP, c->rsp }, { HV_X64_REGISTER_RFLAGS, c->rflags },
		{ HV_X64_REGISTER_PAT, c->msr_cr_pat },
	};
	uint16_t st;

	vtl_regs_seg_from_tlfs(&c->cs, &s.cs);
	vtl_regs_seg_from_tlfs(&c->ds, &s.ds);
	vtl_regs_seg_from_tlfs(&c->es, &s.es);
	vtl_regs_seg_from_tlfs(&c->fs, &s.fs);
	vtl_regs_seg_from_tlfs(&c->gs, &s.gs);
	vtl_regs_seg_from_tlfs(&c->ss, &s.ss);
	vtl_regs_seg_from_tlfs(&c->tr, &s.tr);
	vtl_regs_seg_from_tlfs(&c->ldtr, &s.ldt);
	s.idt = (struct kvm_dtable){ .base = c->idtr.base, .limit = c->idtr.limit };
	s.gdt = (struct kvm_dtable){ .base = c->gdtr.base, .limit = c->gdtr.limit };
	s.efer = c->efer;
	s.cr0 = c->cr0;
	s.cr3 = c->cr3;
	s.cr4 = c->cr4;
	st = vtl_regs_check_sregs(cpu, vtl, &s);
	for (unsigned int i = 0; !st && i < ARRAY_SIZE(regs); i++) {
		uint64_t val[2] = { regs[i][1], 0 };

		st = vtl_regs_set(cpu, vtl, (uint32_t)regs[i][0], val);
	}
	if (st)
		return st;
	run->s.regs.sregs = s;
	run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	return HV_STATUS_SUCCESS;
}
