/*
 * SMP stress (run with --vtls 2 --smp 4 and cpus=4): for DURATION_MS of
 * reference time every VP's VTL0 loops over one round of work while the
 * others do the same:
 * - a VTL call; VTL1 counts the entry, and on VP0 flips the protection of a
 *   shared page (no access <-> all);
 * - a read of the VP's own trap page, which VTL1 made inaccessible: a GPA
 *   intercept to the VP's VTL1, which skips the read;
 * - a read of the shared page, intercepted or not depending on VP0's flips;
 * - in VTL1, a one-shot synthetic timer in message mode (re-armed once the
 *   last one's message arrived) and a VTL1 IPI to the next VP (sent once the
 *   last one arrived, so two never merge in one IRR bit);
 * - in VTL0, a VTL0 IPI to the next VP, on the same terms.
 * Both sides count: VTL calls made and entered, reads skipped (the register
 * the read would load keeps MAGIC) and intercepts taken, timers armed and
 * messages received, IPIs sent and received. Every pair must be equal once
 * the VPs stopped and what was in flight arrived: nothing lost, nothing
 * twice. Every VP finishes. Waits are bounded and need no true parallelism.
 */
#include "lib/vsm.h"

#define NVPS		4
#define DURATION_MS	300
#define MAGIC		0x5afe5afe5afe5afeull
#define INTERCEPT_VEC	0xe6		/* VTL1 SINT0: intercept messages */
#define TIMER_VEC	0xe7		/* VTL1 SINT2: timer messages */
#define VTL1_IPI_VEC	0xe8
#define VTL0_IPI_VEC	0x60
#define SINT_TIMER	2
#define GPA_INTERCEPT	0x80000001u
#define TIMER_TICKS	2000		/* 200 us of reference time */
#define WAIT_US		20000000	/* only reached when something is wrong */

static unsigned int ncpus;
static uint8_t *trap[NVPS], *shared;
static struct hv_message *simp[NVPS];
static volatile bool go, stop;
static volatile unsigned int ready, done;
static volatile uint64_t prot_status;
static volatile bool shared_protected;

/* Per VP; each counter is written by one side only (VTL0 of the VP, its VTL1, or an IPI's receiver). */
static volatile unsigned int rounds[NVPS], calls[NVPS], vtl1_calls[NVPS];
static volatile unsigned int trap_skipped[NVPS], trap_intercepts[NVPS];
static volatile unsigned int shared_skipped[NVPS], shared_intercepts[NVPS], shared_protected_reads[NVPS];
static volatile unsigned int bad_intercepts[NVPS], bad_timers[NVPS];
static volatile unsigned int timers_armed[NVPS], timer_msgs[NVPS];
static volatile uint64_t timer_expiry[NVPS];
static volatile unsigned int vtl1_ipi_sent[NVPS], vtl1_ipi_recv[NVPS], vtl0_ipi_sent[NVPS], vtl0_ipi_recv[NVPS];
/* The first wrong intercept and timer message of each VP, kept for the report. */
static struct { uint32_t type, vp; uint64_t rip, gpa, rax; uint8_t len, access; } bad_intercept[NVPS];
static struct { uint32_t type, index; uint64_t expiry, wanted; } bad_timer[NVPS];

extern const uint8_t probe_insn[];

/* VTL0: read *p; returns MAGIC when VTL1 skipped the read. The one instruction intercepts name. */
static __attribute__((noinline, noclone)) uint64_t probe(const uint8_t *p)
{
	uint64_t v = MAGIC;

	__asm__ volatile(".globl probe_insn\nprobe_insn: movq (%1), %0" : "+a"(v) : "D"(p) : "memory");
	return v;
}

static uint64_t protect(const uint8_t *page, uint32_t mask)
{
	static uint64_t in[3] __attribute__((aligned(4096)));

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask;
	in[2] = (uint64_t)page >> 12;
	return HV_RESULT_STATUS(hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0));
}

/*
 * VTL1's handlers run either when VTL1 resumes in its return thunk (it was
 * entered for the interrupt, or the interrupt was pending at a VTL call) or
 * just before VTL1 returns. In the first case the GPRs are VTL0's as it was
 * interrupted: hand RAX/RCX back through the assist page, as the non-fast
 * VtlReturn loads them from there.
 */
static void keep_vtl0_rax_rcx(const struct irq_frame *f, unsigned int vp)
{
	uint8_t *assist = vtl1_vps[vp].assist;

	if (f->rip - (uint64_t)vtl1_hypercall_page < 4096) {
		*(uint64_t *)(assist + 0x10) = f->rax;
		*(uint64_t *)(assist + 0x18) = f->rcx;
	}
}

static void free_slot(struct hv_message *m)
{
	hv_message_free(m);
}

/* VTL1: a GPA intercept of probe_insn; check it, count it by page, skip the read. */
static void on_intercept(struct irq_frame *f)
{
	unsigned int vp = apic_id_any();
	struct hv_message *m = &simp[vp][0];
	const uint8_t *b = m->payload;
	uint64_t rip = *(const uint64_t *)(b + 24), gpa = *(const uint64_t *)(b + 56);
	bool ok = m->message_type == GPA_INTERCEPT && *(const uint32_t *)b == vp && rip == (uint64_t)probe_insn &&
		  b[5] == 0 && (b[4] & 0xf) == 3 && *(const uint64_t *)(b + 112) == MAGIC;

	keep_vtl0_rax_rcx(f, vp);
	if (gpa == (uint64_t)trap[vp])
		trap_intercepts[vp]++;
	else if (gpa == (uint64_t)shared)
		shared_intercepts[vp]++;
	else
		ok = false;
	if (!ok && !bad_intercepts[vp]++) {
		bad_intercept[vp].type = m->message_type;
		bad_intercept[vp].vp = *(const uint32_t *)b;
		bad_intercept[vp].rip = rip;
		bad_intercept[vp].gpa = gpa;
		bad_intercept[vp].rax = *(const uint64_t *)(b + 112);
		bad_intercept[vp].len = b[4] & 0xf;
		bad_intercept[vp].access = b[5];
	}
	vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + (b[4] & 0xf));
	free_slot(m);
	apic_eoi();
}

static void on_timer(struct irq_frame *f)
{
	unsigned int vp = apic_id_any();
	struct hv_message *m = &simp[vp][SINT_TIMER];
	const struct hv_timer_payload *pl = (const void *)m->payload;

	keep_vtl0_rax_rcx(f, vp);
	if ((m->message_type != HVMSG_TIMER_EXPIRED || pl->timer_index != 0 ||
	     pl->expiration_time != timer_expiry[vp]) && !bad_timers[vp]++) {
		bad_timer[vp].type = m->message_type;
		bad_timer[vp].index = pl->timer_index;
		bad_timer[vp].expiry = pl->expiration_time;
		bad_timer[vp].wanted = timer_expiry[vp];
	}
	timer_msgs[vp]++;
	free_slot(m);
	apic_eoi();
}

static void on_vtl1_ipi(struct irq_frame *f)
{
	unsigned int vp = apic_id_any();

	keep_vtl0_rax_rcx(f, vp);
	vtl1_ipi_recv[vp]++;
	apic_eoi();
}

static void on_vtl0_ipi(struct irq_frame *f)
{
	vtl0_ipi_recv[apic_id_any()]++;
	apic_eoi();
}

static void vtl1_setup(void)
{
	unsigned int vp = apic_id_any();

	vsm_take_intercepts(simp[vp], INTERCEPT_VEC);
	wrmsr(HV_X64_MSR_SINT(SINT_TIMER), TIMER_VEC);
	if (vp == 0) {
		vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 1 | 0xf << 1);
		for (unsigned int i = 0; i < ncpus; i++)
			prot_status |= protect(trap[i], 0);
		for (unsigned int i = 1; i < ncpus; i++)
			prot_status |= vsm_enable_vp_vtl1(i);
	}
}

/* VTL1, each round: count, flip the shared page (VP0), re-arm the timer and IPI the next VP if due. */
static void vtl1_round(void)
{
	unsigned int vp = apic_id_any(), next = (vp + 1) % ncpus;

	vtl1_calls[vp]++;
	if (vp == 0) {
		shared_protected = !shared_protected;
		prot_status |= protect(shared, shared_protected ? 0 : 0xf);
	}
	if (timer_msgs[vp] == timers_armed[vp]) {
		timer_expiry[vp] = hv_ref_time() + TIMER_TICKS;
		timers_armed[vp]++;
		wrmsr(HV_X64_MSR_STIMER_CONFIG(0), 0);
		wrmsr(HV_X64_MSR_STIMER_COUNT(0), timer_expiry[vp]);
		wrmsr(HV_X64_MSR_STIMER_CONFIG(0), HV_STIMER_ENABLE | HV_STIMER_CONFIG_SINT(SINT_TIMER));
	}
	if (vtl1_ipi_recv[next] == vtl1_ipi_sent[vp]) {
		vtl1_ipi_sent[vp]++;
		apic_send_ipi(next, VTL1_IPI_VEC);
	}
}

/* VTL0, one round of work on VP vp. */
static void vtl0_round(unsigned int vp)
{
	unsigned int next = (vp + 1) % ncpus;

	calls[vp]++;
	vsm_call(vtl1_round, 0, 0);
	trap_skipped[vp] += probe(trap[vp]) == MAGIC;
	if (vp == 0)
		shared_protected_reads[0] += shared_protected;
	shared_skipped[vp] += probe(shared) == MAGIC;
	if (vtl0_ipi_recv[next] == vtl0_ipi_sent[vp]) {
		vtl0_ipi_sent[vp]++;
		apic_send_ipi(next, VTL0_IPI_VEC);
	}
	rounds[vp]++;
}

void ap_main(unsigned int id)
{
	apic_enable();
	vsm_call(vtl1_setup, 0, 0);
	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
	while (!go)
		pause();
	sti();
	while (!stop)
		vtl0_round(id);
	__atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
	for (;;)
		sti_hlt();
}

static bool drained(void)
{
	for (unsigned int vp = 0; vp < ncpus; vp++) {
		unsigned int next = (vp + 1) % ncpus;

		if (timer_msgs[vp] != timers_armed[vp] || vtl1_ipi_recv[next] != vtl1_ipi_sent[vp] ||
		    vtl0_ipi_recv[next] != vtl0_ipi_sent[vp])
			return false;
	}
	return true;
}

void test_main(const struct mb_info *mbi)
{
	unsigned int sums[6] = { 0 };
	uint64_t start, end;
	bool ok;

	ncpus = (unsigned int)cmdline_u64(mbi, "cpus", NVPS);
	CHECK_EQ(ncpus, NVPS);
	hv_enable_hypercalls();
	apic_enable();
	shared = alloc_zeroed(4096);
	for (unsigned int vp = 0; vp < ncpus; vp++) {
		trap[vp] = alloc_zeroed(4096);
		simp[vp] = alloc_zeroed(4096);
	}
	set_irq_handler(INTERCEPT_VEC, on_intercept);
	set_irq_handler(TIMER_VEC, on_timer);
	set_irq_handler(VTL1_IPI_VEC, on_vtl1_ipi);
	set_irq_handler(VTL0_IPI_VEC, on_vtl0_ipi);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_setup, 0, 0);
	for (unsigned int vp = 1; vp < ncpus; vp++)
		CHECK_EQ(vsm_start_vp(vp, 0), 0);
	start = hv_ref_time();
	ok = WAIT_UNTIL(ready == ncpus - 1, WAIT_US);
	check(ok, "every AP set up its VTL1 (%u of %u, %llu ms)", ready, ncpus - 1,
	      (unsigned long long)(hv_ref_time() - start) / 10000);

	start = hv_ref_time();
	end = start + DURATION_MS * 10000ull;
	go = true;
	sti();
	while (hv_ref_time() < end)
		vtl0_round(0);
	stop = true;
	end = hv_ref_time();
	ok = WAIT_UNTIL(done == ncpus - 1, WAIT_US);
	check(ok, "every AP finished its rounds (%u of %u, %llu ms)", done, ncpus - 1,
	      (unsigned long long)(hv_ref_time() - end) / 10000);
	check(WAIT_UNTIL(drained(), WAIT_US), "every timer message and IPI in flight arrived (%llu ms)",
	      (unsigned long long)(hv_ref_time() - end) / 10000);
	CHECK_EQ(prot_status, 0);
	/* Every VP's counters in one line each, whatever fails below. */
	for (unsigned int vp = 0; vp < ncpus; vp++)
		printf("VP%u: rounds %u, calls %u/%u, trap %u/%u, shared %u/%u (protected reads %u), timers %u/%u, "
		       "VTL1 IPIs %u/%u, VTL0 IPIs %u/%u\n", vp, rounds[vp], calls[vp], vtl1_calls[vp],
		       trap_skipped[vp], trap_intercepts[vp], shared_skipped[vp], shared_intercepts[vp],
		       shared_protected_reads[vp], timers_armed[vp], timer_msgs[vp], vtl1_ipi_sent[vp],
		       vtl1_ipi_recv[(vp + 1) % ncpus], vtl0_ipi_sent[vp], vtl0_ipi_recv[(vp + 1) % ncpus]);

	for (unsigned int vp = 0; vp < ncpus; vp++) {
		unsigned int next = (vp + 1) % ncpus;

		check(rounds[vp] > 0 && calls[vp] == rounds[vp] && vtl1_calls[vp] == calls[vp],
		      "VP%u: %u rounds, %u VTL calls made, %u entered", vp, rounds[vp], calls[vp], vtl1_calls[vp]);
		check(trap_skipped[vp] == rounds[vp] && trap_intercepts[vp] == rounds[vp],
		      "VP%u: trap page: %u reads skipped, %u intercepts", vp, trap_skipped[vp], trap_intercepts[vp]);
		check(shared_skipped[vp] == shared_intercepts[vp], "VP%u: shared page: %u reads skipped, %u intercepts",
		      vp, shared_skipped[vp], shared_intercepts[vp]);
		check(!bad_intercepts[vp], "VP%u: %u wrong intercepts (first: type 0x%x, VP %u, RIP 0x%llx, GPA 0x%llx, "
		      "RAX 0x%llx, length %u, access %u)", vp, bad_intercepts[vp], bad_intercept[vp].type,
		      bad_intercept[vp].vp, (unsigned long long)bad_intercept[vp].rip,
		      (unsigned long long)bad_intercept[vp].gpa, (unsigned long long)bad_intercept[vp].rax,
		      bad_intercept[vp].len, bad_intercept[vp].access);
		check(timer_msgs[vp] > 0 && timer_msgs[vp] == timers_armed[vp], "VP%u: %u timers armed, %u messages",
		      vp, timers_armed[vp], timer_msgs[vp]);
		check(!bad_timers[vp], "VP%u: %u wrong timer messages (first: type 0x%x, timer %u, expiry %llu, "
		      "armed for %llu)", vp, bad_timers[vp], bad_timer[vp].type, bad_timer[vp].index,
		      (unsigned long long)bad_timer[vp].expiry, (unsigned long long)bad_timer[vp].wanted);
		check(vtl1_ipi_sent[vp] > 0 && vtl1_ipi_recv[next] == vtl1_ipi_sent[vp],
		      "VTL1 IPIs VP%u -> VP%u: %u sent, %u received", vp, next, vtl1_ipi_sent[vp], vtl1_ipi_recv[next]);
		check(vtl0_ipi_sent[vp] > 0 && vtl0_ipi_recv[next] == vtl0_ipi_sent[vp],
		      "VTL0 IPIs VP%u -> VP%u: %u sent, %u received", vp, next, vtl0_ipi_sent[vp], vtl0_ipi_recv[next]);
		sums[0] += calls[vp];
		sums[1] += trap_intercepts[vp] + shared_intercepts[vp];
		sums[2] += timer_msgs[vp];
		sums[3] += vtl1_ipi_recv[next];
		sums[4] += vtl0_ipi_recv[next];
		sums[5] += rounds[vp];
	}
	/* VP0 reads the shared page right after its own flip: protected in every other round. */
	CHECK_EQ(shared_intercepts[0], shared_protected_reads[0]);
	printf("stress: %llu ms, %u rounds, %u VTL calls, %u GPA intercepts, %u VTL1 timer messages, "
	       "%u VTL1 IPIs, %u VTL0 IPIs, none lost or twice\n",
	       (unsigned long long)(end - start) / 10000, sums[5], sums[0], sums[1], sums[2], sums[3], sums[4]);
}
