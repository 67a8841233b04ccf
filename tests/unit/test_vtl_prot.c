/*
 * VTL memory protections in the core (src/hv/vtl_prot.c) against the fake
 * host, which records the access the core applies per VTL and page:
 * HvCallModifyVtlProtectionMask in memory, rep and XMM-fast forms, its
 * statuses and partial completion, runs batched into one host call, the
 * AND of VTL1's and VTL2's masks, --policy, and kvsm's own accesses for a
 * VTL (hypercall parameters) obeying them.
 */
#include "vsm_fixture.h"

static uint16_t simple(struct hv_partition *p, unsigned int vtl, uint16_t code, uint64_t pid, uint8_t b8)
{
	memset(ram + IN_GPA, 0, 256);
	put64(IN_GPA, pid);
	ram[IN_GPA + 8] = b8;
	return (uint16_t)hcall(p, vtl, code, HV_HYPERCALL_DONE);
}

static void set_config(struct hv_partition *p, unsigned int caller, uint8_t input_vtl, uint64_t val, uint16_t want)
{
	EXPECT_EQ(set_reg(p, caller, input_vtl, HV_REGISTER_VSM_PARTITION_CONFIG, val), want);
}

/* ModifyVtlProtectionMask from `caller` (memory form): header, then the GPNs. Returns the result value. */
static uint64_t modify(struct hv_partition *p, unsigned int caller, uint64_t pid, uint32_t flags, uint8_t target,
		       const uint64_t *gpns, unsigned int n)
{
	memset(ram + IN_GPA, 0xa5, 16);	/* uninitialised padding */
	put64(IN_GPA, pid);
	memcpy(ram + IN_GPA + 8, &flags, 4);
	ram[IN_GPA + 12] = target;
	for (unsigned int i = 0; i < n; i++)
		put64(IN_GPA + 16 + 8 * i, gpns[i]);
	return hcall(p, caller, HVCALL_MODIFY_VTL_PROTECTION_MASK | (uint64_t)n << 32, HV_HYPERCALL_DONE);
}

static uint16_t st(uint64_t v) { return (uint16_t)v; }
static unsigned int reps(uint64_t v) { return (unsigned int)(v >> 32) & 0xfff; }

static const uint64_t page5[] = { 5 };

static void test_statuses(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_STRICT);
	const uint64_t en = HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK;

	/* Before VTL1 enabled protection it may not change its own masks. */
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0, 0, page5, 1), HV_STATUS_ACCESS_DENIED);
	set_config(p, 1, 0, en, 0);
	/* Partition id (OpenVMM: ACCESS_DENIED), the HV_INPUT_VTL rules, VTL0 as the protecting VTL. */
	EXPECT_EQ(modify(p, 1, 7, 0, 0, page5, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0, 0x20, page5, 1), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0, IN_VTL(2), page5, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0, IN_VTL(0), page5, 1), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(modify(p, 0, HV_PARTITION_ID_SELF, 0, 0, page5, 1), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(modify(p, 0, HV_PARTITION_ID_SELF, 0, IN_VTL(1), page5, 1), HV_STATUS_ACCESS_DENIED);
	/* Masks: only R/W/KX/UX, Read with anything else; UX follows KX (no MBEC). Strict enforces them all. */
	for (uint32_t f = 0; f < 16; f++) {
		uint16_t want = f && !(f & 1) ? HV_STATUS_INVALID_PARAMETER : 0;
		uint8_t before = fake.access[0][5];
		uint64_t r = modify(p, 1, HV_PARTITION_ID_SELF, f, IN_VTL(1), page5, 1);

		EXPECT_EQ(st(r), want);
		EXPECT_EQ(reps(r), want ? 0 : 1);
		EXPECT_EQ(fake.access[0][5], want ? before : (f & 4 ? f | 8 : f & 3));
	}
	EXPECT_EQ(p->prot_unenforced, 0);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0x8000 | 0xf, 0, page5, 1), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0x10000, 0, page5, 1), HV_STATUS_INVALID_PARAMETER);
	/* VTL1's own view is not touched by its masks. */
	EXPECT_EQ(fake.access[1][5], 0xf);
	hv_partition_destroy(p);
}

/* A page that is not RAM, one past RAM, and a host refusal: partial completion, nothing half-applied. */
static void test_partial(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_STRICT);
	const uint64_t gpns[] = { 10, 11, 12, 13 };
	const uint64_t past[] = { 20, RAM_SIZE / 4096 };
	uint64_t r;

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	fake.hole_gpn = 12;
	r = modify(p, 1, HV_PARTITION_ID_SELF, 0, 0, gpns, 4);
	EXPECT_EQ(st(r), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(reps(r), 2);
	EXPECT_EQ(fake.access[0][10], 0);
	EXPECT_EQ(fake.access[0][11], 0);
	EXPECT_EQ(fake.access[0][13], 0xf);
	EXPECT_EQ(hv_vtl_prot_effective(p, 0, 13 * 4096), 0xf);
	r = modify(p, 1, HV_PARTITION_ID_SELF, 0, 0, past, 2);
	EXPECT_EQ(st(r), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(reps(r), 1);
	EXPECT_EQ(fake.access[0][20], 0);

	/* The host cannot: INSUFFICIENT_MEMORY at the run's first element, the masks as before. */
	fake.hole_gpn = 0;
	fake.protect_fail_after = 1;
	r = modify(p, 1, HV_PARTITION_ID_SELF, 5, 0, gpns, 4);
	EXPECT_EQ(st(r), HV_STATUS_INSUFFICIENT_MEMORY);
	EXPECT_EQ(reps(r), 0);
	EXPECT_EQ(hv_vtl_prot_effective(p, 0, 10 * 4096), 0);
	EXPECT_EQ(hv_vtl_prot_effective(p, 0, 13 * 4096), 0xf);
	EXPECT_EQ(fake.access[0][13], 0xf);
	hv_partition_destroy(p);
}

/* Consecutive GPNs are one host call; 300 elements yield once (256 per exit) and then complete. */
static void test_runs_and_reps(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_STRICT);
	const uint64_t gpns[] = { 40, 41, 42, 43, 44, 100, 46 };
	uint64_t r;

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	fake.protects = 0;
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 5, 0, gpns, 7), 7ull << 32);
	EXPECT_EQ(fake.protects, 3);
	for (unsigned int i = 0; i < 7; i++)
		EXPECT_EQ(fake.access[0][gpns[i]], 0xd);
	EXPECT_EQ(fake.access[0][45], 0xf);

	memset(ram + IN_GPA, 0, 16);
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	for (unsigned int i = 0; i < 300; i++)
		put64(IN_GPA + 16 + 8 * i, 200 + i);
	fake.protects = 0;
	r = hcall(p, 1, HVCALL_MODIFY_VTL_PROTECTION_MASK | 300ull << 32, HV_HYPERCALL_CONTINUE);
	EXPECT_EQ(r, HVCALL_MODIFY_VTL_PROTECTION_MASK | 300ull << 32 | 256ull << 48);
	EXPECT_EQ(fake.access[0][200 + 255], 0);
	EXPECT_EQ(fake.access[0][200 + 256], 0xf);
	EXPECT_EQ(hcall(p, 1, r, HV_HYPERCALL_DONE), 300ull << 32);
	EXPECT_EQ(fake.access[0][499], 0);
	EXPECT_EQ(fake.protects, 2);
	hv_partition_destroy(p);
}

/* A 32-bit caller: control in EDX:EAX, input GPA in EBX:ECX, result in EDX:EAX. */
static void test_32bit_caller(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_STRICT);
	const uint64_t gpns[] = { 70, 71 };
	uint64_t control = HVCALL_MODIFY_VTL_PROTECTION_MASK | 2ull << 32;
	struct hv_hypercall_regs r = {
		.rax = (uint32_t)control, .rdx = control >> 32, .rbx = 0, .rcx = IN_GPA, .long_mode = false,
	};

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	memset(ram + IN_GPA, 0, 32);
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	ram[IN_GPA + 8] = 5;			/* MapFlags R|KX */
	put64(IN_GPA + 16, gpns[0]);
	put64(IN_GPA + 24, gpns[1]);
	EXPECT_EQ(hv_hypercall(p, 0, 1, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 0);
	EXPECT_EQ(r.rdx, 2);			/* reps completed in EDX bits 11:0 */
	EXPECT_EQ(fake.access[0][70], 0xd);
	EXPECT_EQ(fake.access[0][71], 0xd);
	hv_partition_destroy(p);
}

/* XMM fast: the 16-byte header in RDX/R8, elements in XMM0 on (12 at most). */
static void test_xmm_fast(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_STRICT);
	struct hv_hypercall_regs r = {
		.long_mode = true, .rcx = HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_HYPERCALL_FAST | 3ull << 32,
		.rdx = HV_PARTITION_ID_SELF, .r8 = 0x5 | 0xa5a5a50000000000ull,	/* TargetVtl 0, padding after it */
	};

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	fake.xmm[0][0] = 60, fake.xmm[0][1] = 61, fake.xmm[1][0] = 90;
	EXPECT_EQ(hv_hypercall(p, 0, 1, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 3ull << 32);
	EXPECT_EQ(fake.access[0][60], 0xd);
	EXPECT_EQ(fake.access[0][61], 0xd);
	EXPECT_EQ(fake.access[0][90], 0xd);
	r.rcx = HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_HYPERCALL_FAST | 13ull << 32;
	EXPECT_EQ(hv_hypercall(p, 0, 1, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_HYPERCALL_INPUT);
	hv_partition_destroy(p);
}

/* The default mask applies to all RAM when protection is enabled, and both are then write-once. */
static void test_default_mask(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_STRICT);

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | 0x5ull << 1, 0);
	EXPECT_EQ(fake.access[0][0], 0xd);
	EXPECT_EQ(fake.access[0][1023], 0xd);
	EXPECT_EQ(fake.access[1][7], 0xf);
	/* VTL0's hypercall input is readable; its output page is not writable any more: an intercept. */
	EXPECT_EQ(simple(p, 0, HVCALL_ENABLE_PARTITION_VTL, HV_PARTITION_ID_SELF, 1),
		  HV_STATUS_VTL_ALREADY_ENABLED);
	memset(ram + IN_GPA, 0, 16);
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	hcall(p, 0, 0x009A | 1ull << 32, HV_HYPERCALL_INTERCEPT);
	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK,
		   HV_STATUS_INVALID_PARAMETER);
	hv_partition_destroy(p);
}

/* VTL2 over VTL1 over VTL0: effective = AND; the nearest VTL that denies is told. */
static void test_vtl2(void)
{
	struct hv_partition *p = vsm_partition(2, HV_POLICY_STRICT);
	const uint64_t a[] = { 30 };

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	set_config(p, 2, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 5, 0, a, 1), 1ull << 32);
	EXPECT_EQ(modify(p, 2, HV_PARTITION_ID_SELF, 0, 0, a, 1), 1ull << 32);
	EXPECT_EQ(hv_vtl_prot_effective(p, 0, 30 * 4096), 0);
	EXPECT_EQ(hv_vtl_prot_effective(p, 1, 30 * 4096), 0);
	EXPECT_EQ(fake.access[0][30], 0);
	EXPECT_EQ(fake.access[1][30], 0);
	EXPECT_EQ(hv_vtl_prot_denier(p, 0, 30 * 4096, HV_MAP_GPA_READABLE), 2);
	EXPECT_EQ(hv_vtl_prot_denier(p, 0, 30 * 4096, HV_MAP_GPA_WRITABLE), 1);
	EXPECT_EQ(hv_vtl_prot_denier(p, 1, 30 * 4096, HV_MAP_GPA_WRITABLE), 2);
	EXPECT_EQ(hv_vtl_prot_denier(p, 0, 31 * 4096, HV_MAP_GPA_WRITABLE), -1);
	/* VTL2 sets VTL1's masks (TargetVtl 1) without VTL1's consent, then lifts its own. */
	EXPECT_EQ(modify(p, 2, HV_PARTITION_ID_SELF, 0xf, IN_VTL(1), a, 1), 1ull << 32);
	EXPECT_EQ(modify(p, 2, HV_PARTITION_ID_SELF, 0xf, 0, a, 1), 1ull << 32);
	EXPECT_EQ(fake.access[0][30], 0xf);
	EXPECT_EQ(fake.access[1][30], 0xf);
	hv_partition_destroy(p);
}

/*
 * --policy permissive: a readable, non-executable mask is recorded as asked
 * (what translation and intercepts see) but applied executable, and counted.
 */
static void test_permissive(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_PERMISSIVE);

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 3, 0, page5, 1), 1ull << 32);
	EXPECT_EQ(hv_vtl_prot_effective(p, 0, 5 * 4096), 3);
	EXPECT_EQ(fake.access[0][5], 0xf);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 1, 0, page5, 1), 1ull << 32);
	EXPECT_EQ(fake.access[0][5], 0xd);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 5, 0, page5, 1), 1ull << 32);
	EXPECT_EQ(p->prot_unenforced, 2);
	hv_partition_destroy(p);
}

/* A VTL0 hypercall whose input or output block VTL1 protected does not run: it becomes an intercept. */
static void test_hypercall_blocks(void)
{
	struct hv_partition *p = vsm_partition(1, HV_POLICY_STRICT);
	const uint64_t in_page[] = { IN_GPA / 4096 }, out_page[] = { OUT_GPA / 4096 };
	struct hv_hypercall_regs r = {
		.long_mode = true, .rcx = HVCALL_ENABLE_PARTITION_VTL, .rdx = IN_GPA + 8, .r8 = OUT_GPA,
	};

	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0, 0, in_page, 1), 1ull << 32);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_INTERCEPT);
	EXPECT_EQ(r.intercept_gpa, IN_GPA + 8);
	EXPECT_EQ(r.intercept_write, false);
	EXPECT_EQ(r.rax, 0);			/* nothing ran */
	EXPECT_EQ(r.rcx, HVCALL_ENABLE_PARTITION_VTL);
	/* VTL1 itself is not bound by its own masks. */
	EXPECT_EQ(simple(p, 1, HVCALL_ENABLE_PARTITION_VTL, HV_PARTITION_ID_SELF, 1), HV_STATUS_VTL_ALREADY_ENABLED);

	/* Output in a read+execute page: a write intercept at the output. */
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 0xf, 0, in_page, 1), 1ull << 32);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 5, 0, out_page, 1), 1ull << 32);
	memset(ram + IN_GPA, 0, 32);
	r = (struct hv_hypercall_regs){ .long_mode = true, .rcx = HVCALL_GET_VP_REGISTERS | 1ull << 32, .rdx = IN_GPA,
					.r8 = OUT_GPA };
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_INTERCEPT);
	EXPECT_EQ(r.intercept_gpa, OUT_GPA);
	EXPECT_EQ(r.intercept_write, true);
	/* Fast calls carry no block. */
	r = (struct hv_hypercall_regs){ .long_mode = true, .rcx = 0x0008 | HV_HYPERCALL_FAST };
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	hv_partition_destroy(p);
}

/* Every byte of a GPA intercept in VTL1's SIMP slot 0, its SINT0 interrupt, and who gets it. */
static void test_gpa_intercept(void)
{
	struct hv_partition *p = vsm_partition(2, HV_POLICY_STRICT);
	const uint64_t a[] = { 30 }, simp = 0x20000;
	struct hv_intercept_state st = {
		.rip = 0xffff800000001234, .rflags = 0x246, .cr0 = 0x80050033, .cr8 = 0xa, .efer = 0xd00,
		.cs = { 0, 0xffffffff | 0x10ull << 32 | 0xa09bull << 48 },
		.ds = { 0x1000, 0xfffff | 0x18ull << 32 | 0xc093ull << 48 },
		.ss = { 0, 0xffffffff | 0x18ull << 32 | 0xc093ull << 48 },
		.interrupt_shadow = true,
	};
	struct hv_gpa_access acc = {
		.access = HV_INTERCEPT_WRITE, .gpa = 30 * 4096 + 0x18, .gva = 0xffff880000018018, .gva_valid = true,
		.insn_len = 3, .insn_bytes = 16, .insn = { 0x48, 0x89, 0x03, 0x90 },
	};
	enum hv_vtl_entry reason = 99;
	uint8_t want[256] = { 0 }, *slot = ram + simp;

	for (unsigned int i = 0; i < 16; i++)
		st.gpr[i] = 0x1111111111111111ull * (i + 1);
	EXPECT_EQ(hv_msr_write(p, 0, 1, 0x40000080, 1), HV_MSR_OK);			/* SCONTROL */
	EXPECT_EQ(hv_msr_write(p, 0, 1, 0x40000083, simp | 1), HV_MSR_OK);		/* SIMP */
	EXPECT_EQ(hv_msr_write(p, 0, 1, 0x40000090, 0x5d), HV_MSR_OK);		/* SINT0 */
	set_config(p, 1, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	/* Nothing protected yet: no intercept. */
	EXPECT_EQ(hv_gpa_intercept(p, 0, 0, &st, &acc, &reason), -1);
	EXPECT_EQ(modify(p, 1, HV_PARTITION_ID_SELF, 5, 0, a, 1), 1ull << 32);
	acc.access = HV_INTERCEPT_READ;
	EXPECT_EQ(hv_gpa_intercept(p, 0, 0, &st, &acc, &reason), -1);	/* RX allows reads */
	acc.access = HV_INTERCEPT_WRITE;
	fake.nirqs = 0;
	EXPECT_EQ(hv_gpa_intercept(p, 0, 0, &st, &acc, &reason), 1);
	EXPECT_EQ(reason, HV_VTL_ENTRY_INTERRUPT);
	EXPECT_EQ(fake.nirqs, 1);
	EXPECT_EQ(fake.irq[0].vtl, 1);
	EXPECT_EQ(fake.irq[0].vector, 0x5d);

	memcpy(want, "\x01\x00\x00\x80", 4);	/* HvMessageTypeGpaIntercept */
	want[4] = 240;
	{
		uint8_t *b = want + 16;
		uint16_t es = 0 | 1 << 2 | 1 << 3 | 1 << 4 | 0 << 7 | 1 << 12;	/* CPL0, PE, AM, LMA, VTL0, shadow */
		uint32_t cache = 6;

		b[4] = 3 | 0xa << 4;
		b[5] = 1;
		memcpy(b + 6, &es, 2);
		memcpy(b + 8, st.cs, 16);
		memcpy(b + 24, &st.rip, 8);
		memcpy(b + 32, &st.rflags, 8);
		memcpy(b + 40, &cache, 4);
		b[44] = 16;
		b[45] = 1;
		b[46] = 0xa;
		memcpy(b + 48, &acc.gva, 8);
		memcpy(b + 56, &acc.gpa, 8);
		memcpy(b + 64, acc.insn, 16);
		memcpy(b + 80, st.ds, 16);
		memcpy(b + 96, st.ss, 16);
		memcpy(b + 112, st.gpr, 128);
	}
	for (unsigned int i = 0; i < 256; i++)
		if (slot[i] != want[i]) {
			printf("  message byte %u: %#x, expected %#x\n", i, slot[i], want[i]);
			t_failed = 1;
			break;
		}

	/* VTL2 also denies reads now: a read goes to VTL2 (the only one that denies it), a write still to VTL1. */
	set_config(p, 2, 0, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK, 0);
	EXPECT_EQ(modify(p, 2, HV_PARTITION_ID_SELF, 0, 0, a, 1), 1ull << 32);
	acc.access = HV_INTERCEPT_READ;
	EXPECT_EQ(hv_gpa_intercept(p, 0, 0, &st, &acc, &reason), 2);
	acc.access = HV_INTERCEPT_WRITE;
	EXPECT_EQ(hv_gpa_intercept(p, 0, 0, &st, &acc, &reason), 1);
	/* VTL2's SynIC is off: the intercept is dropped, VTL2 still entered. */
	EXPECT_EQ(p->intercepts_dropped, 1);
	hv_partition_destroy(p);
}

int main(void)
{
	RUN_TEST(test_statuses);
	RUN_TEST(test_partial);
	RUN_TEST(test_runs_and_reps);
	RUN_TEST(test_xmm_fast);
	RUN_TEST(test_32bit_caller);
	RUN_TEST(test_default_mask);
	RUN_TEST(test_vtl2);
	RUN_TEST(test_permissive);
	RUN_TEST(test_gpa_intercept);
	RUN_TEST(test_hypercall_blocks);
	return TEST_EXIT();
}
