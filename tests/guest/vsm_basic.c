/*
 * VSM basics (run with --vtls 2): CPUID, VSM registers, EnablePartitionVtl,
 * EnableVpVtl, VtlCall/VtlReturn with their #UD rules, entry reasons, RAX/RCX
 * on return, shared and private registers across the switch, and
 * Get/SetVpRegisters between the VTLs with their VTL rules.
 */
#include "lib/vsm.h"

#define LSTAR 0xc0000082
#define FS_BASE 0xc0000100
#define STAR 0xc0000081
#define SYSENTER_EIP 0x176

static volatile uint64_t seen[16];

static void test_cpuid_and_registers(void)
{
	uint32_t r[4];
	uint64_t v;

	cpuid(0x40000003, 0, r);
	CHECK_EQ(r[1], 0x30 | (1u << 16) | (1u << 17) | (1u << 21));	/* + AccessVsm, VpRegisters, StartVp */
	CHECK_EQ(vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_STATUS, &v), 1ull << 32);
	CHECK_EQ(v, 0x1 | 1u << 16);			/* VTL0 enabled, maximum VTL 1 */
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	CHECK_EQ(v, 0x10000);				/* active VTL0, enabled {0} */
	vsm_get_reg(~1u, 0, HV_REG_VSM_CAPABILITIES, &v);
	CHECK_EQ(v, 1u << 17 | 1u << 27);		/* DenyLowerVtlStartup, InterceptPageAvailable */
	vsm_get_reg(~1u, 0, HV_REG_VSM_CODE_PAGE_OFFSETS, &v);
	CHECK_EQ(v, 0x0f | 0x26 << 12);
	CHECK_EQ(HV_RESULT_STATUS(vsm_set_reg(~1u, 0, HV_REG_VSM_VP_STATUS, 0)), HV_STATUS_INVALID_PARAMETER);
	/* VTL0 has no partition-config instance; VTL0 cannot name VTL1. */
	CHECK_EQ(HV_RESULT_STATUS(vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, &v)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_STATUS(vsm_get_reg(~1u, HV_INPUT_VTL(1), HV_REG_RIP, &v)), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(HV_RESULT_STATUS(vsm_get_reg(~1u, 0x20, HV_REG_RIP, &v)), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_STATUS(vsm_get_reg(5, 0, HV_REG_RIP, &v)), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(HV_RESULT_STATUS(vsm_get_reg(~1u, 0, 0x12345, &v)), HV_STATUS_INVALID_PARAMETER);
	/* Own registers by name. */
	wrmsr(LSTAR, 0x1111000);
	CHECK_EQ(vsm_get_reg(~1u, 0, HV_REG_LSTAR, &v), 1ull << 32);
	CHECK_EQ(v, 0x1111000);
	CHECK_EQ(vsm_get_reg(~1u, 0, HV_REG_GUEST_OS_ID, &v), 1ull << 32);
	CHECK_EQ(v, HV_GUEST_OS_ID_KVSM_TESTS);
}

static void test_enable(void)
{
	uint64_t *in = alloc_zeroed(4096);

	/* No VTL1 on this VP yet: VtlCall raises #UD. */
	vsm_raw_vtl_call(0);
	CHECK(hv_hypercall_ud);
	in[0] = ~0ull;
	in[1] = 2;				/* above the maximum VTL */
	CHECK_EQ(hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)in, 0), HV_STATUS_INVALID_PARAMETER);
	in[1] = 0;				/* VTL0 is always enabled */
	CHECK_EQ(hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)in, 0), HV_STATUS_INVALID_PARAMETER);
	in[1] = 1 | 1 << 8;			/* EnableMbec: not offered */
	CHECK_EQ(hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)in, 0), HV_STATUS_INVALID_PARAMETER);
	in[0] = 7, in[1] = 1;
	CHECK_EQ(hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)in, 0), HV_STATUS_INVALID_PARTITION_ID);
	/* EnableVpVtl before the partition has VTL1. */
	CHECK_EQ(vsm_enable_vp_vtl1(0), HV_STATUS_INVALID_VTL_STATE);
	CHECK_EQ(vsm_enable_partition_vtl1(), HV_STATUS_SUCCESS);
	CHECK_EQ(vsm_enable_partition_vtl1(), HV_STATUS_VTL_ALREADY_ENABLED);
	CHECK_EQ(vsm_enable_vp_vtl1(9), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(vsm_enable_vp_vtl1(0), HV_STATUS_SUCCESS);
	/* Again from VTL0: VTL1 is now enabled on a VP, so only VTL1 may enable it (ACCESS_DENIED wins). */
	CHECK_EQ(vsm_enable_vp_vtl1(0), HV_STATUS_ACCESS_DENIED);
	/* VtlReturn from VTL0 and a VtlCall with a non-zero control input: #UD. */
	vsm_raw_vtl_return(0);
	CHECK(hv_hypercall_ud);
	vsm_raw_vtl_call(1);
	CHECK(hv_hypercall_ud);
}

static void in_vtl1_status(void)
{
	uint64_t v;

	seen[0] = vsm_current_vtl();
	vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v);
	seen[1] = v;
	vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_STATUS, &v);
	seen[2] = v;
	/* VTL1 reads VTL0's private state. */
	seen[3] = vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, &v);
	seen[4] = v;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &v);
	seen[5] = v;
	seen[6] = rdmsr(LSTAR);				/* VTL1's own LSTAR */
	wrmsr(LSTAR, 0x2222000);
	vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, &v);
	seen[7] = v;
	/* DenyLowerVtlStartup, EnableVtlProtection with DefaultVtlProtectionMask R|W|KX (= RWX without MBEC) */
	seen[8] = vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 0x40 | 0x0f);
	seen[9] = vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 0x40 | 0x3);		/* write-once: refused */
	seen[10] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, 0x3333000);		/* VTL1 writes VTL0's */
	seen[11] = vsm_get_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0, &v);
	seen[12] = vsm_set_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0 + 1, 0);	/* not below VTL1 */
}

static void test_call_return(void)
{
	struct vtl1_vp *me = &vtl1_vps[0];
	uint64_t v;

	vsm_call(in_vtl1_status, 0, 0);
	CHECK_EQ(me->entries, 1);
	CHECK_EQ(seen[0], 1);
	CHECK_EQ(seen[1], 1 | 3u << 16);		/* active VTL1, enabled {0, 1} */
	CHECK_EQ(seen[2], 3 | 1u << 16);
	CHECK_EQ(seen[3], 1ull << 32);
	CHECK_EQ(seen[4], 0x1111000);
	CHECK_EQ(seen[5], (uint64_t)hv_hypercall_page + 0x0f + 11);	/* after VTL0's call thunk's port write */
	CHECK_EQ(seen[6], 0);				/* VTL1's LSTAR is its own */
	CHECK_EQ(seen[7], 0);
	CHECK_EQ(seen[8], 1ull << 32);
	CHECK_EQ(HV_RESULT_STATUS(seen[9]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(seen[10], 1ull << 32);
	CHECK_EQ(seen[11], 1ull << 32);
	CHECK_EQ(HV_RESULT_STATUS(seen[12]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(rdmsr(LSTAR), 0x3333000);		/* written by VTL1 for VTL0 */
	CHECK_EQ(vsm_current_vtl(), 0);
	/* The second entry carries entry reason VTL call in VTL1's assist page. */
	vsm_call(0, 0, 0);
	CHECK_EQ(me->entries, 2);
	CHECK_EQ(me->last_entry_reason, 1);
	/* DenyLowerVtlStartup now refuses VTL0's StartVirtualProcessor (VP 1 does not exist here anyway). */
	CHECK_EQ(vsm_get_reg(~1u, 0, HV_REG_VSM_VP_STATUS, &v), 1ull << 32);
	CHECK_EQ(v, 0 | 3u << 16);
}

static void leave_return_values(void)
{
	struct vtl1_vp *me = &vtl1_vps[0];

	*(uint64_t *)(me->assist + 0x10) = 0xaaaa5555;
	*(uint64_t *)(me->assist + 0x18) = 0xbbbb6666;
	me->exit.r12 = 0x1200 + me->entry.r12;		/* shared: VTL0 sees VTL1's changes */
	me->exit.rbx = me->entry.rbx ^ 0xff;
	me->return_control = seen[15];			/* bit 0: fast return */
}

static void test_shared_registers(void)
{
	struct vsm_gprs in = { .rbx = 0x0b0b, .rdx = 0xd0d0, .rsi = 0x5151, .rdi = 0xd1d1, .rbp = 0xb9b9,
			       .r8 = 8, .r9 = 9, .r10 = 10, .r11 = 11, .r12 = 12, .r13 = 13, .r14 = 14, .r15 = 15 };
	struct vtl1_vp *me = &vtl1_vps[0];
	struct vsm_gprs out;
	uint64_t r;

	seen[15] = 0;
	r = vsm_call(leave_return_values, &in, &out);
	CHECK_EQ(me->entry.rbx, 0x0b0b);
	CHECK_EQ(me->entry.rdx, 0xd0d0);
	CHECK_EQ(me->entry.rdi, 0xd1d1);
	CHECK_EQ(me->entry.rbp, 0xb9b9);
	CHECK_EQ(me->entry.r8, 8);
	CHECK_EQ(me->entry.r15, 15);
	CHECK_EQ(me->entry.rcx, 0x11);			/* the call thunk leaves the call code in RCX */
	CHECK_EQ(me->entry.rax, 0);			/* and the control input in RAX */
	/* Non-fast return: RAX and RCX come from VTL1's assist page. */
	CHECK_EQ(r, 0xaaaa5555);
	CHECK_EQ(out.rcx, 0xbbbb6666);
	CHECK_EQ(out.r12, 0x1200 + 12);
	CHECK_EQ(out.rbx, 0x0b0b ^ 0xff);
	CHECK_EQ(out.r13, 13);
	/* Fast return: RAX/RCX as the return thunk left them (control input, call code 0x12). */
	seen[15] = 1;
	r = vsm_call(leave_return_values, &in, &out);
	CHECK_EQ(r, 1);
	CHECK_EQ(out.rcx, 0x12);
	me->return_control = 0;
}

static void vtl1_private_state(void)
{
	uint64_t cr4;

	seen[0] = rdmsr(FS_BASE);
	seen[1] = rdmsr(STAR);
	seen[2] = rdmsr(SYSENTER_EIP);
	__asm__ volatile("mov %%cr2, %0" : "=r"(seen[3]));
	__asm__ volatile("mov %%dr0, %0" : "=r"(seen[4]));
	__asm__ volatile("mov %%dr7, %0" : "=r"(seen[5]));
	wrmsr(FS_BASE, 0x7000);
	wrmsr(STAR, 0x0023001000000000ull);
	wrmsr(SYSENTER_EIP, 0x7777);
	__asm__ volatile("mov %0, %%dr1" :: "r"(0x6000ull));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" :: "r"(cr4 | (1u << 8)));	/* CR4.PCE in VTL1 only */
	seen[6] = rdmsr(HV_X64_MSR_HYPERCALL);
}

static void test_private_state(void)
{
	uint64_t cr2 = 0xc2c2000, dr0 = 0x5000, v, cr4;

	wrmsr(FS_BASE, 0x3000);
	wrmsr(STAR, 0x0013000800000000ull);
	wrmsr(SYSENTER_EIP, 0x3333);
	__asm__ volatile("mov %0, %%cr2" :: "r"(cr2));
	__asm__ volatile("mov %0, %%dr0" :: "r"(dr0));
	__asm__ volatile("mov %0, %%dr7" :: "r"(0x400ull | (1ull << 16)));	/* RW0 = write, not enabled */
	vsm_call(vtl1_private_state, 0, 0);
	CHECK_EQ(seen[0], 0);				/* VTL1's FS base: its own */
	CHECK_EQ(seen[1], 0);
	CHECK_EQ(seen[2], 0);
	CHECK_EQ(seen[3], cr2);				/* CR2: shared */
	CHECK_EQ(seen[4], dr0);				/* DR0-3: shared */
	CHECK_EQ(seen[5], 0x400);			/* DR7: private */
	CHECK_EQ(seen[6], (uint64_t)vtl1_hypercall_page | 1);	/* HYPERCALL: per VTL */
	CHECK_EQ(rdmsr(FS_BASE), 0x3000);
	CHECK_EQ(rdmsr(STAR), 0x0013000800000000ull);
	CHECK_EQ(rdmsr(SYSENTER_EIP), 0x3333);
	CHECK_EQ(rdmsr(HV_X64_MSR_HYPERCALL), (uint64_t)hv_hypercall_page | 1);
	__asm__ volatile("mov %%dr1, %0" : "=r"(v));
	CHECK_EQ(v, 0x6000);
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	CHECK_EQ(v, 0x400 | (1ull << 16));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	CHECK_EQ(cr4 & (1u << 8), 0);
}

/* XMM registers are shared: what one VTL leaves in them, the other finds (guest C code never uses them). */
static uint64_t xmm_in[2] = { 0x0123456789abcdefull, 0xfedcba9876543210ull }, xmm_vtl1[2], xmm_back[2];

static void vtl1_xmm(void)
{
	static const uint64_t b[2] = { 0x1111222233334444ull, 0x5555666677778888ull };

	__asm__ volatile("movdqu %%xmm3, %0" : "=m"(xmm_vtl1));
	__asm__ volatile("movdqu %0, %%xmm4" :: "m"(b));
}

static void test_shared_xmm(void)
{
	__asm__ volatile("movdqu %0, %%xmm3" :: "m"(xmm_in));
	vsm_call(vtl1_xmm, 0, 0);
	__asm__ volatile("movdqu %%xmm4, %0" : "=m"(xmm_back));
	CHECK_EQ(xmm_vtl1[0], xmm_in[0]);
	CHECK_EQ(xmm_vtl1[1], xmm_in[1]);
	CHECK_EQ(xmm_back[0], 0x1111222233334444ull);
	CHECK_EQ(xmm_back[1], 0x5555666677778888ull);
	/* And again with nothing changed in VTL1: kvsm may skip the copy, the values must not change. */
	vsm_call(0, 0, 0);
	__asm__ volatile("movdqu %%xmm4, %0" : "=m"(xmm_back));
	CHECK_EQ(xmm_back[0], 0x1111222233334444ull);
}

/* Private MSRs: each VTL keeps its own value (spec 4.3). */
static const struct { uint32_t msr; uint64_t vtl0, vtl1; } private_msrs[] = {
	{ 0xc0000101, 0x11110000, 0x22220000 },		/* GS_BASE */
	{ 0xc0000102, 0x33330000, 0x44440000 },		/* KERNEL_GS_BASE */
	{ 0xc0000083, 0x55550000, 0x66660000 },		/* CSTAR */
	{ 0xc0000084, 0x700, 0x4700 },			/* SFMASK */
	{ 0x174, 0x8, 0x10 },				/* SYSENTER_CS */
	{ 0x175, 0x77770000, 0x88880000 },		/* SYSENTER_ESP */
	{ 0x277, 0x0007010600070106ull, 0x0006040600070406ull },	/* PAT */
};
static volatile uint64_t vtl1_initial[8];

static void vtl1_private_msrs(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(private_msrs); i++) {
		vtl1_initial[i] = rdmsr(private_msrs[i].msr);
		wrmsr(private_msrs[i].msr, private_msrs[i].vtl1);
	}
}

static void vtl1_read_private_msrs(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(private_msrs); i++)
		vtl1_initial[i] = rdmsr(private_msrs[i].msr);
}

static void test_private_msrs(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(private_msrs); i++)
		wrmsr(private_msrs[i].msr, private_msrs[i].vtl0);
	vsm_call(vtl1_private_msrs, 0, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(private_msrs); i++) {
		/* VTL1 started with its own reset values (its initial context set PAT), not VTL0's. */
		CHECK_EQ(vtl1_initial[i], private_msrs[i].msr == 0x277 ? 0x0007040600070406ull : 0);
		CHECK_EQ(rdmsr(private_msrs[i].msr), private_msrs[i].vtl0);
	}
	vsm_call(vtl1_read_private_msrs, 0, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(private_msrs); i++)
		CHECK_EQ(vtl1_initial[i], private_msrs[i].vtl1);
	wrmsr(0x277, 0x0007040600070406ull);
}

static void vtl1_mtrrs(void)
{
	seen[0] = rdmsr(0x202);
	wrmsr(0x204, 0x20000000);		/* PhysBase2: UC at 512 MiB */
	seen[1] = wrmsr_safe(0x206, 0x7);	/* PhysBase3 type 7 is reserved: #GP, in every VTL */
}

/* MTRRs are shared: a write in either VTL shows in the other. */
static void test_shared_mtrrs(void)
{
	wrmsr(0x202, 0x40000006);		/* PhysBase1: WB at 1 GiB */
	vsm_call(vtl1_mtrrs, 0, 0);
	CHECK_EQ(seen[0], 0x40000006);
	CHECK_EQ(rdmsr(0x204), 0x20000000);
	CHECK_EQ(seen[1], 0);
	CHECK_EQ(rdmsr(0x206), 0);
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	test_cpuid_and_registers();
	test_enable();
	test_call_return();
	test_shared_registers();
	test_private_state();
	test_shared_mtrrs();
	test_private_msrs();
	test_shared_xmm();
}
