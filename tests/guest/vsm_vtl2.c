/*
 * Three VTLs (run with --vtls 3): VTL0 enables VTL1, VTL1 enables VTL2 (only
 * the highest enabled VTL below a target may enable it, spec 3.2/3.3); VTL1
 * calls VTL2 and VTL2 returns to it; VTL0's VtlCall always enters VTL1 (the
 * next higher VTL, never skipping one); VTL2 reads the private state of both
 * lower VTLs while VTL1 may not name VTL2; the VSM register instance rules
 * with three VTLs (spec 1.7.6, 1.7.7, 3.6).
 */
#include "lib/vsm.h"

#define LSTAR 0xc0000082
#define ID(v) (HV_GUEST_OS_ID_KVSM_TESTS + (v))
#define OK_1 (1ull << 32)		/* SUCCESS, one rep done */

static volatile uint64_t vtl1_seen[32], vtl2_seen[40];
static volatile bool vtl2_ran;

/* ---- VTL1 ---- */

static void vtl1_enable_partition_vtl2(void)
{
	vtl1_seen[0] = vsm_enable_partition_vtl(2);
	vtl1_seen[1] = vsm_enable_partition_vtl(2);
}

static void vtl1_enable_vp_vtl2(void)
{
	uint64_t v = 0;

	vtl1_seen[0] = vsm_enable_vp_vtl(0, 2);
	vtl1_seen[1] = vsm_enable_vp_vtl(0, 2);
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	vtl1_seen[2] = v;
}

/* VTL2: nothing but the first-entry set-up of its pages (entry reason only from the next entry on). */
static void vtl2_nothing(void)
{
	vtl2_ran = true;
}

static uint64_t rsp_now(void)
{
	uint64_t rsp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
	return rsp;
}

/* VTL2: what it sees of itself and of the VTLs below it. */
static void vtl2_inspect(void)
{
	struct vtl1_vp *me = &vtl2_vps[0];
	uint64_t v = 0;

	vtl2_seen[0] = vsm_current_vtl();
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	vtl2_seen[1] = v;
	vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_STATUS, &v);
	vtl2_seen[2] = v;
	vtl2_seen[3] = *(volatile uint32_t *)(me->assist + 8);	/* entry reason */
	vtl2_seen[4] = rsp_now();
	vtl2_seen[5] = rdmsr(HV_X64_MSR_HYPERCALL);
	vtl2_seen[6] = rdmsr(HV_X64_MSR_VP_ASSIST_PAGE);
	vtl2_seen[7] = rdmsr(LSTAR);				/* VTL2's own: never written */
	/* VTL1 is stopped in its call thunk, VTL0 in its own. */
	vtl2_seen[8] = vsm_get_reg(~1u, HV_INPUT_VTL(1), HV_REG_RIP, &v);
	vtl2_seen[9] = v;
	vtl2_seen[10] = vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &v);
	vtl2_seen[11] = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(1), HV_REG_LSTAR, &v);
	vtl2_seen[12] = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, &v);
	vtl2_seen[13] = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(1), HV_REG_GUEST_OS_ID, &v);
	vtl2_seen[14] = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_GUEST_OS_ID, &v);
	vtl2_seen[15] = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(2), HV_REG_GUEST_OS_ID, &v);	/* naming itself */
	vtl2_seen[16] = v;
	/* VsmVpSecureConfigVtlN lives in VTLs above N: VTL2 has the VTL0 and VTL1 instances. */
	vtl2_seen[17] = vsm_get_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0 + 1, &v);
	vtl2_seen[18] = v;
	vtl2_seen[19] = vsm_set_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0 + 1, 0);
	vtl2_seen[20] = vsm_get_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0, &v);
	vtl2_seen[21] = vsm_get_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0 + 2, &v);
	/* VsmPartitionConfig: VTL2 writes its own and VTL1's; VTL0 has none. */
	vtl2_seen[22] = vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, &v);
	vtl2_seen[23] = v;
	vtl2_seen[24] = vsm_set_reg(~1u, HV_INPUT_VTL(1), HV_REG_VSM_PARTITION_CONFIG, 0x20);	/* ZeroMemoryOnReset */
	vtl2_seen[25] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_VSM_PARTITION_CONFIG, 0x20);
	/* There is no VTL above VTL2 on this VP: VtlCall raises #UD. */
	vsm_raw_vtl_call(0);
	vtl2_seen[26] = hv_hypercall_ud;
	/* Shared registers: what VTL1 passed in, and what VTL2 hands back. */
	vtl2_seen[27] = me->entry.r12;
	vtl2_seen[28] = me->entry.rcx;
	/* VsmVina is per VTL: VTL2's own is untouched by VTL1's. */
	vsm_get_reg(~1u, 0, HV_REG_VSM_VINA, &v);
	vtl2_seen[29] = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(1), HV_REG_VSM_VINA, &v);
	vtl2_seen[30] = v;
	me->exit.r13 = 0x2213;
	*(uint64_t *)(me->assist + 0x10) = 0x2a2a;		/* VtlReturnX64Rax */
	*(uint64_t *)(me->assist + 0x18) = 0x2c2c;		/* VtlReturnX64Rcx */
}

/* VTL1: call VTL2 twice (first entry sets VTL2 up), then look at what came back. */
static void vtl1_call_vtl2(void)
{
	struct vsm_gprs in = { .r12 = 0x1212, .r13 = 0x1313 }, out;
	uint64_t v = 0;

	wrmsr(LSTAR, 0x1111000);
	vsm_set_reg(~1u, 0, HV_REG_VSM_VINA, 0xe5);		/* a vector, not enabled */
	vsm_call(vtl2_nothing, 0, 0);
	vtl1_seen[0] = vsm_call(vtl2_inspect, &in, &out);	/* RAX after VTL2's non-fast return */
	vtl1_seen[1] = out.rcx;
	vtl1_seen[2] = out.r13;
	vtl1_seen[3] = out.r12;
	vtl1_seen[4] = vsm_current_vtl();			/* back in VTL1 */
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	vtl1_seen[5] = v;
	/* VTL1 cannot name VTL2's state, nor use VTL2's instances. */
	vtl1_seen[6] = vsm_get_reg(~1u, HV_INPUT_VTL(2), HV_REG_RIP, &v);
	vtl1_seen[7] = vsm_set_reg(~1u, HV_INPUT_VTL(2), HV_REG_VSM_PARTITION_CONFIG, 0x20);
	vtl1_seen[8] = vsm_get_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0 + 1, &v);
	vtl1_seen[9] = vsm_get_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0, &v);	/* its own for VTL0 */
	/* Its partition config as VTL2 left it; VTL0 has no instance to write. */
	vtl1_seen[10] = vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, &v);
	vtl1_seen[11] = v;
	vtl1_seen[12] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_VSM_PARTITION_CONFIG, 0x20);
	vtl1_seen[13] = rdmsr(HV_X64_MSR_HYPERCALL);
	vsm_set_reg(~1u, 0, HV_REG_VSM_VINA, 0);
}

static void vtl1_whoami(void)
{
	uint64_t v = 0;

	vtl1_seen[0] = vsm_current_vtl();
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	vtl1_seen[1] = v;
	vtl1_seen[2] = *(volatile uint32_t *)(vtl1_vps[0].assist + 8);
}

/* ---- VTL0 ---- */

static void test_enable(void)
{
	uint64_t v = 0;

	CHECK_EQ(vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_STATUS, &v), OK_1);
	CHECK_EQ(v, 0x1 | 2u << 16);				/* VTL0 enabled, maximum VTL 2 */
	CHECK_EQ(vsm_enable_partition_vtl(1), 0);
	CHECK_EQ(vsm_enable_vp_vtl(0, 1), 0);
	/* VTL1 is enabled now: VTL0 is no longer the highest VTL below 2. */
	CHECK_EQ(vsm_enable_partition_vtl(2), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_enable_partition_vtl(3), HV_STATUS_INVALID_PARAMETER);	/* above the maximum */
	vsm_call(vtl1_enable_partition_vtl2, 0, 0);
	CHECK_EQ(vtl1_seen[0], 0);
	CHECK_EQ(vtl1_seen[1], HV_STATUS_VTL_ALREADY_ENABLED);
	vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_STATUS, &v);
	CHECK_EQ(v, 0x7 | 2u << 16);
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	CHECK_EQ(v, 0 | 3u << 16);				/* not on this VP yet */
	CHECK_EQ(vsm_enable_vp_vtl(0, 2), HV_STATUS_ACCESS_DENIED);	/* VTL1 lies between */
	vsm_call(vtl1_enable_vp_vtl2, 0, 0);
	CHECK_EQ(vtl1_seen[0], 0);
	CHECK_EQ(vtl1_seen[1], HV_STATUS_ACCESS_DENIED);	/* VTL2 runs now: only VTL2 may enable it again */
	CHECK_EQ(vtl1_seen[2], 1 | 7u << 16);			/* active VTL1, enabled {0, 1, 2} */
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	CHECK_EQ(v, 0 | 7u << 16);
}

static void test_vtl1_calls_vtl2(void)
{
	uint64_t stack = (uint64_t)vtl2_stacks[0];

	wrmsr(LSTAR, 0x0000100000);
	vsm_call(vtl1_call_vtl2, 0, 0);
	CHECK(vtl2_ran);
	CHECK_EQ(vtl2_vps[0].entries, 2);
	CHECK_EQ(vtl2_seen[0], 2);
	CHECK_EQ(vtl2_seen[1], 2 | 7u << 16);			/* active VTL2, enabled {0, 1, 2} */
	CHECK_EQ(vtl2_seen[2], 0x7 | 2u << 16);
	CHECK_EQ(vtl2_seen[3], 1);				/* entry reason: VTL call */
	check(stack && vtl2_seen[4] > stack && vtl2_seen[4] <= stack + VSM_STACK_SIZE,
	      "VTL2 RSP 0x%llx in its own stack", (unsigned long long)vtl2_seen[4]);
	CHECK_EQ(vtl2_seen[5], (uint64_t)vtl2_hypercall_page | 1);
	CHECK(vtl2_hypercall_page != vtl1_hypercall_page && vtl2_hypercall_page != hv_hypercall_page);
	CHECK_EQ(vtl2_seen[6], (uint64_t)vtl2_vps[0].assist | 1);
	CHECK(vtl2_vps[0].assist != vtl1_vps[0].assist);
	CHECK_EQ(vtl2_seen[7], 0);
	CHECK_EQ(vtl2_seen[8], OK_1);
	CHECK_EQ(vtl2_seen[9], (uint64_t)vtl1_hypercall_page + 0x0f + 11);	/* after VTL1's call thunk's port write */
	CHECK_EQ(vtl2_seen[10], OK_1);
	CHECK_EQ(vtl2_seen[11], (uint64_t)hv_hypercall_page + 0x0f + 11);	/* VTL0's, still in its VtlCall */
	CHECK_EQ(vtl2_seen[12], 0x1111000);
	CHECK_EQ(vtl2_seen[13], 0x0000100000);
	CHECK_EQ(vtl2_seen[14], ID(1));
	CHECK_EQ(vtl2_seen[15], ID(0));
	CHECK_EQ(vtl2_seen[16], ID(2));
	CHECK_EQ(vtl2_seen[17], OK_1);				/* SecureConfigVtl1 from VTL2 */
	CHECK_EQ(vtl2_seen[18], 0);
	CHECK_EQ(vtl2_seen[19], OK_1);
	CHECK_EQ(vtl2_seen[20], OK_1);				/* SecureConfigVtl0 from VTL2 */
	CHECK_EQ(HV_RESULT_STATUS(vtl2_seen[21]), HV_STATUS_INVALID_PARAMETER);	/* not below VTL2 */
	CHECK_EQ(vtl2_seen[22], OK_1);
	CHECK_EQ(vtl2_seen[23], 0);
	CHECK_EQ(vtl2_seen[24], OK_1);				/* VTL2 writes VTL1's instance */
	CHECK_EQ(HV_RESULT_STATUS(vtl2_seen[25]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vtl2_seen[26], 1);
	CHECK_EQ(vtl2_seen[27], 0x1212);
	CHECK_EQ(vtl2_seen[28], 0x11);				/* the call thunk's call code */
	CHECK_EQ(vtl2_seen[29], 0);
	CHECK_EQ(vtl2_seen[30], 0xe5);
	/* VTL1, after VTL2's (non-fast) VtlReturn. */
	CHECK_EQ(vtl1_seen[0], 0x2a2a);
	CHECK_EQ(vtl1_seen[1], 0x2c2c);
	CHECK_EQ(vtl1_seen[2], 0x2213);
	CHECK_EQ(vtl1_seen[3], 0x1212);
	CHECK_EQ(vtl1_seen[4], 1);
	CHECK_EQ(vtl1_seen[5], 1 | 7u << 16);
	/* A lower VTL never reaches higher-VTL state: ACCESS_DENIED (spec 3.6), also for VTL2's config instance. */
	CHECK_EQ(HV_RESULT_STATUS(vtl1_seen[6]), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(HV_RESULT_STATUS(vtl1_seen[7]), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(HV_RESULT_STATUS(vtl1_seen[8]), HV_STATUS_INVALID_PARAMETER);	/* SecureConfigVtl1 from VTL1 */
	CHECK_EQ(vtl1_seen[9], OK_1);
	CHECK_EQ(vtl1_seen[10], OK_1);
	CHECK_EQ(vtl1_seen[11], 0x20);
	CHECK_EQ(HV_RESULT_STATUS(vtl1_seen[12]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vtl1_seen[13], (uint64_t)vtl1_hypercall_page | 1);
	/* VTL0's private state came through unchanged. */
	CHECK_EQ(rdmsr(LSTAR), 0x0000100000);
	CHECK_EQ(rdmsr(HV_X64_MSR_HYPERCALL), (uint64_t)hv_hypercall_page | 1);
	CHECK_EQ(vsm_current_vtl(), 0);
}

static void test_no_skipping(void)
{
	unsigned int e1 = vtl1_vps[0].entries, e2 = vtl2_vps[0].entries;
	uint64_t v = 0;

	/* VTL0's VtlCall enters VTL1 (the next higher VTL), never VTL2 directly. */
	vsm_call(vtl1_whoami, 0, 0);
	CHECK_EQ(vtl1_vps[0].entries, e1 + 1);
	CHECK_EQ(vtl2_vps[0].entries, e2);
	CHECK_EQ(vtl1_seen[0], 1);
	CHECK_EQ(vtl1_seen[1], 1 | 7u << 16);
	CHECK_EQ(vtl1_seen[2], 1);
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	CHECK_EQ(v, 0 | 7u << 16);
	/* VTL0 names neither higher VTL. */
	CHECK_EQ(HV_RESULT_STATUS(vsm_get_reg(~1u, HV_INPUT_VTL(2), HV_REG_RIP, &v)), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(HV_RESULT_STATUS(vsm_get_reg(~1u, HV_INPUT_VTL(1), HV_REG_RIP, &v)), HV_STATUS_ACCESS_DENIED);
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	test_enable();
	test_vtl1_calls_vtl2();
	test_no_skipping();
}
