/*
 * VTL protections under attack from other VPs (run with --vtls 2 --smp N,
 * N = 2 or 4, and cpus=N): while VTL1 on VP0 takes a page away from VTL0 and
 * gives it back, again and again, VTL0 on every other VP hammers it with
 * reads and writes. Each VP's own VTL1 gets the intercepts for its VP (VpIndex,
 * GPA, access type and RIP exact) and skips the faulting instruction. While
 * the page is protected no write of VTL0 lands on it: VTL1 on VP0 finds it as
 * it left it when it lifts the protection. Nothing deadlocks: every VP
 * finishes its rounds.
 */
#include "lib/vsm.h"

#define MAX_VPS		4
#define INTERCEPT_VEC	0xe6
#define GPA_INTERCEPT	0x80000001u
#define TOGGLES		24
#define WAIT_US		20000000	/* only reached when something is wrong */

static unsigned int ncpus;
static uint8_t *target;
static struct hv_message *simp[MAX_VPS];
static volatile bool go, stop;
static volatile unsigned int ready, done;
static volatile uint64_t rounds[MAX_VPS];
/* Per VP, as its VTL1 saw the intercepts: how many, and how many had a wrong field. */
static volatile unsigned int intercepts[MAX_VPS], bad_fields[MAX_VPS], reads[MAX_VPS], writes[MAX_VPS];
static volatile unsigned int changed_while_protected, windows_all_hit;
static volatile uint64_t toggle_status;

extern const uint8_t hammer_read[], hammer_write[];

static uint64_t protect(uint32_t mask)
{
	static uint64_t in[3] __attribute__((aligned(4096)));

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask;
	in[2] = (uint64_t)target >> 12;
	return hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0);
}

/* VTL1 on each VP: check the message, skip the instruction (its length from the message). */
static void on_intercept(struct irq_frame *f)
{
	unsigned int vp = apic_id_any();
	struct hv_message *m = simp[vp];
	const uint8_t *b = m->payload;
	uint64_t rip = *(const uint64_t *)(b + 24), gpa = *(const uint64_t *)(b + 56);
	unsigned int access = b[5];
	bool ok = m->message_type == GPA_INTERCEPT && *(const uint32_t *)b == vp && gpa == (uint64_t)target + 8 * vp &&
		  ((access == 0 && rip == (uint64_t)hammer_read) || (access == 1 && rip == (uint64_t)hammer_write)) &&
		  (b[4] & 0xf) == 3;

	intercepts[vp]++;
	bad_fields[vp] += !ok;
	reads[vp] += access == 0;
	writes[vp] += access == 1;
	vsm_intercept_skip(m, *(const uint64_t *)(b + 112));	/* VTL0's RAX back */
	hv_message_free(m);
	apic_eoi();
}

static void vtl1_setup(void)
{
	unsigned int vp = apic_id_any();

	vsm_take_intercepts(simp[vp], INTERCEPT_VEC);
	if (vp == 0) {
		vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 1 | 0xf << 1);
		for (unsigned int i = 1; i < ncpus; i++)
			vsm_enable_vp_vtl1(i);
	}
}

/* Whether every AP's VTL1 got an intercept since `before` was taken. */
static bool all_hit(const unsigned int *before)
{
	for (unsigned int vp = 1; vp < ncpus; vp++)
		if (intercepts[vp] == before[vp])
			return false;
	return true;
}

/*
 * VTL1 on VP0: protect, look at the page, wait until every AP ran into the
 * protection (at most 100 ms), check the page did not change, unprotect.
 */
static void vtl1_toggle(void)
{
	unsigned int before[MAX_VPS];
	uint64_t snap[8], st, end;

	for (unsigned int vp = 0; vp < ncpus; vp++)
		before[vp] = intercepts[vp];
	st = protect(0);
	memcpy(snap, target, sizeof(snap));
	end = hv_ref_time() + 100 * 10000;
	while (!all_hit(before) && hv_ref_time() < end)
		pause();
	windows_all_hit += all_hit(before);
	if (memcmp(snap, target, sizeof(snap)))
		changed_while_protected++;
	st |= protect(0xf);
	toggle_status |= st & 0xffff;
}

/* VTL0 on an AP: read and write the page (its own qword of it) until told to stop. */
static void hammer(unsigned int vp)
{
	while (!stop) {
		uint64_t v = 0, mark = (uint64_t)vp << 56 | rounds[vp];

		__asm__ volatile(".globl hammer_read\nhammer_read: movq (%%rbx), %%rax"
				 : "+a"(v) : "b"(target + 8 * vp) : "memory");
		__asm__ volatile(".globl hammer_write\nhammer_write: movq %%rax, (%%rbx)"
				 : : "a"(mark), "b"(target + 8 * vp) : "memory");
		rounds[vp]++;
	}
}

void ap_main(unsigned int id)
{
	apic_enable();
	vsm_call(vtl1_setup, 0, 0);
	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
	while (!go)
		pause();
	hammer(id);
	__atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
	for (;;)
		hlt();
}

void test_main(const struct mb_info *mbi)
{
	ncpus = (unsigned int)cmdline_u64(mbi, "cpus", 2);
	hv_enable_hypercalls();
	apic_enable();
	target = alloc_zeroed(4096);
	for (unsigned int vp = 0; vp < ncpus; vp++)
		simp[vp] = alloc_zeroed(4096);
	set_irq_handler(INTERCEPT_VEC, on_intercept);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_setup, 0, 0);
	for (unsigned int vp = 1; vp < ncpus; vp++)
		CHECK_EQ(vsm_start_vp(vp, 0), 0);
	check(WAIT_UNTIL(ready == ncpus - 1, WAIT_US), "all APs set up VTL1 (%u)", ready);

	go = true;
	for (unsigned int i = 0; i < TOGGLES; i++)
		vsm_call(vtl1_toggle, 0, 0);
	stop = true;
	check(WAIT_UNTIL(done == ncpus - 1, WAIT_US), "every AP finished hammering (%u)", done);

	CHECK_EQ(toggle_status, 0);
	CHECK_EQ(changed_while_protected, 0);
	check(windows_all_hit >= TOGGLES / 2, "every AP ran into the protection in %u of %u windows", windows_all_hit,
	      TOGGLES);
	for (unsigned int vp = 1; vp < ncpus; vp++) {
		check(intercepts[vp] > 0, "VP%u's VTL1 got intercepts (%u)", vp, intercepts[vp]);
		CHECK_EQ(bad_fields[vp], 0);
		CHECK_EQ(reads[vp] + writes[vp], intercepts[vp]);
		/* A round stopped at its read (page protected) is stopped at its write too, unless lifted between. */
		check(writes[vp] + 1 >= reads[vp] / 2 && writes[vp] <= rounds[vp], "VP%u: %u reads, %u writes of %llu rounds",
		      vp, reads[vp], writes[vp], (unsigned long long)rounds[vp]);
	}
	CHECK_EQ(intercepts[0], 0);
}
