/*
 * Hypercall inputs at their limits (run with --smp 2), each with the exact
 * status of the TLFS (or KVM/OpenVMM where it is silent, docs/hyperv.md):
 * - rep counts 0, 1, the most that fits a page, 0xFFF; rep start at, past
 *   and inside the count; a simple call with rep fields;
 * - parameter blocks that end exactly at a page boundary and one step past;
 *   at the last RAM page, the first page past RAM, the last page below the
 *   GPA limit and past it;
 * - HV_VP_SET (HvCallSendSyntheticClusterIpiEx): 0, 1, 2 and 64 banks,
 *   bits and banks for VPs that do not exist, a variable header shorter and
 *   longer than the banks, HV_GENERIC_SET_ALL, unknown formats; each IPI
 *   that succeeds reaches exactly the VPs it names.
 */
#include "lib/hyperv.h"

#define GET_VP_INDEX_FROM_APIC	0x009A		/* rep: in 16 + 4 per APIC ID, out 4 per VP index */
#define NOTIFY_LONG_SPIN_WAIT	0x0008		/* simple */
#define IPI_VEC			0x70
#define MAX_FIT			1020		/* (4096 - 16) / 4 */
#define WAIT_US			2000000

static uint8_t *page, *out;
static volatile unsigned int ipis[2];

/* GetVpIndexFromApicId input at in: APIC IDs alternate 1, 0. */
static void vp_index_input(uint8_t *in, unsigned int n)
{
	*(uint64_t *)in = HV_PARTITION_ID_SELF;
	*(uint64_t *)(in + 8) = 0;
	for (unsigned int i = 0; i < n; i++)
		((uint32_t *)(in + 16))[i] = (i + 1) & 1;
}

static uint64_t vp_index(unsigned int count, unsigned int start, uint64_t in, uint64_t outp)
{
	return hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(count) | HV_REP_START(start), in, outp);
}

static void test_rep_counts(void)
{
	uint32_t *o = (uint32_t *)out;
	unsigned int wrong = 0;

	vp_index_input(page, MAX_FIT);
	CHECK_EQ(vp_index(0, 0, (uint64_t)page, (uint64_t)out), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(vp_index(1, 0, (uint64_t)page, (uint64_t)out), 1ull << 32);
	CHECK_EQ(o[0], 1);
	/* The most that fits a page: four of kvsm's batches, resumed by the guest's re-entry. */
	memset(out, 0xff, 4096);
	CHECK_EQ(vp_index(MAX_FIT, 0, (uint64_t)page, (uint64_t)out), (uint64_t)MAX_FIT << 32);
	for (unsigned int i = 0; i < MAX_FIT; i++)
		wrong += o[i] != ((i + 1) & 1);
	CHECK_EQ(wrong, 0);
	CHECK_EQ(vp_index(MAX_FIT + 1, 0, (uint64_t)page, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(vp_index(0xfff, 0, (uint64_t)page, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(vp_index(0xfff, 0xffe, (uint64_t)page, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);
	/* Rep start: inside the count (elements before it untouched), at it, past it. */
	memset(out, 0xff, 16);
	CHECK_EQ(vp_index(4, 2, (uint64_t)page, (uint64_t)out), 4ull << 32);
	CHECK_EQ(o[0], 0xffffffff);
	CHECK_EQ(o[1], 0xffffffff);
	CHECK_EQ(o[2], 1);
	CHECK_EQ(o[3], 0);
	CHECK_EQ(vp_index(2, 2, (uint64_t)page, (uint64_t)out), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(vp_index(2, 3, (uint64_t)page, (uint64_t)out), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(vp_index(0xfff, 0xfff, (uint64_t)page, (uint64_t)out), HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* A simple call with a rep count or a rep start. */
	CHECK_EQ(hv_hypercall(NOTIFY_LONG_SPIN_WAIT | HV_FAST, 1, 0), HV_STATUS_SUCCESS);
	CHECK_EQ(hv_hypercall(NOTIFY_LONG_SPIN_WAIT | HV_FAST | HV_REP(1), 1, 0), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(hv_hypercall(NOTIFY_LONG_SPIN_WAIT | HV_FAST | HV_REP_START(1), 1, 0),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);
}

/* Blocks at a page's end: 8-byte aligned sizes step by 4 bytes here, so "one past" is 4 bytes past. */
static void test_block_edges(void)
{
	uint8_t *in = page + 4096 - 24;

	vp_index_input(in, 2);				/* 24 bytes: ends at the boundary */
	CHECK_EQ(vp_index(2, 0, (uint64_t)in, (uint64_t)out), 2ull << 32);
	CHECK_EQ(vp_index(3, 0, (uint64_t)in, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);	/* 4 bytes past */
	CHECK_EQ(vp_index(2, 0, (uint64_t)in + 1, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);	/* 1 byte past */
	vp_index_input(page, 3);
	CHECK_EQ(vp_index(2, 0, (uint64_t)page, (uint64_t)out + 4088), 2ull << 32);		/* output: 8 bytes */
	CHECK_EQ(vp_index(3, 0, (uint64_t)page, (uint64_t)out + 4088), HV_STATUS_INVALID_ALIGNMENT);
}

/* RAM's end: the last page works, the next is no RAM; the GPA limit: inside but no RAM, then past it. */
static void test_gpa_edges(const struct mb_info *mbi)
{
	uint64_t ram_end = ((uint64_t)mbi->mem_upper + 1024) * 1024, limit = 1ull << guest_phys_bits();
	uint8_t *last = (uint8_t *)(ram_end - 4096);

	printf("RAM ends at 0x%llx, GPA limit 0x%llx\n", (unsigned long long)ram_end, (unsigned long long)limit);
	vp_index_input(last, 1);
	CHECK_EQ(vp_index(1, 0, (uint64_t)last, (uint64_t)out), 1ull << 32);
	CHECK_EQ(vp_index(1, 0, (uint64_t)page, (uint64_t)last + 4088), 1ull << 32);
	CHECK_EQ(*(volatile uint32_t *)(last + 4088), 1);
	vp_index_input(page, 1);
	CHECK_EQ(vp_index(1, 0, ram_end, (uint64_t)out), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(vp_index(1, 0, (uint64_t)page, ram_end), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(vp_index(1, 0, limit - 4096, (uint64_t)out), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(vp_index(1, 0, (uint64_t)page, limit - 4096), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(vp_index(1, 0, limit, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(vp_index(1, 0, (uint64_t)page, limit), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(vp_index(1, 0, 1ull << 63, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(vp_index(1, 0, ~7ull, (uint64_t)out), HV_STATUS_INVALID_ALIGNMENT);
}

static void on_ipi(struct irq_frame *f)
{
	ipis[apic_id_any()]++;
	apic_eoi();
}

/* HvCallSendSyntheticClusterIpiEx with HV_VP_SET {format, banks, the bank qwords}; varhead qwords after. */
static uint64_t ipi_ex(uint64_t format, uint64_t banks, const uint64_t *bank, unsigned int varhead)
{
	uint64_t *q = (uint64_t *)page;

	q[0] = IPI_VEC;
	q[1] = format;
	q[2] = banks;
	memcpy(q + 3, bank, 64 * 8);
	return hv_hypercall(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | HV_VARHEAD(varhead), (uint64_t)page, 0);
}

/* The IPIs each VP took since the last look are exactly want0 and want1 (after a quiet 10 ms). */
static void expect_ipis(unsigned int want0, unsigned int want1, const char *what)
{
	bool ok;

	sti();
	ok = WAIT_UNTIL(ipis[0] >= want0 && ipis[1] >= want1, WAIT_US);
	delay_us(10000);
	cli();
	check(ok && ipis[0] == want0 && ipis[1] == want1, "%s: VP0 took %u IPIs (want %u), VP1 %u (want %u)", what,
	      ipis[0], want0, ipis[1], want1);
	ipis[0] = ipis[1] = 0;
}

static void test_vp_sets(void)
{
	uint64_t bank[64];

	for (unsigned int i = 0; i < 64; i++)
		bank[i] = ~0ull;
	bank[0] = 0x2 | ~3ull;			/* VP1, and VPs 2-63 that do not exist */
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 0, bank, 0), HV_STATUS_SUCCESS);
	expect_ipis(0, 0, "no banks");
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 1, bank, 1), HV_STATUS_SUCCESS);
	expect_ipis(0, 1, "bank 0, bits past the VP count");
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 2, bank, 1), HV_STATUS_SUCCESS);
	expect_ipis(0, 0, "bank 1 only (VPs 64-127)");
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 3, bank, 2), HV_STATUS_SUCCESS);
	expect_ipis(0, 1, "banks 0 and 1");
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, ~0ull, bank, 64), HV_STATUS_SUCCESS);
	expect_ipis(0, 1, "all 64 banks");
	bank[0] = 0x3;
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 1ull << 63 | 1, bank, 2), HV_STATUS_SUCCESS);
	expect_ipis(1, 1, "banks 0 and 63, VPs 0 and 1");
	/* The variable header must be exactly the banks. */
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, ~0ull, bank, 63), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 1, bank, 0), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 1, bank, 2), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_SPARSE_4K, 0, bank, 1), HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* ALL: every VP, the mask ignored, no banks; unknown formats. */
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_ALL, 0, bank, 0), HV_STATUS_SUCCESS);
	expect_ipis(1, 1, "HV_GENERIC_SET_ALL");
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_ALL, ~0ull, bank, 0), HV_STATUS_SUCCESS);
	expect_ipis(1, 1, "HV_GENERIC_SET_ALL, mask ignored");
	CHECK_EQ(ipi_ex(HV_GENERIC_SET_ALL, 0, bank, 1), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(ipi_ex(2, 1, bank, 1), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(ipi_ex(~0ull, 1, bank, 1), HV_STATUS_INVALID_PARAMETER);
	expect_ipis(0, 0, "failed calls");
}

void ap_main(unsigned int id)
{
	ap_idle(id);
}

void test_main(const struct mb_info *mbi)
{
	set_irq_handler(IPI_VEC, on_ipi);
	CHECK_EQ(smp_start_aps() + 1, 2);
	hv_enable_hypercalls();
	apic_enable();
	page = alloc_zeroed(4096);
	out = alloc_zeroed(4096);
	test_rep_counts();
	test_block_edges();
	test_gpa_edges(mbi);
	test_vp_sets();
}
