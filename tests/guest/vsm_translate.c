/*
 * HvCallTranslateVirtualAddress(Ex) (run with --vtls 2): VTL0 adds mappings
 * of its own under PML4 entry 1 of its live page tables, then VTL1
 * translates VTL0 addresses with exact expected GPAs and result codes (a
 * 4 KB page, a 2 MB page, the boot identity map, a not-present page, a
 * user/supervisor violation, a non-canonical address, VTL0's hypercall page
 * as an overlay, A/D updates) in the memory, Ex and XMM fast forms. 5-level
 * paging is covered by tests/unit/test_translate.c only, even where CPUID
 * offers LA57: turning CR4.LA57 on means leaving long mode (or starting a VP
 * in 5-level paging), which this small guest does not do.
 */
#include "lib/vsm.h"

#define HVCALL_TRANSLATE_VIRTUAL_ADDRESS	0x0052
#define HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX	0x00AC
#define VALIDATE_READ		(1ull << 0)
#define VALIDATE_WRITE		(1ull << 1)
#define SET_PAGE_TABLE_BITS	(1ull << 4)
#define SUPERVISOR		(1ull << 6)
#define USER			(1ull << 7)
#define VTL0			((uint64_t)HV_INPUT_VTL(0) << 56)

#define P	0x1ull
#define RW	0x2ull
#define US	0x4ull
#define A	0x20ull
#define D	0x40ull
#define PS	0x80ull

#define BASE		0x8000000000ull		/* PML4 entry 1: unused by the boot tables */
#define GVA_USER	(BASE + 0x1000)
#define GVA_KERNEL	(BASE + 0x2000)
#define GVA_ABSENT	(BASE + 0x3000)
#define GVA_2M		(BASE + 0x200000)

struct out { uint32_t result; uint8_t cache_type, overlay; uint16_t pad; uint64_t gpa_page; };

static uint64_t *in;
static struct out *out;
static uint64_t *out_ex;
static uint8_t *user_page, *kernel_page;
static uint64_t *pte_user;
static volatile uint64_t seen[40];
static unsigned int nseen;

static uint64_t translate(uint16_t code, uint64_t flags, uint64_t gva)
{
	in[0] = ~0ull;				/* HV_PARTITION_ID_SELF */
	in[1] = 0xfffffffeu;			/* HV_VP_INDEX_SELF, then the reserved word */
	in[2] = flags;
	in[3] = gva >> 12;
	memset(out_ex, 0xcc, 64);
	return hv_hypercall(code, (uint64_t)in, (uint64_t)out_ex);
}

/* Record status, ResultCode, CacheType, OverlayPage and GpaPage of a non-Ex translation. */
static void record(uint64_t flags, uint64_t gva)
{
	seen[nseen++] = translate(HVCALL_TRANSLATE_VIRTUAL_ADDRESS, flags, gva);
	seen[nseen++] = out->result | (uint64_t)out->cache_type << 32 | (uint64_t)out->overlay << 40;
	seen[nseen++] = out->gpa_page;
}

static void in_vtl1(void)
{
	uint64_t xmm_in[12] = { 0 }, xmm_out[12] = { 0 };

	record(VTL0 | VALIDATE_READ, 0x123456);			/* the boot identity map (2 MB pages) */
	record(VTL0 | USER | VALIDATE_READ | VALIDATE_WRITE, GVA_USER);
	record(VTL0 | USER | VALIDATE_READ, GVA_KERNEL);	/* supervisor page */
	record(VTL0 | SUPERVISOR | VALIDATE_READ, GVA_KERNEL);
	record(VTL0, GVA_ABSENT);
	record(VTL0 | VALIDATE_READ, GVA_2M + 0x5000);
	record(VTL0, 0x0000800000000000ull);			/* not canonical */
	record(VTL0 | VALIDATE_READ, (uint64_t)hv_hypercall_page);	/* VTL0's hypercall page */
	record(VTL0 | VALIDATE_WRITE, (uint64_t)hv_hypercall_page);
	record(VTL0 | SET_PAGE_TABLE_BITS | VALIDATE_WRITE, GVA_USER);
	/* Only a lower VTL's context. */
	seen[nseen++] = translate(HVCALL_TRANSLATE_VIRTUAL_ADDRESS, 0, GVA_USER);
	/* Ex: GpaPage at +48. */
	seen[nseen++] = translate(HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX, VTL0 | VALIDATE_READ, GVA_2M);
	seen[nseen++] = out_ex[0];
	seen[nseen++] = out_ex[6];
	/* XMM fast: input RDX, R8, XMM0; output from XMM1. */
	xmm_in[0] = VTL0 | SUPERVISOR | VALIDATE_READ;
	xmm_in[1] = GVA_KERNEL >> 12;
	seen[nseen++] = hv_hypercall_xmm(HVCALL_TRANSLATE_VIRTUAL_ADDRESS | HV_FAST, ~0ull, 0xfffffffeu,
					 xmm_in, xmm_out);
	seen[nseen++] = xmm_out[2];
	seen[nseen++] = xmm_out[3];
}

/* Map [BASE, BASE + 4 MB) in VTL0's live tables: a 4 KB page table, then one 2 MB page. */
static void build_mappings(void)
{
	uint64_t cr3, *pml4, *pdpt = alloc_zeroed(4096), *pd = alloc_zeroed(4096), *pt = alloc_zeroed(4096);

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(cr3 & ~0xfffull);
	user_page = alloc_zeroed(4096);
	kernel_page = alloc_zeroed(4096);
	pt[1] = (uint64_t)user_page | P | RW | US;
	pt[2] = (uint64_t)kernel_page | P | RW;
	pte_user = &pt[1];
	pd[0] = (uint64_t)pt | P | RW | US;
	pd[1] = 0x200000 | P | RW | PS;
	pdpt[0] = (uint64_t)pd | P | RW | US;
	pml4[1] = (uint64_t)pdpt | P | RW | US;
	__asm__ volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
	/* VTL0 itself sees the new mappings. */
	*(volatile uint32_t *)GVA_USER = 0x5a5a;
	CHECK_EQ(*(volatile uint32_t *)user_page, 0x5a5a);
}

void test_main(const struct mb_info *mbi)
{
	uint64_t user_gpn, kernel_gpn, hc_gpn;
	unsigned int i = 0;
	uint32_t r[4];

	hv_enable_hypercalls();
	in = alloc_zeroed(4096);
	out_ex = alloc_zeroed(4096);
	out = (struct out *)out_ex;
	build_mappings();
	user_gpn = (uint64_t)user_page >> 12;
	kernel_gpn = (uint64_t)kernel_page >> 12;
	hc_gpn = (uint64_t)hv_hypercall_page >> 12;
	cpuid(7, 0, r);
	printf("LA57 %s; 5-level translation is tested by the unit test only\n",
	       r[2] & (1u << 16) ? "offered" : "not offered");

	/* VTL0 may not translate its own addresses. */
	CHECK_EQ(translate(HVCALL_TRANSLATE_VIRTUAL_ADDRESS, VTL0, GVA_USER), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_enable_partition_vtl1(), HV_STATUS_SUCCESS);
	CHECK_EQ(vsm_enable_vp_vtl1(0), HV_STATUS_SUCCESS);
	CHECK_EQ(*pte_user & (A | D), A | D);	/* VTL0's own write above */
	*pte_user &= ~(A | D);
	vsm_call(in_vtl1, 0, 0);

	/* status, result | CacheType << 32 | OverlayPage << 40, GpaPage; WB = 6 */
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32); CHECK_EQ(seen[i++], 0x123);
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32); CHECK_EQ(seen[i++], user_gpn);
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 2); CHECK_EQ(seen[i++], 0);		/* PrivilegeViolation */
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32); CHECK_EQ(seen[i++], kernel_gpn);
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 1); CHECK_EQ(seen[i++], 0);		/* PageNotPresent */
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32); CHECK_EQ(seen[i++], 0x205);
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 3); CHECK_EQ(seen[i++], 0);		/* InvalidPageTableFlags */
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32 | 1ull << 40); CHECK_EQ(seen[i++], hc_gpn);
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 7); CHECK_EQ(seen[i++], hc_gpn);	/* IllegalOverlayAccess */
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32); CHECK_EQ(seen[i++], user_gpn);
	CHECK_EQ(seen[i++], HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32); CHECK_EQ(seen[i++], 0x200);
	CHECK_EQ(seen[i++], 0); CHECK_EQ(seen[i++], 6ull << 32); CHECK_EQ(seen[i++], kernel_gpn);
	CHECK_EQ(i, nseen);
	/* SetPageTableBits wrote VTL0's PTE. */
	CHECK_EQ(*pte_user & (A | D), A | D);
}
