/*
 * The hypercall dispatcher (src/hv/hypercall.c): hv_hypercall_decode() and
 * hv_hypercall() end to end, against a fake host: guest RAM is a static
 * buffer, the XMM registers are one recorded buffer (every get_xmm/set_xmm
 * call is counted), raise_irq and flush_tlb record their calls, and the
 * guest TSC is a fixed value above 10 MHz.
 *
 * What is checked: the exact decoding of the input value, the order of the
 * checks (reserved bits, call code, rep/var-header rules, privilege, then the
 * parameter blocks), the memory-form block rules, the register packing of
 * 64- and 32-bit callers, XMM fast input/output slot placement, rep
 * continuation every 256 elements and partial failure.
 */
#include "fake_host.h"
#include "test.h"
#include "hv/hv_internal.h"
#include "hv/hypercall_page.h"

#include <stdlib.h>

#define RAM_SIZE 0x20000u
#define GPA_LIMIT (1ull << 36)
#define NR_VPS 40
#define IN_GPA 0x1000u
#define OUT_GPA 0x3000u
#define CANARY 0xcc

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

/* ---- the fake host (fake_host.h) ---- */

static struct fake_host fake;

static struct hv_partition *new_partition(unsigned int max_vtl)
{
	struct hv_config cfg = {
		.nr_vps = NR_VPS, .tsc_hz = 40000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE,
		.gpa_limit = GPA_LIMIT, .max_vtl = max_vtl,
		.hypercall_port = FAKE_HYPERCALL_PORT, .ops = &fake_host_ops, .host = &fake,
	};
	struct hv_partition *p = hv_partition_create(&cfg);

	if (!p) {
		printf("hv_partition_create failed\n");
		exit(1);
	}
	return p;
}

static void reset_host(void)
{
	memset(ram, 0, sizeof(ram));
	memset(ram + OUT_GPA, CANARY, HV_PAGE_SIZE);
	fake_reset(&fake, ram, RAM_SIZE, NR_VPS, 40000000ull * 3);	/* the TSC: 3 s at 40 MHz */
	for (unsigned int i = 0; i < 6; i++) {
		fake.xmm[i][0] = 0x1111111111111111ull * (i + 1);
		fake.xmm[i][1] = 0xa0a0a0a0a0a0a0a0ull + i;
	}
	fake.xmm_vp = ~0u;
	fake.xmm_vtl = ~0u;
	fake.flush_caller = ~0u;
}

/* ---- building calls ---- */

static uint64_t ctl(uint16_t code, bool fast, unsigned int var, unsigned int count, unsigned int start)
{
	return code | (fast ? HV_HYPERCALL_FAST : 0) | (uint64_t)var << 17 | (uint64_t)count << 32 |
	       (uint64_t)start << 48;
}

#define SENTINEL 0x5a5a5a5a5a5a5a5aull

/* A 64-bit caller: input value in RCX, parameters (or GPAs) in RDX and R8; the rest holds a sentinel. */
static struct hv_hypercall_regs r64(uint64_t control, uint64_t p1, uint64_t p2)
{
	return (struct hv_hypercall_regs){
		.rax = SENTINEL, .rbx = SENTINEL, .rcx = control, .rdx = p1, .rsi = SENTINEL, .rdi = SENTINEL,
		.r8 = p2, .long_mode = true, .target_vtl = 77,
	};
}

/*
 * A 32-bit caller: input value in EDX:EAX, first parameter in EBX:ECX, second in EDI:ESI. The upper
 * halves of the 64-bit registers hold garbage (left over from long mode), which must not matter.
 */
#define GARBAGE_HI 0xdead000000000000ull
static struct hv_hypercall_regs r32(uint64_t control, uint64_t p1, uint64_t p2)
{
	return (struct hv_hypercall_regs){
		.rax = GARBAGE_HI | (uint32_t)control, .rdx = GARBAGE_HI | control >> 32,
		.rcx = GARBAGE_HI | (uint32_t)p1, .rbx = GARBAGE_HI | p1 >> 32,
		.rsi = GARBAGE_HI | (uint32_t)p2, .rdi = GARBAGE_HI | p2 >> 32,
		.r8 = SENTINEL, .long_mode = false, .target_vtl = 77,
	};
}

static uint16_t status_of(uint64_t rax) { return (uint16_t)rax; }
static unsigned int reps_of(uint64_t rax) { return (unsigned int)(rax >> 32) & 0xfff; }

/* Run a 64-bit call that must complete; returns RAX. */
static uint64_t run64(struct hv_partition *p, unsigned int vp, unsigned int vtl, struct hv_hypercall_regs *r)
{
	EXPECT_EQ(hv_hypercall(p, vp, vtl, r), HV_HYPERCALL_DONE);
	return r->rax;
}

static uint16_t call64(struct hv_partition *p, uint64_t control, uint64_t p1, uint64_t p2)
{
	struct hv_hypercall_regs r = r64(control, p1, p2);

	return status_of(run64(p, 0, 0, &r));
}

static void put64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static void put32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }

static bool all_canary(uint64_t gpa, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ram[gpa + i] != CANARY)
			return false;
	return true;
}

/* HvCallGetVpIndexFromApicId input at gpa: header {SELF, TargetVtl 0}, then n APIC IDs. */
static void apic_input(uint64_t gpa, unsigned int n, unsigned int bad_at)
{
	put64(gpa, HV_PARTITION_ID_SELF);
	put64(gpa + 8, 0);
	for (unsigned int i = 0; i < n; i++)
		put32(gpa + 16 + 4 * i, i == bad_at ? NR_VPS + 7 : (i * 7 + 3) % NR_VPS);
}

static uint32_t apic_of(unsigned int i) { return (i * 7 + 3) % NR_VPS; }

/* ---- decoding ---- */

static void test_decode_fields(void)
{
	struct hv_hypercall_input in;

	/* A rep call without variable header: every field, and the block sizes. */
	memset(&in, 0xa5, sizeof(in));
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, 5, 3), &in), HV_STATUS_SUCCESS);
	EXPECT_EQ(in.code, HVCALL_GET_VP_INDEX_FROM_APIC_ID);
	EXPECT(in.fast);
	EXPECT_EQ(in.var_qwords, 0);
	EXPECT_EQ(in.rep_count, 5);
	EXPECT_EQ(in.rep_start, 3);
	EXPECT(in.desc == hv_hypercall_find(HVCALL_GET_VP_INDEX_FROM_APIC_ID));
	EXPECT(in.desc && in.desc->code == HVCALL_GET_VP_INDEX_FROM_APIC_ID && in.desc->rep);
	EXPECT_EQ(in.in_size, 16 + 5 * 4);
	EXPECT_EQ(in.out_size, 5 * 4);

	/* Every field at its maximum, on a rep call with a variable header: nothing bleeds. */
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, false, 0x3ff, 0xfff, 0xffe), &in),
		  HV_STATUS_SUCCESS);
	EXPECT_EQ(in.code, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX);
	EXPECT(!in.fast);
	EXPECT_EQ(in.var_qwords, 0x3ff);
	EXPECT_EQ(in.rep_count, 0xfff);
	EXPECT_EQ(in.rep_start, 0xffe);
	EXPECT_EQ(in.in_size, 32 + 0x3ff * 8 + 0xfff * 8);
	EXPECT_EQ(in.out_size, 0);

	/* A simple call with a variable header. */
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, true, 2, 0, 0), &in),
		  HV_STATUS_SUCCESS);
	EXPECT_EQ(in.code, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX);
	EXPECT(in.fast);
	EXPECT_EQ(in.var_qwords, 2);
	EXPECT_EQ(in.rep_count, 0);
	EXPECT_EQ(in.rep_start, 0);
	EXPECT_EQ(in.in_size, 24 + 16);
	EXPECT_EQ(in.out_size, 0);

	/* Simple calls: the fixed header sizes. */
	EXPECT_EQ(hv_hypercall_decode(HVCALL_NOTIFY_LONG_SPIN_WAIT, &in), HV_STATUS_SUCCESS);
	EXPECT(!in.fast);
	EXPECT_EQ(in.in_size, 8);
	EXPECT_EQ(in.out_size, 0);
	EXPECT_EQ(hv_hypercall_decode(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, &in), HV_STATUS_SUCCESS);
	EXPECT_EQ(in.in_size, 24);

	/* The code is all 16 bits: 0x109A is not 0x009A. */
	EXPECT_EQ(hv_hypercall_decode(ctl(0x109A, false, 0, 1, 0), &in), HV_STATUS_INVALID_HYPERCALL_CODE);
	EXPECT_EQ(in.code, 0x109A);
	EXPECT(in.desc == NULL);
	EXPECT_EQ(in.rep_count, 1);

	/* The lookup knows every implemented code and nothing else. */
	{
		static const uint16_t known[] = {
			0x0002, 0x0003, 0x0008, 0x000B, 0x000D, 0x000F, 0x0013, 0x0014, 0x0015,
			0x0050, 0x0051, 0x005C, 0x005D, 0x0099, 0x009A,
		};

		for (unsigned int i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			const struct hv_hypercall_desc *d = hv_hypercall_find(known[i]);

			EXPECT(d != NULL);
			if (d)
				EXPECT_EQ(d->code, known[i]);
		}
	}
}

static void test_decode_reserved_bits(void)
{
	static const struct { unsigned int lo, hi; } ranges[] = { { 27, 31 }, { 44, 47 }, { 60, 63 } };
	struct hv_hypercall_input in;

	for (unsigned int r = 0; r < 3; r++) {
		for (unsigned int b = ranges[r].lo; b <= ranges[r].hi; b++) {
			uint64_t bit = 1ull << b;

			/* On an otherwise valid rep call, a valid simple call and an unknown code. */
			EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 2, 1) | bit, &in),
				  HV_STATUS_INVALID_HYPERCALL_INPUT);
			EXPECT(in.desc == NULL);
			EXPECT_EQ(hv_hypercall_decode(HVCALL_NOTIFY_LONG_SPIN_WAIT | bit, &in),
				  HV_STATUS_INVALID_HYPERCALL_INPUT);
			EXPECT_EQ(hv_hypercall_decode(0xBEEF | bit, &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
		}
	}
	/* All the other bits are fields: none of them alone is "reserved". */
	for (unsigned int b = 16; b < 64; b++) {
		uint64_t bit = 1ull << b;
		bool reserved = (b >= 27 && b <= 31) || (b >= 44 && b <= 47) || b >= 60;

		if (!reserved)
			EXPECT(hv_hypercall_decode(0xBEEF | bit, &in) == HV_STATUS_INVALID_HYPERCALL_CODE);
	}

	/* Through hv_hypercall: the status in RAX, reps completed 0, nothing else touched. */
	{
		struct hv_partition *p = new_partition(0);
		struct hv_hypercall_regs r;

		reset_host();
		r = r64(HVCALL_NOTIFY_LONG_SPIN_WAIT | 1ull << 31, IN_GPA, OUT_GPA);
		EXPECT_EQ(run64(p, 0, 0, &r), HV_STATUS_INVALID_HYPERCALL_INPUT);
		EXPECT_EQ(r.rcx, HVCALL_NOTIFY_LONG_SPIN_WAIT | 1ull << 31);
		EXPECT_EQ(r.rdx, IN_GPA);
		EXPECT_EQ(r.r8, OUT_GPA);
		EXPECT_EQ(r.rbx, SENTINEL);
		r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 2, 0) | 1ull << 45, IN_GPA, OUT_GPA);
		EXPECT_EQ(run64(p, 0, 0, &r), HV_STATUS_INVALID_HYPERCALL_INPUT);
		EXPECT(all_canary(OUT_GPA, 8));
		hv_partition_destroy(p);
	}
}

static void test_decode_unknown_code(void)
{
	static const uint16_t unknown[] = { 0x0000, 0x0001, 0x0004, 0x0094, 0x00FF, 0x8001, 0xFFFF };
	struct hv_hypercall_input in;

	for (unsigned int i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		EXPECT_EQ(hv_hypercall_decode(unknown[i], &in), HV_STATUS_INVALID_HYPERCALL_CODE);
		EXPECT(in.desc == NULL);
		/* The code is checked before the rep and variable-header rules. */
		EXPECT_EQ(hv_hypercall_decode(ctl(unknown[i], true, 5, 3, 7), &in), HV_STATUS_INVALID_HYPERCALL_CODE);
		EXPECT_EQ(hv_hypercall_decode(ctl(unknown[i], false, 0, 0, 9), &in), HV_STATUS_INVALID_HYPERCALL_CODE);
	}
	{
		struct hv_partition *p = new_partition(0);
		struct hv_hypercall_regs r;

		reset_host();
		r = r64(ctl(0x00FF, false, 0, 1, 0), IN_GPA, OUT_GPA);
		EXPECT_EQ(run64(p, 0, 0, &r), HV_STATUS_INVALID_HYPERCALL_CODE);
		hv_partition_destroy(p);
	}
}

static void test_decode_rep_rules(void)
{
	struct hv_hypercall_input in;
	const uint16_t apic = HVCALL_GET_VP_INDEX_FROM_APIC_ID, spin = HVCALL_NOTIFY_LONG_SPIN_WAIT;

	/* A rep call needs reps; a simple call takes none. */
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 0, 0, 0), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, false, 0, 0, 0), &in),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(spin, false, 0, 1, 0), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(spin, false, 0, 0xfff, 0), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, true, 0, 1, 0), &in),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* A simple call with a rep start index (start 1 >= count 0; KVM and OpenVMM refuse it). */
	EXPECT_EQ(hv_hypercall_decode(ctl(spin, false, 0, 0, 1), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, false, 0, 0, 0xfff), &in),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);

	/* Start index: below the count only. */
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 0, 4, 3), &in), HV_STATUS_SUCCESS);
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 0, 4, 4), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 0, 4, 5), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 0, 1, 0xfff), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 0, 0xfff, 0xfff), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 0, 0xfff, 0xffe), &in), HV_STATUS_SUCCESS);

	/* A variable header only where the call takes one. */
	EXPECT_EQ(hv_hypercall_decode(ctl(spin, false, 1, 0, 0), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(apic, false, 1, 1, 0), &in), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, false, 0x200, 0, 0), &in),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, false, 1, 2, 0), &in),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, false, 1, 0, 0), &in),
		  HV_STATUS_SUCCESS);
	EXPECT_EQ(hv_hypercall_decode(ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, false, 1, 2, 1), &in),
		  HV_STATUS_SUCCESS);

	/* hv_hypercall sees the same: a simple call with a start index does not run. */
	{
		struct hv_partition *p = new_partition(0);

		reset_host();
		put64(IN_GPA, 0);
		EXPECT_EQ(call64(p, ctl(spin, false, 0, 0, 1), IN_GPA, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_INPUT);
		EXPECT_EQ(call64(p, ctl(spin, false, 0, 0, 0), IN_GPA, OUT_GPA), HV_STATUS_SUCCESS);
		hv_partition_destroy(p);
	}
}

/* Reserved bits, then the code, then the rep rules, then the privilege, then the blocks. */
static void test_check_order(void)
{
	struct hv_partition *p = new_partition(0), *pv = new_partition(1);
	const uint16_t epv = HVCALL_ENABLE_PARTITION_VTL;
	struct hv_hypercall_regs r;

	reset_host();
	/* A VSM call without VSM: ACCESS_DENIED, memory and fast forms, whatever the blocks. */
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	put64(IN_GPA + 8, 1);
	EXPECT_EQ(call64(p, epv, IN_GPA, OUT_GPA), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(call64(p, epv | HV_HYPERCALL_FAST, HV_PARTITION_ID_SELF, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(call64(p, epv, IN_GPA + 4, OUT_GPA), HV_STATUS_ACCESS_DENIED);	/* misaligned */
	EXPECT_EQ(call64(p, epv, RAM_SIZE, OUT_GPA), HV_STATUS_ACCESS_DENIED);	/* not RAM */
	EXPECT_EQ(call64(p, epv, GPA_LIMIT, OUT_GPA), HV_STATUS_ACCESS_DENIED);	/* beyond the GPA space */
	EXPECT_EQ(call64(p, HVCALL_ENABLE_VP_VTL | HV_HYPERCALL_FAST, 0, 0), HV_STATUS_ACCESS_DENIED);	/* too big */
	EXPECT_EQ(call64(p, ctl(HVCALL_GET_VP_REGISTERS, false, 0, 1, 0), IN_GPA, OUT_GPA), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(call64(p, ctl(HVCALL_SET_VP_REGISTERS, false, 0, 1, 0), IN_GPA, OUT_GPA), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(call64(p, HVCALL_START_VIRTUAL_PROCESSOR, IN_GPA, OUT_GPA), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(call64(p, HVCALL_ENABLE_VP_VTL, IN_GPA, OUT_GPA), HV_STATUS_ACCESS_DENIED);

	/* The rep and variable-header rules come before the privilege. */
	EXPECT_EQ(call64(p, ctl(epv, false, 0, 1, 0), IN_GPA, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(call64(p, ctl(epv, false, 1, 0, 0), IN_GPA, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(call64(p, ctl(HVCALL_GET_VP_REGISTERS, false, 0, 0, 0), IN_GPA, OUT_GPA),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(call64(p, ctl(HVCALL_GET_VP_REGISTERS, false, 0, 2, 2), IN_GPA, OUT_GPA),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* The code before the rep rules, reserved bits before the code. */
	EXPECT_EQ(call64(p, ctl(0x00FE, false, 3, 1, 5), IN_GPA, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_CODE);
	EXPECT_EQ(call64(p, ctl(0x00FE, false, 0, 0, 0) | 1ull << 63, IN_GPA, OUT_GPA),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(call64(p, epv | 1ull << 27, IN_GPA, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_INPUT);

	/* With the privilege, the blocks are looked at. */
	EXPECT_EQ(call64(pv, epv, IN_GPA + 4, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(call64(pv, epv, RAM_SIZE, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(call64(pv, HVCALL_ENABLE_VP_VTL | HV_HYPERCALL_FAST, 0, 0), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(call64(pv, epv, IN_GPA, OUT_GPA), HV_STATUS_SUCCESS);

	/* A failing call: RAX = status, reps completed 0; RIP advances (DONE); the rest is unchanged. */
	r = r64(epv, IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(r.rcx, epv);
	EXPECT_EQ(r.rdx, IN_GPA);
	EXPECT_EQ(r.r8, OUT_GPA);
	EXPECT_EQ(r.rbx, SENTINEL);
	EXPECT_EQ(r.rsi, SENTINEL);
	EXPECT_EQ(r.rdi, SENTINEL);
	EXPECT_EQ(fake.xmm_gets + fake.xmm_sets, 0);
	hv_partition_destroy(p);
	hv_partition_destroy(pv);
}

/* ---- memory-form blocks ---- */

/* GetVpIndexFromApicId with n IDs, memory form, re-issued while it yields; returns the status. */
static uint16_t apic_call(struct hv_partition *p, unsigned int n, uint64_t in_gpa, uint64_t out_gpa)
{
	struct hv_hypercall_regs r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, n, 0), in_gpa, out_gpa);
	enum hv_hypercall_outcome o;
	unsigned int exits = 0;

	memset(ram + OUT_GPA, CANARY, HV_PAGE_SIZE);
	if (in_gpa + 16 + 4 * n <= RAM_SIZE)
		apic_input(in_gpa, n, ~0u);
	while ((o = hv_hypercall(p, 0, 0, &r)) == HV_HYPERCALL_CONTINUE && ++exits < 100)
		;
	EXPECT_EQ(o, HV_HYPERCALL_DONE);
	if (status_of(r.rax) == HV_STATUS_SUCCESS)
		EXPECT_EQ(reps_of(r.rax), n);
	return status_of(r.rax);
}

static void test_memory_blocks(void)
{
	struct hv_partition *p = new_partition(0);

	reset_host();
	/* The base case: input 24 bytes, output 8. */
	EXPECT_EQ(apic_call(p, 2, IN_GPA, OUT_GPA), HV_STATUS_SUCCESS);
	EXPECT_EQ(get32(OUT_GPA), apic_of(0));
	EXPECT_EQ(get32(OUT_GPA + 4), apic_of(1));
	EXPECT(all_canary(OUT_GPA + 8, 8));

	/* Alignment: 8 bytes, for both blocks. */
	for (unsigned int off = 1; off < 8; off++) {
		EXPECT_EQ(apic_call(p, 2, IN_GPA + off, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);
		EXPECT_EQ(apic_call(p, 2, IN_GPA, OUT_GPA + off), HV_STATUS_INVALID_ALIGNMENT);
	}
	EXPECT(all_canary(OUT_GPA, 16));

	/* Within one page: ending exactly at the boundary is fine, one element more is not. */
	EXPECT_EQ(apic_call(p, 2, 0x1fe8, OUT_GPA), HV_STATUS_SUCCESS);
	EXPECT_EQ(apic_call(p, 4, 0x1fe8, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 2, 0x1ff0, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 2, IN_GPA, OUT_GPA + 0xff8), HV_STATUS_SUCCESS);
	EXPECT_EQ(get32(OUT_GPA + 0xff8), apic_of(0));
	EXPECT_EQ(get32(OUT_GPA + 0xffc), apic_of(1));
	EXPECT_EQ(apic_call(p, 3, IN_GPA, OUT_GPA + 0xff8), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT(all_canary(OUT_GPA, 0xff8));
	/* The largest input that fits: 16 + 4 * 1020 = 4096 bytes at a page start. */
	EXPECT_EQ(apic_call(p, 1020, IN_GPA, 0x6000), HV_STATUS_SUCCESS);
	EXPECT_EQ(apic_call(p, 1021, IN_GPA, 0x6000), HV_STATUS_INVALID_ALIGNMENT);

	/* No overlap: input [0x1000, 0x1018), output 8 bytes. */
	EXPECT_EQ(apic_call(p, 2, IN_GPA, IN_GPA + 0x10), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 2, IN_GPA, IN_GPA), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 4, IN_GPA, IN_GPA - 8), HV_STATUS_INVALID_ALIGNMENT);	/* out [0xff8, 0x1008) */
	EXPECT_EQ(apic_call(p, 2, IN_GPA, IN_GPA + 0x18), HV_STATUS_SUCCESS);		/* adjacent after */
	EXPECT_EQ(apic_call(p, 2, IN_GPA, IN_GPA - 8), HV_STATUS_SUCCESS);		/* adjacent before */
	EXPECT_EQ(get32(IN_GPA - 8), apic_of(0));

	/* Inside the GPA space: at or past gpa_limit is INVALID_ALIGNMENT, for both blocks. */
	EXPECT_EQ(apic_call(p, 2, GPA_LIMIT, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 2, GPA_LIMIT + 0x1000, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 2, 1ull << 63, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 2, IN_GPA, GPA_LIMIT), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(apic_call(p, 2, IN_GPA, ~0ull & ~0xfffull), HV_STATUS_INVALID_ALIGNMENT);

	/* Inside the space but not RAM: INVALID_HYPERCALL_INPUT (input or output). */
	EXPECT_EQ(apic_call(p, 2, RAM_SIZE, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(apic_call(p, 2, GPA_LIMIT - 0x1000, OUT_GPA), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(apic_call(p, 2, IN_GPA, RAM_SIZE), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(apic_call(p, 2, IN_GPA, GPA_LIMIT - 8), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT(all_canary(OUT_GPA, 16));

	/* Alignment is judged before RAM: a misaligned non-RAM block is INVALID_ALIGNMENT. */
	EXPECT_EQ(apic_call(p, 2, RAM_SIZE + 4, OUT_GPA), HV_STATUS_INVALID_ALIGNMENT);

	/* A call without output ignores the output GPA entirely. */
	put64(IN_GPA, 0);
	EXPECT_EQ(call64(p, HVCALL_NOTIFY_LONG_SPIN_WAIT, IN_GPA, 3), HV_STATUS_SUCCESS);
	EXPECT_EQ(call64(p, HVCALL_NOTIFY_LONG_SPIN_WAIT, IN_GPA, IN_GPA), HV_STATUS_SUCCESS);
	EXPECT_EQ(call64(p, HVCALL_NOTIFY_LONG_SPIN_WAIT, IN_GPA, ~0ull), HV_STATUS_SUCCESS);
	EXPECT_EQ(call64(p, HVCALL_NOTIFY_LONG_SPIN_WAIT, IN_GPA + 1, 0), HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(fake.xmm_gets + fake.xmm_sets, 0);	/* memory form never touches XMM */
	hv_partition_destroy(p);
}

/* ---- fast register packing ---- */

static void test_fast_regs_64(void)
{
	struct hv_partition *p = new_partition(0);
	struct hv_hypercall_regs r;
	const uint16_t ipi = HVCALL_SEND_SYNTHETIC_CLUSTER_IPI;

	reset_host();
	/* SendSyntheticClusterIpi: RDX = Vector | TargetVtl << 32 | Flags << 40, R8 = ProcessorMask. */
	r = r64(ipi | HV_HYPERCALL_FAST, 0x40, 1ull << 2 | 1ull << 35);
	EXPECT_EQ(run64(p, 3, 0, &r), 0);
	EXPECT_EQ(fake.nirqs, 2);
	EXPECT(fake.irq[0].vp == 2 && fake.irq[0].vtl == 0 && fake.irq[0].vector == 0x40 && !fake.irq[0].auto_eoi);
	EXPECT(fake.irq[1].vp == 35 && fake.irq[1].vtl == 0 && fake.irq[1].vector == 0x40);
	EXPECT_EQ(r.rdx, 0x40);			/* fast input registers keep their values */
	EXPECT_EQ(r.r8, 1ull << 2 | 1ull << 35);
	EXPECT_EQ(r.rcx, ipi | HV_HYPERCALL_FAST);
	EXPECT_EQ(r.rbx, SENTINEL);
	EXPECT_EQ(fake.xmm_gets + fake.xmm_sets, 0);	/* 16 bytes: no XMM register involved */

	fake.nirqs = 0;
	EXPECT_EQ(call64(p, ipi | HV_HYPERCALL_FAST, 0x40 | 1ull << 40, 1), HV_STATUS_INVALID_PARAMETER); /* Flags */
	EXPECT_EQ(call64(p, ipi | HV_HYPERCALL_FAST, 0x40 | 0x11ull << 32, 1), HV_STATUS_ACCESS_DENIED);	/* VTL1 */
	EXPECT_EQ(call64(p, ipi | HV_HYPERCALL_FAST, 0x0f, 1), HV_STATUS_INVALID_PARAMETER);		/* vector */
	EXPECT_EQ(fake.nirqs, 0);

	/* NotifyLongSpinWait: 8 bytes in RDX. */
	r = r64(HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HYPERCALL_FAST, 1000, 0x77);
	EXPECT_EQ(run64(p, 0, 0, &r), 0);
	EXPECT_EQ(r.rdx, 1000);
	EXPECT_EQ(r.r8, 0x77);

	/* GetVpIndexFromApicId: the header is RDX (PartitionId) and R8 (TargetVtl); APIC IDs from XMM0. */
	fake.xmm[0][0] = 9;
	EXPECT_EQ(call64(p, ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, 1, 0), HV_PARTITION_ID_SELF, 0), 0);
	EXPECT_EQ((uint32_t)fake.xmm[1][0], 9);
	EXPECT_EQ(call64(p, ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, 1, 0), 0, 0),
		  HV_STATUS_INVALID_PARTITION_ID);
	EXPECT_EQ(call64(p, ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, 1, 0), HV_PARTITION_ID_SELF, 1),
		  HV_STATUS_ACCESS_DENIED);	/* TargetVtl 1 from VTL0 */
	hv_partition_destroy(p);
}

/* hv_hypercall_args: the three inputs as TLFS 3.5 places them; the upper halves of 32-bit callers' registers are ignored. */
static void test_hypercall_args(void)
{
	struct hv_hypercall_regs r = r32(0x123456789abcdef0ull, 0x1111222233334444ull, 0x5555666677778888ull);
	uint64_t a[3];

	hv_hypercall_args(&r, a);
	EXPECT_EQ(a[0], 0x123456789abcdef0ull);
	EXPECT_EQ(a[1], 0x1111222233334444ull);
	EXPECT_EQ(a[2], 0x5555666677778888ull);
	r = (struct hv_hypercall_regs){ .rax = 1, .rbx = 2, .rcx = 0xc0ffee0000000001ull, .rdx = 0xd00d, .rsi = 3,
					.rdi = 4, .r8 = 0xfeedface12345678ull, .long_mode = true };
	hv_hypercall_args(&r, a);
	EXPECT_EQ(a[0], 0xc0ffee0000000001ull);
	EXPECT_EQ(a[1], 0xd00d);
	EXPECT_EQ(a[2], 0xfeedface12345678ull);
}

static void test_fast_regs_32(void)
{
	struct hv_partition *p = new_partition(0);
	struct hv_hypercall_regs r;
	const uint64_t ipi = HVCALL_SEND_SYNTHETIC_CLUSTER_IPI | HV_HYPERCALL_FAST;

	reset_host();
	/* First parameter EBX:ECX (Vector in ECX, TargetVtl/Flags in EBX), second EDI:ESI (mask 63:32 in EDI). */
	r = r32(ipi, 0x41, 1ull << 33 | 1ull << 1);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, 0);
	EXPECT_EQ((uint32_t)r.rdx, 0);
	EXPECT_EQ(fake.nirqs, 2);
	EXPECT(fake.irq[0].vp == 1 && fake.irq[0].vector == 0x41);
	EXPECT(fake.irq[1].vp == 33 && fake.irq[1].vector == 0x41);
	EXPECT_EQ(r.rbx, GARBAGE_HI);
	EXPECT_EQ(r.rcx, GARBAGE_HI | 0x41);
	EXPECT_EQ(r.rsi, GARBAGE_HI | 2);
	EXPECT_EQ(r.rdi, GARBAGE_HI | 2);
	EXPECT_EQ(r.r8, SENTINEL);
	EXPECT_EQ(fake.xmm_gets + fake.xmm_sets, 0);

	/* EBX is the high half of the first parameter: Flags (byte 5) and TargetVtl (byte 4). */
	fake.nirqs = 0;
	r = r32(ipi, 0x41 | 1ull << 40, 1);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ((uint32_t)r.rdx, 0);
	r = r32(ipi, 0x41 | 0x11ull << 32, 1);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nirqs, 0);

	/* EDX is the high half of the input value: EDX = 1 is a rep count on a simple call. */
	r = r32(HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HYPERCALL_FAST | 1ull << 32, 0, 0);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ((uint32_t)r.rdx, 0);
	r = r32(HVCALL_NOTIFY_LONG_SPIN_WAIT | HV_HYPERCALL_FAST, 0, 0);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, 0);

	/* 32-bit callers have no XMM fast form: more than 16 bytes of fast input is refused. */
	r = r32(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, 1, 0), HV_PARTITION_ID_SELF, 0);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, HV_STATUS_INVALID_HYPERCALL_INPUT);
	r = r32(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_HYPERCALL_FAST, 0, HV_FLUSH_ALL_PROCESSORS);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(fake.flushes, 0);
	EXPECT_EQ(fake.xmm_gets + fake.xmm_sets, 0);

	/* Memory form: input GPA in EBX:ECX, output GPA in EDI:ESI; result in EDX:EAX. */
	apic_input(IN_GPA, 3, ~0u);
	r = r32(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 3, 0), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 0);			/* status 0, bits 31:16 0 */
	EXPECT_EQ(r.rdx, 3);			/* reps completed, bits 43:32 of the result */
	EXPECT_EQ(get32(OUT_GPA), apic_of(0));
	EXPECT_EQ(get32(OUT_GPA + 8), apic_of(2));
	EXPECT(all_canary(OUT_GPA + 12, 4));
	/* EBX = 1: input at 4 GiB + 0x1000, in the GPA space but not RAM. */
	r = r32(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 3, 0), 1ull << 32 | IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(r.rdx, 0);
	/* EDI = 0x10: output at 64 GiB + 0x3000, past the GPA space. */
	r = r32(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 3, 0), IN_GPA, 0x10ull << 32 | OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_ALIGNMENT);
	EXPECT_EQ(r.rdx, 0);
	hv_partition_destroy(p);
}

/* ---- XMM fast input and output ---- */

/* Fast GetVpIndexFromApicId with n APIC IDs: header in RDX/R8, IDs from XMM0 on. */
static uint16_t xmm_apic_call(struct hv_partition *p, unsigned int n, struct hv_hypercall_regs *r)
{
	uint8_t *x = (uint8_t *)fake.xmm;

	reset_host();
	for (unsigned int i = 0; i < n && i < 24; i++) {
		uint32_t id = apic_of(i);

		memcpy(x + 4 * i, &id, 4);
	}
	*r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, n, 0), HV_PARTITION_ID_SELF, 0);
	return status_of(run64(p, 5, 0, r));
}

static uint32_t xmm32(unsigned int byte)
{
	uint32_t v;

	memcpy(&v, (uint8_t *)fake.xmm + byte, 4);
	return v;
}

static void test_xmm_fast(void)
{
	struct hv_partition *p = new_partition(0);
	struct hv_hypercall_regs r;

	/* 20-byte input ({RDX, R8}, 4 bytes of XMM0): the output starts at XMM1. */
	EXPECT_EQ(xmm_apic_call(p, 1, &r), 0);
	EXPECT_EQ(fake.xmm_gets, 1);
	EXPECT_EQ(fake.xmm_sets, 1);
	EXPECT_EQ(fake.xmm_vp, 5);
	EXPECT_EQ(fake.xmm_vtl, 0);
	EXPECT_EQ(xmm32(16), apic_of(0));
	EXPECT_EQ(fake.xmm[0][0], apic_of(0) | 0x1111111100000000ull);	/* input register untouched */
	EXPECT_EQ(fake.xmm[0][1], 0xa0a0a0a0a0a0a0a0ull);
	EXPECT_EQ(fake.xmm[2][0], 0x3333333333333333ull);
	EXPECT_EQ(fake.xmm[5][1], 0xa0a0a0a0a0a0a0a5ull);
	EXPECT_EQ(r.rdx, HV_PARTITION_ID_SELF);
	EXPECT_EQ(r.r8, 0);
	EXPECT_EQ(r.rax, 1ull << 32);

	/* 32 bytes in (XMM0 full), 16 out: XMM1 exactly. */
	EXPECT_EQ(xmm_apic_call(p, 4, &r), 0);
	for (unsigned int i = 0; i < 4; i++) {
		EXPECT_EQ(xmm32(16 + 4 * i), apic_of(i));
		EXPECT_EQ(xmm32(4 * i), apic_of(i));
	}
	EXPECT_EQ(fake.xmm[2][0], 0x3333333333333333ull);

	/* 36 bytes in (XMM0 and 4 bytes of XMM1): output from XMM2, 20 bytes. */
	EXPECT_EQ(xmm_apic_call(p, 5, &r), 0);
	for (unsigned int i = 0; i < 5; i++)
		EXPECT_EQ(xmm32(32 + 4 * i), apic_of(i));
	EXPECT_EQ(xmm32(16), apic_of(4));	/* the last input ID is still in XMM1 */
	EXPECT_EQ(fake.xmm[1][1], 0xa0a0a0a0a0a0a0a1ull);
	EXPECT_EQ(fake.xmm[4][0], 0x5555555555555555ull);

	/* The largest GetVpIndexFromApicId that fits: 64 bytes in (4 slots), 48 out (XMM3-XMM5). */
	EXPECT_EQ(xmm_apic_call(p, 12, &r), 0);
	EXPECT_EQ(reps_of(r.rax), 12);
	for (unsigned int i = 0; i < 12; i++) {
		EXPECT_EQ(xmm32(48 + 4 * i), apic_of(i));
		EXPECT_EQ(xmm32(4 * i), apic_of(i));
	}

	/* Resumed at rep start 2 (of 4): elements 2-3 land at bytes 8-15 of XMM1, bytes 0-7 are kept. */
	reset_host();
	fake.xmm[0][0] = 1 | 2ull << 32;
	fake.xmm[0][1] = 3 | 4ull << 32;
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, 4, 2), HV_PARTITION_ID_SELF, 0);
	EXPECT_EQ(run64(p, 0, 0, &r), 4ull << 32);
	EXPECT_EQ(fake.xmm[1][0], 0x2222222222222222ull);
	EXPECT_EQ(fake.xmm[1][1], 3 | 4ull << 32);

	/* 68 bytes in (5 slots) leaves 32 bytes for 52 of output: refused before anything runs. */
	EXPECT_EQ(xmm_apic_call(p, 13, &r), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(reps_of(r.rax), 0);
	EXPECT_EQ(fake.xmm_sets, 0);
	EXPECT_EQ(fake.xmm[5][1], 0xa0a0a0a0a0a0a0a5ull);
	EXPECT_EQ(xmm_apic_call(p, 20, &r), HV_STATUS_INVALID_HYPERCALL_INPUT);

	/*
	 * Input only: at most 112 bytes ({RDX, R8}, XMM0-5). FlushVirtualAddressList: 24-byte header
	 * (AddressSpace in RDX, Flags in R8, ProcessorMask in XMM0 low) and 8-byte GVA ranges.
	 */
	reset_host();
	fake.xmm[0][0] = 1ull << 6 | 1ull << 39;
	EXPECT_EQ(call64(p, ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, true, 0, 11, 0), 0x1000, 0), 0);
	EXPECT_EQ(fake.flushes, 1);
	EXPECT_EQ(fake.flush_mask[0], 1ull << 6 | 1ull << 39);
	EXPECT_EQ(fake.xmm_gets, 1);
	EXPECT_EQ(fake.xmm_sets, 0);			/* no output: XMM registers are not written */
	reset_host();
	EXPECT_EQ(call64(p, ctl(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, true, 0, 12, 0), 0x1000, 0),
		  HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(fake.flushes, 0);
	/* FlushVirtualAddressSpace fast (24 bytes): the flags come from R8, the mask from XMM0. */
	reset_host();
	fake.xmm[0][0] = 1ull << 3;
	EXPECT_EQ(call64(p, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_HYPERCALL_FAST, 0, 0), 0);
	EXPECT_EQ(fake.flush_mask[0], 1ull << 3);
	EXPECT_EQ(call64(p, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_HYPERCALL_FAST, 0, 1ull << 8),
		  HV_STATUS_INVALID_PARAMETER);
	hv_partition_destroy(p);
}

/* ---- rep continuation ---- */

static void test_rep_continuation_64(void)
{
	struct hv_partition *p = new_partition(0);
	const uint64_t c = ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 600, 0);
	struct hv_hypercall_regs r;

	reset_host();
	apic_input(IN_GPA, 600, ~0u);		/* 2416 bytes in, 2400 out */
	r = r64(c, IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_CONTINUE);
	EXPECT_EQ(r.rcx, c | 256ull << 48);	/* only the start index changes */
	EXPECT_EQ(r.rax, SENTINEL);		/* no result yet */
	EXPECT_EQ(r.rdx, IN_GPA);
	EXPECT_EQ(r.r8, OUT_GPA);
	EXPECT_EQ(get32(OUT_GPA + 255 * 4), apic_of(255));
	EXPECT(all_canary(OUT_GPA + 256 * 4, 344 * 4));

	/* The guest re-executes the call with the updated RCX. */
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_CONTINUE);
	EXPECT_EQ(r.rcx, c | 512ull << 48);
	EXPECT_EQ(r.rax, SENTINEL);
	EXPECT_EQ(get32(OUT_GPA + 511 * 4), apic_of(511));
	EXPECT(all_canary(OUT_GPA + 512 * 4, 88 * 4));

	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 600ull << 32);		/* SUCCESS, reps completed 600 */
	EXPECT_EQ(r.rcx, c | 512ull << 48);
	for (unsigned int i = 0; i < 600; i++)
		if (get32(OUT_GPA + 4 * i) != apic_of(i)) {
			printf("  element %u: %#x\n", i, get32(OUT_GPA + 4 * i));
			EXPECT(0);
			break;
		}
	EXPECT(all_canary(OUT_GPA + 2400, 16));

	/* 256 elements complete in one exit; 257 do not. */
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 256, 0), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 256ull << 32);
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 257, 0), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_CONTINUE);
	EXPECT_EQ(r.rcx, ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 257, 256));

	/* Starting part way: only elements from the start index are run and written. */
	memset(ram + OUT_GPA, CANARY, HV_PAGE_SIZE);
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 600, 590), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 600ull << 32);
	EXPECT(all_canary(OUT_GPA, 590 * 4));
	EXPECT_EQ(get32(OUT_GPA + 590 * 4), apic_of(590));
	EXPECT_EQ(get32(OUT_GPA + 599 * 4), apic_of(599));
	hv_partition_destroy(p);
}

static void test_rep_continuation_32(void)
{
	struct hv_partition *p = new_partition(0);
	const uint64_t c = ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 600, 0);
	struct hv_hypercall_regs r;

	reset_host();
	apic_input(IN_GPA, 600, ~0u);
	r = r32(c, IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_CONTINUE);
	EXPECT_EQ((uint32_t)r.rax, HVCALL_GET_VP_INDEX_FROM_APIC_ID);
	EXPECT_EQ((uint32_t)r.rdx, 600 | 256u << 16);	/* rep count in EDX 11:0, start index in EDX 27:16 */
	EXPECT_EQ((uint32_t)r.rcx, IN_GPA);
	EXPECT_EQ((uint32_t)r.rsi, OUT_GPA);
	EXPECT(all_canary(OUT_GPA + 256 * 4, 4));

	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_CONTINUE);
	EXPECT_EQ((uint32_t)r.rax, HVCALL_GET_VP_INDEX_FROM_APIC_ID);
	EXPECT_EQ((uint32_t)r.rdx, 600 | 512u << 16);

	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ((uint32_t)r.rax, 0);
	EXPECT_EQ((uint32_t)r.rdx, 600);		/* reps completed */
	EXPECT_EQ(get32(OUT_GPA + 599 * 4), apic_of(599));
	EXPECT(all_canary(OUT_GPA + 2400, 4));
	hv_partition_destroy(p);
}

static void test_rep_failure(void)
{
	struct hv_partition *p = new_partition(0);
	struct hv_hypercall_regs r;

	/* Element 5 of 10 fails: its status, reps completed 5, elements 0-4 written, 5-9 not. */
	reset_host();
	apic_input(IN_GPA, 10, 5);
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 10, 0), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(status_of(r.rax), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(reps_of(r.rax), 5);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_PARAMETER | 5ull << 32);
	for (unsigned int i = 0; i < 5; i++)
		EXPECT_EQ(get32(OUT_GPA + 4 * i), apic_of(i));
	EXPECT(all_canary(OUT_GPA + 20, 20));

	/* The first element fails: nothing written, reps 0. */
	reset_host();
	apic_input(IN_GPA, 10, 0);
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 10, 0), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_PARAMETER);
	EXPECT(all_canary(OUT_GPA, 40));

	/* Resumed at the failing element: reps completed is absolute. */
	reset_host();
	apic_input(IN_GPA, 10, 7);
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 10, 7), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_PARAMETER | 7ull << 32);
	EXPECT(all_canary(OUT_GPA, 40));

	/* Element 300 of 600 fails in the second exit. */
	reset_host();
	apic_input(IN_GPA, 600, 300);
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 600, 0), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_CONTINUE);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_PARAMETER | 300ull << 32);
	EXPECT_EQ(get32(OUT_GPA + 299 * 4), apic_of(299));
	EXPECT(all_canary(OUT_GPA + 300 * 4, 300 * 4));

	/* 32-bit caller: the status in EAX, reps completed in EDX. */
	reset_host();
	apic_input(IN_GPA, 10, 4);
	r = r32(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, false, 0, 10, 0), IN_GPA, OUT_GPA);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(r.rdx, 4);

	/* XMM fast form: the outputs of the elements before the failing one reach their registers. */
	reset_host();
	fake.xmm[0][0] = 1 | 2ull << 32;
	fake.xmm[0][1] = (uint64_t)(NR_VPS + 1) | 3ull << 32;
	r = r64(ctl(HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, 0, 4, 0), HV_PARTITION_ID_SELF, 0);
	EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, HV_STATUS_INVALID_PARAMETER | 2ull << 32);
	EXPECT_EQ(xmm32(16), 1);
	EXPECT_EQ(xmm32(20), 2);
	EXPECT_EQ(fake.xmm[1][1], 0xa0a0a0a0a0a0a0a1ull);	/* elements 2 and 3: not written */
	hv_partition_destroy(p);
}

/* ---- hypercall page state and VTL call/return without VSM ---- */

static void test_hypercall_enabled(void)
{
	struct hv_partition *p = new_partition(0);

	reset_host();
	EXPECT(!hv_hypercall_enabled(p, 0, 0));
	/* Without a guest OS ID the Enable bit does not stick. */
	EXPECT_EQ(hv_msr_write(p, 0, 0, HV_X64_MSR_HYPERCALL, 0x5000 | 1), HV_MSR_OK);
	EXPECT(!hv_hypercall_enabled(p, 0, 0));
	EXPECT_EQ(hv_msr_write(p, 0, 0, HV_X64_MSR_GUEST_OS_ID, 0x8100000000000000ull), HV_MSR_OK);
	EXPECT(!hv_hypercall_enabled(p, 0, 0));
	EXPECT_EQ(hv_msr_write(p, 0, 0, HV_X64_MSR_HYPERCALL, 0x5000 | 1), HV_MSR_OK);
	EXPECT(hv_hypercall_enabled(p, 0, 0));
	EXPECT(hv_hypercall_enabled(p, NR_VPS - 1, 0));	/* partition-wide */
	EXPECT(!hv_hypercall_enabled(p, 0, 1));			/* per VTL */
	EXPECT(!hv_hypercall_enabled(p, 0, HV_MAX_VTLS));
	/* VTL1 has its own GUEST_OS_ID and HYPERCALL MSRs. */
	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_HYPERCALL, 0x6000 | 1), HV_MSR_OK);
	EXPECT(!hv_hypercall_enabled(p, 0, 1));
	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_GUEST_OS_ID, 1), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_HYPERCALL, 0x6000 | 1), HV_MSR_OK);
	EXPECT(hv_hypercall_enabled(p, 0, 1));
	EXPECT(!hv_hypercall_enabled(p, 0, 2));
	EXPECT_EQ(ram[0x6000], 0x90);
	EXPECT_EQ(ram[0x5000], 0x90);				/* nop; out 0xE8, al; ret */
	EXPECT_EQ(ram[0x5001], 0xE6);
	EXPECT_EQ(ram[0x5002], FAKE_HYPERCALL_PORT);
	EXPECT_EQ(ram[0x5003], 0xC3);
	/* Every call site carries cfg.hypercall_port: the VTL call and return thunks too. */
	for (unsigned int i = 0; i < 4; i++) {
		static const unsigned int out_at[] = { 0x0C, 0x18, 0x23, 0x2F };

		EXPECT_EQ(ram[0x5000 + out_at[i] - 1], 0x90);
		EXPECT_EQ(ram[0x5000 + out_at[i]], 0xE6);
		EXPECT_EQ(ram[0x5000 + out_at[i] + 1], FAKE_HYPERCALL_PORT);
		EXPECT_EQ(ram[0x5000 + out_at[i] + 2], 0xC3);
	}
	/* Clearing the guest OS ID disables the page again (of that VTL only). */
	EXPECT_EQ(hv_msr_write(p, 0, 0, HV_X64_MSR_GUEST_OS_ID, 0), HV_MSR_OK);
	EXPECT(!hv_hypercall_enabled(p, 0, 0));
	EXPECT(hv_hypercall_enabled(p, 0, 1));
	EXPECT_EQ(hv_msr_write(p, 0, 0, HV_X64_MSR_GUEST_OS_ID, 1), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 0, 0, HV_X64_MSR_HYPERCALL, 0x5000), HV_MSR_OK);
	EXPECT(!hv_hypercall_enabled(p, 0, 0));
	hv_partition_destroy(p);
}

static bool regs_eq(const struct hv_hypercall_regs *a, const struct hv_hypercall_regs *b)
{
	return a->rax == b->rax && a->rbx == b->rbx && a->rcx == b->rcx && a->rdx == b->rdx && a->rsi == b->rsi &&
	       a->rdi == b->rdi && a->r8 == b->r8 && a->long_mode == b->long_mode && a->target_vtl == b->target_vtl;
}

static void test_vtl_call_without_vsm(void)
{
	struct hv_partition *p = new_partition(0);
	struct hv_hypercall_regs r, before;

	reset_host();
	for (uint16_t code = HVCALL_VTL_CALL; code <= HVCALL_VTL_RETURN; code++) {
		/* The thunk convention: RCX = the call code, RAX = the control input. */
		r = r64(code, 0x11, 0x22);
		r.rax = 0;
		before = r;
		EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_UD);
		EXPECT(regs_eq(&r, &before));
		r.rax = 1;
		EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_UD);
		EXPECT_EQ(hv_hypercall(p, 1, 0, &r), HV_HYPERCALL_UD);
		/* 32-bit thunk: EDX:EAX = the code, ECX = the control input. */
		r = r32(code, 0, 0);
		before = r;
		EXPECT_EQ(hv_hypercall(p, 0, 0, &r), HV_HYPERCALL_UD);
		EXPECT(regs_eq(&r, &before));
	}
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);
	EXPECT_EQ(fake.xmm_gets + fake.xmm_sets, 0);
	hv_partition_destroy(p);
}

int main(void)
{
	RUN_TEST(test_decode_fields);
	RUN_TEST(test_decode_reserved_bits);
	RUN_TEST(test_decode_unknown_code);
	RUN_TEST(test_decode_rep_rules);
	RUN_TEST(test_check_order);
	RUN_TEST(test_memory_blocks);
	RUN_TEST(test_fast_regs_64);
	RUN_TEST(test_hypercall_args);
	RUN_TEST(test_fast_regs_32);
	RUN_TEST(test_xmm_fast);
	RUN_TEST(test_rep_continuation_64);
	RUN_TEST(test_rep_continuation_32);
	RUN_TEST(test_rep_failure);
	RUN_TEST(test_hypercall_enabled);
	RUN_TEST(test_vtl_call_without_vsm);
	return TEST_EXIT();
}
