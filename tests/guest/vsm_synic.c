/*
 * Per-VTL Hyper-V state (run with --vtls 2 --testdev; spec 4.3, 5.1-5.5):
 * VTL1 has its own SynIC and synthetic timers: a VTL1 timer, in message and
 * in direct mode, preempts VTL0 spinning with interrupts disabled (entry
 * reason interrupt) and its message lands in VTL1's SIMP while VTL0's SynIC,
 * using the same SINT number, is untouched. Each VTL has its own reference
 * TSC page, both agreeing with TIME_REF_COUNT; HYPERCALL, GUEST_OS_ID and
 * VP_ASSIST_PAGE differ per VTL. hyperv-testdev connections target VTL0:
 * their messages, events and SINT assertions reach VTL0 only, even when the
 * message is posted from VTL1. Overlay pages are per VTL: VTL1's SIMP, SIEFP
 * and TSC page exist in VTL1 only (VTL0 reads them through copies VTL1
 * makes); at their GPAs VTL0 sees its own RAM and cannot forge VTL1's page.
 */
#include "lib/vsm.h"

#define SINT_MSG	2		/* the SINT both VTLs use for messages */
#define SINT_EVT	3
#define VTL0_MSG_VEC	0x52
#define VTL0_EVT_VEC	0x53
#define VTL1_MSG_VEC	0xe2
#define VTL1_DIRECT_VEC	0xe3
#define VTL1_EVT_VEC	0xe4
#define MSG_CONN	5
#define EVT_CONN	7
#define MS		10000ull	/* reference time units per millisecond */
#define WAIT_US		500000

struct ref_tsc_page {
	volatile uint32_t sequence, reserved;
	volatile uint64_t scale;
	volatile int64_t offset;
};

static struct hv_message *simp[2];
static uint8_t *siefp[2];
static struct ref_tsc_page *tsc_page[2];
static uint8_t *vtl0_assist;
static volatile unsigned int irqs[2][256];	/* per VTL the interrupt arrived in, per vector */
static volatile uint64_t seen[32];
static volatile uint64_t timer_exp;
/* VTL1's overlay pages as VTL1 saw them at its last vtl1_snapshot(). */
static struct hv_message vtl1_simp_copy[16];
static uint8_t vtl1_siefp_copy[4096];
static struct ref_tsc_page vtl1_tsc_copy;

static void count_irq(struct irq_frame *f)
{
	irqs[vsm_current_vtl()][f->vector]++;
	apic_eoi();
}

static bool page_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Reference time from a TSC page and this VTL's TSC, between two TIME_REF_COUNT reads. */
static void ref_time_check(const struct ref_tsc_page *pg, volatile uint64_t out[4])
{
	uint64_t before = hv_ref_time(), tsc = rdtsc();
	uint64_t t = (uint64_t)((int64_t)(((unsigned __int128)tsc * pg->scale) >> 64) + pg->offset);

	out[0] = before;
	out[1] = t;
	out[2] = hv_ref_time();
	out[3] = pg->sequence;
}

/* Spin in VTL0 with interrupts off until VTL1 took irq (only a VTL1 interrupt gets through), or 200 ms. */
static void spin_until_vtl1_irq(uint8_t vec, unsigned int want)
{
	uint64_t end = hv_ref_time() + 200 * MS;

	cli();
	while (irqs[1][vec] < want && hv_ref_time() < end)
		pause();
}

/* ---- VTL1 ---- */

static void vtl1_snapshot(void)
{
	memcpy(vtl1_simp_copy, simp[1], sizeof(vtl1_simp_copy));
	memcpy(vtl1_siefp_copy, siefp[1], sizeof(vtl1_siefp_copy));
	memcpy(&vtl1_tsc_copy, (const void *)tsc_page[1], sizeof(vtl1_tsc_copy));
}

static void vtl1_setup(void)
{
	apic_enable();
	hv_synic_enable(simp[1], siefp[1]);
	wrmsr(HV_X64_MSR_SINT(SINT_MSG), VTL1_MSG_VEC);
	wrmsr(HV_X64_MSR_SINT(SINT_EVT), VTL1_EVT_VEC);
	wrmsr(HV_X64_MSR_REFERENCE_TSC, (uint64_t)tsc_page[1] | 1);
	seen[0] = rdmsr(HV_X64_MSR_SIMP);
	seen[1] = rdmsr(HV_X64_MSR_SIEFP);
	seen[2] = rdmsr(HV_X64_MSR_SINT(SINT_MSG));
	seen[3] = rdmsr(HV_X64_MSR_REFERENCE_TSC);
	seen[4] = rdmsr(HV_X64_MSR_HYPERCALL);
	seen[5] = rdmsr(HV_X64_MSR_GUEST_OS_ID);
	seen[6] = rdmsr(HV_X64_MSR_VP_ASSIST_PAGE);
	seen[7] = rdmsr(HV_X64_MSR_SCONTROL);
}

/* VTL1 reads VTL0's per-VTL registers by name. */
static void vtl1_read_vtl0(void)
{
	static const uint32_t names[] = { 0x90001, 0x90002, 0x90013, 0x90017, 0xA0013, 0xA0012,
					  0xA0000 + SINT_MSG, 0xB0000 };
	uint64_t v = 0;

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		seen[16 + i] = vsm_get_reg(~1u, HV_INPUT_VTL(0), names[i], &v) == 1ull << 32 ? v : 0xbad;
	}
}

static void vtl1_arm_message_timer(void)
{
	timer_exp = hv_ref_time() + 20 * MS;	/* far enough for VTL1 to have returned, even emulated */
	wrmsr(HV_X64_MSR_STIMER_CONFIG(0), 0);
	wrmsr(HV_X64_MSR_STIMER_COUNT(0), timer_exp);
	wrmsr(HV_X64_MSR_STIMER_CONFIG(0), HV_STIMER_ENABLE | HV_STIMER_CONFIG_SINT(SINT_MSG));
}

static void vtl1_arm_direct_timer(void)
{
	wrmsr(HV_X64_MSR_STIMER_CONFIG(1), 0);
	wrmsr(HV_X64_MSR_STIMER_COUNT(1), hv_ref_time() + 20 * MS);
	wrmsr(HV_X64_MSR_STIMER_CONFIG(1), HV_STIMER_ENABLE | HV_STIMER_DIRECT | HV_STIMER_VECTOR(VTL1_DIRECT_VEC));
}

static void vtl1_after_timers(void)
{
	seen[8] = rdmsr(HV_X64_MSR_STIMER_CONFIG(0));
	seen[9] = rdmsr(HV_X64_MSR_STIMER_CONFIG(1));
	hv_message_free(&simp[1][SINT_MSG]);
}

static void vtl1_ref_time(void)
{
	ref_time_check(tsc_page[1], &seen[10]);
}

static void vtl1_post_to_vtl0(void)
{
	struct hv_post_message_input *in = alloc_zeroed(4096);

	in->connection_id = MSG_CONN;
	in->message_type = 0x2222;
	in->payload_size = 8;
	*(uint64_t *)in->payload = 0x1111;
	seen[14] = hv_hypercall(HVCALL_POST_MESSAGE, (uint64_t)in, 0);
	seen[15] = hv_hypercall(HVCALL_SIGNAL_EVENT | HV_FAST, EVT_CONN, 0);
}

/* ---- VTL0 ---- */

static void test_setup(void)
{
	for (int v = 0; v < 2; v++) {
		simp[v] = alloc_zeroed(4096);
		siefp[v] = alloc_zeroed(4096);
		tsc_page[v] = alloc_zeroed(4096);
	}
	vtl0_assist = alloc_zeroed(4096);
	hv_synic_enable(simp[0], siefp[0]);
	wrmsr(HV_X64_MSR_SINT(SINT_MSG), VTL0_MSG_VEC);
	wrmsr(HV_X64_MSR_SINT(SINT_EVT), VTL0_EVT_VEC);
	wrmsr(HV_X64_MSR_REFERENCE_TSC, (uint64_t)tsc_page[0] | 1);
	wrmsr(HV_X64_MSR_VP_ASSIST_PAGE, (uint64_t)vtl0_assist | 1);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_setup, 0, 0);

	/* VTL1's view of its own MSRs. */
	CHECK_EQ(seen[0], (uint64_t)simp[1] | 1);
	CHECK_EQ(seen[1], (uint64_t)siefp[1] | 1);
	CHECK_EQ(seen[2], VTL1_MSG_VEC);
	CHECK_EQ(seen[3], (uint64_t)tsc_page[1] | 1);
	CHECK_EQ(seen[4], (uint64_t)vtl1_hypercall_page | 1);
	CHECK_EQ(seen[5], HV_GUEST_OS_ID_KVSM_TESTS + 1);
	CHECK_EQ(seen[6], (uint64_t)vtl1_vps[0].assist | 1);
	CHECK_EQ(seen[7], 1);
	/* VTL0's, unchanged by VTL1's writes. */
	CHECK_EQ(rdmsr(HV_X64_MSR_SIMP), (uint64_t)simp[0] | 1);
	CHECK_EQ(rdmsr(HV_X64_MSR_SIEFP), (uint64_t)siefp[0] | 1);
	CHECK_EQ(rdmsr(HV_X64_MSR_SINT(SINT_MSG)), VTL0_MSG_VEC);
	CHECK_EQ(rdmsr(HV_X64_MSR_REFERENCE_TSC), (uint64_t)tsc_page[0] | 1);
	CHECK_EQ(rdmsr(HV_X64_MSR_HYPERCALL), (uint64_t)hv_hypercall_page | 1);
	CHECK_EQ(rdmsr(HV_X64_MSR_GUEST_OS_ID), HV_GUEST_OS_ID_KVSM_TESTS);
	CHECK_EQ(rdmsr(HV_X64_MSR_VP_ASSIST_PAGE), (uint64_t)vtl0_assist | 1);
	/* And VTL1 reads VTL0's instances by name. */
	vsm_call(vtl1_read_vtl0, 0, 0);
	CHECK_EQ(seen[16], (uint64_t)hv_hypercall_page | 1);
	CHECK_EQ(seen[17], HV_GUEST_OS_ID_KVSM_TESTS);
	CHECK_EQ(seen[18], (uint64_t)vtl0_assist | 1);
	CHECK_EQ(seen[19], (uint64_t)tsc_page[0] | 1);
	CHECK_EQ(seen[20], (uint64_t)simp[0] | 1);
	CHECK_EQ(seen[21], (uint64_t)siefp[0] | 1);
	CHECK_EQ(seen[22], VTL0_MSG_VEC);
	CHECK_EQ(seen[23], 0);					/* VTL0's STIMER0_CONFIG */
}

static void test_vtl1_timers(void)
{
	const struct hv_timer_payload *pl = (const void *)vtl1_simp_copy[SINT_MSG].payload;

	/* Message mode: the expiry message goes to VTL1's SIMP slot 2 and VTL1's SINT2 vector. */
	vsm_call(vtl1_arm_message_timer, 0, 0);
	spin_until_vtl1_irq(VTL1_MSG_VEC, 1);
	CHECK_EQ(irqs[1][VTL1_MSG_VEC], 1);
	CHECK_EQ(vtl1_vps[0].last_entry_reason, 2);		/* interrupt: VTL0 was preempted */
	/* At the GPA of VTL1's SIMP, VTL0 sees its own RAM; what it writes there does not reach VTL1. */
	CHECK(page_zero(simp[1], 4096));
	simp[1][SINT_MSG].message_type = 0x666;
	vsm_call(vtl1_snapshot, 0, 0);
	simp[1][SINT_MSG].message_type = 0;
	CHECK_EQ(vtl1_simp_copy[SINT_MSG].message_type, HVMSG_TIMER_EXPIRED);
	CHECK_EQ(vtl1_simp_copy[SINT_MSG].payload_size, 24);
	CHECK_EQ(pl->timer_index, 0);
	CHECK_EQ(pl->expiration_time, timer_exp);
	CHECK(pl->delivery_time >= timer_exp);
	CHECK(page_zero(simp[0], 4096));			/* VTL0's SIMP: nothing, not even slot 2 */
	CHECK_EQ(irqs[0][VTL0_MSG_VEC], 0);
	CHECK_EQ(irqs[1][VTL0_MSG_VEC], 0);

	/* Direct mode: a plain vector in VTL1's APIC, no message. */
	vsm_call(vtl1_arm_direct_timer, 0, 0);
	spin_until_vtl1_irq(VTL1_DIRECT_VEC, 1);
	CHECK_EQ(irqs[1][VTL1_DIRECT_VEC], 1);
	CHECK_EQ(irqs[0][VTL1_DIRECT_VEC], 0);
	CHECK_EQ(vtl1_vps[0].last_entry_reason, 2);
	sti();

	vsm_call(vtl1_after_timers, 0, 0);
	CHECK_EQ(seen[8], HV_STIMER_CONFIG_SINT(SINT_MSG));		/* one-shot: Enabled cleared by the expiry */
	CHECK_EQ(seen[9], HV_STIMER_DIRECT | HV_STIMER_VECTOR(VTL1_DIRECT_VEC));
	CHECK_EQ(rdmsr(HV_X64_MSR_STIMER_CONFIG(0)), 0);	/* VTL0's timers are separate */
	CHECK_EQ(rdmsr(HV_X64_MSR_STIMER_CONFIG(1)), 0);
	CHECK(page_zero(simp[0], 4096));
	CHECK(page_zero(siefp[0], 4096));
	CHECK_EQ(irqs[0][VTL0_MSG_VEC], 0);
}

static void test_reference_tsc(void)
{
	volatile uint64_t r0[4];

	/* Each VTL's page, read with that VTL's TSC, lies between two TIME_REF_COUNT reads. */
	ref_time_check(tsc_page[0], r0);
	check(r0[0] <= r0[1] && r0[1] <= r0[2], "VTL0 TSC page time %llu within [%llu, %llu]",
	      (unsigned long long)r0[1], (unsigned long long)r0[0], (unsigned long long)r0[2]);
	CHECK_EQ(r0[3], 1);
	vsm_call(vtl1_ref_time, 0, 0);
	check(seen[10] <= seen[11] && seen[11] <= seen[12], "VTL1 TSC page time %llu within [%llu, %llu]",
	      (unsigned long long)seen[11], (unsigned long long)seen[10], (unsigned long long)seen[12]);
	CHECK_EQ(seen[13], 1);
	/* Two pages at two GPAs, the same partition-wide scale and offset. */
	CHECK(tsc_page[0] != tsc_page[1]);
	vsm_call(vtl1_snapshot, 0, 0);
	CHECK_EQ(vtl1_tsc_copy.scale, tsc_page[0]->scale);
	CHECK_EQ(vtl1_tsc_copy.offset, tsc_page[0]->offset);
	CHECK(tsc_page[0]->scale != 0);
}

static void test_testdev_targets_vtl0(void)
{
	struct hv_post_message_input *in = alloc_zeroed(4096);
	const struct hv_timer_payload *pl = (const void *)vtl1_simp_copy[SINT_MSG].payload;
	unsigned int vtl1_before = irqs[1][VTL1_MSG_VEC] + irqs[1][VTL1_EVT_VEC];

	hv_testdev(MSG_CONN, TD_MSG_CONN_CREATE, 0, SINT_MSG);
	hv_testdev(EVT_CONN, TD_EVT_CONN_CREATE, 0, SINT_EVT);
	hv_testdev(0, TD_ROUTE_CREATE, 0, SINT_EVT);

	/* A message posted by VTL0 on a VTL0 connection. */
	in->connection_id = MSG_CONN;
	in->message_type = 0x1234;
	in->payload_size = 8;
	*(uint64_t *)in->payload = 0xabcd;
	CHECK_EQ(hv_hypercall(HVCALL_POST_MESSAGE, (uint64_t)in, 0), 0);
	check(WAIT_UNTIL(irqs[0][VTL0_MSG_VEC] == 1, WAIT_US), "VTL0 SINT%u interrupt (%u)", SINT_MSG,
	      irqs[0][VTL0_MSG_VEC]);
	CHECK_EQ(simp[0][SINT_MSG].message_type, 0x1234);
	CHECK_EQ(*(uint64_t *)simp[0][SINT_MSG].payload, 0xabcd);
	hv_message_free(&simp[0][SINT_MSG]);

	/* An event flag, signalled by VTL0. */
	CHECK_EQ(hv_hypercall(HVCALL_SIGNAL_EVENT | HV_FAST, EVT_CONN, 0), 0);
	check(WAIT_UNTIL(irqs[0][VTL0_EVT_VEC] == 1, WAIT_US), "VTL0 SINT%u interrupt (%u)", SINT_EVT,
	      irqs[0][VTL0_EVT_VEC]);
	CHECK_EQ(siefp[0][SINT_EVT * 256 + EVT_CONN / 8], 1u << (EVT_CONN % 8));
	siefp[0][SINT_EVT * 256 + EVT_CONN / 8] = 0;

	/* Posted and signalled from VTL1: still VTL0's SynIC, the connection's VTL (spec 3.12). */
	vsm_call(vtl1_post_to_vtl0, 0, 0);
	CHECK_EQ(seen[14], 0);
	CHECK_EQ(seen[15], 0);
	check(WAIT_UNTIL(irqs[0][VTL0_MSG_VEC] == 2 && irqs[0][VTL0_EVT_VEC] == 2, WAIT_US),
	      "VTL0 interrupts after VTL1 posted (%u, %u)", irqs[0][VTL0_MSG_VEC], irqs[0][VTL0_EVT_VEC]);
	CHECK_EQ(simp[0][SINT_MSG].message_type, 0x2222);
	CHECK_EQ(*(uint64_t *)simp[0][SINT_MSG].payload, 0x1111);
	CHECK_EQ(siefp[0][SINT_EVT * 256 + EVT_CONN / 8], 1u << (EVT_CONN % 8));
	hv_message_free(&simp[0][SINT_MSG]);

	/* The testdev's SINT assertion. */
	hv_testdev(0, TD_ROUTE_ASSERT, 0, SINT_EVT);
	check(WAIT_UNTIL(irqs[0][VTL0_EVT_VEC] == 3, WAIT_US), "VTL0 SINT%u asserted (%u)", SINT_EVT,
	      irqs[0][VTL0_EVT_VEC]);

	/* Nothing of it reached VTL1, whose SINT2 and SINT3 are enabled too (slot 2 held the freed timer message). */
	vsm_call(vtl1_snapshot, 0, 0);
	for (unsigned int i = 0; i < 16; i++)
		check(vtl1_simp_copy[i].message_type == 0, "VTL1 SIMP slot %u empty (type 0x%x)", i,
		      vtl1_simp_copy[i].message_type);
	CHECK_EQ(pl->expiration_time, timer_exp);		/* the old timer payload, not overwritten */
	CHECK(page_zero(vtl1_siefp_copy, 4096));
	CHECK_EQ(irqs[1][VTL1_MSG_VEC] + irqs[1][VTL1_EVT_VEC], vtl1_before);
	CHECK_EQ(irqs[1][VTL0_MSG_VEC] + irqs[1][VTL0_EVT_VEC], 0);
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	apic_enable();
	set_irq_handler(VTL0_MSG_VEC, count_irq);
	set_irq_handler(VTL0_EVT_VEC, count_irq);
	set_irq_handler(VTL1_MSG_VEC, count_irq);
	set_irq_handler(VTL1_DIRECT_VEC, count_irq);
	set_irq_handler(VTL1_EVT_VEC, count_irq);
	test_setup();
	test_vtl1_timers();
	test_reference_tsc();
	test_testdev_targets_vtl0();
}
