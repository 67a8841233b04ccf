/*
 * SynIC messages and event flags between VPs (TLFS 11; spec 3.12, 5.1-5.3),
 * through connections that kvsm's hyperv-testdev creates (run with
 * --testdev). Every VP enables its SynIC with its own SIMP and SIEFP pages
 * and plain (not AutoEOI) SINT vectors; each VP posts to, and signals,
 * another VP, and the test checks the slot or flag bytes, the interrupt and
 * the CPU that took it, the MessagePending/EOM protocol with its 16 queued
 * buffers, and every error status.
 *
 * Interrupts are only taken inside waits (sti; hlt), so the counts are
 * stable whenever the test looks at them; want_irqs[][] says what they
 * must be, and check_irqs() compares the whole CPU x SINT matrix, so an
 * interrupt on the wrong CPU or SINT shows.
 */
#include "lib/hyperv.h"

#define MSG_SINT	2	/* message connection MSG_CONN(v) -> (VP v, SINT2) */
#define EVT_SINT	3	/* event connection EVT_CONN(v) -> (VP v, SINT3) */
#define MASKED_SINT	4	/* masked on every VP; MASKED_*_CONN -> (VP 1, SINT4) */
#define ROUTE_SINT	5	/* testdev SINT route (v, SINT5) for the assert command */
#define SINT_VEC(s)	(0x50 + (s))
#define MSG_CONN(v)	(0x10 + (v))
#define EVT_CONN(v)	(0x20 + (v))
#define MASKED_MSG_CONN	0x30
#define MASKED_EVT_CONN	0x31
#define UNKNOWN_CONN	0x7f
#define WAIT_US		100000	/* for an interrupt that must come */
#define QUIET_US	2000	/* for one that must not */

static unsigned int ncpus;
static struct hv_message *simp[MAX_CPUS];
static uint8_t *siefp[MAX_CPUS];
static struct hv_post_message_input *post_in[MAX_CPUS];
static volatile unsigned int irqs[MAX_CPUS][16];
static unsigned int want_irqs[MAX_CPUS][16];

static void sint_irq(struct irq_frame *f)
{
	irqs[apic_id()][f->vector - SINT_VEC(0)]++;
	apic_eoi();	/* normal EOI: no SINT uses AutoEOI here */
}

/* Expect one more interrupt of SINT sint on VP vp and wait for it. */
static void expect_irq(unsigned int vp, unsigned int sint, const char *what)
{
	want_irqs[vp][sint]++;
	check(WAIT_UNTIL(irqs[vp][sint] == want_irqs[vp][sint], WAIT_US), "%s: SINT%u interrupt on VP%u", what,
	      sint, vp);
}

/* After a quiet period, every CPU's SINT interrupt counts are exactly as expected. */
static void check_irqs(const char *what)
{
	unsigned int bad = 0;

	delay_us(QUIET_US);
	for (unsigned int c = 0; c < ncpus; c++)
		for (unsigned int s = 0; s < 16; s++)
			if (irqs[c][s] != want_irqs[c][s]) {
				printf("  VP%u SINT%u: %u interrupts, expected %u\n", c, s, irqs[c][s], want_irqs[c][s]);
				bad++;
			}
	check(!bad, "%s: SINT interrupts on the right VPs only", what);
}

static bool page_zero(const void *p)
{
	const uint64_t *q = p;

	for (unsigned int i = 0; i < 512; i++)
		if (q[i])
			return false;
	return true;
}

static uint8_t pattern(uint8_t seed, unsigned int i)
{
	return (uint8_t)(seed + i * 7);
}

/*
 * A received slot, exactly: kvsm re-posts the guest's message with flags as
 * the protocol says, OriginationId 0, the payload, and zeros after it.
 */
static void check_msg(const struct hv_message *m, uint32_t type, uint32_t size, uint8_t seed, uint8_t flags,
		      const char *what)
{
	unsigned int bad_at = 240;

	for (unsigned int i = 0; i < 240 && bad_at == 240; i++)
		if (m->payload[i] != (i < size ? pattern(seed, i) : 0))
			bad_at = i;
	check(m->message_type == type && m->payload_size == size && m->message_flags == flags && !m->reserved &&
	      !m->origination_id && bad_at == 240,
	      "%s: type 0x%x size %u flags %u rsvd %u orig 0x%llx payload %s (want 0x%x %u %u 0 0)", what, m->message_type,
	      m->payload_size, m->message_flags, m->reserved, (unsigned long long)m->origination_id,
	      bad_at == 240 ? "ok" : "differs", type, size, flags);
}

/* ---- work run on a given VP through on_cpu() ---- */

static void setup_vp(void *arg)
{
	unsigned int me = apic_id();

	CHECK_EQ(rdmsr(HV_X64_MSR_VP_INDEX), me);
	simp[me] = alloc_pages(1);
	siefp[me] = alloc_pages(1);
	post_in[me] = alloc_zeroed(4096);
	/* Garbage first: the SIMP and SIEFP overlays must start out zeroed. */
	memset(simp[me], 0xa5, 4096);
	memset(siefp[me], 0xa5, 4096);
	hv_synic_enable(simp[me], siefp[me]);
	check(page_zero(simp[me]) && page_zero(siefp[me]), "VP%u: SIMP and SIEFP pages zeroed when enabled", me);
	for (unsigned int s = MSG_SINT; s <= ROUTE_SINT; s++)
		wrmsr(HV_X64_MSR_SINT(s), SINT_VEC(s) | (s == MASKED_SINT ? HV_SINT_MASKED : 0));
	CHECK_EQ(rdmsr(HV_X64_MSR_SINT(MSG_SINT)), SINT_VEC(MSG_SINT));
	CHECK_EQ(rdmsr(HV_X64_MSR_SCONTROL), 1);
}

static uint64_t post(uint32_t conn, uint32_t type, uint32_t size, uint8_t seed)
{
	struct hv_post_message_input *in = post_in[apic_id()];

	in->connection_id = conn;
	in->reserved = 0;
	in->message_type = type;
	in->payload_size = size;
	memset(in->payload, 0xee, 240);		/* bytes past PayloadSize must not be copied */
	for (unsigned int i = 0; i < size && i < 240; i++)
		in->payload[i] = pattern(seed, i);
	return hv_hypercall(HVCALL_POST_MESSAGE, (uint64_t)in, 0);
}

/* n messages from the VP that runs it: types type + k, seeds seed + k. */
struct post_job {
	uint32_t conn, type, size;
	uint8_t seed;
	unsigned int n;
	uint64_t st[20];
};

static void do_posts(void *arg)
{
	struct post_job *j = arg;

	for (unsigned int k = 0; k < j->n; k++)
		j->st[k] = post(j->conn, j->type + k, j->size, (uint8_t)(j->seed + k));
}

static uint64_t signal_event(uint32_t conn, uint16_t flag)
{
	return hv_hypercall(HVCALL_SIGNAL_EVENT | HV_FAST, conn | (uint64_t)flag << 32, 0);
}

struct signal_job {
	uint32_t conn;
	uint64_t st;
};

static void do_signal(void *arg)
{
	struct signal_job *j = arg;

	j->st = signal_event(j->conn, 0);
}

/* The guest side of the message protocol: copy, free the slot, EOM if a message is pending. */
static struct hv_message seen;
static volatile bool seen_pending;

static void consume(void *arg)
{
	struct hv_message *m = &simp[apic_id()][(uint64_t)arg];

	memcpy(&seen, m, sizeof(seen));
	__atomic_store_n(&m->message_type, 0, __ATOMIC_SEQ_CST);	/* full barrier before reading the flags */
	seen_pending = __atomic_load_n(&m->message_flags, __ATOMIC_SEQ_CST) & HV_MESSAGE_FLAG_PENDING;
	if (seen_pending)
		wrmsr(HV_X64_MSR_EOM, 0);
}

struct msr_job {
	uint32_t msr;
	uint64_t val;
};

static void do_wrmsr(void *arg)
{
	struct msr_job *j = arg;

	wrmsr(j->msr, j->val);
}

static void wrmsr_on(unsigned int vp, uint32_t msr, uint64_t val)
{
	struct msr_job j = { msr, val };

	on_cpu(vp, do_wrmsr, &j);
}

/* ---- the tests ---- */

/* Every VP posts to the next one; the target takes the interrupt and reads the slot. */
static void test_messages(void)
{
	static const uint32_t sizes[4] = { 240, 1, 0, 100 };

	for (unsigned int i = 0; i < ncpus; i++) {
		unsigned int t = (i + 1) % ncpus;
		struct post_job j = { MSG_CONN(t), 0x100 + i, sizes[i % 4], (uint8_t)(0x40 + i), 1, { 0 } };

		char what[40];

		snprintf(what, sizeof(what), "post VP%u->VP%u", i, t);
		on_cpu(i, do_posts, &j);
		CHECK_EQ(j.st[0], HV_STATUS_SUCCESS);
		expect_irq(t, MSG_SINT, what);
		on_cpu(t, consume, (void *)MSG_SINT);
		check_msg(&seen, 0x100 + i, sizes[i % 4], (uint8_t)(0x40 + i), 0, "slot after post");
		CHECK(!seen_pending);
	}
	check_irqs("messages");
}

/* A busy slot: further messages queue (SUCCESS, MessagePending) and come out one per EOM, in order. */
static void test_eom_protocol(void)
{
	struct hv_message *slot = &simp[0][MSG_SINT];
	struct post_job j = { MSG_CONN(0), 0x201, 8, 0x10, 3, { 0 } };

	on_cpu(1, do_posts, &j);
	CHECK_EQ(j.st[0], HV_STATUS_SUCCESS);
	CHECK_EQ(j.st[1], HV_STATUS_SUCCESS);
	CHECK_EQ(j.st[2], HV_STATUS_SUCCESS);
	expect_irq(0, MSG_SINT, "first message");
	check_irqs("queued messages raise nothing");
	check_msg(slot, 0x201, 8, 0x10, HV_MESSAGE_FLAG_PENDING, "busy slot");

	consume((void *)MSG_SINT);				/* EOM: the second appears */
	CHECK(seen_pending);
	expect_irq(0, MSG_SINT, "after EOM");
	check_msg(slot, 0x202, 8, 0x11, HV_MESSAGE_FLAG_PENDING, "second message (third still queued)");

	consume((void *)MSG_SINT);
	expect_irq(0, MSG_SINT, "after second EOM");
	check_msg(slot, 0x203, 8, 0x12, 0, "third message (queue empty)");

	consume((void *)MSG_SINT);
	CHECK(!seen_pending);
	wrmsr(HV_X64_MSR_EOM, 0);				/* nothing queued: a no-op */
	CHECK_EQ(slot->message_type, 0);
	check_irqs("EOM protocol");
}

/* One message in the slot plus 16 queued; the 18th is refused. Drained in order. */
static void test_queue_full(void)
{
	struct hv_message *slot = &simp[0][MSG_SINT];
	struct post_job j = { MSG_CONN(0), 0x300, 4, 0, 18, { 0 } };
	unsigned int ok = 0;

	on_cpu(1, do_posts, &j);
	for (unsigned int k = 0; k < 17; k++)
		ok += j.st[k] == HV_STATUS_SUCCESS;
	CHECK_EQ(ok, 17);
	CHECK_EQ(j.st[17], HV_STATUS_INSUFFICIENT_BUFFERS);
	for (unsigned int k = 0; k < 17; k++) {
		char what[40];

		snprintf(what, sizeof(what), "queued message %u", k);
		expect_irq(0, MSG_SINT, what);
		check_msg(slot, 0x300 + k, 4, (uint8_t)k, k < 16 ? HV_MESSAGE_FLAG_PENDING : 0, what);
		consume((void *)MSG_SINT);
	}
	CHECK_EQ(slot->message_type, 0);			/* the refused one never shows up */
	check_irqs("queue drained");
}

static void test_post_errors(void)
{
	struct hv_post_message_input *in = post_in[0];
	struct hv_message *slot = &simp[1][MSG_SINT];

	CHECK_EQ(post(UNKNOWN_CONN, 1, 8, 0), HV_STATUS_INVALID_CONNECTION_ID);
	CHECK_EQ(post(EVT_CONN(1), 1, 8, 0), HV_STATUS_INVALID_PORT_ID);	/* not a message connection */
	CHECK_EQ(post(MSG_CONN(1), 0, 8, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(post(MSG_CONN(1), 0x80000000u, 8, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(post(MSG_CONN(1), HVMSG_TIMER_EXPIRED, 8, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(post(MSG_CONN(1), 1, 241, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(post(MSG_CONN(1) | 1u << 24, 1, 8, 0), HV_STATUS_INVALID_CONNECTION_ID);	/* id looked up whole */
	CHECK_EQ(post(MSG_CONN(1), 1, 8, 0), HV_STATUS_SUCCESS);	/* the same input, now valid */
	expect_irq(1, MSG_SINT, "valid post between the errors");
	on_cpu(1, consume, (void *)MSG_SINT);
	check_msg(&seen, 1, 8, 0, 0, "valid post between the errors");
	in->reserved = 0xa5a5a5a5;	/* padding: ignored, as OpenVMM does */
	CHECK_EQ(hv_hypercall(HVCALL_POST_MESSAGE, (uint64_t)in, 0), HV_STATUS_SUCCESS);
	expect_irq(1, MSG_SINT, "post with garbage padding");
	on_cpu(1, consume, (void *)MSG_SINT);
	check_msg(&seen, 1, 8, 0, 0, "post with garbage padding");
	in->reserved = 0;
	/* 256 bytes of input cannot be passed in registers. */
	CHECK_EQ(hv_hypercall(HVCALL_POST_MESSAGE | HV_FAST, MSG_CONN(1), 0), HV_STATUS_INVALID_HYPERCALL_INPUT);

	/* Target SynIC disabled, then its SIMP. */
	wrmsr_on(1, HV_X64_MSR_SCONTROL, 0);
	CHECK_EQ(post(MSG_CONN(1), 1, 8, 0), HV_STATUS_INVALID_SYNIC_STATE);
	wrmsr_on(1, HV_X64_MSR_SCONTROL, 1);
	wrmsr_on(1, HV_X64_MSR_SIMP, (uint64_t)simp[1]);
	CHECK_EQ(post(MSG_CONN(1), 1, 8, 0), HV_STATUS_INVALID_SYNIC_STATE);
	wrmsr_on(1, HV_X64_MSR_SIMP, (uint64_t)simp[1] | 1);
	CHECK_EQ(slot->message_type, 0);

	/* A destroyed connection is unknown; re-created, it works again. */
	hv_testdev(MSG_CONN(1), TD_MSG_CONN_DESTROY, 0, 0);
	CHECK_EQ(post(MSG_CONN(1), 1, 8, 0), HV_STATUS_INVALID_CONNECTION_ID);
	hv_testdev(MSG_CONN(1), TD_MSG_CONN_CREATE, 1, MSG_SINT);
	CHECK_EQ(post(MSG_CONN(1), 0x7fffffff, 16, 3), HV_STATUS_SUCCESS);
	expect_irq(1, MSG_SINT, "post after the errors");
	on_cpu(1, consume, (void *)MSG_SINT);
	check_msg(&seen, 0x7fffffff, 16, 3, 0, "post after the errors");
	check_irqs("post errors");
}

/* A masked SINT gets the message but no interrupt; EOM still drains its queue. */
static void test_masked(void)
{
	struct hv_message *slot = &simp[1][MASKED_SINT];

	CHECK_EQ(post(MASKED_MSG_CONN, 0x400, 32, 0x20), HV_STATUS_SUCCESS);
	check_msg(slot, 0x400, 32, 0x20, 0, "masked SINT slot");
	CHECK_EQ(post(MASKED_MSG_CONN, 0x401, 32, 0x21), HV_STATUS_SUCCESS);
	CHECK_EQ(slot->message_flags, HV_MESSAGE_FLAG_PENDING);
	on_cpu(1, consume, (void *)MASKED_SINT);
	CHECK(seen_pending);
	check_msg(slot, 0x401, 32, 0x21, 0, "masked SINT slot after EOM");
	on_cpu(1, consume, (void *)MASKED_SINT);
	check_irqs("masked SINT");
}

/* The SIEF slot of SINT sint on vp: testdev event connections set flag conn_id (FlagNumber 0 only). */
static uint64_t *sief_slot(unsigned int vp, unsigned int sint)
{
	return (uint64_t *)(siefp[vp] + sint * 256);
}

static bool sief_only(unsigned int vp, unsigned int sint, unsigned int flag)
{
	const uint64_t *q = sief_slot(vp, sint);

	for (unsigned int w = 0; w < 32; w++)
		if (q[w] != (w == flag / 64 ? 1ull << (flag % 64) : 0))
			return false;
	return true;
}

static void clear_flag(unsigned int vp, unsigned int sint, unsigned int flag)
{
	__atomic_and_fetch(&sief_slot(vp, sint)[flag / 64], ~(1ull << (flag % 64)), __ATOMIC_SEQ_CST);
}

static void test_events(void)
{
	for (unsigned int i = 0; i < ncpus; i++) {
		unsigned int t = (i + 1) % ncpus;
		struct signal_job j = { EVT_CONN(t), ~0ull };

		on_cpu(i, do_signal, &j);
		CHECK_EQ(j.st, HV_STATUS_SUCCESS);
		expect_irq(t, EVT_SINT, "SignalEvent");
		check(sief_only(t, EVT_SINT, EVT_CONN(t)), "VP%u SIEF slot %u holds flag 0x%x only: 0x%llx", t,
		      EVT_SINT, EVT_CONN(t), (unsigned long long)sief_slot(t, EVT_SINT)[0]);
		/* Already set: SUCCESS, but no 0 -> 1 transition, so no interrupt. */
		on_cpu(i, do_signal, &j);
		CHECK_EQ(j.st, HV_STATUS_SUCCESS);
		check_irqs("SignalEvent on a set flag");
		/* Cleared by the guest: the next signal interrupts again. */
		clear_flag(t, EVT_SINT, EVT_CONN(t));
		on_cpu(i, do_signal, &j);
		CHECK_EQ(j.st, HV_STATUS_SUCCESS);
		expect_irq(t, EVT_SINT, "SignalEvent after clearing");
		clear_flag(t, EVT_SINT, EVT_CONN(t));
	}

	/* Errors (VP0 -> VP1); none may set a flag. */
	CHECK_EQ(signal_event(EVT_CONN(1), 1), HV_STATUS_INVALID_PARAMETER);	/* one-flag connection */
	CHECK_EQ(signal_event(UNKNOWN_CONN, 0), HV_STATUS_INVALID_CONNECTION_ID);
	CHECK_EQ(signal_event(MSG_CONN(1), 0), HV_STATUS_INVALID_PORT_ID);	/* a message connection */
	CHECK_EQ(signal_event(EVT_CONN(1) | 1u << 24, 0), HV_STATUS_INVALID_CONNECTION_ID);
	CHECK_EQ(signal_event(MASKED_EVT_CONN, 0), HV_STATUS_INVALID_SYNIC_STATE);
	wrmsr_on(1, HV_X64_MSR_SIEFP, (uint64_t)siefp[1]);
	CHECK_EQ(signal_event(EVT_CONN(1), 0), HV_STATUS_INVALID_SYNIC_STATE);
	wrmsr_on(1, HV_X64_MSR_SIEFP, (uint64_t)siefp[1] | 1);
	wrmsr_on(1, HV_X64_MSR_SCONTROL, 0);
	CHECK_EQ(signal_event(EVT_CONN(1), 0), HV_STATUS_INVALID_SYNIC_STATE);
	wrmsr_on(1, HV_X64_MSR_SCONTROL, 1);
	CHECK(page_zero(siefp[1]));

	/* The memory form: input {ConnectionId, FlagNumber, padding} in a page; the padding is ignored. */
	uint32_t *in = (uint32_t *)post_in[0];
	in[0] = EVT_CONN(1);
	in[1] = 0xbeef0000u;
	CHECK_EQ(hv_hypercall(HVCALL_SIGNAL_EVENT, (uint64_t)in, 0), HV_STATUS_SUCCESS);
	expect_irq(1, EVT_SINT, "SignalEvent, memory form");
	CHECK(sief_only(1, EVT_SINT, EVT_CONN(1)));
	clear_flag(1, EVT_SINT, EVT_CONN(1));
	check_irqs("events");
}

/* testdev "assert": the SINT interrupt alone, no message, no flag; only through an existing route. */
static void test_assert(void)
{
	for (unsigned int v = 0; v < ncpus; v++) {
		hv_testdev(0, TD_ROUTE_ASSERT, v, ROUTE_SINT);
		expect_irq(v, ROUTE_SINT, "SINT assert");
		CHECK(simp[v][ROUTE_SINT].message_type == 0 && sief_slot(v, ROUTE_SINT)[0] == 0);
	}
	hv_testdev(0, TD_ROUTE_DESTROY, 1, ROUTE_SINT);
	hv_testdev(0, TD_ROUTE_ASSERT, 1, ROUTE_SINT);		/* no route any more */
	hv_testdev(0, TD_ROUTE_CREATE, 1, MASKED_SINT);
	hv_testdev(0, TD_ROUTE_ASSERT, 1, MASKED_SINT);		/* masked */
	hv_testdev(0, TD_ROUTE_ASSERT, 1, 6);			/* never routed */
	check_irqs("SINT assert");
}

void ap_main(unsigned int id)
{
	ap_idle(id);
}

void test_main(const struct mb_info *mbi)
{
	unsigned int want = (unsigned int)cmdline_u64(mbi, "cpus", 2);

	for (unsigned int s = 0; s < 16; s++)
		set_irq_handler(SINT_VEC(s), sint_irq);
	ncpus = smp_start_aps() + 1;
	CHECK_EQ(ncpus, want);
	if (ncpus < 2 || ncpus > 8) {
		printf("needs 2-8 CPUs\n");
		return;
	}
	hv_enable_hypercalls();		/* partition-wide: every VP can call the page */
	for (unsigned int v = 0; v < ncpus; v++)
		on_cpu(v, setup_vp, 0);
	/* A unmasked SINT needs a vector of 16 or more. */
	CHECK(!wrmsr_safe(HV_X64_MSR_SINT(6), 15));
	CHECK_EQ(rdmsr(HV_X64_MSR_SINT(6)), HV_SINT_MASKED);

	for (unsigned int v = 0; v < ncpus; v++) {
		hv_testdev(MSG_CONN(v), TD_MSG_CONN_CREATE, v, MSG_SINT);
		hv_testdev(EVT_CONN(v), TD_EVT_CONN_CREATE, v, EVT_SINT);
		hv_testdev(0, TD_ROUTE_CREATE, v, ROUTE_SINT);
	}
	hv_testdev(MASKED_MSG_CONN, TD_MSG_CONN_CREATE, 1, MASKED_SINT);
	hv_testdev(MASKED_EVT_CONN, TD_EVT_CONN_CREATE, 1, MASKED_SINT);

	test_messages();
	test_eom_protocol();
	test_queue_full();
	test_post_errors();
	test_masked();
	test_events();
	test_assert();
}
