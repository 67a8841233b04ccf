/*
 * Secure register intercepts in the core (src/hv/intercept_reg.c) against
 * the fake host: HvX64RegisterCrInterceptControl and its masks through
 * Set/GetVpRegisters (VTL rules, reserved bits, --policy for the bits KVM
 * cannot trap, the host told which VTL to refilter), which MSR accesses
 * intercept, and the MsrIntercept message byte for byte; HvCallInstallIntercept
 * for I/O ports and the X64IoPortIntercept message.
 */
#include "vsm_fixture.h"

#define SIMP 0x20000u

#define CTL_CR0_WRITE		(1ull << 0)
#define CTL_GDTR_WRITE		(1ull << 15)
#define CTL_MISC_ENABLE_WRITE	(1ull << 4)
#define CTL_LSTAR_WRITE		(1ull << 6)
#define CTL_STAR_READ		(1ull << 7)
#define CTL_EFER_WRITE		(1ull << 14)
#define CTL_SYSENTER_CS_WRITE	(1ull << 19)
#define CTL_XSS_WRITE		(1ull << 25)

static uint64_t call(struct hv_partition *p, unsigned int vtl, uint64_t control)
{
	return hcall(p, vtl, control, HV_HYPERCALL_DONE);
}

/* VTLs 1..max_vtl enabled on the partition and VP0; VTL1's SynIC takes intercepts on SINT0. */
static struct hv_partition *partition(unsigned int max_vtl, enum hv_policy policy)
{
	struct hv_partition *p = vsm_partition(max_vtl, policy);

	EXPECT_EQ(hv_msr_write(p, 0, 1, 0x40000080, 1), HV_MSR_OK);		/* SCONTROL */
	EXPECT_EQ(hv_msr_write(p, 0, 1, 0x40000083, SIMP | 1), HV_MSR_OK);	/* SIMP */
	EXPECT_EQ(hv_msr_write(p, 0, 1, 0x40000090, 0x5d), HV_MSR_OK);	/* SINT0 */
	return p;
}

static void test_register_rules(void)
{
	struct hv_partition *p = partition(2, HV_POLICY_STRICT);
	uint64_t v;

	/* Held by the higher VTL, named as itself or without a target; VTL0 is no holder. */
	EXPECT_EQ(set_reg(p, 1, IN_VTL(0), HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_LSTAR_WRITE),
		  HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(get_reg(p, 1, IN_VTL(0), HV_X64_REGISTER_CR_INTERCEPT_CONTROL, &v), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(set_reg(p, 0, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_LSTAR_WRITE), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(set_reg(p, 0, IN_VTL(1), HV_X64_REGISTER_CR_INTERCEPT_CONTROL, 0), HV_STATUS_ACCESS_DENIED);
	/* VTL2 reaches neither VTL1's instance nor, from VTL1, its own. */
	EXPECT_EQ(set_reg(p, 2, IN_VTL(1), HV_X64_REGISTER_CR_INTERCEPT_CONTROL, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(set_reg(p, 1, IN_VTL(2), HV_X64_REGISTER_CR_INTERCEPT_CONTROL, 0), HV_STATUS_ACCESS_DENIED);
	/* Reserved bits and SGX launch control (not offered, as in OpenVMM). */
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, 1ull << 29), HV_STATUS_INVALID_REGISTER_VALUE);
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, 1ull << 63), HV_STATUS_INVALID_REGISTER_VALUE);
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, 1ull << 24), HV_STATUS_INVALID_REGISTER_VALUE);
	/* CR0 and GDTR writes cannot be trapped: strict refuses them, changing nothing. */
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_CR0_WRITE | CTL_LSTAR_WRITE),
		  HV_STATUS_OPERATION_DENIED);
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_GDTR_WRITE), HV_STATUS_OPERATION_DENIED);
	EXPECT_EQ(fake.msr_filter_changes, 0);
	EXPECT_EQ(get_reg(p, 1, IN_VTL(1), HV_X64_REGISTER_CR_INTERCEPT_CONTROL, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT(!hv_msr_intercept_armed(p, 0, 0xc0000082));
	/* Every MSR bit is accepted and read back; the host refilters VTL0. */
	v = CTL_LSTAR_WRITE | CTL_STAR_READ | CTL_EFER_WRITE | CTL_SYSENTER_CS_WRITE | CTL_XSS_WRITE | 0xfull << 25 |
	    0xfff8ull | 0xf80000ull;
	v &= ~CTL_GDTR_WRITE;
	EXPECT_EQ(set_reg(p, 1, IN_VTL(1), HV_X64_REGISTER_CR_INTERCEPT_CONTROL, v), 0);
	EXPECT_EQ(fake.msr_filter_changes, 1);
	EXPECT_EQ(fake.msr_filter_vtl, 0);
	{
		uint64_t back;

		EXPECT_EQ(get_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, &back), 0);
		EXPECT_EQ(back, v);
	}
	/* Masks take any value, same VTL rules. */
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CR4_MASK, ~0ull), 0);
	EXPECT_EQ(get_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CR4_MASK, &v), 0);
	EXPECT_EQ(v, ~0ull);
	EXPECT_EQ(set_reg(p, 1, IN_VTL(0), HV_X64_REGISTER_CR_INTERCEPT_CR0_MASK, 1), HV_STATUS_ACCESS_DENIED);
	/* VTL2's instance governs VTL1. */
	EXPECT_EQ(set_reg(p, 2, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_LSTAR_WRITE), 0);
	EXPECT_EQ(fake.msr_filter_vtl, 1);
	EXPECT(hv_msr_intercept_armed(p, 1, 0xc0000082));
	EXPECT(!hv_msr_intercept_armed(p, 1, 0xc0000081));
	EXPECT(hv_msr_intercept_armed(p, 0, 0xc0000081));
	EXPECT(!hv_msr_intercept_armed(p, 0, 0x40000000));	/* never: a synthetic MSR */
	EXPECT_EQ(p->regint_unenforced, 0);
	hv_partition_destroy(p);
}

static void test_permissive(void)
{
	struct hv_partition *p = partition(1, HV_POLICY_PERMISSIVE);
	uint64_t v;

	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_CR0_WRITE | CTL_GDTR_WRITE), 0);
	EXPECT_EQ(get_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, &v), 0);
	EXPECT_EQ(v, CTL_CR0_WRITE | CTL_GDTR_WRITE);
	EXPECT_EQ(p->regint_unenforced, 1);
	EXPECT(!hv_msr_intercept_armed(p, 0, 0xc0000082));
	/* Reserved bits stay refused whatever the policy. */
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, 1ull << 40), HV_STATUS_INVALID_REGISTER_VALUE);
	hv_partition_destroy(p);
}

static struct hv_intercept_state state(void)
{
	struct hv_intercept_state st = {
		.rip = 0xffffffff81001234, .rflags = 0x202, .cr0 = 0x80050033, .cr8 = 0x3, .efer = 0xd01,
		.cs = { 0, 0xffffffff | 0x10ull << 32 | 0xa09bull << 48 },
		.ss = { 0, 0xffffffff | 0x18ull << 32 | 0xc093ull << 48 },
	};

	for (unsigned int i = 0; i < 16; i++)
		st.gpr[i] = 0x0101010101010101ull * (i + 1);
	st.gpr[0] = 0xdeadbeef81234567ull;	/* RAX: the upper half is carried as is */
	st.gpr[1] = 0xc0000082;			/* RCX */
	st.gpr[2] = 0xffffffff;			/* RDX */
	return st;
}

static void test_msr_intercept(void)
{
	struct hv_partition *p = partition(1, HV_POLICY_STRICT);
	struct hv_intercept_state st = state();
	enum hv_vtl_entry reason = 99;
	uint8_t want[256] = { 0 }, *slot = ram + SIMP, *b = want + 16;
	uint16_t es = 0 | 1 << 2 | 1 << 3 | 1 << 4 | 0 << 7;	/* CPL0, PE, AM, LMA, VTL0 */
	uint32_t msr = 0xc0000082;

	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, msr, true, 0, &reason), -1);	/* nothing armed */
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_LSTAR_WRITE | CTL_STAR_READ), 0);
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, msr, false, 0, &reason), -1);	/* LSTAR reads are not */
	EXPECT_EQ(hv_msr_intercept(p, 1, 0, &st, msr, true, 0, &reason), -1);	/* VP1 has no VTL1 */
	EXPECT_EQ(hv_msr_intercept(p, 0, 1, &st, msr, true, 0, &reason), -1);	/* nothing above VTL1 */
	fake.nirqs = 0;
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, msr, true, 0, &reason), 1);
	EXPECT_EQ(reason, HV_VTL_ENTRY_INTERRUPT);
	EXPECT_EQ(fake.nirqs, 1);
	EXPECT_EQ(fake.irq[0].vtl, 1);
	EXPECT_EQ(fake.irq[0].vector, 0x5d);

	memcpy(want, "\x01\x00\x01\x80", 4);	/* HvMessageTypeMsrIntercept */
	want[4] = 64;
	b[4] = 2 | 0x3 << 4;			/* InstructionLength 2, CR8 */
	b[5] = 1;				/* write */
	memcpy(b + 6, &es, 2);
	memcpy(b + 8, st.cs, 16);
	memcpy(b + 24, &st.rip, 8);
	memcpy(b + 32, &st.rflags, 8);
	memcpy(b + 40, &msr, 4);
	memcpy(b + 48, &st.gpr[2], 8);		/* RDX */
	memcpy(b + 56, &st.gpr[0], 8);		/* RAX */
	for (unsigned int i = 0; i < 256; i++)
		if (slot[i] != want[i]) {
			printf("  message byte %u: %#x, expected %#x\n", i, slot[i], want[i]);
			t_failed = 1;
			break;
		}

	/* A read: access type 0, RDX:RAX as they were before the RDMSR. */
	memset(slot, 0, 256);
	msr = 0xc0000081;
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, msr, false, 0, &reason), 1);
	EXPECT_EQ(slot[16 + 5], 0);
	EXPECT_EQ(*(uint32_t *)(slot + 16 + 40), msr);
	EXPECT_EQ(*(uint64_t *)(slot + 16 + 56), st.gpr[0]);
	EXPECT_EQ(p->intercepts, 2);
	hv_partition_destroy(p);
}

/* IA32_MISC_ENABLE writes intercept only when they change a bit of Ia32MiscEnableMask. */
static void test_misc_enable_mask(void)
{
	struct hv_partition *p = partition(1, HV_POLICY_STRICT);
	struct hv_intercept_state st = state();
	enum hv_vtl_entry reason;
	const uint64_t old = 0x850089;

	st.gpr[0] = old, st.gpr[2] = 0;
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_CONTROL, CTL_MISC_ENABLE_WRITE), 0);
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, 0x1a0, true, old, &reason), -1);	/* mask 0 */
	EXPECT_EQ(set_reg(p, 1, 0, HV_X64_REGISTER_CR_INTERCEPT_IA32_MISC_ENABLE_MASK, 1ull << 22), 0);
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, 0x1a0, true, old, &reason), -1);	/* unchanged */
	st.gpr[0] = old | 1ull << 0;						/* an unmasked bit */
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, 0x1a0, true, old, &reason), -1);
	st.gpr[0] = old | 1ull << 22 | 0xffffffff00000000ull;			/* EAX only counts */
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, 0x1a0, true, old, &reason), 1);
	EXPECT_EQ(hv_msr_intercept(p, 0, 0, &st, 0x1a0, false, old, &reason), -1);	/* reads: bit 3 */
	hv_partition_destroy(p);
}

/* HvCallInstallIntercept from `caller`: its status. */
static uint16_t install(struct hv_partition *p, unsigned int caller, uint64_t pid, uint32_t mask, uint32_t type,
			uint64_t params)
{
	memset(ram + IN_GPA, 0, 64);
	put64(IN_GPA, pid);
	put64(IN_GPA + 8, mask | (uint64_t)type << 32);
	put64(IN_GPA + 16, params);
	return (uint16_t)call(p, caller, 0x004D);
}

static void test_install_intercept(void)
{
	struct hv_partition *p = partition(2, HV_POLICY_STRICT);

	fake.untrappable_port = 0x40;
	EXPECT_EQ(install(p, 0, HV_PARTITION_ID_SELF, 3, 0, 0x2f8), HV_STATUS_ACCESS_DENIED);	/* VTL0 */
	EXPECT_EQ(install(p, 1, 7, 3, 0, 0x2f8), HV_STATUS_ACCESS_DENIED);			/* partition */
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 3, 1, 0x2f8), HV_STATUS_INVALID_PARAMETER);	/* MSR type */
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 4, 0, 0x2f8), HV_STATUS_INVALID_PARAMETER);	/* execute */
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 2, 0, 0x40), HV_STATUS_OPERATION_DENIED);	/* KVM's PIT */
	EXPECT(!hv_io_intercept_armed(p, 0, 0x40, true));
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 0, 0, 0x40), 0);	/* removing is always fine */
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 2, 0, 0xffff0000 | 0x2f8), 0);	/* IoPort is bits 15:0 */
	EXPECT(hv_io_intercept_armed(p, 0, 0x2f8, true));
	EXPECT(!hv_io_intercept_armed(p, 0, 0x2f8, false));
	EXPECT(!hv_io_intercept_armed(p, 1, 0x2f8, true));		/* VTL1's table is VTL0's */
	EXPECT_EQ(install(p, 2, HV_PARTITION_ID_SELF, 1, 0, 0x2f8), 0);
	EXPECT(hv_io_intercept_armed(p, 1, 0x2f8, false));
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 0, 0, 0x2f8), 0);
	EXPECT(!hv_io_intercept_armed(p, 0, 0x2f8, true));
	hv_partition_destroy(p);

	p = partition(1, HV_POLICY_PERMISSIVE);
	fake.untrappable_port = 0x40;
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 2, 0, 0x40), 0);
	EXPECT_EQ(p->regint_unenforced, 1);
	hv_partition_destroy(p);
}

static void test_io_intercept(void)
{
	struct hv_partition *p = partition(1, HV_POLICY_STRICT);
	struct hv_intercept_state st = state();
	struct hv_io_access a = {
		.port = 0x2f8, .size = 1, .write = true, .string = true, .rep = true, .insn_len = 2,
		.insn = { 0xf3, 0x6e },
	};
	enum hv_vtl_entry reason = 99;
	uint8_t want[256] = { 0 }, *slot = ram + SIMP, *b = want + 16;
	uint16_t es = 0 | 1 << 2 | 1 << 3 | 1 << 4;

	st.es[0] = 0x5000;
	st.es[1] = 0xfffff | 0x18ull << 32 | 0xc093ull << 48;
	st.ds[0] = 0x6000;
	EXPECT_EQ(hv_io_intercept(p, 0, 0, &st, &a, &reason), -1);
	EXPECT_EQ(install(p, 1, HV_PARTITION_ID_SELF, 2, 0, 0x2f8), 0);
	a.write = false;
	EXPECT_EQ(hv_io_intercept(p, 0, 0, &st, &a, &reason), -1);	/* reads are not intercepted */
	a.write = true;
	EXPECT_EQ(hv_io_intercept(p, 0, 0, &st, &a, &reason), 1);
	EXPECT_EQ(reason, HV_VTL_ENTRY_INTERRUPT);

	memcpy(want, "\x00\x00\x01\x80", 4);	/* HvMessageTypeX64IoPortIntercept */
	want[4] = 128;
	b[4] = 2 | 0x3 << 4;
	b[5] = 1;
	memcpy(b + 6, &es, 2);
	memcpy(b + 8, st.cs, 16);
	memcpy(b + 24, &st.rip, 8);
	memcpy(b + 32, &st.rflags, 8);
	b[40] = 0xf8, b[41] = 0x02;		/* PortNumber */
	b[42] = 1 | 1 << 3 | 1 << 4;		/* AccessInfo: size 1, string, rep */
	b[43] = 2;				/* InstructionByteCount */
	memcpy(b + 48, &st.gpr[0], 8);		/* RAX */
	b[56] = 0xf3, b[57] = 0x6e;
	memcpy(b + 72, st.ds, 16);
	memcpy(b + 88, st.es, 16);
	memcpy(b + 104, &st.gpr[1], 8);		/* RCX */
	memcpy(b + 112, &st.gpr[6], 8);		/* RSI */
	memcpy(b + 120, &st.gpr[7], 8);		/* RDI */
	for (unsigned int i = 0; i < 256; i++)
		if (slot[i] != want[i]) {
			printf("  message byte %u: %#x, expected %#x\n", i, slot[i], want[i]);
			t_failed = 1;
			break;
		}
	hv_partition_destroy(p);
}

int main(void)
{
	RUN_TEST(test_register_rules);
	RUN_TEST(test_permissive);
	RUN_TEST(test_msr_intercept);
	RUN_TEST(test_misc_enable_mask);
	RUN_TEST(test_install_intercept);
	RUN_TEST(test_io_intercept);
	return TEST_EXIT();
}
