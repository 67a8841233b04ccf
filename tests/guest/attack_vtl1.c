/*
 * A malicious VTL1 against VTL2 (run with --vtls 3). VTL0 only enables VTL1;
 * VTL1 runs the attack: it enables VTL2 out of order and twice, then VTL2
 * protects three pages against the VTLs below it (secret: no access; ro:
 * read and execute; nx: read and write). VTL1 then reads, writes and
 * executes them (each denial a GPA intercept to VTL2, whose bytes are
 * checked), hands VTL2-protected pages to hypercalls as input and output,
 * lays its own overlay pages (VP assist, SIMP, SIEFP, reference TSC,
 * hypercall) over the secret, reads and writes the GPAs of VTL2's own
 * overlays (its RAM there, never VTL2's page), names VTL2 in Get/SetVpRegisters and
 * HvCallModifyVtlProtectionMask, and protects the secret for VTL0 with a
 * mask of its own. VTL2's pages and its own registers are unchanged at the
 * end, and nothing of them reached VTL1.
 */
#include "lib/vsm.h"

#define INTERCEPT_VEC		0xe5
#define GPA_INTERCEPT		0x80000001u
#define SECRET			0x5ec2e75ec2e75ec2ull
#define SKIPPED			0x51c1ed
#define RO_RESULT		0x600d
#define CONFIG			(1 | 0xf << 1)		/* EnableVtlProtection, default RWX */
#define CR_INTERCEPT_CONTROL	0xE0000
#define VP_SECURE_CONFIG_VTL1	(HV_REG_VSM_VP_SECURE_CONFIG_VTL0 + 1)
#define OK_1			(1ull << 32)		/* SUCCESS, one rep done */

static struct hv_message *simp2;
static uint8_t *secret, *ro, *nx;		/* consecutive, after one unprotected page */
static volatile unsigned int intercepts;
static volatile uint8_t msg[256];		/* the last intercept message, as VTL2 found it */
static volatile uint64_t vtl2_status, vtl2_bad_words, vtl2_seen[5];

extern const uint8_t read_insn[], write_insn[], exec_landing[];

/* ---- VTL2 ---- */

static uint64_t protect(uint64_t gpa, uint32_t mask, uint8_t target_vtl)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask | (uint64_t)target_vtl << 32;
	in[2] = gpa >> 12;
	return hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0);
}

/* The contents VTL2 gives each page: a pattern, code at the start of ro. */
static uint64_t pattern(const uint8_t *page, unsigned int i)
{
	return SECRET ^ (uint64_t)page ^ i;
}

static void fill(uint8_t *page)
{
	for (unsigned int i = 0; i < 512; i++)
		((uint64_t *)page)[i] = pattern(page, i);
}

/* ro starts with code (mov $RO_RESULT, %eax; ret) and holds a valid GetVpRegisters input at RO_INPUT. */
static const uint8_t ro_code[] = { 0xb8, RO_RESULT & 0xff, RO_RESULT >> 8, 0, 0, 0xc3 };
#define RO_INPUT 2048

static void fill_ro(void)
{
	uint64_t *in = (uint64_t *)(ro + RO_INPUT);

	fill(ro);
	memcpy(ro, ro_code, sizeof(ro_code));
	in[0] = HV_PARTITION_ID_SELF;
	in[1] = HV_VP_INDEX_SELF;
	in[2] = HV_REG_RFLAGS;
}

/* A read skips with RAX = SKIPPED; a fetch resumes VTL1 at exec_landing (it returns SKIPPED). */
static void on_intercept(struct irq_frame *f)
{
	memcpy((void *)msg, simp2, 256);
	intercepts++;
	if (simp2->payload[5] == 2)
		vsm_intercept_resume(simp2, (uint64_t)exec_landing, 0);
	else
		vsm_intercept_skip(simp2, SKIPPED);
	hv_message_free(simp2);
	apic_eoi();
}

static void vtl2_setup(void)
{
	vsm_take_intercepts(simp2, INTERCEPT_VEC);
	fill(secret);
	fill_ro();
	fill(nx);
	vtl2_status = vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, CONFIG) |
		      vsm_set_reg(~1u, 0, CR_INTERCEPT_CONTROL, 0) | protect((uint64_t)secret, 0, 0) |
		      protect((uint64_t)ro, 0x5, 0) | protect((uint64_t)nx, 0x3, 0);
}

/* What VTL2 finds of itself: words of its pages that changed, its config and intercept control. */
static void vtl2_look(void)
{
	static uint64_t want[512];
	unsigned int bad = 0;

	for (unsigned int i = 0; i < 512; i++) {
		bad += ((volatile uint64_t *)secret)[i] != pattern(secret, i);
		bad += ((volatile uint64_t *)nx)[i] != pattern(nx, i);
	}
	memcpy(want, ro, 4096);
	fill_ro();
	bad += memcmp(want, ro, 4096) != 0;
	vtl2_bad_words = bad;
	vsm_get_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, (uint64_t *)&vtl2_seen[0]);
	vsm_get_reg(~1u, 0, CR_INTERCEPT_CONTROL, (uint64_t *)&vtl2_seen[1]);
	vsm_get_reg(~1u, 0, VP_SECURE_CONFIG_VTL1, (uint64_t *)&vtl2_seen[2]);
	vtl2_seen[3] = *(volatile uint64_t *)simp2->payload;			/* the last intercept's header */
	vtl2_seen[4] = *(volatile uint64_t *)(vtl2_vps[0].assist + 0x10);	/* VtlReturnX64Rax */
}

/* ---- VTL1 ---- */

static void check_vtl2_intact(void)
{
	vsm_call(vtl2_look, 0, 0);
	CHECK_EQ(vtl2_bad_words, 0);
	CHECK_EQ(vtl2_seen[0], CONFIG);
	CHECK_EQ(vtl2_seen[1], 0);
	CHECK_EQ(vtl2_seen[2], 0);
}

static uint64_t read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static uint64_t msg64(unsigned int off)
{
	return *(volatile uint64_t *)(msg + 16 + off);
}

/*
 * The last intercept, byte by byte: VTL vtl's (the caller's) access of gpa
 * at rip, len bytes there; access 0/1/2.
 */
static void check_message(unsigned int vtl, const uint8_t *rip, unsigned int len, unsigned int access, uint64_t gpa,
			  bool gva_valid)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	CHECK_EQ(*(volatile uint32_t *)msg, GPA_INTERCEPT);
	CHECK_EQ(msg[4], 240);				/* PayloadSize */
	CHECK_EQ(*(volatile uint32_t *)(msg + 16), 0);	/* VpIndex */
	CHECK_EQ(msg[16 + 4] & 0xf, len);		/* InstructionLength */
	CHECK_EQ(msg[16 + 5], access);
	/* ExecutionState: CPL0, CR0.PE, CR0.AM as the VTL has it, EFER.LMA, Vtl. */
	CHECK_EQ(*(volatile uint16_t *)(msg + 16 + 6), 1 << 2 | (read_cr0() >> 18 & 1) << 3 | 1 << 4 | vtl << 7);
	CHECK_EQ(*(volatile uint16_t *)(msg + 16 + 8 + 12), cs);
	CHECK_EQ(msg64(24), (uint64_t)rip);
	CHECK_EQ(msg[16 + 45], gva_valid);		/* MemoryAccessInfo.GvaValid */
	CHECK_EQ(msg64(48), gva_valid ? gpa : 0);	/* GVA: identity-mapped */
	CHECK_EQ(msg64(56), gpa);
	CHECK_EQ(msg[16 + 44], len);			/* InstructionByteCount */
	check(!memcmp((const void *)(msg + 16 + 64), rip, len), "instruction bytes at 0x%llx",
	      (unsigned long long)rip);
}

static __attribute__((noinline, noclone)) uint64_t load(const void *p)
{
	uint64_t v = 0;

	__asm__ volatile(".globl read_insn\nread_insn: movq (%%rbx), %%rax" : "+a"(v) : "b"(p) : "memory");
	return v;
}

/* Returns what RAX holds after the store: v, or SKIPPED from VTL2. */
static __attribute__((noinline, noclone)) uint64_t store(void *p, uint64_t v)
{
	__asm__ volatile(".globl write_insn\nwrite_insn: movq %%rax, (%%rbx)" : "+a"(v) : "b"(p) : "memory");
	return v;
}

/* Calls p; a denied fetch lands in exec_landing, which returns SKIPPED. */
static __attribute__((noinline, noclone)) uint64_t exec(const void *p)
{
	uint64_t v = 0;

	__asm__ volatile("call *%%rbx" : "+a"(v) : "b"(p)
			 : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	return v;
}
__asm__(".globl exec_landing\nexec_landing: mov $" "0x51c1ed" ", %eax\nret");

static uint64_t enable_partition_vtl(uint8_t vtl)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = vtl;
	return hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)in, 0);
}

static uint64_t enable_vp_vtl(uint32_t vp, uint8_t vtl)
{
	uint8_t *in = alloc_zeroed(4096);

	*(uint64_t *)in = HV_PARTITION_ID_SELF;
	*(uint32_t *)(in + 8) = vp;
	in[12] = vtl;
	return hv_hypercall(HVCALL_ENABLE_VP_VTL, (uint64_t)in, 0);
}

/* VTL2 enabled by VTL1 out of order, twice, and beyond the partition's VTLs. */
static void attack_enable(void)
{
	CHECK_EQ(enable_vp_vtl(HV_VP_INDEX_SELF, 2), HV_STATUS_INVALID_VTL_STATE);
	CHECK_EQ(enable_partition_vtl(3), HV_STATUS_INVALID_PARAMETER);	/* --vtls 3: VTL2 is the highest */
	CHECK_EQ(enable_partition_vtl(1), HV_STATUS_VTL_ALREADY_ENABLED);	/* its own */
	vsm_raw_vtl_call(0);					/* no VTL above VTL1 yet: #UD */
	CHECK(hv_hypercall_ud);
	CHECK_EQ(vsm_enable_partition_vtl(2), 0);
	CHECK_EQ(enable_partition_vtl(2), HV_STATUS_VTL_ALREADY_ENABLED);
	vsm_raw_vtl_call(0);					/* nor on this VP */
	CHECK(hv_hypercall_ud);
	CHECK_EQ(enable_vp_vtl(1, 2), HV_STATUS_INVALID_VP_INDEX);
	CHECK_EQ(vsm_enable_vp_vtl(0, 2), 0);
	CHECK_EQ(enable_vp_vtl(HV_VP_INDEX_SELF, 2), HV_STATUS_ACCESS_DENIED);	/* only one enable from below */
	vsm_call(vtl2_setup, 0, 0);
	CHECK_EQ(vtl2_status, OK_1);
	check_vtl2_intact();
}

/* Every access kind against each page; the denied ones never touch the page. */
static void attack_access(void)
{
	intercepts = 0;
	CHECK_EQ(load(secret), SKIPPED);
	CHECK_EQ(intercepts, 1);
	check_message(1, read_insn, 3, 0, (uint64_t)secret, true);
	CHECK_EQ(store(secret + 8, 0xbad), SKIPPED);
	CHECK_EQ(intercepts, 2);
	check_message(1, write_insn, 3, 1, (uint64_t)secret + 8, true);
	CHECK_EQ(exec(secret), SKIPPED);
	CHECK_EQ(intercepts, 3);
	CHECK_EQ(msg[16 + 5], 2);
	CHECK_EQ(msg64(24), (uint64_t)secret);
	CHECK_EQ(msg64(56), (uint64_t)secret);
	/* ro: reads and fetches run, a write does not. */
	CHECK_EQ(load(ro + 8), pattern(ro, 1));
	CHECK_EQ(exec(ro), RO_RESULT);
	CHECK_EQ(store(ro + 16, 0xbad), SKIPPED);
	check_message(1, write_insn, 3, 1, (uint64_t)ro + 16, true);
	/* nx: reads run (completed by kvsm), a fetch does not; a write here would be allowed. */
	CHECK_EQ(load(nx + 8), pattern(nx, 1));
	intercepts = 0;
	CHECK_EQ(exec(nx), SKIPPED);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg[16 + 5], 2);
	CHECK_EQ(msg64(24), (uint64_t)nx);
	CHECK_EQ(msg64(56), (uint64_t)nx);
	intercepts = 0;
	check_vtl2_intact();
}

/*
 * VTL2-protected pages as hypercall parameters: an unreadable input or an
 * unwritable output is an intercept of the call (GvaValid 0, the call's
 * three bytes), the call does not run; readable input and writable output
 * work as anywhere.
 */
static void attack_hypercall_buffers(void)
{
	uint64_t *in = alloc_zeroed(4096), *out = alloc_zeroed(4096), *edge = (uint64_t *)(secret - 8);
	const uint8_t *hc = vtl1_hypercall_page;

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = HV_VP_INDEX_SELF;		/* InputVtl 0: VTL1's own */
	in[2] = HV_REG_RFLAGS;
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)secret, (uint64_t)out), SKIPPED);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg[16 + 5], 0);
	CHECK_EQ(msg[16 + 45], 0);
	CHECK_EQ(msg64(56), (uint64_t)secret);
	CHECK_EQ(msg[16 + 4] & 0xf, 3);
	CHECK(msg64(24) - (uint64_t)hc < 4096);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in, (uint64_t)secret), SKIPPED);
	CHECK_EQ(intercepts, 2);
	CHECK_EQ(msg[16 + 5], 1);
	CHECK_EQ(msg64(56), (uint64_t)secret);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in, (uint64_t)ro), SKIPPED);
	CHECK_EQ(intercepts, 3);
	CHECK_EQ(msg[16 + 5], 1);
	CHECK_EQ(msg64(56), (uint64_t)ro);
	/* A block that would cross into the secret is misaligned first: no intercept. */
	edge[0] = HV_PARTITION_ID_SELF;
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)edge, (uint64_t)out),
		 HV_STATUS_INVALID_ALIGNMENT);
	CHECK_EQ(intercepts, 3);
	/* Readable input (VTL2's, in ro) and writable output (nx) are the caller's to use. */
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)ro + RO_INPUT, (uint64_t)out), OK_1);
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in, (uint64_t)nx + 4096 - 16), OK_1);
	CHECK_EQ(*(volatile uint64_t *)(nx + 4096 - 16) & 2, 2);		/* RFLAGS bit 1 */
	((volatile uint64_t *)nx)[510] = pattern(nx, 510);			/* back as VTL2 left it */
	((volatile uint64_t *)nx)[511] = pattern(nx, 511);
	CHECK_EQ(intercepts, 3);
	intercepts = 0;
	check_vtl2_intact();
}

/*
 * VTL1's overlay pages laid over the secret: VTL1 sees and writes its own
 * overlay, never VTL2's page, and the protection is back once it moved away.
 */
static void overlay(uint32_t msr, uint64_t restore)
{
	wrmsr(msr, (uint64_t)secret | 1);
	CHECK(load(secret) != pattern(secret, 0) && load(secret + 8) != pattern(secret, 1));
	if (msr != HV_X64_MSR_HYPERCALL && msr != HV_X64_MSR_REFERENCE_TSC)
		store(secret + 4088, 0xbad);
	CHECK_EQ(intercepts, 0);
	wrmsr(msr, restore);
	CHECK_EQ(load(secret), SKIPPED);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg64(56), (uint64_t)secret);
	intercepts = 0;
}

static void attack_overlays(void)
{
	uint64_t hypercall = rdmsr(HV_X64_MSR_HYPERCALL), assist = rdmsr(HV_X64_MSR_VP_ASSIST_PAGE);

	overlay(HV_X64_MSR_VP_ASSIST_PAGE, assist);
	overlay(HV_X64_MSR_REFERENCE_TSC, 0);
	overlay(HV_X64_MSR_SIMP, 0);
	wrmsr(HV_X64_MSR_SCONTROL, 1);
	overlay(HV_X64_MSR_SIEFP, 0);
	wrmsr(HV_X64_MSR_SCONTROL, 0);
	overlay(HV_X64_MSR_HYPERCALL, hypercall);
	check_vtl2_intact();
}

/*
 * VTL2's own overlay pages (SIMP, VP assist) lie in memory VTL2 left
 * unprotected: at those GPAs VTL1 finds its own RAM, never VTL2's overlay,
 * and its writes there do not reach the overlay.
 */
static void attack_vtl2_overlays(void)
{
	uint8_t *assist2 = vtl2_vps[0].assist;

	CHECK_EQ(load(secret), SKIPPED);		/* a fresh intercept header and return RAX in VTL2's pages */
	intercepts = 0;
	CHECK_EQ(load(simp2->payload), 0);
	CHECK_EQ(load(assist2 + 0x10), 0);
	store(simp2->payload, 0xbad);
	store(assist2 + 0x10, 0xbad);
	vsm_call(vtl2_look, 0, 0);
	CHECK_EQ(vtl2_seen[3], msg64(0));
	CHECK_EQ(vtl2_seen[4], SKIPPED);
	CHECK_EQ(load(simp2->payload), 0xbad);
	store(simp2->payload, 0);
	store(assist2 + 0x10, 0);
	CHECK_EQ(intercepts, 0);
}

/* VTL2's registers and protections named by VTL1. */
static void attack_registers(void)
{
	uint64_t v, *in = alloc_zeroed(4096);

	CHECK_EQ(vsm_get_reg(~1u, HV_INPUT_VTL(2), HV_REG_RIP, &v), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(2), HV_REG_RIP, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_get_reg(~1u, HV_INPUT_VTL(2), HV_REG_GUEST_OS_ID, &v), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_get_reg(~1u, HV_INPUT_VTL(2), HV_REG_VSM_PARTITION_CONFIG, &v), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(2), HV_REG_VSM_PARTITION_CONFIG, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(2), CR_INTERCEPT_CONTROL, ~0ull), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_get_reg(~1u, HV_INPUT_VTL(2), CR_INTERCEPT_CONTROL, &v), HV_STATUS_ACCESS_DENIED);
	/* VTL2's lock of VTL1's TLB is VTL2's; VTL1 holds no instance for itself. */
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(2), VP_SECURE_CONFIG_VTL1, 2), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, 0, VP_SECURE_CONFIG_VTL1, 2), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vsm_set_reg(~1u, HV_INPUT_VTL(3), HV_REG_RIP, 0), HV_STATUS_INVALID_PARAMETER);
	/* VTL2's masks: not VTL1's to change, with any TargetVtl. */
	in[0] = HV_PARTITION_ID_SELF;
	in[1] = (uint64_t)HV_INPUT_VTL(2) << 32 | 0xf;
	in[2] = (uint64_t)secret >> 12;
	CHECK_EQ(hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0), HV_STATUS_ACCESS_DENIED);
	/* Its own masks: not before its own EnableVtlProtection; after, they govern VTL0 only. */
	in[1] = 0xf;
	CHECK_EQ(hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, CONFIG), OK_1);
	CHECK_EQ(hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0), OK_1);
	CHECK_EQ(load(secret), SKIPPED);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg64(56), (uint64_t)secret);
	intercepts = 0;
	check_vtl2_intact();
}

static void vtl1_main(void)
{
	attack_enable();
	attack_access();
	attack_hypercall_buffers();
	attack_overlays();
	attack_vtl2_overlays();
	attack_registers();
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	apic_enable();
	simp2 = alloc_zeroed(4096);
	secret = (uint8_t *)alloc_pages(4) + 4096;
	ro = secret + 4096;
	nx = ro + 4096;
	set_irq_handler(INTERCEPT_VEC, on_intercept);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_main, 0, 0);
	/* VTL1's all-access mask for VTL0 does not lift VTL2's: VTL0's read goes to VTL2. */
	CHECK_EQ(load(secret), SKIPPED);
	CHECK_EQ(intercepts, 1);
	check_message(0, read_insn, 3, 0, (uint64_t)secret, true);
}
