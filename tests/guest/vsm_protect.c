/*
 * VTL memory protections and GPA intercepts (run with --vtls 2; spec 3.5,
 * 4.5, 4.6). VTL1 enables protection, then takes pages away from VTL0 with
 * HvCallModifyVtlProtectionMask: no access, or read+execute. VTL0 reads,
 * writes, pushes to and executes from them; each violation stops VTL0 at the
 * faulting instruction and VTL1 gets a GpaIntercept message on SINT0, which
 * this test checks field by field. VTL1's handler then:
 * - skips the instruction (VTL0's RIP += length, RBX changed): the access
 *   never happened and the register change shows;
 * - returns without change: VTL0 faults again, as often as it retries;
 * - relaxes the protection: the instruction re-executes and completes.
 * The masks' statuses, readable-but-not-executable pages, VTL0 hypercalls
 * whose parameters lie in protected pages and the intercept page are checked
 * too. With x2apic=1 on the command line VTL1 takes its SINT0 interrupts in
 * x2APIC mode.
 */
#include "lib/vsm.h"

#define INTERCEPT_VEC	0xe5
#define APIC_BASE_MSR	0x1b
#define APIC_BASE_EXTD	(1ull << 10)
#define X2APIC_EOI	0x80b
#define GPA_INTERCEPT	0x80000001u
#define SECRET		0x5ec2e75ec2e75ec2ull

enum action { SKIP, RELAX, RELAX_ON_THIRD, INJECT_GP };

/* HvRegisterPendingInterruption: pending, type 3 (hardware exception), error code, vector, code. */
#define REG_PENDING_INTERRUPTION 0x10002
#define PI_GP(ec) (1ull | 3ull << 1 | 1ull << 4 | 13ull << 16 | (uint64_t)(ec) << 32)

static struct hv_message *simp1;
static uint8_t *secret, *ro, *code, *pair, *more, *nx;
static volatile unsigned int gp_count;
static volatile uint64_t gp_rip, gp_error;
static volatile enum action action;
static volatile unsigned int intercepts;
static volatile uint8_t msg[256];		/* the last intercept message, as VTL1 found it */
static volatile uint64_t page_seen;		/* the faulting page's first qword, as VTL1 saw it */
static volatile uint64_t status[10];
static bool x2apic;		/* VTL1's APIC in x2APIC mode */
static volatile uint64_t vtl1_apic_base;

/* ---- VTL1 ---- */

static uint64_t protect(uint64_t gpa, uint32_t mask, uint8_t target_vtl)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask | (uint64_t)target_vtl << 32 | 0xa5a5a5ull << 40;	/* padding after TargetVtl */
	in[2] = gpa >> 12;
	return hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0);
}

static void on_intercept(struct irq_frame *f)
{
	struct vtl1_vp *me = &vtl1_vps[0];
	uint8_t *assist = me->assist;
	uint64_t gpa, rip;

	memcpy((void *)msg, simp1, 256);
	gpa = *(uint64_t *)((uint8_t *)simp1 + 16 + 56);
	page_seen = *(volatile uint64_t *)(gpa & ~0xfffull);
	intercepts++;
	if (action == SKIP) {
		vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &rip);
		vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + (simp1->payload[4] & 0xf));
		/*
		 * RBX is shared: the VTL return leaves VTL0 what VTL1 holds. The
		 * interrupt came either before VTL1's entry code saved the GPRs
		 * (change the frame) or after (change what it restores).
		 */
		f->rbx = 0x5eed;
		me->exit.rbx = 0x5eed;
	} else if (action == INJECT_GP) {
		status[0] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, PI_GP(0x5a5a));
	} else if (action == RELAX || intercepts == 3) {
		protect(gpa, 0xf, 0);
	}
	/* VTL0's RAX and RCX come back from the VTL return fields (spec 4.2): as the message has them. */
	*(uint64_t *)(assist + 0x10) = *(uint64_t *)((uint8_t *)simp1 + 16 + 112);
	*(uint64_t *)(assist + 0x18) = *(uint64_t *)((uint8_t *)simp1 + 16 + 120);
	hv_message_free(simp1);
	if (x2apic)
		wrmsr(X2APIC_EOI, 0);
	else
		apic_eoi();
}

static void vtl1_setup(void)
{
	vsm_take_intercepts(simp1, INTERCEPT_VEC);
	if (x2apic)
		wrmsr(APIC_BASE_MSR, rdmsr(APIC_BASE_MSR) | APIC_BASE_EXTD);
	vtl1_apic_base = rdmsr(APIC_BASE_MSR);
	/* Before EnableVtlProtection VTL1 may not change its own masks. */
	status[0] = protect((uint64_t)secret, 0, 0);
	status[1] = vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 1 | 0xf << 1);
	status[2] = protect((uint64_t)secret, 0, 0);
	status[3] = protect((uint64_t)ro, 0x5, 0);
	status[4] = protect((uint64_t)code, 0, 0);
	status[5] = protect((uint64_t)pair + 4096, 0x5, 0) | protect((uint64_t)more + 4096, 0x5, 0) |
		    protect((uint64_t)more + 8192, 0x5, 0);
	/* Readable and writable but not executable; read-only, not executable; VTL0 as protector; Read missing. */
	status[6] = protect((uint64_t)nx, 0x3, 0);
	status[8] = protect((uint64_t)nx + 4096, 0x1, 0);
	status[9] = protect((uint64_t)secret, 0, HV_INPUT_VTL(0));
	status[7] = protect((uint64_t)secret, 0x2, 0);
}

static void vtl1_protect_again(void)
{
	protect((uint64_t)secret, 0, 0);
	protect((uint64_t)ro, 0x5, 0);
}

static void vtl1_protect_more(void)
{
	protect((uint64_t)more + 8192, 0x5, 0);
}

/* ---- VTL0: the faulting instructions, at known addresses with known bytes ---- */

extern const uint8_t read_insn[], write_insn[], push_insn[], stos_insn[], movs_insn[], outs_insn[], ins_insn[], xchg_insn[], cmpxchg_insn[],
	movdqu_insn[], call_insn[], call_ret[];

static __attribute__((noinline, noclone)) uint64_t load(const void *p, uint64_t rax, uint64_t *rbx, uint64_t *flags)
{
	uint64_t b = (uint64_t)p, c;

	__asm__ volatile("pushfq; popq %%rcx\n"
			 ".globl read_insn\nread_insn: movq (%%rbx), %%rax"
			 : "+a"(rax), "+b"(b), "=&c"(c) : : "memory");
	*rbx = b;
	*flags = c;
	return rax;
}

static __attribute__((noinline, noclone)) void store(void *p, uint64_t v)
{
	__asm__ volatile(".globl write_insn\nwrite_insn: movq %%rax, (%%rbx)" : : "a"(v), "b"(p) : "memory");
}

/* Push v with RSP at top: a store through the stack. */
static __attribute__((noinline, noclone)) void push_at(void *top, uint64_t v)
{
	__asm__ volatile("movq %%rsp, %%rdx\n movq %%rbx, %%rsp\n"
			 ".globl push_insn\npush_insn: pushq %%rax\n movq %%rdx, %%rsp"
			 : : "a"(v), "b"(top) : "rdx", "memory");
}

static uint64_t read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

/* rep stosq of n copies of v at p; returns RCX and RDI as they end. */
static __attribute__((noinline, noclone)) void stos(void *p, uint64_t v, uint64_t n)
{
	__asm__ volatile(".globl stos_insn\nstos_insn: rep stosq" : "+D"(p), "+c"(n) : "a"(v) : "memory");
}

/* rep movsq of n qwords from src to dst. */
static __attribute__((noinline, noclone)) void movs(void *dst, const void *src, uint64_t n)
{
	__asm__ volatile(".globl movs_insn\nmovs_insn: rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

/* outsb of one byte at p to port 0x80; returns RSI as it ends. */
static __attribute__((noinline, noclone)) uint64_t outs(const void *p)
{
	__asm__ volatile(".globl outs_insn\nouts_insn: outsb" : "+S"(p) : "d"(0x80) : "memory");
	return (uint64_t)p;
}

/* insb of one byte from port 0x80 to p; returns RDI as it ends. */
static __attribute__((noinline, noclone)) uint64_t ins(void *p)
{
	__asm__ volatile(".globl ins_insn\nins_insn: insb" : "+D"(p) : "d"(0x80) : "memory");
	return (uint64_t)p;
}

static __attribute__((noinline, noclone)) uint64_t xchg(void *p, uint64_t v)
{
	__asm__ volatile(".globl xchg_insn\nxchg_insn: xchgq %%rax, (%%rbx)" : "+a"(v) : "b"(p) : "memory");
	return v;
}

/* lock cmpxchg: returns ZF. */
static __attribute__((noinline, noclone)) bool cmpxchg(void *p, uint64_t expect, uint64_t v)
{
	bool z;

	__asm__ volatile(".globl cmpxchg_insn\ncmpxchg_insn: lock cmpxchgq %%rcx, (%%rbx)\n setz %0"
			 : "=q"(z), "+a"(expect) : "b"(p), "c"(v) : "memory");
	return z;
}

/* A 16-byte SSE store of two qwords. */
static __attribute__((noinline, noclone)) void movdqu(void *p, uint64_t lo, uint64_t hi)
{
	uint64_t v[2] = { lo, hi };

	__asm__ volatile("movdqu (%%rax), %%xmm0\n"
			 ".globl movdqu_insn\nmovdqu_insn: movdqu %%xmm0, (%%rbx)" : : "a"(v), "b"(p) : "memory");	/* no compiled code here uses XMM */
}

/* A near call with RSP at top: its return address is a store through the stack. Returns what it pushed. */
static __attribute__((noinline, noclone)) uint64_t call_at(void *top)
{
	uint64_t ret;

	__asm__ volatile("movq %%rsp, %%rdx\n movq %%rbx, %%rsp\n"
			 ".globl call_insn\ncall_insn: call call_ret\n"
			 ".globl call_ret\ncall_ret: popq %%rax\n movq %%rdx, %%rsp"
			 : "=a"(ret) : "b"(top) : "rdx", "memory");
	return ret;
}

static void on_gp(struct irq_frame *f)
{
	gp_count++;
	gp_rip = f->rip;
	gp_error = f->error_code;
	f->rip += 3;	/* past the faulting `movq %rax, (%rbx)` */
}

static uint64_t msg64(unsigned int off) { return *(volatile uint64_t *)(msg + 16 + off); }
static uint32_t msg32(unsigned int off) { return *(volatile uint32_t *)(msg + 16 + off); }

static void check_header(const uint8_t *rip, unsigned int len, unsigned int access, uint64_t gpa)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	CHECK_EQ(*(volatile uint32_t *)msg, GPA_INTERCEPT);
	CHECK_EQ(msg[4], 240);				/* PayloadSize: the whole TLFS layout */
	CHECK_EQ(*(volatile uint64_t *)(msg + 8), 0);	/* OriginationId */
	CHECK_EQ(msg32(0), 0);				/* VpIndex */
	CHECK_EQ(msg[16 + 4] & 0xf, len);		/* InstructionLength */
	CHECK_EQ(msg[16 + 5], access);
	/* ExecutionState: CPL0, CR0.PE, CR0.AM as set, EFER.LMA, VTL0, no shadow or pending event. */
	CHECK_EQ(*(volatile uint16_t *)(msg + 16 + 6), 1 << 2 | (read_cr0() >> 18 & 1) << 3 | 1 << 4);
	CHECK_EQ(*(volatile uint16_t *)(msg + 16 + 8 + 12), cs);	/* CS.Selector */
	CHECK_EQ(msg64(24), (uint64_t)rip);
	CHECK_EQ(msg32(40), 6);				/* CacheType write-back */
	CHECK_EQ(msg[16 + 44], len);			/* InstructionByteCount */
	CHECK_EQ(msg[16 + 45], 1);			/* MemoryAccessInfo: GvaValid */
	CHECK_EQ(msg64(48), gpa);			/* GVA: identity-mapped */
	CHECK_EQ(msg64(56), gpa);
	for (unsigned int i = 0; i < len; i++)
		check(msg[16 + 64 + i] == rip[i], "instruction byte %u: 0x%x, expected 0x%x", i, msg[16 + 64 + i],
		      rip[i]);
}

static void test_setup(void)
{
	simp1 = alloc_zeroed(4096);
	secret = alloc_pages(1);
	ro = alloc_pages(1);
	code = alloc_pages(1);
	pair = alloc_zeroed(8192);
	more = alloc_zeroed(3 * 4096);	/* RWX, then two read+execute pages */
	nx = alloc_zeroed(2 * 4096);	/* read+write, then read-only; neither executable */
	nx[0] = 0xb8, *(uint32_t *)(nx + 1) = 0x43, nx[5] = 0xc3;		/* mov $0x43, %eax; ret */
	*(uint64_t *)(nx + 64) = 0x6464;
	*(uint64_t *)(nx + 4096) = 0x4096;
	*(volatile uint64_t *)secret = SECRET;
	*(volatile uint64_t *)ro = 0x1111;
	code[0] = 0xb8, *(uint32_t *)(code + 1) = 0x42, code[5] = 0xc3;	/* mov $0x42, %eax; ret */
	set_irq_handler(INTERCEPT_VEC, on_intercept);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_setup, 0, 0);
	CHECK_EQ(vtl1_apic_base & APIC_BASE_EXTD, x2apic ? APIC_BASE_EXTD : 0);
	CHECK_EQ(status[0], HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(status[1], 1ull << 32);
	CHECK_EQ(status[2], 1ull << 32);
	CHECK_EQ(status[3], 1ull << 32);
	CHECK_EQ(status[4], 1ull << 32);
	CHECK_EQ(status[5], 1ull << 32);
	set_irq_handler(13, on_gp);
	CHECK_EQ(status[6], 1ull << 32);
	CHECK_EQ(status[8], 1ull << 32);
	CHECK_EQ(status[9], HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(status[7], HV_STATUS_INVALID_PARAMETER);
	/* VTL0 may not protect anything: its own masks do not exist, VTL1's are above it. */
	{
		uint64_t *in = alloc_zeroed(4096);

		in[0] = HV_PARTITION_ID_SELF;
		in[1] = (uint64_t)HV_INPUT_VTL(1) << 32;
		in[2] = (uint64_t)secret >> 12;
		CHECK_EQ(hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0),
			 HV_STATUS_ACCESS_DENIED);
	}
}

/* A read of a no-access page; VTL1 skips it: RAX keeps its value, RBX shows VTL1's change. */
static void test_read_skipped(void)
{
	uint64_t rbx, flags, rax;

	action = SKIP;
	intercepts = 0;
	rax = load(secret, 0x1234, &rbx, &flags);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(rax, 0x1234);
	CHECK_EQ(rbx, 0x5eed);
	check_header(read_insn, 3, 0, (uint64_t)secret);
	CHECK_EQ(msg64(32), flags);				/* RFLAGS before the instruction */
	CHECK_EQ(msg64(112 + 0 * 8), 0x1234);			/* RAX */
	CHECK_EQ(msg64(112 + 1 * 8), flags);			/* RCX */
	CHECK_EQ(msg64(112 + 3 * 8), (uint64_t)secret);	/* RBX */
	CHECK_EQ(page_seen, SECRET);
}

/* A read VTL1 lets fail twice, relaxing on the third attempt: three intercepts, then the data. */
static void test_read_retried(void)
{
	uint64_t rbx, flags;

	action = RELAX_ON_THIRD;
	intercepts = 0;
	CHECK_EQ(load(secret, 0, &rbx, &flags), SECRET);
	CHECK_EQ(intercepts, 3);
	CHECK_EQ(rbx, (uint64_t)secret);
}

/* A write to a read+execute page: the memory is unchanged when VTL1 looks; relaxed, the write completes. */
static void test_write_relaxed(void)
{
	action = RELAX;
	intercepts = 0;
	CHECK_EQ(*(volatile uint64_t *)ro, 0x1111);		/* still readable */
	store(ro, 0x2222);
	CHECK_EQ(intercepts, 1);
	check_header(write_insn, 3, 1, (uint64_t)ro);
	CHECK_EQ(page_seen, 0x1111);
	CHECK_EQ(*(volatile uint64_t *)ro, 0x2222);
}

/* push to a stack in a protected page, and a store straddling into one. */
static void test_stack_and_straddle(void)
{
	vsm_call(vtl1_protect_again, 0, 0);
	action = RELAX;
	intercepts = 0;
	push_at(ro + 4096, 0x3333);
	CHECK_EQ(intercepts, 1);
	check_header(push_insn, 1, 1, (uint64_t)ro + 4088);
	CHECK_EQ(*(volatile uint64_t *)(ro + 4088), 0x3333);

	/* 8 bytes at pair + 4092: the first half is writable, the second (pair + 4096) is not. */
	intercepts = 0;
	store(pair + 4092, 0x8877665544332211ull);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg64(56), (uint64_t)pair + 4096);	/* the page that denies it */
	CHECK_EQ(msg64(48), (uint64_t)pair + 4096);
	CHECK_EQ(page_seen, 0);				/* nothing of it landed before VTL1 relaxed */
	CHECK_EQ(*(volatile uint32_t *)(pair + 4092), 0x44332211);
	CHECK_EQ(*(volatile uint32_t *)(pair + 4096), 0x88776655);
}

/* A call into a no-access page: an execute intercept at the target, then the code runs. */
static void test_fetch(void)
{
	action = RELAX;
	intercepts = 0;
	CHECK_EQ(((uint32_t (*)(void))code)(), 0x42);
	CHECK_EQ(intercepts, 1);
	check_header(code, 5, 2, (uint64_t)code);
}

static void vtl1_protect_code(void)
{
	protect((uint64_t)code, 0, 0);
}

/*
 * An 8-byte load straddling a read+execute page and a no-access one: a read
 * intercept for the second page; rep movs whose source runs into it.
 */
static void test_straddling_read_and_movs(void)
{
	uint64_t rbx, flags, src[4] = { 1, 2, 3, 4 };

	action = RELAX;
	*(volatile uint32_t *)code = 0x11223344;	/* test_fetch's relaxation left it writable */
	vsm_call(vtl1_protect_code, 0, 0);
	intercepts = 0;
	CHECK_EQ(load(ro + 4092, 0, &rbx, &flags) >> 32, 0x11223344);
	CHECK_EQ(intercepts, 1);
	check_header(read_insn, 3, 0, (uint64_t)code);	/* the page that denies it, at its first byte */
	CHECK_EQ(msg64(48), (uint64_t)code);

	/* Copy 4 qwords from code - 16: two from ro, then into the no-access page. */
	vsm_call(vtl1_protect_code, 0, 0);
	intercepts = 0;
	movs(src, code - 16, 4);
	CHECK_EQ(intercepts, 1);
	check_header(movs_insn, 3, 0, (uint64_t)code);
	CHECK_EQ(msg64(112 + 1 * 8), 2);			/* RCX: two elements left */
	CHECK_EQ(msg64(112 + 6 * 8), (uint64_t)code);		/* RSI at the faulting element */
	CHECK_EQ(src[2], *(volatile uint64_t *)code);
}

/*
 * String I/O is emulated by KVM: OUTS reads its source through the emulator,
 * so a no-access source exits as an MMIO read before the instruction retires
 * (the path an emulating KVM takes for every access). INS writes its
 * destination through it after the port was read: undoing it would read the
 * port twice, so kvsm leaves it retired without its write and says so
 * (docs/insn.md); the intercept still names the write.
 */
static void test_emulated_string_io(void)
{
	vsm_call(vtl1_protect_again, 0, 0);
	action = RELAX;
	intercepts = 0;
	CHECK_EQ(outs(secret + 5), (uint64_t)secret + 6);
	CHECK_EQ(intercepts, 1);
	check_header(outs_insn, 1, 0, (uint64_t)secret + 5);
	CHECK_EQ(msg64(112 + 6 * 8), (uint64_t)secret + 5);	/* RSI as before the instruction */

	ro[7] = 0x77;	/* an intercept of its own: ro is read+execute; VTL1 relaxes it */
	vsm_call(vtl1_protect_again, 0, 0);
	intercepts = 0;
	CHECK_EQ(ins(ro + 7), (uint64_t)ro + 8);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg[16 + 5], 1);
	CHECK_EQ(msg64(56), (uint64_t)ro + 7);
	CHECK_EQ(msg64(24), (uint64_t)ins_insn + 1);		/* retired */
	CHECK_EQ(ro[7], 0x77);					/* without its write */
}

/*
 * Hypercall parameters in protected memory (spec 4.5): the call does not run
 * and VTL1 gets a GPA intercept for the parameter block (no GVA: it is a
 * GPA), with RIP at the call's three bytes; relaxed, the call re-runs.
 */
static void test_hypercall_parameters(void)
{
	const uint8_t *call = (const uint8_t *)(rdmsr(HV_X64_MSR_HYPERCALL) & ~0xfffull);
	uint64_t *in = alloc_zeroed(4096);

	vsm_call(vtl1_protect_again, 0, 0);
	action = RELAX;
	intercepts = 0;
	/* Input in a no-access page: a read intercept; re-run, the secret is a bad partition id. */
	CHECK_EQ(hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)secret, 0), HV_STATUS_INVALID_PARTITION_ID);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(*(volatile uint32_t *)msg, GPA_INTERCEPT);
	CHECK_EQ(msg[16 + 4] & 0xf, 3);
	CHECK_EQ(msg[16 + 5], 0);
	CHECK_EQ(msg64(24), (uint64_t)call);
	CHECK_EQ(msg[16 + 44], 3);
	CHECK_EQ(msg[16 + 45], 0);			/* no GVA */
	CHECK_EQ(msg64(48), 0);
	CHECK_EQ(msg64(56), (uint64_t)secret);
	CHECK_EQ(msg[16 + 64] | msg[16 + 65] << 8 | msg[16 + 66] << 16, call[0] | call[1] << 8 | call[2] << 16);

	/* Output in a read+execute page: a write intercept; re-run, the output lands. */
	intercepts = 0;
	in[0] = HV_PARTITION_ID_SELF;
	in[1] = HV_VP_INDEX_SELF;
	in[2] = HV_REG_RFLAGS;
	CHECK_EQ(hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in, (uint64_t)ro), 1ull << 32);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg[16 + 5], 1);
	CHECK_EQ(msg64(56), (uint64_t)ro);
	CHECK_EQ(*(volatile uint64_t *)ro & 2, 2);	/* RFLAGS bit 1 */
}

/* rep stos across into a protected page: the elements before it land, the intercept names the next one. */
static void test_rep_stos(void)
{
	uint64_t *q = (uint64_t *)(more + 4096 - 16);

	action = RELAX;
	intercepts = 0;
	stos(q, 0x5151, 4);
	CHECK_EQ(intercepts, 1);
	check_header(stos_insn, 3, 1, (uint64_t)more + 4096);
	CHECK_EQ(msg64(112 + 1 * 8), 2);			/* RCX: two elements left */
	CHECK_EQ(msg64(112 + 7 * 8), (uint64_t)more + 4096);	/* RDI at the faulting element */
	for (unsigned int i = 0; i < 4; i++)
		CHECK_EQ(q[i], 0x5151);
}

/* xchg, lock cmpxchg and a 16-byte SSE store into a read+execute page. */
static void test_atomics_and_sse(void)
{
	uint64_t *p = (uint64_t *)(more + 8192);

	action = RELAX;
	intercepts = 0;
	CHECK_EQ(xchg(p, 0x77), 0);
	CHECK_EQ(intercepts, 1);
	check_header(xchg_insn, 3, 1, (uint64_t)p);
	CHECK_EQ(*p, 0x77);

	vsm_call(vtl1_protect_again, 0, 0);
	vsm_call(vtl1_protect_more, 0, 0);
	intercepts = 0;
	CHECK(cmpxchg(p, 0x77, 0x88));
	CHECK_EQ(intercepts, 1);
	check_header(cmpxchg_insn, 5, 1, (uint64_t)p);
	CHECK_EQ(*p, 0x88);

	vsm_call(vtl1_protect_more, 0, 0);
	intercepts = 0;
	movdqu(p + 2, 0x1111222233334444ull, 0x5555666677778888ull);
	CHECK_EQ(intercepts, 1);
	check_header(movdqu_insn, 4, 1, (uint64_t)(p + 2));
	CHECK_EQ(p[2], 0x1111222233334444ull);
	CHECK_EQ(p[3], 0x5555666677778888ull);
}

/* A call whose return address goes to a protected stack page. */
static void test_call(void)
{
	vsm_call(vtl1_protect_more, 0, 0);
	action = RELAX;
	intercepts = 0;
	CHECK_EQ(call_at(more + 8192 + 4096), (uint64_t)call_ret);
	CHECK_EQ(intercepts, 1);
	check_header(call_insn, 5, 1, (uint64_t)more + 8192 + 4088);
	CHECK_EQ(*(volatile uint64_t *)(more + 8192 + 4088), (uint64_t)call_ret);
}

/* VTL1 refuses a write by injecting #GP(0x5a5a) into VTL0 at the faulting instruction. */
static void test_inject(void)
{
	uint64_t before = *(volatile uint64_t *)ro;

	vsm_call(vtl1_protect_again, 0, 0);
	action = INJECT_GP;
	intercepts = 0;
	status[0] = 0xbad;
	store(ro, 0x9999);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(status[0], 1ull << 32);
	CHECK_EQ(gp_count, 1);
	CHECK_EQ(gp_rip, (uint64_t)write_insn);
	CHECK_EQ(gp_error, 0x5a5a);
	CHECK_EQ(*(volatile uint64_t *)ro, before);	/* the write never happened */
}

/*
 * An overlay page of VTL0 over a page VTL1 protected: VTL0 sees its own
 * SIMP there, not the secret beneath and without a fault; when the overlay
 * goes, the protected RAM comes back protected.
 */
static void test_overlay_over_protected(void)
{
	action = RELAX;
	intercepts = 0;
	wrmsr(HV_X64_MSR_SCONTROL, 1);
	wrmsr(HV_X64_MSR_SIMP, (uint64_t)secret | 1);
	CHECK_EQ(*(volatile uint64_t *)secret, 0);
	CHECK_EQ(intercepts, 0);
	wrmsr(HV_X64_MSR_SIMP, 0);
	CHECK_EQ(*(volatile uint64_t *)secret, SECRET);
	CHECK_EQ(intercepts, 1);
	CHECK_EQ(msg64(56), (uint64_t)secret);
}

/* The intercept page variant: the message waits in VTL1's VP assist page, entry reason 3, no SINT0. */
static volatile unsigned int page_intercepts;

static void on_intercept_page(struct vtl1_vp *me)
{
	const uint8_t *m = me->assist + 0x70;

	memcpy((void *)msg, m, 256);
	page_intercepts++;
	protect(*(const uint64_t *)(m + 16 + 56), 0xf, 0);
	*(uint64_t *)(me->assist + 0x10) = me->entry.rax;
	*(uint64_t *)(me->assist + 0x18) = me->entry.rcx;
}

static void vtl1_intercept_page_on(void)
{
	status[1] = vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 1 | 0xf << 1 | 1 << 12);
	protect((uint64_t)secret, 0, 0);
}

static void test_intercept_page(void)
{
	uint64_t rbx, flags;

	vsm_intercept_fn[1] = on_intercept_page;
	vsm_call(vtl1_intercept_page_on, 0, 0);
	CHECK_EQ(status[1], 1ull << 32);
	intercepts = 0;
	CHECK_EQ(load(secret, 0, &rbx, &flags), SECRET);
	CHECK_EQ(page_intercepts, 1);
	CHECK_EQ(intercepts, 0);				/* nothing on SINT0 */
	CHECK_EQ(vtl1_vps[0].last_entry_reason, 3);
	check_header(read_insn, 3, 0, (uint64_t)secret);
	CHECK_EQ(rbx, (uint64_t)secret);
}

/*
 * Readable but not executable (trapped and completed by kvsm): data reads
 * and writes work, including kvsm's completion of a write to the RW page; a
 * call into it is an execute intercept; a write to the read-only one is a
 * write intercept (the instruction was emulated, so its effects are undone).
 */
static void test_no_execute(void)
{
	uint64_t rbx, flags;

	action = RELAX;
	intercepts = 0;
	CHECK_EQ(load(nx + 64, 0, &rbx, &flags), 0x6464);
	store(nx + 72, 0x7272);
	CHECK_EQ(*(volatile uint64_t *)(nx + 72), 0x7272);
	CHECK_EQ(*(volatile uint64_t *)(nx + 4096), 0x4096);
	CHECK_EQ(intercepts, 0);
	CHECK_EQ(((uint32_t (*)(void))nx)(), 0x43);
	CHECK_EQ(intercepts, 1);
	check_header(nx, 5, 2, (uint64_t)nx);

	intercepts = 0;
	store(nx + 4096 + 8, 0x8888);
	CHECK_EQ(intercepts, 1);
	check_header(write_insn, 3, 1, (uint64_t)nx + 4096 + 8);
	CHECK_EQ(page_seen, 0x4096);
	CHECK_EQ(*(volatile uint64_t *)(nx + 4096 + 8), 0x8888);
}

void test_main(const struct mb_info *mbi)
{
	x2apic = cmdline_u64(mbi, "x2apic", 0);
	hv_enable_hypercalls();
	apic_enable();
	test_setup();
	test_read_skipped();
	test_read_retried();
	test_write_relaxed();
	test_stack_and_straddle();
	test_fetch();
	test_straddling_read_and_movs();
	test_emulated_string_io();
	test_hypercall_parameters();
	test_rep_stos();
	test_atomics_and_sse();
	test_call();
	test_inject();
	test_overlay_over_protected();
	test_no_execute();
	test_intercept_page();
}
