/*
 * HV_INITIAL_VP_CONTEXT (HvCallEnableVpVtl, HvCallStartVirtualProcessor;
 * spec 3.1, 4.1): decoded from the hypercall input and checked here, once,
 * against the rules of the architecture, before any host op sees it. What
 * depends on the CPU model (which CR4/EFER bits exist, the physical and
 * linear address widths) is the host's to check when it loads the context.
 * Every refusal is HV_STATUS_INVALID_PARAMETER, as OpenVMM answers a context
 * its processor would not accept.
 */
#include "hv_internal.h"

#include <string.h>

#define CR0_PE		(1ull << 0)
#define CR0_WP		(1ull << 16)
#define CR0_NW		(1ull << 29)
#define CR0_CD		(1ull << 30)
#define CR0_PG		(1ull << 31)
#define CR0_VALID	(0x3full | CR0_WP | (1ull << 18) | CR0_NW | CR0_CD | CR0_PG)	/* PE..NE, WP, AM, NW, CD, PG */
#define CR4_PAE		(1ull << 5)
#define CR4_LA57	(1ull << 12)
#define CR4_PCIDE	(1ull << 17)
#define CR4_CET		(1ull << 23)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define RFLAGS_VM	(1ull << 17)
#define SEG_TYPE_CODE	0x8u
#define SEG_TYPE_WRITABLE_DATA	0x2u
#define SEG_TYPE_LDT	0x2u
#define SEG_TYPE_TSS16_BUSY	0x3u
#define SEG_TYPE_TSS_BUSY	0xbu

static void load_segment(const uint8_t *b, struct hv_x64_segment_register *s)
{
	s->base = hv_ld64(b);
	memcpy(&s->limit, b + 8, 4);
	memcpy(&s->selector, b + 12, 2);
	memcpy(&s->attributes, b + 14, 2);
}

static void load_table(const uint8_t *b, struct hv_x64_table_register *t)
{
	memset(t->pad, 0, sizeof(t->pad));	/* ignored on input */
	memcpy(&t->limit, b + 6, 2);
	t->base = hv_ld64(b + 8);
}

static bool usable(const struct hv_x64_segment_register *s)
{
	return s->attributes & HV_X64_SEGMENT_PRESENT;
}

static bool canonical(uint64_t v, unsigned int bits)
{
	return (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits)) == v;
}

/* What every loadable segment obeys: no reserved attribute bits; a usable one's G fits its limit. */
static bool segment_ok(const struct hv_x64_segment_register *s)
{
	if (s->attributes & HV_X64_SEGMENT_RSVD)
		return false;
	if (!usable(s))
		return true;
	return s->attributes & HV_X64_SEGMENT_GRANULARITY ? (s->limit & 0xfff) == 0xfff : s->limit <= 0xfffff;
}

/* Segments and control registers as a whole: what a VM entry with this state would refuse. */
static bool state_ok(const struct hv_initial_vp_context *c)
{
	const struct hv_x64_segment_register *segs[] = { &c->cs, &c->ds, &c->es, &c->fs, &c->gs, &c->ss, &c->tr,
							  &c->ldtr };
	const struct hv_x64_segment_register *legacy[] = { &c->cs, &c->ds, &c->es, &c->ss };
	bool lma = c->efer & EFER_LMA, cs_l = c->cs.attributes & HV_X64_SEGMENT_LONG;
	unsigned int tr_type = HV_X64_SEGMENT_TYPE(c->tr.attributes);

	for (unsigned int i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
		if (!segment_ok(segs[i]))
			return false;
	for (unsigned int i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
		if (usable(legacy[i]) && (legacy[i]->base >> 32))
			return false;
	if (usable(&c->ldtr) && ((c->ldtr.attributes & HV_X64_SEGMENT_NON_SYSTEM) ||
				 HV_X64_SEGMENT_TYPE(c->ldtr.attributes) != SEG_TYPE_LDT))
		return false;
	/* TR: a busy TSS, 32/64-bit in long mode. */
	if (!usable(&c->tr) || (c->tr.attributes & HV_X64_SEGMENT_NON_SYSTEM) ||
	    !(tr_type == SEG_TYPE_TSS_BUSY || (tr_type == SEG_TYPE_TSS16_BUSY && !lma)))
		return false;
	if ((c->cr0 & ~CR0_VALID) || ((c->cr0 & CR0_NW) && !(c->cr0 & CR0_CD)) ||
	    ((c->cr0 & CR0_PG) && !(c->cr0 & CR0_PE)))
		return false;
	/* Long mode is active exactly when LME and PG are set, and needs PAE. */
	if ((c->efer & EFER_LME) && (c->cr0 & CR0_PG)) {
		if (!(c->cr4 & CR4_PAE) || !lma)
			return false;
	} else if (lma || cs_l) {
		return false;
	}
	if (lma && cs_l && (c->cs.attributes & HV_X64_SEGMENT_DEFAULT_BIG))
		return false;
	return !((c->cr4 & CR4_PCIDE) && !lma) && !((c->cr4 & CR4_CET) && !(c->cr0 & CR0_WP));
}

/*
 * A VTL >= 1 starts in protected or long mode (spec 4.1: no real mode above
 * VTL0, and so no virtual-8086 mode either), with a usable code segment in CS
 * and a writable data segment in SS (64-bit mode may leave SS null), at a RIP
 * the first fetch can use: canonical in 64-bit mode (57 bits with CR4.LA57),
 * within CS's limit otherwise.
 */
static bool start_ok(const struct hv_initial_vp_context *c)
{
	bool long64 = (c->efer & EFER_LMA) && (c->cs.attributes & HV_X64_SEGMENT_LONG);
	uint16_t cs = c->cs.attributes, ss = c->ss.attributes;

	if (!(c->cr0 & CR0_PE) || (c->rflags & RFLAGS_VM))
		return false;
	if (!usable(&c->cs) || !(cs & HV_X64_SEGMENT_NON_SYSTEM) || !(HV_X64_SEGMENT_TYPE(cs) & SEG_TYPE_CODE))
		return false;
	if ((!long64 || usable(&c->ss)) &&
	    (!usable(&c->ss) || !(ss & HV_X64_SEGMENT_NON_SYSTEM) || (HV_X64_SEGMENT_TYPE(ss) & SEG_TYPE_CODE) ||
	     !(HV_X64_SEGMENT_TYPE(ss) & SEG_TYPE_WRITABLE_DATA)))
		return false;
	if (long64)
		return canonical(c->rip, c->cr4 & CR4_LA57 ? 57 : 48);
	return c->rip <= c->cs.limit;
}

uint16_t hv_vp_context_decode(const uint8_t raw[HV_INITIAL_VP_CONTEXT_SIZE], unsigned int vtl,
			      struct hv_initial_vp_context *c)
{
	struct hv_x64_segment_register *segs[] = { &c->cs, &c->ds, &c->es, &c->fs, &c->gs, &c->ss, &c->tr, &c->ldtr };

	c->rip = hv_ld64(raw);
	c->rsp = hv_ld64(raw + 8);
	c->rflags = hv_ld64(raw + 16);
	for (unsigned int i = 0; i < 8; i++)
		load_segment(raw + 24 + 16 * i, segs[i]);
	load_table(raw + 152, &c->idtr);
	load_table(raw + 168, &c->gdtr);
	c->efer = hv_ld64(raw + 184);
	c->cr0 = hv_ld64(raw + 192);
	c->cr3 = hv_ld64(raw + 200);
	c->cr4 = hv_ld64(raw + 208);
	c->msr_cr_pat = hv_ld64(raw + 216);
	if (!state_ok(c))
		return HV_STATUS_INVALID_PARAMETER;
	/* VTL0 may start anywhere, real mode included. */
	if (vtl > 0 && !start_ok(c))
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}
