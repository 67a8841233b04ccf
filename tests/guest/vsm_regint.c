/*
 * Secure register intercepts (run with --vtls 2; spec 4.6, 4.7). VTL1 sets
 * HvX64RegisterCrInterceptControl for VTL0: LSTAR writes, STAR reads, EFER
 * writes and masked IA32_MISC_ENABLE writes. Each such RDMSR/WRMSR of VTL0
 * stops at the instruction and VTL1 gets an MsrIntercept message on SINT0,
 * checked field by field; VTL1 then refuses (#GP through PendingEvent0),
 * emulates (sets the register or RDX:RAX and moves RIP past the
 * instruction) or skips it. MSRs not intercepted keep working, and the
 * register's own statuses are checked: wrong VTLs, reserved bits, and the
 * CR0/CR4 bits KVM cannot trap (refused under --policy strict, accepted
 * under permissive: pass policy=1). VTL1 also installs I/O port intercepts
 * (HvCallInstallIntercept): OUT, IN and REP OUTSB of VTL0 give
 * X64IoPortIntercept messages; VTL1 skips or emulates them.
 */
#include "lib/vsm.h"

#define INTERCEPT_VEC		0xe5
#define MSR_INTERCEPT		0x80010001u
#define IO_INTERCEPT		0x80010000u
#define HVCALL_INSTALL_INTERCEPT	0x004D
#define TEST_PORT		0x2f8	/* COM2: nothing there, kvsm handles it in user space */
#define REG_CR_INTERCEPT_CONTROL	0xE0000
#define REG_CR_INTERCEPT_CR0_MASK	0xE0001
#define REG_CR_INTERCEPT_MISC_ENABLE_MASK	0xE0003
#define REG_PENDING_EVENT0	0x10004
#define REG_EFER		0x80001
#define HV_STATUS_INVALID_REGISTER_VALUE	0x0050
#define PE0_GP			(1ull | 1ull << 8 | 13ull << 16)	/* pending #GP, error code 0 */

#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_SFMASK		0xc0000084
#define MSR_SYSENTER_CS		0x174
#define MSR_MISC_ENABLE		0x1a0

/* Control bits (spec 4.7). */
#define CTL_CR0_WRITE		(1ull << 0)
#define CTL_CR4_WRITE		(1ull << 1)
#define CTL_MISC_ENABLE_WRITE	(1ull << 4)
#define CTL_LSTAR_WRITE		(1ull << 6)
#define CTL_STAR_READ		(1ull << 7)
#define CTL_EFER_WRITE		(1ull << 14)
#define CTL_SGX_LAUNCH		(1ull << 24)

enum action { REFUSE, EMULATE_WRITE, EMULATE_READ, SKIP, EMULATE_IN };

static struct hv_message *simp1;
static volatile enum action action;
static volatile unsigned int intercepts, gps;
static volatile uint8_t msg[256];
static volatile uint64_t status[12], readback[3];
static volatile uint64_t control, read_value;
static bool permissive;

/* ---- VTL1 ---- */

static uint64_t payload64(unsigned int off) { return *(uint64_t *)((uint8_t *)simp1 + 16 + off); }

static void on_intercept(struct irq_frame *f)
{
	struct vtl1_vp *me = &vtl1_vps[0];
	uint8_t *assist = me->assist;
	bool io = simp1->message_type == IO_INTERCEPT;
	/* What VTL0's RAX and RCX were: in the message, or RCX held the MSR number. */
	uint64_t rip, rax = payload64(io ? 48 : 56), rcx = io ? payload64(104) : *(uint32_t *)((uint8_t *)simp1 + 56);

	memcpy((void *)msg, simp1, 256);
	intercepts++;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &rip);
	if (action == REFUSE) {
		vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_EVENT0, PE0_GP);
	} else if (action == EMULATE_WRITE) {
		vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, payload64(48) << 32 | (uint32_t)rax);
		vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + (simp1->payload[4] & 0xf));
	} else if (action == EMULATE_IN) {
		rax = (rax & ~0xffffull) | (uint16_t)read_value;
		vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + (simp1->payload[4] & 0xf));
	} else if (action == EMULATE_READ) {
		/* RDX is shared: change it where VTL1's entry code will restore it from, as for RBX in vsm_protect. */
		rax = (uint32_t)read_value;
		f->rdx = read_value >> 32;
		me->exit.rdx = read_value >> 32;
		vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + (simp1->payload[4] & 0xf));
	} else {
		vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + (simp1->payload[4] & 0xf));
	}
	/* VTL0's RAX and RCX come back from the VTL return fields (spec 4.2). */
	*(uint64_t *)(assist + 0x10) = rax;
	*(uint64_t *)(assist + 0x18) = rcx;
	hv_message_free(simp1);
	apic_eoi();
}

static void vtl1_setup(void)
{
	uint64_t v;

	vsm_take_intercepts(simp1, INTERCEPT_VEC);
	/* Held by VTL1: naming VTL0 is ACCESS_DENIED, for reads too. */
	status[0] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_CR_INTERCEPT_CONTROL, CTL_LSTAR_WRITE);
	status[1] = vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_CR_INTERCEPT_CONTROL, &v);
	status[2] = vsm_set_reg(~1u, 0, REG_CR_INTERCEPT_CONTROL, 1ull << 29);
	status[3] = vsm_set_reg(~1u, 0, REG_CR_INTERCEPT_CONTROL, CTL_SGX_LAUNCH);
	status[4] = vsm_set_reg(~1u, HV_INPUT_VTL(1), REG_CR_INTERCEPT_CONTROL, CTL_CR0_WRITE | CTL_LSTAR_WRITE);
	status[5] = vsm_set_reg(~1u, 0, REG_CR_INTERCEPT_CR0_MASK, 0x10000);
	vsm_get_reg(~1u, HV_INPUT_VTL(1), REG_CR_INTERCEPT_CR0_MASK, (uint64_t *)&readback[0]);
	vsm_get_reg(~1u, 0, REG_CR_INTERCEPT_CONTROL, (uint64_t *)&readback[1]);
}

static void vtl1_set_control(void)
{
	status[6] = vsm_set_reg(~1u, HV_INPUT_VTL(1), REG_CR_INTERCEPT_CONTROL, control);
}

static uint64_t install(uint32_t mask, uint32_t type, uint16_t port)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask | (uint64_t)type << 32;
	in[2] = port;
	return hv_hypercall(HVCALL_INSTALL_INTERCEPT, (uint64_t)in, 0);
}

static void vtl1_install(void)
{
	status[8] = install(4, 0, TEST_PORT);		/* execute: not for ports */
	status[9] = install(3, 1, 0x1a0);		/* HvInterceptTypeX64Msr: not offered */
	status[10] = install(2, 0, 0x40);		/* the PIT: KVM's, never exits */
	status[11] = install(3, 0, TEST_PORT);
}

static void vtl1_uninstall(void)
{
	status[11] = install(0, 0, TEST_PORT);
}

static void vtl1_set_mask(void)
{
	status[7] = vsm_set_reg(~1u, 0, REG_CR_INTERCEPT_MISC_ENABLE_MASK, 1ull << 22);
}

/* ---- VTL0: the intercepted instructions, at known addresses ---- */

extern const uint8_t wrmsr_insn[], rdmsr_insn[], out_insn[], in_insn[], outs_insn[], outs1_insn[];

static void gp_skip(struct irq_frame *f)
{
	gps++;
	f->rip += 2;
}

/* WRMSR writes EDX:EAX; the message has the whole RDX and RAX, here val >> 32 and val. */
static __attribute__((noinline, noclone)) void do_wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile(".globl wrmsr_insn\nwrmsr_insn: wrmsr"
			 : : "c"(msr), "a"(val), "d"(val >> 32) : "memory");
}

/* RDMSR with RAX and RDX preset (the message carries them). */
static __attribute__((noinline, noclone)) uint64_t do_rdmsr(uint32_t msr, uint64_t rax, uint64_t rdx)
{
	__asm__ volatile(".globl rdmsr_insn\nrdmsr_insn: rdmsr" : "+a"(rax), "+d"(rdx) : "c"(msr) : "memory");
	return (uint32_t)rax | rdx << 32;
}

static uint64_t msg64(unsigned int off) { return *(volatile uint64_t *)(msg + 16 + off); }

static void check_message(const uint8_t *rip, unsigned int access, uint32_t msr, uint64_t rdx, uint64_t rax)
{
	CHECK_EQ(*(volatile uint32_t *)msg, MSR_INTERCEPT);
	CHECK_EQ(msg[4], 64);				/* PayloadSize */
	CHECK_EQ(*(volatile uint32_t *)(msg + 16), 0);	/* VpIndex */
	CHECK_EQ(msg[16 + 4] & 0xf, 2);			/* InstructionLength */
	CHECK_EQ(msg[16 + 5], access);
	CHECK_EQ((*(volatile uint16_t *)(msg + 16 + 6) >> 7) & 0xf, 0);	/* the intercepted VTL */
	CHECK_EQ(msg64(24), (uint64_t)rip);
	CHECK_EQ(*(volatile uint32_t *)(msg + 16 + 40), msr);
	CHECK_EQ(*(volatile uint32_t *)(msg + 16 + 44), 0);
	CHECK_EQ(msg64(48), rdx);
	CHECK_EQ(msg64(56), rax);
}

static void set_control(uint64_t v)
{
	control = v;
	vsm_call(vtl1_set_control, 0, 0);
	CHECK_EQ(status[6], 1ull << 32);
}

static void test_setup(void)
{
	uint64_t v;

	simp1 = alloc_zeroed(4096);
	set_irq_handler(INTERCEPT_VEC, on_intercept);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_setup, 0, 0);
	CHECK_EQ(status[0], HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(status[1], HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(status[2], HV_STATUS_INVALID_REGISTER_VALUE);
	CHECK_EQ(status[3], HV_STATUS_INVALID_REGISTER_VALUE);
	/* CR0 writes never reach kvsm on KVM: refused (strict) or recorded without effect (permissive). */
	CHECK_EQ(status[4], permissive ? 1ull << 32 : HV_STATUS_OPERATION_DENIED);
	CHECK_EQ(status[5], 1ull << 32);
	CHECK_EQ(readback[0], 0x10000);
	CHECK_EQ(readback[1], permissive ? CTL_CR0_WRITE | CTL_LSTAR_WRITE : 0);
	/* VTL0 reaches neither its own instance (none) nor VTL1's. */
	CHECK_EQ(vsm_set_reg(~1u, 0, REG_CR_INTERCEPT_CONTROL, CTL_LSTAR_WRITE), HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vsm_get_reg(~1u, HV_INPUT_VTL(1), REG_CR_INTERCEPT_CONTROL, &v), HV_STATUS_ACCESS_DENIED);
}

/* VTL1 locks LSTAR: the write is intercepted, refused with #GP, and LSTAR keeps its value. */
static void test_lstar_refused(void)
{
	uint64_t old = rdmsr(MSR_LSTAR);

	set_control(CTL_LSTAR_WRITE | CTL_STAR_READ | CTL_EFER_WRITE | CTL_MISC_ENABLE_WRITE);
	action = REFUSE;
	intercepts = gps = 0;
	set_irq_handler(13, gp_skip);
	do_wrmsr(MSR_LSTAR, 0xffffffff81234567ull);
	set_irq_handler(13, 0);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(gps, 1);
	check_message(wrmsr_insn, 1, MSR_LSTAR, 0xffffffff, 0xffffffff81234567ull);
	CHECK_EQ(rdmsr(MSR_LSTAR), old);	/* LSTAR reads are not intercepted */
	CHECK_EQ(intercepts, 1);
}

/* VTL1 emulates the write for VTL0 and skips the instruction. */
static void test_lstar_emulated(void)
{
	action = EMULATE_WRITE;
	intercepts = gps = 0;
	do_wrmsr(MSR_LSTAR, 0xffffffff80aabbccull);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(gps, 0);
	CHECK_EQ(rdmsr(MSR_LSTAR), 0xffffffff80aabbccull);
}

/* A read intercept: the message has RDX:RAX before the RDMSR; VTL1 supplies the value. */
static void test_star_read(void)
{
	action = EMULATE_READ;
	read_value = 0x0023001000000000ull | 0x5a5a;
	intercepts = 0;
	CHECK_EQ(do_rdmsr(MSR_STAR, 0xaaaa, 0xbbbb), read_value);
	CHECK_EQ(intercepts, 1);
	check_message(rdmsr_insn, 0, MSR_STAR, 0xbbbb, 0xaaaa);
}

/* EFER: the write is intercepted and skipped (reads are not); SFMASK and SYSENTER_CS are not intercepted. */
static void test_efer_and_allowed(void)
{
	uint64_t efer = rdmsr(MSR_EFER), v;

	action = SKIP;
	intercepts = 0;
	do_wrmsr(MSR_EFER, efer);
	CHECK_EQ(intercepts, 1);
	check_message(wrmsr_insn, 1, MSR_EFER, efer >> 32, efer);
	CHECK_EQ(rdmsr(MSR_EFER), efer);

	intercepts = 0;
	wrmsr(MSR_SFMASK, 0x4700);
	CHECK_EQ(rdmsr(MSR_SFMASK), 0x4700);
	CHECK(wrmsr_safe(MSR_SYSENTER_CS, 0x10));
	CHECK(rdmsr_safe(MSR_SYSENTER_CS, &v) && v == 0x10);
	CHECK_EQ(intercepts, 0);
}

/* IA32_MISC_ENABLE writes intercept only if they change a masked bit. */
static void test_misc_enable_mask(void)
{
	uint64_t misc, mask = 1ull << 22;

	if (!rdmsr_safe(MSR_MISC_ENABLE, &misc)) {
		check(false, "IA32_MISC_ENABLE is readable");
		return;
	}
	status[0] = vsm_set_reg(~1u, HV_INPUT_VTL(1), REG_CR_INTERCEPT_MISC_ENABLE_MASK, mask);
	CHECK_EQ(status[0], HV_STATUS_ACCESS_DENIED);	/* from VTL0 */
	action = REFUSE;
	intercepts = gps = 0;
	set_irq_handler(13, gp_skip);
	do_wrmsr(MSR_MISC_ENABLE, misc);	/* no mask yet: nothing intercepts */
	CHECK_EQ(intercepts, 0);
	CHECK_EQ(gps, 0);
	vsm_call(vtl1_set_mask, 0, 0);
	CHECK_EQ(status[7], 1ull << 32);
	do_wrmsr(MSR_MISC_ENABLE, misc);	/* changes no masked bit */
	CHECK_EQ(intercepts, 0);
	do_wrmsr(MSR_MISC_ENABLE, misc ^ mask);
	set_irq_handler(13, 0);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(gps, 1);
	check_message(wrmsr_insn, 1, MSR_MISC_ENABLE, (misc ^ mask) >> 32, misc ^ mask);
	CHECK_EQ(rdmsr(MSR_MISC_ENABLE), misc);
}

static uint64_t io64(unsigned int off) { return msg64(off); }

static void check_io_message(const uint8_t *rip, unsigned int len, unsigned int access, unsigned int info,
			     uint64_t rax, uint64_t rcx, uint64_t rsi)
{
	CHECK_EQ(*(volatile uint32_t *)msg, IO_INTERCEPT);
	CHECK_EQ(msg[4], 128);				/* PayloadSize */
	CHECK_EQ(msg[16 + 4] & 0xf, len);		/* InstructionLength */
	CHECK_EQ(msg[16 + 5], access);
	CHECK_EQ(io64(24), (uint64_t)rip);
	CHECK_EQ(*(volatile uint16_t *)(msg + 16 + 40), TEST_PORT);
	CHECK_EQ(msg[16 + 42], info);			/* AccessInfo: size, string, rep */
	CHECK_EQ(msg[16 + 43], len);			/* InstructionByteCount */
	for (unsigned int i = 0; i < len; i++)
		check(msg[16 + 56 + i] == rip[i], "instruction byte %u: 0x%x, expected 0x%x", i, msg[16 + 56 + i],
		      rip[i]);
	CHECK_EQ(io64(48), rax);
	CHECK_EQ(io64(104), rcx);
	CHECK_EQ(io64(112), rsi);
}

/* I/O port intercepts: statuses, OUT skipped, IN emulated, REP OUTSB skipped, then removed. */
static void test_io(void)
{
	static const char text[] = "abc";
	uint64_t rax = 0x1111111111111111ull, rcx = 3, rsi = (uint64_t)text;

	CHECK_EQ(install(3, 0, TEST_PORT), HV_STATUS_ACCESS_DENIED);	/* VTL0 installs nothing */
	vsm_call(vtl1_install, 0, 0);
	CHECK_EQ(status[8], HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(status[9], HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(status[10], permissive ? 0 : HV_STATUS_OPERATION_DENIED);
	CHECK_EQ(status[11], 0);

	action = SKIP;
	intercepts = 0;
	__asm__ volatile(".globl out_insn\nout_insn: outb %%al, %%dx" : : "a"(0xabcd005aull), "d"(TEST_PORT),
			 "c"(0x77ull), "S"(0x88ull));
	CHECK_EQ(intercepts, 1);
	check_io_message(out_insn, 1, 1, 1, 0xabcd005aull, 0x77, 0x88);

	action = EMULATE_IN;
	read_value = 0x1234;
	__asm__ volatile(".globl in_insn\nin_insn: inw %%dx, %%ax" : "+a"(rax) : "d"(TEST_PORT), "c"(0ull), "S"(0ull));
	CHECK_EQ(intercepts, 2);
	CHECK_EQ(rax, 0x1111111111111234ull);
	check_io_message(in_insn, 2, 0, 2, 0x1111111111111111ull, 0, 0);

	action = SKIP;
	__asm__ volatile(".globl outs_insn\nouts_insn: rep outsb" : "+c"(rcx), "+S"(rsi) : "d"(TEST_PORT) : "memory");
	CHECK_EQ(intercepts, 3);
	CHECK_EQ(rcx, 3);				/* skipped whole: nothing was output */
	CHECK_EQ(rsi, (uint64_t)text);
	check_io_message(outs_insn, 2, 1, 1 | 1 << 3 | 1 << 4, *(volatile uint64_t *)(msg + 16 + 48), 3,
			 (uint64_t)text);

	/* The last element: KVM's emulator has moved RIP past it when it exits. */
	rcx = 1;
	__asm__ volatile(".globl outs1_insn\nouts1_insn: rep outsb" : "+c"(rcx), "+S"(rsi) : "d"(TEST_PORT) : "memory");
	CHECK_EQ(intercepts, 4);
	CHECK_EQ(rcx, 1);
	CHECK_EQ(io64(24), (uint64_t)outs1_insn);
	CHECK_EQ(io64(104), 1);
	CHECK_EQ(io64(112), (uint64_t)text);

	vsm_call(vtl1_uninstall, 0, 0);
	CHECK_EQ(status[11], 0);
	outb(TEST_PORT, 0x5a);
	CHECK_EQ(intercepts, 4);
}

/* With the control cleared, LSTAR writes go through again. */
static void test_cleared(void)
{
	set_control(0);
	intercepts = 0;
	wrmsr(MSR_LSTAR, 0xffffffff81000000ull);
	CHECK_EQ(rdmsr(MSR_LSTAR), 0xffffffff81000000ull);
	CHECK_EQ(intercepts, 0);
}

void test_main(const struct mb_info *mbi)
{
	permissive = cmdline_u64(mbi, "policy", 0) == 1;
	hv_enable_hypercalls();
	apic_enable();
	test_setup();
	test_lstar_refused();
	test_lstar_emulated();
	test_star_read();
	test_efer_and_allowed();
	test_misc_enable_mask();
	test_cleared();
	test_io();
}
