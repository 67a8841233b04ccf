/*
 * Floods (run with --testdev --smp 2): a guest that asks for much, fast.
 * - Hypercalls: thousands back to back, simple and rep calls that kvsm
 *   splits into batches (the guest re-enters them with its rep start).
 * - IPIs from VP0 to VP1 through HvCallSendSyntheticClusterIpi, its Ex form
 *   and the APIC ICR, faster than VP1 (200 us each) takes them: they merge in
 *   VP1's IRR, but the last of every burst is delivered (VP1's handler sees
 *   the burst's final tag), and nothing hangs.
 * - Messages: HvCallPostMessage to one connection (a masked SINT of VP0)
 *   until INSUFFICIENT_BUFFERS, then a drain by EOM: exactly the slot plus
 *   the queue arrive, in order, MessagePending on all but the last.
 * - Timer re-arms: a synthetic timer re-armed thousands of times ends with
 *   exactly one expiry, the last one armed.
 * Each flood is bounded and its time is printed.
 */
#include "lib/hyperv.h"

#define GET_VP_INDEX_FROM_APIC	0x009A
#define IPI_VEC		0x70
#define MSG_SINT	3
#define TIMER_SINT	2
#define MSG_CONN	0x41
#define QUEUE_LEN	16		/* messages kvsm keeps per (VP, SINT) besides the slot */
#define CALLS		4000
#define LIST_CALLS	200
#define LIST_REPS	509		/* (4096 - 24) / 8: a full page of GVAs, two batches of kvsm */
#define BURSTS		10
#define BURST_LEN	100
#define HANDLER_US	200		/* VP1's time per IPI: longer than VP0's per send */
#define ROUNDS		20
#define REARMS		2000
#define WAIT_US		2000000

static uint64_t *in, *out;
static struct hv_message *simp;
static volatile uint64_t burst_tag, seen_tag;
static volatile unsigned int deliveries;

static uint64_t ms_since(uint64_t t0)
{
	return (hv_ref_time() - t0) / 10000;
}

static void flood_hypercalls(void)
{
	uint64_t t0 = hv_ref_time(), bad = 0;

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = 0;				/* TargetVtl */
	in[2] = 1;				/* APIC IDs 1 and 0 */
	for (unsigned int i = 0; i < CALLS; i++) {
		out[0] = ~0ull;
		bad += hv_hypercall(GET_VP_INDEX_FROM_APIC | HV_REP(2), (uint64_t)in, (uint64_t)out) != 2ull << 32 ||
		       out[0] != 1;
	}
	check(!bad, "%u GetVpIndexFromApicId back to back: %llu wrong (%llu ms)", CALLS, (unsigned long long)bad,
	      (unsigned long long)ms_since(t0));
	t0 = hv_ref_time();
	bad = 0;
	in[0] = 0;				/* AddressSpace */
	in[1] = 0;				/* Flags */
	in[2] = 1;				/* ProcessorMask: VP0 */
	for (unsigned int i = 0; i < LIST_REPS; i++)
		in[3 + i] = 0x100000 + i * 4096ull;
	for (unsigned int i = 0; i < LIST_CALLS; i++)
		bad += hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_REP(LIST_REPS), (uint64_t)in, 0) !=
		       (uint64_t)LIST_REPS << 32;
	check(!bad, "%u FlushVirtualAddressList of %u GVAs (resumed by the guest): %llu wrong (%llu ms)",
	      LIST_CALLS, LIST_REPS, (unsigned long long)bad, (unsigned long long)ms_since(t0));
	/* The same call continued by hand from its last element, and from one past the end. */
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_REP(LIST_REPS) | HV_REP_START(LIST_REPS - 1),
			      (uint64_t)in, 0), (uint64_t)LIST_REPS << 32);
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | HV_REP(LIST_REPS) | HV_REP_START(LIST_REPS),
			      (uint64_t)in, 0), HV_STATUS_INVALID_HYPERCALL_INPUT);
}

/*
 * VP1: every IPI delivery records the tag of the latest send before it,
 * then dawdles HANDLER_US, so the sender outpaces it and IPIs merge.
 */
static void on_ipi(struct irq_frame *f)
{
	uint64_t end;

	deliveries++;
	seen_tag = burst_tag;
	for (end = hv_ref_time() + HANDLER_US * 10; hv_ref_time() < end;)
		pause();
	apic_eoi();
}

static uint64_t ipi_fast(void)
{
	return hv_hypercall(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | HV_FAST, IPI_VEC, 2);
}

static uint64_t ipi_ex(void)
{
	in[0] = IPI_VEC;
	in[1] = HV_GENERIC_SET_SPARSE_4K;
	in[2] = 1;				/* ValidBanksMask: bank 0 */
	in[3] = 2;				/* VP1 */
	return hv_hypercall(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX | HV_VARHEAD(1), (uint64_t)in, 0);
}

static uint64_t ipi_icr(void)
{
	apic_send_ipi(1, IPI_VEC);
	return 0;
}

static void flood_ipis(const char *what, uint64_t (*send)(void))
{
	unsigned int before = deliveries, ended = 0, n;
	uint64_t t0 = hv_ref_time(), bad = 0;

	for (unsigned int b = 0; b < BURSTS; b++) {
		for (unsigned int i = 0; i < BURST_LEN; i++) {
			burst_tag++;
			bad += send() != 0;
		}
		ended += WAIT_UNTIL(seen_tag == burst_tag, WAIT_US);
	}
	n = deliveries - before;
	check(!bad && ended == BURSTS && n >= BURSTS && n <= BURSTS * BURST_LEN,
	      "%s: %u bursts of %u IPIs, %u failed sends, %u bursts ended with a delivery, %u deliveries (%llu ms)",
	      what, BURSTS, BURST_LEN, (unsigned int)bad, ended, n, (unsigned long long)ms_since(t0));
}

static uint64_t post(uint32_t seq)
{
	struct hv_post_message_input *m = (void *)in;

	m->connection_id = MSG_CONN;
	m->reserved = 0;
	m->message_type = 0x100;
	m->payload_size = 4;
	memcpy(m->payload, &seq, 4);
	return hv_hypercall(HVCALL_POST_MESSAGE, (uint64_t)in, 0);
}

static void flood_messages(void)
{
	struct hv_message *slot = &simp[MSG_SINT];
	unsigned int posted_ok = 0, wrong = 0, drained = 0, seq = 0;
	uint64_t t0 = hv_ref_time();

	hv_testdev(MSG_CONN, TD_MSG_CONN_CREATE, 0, MSG_SINT);
	for (unsigned int r = 0; r < ROUNDS; r++) {
		unsigned int first = seq, n = 0;
		uint64_t st;

		/* Post until refused: the slot, then the queue, fill. */
		while ((st = post(seq)) == HV_STATUS_SUCCESS && n < 100)
			n++, seq++;
		posted_ok += n;
		wrong += st != HV_STATUS_INSUFFICIENT_BUFFERS || n != QUEUE_LEN + 1;
		/* Drain: each EOM places the next; MessagePending while more wait. */
		for (unsigned int k = 0; k < n; k++) {
			uint32_t got;

			memcpy(&got, slot->payload, 4);
			wrong += slot->message_type != 0x100 || got != first + k ||
				 (slot->message_flags & HV_MESSAGE_FLAG_PENDING) != (k + 1 < n ? HV_MESSAGE_FLAG_PENDING : 0);
			drained += slot->message_type == 0x100;
			hv_message_free(slot);
		}
		wrong += slot->message_type != 0;	/* the refused post never shows up */
	}
	hv_testdev(MSG_CONN, TD_MSG_CONN_DESTROY, 0, 0);
	check(!wrong && posted_ok == ROUNDS * (QUEUE_LEN + 1) && drained == posted_ok,
	      "%u rounds of posts to INSUFFICIENT_BUFFERS: %u accepted, %u drained in order, %u wrong (%llu ms)",
	      ROUNDS, posted_ok, drained, wrong, (unsigned long long)ms_since(t0));
}

static void arm(uint64_t expiry)
{
	wrmsr(HV_X64_MSR_STIMER_CONFIG(0), 0);
	wrmsr(HV_X64_MSR_STIMER_COUNT(0), expiry);
	wrmsr(HV_X64_MSR_STIMER_CONFIG(0), HV_STIMER_ENABLE | HV_STIMER_CONFIG_SINT(TIMER_SINT));
}

static void flood_timer(void)
{
	struct hv_message *slot = &simp[TIMER_SINT];
	const struct hv_timer_payload *pl = (const void *)slot->payload;
	uint64_t t0 = hv_ref_time(), last;
	bool arrived;

	for (unsigned int i = 0; i < REARMS; i++)
		arm(hv_ref_time() + 10000000);		/* 1 s ahead: superseded long before */
	CHECK_EQ(slot->message_type, 0);
	last = hv_ref_time() + 10000;			/* 1 ms */
	arm(last);
	arrived = WAIT_UNTIL(slot->message_type != 0, WAIT_US);
	check(arrived, "%u re-arms of timer 0, then one to expire: it expired (%llu ms)", REARMS,
	      (unsigned long long)ms_since(t0));
	CHECK_EQ(slot->message_type, HVMSG_TIMER_EXPIRED);
	CHECK_EQ(pl->timer_index, 0);
	CHECK_EQ(pl->expiration_time, last);
	CHECK_EQ(slot->message_flags & HV_MESSAGE_FLAG_PENDING, 0);
	hv_message_free(slot);
	delay_us(20000);
	CHECK_EQ(slot->message_type, 0);		/* no second expiry */
	wrmsr(HV_X64_MSR_STIMER_CONFIG(0), 0);
}

void test_main(const struct mb_info *mbi)
{
	unsigned int cpus;

	set_irq_handler(IPI_VEC, on_ipi);
	cpus = smp_start_aps() + 1;
	CHECK_EQ(cpus, 2);
	hv_enable_hypercalls();
	apic_enable();
	in = alloc_zeroed(4096);
	out = alloc_zeroed(4096);
	simp = alloc_zeroed(4096);
	hv_synic_enable(simp, alloc_zeroed(4096));
	wrmsr(HV_X64_MSR_SINT(MSG_SINT), 0x50 | HV_SINT_MASKED);	/* polled: no interrupt */
	wrmsr(HV_X64_MSR_SINT(TIMER_SINT), 0x51 | HV_SINT_MASKED);
	flood_hypercalls();
	flood_ipis("HvCallSendSyntheticClusterIpi", ipi_fast);
	flood_ipis("HvCallSendSyntheticClusterIpiEx", ipi_ex);
	flood_ipis("APIC ICR", ipi_icr);
	flood_messages();
	flood_timer();
}

void ap_main(unsigned int id)
{
	ap_idle(id);
}
