/*
 * The guest page walker (src/hv/paging.c, through hv_translate_gva) and
 * HvCallTranslateVirtualAddress(Ex) (src/hv/hc_translate.c, through
 * hv_hypercall), over hand-built page tables in the fake host's RAM.
 * MAXPHYADDR is 40 (gpa_limit 1 << 40). Results 5, 6 and 8 come only from VTL
 * protections, which the placeholder hv_vtl_prot_effective never imposes:
 * they get tests when vtl_prot.c lands.
 */
#include "fake_host.h"
#include "test.h"
#include "hv/hv_internal.h"
#include "x86/arch.h"

#include <stdlib.h>

#define RAM_SIZE 0x800000u
#define IN_GPA 0x1000u
#define OUT_GPA 0x2000u
#define TABLES 0x100000u	/* page tables are allocated upwards from here */
#define NR_VPS 2

#define P	(1ull << 0)
#define RW	(1ull << 1)
#define US	(1ull << 2)
#define PWT	(1ull << 3)
#define PCD	(1ull << 4)
#define A	(1ull << 5)
#define D	(1ull << 6)
#define PS	(1ull << 7)
#define NX	(1ull << 63)


#define VR HV_TRANSLATE_GVA_VALIDATE_READ
#define VW HV_TRANSLATE_GVA_VALIDATE_WRITE
#define VX HV_TRANSLATE_GVA_VALIDATE_EXECUTE
#define SUP HV_TRANSLATE_GVA_SUPERVISOR_ACCESS
#define USR HV_TRANSLATE_GVA_USER_ACCESS
#define SET_AD HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct fake_host fake;
static struct hv_partition *part;
static uint64_t next_table;

static void put64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static void put32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }

static void setup(void)
{
	struct hv_config cfg = {
		.nr_vps = NR_VPS, .tsc_hz = 25000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE,
		.gpa_limit = 1ull << 40, .max_vtl = 2,
		.hypercall_port = FAKE_HYPERCALL_PORT, .ops = &fake_host_ops, .host = &fake,
	};

	if (part)
		hv_partition_destroy(part);
	memset(ram, 0, sizeof(ram));
	fake_reset(&fake, ram, RAM_SIZE, NR_VPS, 0);
	part = hv_partition_create(&cfg);
	if (!part) {
		printf("hv_partition_create failed\n");
		exit(1);
	}
	next_table = TABLES;
}

static uint64_t new_table(void)
{
	uint64_t t = next_table;

	next_table += 0x1000;
	return t;
}

/*
 * Long-mode (or, entry 8 and levels 2 under a PDPT, PAE) tables at root:
 * map gva's page of size level (1 = 4 KB, 2 = 2 MB, 3 = 1 GB) to gpa with
 * leaf flags; tables get P|RW|US. Returns the leaf entry's GPA.
 */
static uint64_t map(uint64_t root, unsigned int levels, uint64_t gva, unsigned int leaf, uint64_t gpa,
		    uint64_t flags)
{
	uint64_t table = root;

	for (unsigned int l = levels;; l--) {
		uint64_t at = table + ((gva >> (12 + 9 * (l - 1))) & 511) * 8, e = get64(at);

		if (l == leaf) {
			put64(at, gpa | flags | (leaf > 1 ? PS : 0));
			return at;
		}
		if (!(e & P)) {
			e = new_table() | P | RW | US;
			put64(at, e);
		}
		table = e & 0x000ffffffffff000ull;
	}
}

/* The GPA of gva's entry at `level` in long-mode tables at root. */
static uint64_t entry_at(uint64_t root, unsigned int levels, uint64_t gva, unsigned int level)
{
	uint64_t table = root;

	for (unsigned int l = levels;; l--) {
		uint64_t at = table + ((gva >> (12 + 9 * (l - 1))) & 511) * 8;

		if (l == level)
			return at;
		table = get64(at) & 0x000ffffffffff000ull;
	}
}

static struct hv_paging_regs long4(uint64_t root)
{
	return (struct hv_paging_regs){ .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = root, .cr4 = CR4_PAE,
					.efer = EFER_LME | EFER_LMA | EFER_NXE };
}

static uint32_t xlate(const struct hv_paging_regs *r, uint64_t gva, uint64_t flags, uint64_t *gpa)
{
	return hv_translate_gva(part, 0, r, gva, flags, gpa);
}

#define EXPECT_XLATE(r, gva, flags, want_rc, want_gpa) do { \
	uint64_t _g = 0xdead; \
	EXPECT_EQ(xlate((r), (gva), (flags), &_g), (want_rc)); \
	EXPECT_EQ(_g, (want_gpa)); \
} while (0)

/* ---- the walker ---- */

static void paging_off(void)
{
	struct hv_paging_regs r = { .cr0 = CR0_PE };

	setup();
	EXPECT_XLATE(&r, 0x12345678, 0, 0, 0x12345678);
	EXPECT_XLATE(&r, 0x100001234ull, 0, 0, 0x1234);		/* not long mode: 32-bit addresses */
	EXPECT_XLATE(&r, 0x7ff000, VR | VW | VX, 0, 0x7ff000);
	EXPECT_XLATE(&r, RAM_SIZE, VR, HV_TRANSLATE_GVA_GPA_UNMAPPED, RAM_SIZE);
	EXPECT_XLATE(&r, RAM_SIZE, 0, 0, RAM_SIZE);		/* no validation, no mapping check */
}

static void long4_page_sizes(void)
{
	uint64_t root, gva4k = 0x00007f1234567000ull, gva2m = 0xffff800000200000ull, gva1g = 0x0000004080000000ull;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	map(root, 4, gva4k, 1, 0x345000, P | RW);
	map(root, 4, gva2m, 2, 0x400000, P | RW);
	map(root, 4, gva1g, 3, 0x40000000, P | RW);
	EXPECT_XLATE(&r, gva4k + 0xabc, VR | VW, 0, 0x345abc);
	EXPECT_XLATE(&r, gva2m + 0x1f0123, VR, 0, 0x5f0123);
	EXPECT_XLATE(&r, gva1g + 0x3abcdef1, 0, 0, 0x7abcdef1);
	EXPECT_XLATE(&r, gva4k + 0x1000, 0, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0);
	/* CR3's low bits (PCD, PWT, PCID) are not part of the table address. */
	r.cr3 |= 0x18;
	EXPECT_XLATE(&r, gva4k, 0, 0, 0x345000);
}

static void long5(void)
{
	uint64_t root, gva = 0x00ab123456789000ull, high = 0xff80000000000000ull;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	r.cr4 |= CR4_LA57;
	map(root, 5, gva, 1, 0x7000, P | RW | US);
	map(root, 5, high, 2, 0x600000, P | RW);
	EXPECT_XLATE(&r, gva + 0x10, USR | VR | VW, 0, 0x7010);
	EXPECT_XLATE(&r, high + 0x1234, VR, 0, 0x601234);
	EXPECT_XLATE(&r, 0x0100000000000000ull, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	EXPECT_XLATE(&r, 0x0000800000000000ull, 0, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0);	/* canonical with LA57 */
	/* PS in a PML5E is reserved. */
	put64(entry_at(root, 5, gva, 5), get64(entry_at(root, 5, gva, 5)) | PS);
	EXPECT_XLATE(&r, gva, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
}

static void canonical(void)
{
	uint64_t root;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	map(root, 4, 0xffff800000000000ull, 1, 0x5000, P);
	EXPECT_XLATE(&r, 0xffff800000000000ull, 0, 0, 0x5000);
	EXPECT_XLATE(&r, 0x0000800000000000ull, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	EXPECT_XLATE(&r, 0xfff0800000000000ull, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	EXPECT_XLATE(&r, 0x00007ffffffff000ull, 0, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0);
}

static void not_present_each_level(void)
{
	uint64_t root, gva = 0x0000123456789000ull;
	struct hv_paging_regs r;

	for (unsigned int levels = 4; levels <= 5; levels++) {
		for (unsigned int l = 1; l <= levels; l++) {
			uint64_t at;

			setup();
			root = new_table();
			r = long4(root);
			if (levels == 5)
				r.cr4 |= CR4_LA57;
			map(root, levels, gva, 1, 0x9000, P | RW);
			at = entry_at(root, levels, gva, l);
			EXPECT_XLATE(&r, gva, 0, 0, 0x9000);
			/* A not-present entry's other bits are the OS's: even "reserved" ones do not matter. */
			put64(at, (get64(at) & ~P) | (1ull << 50));
			EXPECT_XLATE(&r, gva, 0, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0);
		}
	}
}

static void user_supervisor(void)
{
	uint64_t root, user = 0x400000, kern = 0x800000;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	map(root, 4, user, 1, 0x10000, P | RW | US);
	map(root, 4, kern, 1, 0x11000, P | RW);
	EXPECT_XLATE(&r, user, USR | VR, 0, 0x10000);
	EXPECT_XLATE(&r, kern, USR | VR, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, kern, USR, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);	/* user mode cannot touch it at all */
	EXPECT_XLATE(&r, kern, SUP | VR, 0, 0x11000);
	EXPECT_XLATE(&r, kern, USR | SUP | VR, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, kern, HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT | USR | VR, 0, 0x11000);
	/* Neither flag: the CPL decides. */
	EXPECT_XLATE(&r, kern, VR, 0, 0x11000);
	r.cpl = 3;
	EXPECT_XLATE(&r, kern, VR, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, user, VR, 0, 0x10000);
	/* U/S clear at an upper level denies user mode whatever the leaf says. */
	put64(entry_at(root, 4, user, 3), get64(entry_at(root, 4, user, 3)) & ~US);
	EXPECT_XLATE(&r, user, VR, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
}

static void write_protect(void)
{
	uint64_t root, ro = 0x400000, upper_ro = 0x40000000;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	map(root, 4, ro, 1, 0x12000, P | US);
	map(root, 4, upper_ro, 1, 0x13000, P | RW | US);
	put64(entry_at(root, 4, upper_ro, 2), get64(entry_at(root, 4, upper_ro, 2)) & ~RW);
	EXPECT_XLATE(&r, ro, SUP | VR, 0, 0x12000);
	EXPECT_XLATE(&r, ro, SUP | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, upper_ro, SUP | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, ro, HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	r.cr0 &= ~CR0_WP;
	EXPECT_XLATE(&r, ro, SUP | VW, 0, 0x12000);
	EXPECT_XLATE(&r, upper_ro, SUP | VW, 0, 0x13000);
	EXPECT_XLATE(&r, ro, USR | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);	/* WP never helps user mode */
	EXPECT_XLATE(&r, ro, USR | VR, 0, 0x12000);
}

static void no_execute(void)
{
	uint64_t root, data = 0x400000, code = 0x401000, upper = 0x40000000;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	map(root, 4, data, 1, 0x14000, P | RW | NX);
	map(root, 4, code, 1, 0x15000, P);
	map(root, 4, upper, 1, 0x16000, P);
	put64(entry_at(root, 4, upper, 3), get64(entry_at(root, 4, upper, 3)) | NX);
	EXPECT_XLATE(&r, data, SUP | VR | VW, 0, 0x14000);
	EXPECT_XLATE(&r, data, SUP | VX, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, upper, SUP | VX, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, code, SUP | VX, 0, 0x15000);
	/* Without EFER.NXE bit 63 is reserved at every level. */
	r.efer &= ~EFER_NXE;
	EXPECT_XLATE(&r, data, VR, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	EXPECT_XLATE(&r, upper, VR, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	EXPECT_XLATE(&r, code, SUP | VX, 0, 0x15000);
}

static void smep_smap(void)
{
	uint64_t root, user = 0x400000, kern_upper = 0x8000000000ull;	/* another PML4E */
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	map(root, 4, user, 1, 0x17000, P | RW | US);
	map(root, 4, kern_upper, 1, 0x18000, P | RW | US);
	put64(entry_at(root, 4, kern_upper, 4), get64(entry_at(root, 4, kern_upper, 4)) & ~US);
	EXPECT_XLATE(&r, user, SUP | VX | VR, 0, 0x17000);
	r.cr4 |= CR4_SMEP;
	EXPECT_XLATE(&r, user, SUP | VX, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, user, USR | VX, 0, 0x17000);
	EXPECT_XLATE(&r, user, SUP | VR, 0, 0x17000);		/* SMEP: fetches only */
	EXPECT_XLATE(&r, kern_upper, SUP | VX, 0, 0x18000);	/* not a user page: U/S clear above */
	r.cr4 |= CR4_SMAP;
	EXPECT_XLATE(&r, user, SUP | VR, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, user, SUP | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, user, SUP, 0, 0x17000);		/* SMAP: data accesses only */
	EXPECT_XLATE(&r, user, SUP | VR | HV_TRANSLATE_GVA_OVERRIDE_SMAP, 0, 0x17000);
	EXPECT_XLATE(&r, kern_upper, SUP | VR, 0, 0x18000);
	r.rflags = RFLAGS_AC;
	EXPECT_XLATE(&r, user, SUP | VR, 0, 0x17000);
	EXPECT_XLATE(&r, user, SUP | VR | HV_TRANSLATE_GVA_ENFORCE_SMAP, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, user, USR | VR, 0, 0x17000);
}

static void reserved_bits(void)
{
	uint64_t root, g4k = 0x400000, g2m = 0x40000000, g1g = 0x8000000000ull, at;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	at = map(root, 4, g4k, 1, 0x19000, P);
	map(root, 4, g2m, 2, 0x200000, P);
	map(root, 4, g1g, 3, 0x40000000, P);
	EXPECT_XLATE(&r, g4k, 0, 0, 0x19000);
	put64(at, get64(at) | (1ull << 40));		/* at MAXPHYADDR */
	EXPECT_XLATE(&r, g4k, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	put64(at, (get64(at) & ~(1ull << 40)) | (1ull << 52));	/* ignored bits 58:52 */
	EXPECT_XLATE(&r, g4k, 0, 0, 0x19000);
	put64(at, get64(at) | PS);			/* the PAT bit in a PTE */
	EXPECT_XLATE(&r, g4k, 0, 0, 0x19000);
	at = entry_at(root, 4, g4k, 3);
	put64(at, get64(at) | (1ull << 51));
	EXPECT_XLATE(&r, g4k, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	at = entry_at(root, 4, g4k, 4);
	put64(entry_at(root, 4, g4k, 3), get64(entry_at(root, 4, g4k, 3)) & ~(1ull << 51));
	put64(at, get64(at) | PS);			/* no 512 GB pages */
	EXPECT_XLATE(&r, g4k, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	put64(at, get64(at) & ~PS);
	at = entry_at(root, 4, g2m, 2);
	put64(at, get64(at) | (1ull << 13));
	EXPECT_XLATE(&r, g2m, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	put64(at, (get64(at) & ~(1ull << 13)) | (1ull << 12));	/* the PAT bit of a large page */
	EXPECT_XLATE(&r, g2m, 0, 0, 0x200000);
	at = entry_at(root, 4, g1g, 3);
	put64(at, get64(at) | (1ull << 29));
	EXPECT_XLATE(&r, g1g, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
}

static void accessed_dirty(void)
{
	uint64_t root, gva = 0x400000, ro = 0x401000, leaf, pde;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	leaf = map(root, 4, gva, 1, 0x1a000, P | RW);
	map(root, 4, ro, 1, 0x1b000, P);
	pde = entry_at(root, 4, gva, 2);
	EXPECT_XLATE(&r, gva, VR | VW, 0, 0x1a000);
	EXPECT_EQ(get64(leaf) & (A | D), 0);		/* no SetPageTableBits: nothing written */
	EXPECT_XLATE(&r, gva, SET_AD | VR, 0, 0x1a000);
	EXPECT_EQ(get64(leaf) & (A | D), A);
	for (unsigned int l = 2; l <= 4; l++)
		EXPECT_EQ(get64(entry_at(root, 4, gva, l)) & (A | D), A);
	EXPECT_XLATE(&r, gva, SET_AD | VW, 0, 0x1a000);
	EXPECT_EQ(get64(leaf) & (A | D), A | D);
	EXPECT_EQ(get64(pde) & D, 0);			/* D only on the leaf */
	/* A refused write sets no D. */
	EXPECT_XLATE(&r, ro, SET_AD | SUP | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_EQ(get64(entry_at(root, 4, ro, 1)) & (A | D), 0);
}

static bool deny_page_tables(unsigned int vtl, uint64_t gpa, bool write)
{
	return vtl == 0 && gpa >= TABLES && gpa < TABLES + 0x10000 && write;
}

static void gpa_results(void)
{
	uint64_t root, gva = 0x400000, gone = 0x600000, leaf;
	struct hv_paging_regs r;

	setup();
	root = new_table();
	r = long4(root);
	leaf = map(root, 4, gva, 1, 0x1c000, P | RW);
	map(root, 4, gone, 1, RAM_SIZE + 0x5000, P | RW);
	EXPECT_XLATE(&r, gone, 0, 0, RAM_SIZE + 0x5000);
	EXPECT_XLATE(&r, gone + 8, VR, HV_TRANSLATE_GVA_GPA_UNMAPPED, RAM_SIZE + 0x5008);
	/* A paging structure outside RAM: GpaUnmapped, naming the entry. */
	put64(entry_at(root, 4, gva, 2), (RAM_SIZE + 0x10000) | P | RW);
	EXPECT_XLATE(&r, gva, 0, HV_TRANSLATE_GVA_GPA_UNMAPPED, RAM_SIZE + 0x10000);
	/* The VTL's view refuses writes to the tables: walks work, A/D updates cannot. */
	setup();
	root = new_table();
	r = long4(root);
	leaf = map(root, 4, gva, 1, 0x1c000, P | RW);
	fake.denies = deny_page_tables;
	EXPECT_XLATE(&r, gva, VR | VW, 0, 0x1c000);
	EXPECT_XLATE(&r, gva, SET_AD | VR, HV_TRANSLATE_GVA_GPA_UNMAPPED, root);
	EXPECT_EQ(get64(leaf) & A, 0);
	EXPECT_EQ(hv_translate_gva(part, 1, &r, gva, SET_AD | VR, &leaf), 0);	/* VTL1's view may */
	EXPECT_EQ(leaf, 0x1c000);
}

static void pae(void)
{
	uint64_t pdpt, gva = 0xc0201000u, g2m = 0x40400000u, at;
	struct hv_paging_regs r = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr4 = CR4_PAE, .efer = EFER_NXE };

	setup();
	pdpt = new_table() + 0x20;			/* 32-byte aligned is enough */
	r.cr3 = pdpt | 0x8;				/* PWT */
	put64(pdpt + 3 * 8, new_table() | P);
	put64(pdpt + 1 * 8, new_table() | P);
	map(get64(pdpt + 3 * 8) & ~0xfffull, 2, gva, 1, 0x1d000, P | RW | NX);
	map(get64(pdpt + 1 * 8) & ~0xfffull, 2, g2m, 2, 0x600000, P | US);
	EXPECT_XLATE(&r, gva + 0x123, VW, 0, 0x1d123);
	EXPECT_XLATE(&r, 0x100000000ull + gva, 0, 0, 0x1d000);	/* 32-bit linear addresses */
	EXPECT_XLATE(&r, gva, SUP | VX, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, g2m + 0x1fffff, USR | VR, 0, 0x7fffff);
	EXPECT_XLATE(&r, g2m, USR | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, 0x00001000u, 0, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0);	/* PDPTE 0 */
	/* PDPTE reserved bits (RW here), then PAE's 62:M. */
	put64(pdpt + 3 * 8, get64(pdpt + 3 * 8) | RW);
	EXPECT_XLATE(&r, gva, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	put64(pdpt + 3 * 8, get64(pdpt + 3 * 8) & ~RW);
	at = entry_at(get64(pdpt + 3 * 8) & ~0xfffull, 2, gva, 1);
	put64(at, get64(at) | (1ull << 55));
	EXPECT_XLATE(&r, gva, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	put64(at, get64(at) & ~(1ull << 55));
	r.efer = 0;
	EXPECT_XLATE(&r, gva, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);	/* NX without NXE */
}

static void paging32(void)
{
	uint64_t pd, pt, gva = 0x80403000u, big = 0xc0000000u;
	struct hv_paging_regs r = { .cr0 = CR0_PE | CR0_PG | CR0_WP };

	setup();
	pd = new_table();
	pt = new_table();
	r.cr3 = pd;
	put32(pd + (gva >> 22) * 4, (uint32_t)(pt | P | RW | US));
	put32(pt + ((gva >> 12) & 1023) * 4, 0x1e000 | P | US);
	/* A 4 MB page at 0x1_0040_0000: address bits 39:32 in PDE bits 20:13. */
	put32(pd + (big >> 22) * 4, 0x00400000u | (1u << 13) | P | RW | (uint32_t)PS);
	EXPECT_XLATE(&r, gva + 0x77, USR | VR, 0, 0x1e077);
	EXPECT_XLATE(&r, gva, USR | VW, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	EXPECT_XLATE(&r, gva + 0x1000, 0, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0);
	/* Without CR4.PSE, PS is ignored: the PDE points at a page table (here, of zeroes). */
	EXPECT_XLATE(&r, big, 0, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0);
	r.cr4 = CR4_PSE;
	EXPECT_XLATE(&r, big + 0x3ff123, SUP, 0, 0x1007ff123ull);	/* beyond RAM: no validation */
	EXPECT_XLATE(&r, big, USR, HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0);
	put32(pd + (big >> 22) * 4, get32(pd + (big >> 22) * 4) | (1u << 21));
	EXPECT_XLATE(&r, big, 0, HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0);
	/* The A/D bits of 4-byte entries. */
	EXPECT_XLATE(&r, gva, SET_AD | VR, 0, 0x1e000);
	EXPECT_EQ(get32(pt + ((gva >> 12) & 1023) * 4) & (A | D), A);
	EXPECT_EQ(get32(pd + (gva >> 22) * 4) & (A | D), A);
}

/* ---- the hypercalls ---- */

static struct hv_paging_regs vtl0_regs;
static uint64_t vtl0_pat, vtl0_ss_attr;

/* VTL0's registers for the hypercall; the others keep the fake pattern. */
static bool vtl0_reg(unsigned int vp, unsigned int vtl, uint32_t name, uint64_t v[2])
{
	if (vtl != 0)
		return false;
	v[1] = 0;
	switch (name) {
	case HV_X64_REGISTER_CR0: v[0] = vtl0_regs.cr0; return true;
	case HV_X64_REGISTER_CR3: v[0] = vtl0_regs.cr3; return true;
	case HV_X64_REGISTER_CR4: v[0] = vtl0_regs.cr4; return true;
	case HV_X64_REGISTER_EFER: v[0] = vtl0_regs.efer; return true;
	case HV_X64_REGISTER_RFLAGS: v[0] = vtl0_regs.rflags; return true;
	case HV_X64_REGISTER_PAT: v[0] = vtl0_pat; return true;
	case HV_X64_REGISTER_SS: v[0] = 0; v[1] = vtl0_ss_attr << 48; return true;
	}
	return false;
}

#define GVA_WB 0x400000ull
#define GVA_UC 0x401000ull
#define GVA_USER 0x402000ull
#define GVA_HYPERCALL 0x403000ull
#define GVA_ASSIST 0x404000ull
#define GPA_HYPERCALL 0x30000ull
#define GPA_ASSIST 0x31000ull

/* VTL1 enabled on VP0 and VP1; VTL0 in 4-level paging with a few pages mapped. */
static void setup_call(void)
{
	uint64_t root;

	setup();
	part->enabled_vtls |= 2;
	part->vps[0].vsm.enabled_vtls |= 2;
	part->vps[1].vsm.enabled_vtls |= 2;
	root = new_table();
	vtl0_regs = long4(root);
	vtl0_pat = 0x0007040600070406ull;		/* the reset PAT: WB WT UC- UC, twice */
	vtl0_ss_attr = 0x93;				/* DPL 0 */
	map(root, 4, GVA_WB, 1, 0x20000, P | RW);
	map(root, 4, GVA_UC, 1, 0x21000, P | RW | PCD | PWT);
	map(root, 4, GVA_USER, 1, 0x22000, P | US);
	map(root, 4, GVA_HYPERCALL, 1, GPA_HYPERCALL, P | RW);
	map(root, 4, GVA_ASSIST, 1, GPA_ASSIST, P | RW);
	fake.reg_value = vtl0_reg;
}

static void put_input(uint64_t partition, uint32_t vp_index, uint64_t flags, uint64_t gva_page)
{
	memset(ram + IN_GPA, 0, 32);
	put64(IN_GPA, partition);
	put32(IN_GPA + 8, vp_index);
	put64(IN_GPA + 16, flags);
	put64(IN_GPA + 24, gva_page);
}

/* A memory-form call from (vp, vtl): returns the status; the output is at OUT_GPA. */
static uint16_t call(unsigned int vp, unsigned int vtl, uint64_t control)
{
	struct hv_hypercall_regs r = { .long_mode = true, .rcx = control, .rdx = IN_GPA, .r8 = OUT_GPA };

	memset(ram + OUT_GPA, 0xcc, 128);
	EXPECT_EQ(hv_hypercall(part, vp, vtl, &r), HV_HYPERCALL_DONE);
	return (uint16_t)r.rax;
}

#define VTL0_INPUT (0x10ull << 56)	/* HV_INPUT_VTL {TargetVtl 0, UseTargetVtl} */

static uint16_t translate(unsigned int vp, unsigned int vtl, uint64_t flags, uint64_t gva)
{
	put_input(HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, flags, gva >> 12);
	return call(vp, vtl, HVCALL_TRANSLATE_VIRTUAL_ADDRESS);
}

static void call_statuses(void)
{
	setup_call();
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, GVA_WB), HV_STATUS_SUCCESS);
	put_input(1, HV_VP_INDEX_SELF, VTL0_INPUT, GVA_WB >> 12);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS), HV_STATUS_ACCESS_DENIED);
	put_input(HV_PARTITION_ID_SELF, 0, VTL0_INPUT, GVA_WB >> 12);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS), HV_STATUS_SUCCESS);	/* its own index */
	put_input(HV_PARTITION_ID_SELF, 1, VTL0_INPUT, GVA_WB >> 12);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(call(1, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS), HV_STATUS_SUCCESS);
	/* The reserved word at +12 is padding. */
	put_input(HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, VTL0_INPUT, GVA_WB >> 12);
	put32(IN_GPA + 12, 0xffffffffu);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS), HV_STATUS_SUCCESS);
	/* ControlFlags 55:11 are RsvdZ; so are HV_INPUT_VTL's bits 7:5. */
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | (1ull << 11), GVA_WB), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | (1ull << 55), GVA_WB), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | (0x20ull << 56), GVA_WB), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT | HV_TRANSLATE_GVA_SHADOW_STACK,
			    GVA_WB), HV_STATUS_SUCCESS);
	/* The VTL: lower than the caller's. */
	EXPECT_EQ(translate(0, 1, 0, GVA_WB), HV_STATUS_ACCESS_DENIED);			/* its own */
	EXPECT_EQ(translate(0, 1, 0x11ull << 56, GVA_WB), HV_STATUS_ACCESS_DENIED);	/* VTL1 named */
	EXPECT_EQ(translate(0, 1, 0x12ull << 56, GVA_WB), HV_STATUS_ACCESS_DENIED);	/* higher */
	EXPECT_EQ(translate(0, 1, 0x13ull << 56, GVA_WB), HV_STATUS_INVALID_PARAMETER);	/* no VTL3 */
	EXPECT_EQ(translate(0, 0, VTL0_INPUT, GVA_WB), HV_STATUS_ACCESS_DENIED);
	part->vps[0].vsm.enabled_vtls = 1 | 4;
	EXPECT_EQ(translate(0, 2, 0x11ull << 56, GVA_WB), HV_STATUS_INVALID_VTL_STATE);	/* VTL1 not on VP0 */
	part->vps[0].vsm.enabled_vtls = 1 | 2;
	/* Simple calls: a rep count is refused. */
	put_input(HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, VTL0_INPUT, GVA_WB >> 12);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS | 1ull << 32), HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* A register the host will not give. */
	fake.reg_value = NULL;
	fake.reg_status = HV_STATUS_ACCESS_DENIED;
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, GVA_WB), HV_STATUS_ACCESS_DENIED);
}

/* TlbFlushInhibit locks VTL0's TLB of the caller's VP for the caller (OpenVMM), whatever the result. */
static void call_tlb_flush_inhibit(void)
{
	setup_call();
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, GVA_WB), HV_STATUS_SUCCESS);
	EXPECT(!hv_tlb_lock_held(part, 0, 1, 0));
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT, 0x7000000), HV_STATUS_SUCCESS);
	EXPECT_EQ(get32(OUT_GPA), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	EXPECT(hv_tlb_lock_held(part, 0, 1, 0));
	EXPECT(!hv_tlb_lock_held(part, 1, 1, 0));
	/* A refused call locks nothing. */
	EXPECT_EQ(translate(1, 1, 0x13ull << 56 | HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT, GVA_WB),
		  HV_STATUS_INVALID_PARAMETER);
	EXPECT(!hv_tlb_lock_held(part, 1, 1, 0));
}

static void call_needs_access_vsm(void)
{
	setup_call();
	part->privileges &= ~HV_ACCESS_VSM;
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, GVA_WB), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nget, 0);
}

static void expect_output(uint32_t result, uint8_t cache, uint8_t overlay, uint64_t gpa_page)
{
	EXPECT_EQ(get32(OUT_GPA), result);
	EXPECT_EQ(ram[OUT_GPA + 4], cache);
	EXPECT_EQ(ram[OUT_GPA + 5], overlay);
	EXPECT_EQ(ram[OUT_GPA + 6] | ram[OUT_GPA + 7] << 8, 0);
	EXPECT_EQ(get64(OUT_GPA + 8), gpa_page);
	EXPECT_EQ(ram[OUT_GPA + 16], 0xcc);		/* 16 bytes, no more */
}

static void call_output(void)
{
	setup_call();
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR | VW, GVA_WB), 0);
	expect_output(0, HV_CACHE_TYPE_WRITE_BACK, 0, 0x20);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR, GVA_UC), 0);
	expect_output(0, HV_CACHE_TYPE_UNCACHED, 0, 0x21);
	vtl0_pat = 0x0007040605040401ull;		/* entry 0 WC, entry 3 WP (PAT index PCD|PWT) */
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, GVA_UC), 0);
	expect_output(0, 5, 0, 0x21);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, GVA_WB), 0);
	expect_output(0, 1, 0, 0x20);
	/* Failures: the result code, GpaPage 0. */
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, 0x7000000), 0);
	expect_output(HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 0, 0, 0);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | USR | VR, GVA_WB), 0);
	expect_output(HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0, 0, 0);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VW, GVA_USER), 0);
	expect_output(HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0, 0, 0);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT, 0x0000800000000000ull), 0);
	expect_output(HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 0, 0, 0);
	/* CPL from VTL0's SS.DPL when the flags do not say. */
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR, GVA_WB), 0);
	expect_output(0, 1, 0, 0x20);
	vtl0_ss_attr = 0xf3;				/* DPL 3 */
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR, GVA_WB), 0);
	expect_output(HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0, 0, 0);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR, GVA_USER), 0);
	expect_output(0, 1, 0, 0x22);
	/* RFLAGS.AC of VTL0 for SMAP. */
	vtl0_ss_attr = 0x93;
	vtl0_regs.cr4 |= CR4_SMAP;
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR, GVA_USER), 0);
	expect_output(HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 0, 0, 0);
	vtl0_regs.rflags = RFLAGS_AC;
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR, GVA_USER), 0);
	expect_output(0, 1, 0, 0x22);
	/* A final page outside RAM: GpaPage names it. */
	map(vtl0_regs.cr3, 4, 0x405000, 1, RAM_SIZE, P);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR, 0x405000), 0);
	expect_output(HV_TRANSLATE_GVA_GPA_UNMAPPED, 0, 0, RAM_SIZE >> 12);
	/* SetPageTableBits writes VTL0's tables. */
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | SET_AD | VW, GVA_WB), 0);
	EXPECT_EQ(get64(entry_at(vtl0_regs.cr3, 4, GVA_WB, 1)) & (A | D), A | D);
}

static void call_overlays(void)
{
	setup_call();
	part->vtl[0].hypercall = GPA_HYPERCALL | HV_MSR_HYPERCALL_ENABLE;
	part->vps[0].vtl[0].vp_assist = GPA_ASSIST | HV_MSR_PAGE_ENABLE;
	part->vps[0].vtl[1].synic.simp = 0x20000 | HV_MSR_PAGE_ENABLE;	/* VTL1's: not VTL0's overlay */
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VR | VX, GVA_HYPERCALL), 0);
	expect_output(0, HV_CACHE_TYPE_WRITE_BACK, 1, GPA_HYPERCALL >> 12);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VW, GVA_HYPERCALL), 0);
	expect_output(HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS, 0, 0, GPA_HYPERCALL >> 12);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VW, GVA_ASSIST), 0);
	expect_output(0, HV_CACHE_TYPE_WRITE_BACK, 1, GPA_ASSIST >> 12);
	EXPECT_EQ(translate(0, 1, VTL0_INPUT | VW, GVA_WB), 0);
	expect_output(0, HV_CACHE_TYPE_WRITE_BACK, 0, 0x20);
	/* VP1's VTL0 has no VP assist page there. */
	EXPECT_EQ(translate(1, 1, VTL0_INPUT | VW, GVA_ASSIST), 0);
	expect_output(0, HV_CACHE_TYPE_WRITE_BACK, 0, GPA_ASSIST >> 12);
}

static void call_ex_output(void)
{
	setup_call();
	put_input(HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, VTL0_INPUT | VR, GVA_UC >> 12);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX), 0);
	EXPECT_EQ(get64(OUT_GPA), 0);			/* result 0, UC, no overlay */
	for (unsigned int i = 8; i < 48; i++)
		EXPECT_EQ(ram[OUT_GPA + i], 0);		/* reserved, then EventInfo: none */
	EXPECT_EQ(get64(OUT_GPA + 48), 0x21);
	EXPECT_EQ(get64(OUT_GPA + 56), 0);
	EXPECT_EQ(ram[OUT_GPA + 64], 0xcc);
	put_input(HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, VTL0_INPUT, GVA_WB >> 12);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX), 0);
	EXPECT_EQ(get64(OUT_GPA), (uint64_t)HV_CACHE_TYPE_WRITE_BACK << 32);
	EXPECT_EQ(get64(OUT_GPA + 48), 0x20);
	put_input(HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, VTL0_INPUT, 0x7000);
	EXPECT_EQ(call(0, 1, HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX), 0);
	EXPECT_EQ(get64(OUT_GPA), HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);
	EXPECT_EQ(get64(OUT_GPA + 48), 0);
}

/* Fast (XMM) form: input in RDX, R8, XMM0; output from XMM1. */
static void call_fast(void)
{
	struct hv_hypercall_regs r = { .long_mode = true };

	setup_call();
	r.rcx = HVCALL_TRANSLATE_VIRTUAL_ADDRESS | HV_HYPERCALL_FAST;
	r.rdx = HV_PARTITION_ID_SELF;
	r.r8 = HV_VP_INDEX_SELF;
	fake.xmm[0][0] = VTL0_INPUT | VR;
	fake.xmm[0][1] = GVA_UC >> 12;
	EXPECT_EQ(hv_hypercall(part, 0, 1, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 0);
	EXPECT_EQ(fake.xmm[1][0], 0);
	EXPECT_EQ(fake.xmm[1][1], 0x21);
	r.rcx = HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX | HV_HYPERCALL_FAST;
	fake.xmm[0][1] = GVA_WB >> 12;
	memset(fake.xmm[1], 0xcc, sizeof(fake.xmm) - sizeof(fake.xmm[0]));
	EXPECT_EQ(hv_hypercall(part, 0, 1, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 0);
	EXPECT_EQ(fake.xmm[1][0], (uint64_t)HV_CACHE_TYPE_WRITE_BACK << 32);
	EXPECT_EQ(fake.xmm[4][0], 0x20);		/* +48 */
	EXPECT_EQ(fake.xmm[4][1], 0);
	EXPECT_EQ(fake.xmm[5][0], 0xccccccccccccccccull);	/* past the 64 bytes */
}

int main(void)
{
	RUN_TEST(paging_off);
	RUN_TEST(long4_page_sizes);
	RUN_TEST(long5);
	RUN_TEST(canonical);
	RUN_TEST(not_present_each_level);
	RUN_TEST(user_supervisor);
	RUN_TEST(write_protect);
	RUN_TEST(no_execute);
	RUN_TEST(smep_smap);
	RUN_TEST(reserved_bits);
	RUN_TEST(accessed_dirty);
	RUN_TEST(gpa_results);
	RUN_TEST(pae);
	RUN_TEST(paging32);
	RUN_TEST(call_statuses);
	RUN_TEST(call_needs_access_vsm);
	RUN_TEST(call_tlb_flush_inhibit);
	RUN_TEST(call_output);
	RUN_TEST(call_overlays);
	RUN_TEST(call_ex_output);
	RUN_TEST(call_fast);
	hv_partition_destroy(part);
	return TEST_EXIT();
}
