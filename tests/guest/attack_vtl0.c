/*
 * A malicious VTL0 against VTL1 (run with --vtls 2): VSM configured out of
 * order and twice, VTL1-only registers and hypercalls from VTL0, parameter
 * blocks at and past every limit and over a protected page, and synthetic
 * overlay pages (VP assist, SIEFP, reference TSC, hypercall) laid over that
 * page. Each answer is an exact status or intercept; VTL1's secret and its
 * configuration are unchanged at the end.
 */
#include "lib/vsm.h"

#define INTERCEPT_VEC	0xe5
#define SECRET		0x5ec2e75ec2e75ec2ull
#define CONFIG		(1 | 0xf << 1)		/* EnableVtlProtection, default RWX */
#define CR_INTERCEPT_CONTROL	0xE0000
#define INSTALL_INTERCEPT	0x004D
#define SKIPPED		0x51c1ed

static struct hv_message *simp1;
static uint8_t *secret, *below;			/* below: the RAM page just before the secret */
static volatile unsigned int intercepts;
static volatile uint64_t intercept_gpa, vtl1_seen[3], vtl1_status;

/* ---- VTL1 ---- */

static uint64_t protect(uint64_t gpa, uint32_t mask)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask;
	in[2] = gpa >> 12;
	return hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0);
}

/* Skip the faulting instruction and give VTL0 RAX = SKIPPED (RCX as the message has it). */
static void on_intercept(struct irq_frame *f)
{
	intercepts++;
	intercept_gpa = *(uint64_t *)(simp1->payload + 56);
	vsm_intercept_skip(simp1, SKIPPED);
	hv_message_free(simp1);
	apic_eoi();
}

static void vtl1_setup(void)
{
	vsm_take_intercepts(simp1, INTERCEPT_VEC);
	vtl1_status = vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, CONFIG) |
		      vsm_set_reg(~1u, 0, CR_INTERCEPT_CONTROL, 0) | protect((uint64_t)secret, 0);
}

/* What VTL1 sees of its own state: the secret, its partition config, its register intercepts. */
static void vtl1_look(void)
{
	vtl1_seen[0] = *(volatile uint64_t *)secret;
	vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, (uint64_t *)&vtl1_seen[1]);
	vsm_get_reg(~1u, 0, CR_INTERCEPT_CONTROL, (uint64_t *)&vtl1_seen[2]);
}

static void check_vtl1_intact(void)
{
	vsm_call(vtl1_look, 0, 0);
	CHECK_EQ(vtl1_seen[0], SECRET);
	CHECK_EQ(vtl1_seen[1], CONFIG);
	CHECK_EQ(vtl1_seen[2], 0);
}

/* ---- VTL0 ---- */

static __attribute__((noinline, noclone)) uint64_t load(const void *p)
{
	return *(volatile const uint64_t *)p;
}

static uint64_t enable_vp_vtl(uint32_t vp, uint8_t vtl)
{
	uint8_t *in = alloc_zeroed(4096);

	*(uint64_t *)in = HV_PARTITION_ID_SELF;
	*(uint32_t *)(in + 8) = vp;
	in[12] = vtl;
	return hv_hypercall(HVCALL_ENABLE_VP_VTL, (uint64_t)in, 0);
}

static uint64_t enable_partition_vtl(uint8_t vtl)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = vtl;
	return hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)in, 0);
}

/* Enables out of order, twice, and for VTLs and VPs that do not exist. */
static void test_enable_order(void)
{
	CHECK_EQ(enable_vp_vtl(HV_VP_INDEX_SELF, 1), HV_STATUS_INVALID_VTL_STATE);
	CHECK_EQ(enable_partition_vtl(0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_partition_vtl(2), HV_STATUS_INVALID_PARAMETER);	/* --vtls 2: VTL1 is the highest */
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(enable_partition_vtl(1), HV_STATUS_VTL_ALREADY_ENABLED);
	CHECK_EQ(enable_vp_vtl(HV_VP_INDEX_SELF, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_vp_vtl(1, 1), HV_STATUS_INVALID_VP_INDEX);		/* one VP */
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	CHECK_EQ(enable_vp_vtl(HV_VP_INDEX_SELF, 1), HV_STATUS_ACCESS_DENIED);	/* only one enable from below */
	set_irq_handler(INTERCEPT_VEC, on_intercept);
	vsm_call(vtl1_setup, 0, 0);
	CHECK_EQ(vtl1_status, 1ull << 32);
	check_vtl1_intact();
}

/* VTL1-only registers and hypercalls, asked for VTL0 itself and for VTL1. */
static void test_vtl1_only(void)
{
	uint64_t v, *in = alloc_zeroed(4096);

	CHECK_EQ(vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 0), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(1), HV_REG_VSM_PARTITION_CONFIG, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_get_reg(~1u, HV_INPUT_VTL(1), HV_REG_VSM_PARTITION_CONFIG, &v), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, 0, CR_INTERCEPT_CONTROL, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(1), CR_INTERCEPT_CONTROL, ~0ull), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, 0, HV_REG_VSM_VP_SECURE_CONFIG_VTL0, 1), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(1), HV_REG_VSM_VP_SECURE_CONFIG_VTL0, 1), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(0x3), HV_REG_RIP, 0), HV_STATUS_INVALID_PARAMETER);	/* VTL3 */
	in[0] = HV_PARTITION_ID_SELF;
	in[1] = (uint64_t)HV_INPUT_VTL(1) << 32 | 0xf;
	in[2] = (uint64_t)secret >> 12;
	CHECK_EQ(hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0), HV_STATUS_ACCESS_DENIED);
	in[1] = 3;				/* InstallIntercept: read and write of an I/O port */
	in[2] = 0x80;
	CHECK_EQ(hv_hypercall(INSTALL_INTERCEPT, (uint64_t)in, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(intercepts, 0);
	check_vtl1_intact();
}

/* Parameter blocks at and past the page, the rep and the GPA limits; none reaches the secret. */
static void test_limits(void)
{
	uint64_t *in = alloc_zeroed(4096), *out = alloc_zeroed(4096);
	uint64_t *edge = (uint64_t *)(secret - 8);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = HV_VP_INDEX_SELF;
	for (unsigned int i = 0; i < 512; i++)
		((uint32_t *)(in + 2))[i] = HV_REG_RFLAGS;
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(256), (uint64_t)in, (uint64_t)out), 256ull << 32);
	CHECK_EQ(out[255 * 2] & 2, 2);		/* RFLAGS bit 1 in the last element */
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(257), (uint64_t)in, (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1) | HV_REP_START(1), (uint64_t)in, (uint64_t)out),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS, (uint64_t)in, (uint64_t)out), HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* A block that crosses into the protected page is misaligned before it is an intercept. */
	edge[0] = HV_PARTITION_ID_SELF;
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)edge, (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in, (uint64_t)(secret - 8)),
		 HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)secret + 4, (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), 1ull << 62, (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(intercepts, 0);
	/* Input and output on either side of the boundary: the output page is the protected one. */
	memcpy(below + 4096 - 64, in, 24);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)(below + 4096 - 64), (uint64_t)secret),
		 SKIPPED);
	CHECK_EQ(*(volatile uint64_t *)(below + 4096 - 64), HV_PARTITION_ID_SELF);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(intercept_gpa, (uint64_t)secret);
	intercepts = 0;
	check_vtl1_intact();
}

/*
 * An overlay page laid over the secret by MSR msr: VTL0 sees the overlay,
 * also as a hypercall's input (its own page: no intercept, whatever is in it
 * is no partition id; not while the hypercall page itself moved there, which
 * the library's calls do not follow), and the protection is back after.
 */
static void overlay(uint32_t msr, uint64_t enable, uint64_t restore)
{
	wrmsr(msr, (uint64_t)secret | enable);
	CHECK(load(secret) != SECRET);
	if (msr != HV_X64_MSR_HYPERCALL)
		CHECK_EQ(hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)secret, 0),
			 HV_STATUS_INVALID_PARTITION_ID);
	CHECK_EQ(intercepts, 0);
	wrmsr(msr, restore);
	CHECK_EQ(load(secret), SKIPPED);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(intercept_gpa, (uint64_t)secret);
	intercepts = 0;
}

static void test_overlays(void)
{
	uint64_t hypercall = rdmsr(HV_X64_MSR_HYPERCALL);

	CHECK_EQ(load(secret), SKIPPED);
	CHECK_EQ(intercepts, 1);
	intercepts = 0;
	overlay(HV_X64_MSR_VP_ASSIST_PAGE, 1, 0);
	overlay(HV_X64_MSR_REFERENCE_TSC, 1, 0);
	wrmsr(HV_X64_MSR_SCONTROL, 1);
	overlay(HV_X64_MSR_SIEFP, 1, 0);
	overlay(HV_X64_MSR_HYPERCALL, 1, hypercall);
	check_vtl1_intact();
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	apic_enable();
	simp1 = alloc_zeroed(4096);
	below = alloc_pages(2);
	secret = below + 4096;
	*(volatile uint64_t *)secret = SECRET;
	test_enable_order();
	test_vtl1_only();
	test_limits();
	test_overlays();
	CHECK_EQ(intercepts, 0);
}
