/*
 * Architectural registers of one VTL's vCPU by HV_REGISTER_NAME: the
 * dispatch by name, the GPRs and the MSR-backed registers. The x86 rules for
 * segments and control registers are in vtl_sregs.c, the event registers in
 * vtl_events.c, the x87/SSE state and XCR0 in vtl_fpu.c.
 *
 * Where each register lives:
 *  - RAX..R15, RIP, RFLAGS: the synced run->s.regs.regs (KVM_SYNC_X86_REGS).
 *  - CR0/2/3/4/8, EFER, APIC base, segments, IDTR/GDTR: run->s.regs.sregs
 *    (KVM_SYNC_X86_SREGS). In VTLs >= 1 (no in-kernel LAPIC) Cr8 and
 *    ApicBase are kvsm's user-space LAPIC's (cpu->v[vtl].apic): its TPR, which
 *    vtl_irq.c loads into run->cr8 before each run, and its IA32_APIC_BASE.
 *  - PendingInterruption, InterruptState, PendingEvent0: run->s.regs.events
 *    (KVM_SYNC_X86_EVENTS).
 *  - x87/MMX/SSE: KVM_GET_XSAVE/KVM_SET_XSAVE (legacy area only; AVX and
 *    wider components go back unchanged), XCR0: KVM_GET/SET_XCRS, DR0-3/6/7:
 *    KVM_GET/SET_DEBUGREGS, MSRs: KVM_GET/SET_MSRS (an MSR KVM refuses or
 *    does not know is INVALID_PARAMETER, also on get).
 * Changes to the synced areas take effect at the next KVM_RUN, which fails
 * with EINVAL on a state KVM refuses: hence the checks here, which copy KVM's
 * own (kvm_is_valid_sregs, kvm_apic_set_base, set_vcpu_events, __kvm_set_xcr)
 * and add the SDM/VM-entry rules KVM leaves to the hardware.
 *
 * Choices where the TLFS says nothing (see also the files named above):
 *  - Segments: the attribute bits are kept as given; Limit is the
 *    byte-granular limit KVM stores.
 *  - 64-bit canonical checks use 57 bits when the guest CPUID has LA57, else
 *    48 (KVM's width for MSR writes). Guest features (CR4, EFER, XCR0, x2APIC,
 *    MAXPHYADDR) come from the vCPU's CPUID (KVM_GET_CPUID2), as KVM's do.
 *  - Rules that tie several registers (EFER.LMA vs LME & PG, CS.L, CR4.PAE)
 *    are checked on each single write against the current others. A Cr0
 *    write sets EFER.LMA = LME && PG as MOV to CR0 does (KVM accepts no other
 *    pair, and some hosts keep no 32-bit paging to pass through); an Efer
 *    write must itself give the LMA that matches. So long mode is entered
 *    with CR4.PAE, EFER.LME, CR0.PG|PE, then CS.L, and left in the reverse
 *    order. vtl_regs_check_sregs checks a whole kvm_sregs at once.
 *  - Tsc is MSR 0x10 written the way KVM takes a host write: a value of 0, or
 *    one within a second of the VM's last written TSC, synchronizes with it.
 *  - SysenterCs, Sfmask, TscAux: bits 63:32 refused (Intel reserves them; KVM
 *    would drop them on some hosts). SysenterEip/Esp, KernelGsBase, Lstar,
 *    Cstar must be canonical. DebugCtl bits 63:16 are refused.
 *  - MTRRs: KVM implements 8 variable ranges; MtrrPhysBase/Mask8-F are refused.
 *  - ApicBase: besides KVM's reserved bits, the WRMSR rules (no x2APIC ->
 *    xAPIC, no disabled -> x2APIC) and BSP unchanged, in every VTL.
 *  - An MSR write KVM refuses still succeeds when the MSR already holds the
 *    value (get-then-set round trips of e.g. Xss = 0 where KVM refuses writes).
 */
#include "vtl_regs.h"
#include "kvm.h"
#include "vcpu.h"
#include "kvsm/tlfs.h"
#include "x86/arch.h"
#include "x86/guest_caps.h"
#include "vtl_fpu.h"
#include "vtl_sregs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* ---- small helpers ---- */

/* VTLs >= 1 have kvsm's local APIC (vtl_irq.c): it owns the TPR (CR8) and IA32_APIC_BASE. */
static struct lapic *user_lapic(struct vcpu *cpu, struct vcpu_vtl *v)
{
	return v != &cpu->v[0] && v->apic.ops ? &v->apic : NULL;
}


/* Write sregs back to the synced area; KVM_RUN applies them. */
static void commit_sregs(struct vcpu *cpu, struct vcpu_vtl *v, const struct kvm_sregs *n)
{
	struct kvm_sync_regs *r = &v->run->s.regs;
	struct lapic *apic = user_lapic(cpu, v);

	r->sregs = *n;
	/*
	 * KVM_SET_SREGS re-queues the external interrupt of interrupt_bitmap;
	 * keep it what the events say (they are applied after the sregs anyway).
	 */
	memset(r->sregs.interrupt_bitmap, 0, sizeof(r->sregs.interrupt_bitmap));
	if (r->events.interrupt.injected && !r->events.interrupt.soft)
		r->sregs.interrupt_bitmap[r->events.interrupt.nr / 64] |= 1ull << (r->events.interrupt.nr % 64);
	/*
	 * Without an in-kernel LAPIC, KVM_RUN loads run->cr8 into CR8 after the
	 * synced sregs; kvsm's LAPIC sets run->cr8 from its TPR before each run.
	 */
	if (apic)
		r->sregs.cr8 = lapic_get_cr8(apic);
	else
		v->run->cr8 = n->cr8;
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
}

/* Check and commit a changed sregs; seg is the segment that changed, or -1. */
static uint16_t update_sregs(struct vcpu *cpu, struct vcpu_vtl *v, struct kvm_sregs *n, int seg)
{
	struct gcaps g;

	guest_caps(v->fd, &g);
	if (!vtl_sregs_ok(&g, n, &v->run->s.regs.sregs, seg))
		return HV_STATUS_INVALID_PARAMETER;
	commit_sregs(cpu, v, n);
	return HV_STATUS_SUCCESS;
}

/* ---- MSR-backed registers ---- */

/*
 * M_KEPT: KVM may keep fewer bits than it accepts (SVM keeps SYSENTER_EIP/ESP
 * 63:32 only for Intel-compatible guests): the value is read back and the
 * write undone, INVALID_PARAMETER, when KVM did not keep all of it.
 */
enum { M_RO = 1, M_CANON = 2, M_LOW32 = 4, M_PAT = 8, M_MTRR_TYPES = 16, M_DEFTYPE = 32, M_VARBASE = 64,
       M_DEBUGCTL = 128, M_KEPT = 256 };

static const struct {
	uint32_t name, msr;
	uint16_t flags;
} msr_regs[] = {
	/* The guest TSC is the partition's reference clock (docs/hyperv.md): kvsm never moves it. */
	{ HV_X64_REGISTER_TSC, 0x10, M_RO },
	{ HV_X64_REGISTER_KERNEL_GS_BASE, 0xC0000102, M_CANON },
	{ HV_X64_REGISTER_PAT, 0x277, M_PAT },
	{ HV_X64_REGISTER_SYSENTER_CS, 0x174, M_LOW32 },
	{ HV_X64_REGISTER_SYSENTER_EIP, 0x176, M_CANON | M_KEPT },
	{ HV_X64_REGISTER_SYSENTER_ESP, 0x175, M_CANON | M_KEPT },
	{ HV_X64_REGISTER_STAR, 0xC0000081, 0 },
	{ HV_X64_REGISTER_LSTAR, 0xC0000082, M_CANON },
	{ HV_X64_REGISTER_CSTAR, 0xC0000083, M_CANON },
	{ HV_X64_REGISTER_SFMASK, 0xC0000084, M_LOW32 },
	{ HV_X64_REGISTER_MSR_MTRR_CAP, 0xFE, M_RO },
	{ HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 0x2FF, M_DEFTYPE },
	{ HV_X64_REGISTER_MSR_MTRR_FIX64K_00000, 0x250, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX16K_80000, 0x258, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX16K_A0000, 0x259, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 0, 0x268, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 1, 0x269, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 2, 0x26A, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 3, 0x26B, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 4, 0x26C, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 5, 0x26D, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 6, 0x26E, M_MTRR_TYPES },
	{ HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 7, 0x26F, M_MTRR_TYPES },
	{ HV_X64_REGISTER_TSC_AUX, 0xC0000103, M_LOW32 },
	{ HV_X64_REGISTER_DEBUG_CTL, 0x1D9, M_DEBUGCTL },
	{ HV_X64_REGISTER_SPEC_CTRL, 0x48, 0 },
	{ HV_X64_REGISTER_XSS, 0xDA0, 0 },
	{ HV_X64_REGISTER_TSC_ADJUST, 0x3B, M_RO },
	{ HV_X64_REGISTER_MSR_IA32_MISC_ENABLE, 0x1A0, 0 },
};

/* The MSR behind name, or false. */
static bool msr_of(uint32_t name, uint32_t *msr, uint16_t *flags)
{
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 + 15) {
		*msr = 0x200 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0);
		*flags = M_VARBASE;
		return true;
	}
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 + 15) {
		*msr = 0x201 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0);
		*flags = 0;
		return true;
	}
	for (unsigned int i = 0; i < sizeof(msr_regs) / sizeof(msr_regs[0]); i++)
		if (msr_regs[i].name == name) {
			*msr = msr_regs[i].msr;
			*flags = msr_regs[i].flags;
			return true;
		}
	return false;
}

/* UC WC WT WP WB (and UC- for the PAT). */
static bool mem_type_ok(unsigned int t, bool pat)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

static bool msr_value_ok(struct vcpu_vtl *v, uint16_t flags, uint64_t val)
{
	if (flags & M_RO)
		return false;
	if (flags & M_LOW32)
		return !(val >> 32);
	if (flags & M_DEBUGCTL)
		return !(val >> 16);
	if (flags & (M_PAT | M_MTRR_TYPES)) {
		for (unsigned int i = 0; i < 8; i++)
			if (!mem_type_ok((val >> (8 * i)) & 0xff, flags & M_PAT))
				return false;
		return true;
	}
	if (flags & M_DEFTYPE)	/* [7:0] type, 10 FE, 11 E */
		return !(val & ~0xcffull) && mem_type_ok(val & 0xff, false);
	if (flags & M_VARBASE)	/* reserved address bits: KVM checks them against MAXPHYADDR */
		return !(val & 0xf00) && mem_type_ok(val & 0xff, false);
	if (flags & M_CANON) {
		struct gcaps g;

		guest_caps(v->fd, &g);
		return canonical(val, g.vaddr_bits);
	}
	return true;
}

/* ---- general-purpose registers ---- */

__u64 *vtl_regs_gpr(struct kvm_regs *r, unsigned int i)
{
	switch (i) {
	case 0: return &r->rax;
	case 1: return &r->rcx;
	case 2: return &r->rdx;
	case 3: return &r->rbx;
	case 4: return &r->rsp;
	case 5: return &r->rbp;
	case 6: return &r->rsi;
	case 7: return &r->rdi;
	case 8: return &r->r8;
	case 9: return &r->r9;
	case 10: return &r->r10;
	case 11: return &r->r11;
	case 12: return &r->r12;
	case 13: return &r->r13;
	case 14: return &r->r14;
	case 15: return &r->r15;
	default: return &r->rip;
	}
}

static bool is_event_name(uint32_t name)
{
	return name == HV_REGISTER_PENDING_INTERRUPTION || name == HV_REGISTER_INTERRUPT_STATE ||
	       name == HV_REGISTER_PENDING_EVENT0;
}

bool vtl_regs_handles(uint32_t name)
{
	uint32_t msr;
	uint16_t flags;

	return is_event_name(name) || (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_RFLAGS) ||
	       (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM_CONTROL_STATUS) ||
	       (name >= HV_X64_REGISTER_CR0 && name <= HV_X64_REGISTER_XFEM) ||
	       (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR7) ||
	       (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) || name == HV_X64_REGISTER_IDTR ||
	       name == HV_X64_REGISTER_GDTR ||
	       name == HV_X64_REGISTER_EFER || name == HV_X64_REGISTER_APIC_BASE || name == HV_X64_REGISTER_INITIAL_APIC_ID ||
	       msr_of(name, &msr, &flags);
}

static void event_state_load(const struct vcpu_vtl *v, struct vtl_event_state *st)
{
	const struct kvm_sync_regs *r = &v->run->s.regs;

	st->ev = r->events;
	st->rflags = r->regs.rflags;
	st->cr0 = r->sregs.cr0;
	st->cr2 = r->sregs.cr2;
}

/* ---- the API ---- */

uint16_t vtl_regs_get(struct vcpu *cpu, unsigned int vtl, uint32_t name, uint64_t val[2])
{
	struct vcpu_vtl *v = vcpu_vtl_of(cpu, vtl);
	struct kvm_sync_regs *r;
	uint32_t msr;
	uint16_t flags;

	val[0] = val[1] = 0;
	if (!v)
		return HV_STATUS_INVALID_PARAMETER;
	r = &v->run->s.regs;
	if (is_event_name(name)) {
		struct vtl_event_state st;

		event_state_load(v, &st);
		return vtl_regs_events_get(&st, name, val);
	}
	if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_RFLAGS) {
		val[0] = name == HV_X64_REGISTER_RFLAGS ? r->regs.rflags : *vtl_regs_gpr(&r->regs, name - HV_X64_REGISTER_RAX);
		return HV_STATUS_SUCCESS;
	}
	if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM_CONTROL_STATUS)
		return vtl_fpu_get(v->fd, name, val);
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		vtl_regs_seg_to_hv(vtl_sregs_seg(&r->sregs, name - HV_X64_REGISTER_ES), val);
		return HV_STATUS_SUCCESS;
	}
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR7) {
		struct kvm_debugregs d;

		if (ioctl(v->fd, KVM_GET_DEBUGREGS, &d))
			return HV_STATUS_INVALID_PARAMETER;
		val[0] = name <= HV_X64_REGISTER_DR0 + 3 ? d.db[name - HV_X64_REGISTER_DR0] :
			 name == HV_X64_REGISTER_DR6 ? d.dr6 : d.dr7;
		return HV_STATUS_SUCCESS;
	}
	switch (name) {
	case HV_X64_REGISTER_CR0: val[0] = r->sregs.cr0; return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR2: val[0] = r->sregs.cr2; return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR3: val[0] = r->sregs.cr3; return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR4: val[0] = r->sregs.cr4; return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR8:
		val[0] = user_lapic(cpu, v) ? lapic_get_cr8(user_lapic(cpu, v)) : r->sregs.cr8;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_EFER: val[0] = r->sregs.efer; return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_APIC_BASE:
		if (user_lapic(cpu, v))
			return lapic_msr_read(user_lapic(cpu, v), LAPIC_MSR_APIC_BASE, &val[0]) ?
				       HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
		val[0] = r->sregs.apic_base;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_IDTR: vtl_regs_table_to_hv(&r->sregs.idt, val); return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_GDTR: vtl_regs_table_to_hv(&r->sregs.gdt, val); return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_INITIAL_APIC_ID: val[0] = cpu->index; return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_XFEM: return vtl_xcr0_read(v->fd, &val[0]) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	}
	if (msr_of(name, &msr, &flags))
		return kvm_vcpu_get_msr(v->fd, msr, &val[0]) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_INVALID_PARAMETER;
}

uint16_t vtl_regs_set(struct vcpu *cpu, unsigned int vtl, uint32_t name, const uint64_t val[2])
{
	struct vcpu_vtl *v = vcpu_vtl_of(cpu, vtl);
	struct kvm_sync_regs *r;
	struct kvm_sregs n;
	uint64_t x = val[0];
	uint32_t msr;
	uint16_t flags;

	if (!v)
		return HV_STATUS_INVALID_PARAMETER;
	r = &v->run->s.regs;
	if (is_event_name(name) || name == HV_X64_REGISTER_RFLAGS) {
		struct vtl_event_state st;
		uint16_t s;

		event_state_load(v, &st);
		s = vtl_regs_events_set(&st, name, val);
		if (s != HV_STATUS_SUCCESS)
			return s;
		if (memcmp(&st.ev, &r->events, sizeof(st.ev))) {
			r->events = st.ev;
			v->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
		}
		if (name == HV_X64_REGISTER_RFLAGS) {
			r->regs.rflags = st.rflags;
			v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		}
		if (st.cr2 != r->sregs.cr2) {
			n = r->sregs;
			n.cr2 = st.cr2;
			commit_sregs(cpu, v, &n);
		}
		return HV_STATUS_SUCCESS;
	}
	if (name >= HV_X64_REGISTER_RAX && name < HV_X64_REGISTER_RFLAGS) {
		*vtl_regs_gpr(&r->regs, name - HV_X64_REGISTER_RAX) = x;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return HV_STATUS_SUCCESS;
	}
	if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM_CONTROL_STATUS)
	{
		v->shared_known = false;	/* vtl.c's copy of the FPU state is stale now */
		return vtl_fpu_set(v->fd, name, val);
	}
	n = r->sregs;
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		if (!vtl_regs_seg_from_hv(val, vtl_sregs_seg(&n, name - HV_X64_REGISTER_ES)))
			return HV_STATUS_INVALID_PARAMETER;
		return update_sregs(cpu, v, &n, (int)(name - HV_X64_REGISTER_ES));
	}
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR7) {
		struct kvm_debugregs d;

		if (name >= HV_X64_REGISTER_DR6 && (x >> 32))
			return HV_STATUS_INVALID_PARAMETER;
		if (ioctl(v->fd, KVM_GET_DEBUGREGS, &d))
			return HV_STATUS_INVALID_PARAMETER;
		if (name <= HV_X64_REGISTER_DR0 + 3)
			d.db[name - HV_X64_REGISTER_DR0] = x;
		else if (name == HV_X64_REGISTER_DR6)
			d.dr6 = x;
		else
			d.dr7 = x;
		d.flags = 0;
		v->shared_known = false;	/* vtl.c's copy of DR0-3 is stale now */
		return ioctl(v->fd, KVM_SET_DEBUGREGS, &d) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	}
	switch (name) {
	case HV_X64_REGISTER_CR0:
		/* As MOV to CR0 does: LMA = LME && PG (KVM accepts no other pair). */
		n.cr0 = x;
		n.efer = (n.efer & ~EFER_LMA) | ((n.efer & EFER_LME) && (x & CR0_PG) ? EFER_LMA : 0);
		return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_CR2: n.cr2 = x; commit_sregs(cpu, v, &n); return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_CR3: n.cr3 = x; return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_CR4: n.cr4 = x; return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_CR8:
		if (user_lapic(cpu, v)) {
			if (x > 15)
				return HV_STATUS_INVALID_PARAMETER;
			/* MOV to CR8: TPR[7:4] = CR8, TPR[3:0] = 0 */
			lapic_set_tpr(user_lapic(cpu, v), (uint8_t)(x << 4));
			r->sregs.cr8 = x;	/* keep the synced copy in step (applied only with other sregs) */
			v->run->cr8 = x;
			return HV_STATUS_SUCCESS;
		}
		n.cr8 = x;
		return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_EFER: n.efer = x; return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_APIC_BASE:
		if (user_lapic(cpu, v)) {
			struct lapic *a = user_lapic(cpu, v);
			uint64_t old;
			struct gcaps g;

			guest_caps(v->fd, &g);
			if (!lapic_msr_read(a, LAPIC_MSR_APIC_BASE, &old) || !vtl_apic_base_ok(&g, x, old))
				return HV_STATUS_INVALID_PARAMETER;
			return lapic_msr_write(a, LAPIC_MSR_APIC_BASE, x) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
		}
		n.apic_base = x;
		return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_IDTR: vtl_regs_table_from_hv(val, &n.idt); return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_GDTR: vtl_regs_table_from_hv(val, &n.gdt); return update_sregs(cpu, v, &n, -1);
	case HV_X64_REGISTER_INITIAL_APIC_ID: return HV_STATUS_INVALID_PARAMETER;	/* read-only */
	case HV_X64_REGISTER_XFEM: {
		struct kvm_xcrs xc = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = x } };
		struct gcaps g;

		guest_caps(v->fd, &g);
		if (!guest_xcr0_ok(&g, x))
			return HV_STATUS_INVALID_PARAMETER;
		v->shared_known = false;	/* vtl.c's copy of XCR0 is stale now */
		return ioctl(v->fd, KVM_SET_XCRS, &xc) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	}
	}
	if (msr_of(name, &msr, &flags)) {
		uint64_t cur, old = 0;

		if (!msr_value_ok(v, flags, x) || ((flags & M_KEPT) && !kvm_vcpu_get_msr(v->fd, msr, &old)))
			return HV_STATUS_INVALID_PARAMETER;
		if (kvm_vcpu_set_msr(v->fd, msr, x)) {
			if (!(flags & M_KEPT) || (kvm_vcpu_get_msr(v->fd, msr, &cur) && cur == x))
				return HV_STATUS_SUCCESS;
			kvm_vcpu_set_msr(v->fd, msr, old);
			return HV_STATUS_INVALID_PARAMETER;
		}
		/* Writing back the value it has is fine even where KVM refuses writes (e.g. XSS=0 without XSAVES). */
		return kvm_vcpu_get_msr(v->fd, msr, &cur) && cur == x ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	}
	return HV_STATUS_INVALID_PARAMETER;
}
