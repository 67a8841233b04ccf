/*
 * VTL1 acting on VTL0's state (run with --vtls 2; spec 3.6, 4.3, 4.7):
 * exception injection through PendingEvent0 (#GP with an error code, #PF
 * with CR2) and PendingInterruption (exceptions, an NMI, an external
 * interrupt), InterruptState, writes to the shared CR2 and DR0, emulating an
 * instruction for VTL0 (advance its RIP, hand back RAX and a flag), values
 * Set must refuse, VTL0's segment and descriptor-table registers in the
 * HV_X64_SEGMENT_REGISTER / TABLE_REGISTER formats, a rep call stopping at a
 * bad name, and the XMM fast forms of Get/SetVpRegisters.
 */
#include "lib/vsm.h"

#define LSTAR		0xc0000082
#define FS_BASE		0xc0000100
#define GS_BASE		0xc0000101
#define OK_1		(1ull << 32)

#define REG_PENDING_INTERRUPTION 0x10002
#define REG_INTERRUPT_STATE	0x10003
#define REG_PENDING_EVENT0	0x10004
#define REG_ES			0x60000
#define REG_IDTR		0x70000
#define REG_GDTR		0x70001
#define REG_INITIAL_APIC_ID	0x8000C

/* PendingEvent0: 0 pending, 3:1 type (0 exception), 8 deliver error code, 31:16 vector, 63:32 error code. */
#define PE0(vec, ec)	(1ull | 1ull << 8 | (uint64_t)(vec) << 16 | (uint64_t)(ec) << 32)
/* PendingInterruption: 0 pending, 3:1 type (3 hardware exception), 4 deliver error code, 31:16 vector, 63:32 EC. */
#define PI_EXC(vec)	(1ull | 3ull << 1 | (uint64_t)(vec) << 16)
#define PI_EXC_EC(vec, ec) (PI_EXC(vec) | 1ull << 4 | (uint64_t)(ec) << 32)

static volatile uint64_t seen[56];
static volatile unsigned int exc_count[256];
static volatile uint64_t exc_rip[256], exc_ec[256], exc_cr2;

#define EXT_VEC	0x40

static void record_exception(struct irq_frame *f)
{
	exc_count[f->vector]++;
	exc_rip[f->vector] = f->rip;
	exc_ec[f->vector] = f->error_code;	/* 0 pushed by the stub for vectors without one */
	if (f->vector == 14)
		__asm__ volatile("mov %%cr2, %0" : "=r"(exc_cr2));
}

/* SetVpRegisters of one register with a full 128-bit value (vsm_set_reg writes the low half). */
static uint64_t set_reg128(uint8_t input_vtl, uint32_t name, uint64_t lo, uint64_t hi)
{
	static uint8_t *buf;

	if (!buf)
		buf = alloc_zeroed(4096);
	memset(buf, 0, 48);
	*(uint64_t *)buf = ~0ull;
	*(uint32_t *)(buf + 8) = ~1u;
	buf[12] = input_vtl;
	*(uint32_t *)(buf + 16) = name;
	*(uint64_t *)(buf + 32) = lo;
	*(uint64_t *)(buf + 40) = hi;
	return hv_hypercall(HVCALL_SET_VP_REGISTERS | HV_REP(1), (uint64_t)buf, 0);
}

/* GetVpRegisters of n registers in one rep call (memory form), 16-byte values. */
static uint64_t get_regs(uint8_t input_vtl, const uint32_t *names, unsigned int n, uint64_t (*val)[2])
{
	static uint8_t *bufs[2];
	uint8_t **b = &bufs[vsm_current_vtl()];
	uint64_t r;

	if (!*b)
		*b = alloc_zeroed(8192);
	memset(*b, 0, 8192);
	*(uint64_t *)*b = ~0ull;
	*(uint32_t *)(*b + 8) = ~1u;
	(*b)[12] = input_vtl;
	memcpy(*b + 16, names, 4 * n);
	r = hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(n), (uint64_t)*b, (uint64_t)*b + 4096);
	memcpy(val, *b + 4096, 16 * n);
	return r;
}

/* Four registers through the XMM fast form: names in XMM0, values in XMM1-4 (after the 32 input bytes). */
static uint64_t get_regs_xmm(uint8_t input_vtl, const uint32_t names[4], uint64_t (*val)[2])
{
	uint64_t in[12] = { 0 }, out[12] = { 0 }, r;

	memcpy(in, names, 16);
	r = hv_hypercall_xmm(HVCALL_GET_VP_REGISTERS | HV_FAST | HV_REP(4), ~0ull, 0xfffffffeull | (uint64_t)input_vtl << 32,
		     in, out);
	memcpy(val, &out[2], 4 * 16);
	return r;
}

/* ---- VTL1 ---- */

static void vtl1_inject_pending_event(void)
{
	uint64_t v = 0;

	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &v);
	seen[0] = v;
	seen[1] = vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_EVENT0, &v);
	seen[2] = v;					/* nothing pending yet */
	seen[3] = vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_INTERRUPT_STATE, &v);
	seen[4] = v;
	/* Reserved bits 7:4 are refused. */
	seen[5] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_EVENT0, PE0(13, 0x1234) | 1u << 5);
	seen[6] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_EVENT0, PE0(13, 0x1234));
	vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_EVENT0, &v);
	seen[7] = v;
}

static void vtl1_after_pending_event(void)
{
	uint64_t v = ~0ull;

	vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_EVENT0, &v);
	seen[8] = v;
	v = ~0ull;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, &v);
	seen[9] = v;
	/* InterruptState: bit 1 NmiMasked is VTL0's to hold; set and clear it again. */
	seen[10] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_INTERRUPT_STATE, 2);
	vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_INTERRUPT_STATE, &v);
	seen[11] = v;
	seen[12] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_INTERRUPT_STATE, 0);
	vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_INTERRUPT_STATE, &v);
	seen[13] = v;
}

static void vtl1_inject_interruption_gp(void)
{
	uint64_t v = 0;

	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &v);
	seen[14] = v;
	seen[15] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, PI_EXC_EC(13, 0x5678));
	vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, &v);
	seen[16] = v;
}

static void vtl1_inject_interruption_de(void)
{
	uint64_t v = 0;

	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &v);
	seen[17] = v;
	seen[18] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, PI_EXC(0));
}

/* #PF through PendingEvent0: the 128-bit value's high half is the exception parameter, CR2. */
static void vtl1_inject_page_fault(void)
{
	uint64_t v[2] = { 0, 0 };

	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &v[0]);
	seen[40] = v[0];
	seen[41] = set_reg128(HV_INPUT_VTL(0), REG_PENDING_EVENT0, PE0(14, 0x2), 0xdead000);
}

/* CR2 and DR0 are shared (spec 4.3): writing VTL0's writes the one VTL0 finds on return. */
static void vtl1_set_shared(void)
{
	uint64_t v = 0;

	seen[47] = vsm_set_reg(~1u, HV_INPUT_VTL(0), 0x40001, 0xc2c2000);	/* Cr2 */
	vsm_get_reg(~1u, HV_INPUT_VTL(0), 0x40001, &v);
	seen[48] = v;
	seen[49] = vsm_set_reg(~1u, HV_INPUT_VTL(0), 0x50000, 0xd0d0000);	/* Dr0 */
	vsm_get_reg(~1u, HV_INPUT_VTL(0), 0x50000, &v);
	seen[50] = v;
}

/* PendingInterruption type 2: an NMI, vector 2. */
static void vtl1_inject_nmi(void)
{
	seen[42] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, 1 | 2u << 1 | 2u << 16);
}

/* PendingInterruption type 0: an external interrupt (VTL0 made its call with IF = 1). */
static void vtl1_inject_external(void)
{
	uint64_t v = 0;

	seen[43] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, 1 | (uint64_t)EXT_VEC << 16);
	vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_INTERRUPTION, &v);
	seen[44] = v;
}

/* "Emulate" the 5-byte instruction at VTL0's RIP: skip it, produce RAX = 0x600d and CF = 1. */
static void vtl1_emulate(void)
{
	struct vtl1_vp *me = &vtl1_vps[0];
	uint64_t rip = 0, rflags = 0, v = 0;

	seen[20] = vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &rip);
	seen[21] = rip;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RFLAGS, &rflags);
	seen[22] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + 5);
	seen[23] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RFLAGS, rflags | 1);	/* CF */
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, &v);
	seen[24] = v;
	*(uint64_t *)(me->assist + 0x10) = 0x600d;	/* RAX after the non-fast return */
	*(uint64_t *)(me->assist + 0x18) = 0;
	me->exit.rdx = 0xd00d;				/* a shared GPR, left for VTL0 */
}

extern char emul_insn[], emul_next[];

/*
 * A VtlCall made by hand (the port write is a hypercall wherever it sits),
 * followed by the instruction VTL1 emulates: if VTL0 ran it, RAX would be
 * 0xbad. Returns RAX; *cf and *rdx as VTL0 finds them afterwards.
 */
static uint64_t __attribute__((noinline)) emulated_instruction(uint8_t *cf, uint64_t *rdx)
{
	uint64_t rax, d = 0;
	uint8_t c;

	vsm_set_call_fn(vtl1_emulate);
	__asm__ volatile("xor %%eax, %%eax\n\t"		/* VtlCall control input; CF = 0 */
			 "mov $0x11, %%ecx\n\t"		/* HvCallVtlCall */
			 "out %%al, $0xe8\n"
			 "emul_insn:\n\t"
			 "mov $0xbad, %%eax\n"		/* b8 imm32: 5 bytes */
			 "emul_next:\n\t"
			 "setc %[c]"
			 : "=a"(rax), [c] "=r"(c), "+d"(d) :: "rcx", "cc", "memory");
	*cf = c;
	*rdx = d;
	return rax;
}

static void vtl1_invalid_values(void)
{
	uint64_t v = 0, rflags = 0, cr0 = 0, lstar = 0;

	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RFLAGS, &rflags);
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_CR0, &cr0);
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, &lstar);
	seen[25] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RFLAGS, rflags | 1u << 3);	/* reserved bit 3 */
	seen[26] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RFLAGS, rflags | 1ull << 22);	/* reserved 63:22 */
	seen[27] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RFLAGS, rflags & ~2ull);	/* bit 1 reads as 1 */
	seen[28] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_CR0, cr0 & ~1ull);		/* PG without PE */
	seen[29] = vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, 0x0000800000000000ull);	/* not canonical */
	seen[30] = vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_INITIAL_APIC_ID, 0);		/* read-only */
	seen[31] = vsm_get_reg(~1u, HV_INPUT_VTL(0), REG_INITIAL_APIC_ID, &v);
	seen[32] = v;
	/* Nothing changed. */
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_RFLAGS, &v);
	seen[33] = v == rflags;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_CR0, &v);
	seen[34] = v == cr0;
	vsm_get_reg(~1u, HV_INPUT_VTL(0), HV_REG_LSTAR, &v);
	seen[35] = v == lstar;
	seen[36] = cr0;
}

static const uint32_t seg_names[10] = { REG_ES, REG_ES + 1, REG_ES + 2, REG_ES + 3, REG_ES + 4, REG_ES + 5,
					REG_ES + 6, REG_ES + 7, REG_IDTR, REG_GDTR };
static uint64_t vtl0_segs[10][2];
static uint64_t xmm_vals[4][2], mem_vals[4][2];
static const uint32_t xmm_names[4] = { 0x60001 /* Cs */, REG_GDTR, HV_REG_CR4, HV_REG_LSTAR };

static uint64_t partial_vals[3][2];

static void vtl1_read_segments(void)
{
	static const uint32_t partial[3] = { HV_REG_LSTAR, 0x12345, HV_REG_CR0 };
	uint64_t in[12] = { 0 }, out[12] = { 0 };

	seen[37] = get_regs(HV_INPUT_VTL(0), seg_names, 10, vtl0_segs);
	seen[38] = get_regs_xmm(HV_INPUT_VTL(0), xmm_names, xmm_vals);
	seen[39] = get_regs(HV_INPUT_VTL(0), xmm_names, 4, mem_vals);
	/* An unknown name stops the rep call there: reps completed = its index, earlier outputs written. */
	seen[45] = get_regs(HV_INPUT_VTL(0), partial, 3, partial_vals);
	/* XMM fast SetVpRegisters: header in RDX/R8, the 32-byte element in XMM0 (name) and XMM1 (value). */
	in[0] = HV_REG_LSTAR;
	in[2] = 0x7777000;
	seen[46] = hv_hypercall_xmm(HVCALL_SET_VP_REGISTERS | HV_FAST | HV_REP(1), ~0ull,
			    0xfffffffeull | (uint64_t)HV_INPUT_VTL(0) << 32, in, out);
}

/* ---- VTL0 ---- */

static void test_pending_event0(void)
{
	vsm_call(vtl1_inject_pending_event, 0, 0);
	CHECK_EQ(seen[0], (uint64_t)hv_hypercall_page + 0x0f + 11);	/* after the call thunk's port write */
	CHECK_EQ(seen[1], OK_1);
	CHECK_EQ(seen[2], 0);
	CHECK_EQ(seen[3], OK_1);
	CHECK_EQ(seen[4], 0);				/* no interrupt shadow, NMIs not masked */
	CHECK_EQ(HV_RESULT_STATUS(seen[5]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(seen[6], OK_1);
	CHECK_EQ(seen[7], PE0(13, 0x1234));		/* reads back as set until VTL0 runs */
	/* VTL0 took #GP(0x1234) where it stood, i.e. on the thunk's RET after the port write. */
	CHECK_EQ(exc_count[13], 1);
	CHECK_EQ(exc_ec[13], 0x1234);
	CHECK_EQ(exc_rip[13], seen[0]);
	vsm_call(vtl1_after_pending_event, 0, 0);
	CHECK_EQ(seen[8], 0);				/* delivered: nothing pending any more */
	CHECK_EQ(seen[9], 0);
	CHECK_EQ(seen[10], OK_1);
	CHECK_EQ(seen[11], 2);
	CHECK_EQ(seen[12], OK_1);
	CHECK_EQ(seen[13], 0);
}

static void test_pending_interruption(void)
{
	vsm_call(vtl1_inject_interruption_gp, 0, 0);
	CHECK_EQ(seen[15], OK_1);
	CHECK_EQ(seen[16], PI_EXC_EC(13, 0x5678));
	CHECK_EQ(exc_count[13], 2);
	CHECK_EQ(exc_ec[13], 0x5678);
	CHECK_EQ(exc_rip[13], seen[14]);
	/* An exception without an error code: #DE. */
	vsm_call(vtl1_inject_interruption_de, 0, 0);
	CHECK_EQ(seen[18], OK_1);
	CHECK_EQ(exc_count[0], 1);
	CHECK_EQ(exc_rip[0], seen[17]);
	CHECK_EQ(exc_ec[0], 0);
	/* #PF(0x2) with CR2 from the exception parameter. */
	vsm_call(vtl1_inject_page_fault, 0, 0);
	CHECK_EQ(seen[41], OK_1);
	CHECK_EQ(exc_count[14], 1);
	CHECK_EQ(exc_ec[14], 0x2);
	CHECK_EQ(exc_cr2, 0xdead000);
	CHECK_EQ(exc_rip[14], seen[40]);
	vsm_call(vtl1_set_shared, 0, 0);
	CHECK_EQ(seen[47], OK_1);
	CHECK_EQ(seen[48], 0xc2c2000);
	CHECK_EQ(seen[49], OK_1);
	CHECK_EQ(seen[50], 0xd0d0000);
	{
		uint64_t cr2, dr0;

		__asm__ volatile("mov %%cr2, %0; mov %%dr0, %1" : "=r"(cr2), "=r"(dr0));
		CHECK_EQ(cr2, 0xc2c2000);
		CHECK_EQ(dr0, 0xd0d0000);
	}
	/* An NMI. */
	vsm_call(vtl1_inject_nmi, 0, 0);
	CHECK_EQ(seen[42], OK_1);
	CHECK_EQ(exc_count[2], 1);
	/* An external interrupt, delivered through the IDT without VTL0's APIC. */
	sti();
	vsm_call(vtl1_inject_external, 0, 0);
	cli();
	CHECK_EQ(seen[43], OK_1);
	CHECK_EQ(seen[44], 1 | (uint64_t)EXT_VEC << 16);
	CHECK_EQ(exc_count[EXT_VEC], 1);
}

static void test_emulation(void)
{
	uint64_t rdx = 0, rax;
	uint8_t cf = 0;

	rax = emulated_instruction(&cf, &rdx);
	CHECK_EQ(seen[20], OK_1);
	CHECK_EQ(seen[21], (uint64_t)emul_insn);	/* VTL0 stopped right after its port write */
	CHECK_EQ(seen[22], OK_1);
	CHECK_EQ(seen[23], OK_1);
	CHECK_EQ(seen[24], (uint64_t)emul_next);
	CHECK_EQ(rax, 0x600d);				/* the skipped `mov $0xbad, %eax` did not run */
	CHECK_EQ(cf, 1);
	CHECK_EQ(rdx, 0xd00d);
}

static void test_invalid_values(void)
{
	uint64_t cr0;

	wrmsr(LSTAR, 0x4444000);
	vsm_call(vtl1_invalid_values, 0, 0);
	CHECK_EQ(HV_RESULT_STATUS(seen[25]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_STATUS(seen[26]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_STATUS(seen[27]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_STATUS(seen[28]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_STATUS(seen[29]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(HV_RESULT_STATUS(seen[30]), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(seen[31], OK_1);
	CHECK_EQ(seen[32], 0);				/* VP0's initial APIC ID */
	CHECK_EQ(seen[33], 1);
	CHECK_EQ(seen[34], 1);
	CHECK_EQ(seen[35], 1);
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	CHECK_EQ(seen[36], cr0);
	CHECK_EQ(rdmsr(LSTAR), 0x4444000);
}

/*
 * A GDT segment as HV_X64_SEGMENT_REGISTER, from its descriptor (LAR/LSL
 * would be simpler, but this KVM's instruction emulator lacks them):
 * attributes = descriptor bits 55:52 and 47:40, the limit in bytes.
 */
static void check_segment(const char *name, const uint64_t v[2], uint64_t gdt_base, uint16_t sel, uint64_t base)
{
	uint64_t d = *(const uint64_t *)(gdt_base + (sel & ~7u));
	uint16_t attr = (uint16_t)((d >> 40) & 0xf0ff);
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 48) & 0xf) << 16);
	uint64_t want1;

	if (attr & 0x8000)	/* G: 4 KiB units */
		limit = limit << 12 | 0xfff;
	want1 = limit | (uint64_t)sel << 32 | (uint64_t)attr << 48;
	check(v[0] == base && v[1] == want1, "%s: base 0x%llx limit 0x%x sel 0x%x attr 0x%x (want 0x%llx 0x%x 0x%x 0x%x)",
	      name, (unsigned long long)v[0], (uint32_t)v[1], (uint16_t)(v[1] >> 32), (uint16_t)(v[1] >> 48),
	      (unsigned long long)base, limit, sel, attr);
}

static void test_segments_and_xmm(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdt, idt;
	uint16_t es, cs, ss, ds, fs, gs, ldtr, tr;

	wrmsr(FS_BASE, 0x5000);
	wrmsr(GS_BASE, 0x6000);
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt), "=m"(idt));
	__asm__ volatile("mov %%es, %0; mov %%cs, %1; mov %%ss, %2; mov %%ds, %3; mov %%fs, %4; mov %%gs, %5"
			 : "=r"(es), "=r"(cs), "=r"(ss), "=r"(ds), "=r"(fs), "=r"(gs));
	__asm__ volatile("sldt %0; str %1" : "=r"(ldtr), "=r"(tr));
	vsm_call(vtl1_read_segments, 0, 0);
	CHECK_EQ(seen[37], 10ull << 32);
	CHECK_EQ(cs, 0x08);
	check_segment("ES", vtl0_segs[0], gdt.base, es, 0);
	check_segment("CS", vtl0_segs[1], gdt.base, cs, 0);
	check_segment("SS", vtl0_segs[2], gdt.base, ss, 0);
	check_segment("DS", vtl0_segs[3], gdt.base, ds, 0);
	check_segment("FS", vtl0_segs[4], gdt.base, fs, 0x5000);		/* the base is FS_BASE in long mode */
	check_segment("GS", vtl0_segs[5], gdt.base, gs, 0x6000);
	CHECK_EQ((vtl0_segs[1][1] >> 48) & 0x2000, 0x2000);	/* CS.L */
	CHECK_EQ((uint16_t)(vtl0_segs[6][1] >> 32), ldtr);	/* LDTR selector */
	CHECK_EQ((uint16_t)(vtl0_segs[7][1] >> 32), tr);	/* TR selector */
	CHECK_EQ((vtl0_segs[7][1] >> 48) & 0x9f, 0x8b);		/* TR: present busy 64-bit TSS, a system segment */
	/* Table registers: Pad[3] zero, Limit at +6, Base at +8. */
	CHECK_EQ(vtl0_segs[8][0], (uint64_t)idt.limit << 48);
	CHECK_EQ(vtl0_segs[8][1], idt.base);
	CHECK_EQ(vtl0_segs[9][0], (uint64_t)gdt.limit << 48);
	CHECK_EQ(vtl0_segs[9][1], gdt.base);
	/* XMM fast output, VTL1 naming VTL0: the same 16-byte values as the memory form. */
	CHECK_EQ(seen[38], 4ull << 32);
	CHECK_EQ(seen[39], 4ull << 32);
	for (unsigned int i = 0; i < 4; i++)
		check(xmm_vals[i][0] == mem_vals[i][0] && xmm_vals[i][1] == mem_vals[i][1],
		      "XMM fast register 0x%x: 0x%llx:%016llx (memory form 0x%llx:%016llx)", xmm_names[i],
		      (unsigned long long)xmm_vals[i][1], (unsigned long long)xmm_vals[i][0],
		      (unsigned long long)mem_vals[i][1], (unsigned long long)mem_vals[i][0]);
	CHECK_EQ(mem_vals[1][1], gdt.base);
	CHECK_EQ(mem_vals[3][0], 0x4444000);			/* VTL0's LSTAR before the XMM Set below */
	CHECK_EQ(seen[45], HV_STATUS_INVALID_PARAMETER | 1ull << 32);
	CHECK_EQ(partial_vals[0][0], 0x4444000);
	CHECK_EQ(seen[46], OK_1);
	CHECK_EQ(rdmsr(LSTAR), 0x7777000);
	/* And VTL0 on its own registers, through the library's hv_hypercall_xmm. */
	{
		uint64_t in[12] = { 0 }, out[12] = { 0 }, own[4][2], r;

		memcpy(in, xmm_names, 16);
		r = hv_hypercall_xmm(HVCALL_GET_VP_REGISTERS | HV_FAST | HV_REP(4), ~0ull, 0xfffffffeull, in, out);
		CHECK_EQ(r, 4ull << 32);
		get_regs(0, xmm_names, 4, own);
		CHECK(!memcmp(&out[2], own, sizeof(own)));
		own[3][0] = 0x4444000;				/* LSTAR as it was when VTL1 read it */
		CHECK(!memcmp(own, mem_vals, sizeof(own)));	/* VTL0's own view = VTL1's view of VTL0 */
	}
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	set_irq_handler(13, record_exception);
	set_irq_handler(0, record_exception);
	set_irq_handler(2, record_exception);
	set_irq_handler(14, record_exception);
	set_irq_handler(EXT_VEC, record_exception);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(0, 0, 0);				/* VTL1 sets up its pages */
	test_pending_event0();
	test_pending_interruption();
	test_emulation();
	test_invalid_values();
	test_segments_and_xmm();
}
