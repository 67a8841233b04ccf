/*
 * The x86 consistency rules for segment and control registers that KVM
 * would otherwise refuse at KVM_RUN (kvm_is_valid_sregs, kvm_apic_set_base)
 * or leave to VM entry, and the HV_X64_SEGMENT/TABLE_REGISTER conversions.
 * Segments: KVM's `unusable` is Attributes.P = 0 both ways (VMX and SVM both
 * treat a not-present segment as unusable); a usable segment's G must fit
 * its byte-granular limit (G=1: low 12 bits all ones; G=0: at most 0xFFFFF).
 */
#include "vtl_sregs.h"
#include "vtl_regs.h"
#include "vcpu.h"
#include "kvsm/tlfs.h"
#include "x86/arch.h"
#include "x86/guest_caps.h"

/* PE MP EM TS ET NE, WP, AM, NW, CD, PG */
#define CR0_VALID	(0x3full | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

void vtl_regs_seg_to_hv(const struct kvm_segment *s, uint64_t val[2])
{
	uint16_t attr = (uint16_t)((s->type & 0xf) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
				   (s->present && !s->unusable) << 7 | (s->avl & 1) << 12 | (s->l & 1) << 13 |
				   (s->db & 1) << 14 | (s->g & 1) << 15);

	val[0] = s->base;
	val[1] = s->limit | (uint64_t)s->selector << 32 | (uint64_t)attr << 48;
}

void vtl_regs_seg_from_tlfs(const struct hv_x64_segment_register *r, struct kvm_segment *s)
{
	uint16_t attr = r->attributes;

	*s = (struct kvm_segment){
		.base = r->base,
		.limit = r->limit,
		.selector = r->selector,
		.type = attr & 0xf,
		.s = (attr >> 4) & 1,
		.dpl = (attr >> 5) & 3,
		.present = (attr >> 7) & 1,
		.avl = (attr >> 12) & 1,
		.l = (attr >> 13) & 1,
		.db = (attr >> 14) & 1,
		.g = (attr >> 15) & 1,
		.unusable = !((attr >> 7) & 1),
	};
}

bool vtl_regs_seg_from_hv(const uint64_t val[2], struct kvm_segment *s)
{
	struct hv_x64_segment_register r = {
		.base = val[0],
		.limit = (uint32_t)val[1],
		.selector = (uint16_t)(val[1] >> 32),
		.attributes = (uint16_t)(val[1] >> 48),
	};

	if (r.attributes & HV_X64_SEGMENT_RSVD)
		return false;
	vtl_regs_seg_from_tlfs(&r, s);
	return true;
}

void vtl_regs_table_to_hv(const struct kvm_dtable *t, uint64_t val[2])
{
	val[0] = (uint64_t)t->limit << 48;
	val[1] = t->base;
}

void vtl_regs_table_from_hv(const uint64_t val[2], struct kvm_dtable *t)
{
	*t = (struct kvm_dtable){ .base = val[1], .limit = (uint16_t)(val[0] >> 48) };
}

struct kvm_segment *vtl_sregs_seg(struct kvm_sregs *s, unsigned int i)
{
	struct kvm_segment *t[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldt, &s->tr };

	return t[i];
}

static bool seg_ok(const struct gcaps *g, struct kvm_sregs *n, unsigned int i)
{
	const struct kvm_segment *s = vtl_sregs_seg(n, i);
	bool usable = s->present && !s->unusable;

	if (usable && (s->g ? (s->limit & 0xfff) != 0xfff : s->limit > 0xfffff))
		return false;
	switch (i) {
	case SEG_ES:
	case SEG_CS:
	case SEG_SS:
	case SEG_DS:
		return !usable || !(s->base >> 32);
	case SEG_FS:
	case SEG_GS:
		return canonical(s->base, g->vaddr_bits);
	case SEG_LDTR:
		return !usable || (canonical(s->base, g->vaddr_bits) && !s->s && s->type == 2);
	case SEG_TR:	/* a busy TSS, 32/64-bit in long mode */
		return usable && canonical(s->base, g->vaddr_bits) && !s->s && (s->type == 11 ||
			(s->type == 3 && !(n->efer & EFER_LMA)));
	}
	return false;
}

/*
 * IA32_APIC_BASE: kvm_apic_set_base()'s reserved bits and invalid state, the
 * mode transitions a guest WRMSR may not make (x2APIC -> xAPIC, disabled ->
 * x2APIC; the user-space LAPIC refuses them too), and BSP kept as it is.
 */
bool vtl_apic_base_ok(const struct gcaps *g, uint64_t v, uint64_t old)
{
	uint64_t rsvd = phys_rsvd(g) | 0x2ff | (g->x2apic ? 0 : APIC_BASE_EXTD);
	uint64_t mode = v & (APIC_BASE_EN | APIC_BASE_EXTD), old_mode = old & (APIC_BASE_EN | APIC_BASE_EXTD);

	if ((v & rsvd) || mode == APIC_BASE_EXTD || ((v ^ old) & LAPIC_BASE_BSP))
		return false;
	if (old_mode == (APIC_BASE_EN | APIC_BASE_EXTD) && mode == APIC_BASE_EN)
		return false;
	return !(old_mode == 0 && mode == (APIC_BASE_EN | APIC_BASE_EXTD));
}

static bool ctrl_ok(const struct gcaps *g, const struct kvm_sregs *n, const struct kvm_sregs *old)
{
	bool lma = n->efer & EFER_LMA;
	uint64_t cr3_rsvd = phys_rsvd(g);

	if ((n->cr0 & ~CR0_VALID) || ((n->cr0 & CR0_NW) && !(n->cr0 & CR0_CD)) ||
	    ((n->cr0 & CR0_PG) && !(n->cr0 & CR0_PE)))
		return false;
	if ((n->cr4 & ~g->cr4_ok) || (n->efer & ~g->efer_ok))
		return false;
	/* kvm_is_valid_sregs() */
	if ((n->efer & EFER_LME) && (n->cr0 & CR0_PG)) {
		if (!(n->cr4 & CR4_PAE) || !lma)
			return false;
	} else if (lma || n->cs.l) {
		return false;
	}
	if (lma && g->lam)
		cr3_rsvd &= ~(3ull << 61);	/* LAM_U57/U48 */
	if (n->cr3 & cr3_rsvd)
		return false;
	if (((n->cr4 & CR4_PCIDE) && !lma) || ((n->cr4 & CR4_CET) && !(n->cr0 & CR0_WP)))
		return false;
	if (lma && n->cs.l && n->cs.db)
		return false;
	if (n->cr8 > 15)
		return false;
	if (!canonical(n->idt.base, g->vaddr_bits) || !canonical(n->gdt.base, g->vaddr_bits))
		return false;
	/* kvm_apic_set_base() accepts an unchanged value as it is. */
	if (n->apic_base != old->apic_base && !vtl_apic_base_ok(g, n->apic_base, old->apic_base))
		return false;
	return true;
}

bool vtl_sregs_ok(const struct gcaps *g, struct kvm_sregs *n, const struct kvm_sregs *old, int seg)
{
	return (seg < 0 || seg_ok(g, n, (unsigned int)seg)) && ctrl_ok(g, n, old);
}

uint16_t vtl_regs_check_sregs(struct vcpu *cpu, unsigned int vtl, const struct kvm_sregs *s)
{
	struct vcpu_vtl *v = vcpu_vtl_of(cpu, vtl);
	struct kvm_sregs n = *s;
	struct gcaps g;

	if (!v)
		return HV_STATUS_INVALID_PARAMETER;
	guest_caps(v->fd, &g);
	for (unsigned int i = SEG_ES; i <= SEG_TR; i++)
		if (!seg_ok(&g, &n, i))
			return HV_STATUS_INVALID_PARAMETER;
	return ctrl_ok(&g, &n, &v->run->s.regs.sregs) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

