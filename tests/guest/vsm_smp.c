/*
 * VSM on several VPs (run with --vtls 2 --smp 4): VTL0 enables VTL1 on VP0,
 * VTL1 enables it on VPs 1-3 (VTL0 may not once VTL1 runs somewhere), VTL0
 * starts the APs with HvCallStartVirtualProcessor. On each VP, VTL1 runs on
 * its own stack with its own VP assist page and sees its VP's index and
 * VsmVpStatus; VTL calls on all four VPs at once keep their counts apart;
 * VTL1 on VP0 reads VP2's VTL0 and VTL1 state and writes VP2's VTL0 LSTAR
 * and RIP with Get/SetVpRegisters, which VP2 then runs with. While VP3 runs
 * VTL1, VP0's VTL0 can neither read nor write any of VP3's registers (its
 * shared ones are VTL1's live values): ACCESS_DENIED until VP3 is back in VTL0.
 */
#include "lib/vsm.h"

#define NVPS		4
#define LSTAR		0xc0000082
#define WAKE_VEC	0x51
#define CONCURRENT_CALLS 20
#define WAIT_US		5000000		/* only reached when something is wrong */

/* What VTL1 reports about itself on each VP (an AP's first VTL call; VP0's third). */
static struct {
	uint64_t vp_status, vp_index, rsp, assist_msr, vtl0_assist, guest_os_id;
	bool reported;
} vtl1_info[NVPS];

static volatile uint64_t enable_status[NVPS], enable_again_status, enable_bad_vp_status;
static volatile unsigned int vtl1_count[NVPS];	/* incremented by VTL1 on each VP */
static volatile unsigned int vtl_call_reasons[NVPS];	/* entries with reason VTL call in that VP's page */
static volatile unsigned int aps_ready, aps_done, bad_returns[NVPS], loop_entries[NVPS];
static volatile bool go;

/* VP2's part of the cross-VP test. */
static volatile bool vp2_parked, vp2_go, vp2_back;
static volatile uint64_t vp2_lstar_after;
extern char vp2_after_hlt[], vp2_wait_exit[];
void vp2_wait(void);

/* VP3's part of the "no reach into a higher VTL" test. */
#define VP3_SECRET	0x5ec2e7000000a11cull
static volatile bool vp3_in_vtl1, vp3_release, vp3_back;
static volatile uint64_t vp3_r13_after;

/*
 * VP2 sleeps here in VTL0 until vp2_go, which nobody sets: while halted its
 * RIP is exactly vp2_after_hlt (HLT completes before the VP waits), and the
 * only way out is VP0's VTL1 moving that RIP to vp2_wait_exit. Only
 * WAKE_VEC wakes it.
 */
__asm__(".text\n"
	".globl vp2_wait\n"
	"vp2_wait:\n"
	"1:	cli\n"
	"	cmpb $0, vp2_go(%rip)\n"
	"	jne 2f\n"
	"	sti\n"
	"	hlt\n"
	".globl vp2_after_hlt\n"
	"vp2_after_hlt:\n"
	"	jmp 1b\n"
	".globl vp2_wait_exit\n"
	"vp2_wait_exit:\n"
	"2:	ret\n");

static void wake_irq(struct irq_frame *f)
{
	apic_eoi();
}

static uint64_t read_rsp(void)
{
	uint64_t rsp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
	return rsp;
}

/* VTL1 on VP0: enable VTL1 on the APs (spec 4.1 step 6). */
static void vtl1_enable_aps(void)
{
	for (unsigned int vp = 1; vp < NVPS; vp++)
		enable_status[vp] = vsm_enable_vp_vtl1(vp);
	enable_again_status = vsm_enable_vp_vtl1(2);
	enable_bad_vp_status = vsm_enable_vp_vtl1(NVPS);
}

/* VTL1, first entry on each VP: what this VP's VTL1 sees. */
static void vtl1_report(void)
{
	unsigned int vp = apic_id_any();
	uint64_t v = 0;

	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	vtl1_info[vp].vp_status = v;
	vtl1_info[vp].vp_index = rdmsr(HV_X64_MSR_VP_INDEX);
	vtl1_info[vp].rsp = read_rsp();
	vtl1_info[vp].assist_msr = rdmsr(HV_X64_MSR_VP_ASSIST_PAGE);
	vtl1_info[vp].guest_os_id = rdmsr(HV_X64_MSR_GUEST_OS_ID);
	vsm_get_reg(~1u, HV_INPUT_VTL(0), 0x90013, &v);		/* VpAssistPage of this VP's VTL0 */
	vtl1_info[vp].vtl0_assist = v;
	vtl1_info[vp].reported = true;
}

/* VTL1: count this VP's calls, and hand back a value derived from a shared register. */
static void vtl1_count_call(void)
{
	unsigned int vp = apic_id_any();
	struct vtl1_vp *me = &vtl1_vps[vp];

	vtl1_count[vp]++;
	if (*(volatile uint32_t *)(me->assist + 8) == 1)
		vtl_call_reasons[vp]++;
	me->exit.r12 = me->entry.r12 * 3 + vp;
}

/* Each VP (VTL0): CONCURRENT_CALLS VTL calls, checking the register VTL1 hands back each time. */
static void call_loop(unsigned int vp)
{
	unsigned int entries0 = vtl1_vps[vp].entries;

	for (unsigned int i = 0; i < CONCURRENT_CALLS; i++) {
		struct vsm_gprs in = { .r12 = 1000 * vp + i }, out;

		vsm_call(vtl1_count_call, &in, &out);
		if (out.r12 != in.r12 * 3 + vp)
			bad_returns[vp]++;
	}
	loop_entries[vp] = vtl1_vps[vp].entries - entries0;	/* VTL1 entries on this VP */
}

/* VTL1 on VP3: hold R12 and R13 = VP3_SECRET until VP0 releases it; report R13 as it was then. */
static void vtl1_hold(void)
{
	uint64_t r13;

	vp3_in_vtl1 = true;
	__asm__ volatile("mov %2, %%r12\n\t"
			 "mov %2, %%r13\n\t"
			 "1: pause\n\t"
			 "cmpb $0, %1\n\t"
			 "je 1b\n\t"
			 "mov %%r13, %0"
			 : "=r"(r13) : "m"(vp3_release), "r"(VP3_SECRET) : "r12", "r13", "memory");
	vp3_r13_after = r13;
}

void ap_main(unsigned int id)
{
	set_irq_handler(WAKE_VEC, wake_irq);
	apic_enable();
	vsm_call(vtl1_report, 0, 0);
	__atomic_add_fetch(&aps_ready, 1, __ATOMIC_SEQ_CST);
	while (!WAIT_UNTIL(go, WAIT_US))
		;
	call_loop(id);
	__atomic_add_fetch(&aps_done, 1, __ATOMIC_SEQ_CST);
	if (id == 2) {
		wrmsr(LSTAR, 0x2222000);
		vp2_parked = true;
		vp2_wait();
		vp2_lstar_after = rdmsr(LSTAR);
		vp2_back = true;
	}
	if (id == 3) {
		vsm_call(vtl1_hold, 0, 0);
		vp3_back = true;
	}
	cli();
}

/* VTL1 on VP0: VP2's VTL0 state, while VP2 sleeps in vp2_wait. */
static struct {
	uint64_t rip_status, rip, lstar_status, lstar, set_status, status_of_vp2, vp2_vtl1_assist, vp0_lstar;
	uint64_t vp2_vtl1_rip, rip_set_status, rip_after;
	unsigned int rip_polls;
} cross;

static void vtl1_cross_vp(void)
{
	uint64_t v = 0;

	/* VP2 may still be on its way into the HLT: poll until it sleeps there. */
	for (cross.rip_polls = 1; cross.rip_polls < 1000; cross.rip_polls++) {
		cross.rip_status = vsm_get_reg(2, HV_INPUT_VTL(0), HV_REG_RIP, &v);
		if (cross.rip_status != 1ull << 32 || v == (uint64_t)vp2_after_hlt)
			break;
	}
	cross.rip = v;
	cross.lstar_status = vsm_get_reg(2, HV_INPUT_VTL(0), HV_REG_LSTAR, &v);
	cross.lstar = v;
	cross.set_status = vsm_set_reg(2, HV_INPUT_VTL(0), HV_REG_LSTAR, 0x2bbb000);
	vsm_get_reg(2, HV_INPUT_VTL(0), HV_REG_VSM_VP_STATUS, &v);
	cross.status_of_vp2 = v;
	vsm_get_reg(2, HV_INPUT_VTL(1), 0x90013, &v);		/* VP2's VTL1 VpAssistPage */
	cross.vp2_vtl1_assist = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, &v);	/* VP0's own VTL0: untouched */
	cross.vp0_lstar = v;
	vsm_get_reg(2, HV_INPUT_VTL(1), HV_REG_RIP, &v);	/* VP2's idle VTL1: after its return thunk */
	cross.vp2_vtl1_rip = v;
	/* Move VP2's VTL0 out of its wait loop: it resumes there once woken. */
	cross.rip_set_status = vsm_set_reg(2, HV_INPUT_VTL(0), HV_REG_RIP, (uint64_t)vp2_wait_exit);
	vsm_get_reg(2, HV_INPUT_VTL(0), HV_REG_RIP, &v);
	cross.rip_after = v;
}

static void test_bring_up(void)
{
	uint64_t v = 0;

	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	/* Once VTL1 runs on a VP, only VTL1 (>= the target) enables it elsewhere (spec 3.3). */
	CHECK_EQ(vsm_enable_vp_vtl1(1), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_enable_vp_vtl1(3), HV_STATUS_ACCESS_DENIED);
	vsm_call(vtl1_enable_aps, 0, 0);
	CHECK_EQ(enable_status[1], 0);
	CHECK_EQ(enable_status[2], 0);
	CHECK_EQ(enable_status[3], 0);
	CHECK_EQ(enable_again_status, HV_STATUS_VTL_ALREADY_ENABLED);
	CHECK_EQ(enable_bad_vp_status, HV_STATUS_INVALID_VP_INDEX);
	/* VP3 has VTL1 now but has not run: active VTL0, enabled {0, 1}. */
	CHECK_EQ(vsm_get_reg(3, 0, HV_REG_VSM_VP_STATUS, &v), 1ull << 32);
	CHECK_EQ(v, 0 | 3u << 16);
	/* Start the APs in VTL0; a VTL0 caller cannot start one in VTL1. */
	CHECK_EQ(vsm_start_vp(1, 1), HV_STATUS_ACCESS_DENIED);
	for (unsigned int vp = 1; vp < NVPS; vp++)
		CHECK_EQ(vsm_start_vp(vp, 0), 0);
	CHECK_EQ(vsm_start_vp(3, 0), HV_STATUS_INVALID_VP_STATE);	/* already running */
	check(WAIT_UNTIL(aps_ready == NVPS - 1, WAIT_US), "all APs made their first VTL call (%u)", aps_ready);
}

static void test_per_vp_vtl1(void)
{
	vsm_call(vtl1_report, 0, 0);
	for (unsigned int vp = 0; vp < NVPS; vp++) {
		uint64_t stack = (uint64_t)vtl1_stacks[vp];

		CHECK(vtl1_info[vp].reported);
		CHECK_EQ(vtl1_info[vp].vp_status, 1 | 3u << 16);	/* active VTL1, enabled {0, 1} */
		CHECK_EQ(vtl1_info[vp].vp_index, vp);
		check(stack && vtl1_info[vp].rsp > stack && vtl1_info[vp].rsp <= stack + VSM_STACK_SIZE,
		      "VP%u VTL1 RSP 0x%llx in its own stack [0x%llx, +0x%x)", vp,
		      (unsigned long long)vtl1_info[vp].rsp, (unsigned long long)stack, VSM_STACK_SIZE);
		CHECK_EQ(vtl1_info[vp].guest_os_id, HV_GUEST_OS_ID_KVSM_TESTS + 1);
		/* Each VP's VTL1 has its own assist page, and its VTL0 none (per VP, per VTL). */
		CHECK_EQ(vtl1_info[vp].assist_msr, (uint64_t)vtl1_vps[vp].assist | 1);
		CHECK_EQ(vtl1_info[vp].vtl0_assist, 0);
		for (unsigned int o = 0; o < vp; o++)
			check(vtl1_vps[o].assist != vtl1_vps[vp].assist, "VP%u and VP%u VTL1 assist pages differ", o, vp);
	}
	/* The stacks are disjoint (each VP's RSP lies in its own). */
	for (unsigned int vp = 1; vp < NVPS; vp++)
		CHECK(vtl1_stacks[vp] != vtl1_stacks[0]);
}

static void test_concurrent_calls(void)
{
	go = true;
	for (unsigned int vp = 1; vp < NVPS; vp++)
		apic_send_ipi(vp, WAKE_VEC);		/* out of their WAIT_UNTIL sleep at once */
	call_loop(0);
	check(WAIT_UNTIL(aps_done == NVPS - 1, WAIT_US), "all APs finished their VTL calls (%u)", aps_done);
	for (unsigned int vp = 0; vp < NVPS; vp++) {
		CHECK_EQ(vtl1_count[vp], CONCURRENT_CALLS);
		CHECK_EQ(vtl_call_reasons[vp], CONCURRENT_CALLS);	/* written into this VP's own page */
		CHECK_EQ(loop_entries[vp], CONCURRENT_CALLS);
		CHECK_EQ(bad_returns[vp], 0);
	}
}

static void test_cross_vp_registers(void)
{
	CHECK(WAIT_UNTIL(vp2_parked, WAIT_US));
	wrmsr(LSTAR, 0x0000111000);
	vsm_call(vtl1_cross_vp, 0, 0);
	CHECK_EQ(cross.rip_status, 1ull << 32);
	CHECK_EQ(cross.rip, (uint64_t)vp2_after_hlt);		/* VP2's VTL0, asleep after its HLT */
	CHECK_EQ(cross.lstar_status, 1ull << 32);
	CHECK_EQ(cross.lstar, 0x2222000);			/* what VP2 wrote, not VP0's */
	CHECK_EQ(cross.set_status, 1ull << 32);
	CHECK_EQ(cross.status_of_vp2, 0 | 3u << 16);		/* VP2 runs VTL0 */
	CHECK_EQ(cross.vp2_vtl1_assist, (uint64_t)vtl1_vps[2].assist | 1);
	CHECK_EQ(cross.vp0_lstar, 0x0000111000);
	CHECK_EQ(rdmsr(LSTAR), 0x0000111000);
	CHECK_EQ(cross.vp2_vtl1_rip, (uint64_t)vtl1_hypercall_page + 0x26 + 11);
	CHECK_EQ(cross.rip_set_status, 1ull << 32);
	CHECK_EQ(cross.rip_after, (uint64_t)vp2_wait_exit);
	/* Wake VP2: it leaves the loop at the new RIP and sees the LSTAR VP0's VTL1 wrote for it. */
	apic_send_ipi(2, WAKE_VEC);
	CHECK(WAIT_UNTIL(vp2_back, WAIT_US));
	CHECK_EQ(vp2_lstar_after, 0x2bbb000);
}

static void test_no_reach_into_higher_vtl(void)
{
	uint64_t v = 0;

	CHECK(WAIT_UNTIL(vp3_in_vtl1, WAIT_US));
	CHECK_EQ(vsm_get_reg(3, 0, HV_REG_R12, &v), HV_STATUS_ACCESS_DENIED);
	check(v != VP3_SECRET, "VTL0 did not read VTL1's R12 on VP3");
	CHECK_EQ(vsm_set_reg(3, 0, HV_REG_R13, 0xbad), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_get_reg(3, 0, HV_REG_RIP, &v), HV_STATUS_ACCESS_DENIED);	/* the whole VP */
	CHECK_EQ(vsm_get_reg(3, 0, HV_REG_VSM_VP_STATUS, &v), 1ull << 32);	/* not architectural: allowed */
	CHECK_EQ(v, 1 | 3u << 16);					/* VP3 runs VTL1 */
	vp3_release = true;
	CHECK(WAIT_UNTIL(vp3_back, WAIT_US));
	CHECK_EQ(vp3_r13_after, VP3_SECRET);				/* the denied write changed nothing */
	CHECK_EQ(vsm_get_reg(3, 0, HV_REG_RIP, &v), 1ull << 32);	/* VTL0 again: in reach */
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	apic_enable();
	set_irq_handler(WAKE_VEC, wake_irq);
	test_bring_up();
	test_per_vp_vtl1();
	test_concurrent_calls();
	test_cross_vp_registers();
	test_no_reach_into_higher_vtl();
}
