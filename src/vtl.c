#include "vtl.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "timeline.h"
#include "vtl_regs.h"
#include "vina_watch.h"
#include "hv/tlfs.h"

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
	return (name >= VTL_REG_RAX && name <= VTL_REG_R15 && name != VTL_REG_RSP) ||
	       (name >= VTL_REG_XMM0 && name <= VTL_REG_XMM_CONTROL_STATUS) || name == VTL_REG_CR2 ||
	       name == VTL_REG_XFEM || (name >= VTL_REG_DR0 && name <= VTL_REG_DR0 + 3);
}

bool vtl_is_mtrr_register(uint32_t name)
{
	return name >= VTL_REG_MTRR_DEF_TYPE && name <= VTL_REG_MTRR_FIX4K_C0000 + 7;
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
 * HV_INITIAL_VP_CONTEXT (spec 3.1): offsets of its fields. The segments come
 * in the order CS, DS, ES, FS, GS, SS, TR, LDTR, 16 bytes each; then IDTR
 * before GDTR.
 */
enum {
	CONTEXT_RIP = 0, CONTEXT_RSP = 8, CONTEXT_RFLAGS = 16, CONTEXT_SEGMENTS = 24, CONTEXT_IDTR = 152,
	CONTEXT_GDTR = 168, CONTEXT_EFER = 184, CONTEXT_CR0 = 192, CONTEXT_CR3 = 200, CONTEXT_CR4 = 208,
	CONTEXT_PAT = 216,
};

/* The fields loaded as registers, after the control state is checked as a whole. */
static const struct {
	uint16_t off;
	uint32_t name;
} context_fields[] = {
	{ CONTEXT_RIP, VTL_REG_RIP },
	{ CONTEXT_RSP, VTL_REG_RSP },
	{ CONTEXT_RFLAGS, VTL_REG_RFLAGS },
	{ CONTEXT_PAT, VTL_REG_PAT },
};

uint16_t vtl_load_initial_context(struct vcpu *cpu, unsigned int vtl, const uint8_t ctx[224])
{
	struct kvm_run *run = cpu->v[vtl].run;
	struct kvm_sregs s = run->s.regs.sregs;
	struct kvm_segment *segs[] = { &s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt };
	uint64_t val[2] = { 0, 0 };
	uint16_t st;

	/* Control state is checked as a whole: EFER.LMA, CR0.PG and CS.L are only consistent together. */
	for (unsigned int i = 0; i < ARRAY_SIZE(segs); i++) {
		memcpy(val, ctx + CONTEXT_SEGMENTS + 16 * i, 16);
		if (!vtl_regs_seg_from_hv(val, segs[i]))
			return HV_STATUS_INVALID_PARAMETER;
	}
	memcpy(val, ctx + CONTEXT_IDTR, 16);
	vtl_regs_table_from_hv(val, &s.idt);
	memcpy(val, ctx + CONTEXT_GDTR, 16);
	vtl_regs_table_from_hv(val, &s.gdt);
	s.efer = ld64(ctx + CONTEXT_EFER);
	s.cr0 = ld64(ctx + CONTEXT_CR0);
	s.cr3 = ld64(ctx + CONTEXT_CR3);
	s.cr4 = ld64(ctx + CONTEXT_CR4);
	st = vtl_regs_check_sregs(cpu, vtl, &s);
	if (!st && vtl > 0)	/* VTL0 may start anywhere, real mode included */
		st = vtl_regs_check_start_context(cpu, vtl, &s, ld64(ctx + CONTEXT_RIP), ld64(ctx + CONTEXT_RFLAGS));
	for (unsigned int i = 0; !st && i < ARRAY_SIZE(context_fields); i++) {
		memcpy(val, ctx + context_fields[i].off, 8);
		val[1] = 0;
		st = vtl_regs_set(cpu, vtl, context_fields[i].name, val);
	}
	if (st)
		return st;
	run->s.regs.sregs = s;
	run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	return HV_STATUS_SUCCESS;
}
