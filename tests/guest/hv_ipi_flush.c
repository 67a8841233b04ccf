/*
 * HvCallSendSyntheticClusterIpi(Ex) and the virtual TLB flush hypercalls
 * (spec 3.10, 3.11), run with --smp 4.
 *
 * IPIs: every form (fast, memory, Ex in memory and XMM, sparse banks and
 * "all") must raise exactly the vector on exactly the VPs named, the sender
 * included when named; failed calls must raise nothing. A handler counts
 * (CPU, vector) and EOIs; want_ipis[][] is what the counts must be.
 *
 * Flushes: a functional check. VP0 maps TEST_GVA to a fresh physical page
 * in page tables all CPUs share, every CPU reads it (caching the
 * translation), VP0 rewrites the PTE to the next page without INVLPG on the
 * other CPUs, calls one of the flush forms for them, and every CPU must
 * then read the new page's contents. (On a KVM that shadows or traps page
 * table writes the stale window may not exist, so this shows the flush
 * completes and is correct, not that it was needed.)
 */
#include "lib/hyperv.h"

#define VEC0		0x70	/* IPI vectors 0x70-0x7f */
#define NVEC		16
#define WAIT_US		100000
#define QUIET_US	2000
#define TEST_GVA	0x8000000000ull		/* PML4 slot 1; the boot identity map uses slot 0 only */

#define ALL_PROCESSORS		(1ull << 0)
#define ALL_ADDRESS_SPACES	(1ull << 1)
#define NON_GLOBAL_ONLY		(1ull << 2)

static unsigned int ncpus;
static uint64_t all_mask;
static uint8_t *in;
static volatile unsigned int ipis[MAX_CPUS][NVEC];
static unsigned int want_ipis[MAX_CPUS][NVEC];

static void ipi_irq(struct irq_frame *f)
{
	ipis[apic_id()][f->vector - VEC0]++;
	apic_eoi();
}

static bool ipis_as_wanted(void)
{
	for (unsigned int c = 0; c < ncpus; c++)
		for (unsigned int v = 0; v < NVEC; v++)
			if (ipis[c][v] != want_ipis[c][v])
				return false;
	return true;
}

/* vector must now have reached exactly the VPs in mask (plus everything expected before). */
static void expect_ipis(uint8_t vector, uint64_t mask, const char *what)
{
	bool ok;

	for (unsigned int c = 0; c < ncpus; c++)
		if (mask & (1ull << c))
			want_ipis[c][vector - VEC0]++;
	ok = WAIT_UNTIL(ipis_as_wanted(), WAIT_US);
	delay_us(QUIET_US);			/* and nothing more arrives */
	ok = ok && ipis_as_wanted();
	if (!ok)
		for (unsigned int c = 0; c < ncpus; c++)
			printf("  VP%u: vector 0x%x taken %u times, expected %u\n", c, vector, ipis[c][vector - VEC0],
			       want_ipis[c][vector - VEC0]);
	check(ok, "%s: vector 0x%x on VP mask 0x%llx only", what, vector, (unsigned long long)mask);
}

/* Header qword: Vector, TargetVtl (HV_INPUT_VTL), Flags, reserved. */
static uint64_t ipi_hdr(uint32_t vector, uint8_t vtl, uint8_t flags, uint16_t rsvd)
{
	return vector | (uint64_t)vtl << 32 | (uint64_t)flags << 40 | (uint64_t)rsvd << 48;
}

static uint64_t ipi_fast(uint64_t hdr, uint64_t mask)
{
	return hv_hypercall(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | HV_FAST, hdr, mask);
}

/* The Ex form in memory: header, HV_VP_SET {format, valid banks, banks...}; var header = the banks. */
static uint64_t ipi_ex(uint64_t hdr, uint64_t format, uint64_t banks, const uint64_t *bank, unsigned int nbank,
		       unsigned int varhead)
{
	uint64_t *q = (uint64_t *)in;

	q[0] = hdr;
	q[1] = format;
	q[2] = banks;
	for (unsigned int i = 0; i < nbank; i++)
		q[3 + i] = bank[i];
	return hv_hypercall(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | HV_VARHEAD(varhead), (uint64_t)in, 0);
}

static void test_ipi(void)
{
	uint64_t xin[12] = { 0 }, xout[12], bank[2];

	/* Fast: VPs 1-3 from VP0. */
	CHECK_EQ(ipi_fast(ipi_hdr(VEC0, 0, 0, 0), all_mask & ~1ull), HV_STATUS_SUCCESS);
	expect_ipis(VEC0, all_mask & ~1ull, "fast IPI to VPs 1-3");
	/*
	 * Memory form, the sender included; bits for VPs that do not exist are
	 * ignored, and so is the reserved u16 after Flags (OpenVMM never reads it).
	 */
	((uint64_t *)in)[0] = ipi_hdr(VEC0 + 1, 0, 0, 0xbeef);
	((uint64_t *)in)[1] = 0x5 | 1ull << 40;
	CHECK_EQ(hv_hypercall(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, (uint64_t)in, 0), HV_STATUS_SUCCESS);
	expect_ipis(VEC0 + 1, 0x5, "memory-form IPI to VPs 0, 2");
	/* An explicit target VTL equal to the caller's (0). */
	CHECK_EQ(ipi_fast(ipi_hdr(0xff, 0x10, 0, 0), 0), HV_STATUS_SUCCESS);	/* empty mask: nothing */
	CHECK_EQ(ipi_fast(ipi_hdr(VEC0 + 2, 0x10, 0, 0), 0x2), HV_STATUS_SUCCESS);
	expect_ipis(VEC0 + 2, 0x2, "IPI with TargetVtl 0");

	/* Ex, memory: sparse set, bank 0 = VPs 1 and 3. */
	bank[0] = 0xa;
	CHECK_EQ(ipi_ex(ipi_hdr(VEC0 + 3, 0, 0, 0), 0, 1, bank, 1, 1), HV_STATUS_SUCCESS);
	expect_ipis(VEC0 + 3, 0xa, "IpiEx sparse, memory");
	/* Ex, format 1: all VPs, no banks. */
	CHECK_EQ(ipi_ex(ipi_hdr(VEC0 + 4, 0, 0, 0), 1, 0, bank, 0, 0), HV_STATUS_SUCCESS);
	expect_ipis(VEC0 + 4, all_mask, "IpiEx all, memory");
	/* Ex, XMM fast: RDX = header, R8 = Format, XMM0 = {ValidBanksMask, bank 0}. */
	xin[0] = 1;
	xin[1] = 0x6;
	CHECK_EQ(hv_hypercall_xmm(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | HV_FAST | HV_VARHEAD(1),
				  ipi_hdr(VEC0 + 5, 0, 0, 0), 0, xin, xout), HV_STATUS_SUCCESS);
	expect_ipis(VEC0 + 5, 0x6, "IpiEx sparse, XMM");
	xin[0] = 0;
	CHECK_EQ(hv_hypercall_xmm(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | HV_FAST, ipi_hdr(VEC0 + 6, 0, 0, 0), 1,
				  xin, xout), HV_STATUS_SUCCESS);
	expect_ipis(VEC0 + 6, all_mask, "IpiEx all, XMM");
	/* Bank 1 (VPs 64-127) names no existing VP. */
	bank[0] = ~0ull;
	CHECK_EQ(ipi_ex(ipi_hdr(VEC0 + 7, 0, 0, 0), 0, 2, bank, 1, 1), HV_STATUS_SUCCESS);

	/* Errors: none may raise anything. */
	CHECK_EQ(ipi_fast(ipi_hdr(0x0f, 0, 0, 0), 0x2), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(ipi_fast(ipi_hdr(0x100 | (VEC0 + 7), 0, 0, 0), 0x2), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(ipi_fast(ipi_hdr(VEC0 + 7, 0x11, 0, 0), 0x2), HV_STATUS_ACCESS_DENIED);	/* VTL1 > caller */
	CHECK_EQ(ipi_fast(ipi_hdr(VEC0 + 7, 0x12, 0, 0), 0x2), HV_STATUS_ACCESS_DENIED);	/* VTL2 > caller */
	CHECK_EQ(ipi_fast(ipi_hdr(0x0f, 0x11, 0, 0), 0x2), HV_STATUS_ACCESS_DENIED);		/* preferred */
	CHECK_EQ(ipi_fast(ipi_hdr(VEC0 + 7, 0x13, 0, 0), 0x2), HV_STATUS_INVALID_PARAMETER);	/* no VTL3 */
	CHECK_EQ(ipi_fast(ipi_hdr(VEC0 + 7, 0x20, 0, 0), 0x2), HV_STATUS_INVALID_PARAMETER);	/* RsvdZ 7:5 */
	CHECK_EQ(ipi_fast(ipi_hdr(VEC0 + 7, 0, 1, 0), 0x2), HV_STATUS_INVALID_PARAMETER);	/* Flags */
	bank[0] = 0x2;
	bank[1] = 0x2;
	CHECK_EQ(ipi_ex(ipi_hdr(VEC0 + 7, 0x11, 0, 0), 0, 1, bank, 1, 1), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(ipi_ex(ipi_hdr(0x0f, 0, 0, 0), 0, 1, bank, 1, 1), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(ipi_ex(ipi_hdr(VEC0 + 7, 0, 0, 0), 2, 1, bank, 1, 1), HV_STATUS_INVALID_PARAMETER);	/* format */
	CHECK_EQ(ipi_ex(ipi_hdr(VEC0 + 7, 0, 0, 0), 0, 3, bank, 2, 1), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(ipi_ex(ipi_hdr(VEC0 + 7, 0, 0, 0), 0, 1, bank, 2, 2), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(hv_hypercall(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | HV_VARHEAD(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);			/* no variable header on the plain call */
	expect_ipis(VEC0 + 7, 0, "failed IPI calls");
}

/* ---- TLB flushes ---- */

static volatile uint64_t *pte;
static volatile uint64_t seen[MAX_CPUS];

static void read_gva(void *arg)
{
	seen[apic_id()] = *(volatile uint64_t *)TEST_GVA;
}

static uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
}

/* Map TEST_GVA through a new PDPT, PD and PT hung off the shared PML4. */
static void map_test_gva(void)
{
	uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull);
	uint64_t *pdpt = alloc_zeroed(4096), *pd = alloc_zeroed(4096), *pt = alloc_zeroed(4096);

	CHECK_EQ(pml4[1], 0);
	pdpt[0] = (uint64_t)pd | 3;
	pd[0] = (uint64_t)pt | 3;
	pml4[1] = (uint64_t)pdpt | 3;
	pte = &pt[0];
}

/* Every CPU reads TEST_GVA; all must see magic. Reading also caches the translation for the next round. */
static unsigned int readers_seeing(uint64_t magic)
{
	unsigned int n = 0;

	for (unsigned int v = 0; v < ncpus; v++) {
		seen[v] = 0;
		on_cpu(v, read_gva, 0);
		n += seen[v] == magic;
	}
	return n;
}

enum form { SPACE, SPACE_XMM, SPACE_ALL, LIST, LIST_XMM, SPACE_EX, SPACE_EX_ALL, SPACE_EX_XMM, LIST_EX, LIST_EX_XMM };
static const char *const form_name[] = {
	"Space", "Space XMM", "Space ALL_PROCESSORS", "List", "List XMM", "SpaceEx sparse", "SpaceEx all",
	"SpaceEx XMM", "ListEx", "ListEx XMM",
};

/* Issue one flush of TEST_GVA for VPs 1..n-1 (or everyone); returns the result value. */
static uint64_t flush(enum form f)
{
	uint64_t *q = (uint64_t *)in, as = read_cr3(), aps = all_mask & ~1ull, xin[12] = { 0 }, xout[12];
	uint64_t gva = TEST_GVA;	/* range element: page number, 0 additional pages */

	q[0] = as;
	q[1] = 0;
	switch (f) {
	case SPACE:
		q[2] = aps;
		return hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, (uint64_t)in, 0);
	case SPACE_XMM:
		xin[0] = aps;
		return hv_hypercall_xmm(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_FAST, as, 0, xin, xout);
	case SPACE_ALL:
		q[1] = ALL_PROCESSORS | ALL_ADDRESS_SPACES;
		q[2] = 0;
		return hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, (uint64_t)in, 0);
	case LIST:
		q[2] = aps;
		q[3] = gva;
		return hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_REP(1), (uint64_t)in, 0);
	case LIST_XMM:
		xin[0] = aps;
		xin[1] = gva;
		return hv_hypercall_xmm(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_FAST | HV_REP(1), as, 0, xin, xout);
	case SPACE_EX:
		q[2] = 0;		/* sparse */
		q[3] = 1;		/* bank 0 */
		q[4] = aps;
		return hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | HV_VARHEAD(1), (uint64_t)in, 0);
	case SPACE_EX_ALL:
		q[2] = 1;		/* all */
		q[3] = 0;
		return hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, (uint64_t)in, 0);
	case SPACE_EX_XMM:
		xin[0] = 0;
		xin[1] = 1;
		xin[2] = aps;
		return hv_hypercall_xmm(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | HV_FAST | HV_VARHEAD(1), as, 0, xin,
					xout);
	case LIST_EX:
		q[2] = 0;
		q[3] = 1;
		q[4] = aps;
		q[5] = gva;
		return hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX | HV_VARHEAD(1) | HV_REP(1), (uint64_t)in, 0);
	case LIST_EX_XMM:
		xin[0] = 0;
		xin[1] = 1;
		xin[2] = aps;
		xin[3] = gva;
		return hv_hypercall_xmm(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX | HV_FAST | HV_VARHEAD(1) | HV_REP(1), as,
					0, xin, xout);
	}
	return ~0ull;
}

static void test_flush(void)
{
	uint64_t *page = alloc_zeroed(4096);

	map_test_gva();
	page[0] = 0xf1a5000;
	*pte = (uint64_t)page | 3;
	CHECK_EQ(readers_seeing(0xf1a5000), ncpus);

	for (unsigned int f = SPACE; f <= LIST_EX_XMM; f++) {
		bool self = f == SPACE_ALL || f == SPACE_EX_ALL;	/* the call flushes VP0 as well */
		bool rep = f == LIST || f == LIST_XMM || f == LIST_EX || f == LIST_EX_XMM;
		uint64_t magic = 0xf1a5001 + f, r;
		unsigned int n;

		page = alloc_zeroed(4096);
		page[0] = magic;
		*pte = (uint64_t)page | 3;		/* no INVLPG on the APs: the hypercall must do it */
		if (!self)
			invlpg(TEST_GVA);		/* VP0's own TLB, as a guest flushes locally */
		r = flush((enum form)f);
		n = readers_seeing(magic);
		check(r == (rep ? 1ull << 32 : 0) && n == ncpus, "flush %s: result 0x%llx, %u of %u VPs read 0x%llx",
		      form_name[f], (unsigned long long)r, n, ncpus, (unsigned long long)magic);
	}

	/* Statuses. */
	uint64_t *q = (uint64_t *)in;

	q[0] = read_cr3();
	q[2] = all_mask;
	q[3] = TEST_GVA;
	q[4] = TEST_GVA + 4096;
	q[5] = TEST_GVA + 8192;
	q[1] = 1ull << 4;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, (uint64_t)in, 0), HV_STATUS_INVALID_PARAMETER);
	q[1] = 1ull << 63;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_REP(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_PARAMETER);
	q[1] = NON_GLOBAL_ONLY;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, (uint64_t)in, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_REP(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_PARAMETER);		/* meaningless for a list */
	q[1] = 0;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_REP(3), (uint64_t)in, 0), 3ull << 32);
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, (uint64_t)in, 0),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);	/* rep count 0 */
	q[2] = 0;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, (uint64_t)in, 0), HV_STATUS_SUCCESS);	/* nobody */
	/* Ex: sparse {bank 0 = all_mask} + one range; then the errors. */
	q[1] = NON_GLOBAL_ONLY;
	q[2] = 0;
	q[3] = 1;
	q[4] = all_mask;
	q[5] = TEST_GVA;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | HV_VARHEAD(1), (uint64_t)in, 0),
		 HV_STATUS_SUCCESS);
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX | HV_VARHEAD(1) | HV_REP(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_PARAMETER);
	q[1] = 1ull << 8;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | HV_VARHEAD(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_PARAMETER);
	q[1] = 0;
	q[2] = 2;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | HV_VARHEAD(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_PARAMETER);		/* unknown VP set format */
	q[2] = 0;
	q[3] = 3;					/* two banks, one qword of them */
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | HV_VARHEAD(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);
	q[3] = 1;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX | HV_VARHEAD(2), (uint64_t)in, 0),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);	/* one bank, two qwords */
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_VARHEAD(1), (uint64_t)in, 0),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);	/* no variable header on the plain call */
}

void ap_main(unsigned int id)
{
	ap_idle(id);
}

void test_main(const struct mb_info *mbi)
{
	for (unsigned int v = 0; v < NVEC; v++)
		set_irq_handler(VEC0 + v, ipi_irq);
	ncpus = smp_start_aps() + 1;
	CHECK_EQ(ncpus, cmdline_u64(mbi, "cpus", 4));
	if (ncpus < 2 || ncpus > 64) {
		printf("needs 2-64 CPUs\n");
		return;
	}
	all_mask = ncpus == 64 ? ~0ull : (1ull << ncpus) - 1;
	in = alloc_zeroed(4096);
	hv_enable_hypercalls();
	test_ipi();
	test_flush();
}
