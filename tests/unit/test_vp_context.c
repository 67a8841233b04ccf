/*
 * HV_INITIAL_VP_CONTEXT decoding and checking (src/hv/vp_context.c): each
 * field read from its TLFS offset, and every architectural rule refusing
 * with HV_STATUS_INVALID_PARAMETER, for VTL0 and for a VTL >= 1.
 */
#include "hv/hv_internal.h"
#include "test.h"

#include <stddef.h>
#include <string.h>

/* The public struct is the TLFS layout (the guest library builds inputs with it). */
_Static_assert(offsetof(struct hv_initial_vp_context, cs) == 24, "Cs");
_Static_assert(offsetof(struct hv_initial_vp_context, idtr) == 152, "Idtr");
_Static_assert(offsetof(struct hv_initial_vp_context, efer) == 184, "Efer");
_Static_assert(offsetof(struct hv_initial_vp_context, msr_cr_pat) == 216, "MsrCrPat");

static uint8_t raw[HV_INITIAL_VP_CONTEXT_SIZE];

static void put(unsigned int off, uint64_t v, unsigned int size)
{
	memcpy(raw + off, &v, size);
}

/* Segment i of CS, DS, ES, FS, GS, SS, TR, LDTR at 24 + 16 * i. */
static void put_seg(unsigned int i, uint64_t base, uint32_t limit, uint16_t sel, uint16_t attr)
{
	put(24 + 16 * i, base, 8);
	put(24 + 16 * i + 8, limit, 4);
	put(24 + 16 * i + 12, sel, 2);
	put(24 + 16 * i + 14, attr, 2);
}

enum { CS, DS, ES, FS, GS, SS, TR, LDTR };

/* A 64-bit context with a distinct value in every field the rules leave free. */
static void long_mode(void)
{
	memset(raw, 0, sizeof(raw));
	put(0, 0xffffffff81234560ull, 8);		/* RIP */
	put(8, 0xffffc90000004000ull, 8);		/* RSP */
	put(16, 0x246, 8);				/* RFLAGS */
	put_seg(CS, 0, 0xffffffff, 0x10, 0xa09b);
	put_seg(DS, 0, 0xffffffff, 0x18, 0xc093);
	put_seg(ES, 0, 0xfffff, 0x20, 0x4093);
	put_seg(FS, 0x7f0012345000ull, 0xffffffff, 0x2b, 0xc0f3);
	put_seg(GS, 0xffff888012340000ull, 0xffffffff, 0x33, 0xc0f3);
	put_seg(SS, 0, 0xffffffff, 0x18, 0xc093);
	put_seg(TR, 0xfffffe0000003000ull, 0x4087, 0x40, 0x008b);
	put_seg(LDTR, 0, 0, 0x50, 0);			/* null: unusable, anything goes */
	put(152, 0x1111222233330000ull | 0xfff, 8);	/* IDTR: Pad garbage, Limit 0x1111 */
	put(152 + 8, 0xfffffe0000000000ull, 8);
	put(168 + 6, 0x7f, 2);				/* GDTR */
	put(168 + 8, 0xfffffe0000001000ull, 8);
	put(184, 0xd01, 8);				/* EFER: SCE LME LMA NXE */
	put(192, 0x80050033, 8);			/* CR0: PE MP ET NE WP AM PG */
	put(200, 0x1234000, 8);
	put(208, 0x3606a0, 8);				/* CR4: PAE PGE OSFXSR ... */
	put(216, 0x0407050600070106ull, 8);
}

static uint16_t decode(unsigned int vtl, struct hv_initial_vp_context *c)
{
	return hv_vp_context_decode(raw, vtl, c);
}

static void test_fields(void)
{
	struct hv_initial_vp_context c;

	long_mode();
	EXPECT_EQ(decode(1, &c), HV_STATUS_SUCCESS);
	EXPECT_EQ(c.rip, 0xffffffff81234560ull);
	EXPECT_EQ(c.rsp, 0xffffc90000004000ull);
	EXPECT_EQ(c.rflags, 0x246);
	EXPECT_EQ(c.cs.base, 0);
	EXPECT_EQ(c.cs.limit, 0xffffffff);
	EXPECT_EQ(c.cs.selector, 0x10);
	EXPECT_EQ(c.cs.attributes, 0xa09b);
	EXPECT_EQ(c.ds.selector, 0x18);
	EXPECT_EQ(c.ds.attributes, 0xc093);
	EXPECT_EQ(c.es.limit, 0xfffff);
	EXPECT_EQ(c.es.selector, 0x20);
	EXPECT_EQ(c.es.attributes, 0x4093);
	EXPECT_EQ(c.fs.base, 0x7f0012345000ull);
	EXPECT_EQ(c.fs.selector, 0x2b);
	EXPECT_EQ(c.fs.attributes, 0xc0f3);
	EXPECT_EQ(c.gs.base, 0xffff888012340000ull);
	EXPECT_EQ(c.gs.selector, 0x33);
	EXPECT_EQ(c.ss.selector, 0x18);
	EXPECT_EQ(c.tr.base, 0xfffffe0000003000ull);
	EXPECT_EQ(c.tr.limit, 0x4087);
	EXPECT_EQ(c.tr.selector, 0x40);
	EXPECT_EQ(c.tr.attributes, 0x8b);
	EXPECT_EQ(c.ldtr.selector, 0x50);
	EXPECT_EQ(c.ldtr.attributes, 0);
	EXPECT_EQ(c.idtr.limit, 0x1111);
	EXPECT_EQ(c.idtr.pad[0], 0);			/* ignored on input */
	EXPECT_EQ(c.idtr.pad[1], 0);
	EXPECT_EQ(c.idtr.pad[2], 0);
	EXPECT_EQ(c.idtr.base, 0xfffffe0000000000ull);
	EXPECT_EQ(c.gdtr.limit, 0x7f);
	EXPECT_EQ(c.gdtr.base, 0xfffffe0000001000ull);
	EXPECT_EQ(c.efer, 0xd01);
	EXPECT_EQ(c.cr0, 0x80050033);
	EXPECT_EQ(c.cr3, 0x1234000);
	EXPECT_EQ(c.cr4, 0x3606a0);
	EXPECT_EQ(c.msr_cr_pat, 0x0407050600070106ull);
	EXPECT_EQ(decode(0, &c), HV_STATUS_SUCCESS);
}

/* Change the long-mode context with fn, then expect status for VTL0 and VTL1. */
static void expect(void (*fn)(void), uint16_t vtl0, uint16_t vtl1, int line)
{
	struct hv_initial_vp_context c;
	uint16_t st;

	long_mode();
	fn();
	if ((st = decode(0, &c)) != vtl0) {
		printf("  case at line %d, VTL0: status %#x, expected %#x\n", line, st, vtl0);
		t_failed = 1;
	}
	long_mode();
	fn();
	if ((st = decode(1, &c)) != vtl1) {
		printf("  case at line %d, VTL1: status %#x, expected %#x\n", line, st, vtl1);
		t_failed = 1;
	}
}
#define BAD_ALWAYS(fn) expect(fn, HV_STATUS_INVALID_PARAMETER, HV_STATUS_INVALID_PARAMETER, __LINE__)
#define BAD_ABOVE_VTL0(fn) expect(fn, HV_STATUS_SUCCESS, HV_STATUS_INVALID_PARAMETER, __LINE__)
#define GOOD(fn) expect(fn, HV_STATUS_SUCCESS, HV_STATUS_SUCCESS, __LINE__)

static uint16_t attr_of(unsigned int seg)
{
	uint16_t a;

	memcpy(&a, raw + 24 + 16 * seg + 14, 2);
	return a;
}

static void set_attr(unsigned int seg, uint16_t a) { put(24 + 16 * seg + 14, a, 2); }

/* Architectural rules: refused for every VTL. */
static void ds_reserved_attr(void) { set_attr(DS, attr_of(DS) | 0x100); }
static void ldtr_reserved_attr(void) { set_attr(LDTR, 0x800); }	/* even on an unusable segment */
static void cs_reserved_attr(void) { set_attr(CS, attr_of(CS) | 0x400); }
/* G=1 with the limit's low 12 bits not all ones; G=0 with a limit over 1 MiB. */
static void es_g_limit(void) { put(24 + 16 * ES + 8, 0xffffe, 4); set_attr(ES, 0xc093); }
static void es_byte_limit(void) { put(24 + 16 * ES + 8, 0x100000, 4); set_attr(ES, 0x4093); }
static void ds_base_high(void) { put(24 + 16 * DS, 1ull << 32, 8); }
static void cs_l_and_d(void) { set_attr(CS, 0xe09b); }
static void lma_without_pg(void) { put(192, 0x50033, 8); }
static void lme_pg_without_pae(void) { put(208, 0x360680, 8); }
static void lme_pg_without_lma(void) { put(184, 0x901, 8); }
static void pg_without_pe(void) { put(192, 0x80050032, 8); }
static void nw_without_cd(void) { put(192, 0xa0050033, 8); }
static void cr0_reserved(void) { put(192, 0x80050073, 8); }	/* bit 6 */
static void cr0_high(void) { put(192, 0x180050033ull, 8); }
static void cet_without_wp(void) { put(192, 0x80040033, 8); put(208, 0x3606a0 | 1u << 23, 8); }
static void tr_unusable(void) { set_attr(TR, 0x000b); }
static void tr_16bit_in_long_mode(void) { set_attr(TR, 0x0083); }
static void tr_not_busy(void) { set_attr(TR, 0x0089); }
static void tr_code(void) { set_attr(TR, 0x009b); }
static void ldtr_wrong_type(void) { set_attr(LDTR, 0x0089); }

/* 32-bit protected mode without paging, flat. */
static void protected32(void)
{
	put(184, 0, 8);
	put(192, 0x11, 8);
	put(208, 0, 8);
	put(0, 0x1000, 8);
	set_attr(CS, 0xc09b);
	set_attr(TR, 0x008b);
}
static void pcide_without_lma(void) { protected32(); put(208, 1u << 17, 8); }
static void cs_l_without_lma(void) { protected32(); set_attr(CS, 0xa09b); }

/* A VTL >= 1 starts in protected or long mode with usable CS and SS (spec 4.1). */
static void real_mode(void)
{
	put(184, 0, 8);
	put(192, 0x10, 8);
	put(208, 0, 8);
	put(0, 0x7c00, 8);
	put_seg(CS, 0, 0xffff, 0, 0x9b);
	put_seg(DS, 0, 0xffff, 0, 0x93);
	put_seg(SS, 0, 0xffff, 0, 0x93);
	set_attr(TR, 0x83);
}
static void v8086(void) { protected32(); put(16, 0x2 | 1ull << 17, 8); }
static void cs_not_present(void) { set_attr(CS, 0xa01b); }
static void cs_data(void) { set_attr(CS, 0xc093); }
static void cs_system(void) { set_attr(CS, 0xa08b); }
static void ss_code_32(void) { protected32(); set_attr(SS, 0xc09b); }
static void ss_read_only_32(void) { protected32(); set_attr(SS, 0xc091); }
static void ss_null_32(void) { protected32(); set_attr(SS, 0); }
static void rip_noncanonical(void) { put(0, 0x0000800000000000ull, 8); }
static void rip_past_limit(void) { protected32(); set_attr(CS, 0x409b); put(24 + 8, 0xfffff, 4); put(0, 0x100000, 8); }

/* Accepted. */
static void ss_null_64(void) { set_attr(SS, 0); put(24 + 16 * SS + 12, 0, 2); }
static void rip_la57(void) { put(0, 0x0000800000000000ull, 8); put(208, 0x3606a0 | 1u << 12, 8); }
static void rip_at_limit(void) { protected32(); set_attr(CS, 0x409b); put(24 + 8, 0xfffff, 4); put(0, 0xfffff, 8); }
static void flat32(void) { protected32(); }
static void tr_16bit_busy_32(void) { protected32(); set_attr(TR, 0x0083); }
static void ldtr_usable(void) { put_seg(LDTR, 0x2000, 0xfff, 0x58, 0x0082); }

static void test_rules(void)
{
	BAD_ALWAYS(ds_reserved_attr);
	BAD_ALWAYS(ldtr_reserved_attr);
	BAD_ALWAYS(cs_reserved_attr);
	BAD_ALWAYS(es_g_limit);
	BAD_ALWAYS(es_byte_limit);
	BAD_ALWAYS(ds_base_high);
	BAD_ALWAYS(cs_l_and_d);
	BAD_ALWAYS(lma_without_pg);
	BAD_ALWAYS(lme_pg_without_pae);
	BAD_ALWAYS(lme_pg_without_lma);
	BAD_ALWAYS(pg_without_pe);
	BAD_ALWAYS(nw_without_cd);
	BAD_ALWAYS(cr0_reserved);
	BAD_ALWAYS(cr0_high);
	BAD_ALWAYS(cet_without_wp);
	BAD_ALWAYS(tr_unusable);
	BAD_ALWAYS(tr_16bit_in_long_mode);
	BAD_ALWAYS(tr_not_busy);
	BAD_ALWAYS(tr_code);
	BAD_ALWAYS(ldtr_wrong_type);
	BAD_ALWAYS(pcide_without_lma);
	BAD_ALWAYS(cs_l_without_lma);

	BAD_ABOVE_VTL0(real_mode);
	BAD_ABOVE_VTL0(v8086);
	BAD_ABOVE_VTL0(cs_not_present);
	BAD_ABOVE_VTL0(cs_data);
	BAD_ABOVE_VTL0(cs_system);
	BAD_ABOVE_VTL0(ss_code_32);
	BAD_ABOVE_VTL0(ss_read_only_32);
	BAD_ABOVE_VTL0(ss_null_32);
	BAD_ABOVE_VTL0(rip_noncanonical);
	BAD_ABOVE_VTL0(rip_past_limit);

	GOOD(ss_null_64);
	GOOD(rip_la57);
	GOOD(rip_at_limit);
	GOOD(flat32);
	GOOD(tr_16bit_busy_32);
	GOOD(ldtr_usable);
}

int main(void)
{
	RUN_TEST(test_fields);
	RUN_TEST(test_rules);
	return t_total_failed != 0;
}
