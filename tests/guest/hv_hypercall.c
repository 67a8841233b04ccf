/*
 * The hypercall dispatcher: every input-value and parameter-block error
 * status, memory/fast/XMM-fast input and output, rep start index, partial
 * completion, continuation across exits, and calls that must #UD.
 */
#include "lib/hyperv.h"

#define NOTIFY_LONG_SPIN_WAIT	0x0008
#define GET_VP_INDEX_FROM_APIC	0x009A
#define VTL_CALL		0x0011

static uint8_t *in, *out;

struct vp_index_in {
	uint64_t partition_id;
	uint8_t target_vtl;
	uint8_t rsvd[7];
	uint32_t apic_ids[1000];
};

static uint64_t call(uint64_t control)
{
	return hv_hypercall(control, (uint64_t)in, (uint64_t)out);
}

static void test_input_value(void)
{
	/* Unknown code; reserved bits 27-31, 44-47, 60-63; rep rules; variable header on a fixed call. */
	CHECK_EQ(call(0x7777), HV_STATUS_INVALID_HYPERCALL_CODE);
	/* A TLFS call kvsm does not implement: the same status (and a one-time note from kvsm). */
	CHECK_EQ(call(0x0094), HV_STATUS_INVALID_HYPERCALL_CODE);	/* HvCallAssertVirtualInterrupt */
	CHECK_EQ(call(NOTIFY_LONG_SPIN_WAIT | (1ull << 27)), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(NOTIFY_LONG_SPIN_WAIT | (1ull << 31)), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(NOTIFY_LONG_SPIN_WAIT | (1ull << 44)), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(NOTIFY_LONG_SPIN_WAIT | (1ull << 63)), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(NOTIFY_LONG_SPIN_WAIT | HV_REP(1)), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(NOTIFY_LONG_SPIN_WAIT | HV_VARHEAD(1)), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(GET_VP_INDEX_FROM_APIC), HV_STATUS_INVALID_HYPERCALL_INPUT);	/* rep count 0 */
	CHECK_EQ(call(GET_VP_INDEX_FROM_APIC | HV_REP(2) | HV_REP_START(2)), HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(NOTIFY_LONG_SPIN_WAIT), HV_STATUS_SUCCESS);
	CHECK_EQ(hv_hypercall(NOTIFY_LONG_SPIN_WAIT | HV_FAST, 100, 0), HV_STATUS_SUCCESS);
}

static void test_blocks(void)
{
	struct vp_index_in *p = (void *)in;

	p->partition_id = ~0ull;
	p->target_vtl = 0;
	p->apic_ids[0] = 0;
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(1), (uint64_t)in + 4, (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);			/* input not 8-byte aligned */
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(1), (uint64_t)in, (uint64_t)out + 4),
		 HV_STATUS_INVALID_ALIGNMENT);			/* output not 8-byte aligned */
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(1), (uint64_t)in + 4088, (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);			/* input crosses a page */
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(3), (uint64_t)in, (uint64_t)out + 4088),
		 HV_STATUS_INVALID_ALIGNMENT);			/* output crosses a page */
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(1), (uint64_t)in, (uint64_t)in + 16),
		 HV_STATUS_INVALID_ALIGNMENT);			/* input and output overlap */
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(1), 1ull << guest_phys_bits(), (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);			/* beyond the GPA space (MAXPHYADDR) */
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(1), (1ull << guest_phys_bits()) - 4096, (uint64_t)out),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);		/* its last page: inside, but not RAM */
	CHECK_EQ(hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(1), 0xfee00000ull, (uint64_t)out),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);		/* not RAM */
}

static void test_reps(unsigned int cpus)
{
	struct vp_index_in *p = (void *)in;
	uint32_t *o = (uint32_t *)out;
	uint64_t r;

	p->partition_id = ~0ull;
	for (unsigned int i = 0; i < 1000; i++)
		p->apic_ids[i] = i % cpus;
	memset(out, 0xee, 4096);
	/* 1000 reps: more than one exit's budget, so kvsm continues the call transparently. */
	r = call(GET_VP_INDEX_FROM_APIC | HV_REP(1000));
	CHECK_EQ(HV_RESULT_STATUS(r), HV_STATUS_SUCCESS);
	CHECK_EQ(HV_RESULT_REPS(r), 1000);
	CHECK_EQ(o[0], 0);
	CHECK_EQ(o[999], 999 % cpus);
	/* Rep start index: elements before it are neither read nor written. */
	memset(out, 0xee, 4096);
	r = call(GET_VP_INDEX_FROM_APIC | HV_REP(10) | HV_REP_START(7));
	CHECK_EQ(r, 10ull << 32);
	CHECK_EQ(o[6], 0xeeeeeeee);
	CHECK_EQ(o[7], 7 % cpus);
	/* Failure at element 5: status and reps completed = 5; earlier outputs written. */
	p->apic_ids[5] = 4000;
	memset(out, 0xee, 4096);
	r = call(GET_VP_INDEX_FROM_APIC | HV_REP(10));
	CHECK_EQ(HV_RESULT_STATUS(r), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_REPS(r), 5);
	CHECK_EQ(o[4], 4 % cpus);
	p->apic_ids[5] = 5 % cpus;
	/* Bad partition. */
	p->partition_id = 1;
	CHECK_EQ(HV_RESULT_STATUS(call(GET_VP_INDEX_FROM_APIC | HV_REP(1))), HV_STATUS_INVALID_PARTITION_ID);
	p->partition_id = ~0ull;
}

static void test_xmm_fast(unsigned int cpus)
{
	uint32_t xin[24] = { 0 }, xout[24];
	uint64_t r;

	/* Header in RDX/R8 (partition, target VTL), 4 APIC IDs in XMM0: output starts in XMM1. */
	xin[0] = 0;
	xin[1] = cpus - 1;
	xin[2] = 0;
	xin[3] = cpus > 1 ? 1 : 0;
	memset(xout, 0, sizeof(xout));
	r = hv_hypercall_xmm(GET_VP_INDEX_FROM_APIC | HV_FAST | HV_REP(4), ~0ull, 0, xin, xout);
	CHECK_EQ(r, 4ull << 32);
	CHECK_EQ(xout[0], 0);				/* XMM0 (input) unchanged */
	CHECK_EQ(xout[1], cpus - 1);
	CHECK_EQ(xout[4], 0);				/* XMM1: the four VP indexes */
	CHECK_EQ(xout[5], cpus - 1);
	CHECK_EQ(xout[7], cpus > 1 ? 1 : 0);
	/* More input than XMM fast input can carry (112 bytes). */
	r = hv_hypercall_xmm(GET_VP_INDEX_FROM_APIC | HV_FAST | HV_REP(30), ~0ull, 0, xin, xout);
	CHECK_EQ(HV_RESULT_STATUS(r), HV_STATUS_INVALID_HYPERCALL_INPUT);
}

static void test_ud(void)
{
	/* VTL call with no higher VTL: #UD, no status. */
	hv_hypercall(VTL_CALL, 0, 0);
	CHECK(hv_hypercall_ud);
}

void test_main(const struct mb_info *mbi)
{
	unsigned int cpus = (unsigned int)cmdline_u64(mbi, "cpus", 1);

	in = alloc_zeroed(4096);
	out = alloc_zeroed(4096);
	hv_enable_hypercalls();
	test_input_value();
	test_blocks();
	test_reps(cpus);
	test_xmm_fast(cpus);
	test_ud();
}
