/*
 * Synthetic timers (TLFS 12; spec 5.4) on every VP: one-shot and periodic
 * timers in message mode (HVMSG_TIMER_EXPIRED in the SINTx slot), direct
 * mode (a plain APIC vector), expiry in the past, COUNT 0, AutoEnable, the
 * SINTx = 0 rule, reserved CONFIG bits, and the one message buffer per timer
 * when the slot is busy. The same checks run on VP0 and then on VP1, and the
 * interrupts must arrive on the VP that owns the timer.
 *
 * Times are reference time (100 ns units). A message's ExpirationTime must
 * be exactly the programmed deadline; DeliveryTime may be later by up to
 * TOLERANCE (host scheduling), never earlier.
 */
#include "lib/hyperv.h"

#define TSINT		2		/* the SINT the message-mode timers use */
#define MSG_VEC		0x52
#define DIRECT_VEC	0x60
#define MS		10000ull	/* reference time units per millisecond */
#define TOLERANCE	(20 * MS)
#define WAIT_US		200000

#define CONFIG(n)	HV_X64_MSR_STIMER_CONFIG(n)
#define COUNT(n)	HV_X64_MSR_STIMER_COUNT(n)
#define MSG_MODE	(HV_STIMER_CONFIG_SINT(TSINT))

static struct hv_message *simp[MAX_CPUS];
static volatile unsigned int msg_irqs[MAX_CPUS], direct_irqs[MAX_CPUS];
static volatile uint64_t msg_irq_time[MAX_CPUS];

/* Periodic test: the handler itself copies each timer payload out and frees the slot. */
static volatile bool consume_in_irq[MAX_CPUS];
static struct hv_timer_payload plog[MAX_CPUS][16];
static volatile unsigned int plog_n[MAX_CPUS], plog_bad[MAX_CPUS], plog_bad_type[MAX_CPUS];

static void msg_irq(struct irq_frame *f)
{
	unsigned int me = apic_id();

	msg_irq_time[me] = hv_ref_time();
	msg_irqs[me]++;
	if (consume_in_irq[me]) {
		struct hv_message *m = &simp[me][TSINT];

		/* Only the first 16 are kept: on a slow (emulated) host the wait may see many more. */
		if (m->message_type == HVMSG_TIMER_EXPIRED && m->payload_size == 24) {
			if (plog_n[me] < 16)
				memcpy(&plog[me][plog_n[me]], m->payload, sizeof(struct hv_timer_payload));
			plog_n[me]++;
		} else {
			plog_bad[me]++;
			plog_bad_type[me] = m->message_type;
		}
		hv_message_free(m);
	}
	apic_eoi();
}

static void direct_irq(struct irq_frame *f)
{
	direct_irqs[apic_id()]++;
	apic_eoi();
}

/* Disable, then COUNT, then CONFIG: only the CONFIG write arms the timer. */
static void program(unsigned int n, uint64_t config, uint64_t count)
{
	wrmsr(CONFIG(n), 0);
	wrmsr(COUNT(n), count);
	wrmsr(CONFIG(n), config);
}

/*
 * The expiry message in slot m, exactly. DeliveryTime must not precede the
 * expiration and must lie in [earliest, latest]; latest 0 means "within
 * TOLERANCE of the expiration".
 */
static void check_timer_msg(const struct hv_message *m, unsigned int idx, uint64_t expiration, uint64_t earliest,
			    uint64_t latest, const char *what)
{
	const struct hv_timer_payload *p = (const void *)m->payload;
	bool rest_zero = true;

	for (unsigned int i = sizeof(*p); i < 240; i++)
		rest_zero &= !m->payload[i];
	check(m->message_type == HVMSG_TIMER_EXPIRED && m->payload_size == 24 && !m->message_flags && !m->reserved &&
	      !m->origination_id && p->timer_index == idx && !p->reserved && rest_zero &&
	      p->expiration_time == expiration && p->delivery_time >= expiration && p->delivery_time >= earliest &&
	      p->delivery_time <= (latest ? latest : expiration + TOLERANCE),
	      "%s: type 0x%x size %u flags %u timer %u expiration %llu (want %llu) delivered +%lld",
	      what, m->message_type, m->payload_size, m->message_flags, p->timer_index, (unsigned long long)p->expiration_time,
	      (unsigned long long)expiration, (long long)(p->delivery_time - expiration));
}

/*
 * CONFIG of timer n just after it was armed for deadline exp: want, unless
 * the host was slow enough that exp had passed (then it may have fired and
 * cleared Enabled).
 */
static void check_armed(unsigned int n, uint64_t want, uint64_t exp)
{
	uint64_t cfg = rdmsr(CONFIG(n)), now = hv_ref_time();

	check(cfg == want || (now >= exp && cfg == (want & ~HV_STIMER_ENABLE)),
	      "timer %u armed: CONFIG 0x%llx (want 0x%llx)", n, (unsigned long long)cfg, (unsigned long long)want);
}

static void test_one_shot(struct hv_message *slot, unsigned int me)
{
	unsigned int base = msg_irqs[me];
	uint64_t exp = hv_ref_time() + 2 * MS;

	program(0, HV_STIMER_ENABLE | MSG_MODE, exp);
	check_armed(0, HV_STIMER_ENABLE | MSG_MODE, exp);
	check(WAIT_UNTIL(msg_irqs[me] == base + 1, WAIT_US), "VP%u one-shot: interrupt", me);
	CHECK(msg_irq_time[me] >= exp);				/* not early */
	check_timer_msg(slot, 0, exp, 0, 0, "one-shot");
	CHECK_EQ(rdmsr(CONFIG(0)), MSG_MODE);			/* Enabled cleared by the expiry */
	CHECK_EQ(rdmsr(COUNT(0)), exp);
	hv_message_free(slot);
	check(!WAIT_UNTIL(msg_irqs[me] != base + 1, 5000), "VP%u one-shot fires once", me);
	CHECK_EQ(slot->message_type, 0);
}

static void test_periodic(unsigned int me)
{
	uint64_t t0, t1;
	unsigned int exact = 0, steps_bad = 0, in_time = 0, n;

	plog_n[me] = plog_bad[me] = 0;
	consume_in_irq[me] = true;
	t0 = hv_ref_time();
	program(1, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | MSG_MODE, 1 * MS);
	t1 = hv_ref_time();
	check(WAIT_UNTIL(plog_n[me] >= 6, WAIT_US), "VP%u periodic: 6 messages", me);
	wrmsr(CONFIG(1), 0);
	delay_us(2000);			/* an expiry racing with the disable is consumed too */
	consume_in_irq[me] = false;
	check(!plog_bad[me], "VP%u periodic: %u interrupts without a fresh timer message (last slot type 0x%x, %u good)",
	      me, plog_bad[me], plog_bad_type[me], plog_n[me]);
	/* The first deadline is one period after the CONFIG write; then exactly one period apart. */
	check(plog[me][0].expiration_time >= t0 + MS && plog[me][0].expiration_time <= t1 + MS,
	      "periodic: first expiration %llu in [%llu, %llu]", (unsigned long long)plog[me][0].expiration_time,
	      (unsigned long long)(t0 + MS), (unsigned long long)(t1 + MS));
	/*
	 * Each step is a whole number of periods, and exactly one unless the
	 * previous message came a whole period late (the host did not run
	 * kvsm's timer thread in time, or the guest freed the slot late):
	 * only then can an expiry be skipped, since kvsm never queues a
	 * second message of a timer while one waits.
	 */
	for (unsigned int k = 0; k < 6; k++) {
		const struct hv_timer_payload *p = &plog[me][k], *q = &plog[me][k ? k - 1 : 0];
		uint64_t step = p->expiration_time - q->expiration_time;
		bool late = q->delivery_time >= q->expiration_time + MS;

		if (k && step == MS)
			exact++;
		if (k && (!step || step % MS || (step != MS && !late)))
			steps_bad++;
		if (p->timer_index == 1 && p->delivery_time >= p->expiration_time &&
		    p->delivery_time - p->expiration_time <= TOLERANCE)
			in_time++;
		if (k && (step != MS || late || p->timer_index != 1))
			printf("  periodic message %u: timer %u expiration %llu (+%llu) delivery +%llu\n", k,
			       p->timer_index, (unsigned long long)p->expiration_time, (unsigned long long)step,
			       (unsigned long long)(p->delivery_time - p->expiration_time));
	}
	check(!steps_bad, "periodic: ExpirationTime steps of exactly 1 ms (%u of 5; late deliveries excepted)",
	      exact);
	CHECK_EQ(in_time, 6);
	/* Disabled: nothing more. */
	n = msg_irqs[me];
	check(!WAIT_UNTIL(msg_irqs[me] != n, 5000), "VP%u periodic timer stopped", me);
}

static void test_direct(struct hv_message *slot, unsigned int me)
{
	unsigned int base = direct_irqs[me], mbase = msg_irqs[me];
	uint64_t cfg = HV_STIMER_DIRECT | HV_STIMER_VECTOR(DIRECT_VEC) | MSG_MODE;	/* SINTx ignored */

	program(2, HV_STIMER_ENABLE | cfg, hv_ref_time() + 1 * MS);
	check(WAIT_UNTIL(direct_irqs[me] == base + 1, WAIT_US), "VP%u direct: vector 0x%x", me, DIRECT_VEC);
	CHECK_EQ(rdmsr(CONFIG(2)), cfg);
	check(!WAIT_UNTIL(direct_irqs[me] != base + 1, 3000), "VP%u direct one-shot fires once", me);
	CHECK_EQ(msg_irqs[me], mbase);				/* no message, no SINT interrupt */
	CHECK_EQ(slot->message_type, 0);

	/* Direct and periodic. */
	program(2, HV_STIMER_ENABLE | HV_STIMER_PERIODIC | cfg, 1 * MS);
	check(WAIT_UNTIL(direct_irqs[me] >= base + 4, WAIT_US), "VP%u direct periodic: 3 interrupts", me);
	wrmsr(CONFIG(2), 0);
	delay_us(2000);
	base = direct_irqs[me];
	check(!WAIT_UNTIL(direct_irqs[me] != base, 3000), "VP%u direct periodic stopped", me);
	CHECK_EQ(msg_irqs[me], mbase);
	CHECK_EQ(slot->message_type, 0);
}

/* A deadline already past fires during the CONFIG write itself. */
static void test_past(struct hv_message *slot, unsigned int me)
{
	unsigned int base = msg_irqs[me];
	uint64_t before = hv_ref_time(), exp = before - 1 * MS, after;

	program(3, HV_STIMER_ENABLE | MSG_MODE, exp);
	after = hv_ref_time();
	check_timer_msg(slot, 3, exp, before, after, "deadline in the past, delivered during the write");
	CHECK_EQ(rdmsr(CONFIG(3)), MSG_MODE);
	check(WAIT_UNTIL(msg_irqs[me] == base + 1, WAIT_US), "VP%u past deadline: interrupt", me);
	hv_message_free(slot);
}

static void test_count_zero_and_auto_enable(struct hv_message *slot, unsigned int me)
{
	unsigned int base = msg_irqs[me];
	uint64_t exp = hv_ref_time() + 20 * MS;
	bool late, fired;

	program(0, HV_STIMER_ENABLE | MSG_MODE, exp);
	wrmsr(COUNT(0), 0);					/* COUNT 0 stops it */
	late = hv_ref_time() >= exp;				/* host too slow: it may have fired first */
	CHECK_EQ(rdmsr(CONFIG(0)), MSG_MODE);
	CHECK_EQ(rdmsr(COUNT(0)), 0);
	fired = WAIT_UNTIL(msg_irqs[me] != base, 25000);
	check(!fired || late, "VP%u COUNT 0: no expiry%s", me, late ? " (inconclusive: host too slow)" : "");
	if (fired)
		hv_message_free(slot);

	/* AutoEnable: a non-zero COUNT write sets Enabled. */
	base = msg_irqs[me];
	wrmsr(CONFIG(0), HV_STIMER_AUTO_ENABLE | MSG_MODE);
	CHECK_EQ(rdmsr(CONFIG(0)), HV_STIMER_AUTO_ENABLE | MSG_MODE);
	exp = hv_ref_time() + 1 * MS;
	wrmsr(COUNT(0), exp);
	check_armed(0, HV_STIMER_AUTO_ENABLE | HV_STIMER_ENABLE | MSG_MODE, exp);
	check(WAIT_UNTIL(msg_irqs[me] == base + 1, WAIT_US), "VP%u AutoEnable: interrupt", me);
	check_timer_msg(slot, 0, exp, 0, 0, "AutoEnable");
	CHECK_EQ(rdmsr(CONFIG(0)), HV_STIMER_AUTO_ENABLE | MSG_MODE);
	hv_message_free(slot);
	wrmsr(CONFIG(0), 0);
}

static void test_config_rules(struct hv_message *slot, unsigned int me)
{
	static const unsigned int rsvd[] = { 13, 14, 15, 20, 31, 32, 63 };
	unsigned int gp = 0, base = msg_irqs[me];

	for (unsigned int i = 0; i < sizeof(rsvd) / sizeof(rsvd[0]); i++)
		gp += !wrmsr_safe(CONFIG(1), MSG_MODE | 1ull << rsvd[i]);
	CHECK_EQ(gp, sizeof(rsvd) / sizeof(rsvd[0]));
	CHECK_EQ(rdmsr(CONFIG(1)), 0);

	/* SINTx 0 on an enabled message-mode timer: it stays disabled and nothing is sent. */
	wrmsr(COUNT(1), hv_ref_time() + 2 * MS);
	wrmsr(CONFIG(1), HV_STIMER_ENABLE);
	CHECK_EQ(rdmsr(CONFIG(1)), 0);
	wrmsr(CONFIG(1), HV_STIMER_ENABLE | HV_STIMER_PERIODIC);
	CHECK_EQ(rdmsr(CONFIG(1)), HV_STIMER_PERIODIC);
	check(!WAIT_UNTIL(msg_irqs[me] != base, 4000), "VP%u SINTx 0: no expiry", me);
	CHECK_EQ(simp[me][0].message_type, 0);
	CHECK_EQ(slot->message_type, 0);
	/* The rule is for message mode only: a direct timer with SINTx 0 stays enabled. */
	wrmsr(CONFIG(1), 0);
	wrmsr(COUNT(1), hv_ref_time() + 10000 * MS);
	wrmsr(CONFIG(1), HV_STIMER_ENABLE | HV_STIMER_DIRECT | HV_STIMER_VECTOR(DIRECT_VEC));
	CHECK_EQ(rdmsr(CONFIG(1)), HV_STIMER_ENABLE | HV_STIMER_DIRECT | HV_STIMER_VECTOR(DIRECT_VEC));
	wrmsr(CONFIG(1), 0);
}

/*
 * Each timer has one message buffer: an expiry against a busy slot sets
 * MessagePending there and waits in the timer until EOM. (The state is
 * sampled before anything is printed: console output is slow.)
 */
static void test_busy_slot(struct hv_message *slot, unsigned int me)
{
	const struct hv_timer_payload *p = (const void *)slot->payload;
	unsigned int base = msg_irqs[me], irqs, idx;
	uint64_t now = hv_ref_time(), exp0 = now + 1 * MS, exp3 = now + 2 * MS, freed, after, cfg3;
	uint8_t flags;
	bool first;

	program(0, HV_STIMER_ENABLE | MSG_MODE, exp0);
	program(3, HV_STIMER_ENABLE | MSG_MODE, exp3);
	first = WAIT_UNTIL(msg_irqs[me] == base + 1, WAIT_US);
	/* Timer 3 expires meanwhile and finds the slot busy. */
	WAIT_UNTIL(slot->message_flags & HV_MESSAGE_FLAG_PENDING, WAIT_US);
	delay_us(1000);						/* no interrupt for it may come */
	irqs = msg_irqs[me];
	flags = slot->message_flags;
	idx = p->timer_index;
	cfg3 = rdmsr(CONFIG(3));
	freed = hv_ref_time();
	hv_message_free(slot);					/* EOM: timer 3's message comes in */
	after = hv_ref_time();

	check(first, "VP%u busy slot: first interrupt", me);
	CHECK_EQ(irqs, base + 1);
	CHECK_EQ(flags, HV_MESSAGE_FLAG_PENDING);
	CHECK_EQ(idx, 0);
	CHECK_EQ(cfg3, MSG_MODE);				/* expired (one-shot), its message waiting */
	check_timer_msg(slot, 3, exp3, freed, after, "after EOM, delivered at the EOM");
	check(WAIT_UNTIL(msg_irqs[me] == base + 2, WAIT_US), "VP%u busy slot: second interrupt", me);
	hv_message_free(slot);
}

static void test_vp(void *arg)
{
	unsigned int me = apic_id();
	struct hv_message *slot;

	simp[me] = alloc_zeroed(4096);
	slot = &simp[me][TSINT];
	hv_synic_enable(simp[me], alloc_zeroed(4096));
	wrmsr(HV_X64_MSR_SINT(TSINT), MSG_VEC);
	printf("--- timers of VP%u\n", me);
	test_one_shot(slot, me);
	test_periodic(me);
	test_direct(slot, me);
	test_past(slot, me);
	test_count_zero_and_auto_enable(slot, me);
	test_config_rules(slot, me);
	test_busy_slot(slot, me);
}

void ap_main(unsigned int id)
{
	ap_idle(id);
}

void test_main(const struct mb_info *mbi)
{
	unsigned int ncpus, m0, d0;

	set_irq_handler(MSG_VEC, msg_irq);
	set_irq_handler(DIRECT_VEC, direct_irq);
	ncpus = smp_start_aps() + 1;
	CHECK_EQ(ncpus, cmdline_u64(mbi, "cpus", 2));
	for (unsigned int v = 0; v < ncpus; v++) {
		m0 = msg_irqs[0];
		d0 = direct_irqs[0];
		on_cpu(v, test_vp, 0);
		if (v) {
			/* VP v's timers interrupted VP v only (VP0 idled with interrupts on meanwhile). */
			CHECK_EQ(msg_irqs[0], m0);
			CHECK_EQ(direct_irqs[0], d0);
		}
	}
}
