/*
 * VSM in the core library (src/hv/vsm.c, vp_regs.c, cpuid.c) through
 * hv_hypercall(), against a fake host: guest RAM is a static buffer, and
 * set_initial_context, start_vp, get_vp_register, set_vp_register and
 * raise_irq record their calls. Partitions have max_vtl 1 or 2.
 *
 * Covered: the CPUID privileges, HvCallEnablePartitionVtl,
 * HvCallEnableVpVtl, VtlCall/VtlReturn with the thunk register convention
 * (RCX = 0x11/0x12, RAX or ECX = control input), entry reasons, VINA, the VSM
 * registers through HvCallGetVpRegisters/SetVpRegisters and
 * HvCallStartVirtualProcessor.
 */
#include "fake_host.h"
#include "test.h"
#include "hv/hv_internal.h"
#include "hv/hypercall_page.h"

#include <stdlib.h>

#define RAM_SIZE 0x40000u
#define NR_VPS 3
#define IN_GPA 0x1000u
#define OUT_GPA 0x2000u
#define ASSIST0 0x10000u	/* VP0 VTL0 */
#define ASSIST1 0x11000u	/* VP0 VTL1 */
#define ASSIST2 0x12000u	/* VP0 VTL2 */
#define ASSIST1_VP1 0x13000u	/* VP1 VTL1 */
#define CTX_SIZE HV_INITIAL_VP_CONTEXT_SIZE

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

/* ---- the fake host (fake_host.h) ---- */

static struct fake_host fake;

static struct hv_partition *new_partition(unsigned int max_vtl)
{
	struct hv_config cfg = {
		.nr_vps = NR_VPS, .tsc_hz = 25000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE, .ram_end = RAM_SIZE,
		.gpa_limit = 1ull << 40, .max_vtl = max_vtl, .ops = &fake_host_ops, .host = &fake,
	};
	struct hv_partition *p;

	memset(ram, 0, sizeof(ram));
	fake_reset(&fake, ram, RAM_SIZE, NR_VPS, 25000000ull * 7);	/* the TSC: 7 s at 25 MHz */
	p = hv_partition_create(&cfg);
	if (!p) {
		printf("hv_partition_create failed\n");
		exit(1);
	}
	return p;
}

/* ---- calls ---- */

static void put64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static void put32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }

/* hv_hypercall as a host runs it: a VTL switch it asks for is made (and recorded) at once. */
static enum hv_hypercall_outcome host_hypercall(struct hv_partition *p, unsigned int vp, unsigned int vtl,
						struct hv_hypercall_regs *r)
{
	enum hv_hypercall_outcome o = hv_hypercall(p, vp, vtl, r);

	if (o == HV_HYPERCALL_SWITCH_VTL)
		hv_vtl_entered(p, vp, r->target_vtl, r->entry_reason);
	return o;
}

/* A memory-form call from (vp, vtl) with the input already at IN_GPA; returns the 64-bit result value. */
static uint64_t hcall(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint64_t control, bool long_mode)
{
	struct hv_hypercall_regs r = { .long_mode = long_mode };

	if (long_mode) {
		r.rcx = control, r.rdx = IN_GPA, r.r8 = OUT_GPA;
	} else {
		r.rax = (uint32_t)control, r.rdx = control >> 32;
		r.rcx = IN_GPA, r.rsi = OUT_GPA;
	}
	memset(ram + OUT_GPA, 0xcc, HV_PAGE_SIZE);
	EXPECT_EQ(host_hypercall(p, vp, vtl, &r), HV_HYPERCALL_DONE);
	return long_mode ? r.rax : (r.rdx << 32 | (uint32_t)r.rax);
}

static uint16_t st_of(uint64_t v) { return (uint16_t)v; }
static unsigned int reps_of(uint64_t v) { return (unsigned int)(v >> 32) & 0xfff; }

/* HvCallEnablePartitionVtl from VTL vtl of VP0. */
static uint16_t epv_raw(struct hv_partition *p, unsigned int vtl, uint64_t pid, uint8_t target, uint8_t flags,
			unsigned int rsvd_byte)
{
	memset(ram + IN_GPA, 0, 16);
	put64(IN_GPA, pid);
	ram[IN_GPA + 8] = target;
	ram[IN_GPA + 9] = flags;
	if (rsvd_byte < 6)
		ram[IN_GPA + 10 + rsvd_byte] = 1;
	return st_of(hcall(p, 0, vtl, HVCALL_ENABLE_PARTITION_VTL, true));
}

static uint16_t enable_partition_vtl(struct hv_partition *p, unsigned int vtl, uint8_t target)
{
	return epv_raw(p, vtl, HV_PARTITION_ID_SELF, target, 0, ~0u);
}

static void fill_ctx(uint8_t *ctx, uint8_t seed)
{
	for (unsigned int i = 0; i < CTX_SIZE; i++)
		ctx[i] = (uint8_t)(i * 13 + seed);
}

/* HvCallEnableVpVtl or HvCallStartVirtualProcessor (same 240-byte input) with context pattern seed. */
static uint16_t vp_ctx_call(struct hv_partition *p, uint16_t code, unsigned int vp, unsigned int vtl,
			    uint64_t pid, uint32_t target_vp, uint8_t target_vtl, uint8_t seed)
{
	memset(ram + IN_GPA, 0, 16);
	put64(IN_GPA, pid);
	put32(IN_GPA + 8, target_vp);
	ram[IN_GPA + 12] = target_vtl;
	memset(ram + IN_GPA + 13, 0xa5, 3);	/* padding: ignored (OpenVMM) */
	fill_ctx(ram + IN_GPA + 16, seed);
	return st_of(hcall(p, vp, vtl, code, true));
}

static uint16_t enable_vp_vtl(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t target_vp,
			      uint8_t target_vtl)
{
	return vp_ctx_call(p, HVCALL_ENABLE_VP_VTL, vp, vtl, HV_PARTITION_ID_SELF, target_vp, target_vtl, 0x5b);
}

static uint16_t start_vp(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t target_vp,
			 uint8_t target_vtl)
{
	return vp_ctx_call(p, HVCALL_START_VIRTUAL_PROCESSOR, vp, vtl, HV_PARTITION_ID_SELF, target_vp, target_vtl,
			   0x21);
}

static bool ctx_is(const uint8_t *ctx, uint8_t seed)
{
	uint8_t want[CTX_SIZE];

	fill_ctx(want, seed);
	return !memcmp(ctx, want, CTX_SIZE);
}

/* The thunk convention: RCX (EDX:EAX) = the call code, RAX (ECX) = the control input. */
static struct hv_hypercall_regs vtl_regs(uint16_t code, uint64_t control_input, bool long_mode)
{
	struct hv_hypercall_regs r = {
		.rbx = 0xb0b0, .rsi = 0x5151, .rdi = 0xd1d1, .r8 = 0x8888, .long_mode = long_mode, .target_vtl = 99,
	};

	if (long_mode) {
		r.rcx = code, r.rax = control_input, r.rdx = 0xd0d0;
	} else {
		r.rax = code, r.rdx = 0, r.rcx = control_input;
	}
	return r;
}

static enum hv_hypercall_outcome vtl_call(struct hv_partition *p, unsigned int vp, unsigned int vtl,
					  uint64_t control_input)
{
	struct hv_hypercall_regs r = vtl_regs(HVCALL_VTL_CALL, control_input, true);
	enum hv_hypercall_outcome o = host_hypercall(p, vp, vtl, &r);

	if (o == HV_HYPERCALL_SWITCH_VTL)
		EXPECT(r.target_vtl > vtl);
	return o;
}

static enum hv_hypercall_outcome vtl_return(struct hv_partition *p, unsigned int vp, unsigned int vtl,
					    uint64_t control_input)
{
	struct hv_hypercall_regs r = vtl_regs(HVCALL_VTL_RETURN, control_input, true);

	return host_hypercall(p, vp, vtl, &r);
}

/* HvCallGetVpRegisters from (vp, vtl) for target_vp/input_vtl; returns the result value. */
static uint64_t get_regs(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t target_vp,
			 uint8_t input_vtl, const uint32_t *names, unsigned int n, bool long_mode)
{
	memset(ram + IN_GPA, 0, 16);
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	put32(IN_GPA + 8, target_vp);
	ram[IN_GPA + 12] = input_vtl;
	for (unsigned int i = 0; i < n; i++)
		put32(IN_GPA + 16 + 4 * i, names[i]);
	return hcall(p, vp, vtl, HVCALL_GET_VP_REGISTERS | (uint64_t)n << 32, long_mode);
}

/* One register of the caller's own VP; *val gets the low 64 bits (the high 64 must be 0). */
static uint16_t get1(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint8_t input_vtl, uint32_t name,
		     uint64_t *val)
{
	uint64_t res = get_regs(p, vp, vtl, HV_VP_INDEX_SELF, input_vtl, &name, 1, true);

	if (st_of(res) == HV_STATUS_SUCCESS) {
		EXPECT_EQ(reps_of(res), 1);
		*val = get64(OUT_GPA);
		if (name >= 0xD0000 && name <= 0xDFFFF)
			EXPECT_EQ(get64(OUT_GPA + 8), 0);
	} else {
		EXPECT_EQ(reps_of(res), 0);
		EXPECT_EQ(get64(OUT_GPA), 0xccccccccccccccccull);	/* nothing written */
		*val = ~0ull;
	}
	return st_of(res);
}

static uint64_t get1v(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t name)
{
	uint64_t v = ~0ull;

	EXPECT_EQ(get1(p, vp, vtl, 0, name, &v), HV_STATUS_SUCCESS);
	return v;
}

struct set_elem { uint32_t name, rsvd[3]; uint64_t val[2]; };

static uint64_t set_regs(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t target_vp,
			 uint8_t input_vtl, const struct set_elem *e, unsigned int n)
{
	memset(ram + IN_GPA, 0, 16);
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	put32(IN_GPA + 8, target_vp);
	ram[IN_GPA + 12] = input_vtl;
	memcpy(ram + IN_GPA + 16, e, n * sizeof(*e));
	return hcall(p, vp, vtl, HVCALL_SET_VP_REGISTERS | (uint64_t)n << 32, true);
}

static uint16_t set1(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint8_t input_vtl, uint32_t name,
		     uint64_t val)
{
	struct set_elem e = { .name = name, .val = { val, 0 } };
	uint64_t res = set_regs(p, vp, vtl, HV_VP_INDEX_SELF, input_vtl, &e, 1);

	EXPECT_EQ(reps_of(res), st_of(res) == HV_STATUS_SUCCESS ? 1 : 0);
	return st_of(res);
}

#define IN_VTL(v) (0x10 | (v))	/* HV_INPUT_VTL with UseTargetVtl */

/* VTL1 enabled for the partition and on VP0 (by VTL0, as a boot loader does). */
static struct hv_partition *vtl1_partition(unsigned int max_vtl)
{
	struct hv_partition *p = new_partition(max_vtl);

	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, HV_VP_INDEX_SELF, 1), HV_STATUS_SUCCESS);
	fake.nctx = 0;
	return p;
}

/* ---- CPUID ---- */

static void test_cpuid_privileges(void)
{
	for (unsigned int max_vtl = 0; max_vtl <= 2; max_vtl++) {
		struct hv_partition *p = new_partition(max_vtl);
		uint32_t out[4];

		EXPECT(hv_cpuid(p, HV_CPUID_FEATURES, out));
		EXPECT_EQ(out[0], 0xa7f);
		EXPECT_EQ(out[1], max_vtl ? 0x230030 : 0x30);	/* + AccessVsm, AccessVpRegisters, StartVirtualProcessor */
		EXPECT_EQ(out[2], 0);
		EXPECT_EQ(out[3], 1u << 4 | 1u << 8 | 1u << 15 | 1u << 19);
		EXPECT(hv_cpuid(p, HV_CPUID_VENDOR_AND_MAX, out));
		EXPECT_EQ(out[0], 0x4000000A);
		EXPECT(!memcmp(&out[1], "Microsoft Hv", 12));
		EXPECT(hv_cpuid(p, HV_CPUID_IMPLEMENTATION_LIMITS, out));
		EXPECT_EQ(out[0], NR_VPS);
		EXPECT(hv_cpuid(p, 0x400000FF, out));
		EXPECT(!out[0] && !out[1] && !out[2] && !out[3]);
		EXPECT(!hv_cpuid(p, 0x3FFFFFFF, out));
		EXPECT(!hv_cpuid(p, 0x40000100, out));
		hv_partition_destroy(p);
	}
}

/* ---- HvCallEnablePartitionVtl ---- */

static void test_enable_partition_vtl(void)
{
	struct hv_partition *p = new_partition(1);
	uint64_t v;

	EXPECT_EQ(epv_raw(p, 0, 0, 1, 0, ~0u), HV_STATUS_INVALID_PARTITION_ID);
	EXPECT_EQ(epv_raw(p, 0, 1, 1, 0, ~0u), HV_STATUS_INVALID_PARTITION_ID);
	for (unsigned int bit = 0; bit < 8; bit++)	/* EnableMbec (not offered) and RsvdZ flags */
		EXPECT_EQ(epv_raw(p, 0, HV_PARTITION_ID_SELF, 1, (uint8_t)(1u << bit), ~0u),
			  HV_STATUS_INVALID_PARAMETER);
	/* The six bytes after Flags are padding: ignored (OpenVMM), so the VTL is enabled whatever they hold. */
	for (unsigned int b = 0; b < 6; b++) {
		struct hv_partition *q = new_partition(1);

		EXPECT_EQ(epv_raw(q, 0, HV_PARTITION_ID_SELF, 1, 0, b), HV_STATUS_SUCCESS);
		hv_partition_destroy(q);
	}
	EXPECT_EQ(enable_partition_vtl(p, 0, 0), HV_STATUS_INVALID_PARAMETER);	/* VTL0: always enabled */
	EXPECT_EQ(enable_partition_vtl(p, 0, 2), HV_STATUS_INVALID_PARAMETER);	/* above MaximumVtl */
	EXPECT_EQ(enable_partition_vtl(p, 0, 15), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(enable_partition_vtl(p, 0, 0x11), HV_STATUS_INVALID_PARAMETER);	/* a plain HV_VTL */
	EXPECT_EQ(get1(p, 0, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS, &v), 0);
	EXPECT_EQ(v, 0x10001);				/* nothing changed so far */

	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(get1(p, 0, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS, &v), 0);
	EXPECT_EQ(v, 0x10003);
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_VTL_ALREADY_ENABLED);
	EXPECT_EQ(enable_partition_vtl(p, 1, 1), HV_STATUS_VTL_ALREADY_ENABLED);
	/* The partition enable does not enable the VTL on any VP. */
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 1);
	EXPECT_EQ(fake.nctx, 0);
	hv_partition_destroy(p);

	/* The fast form (RDX = partition id, R8 = TargetVtl/Flags). */
	p = new_partition(1);
	{
		struct hv_hypercall_regs r = { .rcx = HVCALL_ENABLE_PARTITION_VTL | HV_HYPERCALL_FAST,
					       .rdx = HV_PARTITION_ID_SELF, .r8 = 1 | 1 << 8, .long_mode = true };

		EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
		EXPECT_EQ(r.rax, HV_STATUS_INVALID_PARAMETER);	/* EnableMbec */
		r.r8 = 1;
		EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
		EXPECT_EQ(r.rax, HV_STATUS_SUCCESS);
		EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x10003);
	}
	hv_partition_destroy(p);
}

static void test_enable_partition_vtl_three(void)
{
	struct hv_partition *p = new_partition(2);

	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x20001);
	EXPECT_EQ(enable_partition_vtl(p, 0, 3), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	/* VTL0 is no longer the highest enabled VTL below VTL2: only VTL1 may enable it. */
	EXPECT_EQ(enable_partition_vtl(p, 0, 2), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x20003);
	EXPECT_EQ(enable_partition_vtl(p, 1, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x20007);
	EXPECT_EQ(enable_partition_vtl(p, 2, 2), HV_STATUS_VTL_ALREADY_ENABLED);
	EXPECT_EQ(enable_partition_vtl(p, 2, 1), HV_STATUS_VTL_ALREADY_ENABLED);
	hv_partition_destroy(p);

	/* With VTL1 not enabled, VTL0 is the highest VTL below VTL2 and may enable it. */
	p = new_partition(2);
	EXPECT_EQ(enable_partition_vtl(p, 0, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x20005);
	/* A higher VTL may always enable a lower one. */
	EXPECT_EQ(enable_partition_vtl(p, 2, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x20007);
	hv_partition_destroy(p);
}

/* ---- HvCallEnableVpVtl ---- */

static void test_enable_vp_vtl(void)
{
	struct hv_partition *p = new_partition(1);

	/* Not enabled for the partition yet. */
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, HV_VP_INDEX_SELF, 1), HV_STATUS_INVALID_VTL_STATE);
	EXPECT_EQ(fake.nctx, 0);
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);

	/* Header checks. */
	EXPECT_EQ(vp_ctx_call(p, HVCALL_ENABLE_VP_VTL, 0, 0, 0, 0, 1, 0), HV_STATUS_INVALID_PARTITION_ID);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, NR_VPS, 1), HV_STATUS_INVALID_VP_INDEX);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, HV_ANY_VP, 1), HV_STATUS_INVALID_VP_INDEX);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 0), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 3), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 0x21), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 2), HV_STATUS_INVALID_VTL_STATE);	/* above MaximumVtl */
	EXPECT_EQ(fake.nctx, 0);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 1);

	/* VTL0 enables VTL1 on the boot VP: the context reaches the host byte for byte. */
	EXPECT_EQ(vp_ctx_call(p, HVCALL_ENABLE_VP_VTL, 0, 0, HV_PARTITION_ID_SELF, 0, 1, 0x3c), HV_STATUS_SUCCESS);
	EXPECT_EQ(fake.nctx, 1);
	EXPECT_EQ(fake.ctx[0].vp, 0);
	EXPECT_EQ(fake.ctx[0].vtl, 1);
	EXPECT(ctx_is(fake.ctx[0].ctx, 0x3c));
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 3);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 1);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);		/* enabling does not switch */
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_VP_STATUS), 0x30000);

	/* Again on the same VP, from VTL1 (which may enable VTL1): VTL_ALREADY_ENABLED, host untouched. */
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, HV_VP_INDEX_SELF, 1), HV_STATUS_VTL_ALREADY_ENABLED);
	EXPECT_EQ(enable_vp_vtl(p, 1, 1, 0, 1), HV_STATUS_VTL_ALREADY_ENABLED);
	EXPECT_EQ(fake.nctx, 1);

	/* VTL1 now runs on a VP: further enables must come from VTL1. */
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 1, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(enable_vp_vtl(p, 1, 0, HV_VP_INDEX_SELF, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nctx, 1);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 1);
	EXPECT_EQ(vp_ctx_call(p, HVCALL_ENABLE_VP_VTL, 0, 1, HV_PARTITION_ID_SELF, 1, 1, 0x77), HV_STATUS_SUCCESS);
	EXPECT_EQ(fake.nctx, 2);
	EXPECT_EQ(fake.ctx[1].vp, 1);
	EXPECT_EQ(fake.ctx[1].vtl, 1);
	EXPECT(ctx_is(fake.ctx[1].ctx, 0x77));
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 3);
	EXPECT_EQ(hv_vp_active_vtl(p, 1), 0);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 2), 1);
	hv_partition_destroy(p);

	/* HV_VP_INDEX_SELF names the caller's VP. */
	p = new_partition(1);
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_vp_vtl(p, 2, 0, HV_VP_INDEX_SELF, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(fake.nctx, 1);
	EXPECT_EQ(fake.ctx[0].vp, 2);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 2), 3);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 1);
	hv_partition_destroy(p);
}

/*
 * Once VTL1 runs on a VP, VTL0 may not enable it anywhere: ACCESS_DENIED, also on a VP where VTL1 is
 * already enabled. Both errors apply there and spec 2.7 prefers ACCESS_DENIED (OpenVMM's
 * enable_vp_vtl checks the caller's VTL before VtlAlreadyEnabled; kvsm's hc_ipi.c follows the same rule).
 */
static void test_enable_vp_vtl_precedence(void)
{
	struct hv_partition *p = vtl1_partition(1);

	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, HV_VP_INDEX_SELF, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(enable_vp_vtl(p, 1, 0, 0, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 0, 1), HV_STATUS_VTL_ALREADY_ENABLED);
	EXPECT_EQ(fake.nctx, 0);
	hv_partition_destroy(p);
}

/*
 * Two VTL0 VPs enable VTL1 on themselves at the same moment: only the first
 * may supply VTL1's starting state (spec 3.3). VP1's call arrives while VP0's
 * context is being loaded; it must get ACCESS_DENIED, and VP1 stays without VTL1.
 */
static struct hv_partition *race_p;
static uint64_t race_result;

static void race_enable_from_vp1(void)
{
	race_result = vp_ctx_call(race_p, HVCALL_ENABLE_VP_VTL, 1, 0, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, 1, 0x44);
}

static void test_enable_vp_vtl_race(void)
{
	struct hv_partition *p = new_partition(1);

	race_p = p;
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	fake.during_ctx_load = race_enable_from_vp1;
	EXPECT_EQ(vp_ctx_call(p, HVCALL_ENABLE_VP_VTL, 0, 0, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, 1, 0x3c),
		  HV_STATUS_SUCCESS);
	EXPECT_EQ(st_of(race_result), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nctx, 1);
	EXPECT_EQ(fake.ctx[0].vp, 0);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 3);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 1);
	hv_partition_destroy(p);

	/* The winner's load fails: the claim is given back, and a later VTL0 enable may succeed. */
	p = new_partition(1);
	race_p = p;
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	fake.during_ctx_load = race_enable_from_vp1;
	fake.ctx_status = HV_STATUS_INVALID_PARAMETER;
	EXPECT_EQ(vp_ctx_call(p, HVCALL_ENABLE_VP_VTL, 0, 0, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, 1, 0x3c),
		  HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(st_of(race_result), HV_STATUS_ACCESS_DENIED);
	fake.ctx_status = HV_STATUS_SUCCESS;
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 1);
	EXPECT_EQ(enable_vp_vtl(p, 1, 0, HV_VP_INDEX_SELF, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 3);
	hv_partition_destroy(p);
}

static void test_enable_vp_vtl_context_failure(void)
{
	struct hv_partition *p = new_partition(1);

	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	fake.ctx_status = HV_STATUS_INVALID_REGISTER_VALUE;
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), HV_STATUS_INVALID_REGISTER_VALUE);
	EXPECT_EQ(fake.nctx, 1);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 1);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_VP_STATUS), 0x10000);
	/* Nothing was left half-enabled: VTL calls still #UD, and VTL0 may try again. */
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_UD);
	fake.ctx_status = HV_STATUS_SUCCESS;
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(fake.nctx, 2);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 3);
	/* A failure for a second VP neither enables it nor blocks the next try. */
	fake.ctx_status = HV_STATUS_INVALID_VP_STATE;
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 1, 1), HV_STATUS_INVALID_VP_STATE);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 1);
	fake.ctx_status = HV_STATUS_SUCCESS;
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 1, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 3);
	hv_partition_destroy(p);
}

static void test_enable_vp_vtl_vtl2(void)
{
	struct hv_partition *p = new_partition(2);

	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_partition_vtl(p, 1, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), HV_STATUS_SUCCESS);
	/* VTL0 is not the highest enabled VTL below VTL2. */
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 2), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nctx, 1);
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 0, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(fake.nctx, 2);
	EXPECT_EQ(fake.ctx[1].vtl, 2);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 7);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_VP_STATUS), 0x70000);
	/* Now VTL2 runs somewhere: VTL1 may no longer enable it elsewhere, VTL2 may. */
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 1, 2), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(enable_vp_vtl(p, 0, 2, 1, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_vp_vtl(p, 0, 2, 1, 1), HV_STATUS_SUCCESS);	/* a higher VTL enables a lower one */
	EXPECT_EQ(hv_vp_enabled_vtls(p, 1), 7);
	hv_partition_destroy(p);
}

/* ---- VtlCall / VtlReturn ---- */

static void test_vtl_call_ud(void)
{
	struct hv_partition *p = new_partition(1);
	struct hv_hypercall_regs r;

	/* No higher VTL enabled on the VP: #UD (before and after the partition enable). */
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_UD);
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_UD);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(vtl_call(p, 1, 0, 0), HV_HYPERCALL_UD);		/* VP1 has no VTL1 */
	/* A non-zero control input. */
	EXPECT_EQ(vtl_call(p, 0, 0, 1), HV_HYPERCALL_UD);
	EXPECT_EQ(vtl_call(p, 0, 0, 1ull << 63), HV_HYPERCALL_UD);
	/* Return from VTL0. */
	EXPECT_EQ(vtl_return(p, 0, 0, 0), HV_HYPERCALL_UD);
	EXPECT_EQ(vtl_return(p, 0, 0, 1), HV_HYPERCALL_UD);
	/* Extra bits in the input value (RCX): fast, rep count, var header, reserved, rep start. */
	{
		static const uint64_t extra[] = { HV_HYPERCALL_FAST, 1ull << 17, 1ull << 27, 1ull << 32,
						  1ull << 44, 1ull << 48, 1ull << 63 };

		for (unsigned int i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
			r = vtl_regs(HVCALL_VTL_CALL, 0, true);
			r.rcx |= extra[i];
			EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_UD);
		}
	}
	/* 32-bit: EDX is the high half of the input value. */
	r = vtl_regs(HVCALL_VTL_CALL, 0, false);
	r.rdx = 1;
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_UD);
	r = vtl_regs(HVCALL_VTL_CALL, 1, false);	/* ECX = control input */
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_UD);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);

	/* Now in VTL1: a VTL call has nowhere to go; returns with reserved bits #UD. */
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 1);
	EXPECT_EQ(vtl_call(p, 0, 1, 0), HV_HYPERCALL_UD);
	EXPECT_EQ(vtl_return(p, 0, 1, 2), HV_HYPERCALL_UD);
	EXPECT_EQ(vtl_return(p, 0, 1, 3), HV_HYPERCALL_UD);
	EXPECT_EQ(vtl_return(p, 0, 1, 1ull << 63), HV_HYPERCALL_UD);
	r = vtl_regs(HVCALL_VTL_RETURN, 0, true);
	r.rcx |= HV_HYPERCALL_FAST;
	EXPECT_EQ(host_hypercall(p, 0, 1, &r), HV_HYPERCALL_UD);
	r = vtl_regs(HVCALL_VTL_RETURN, 2, false);
	EXPECT_EQ(host_hypercall(p, 0, 1, &r), HV_HYPERCALL_UD);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 1);
	EXPECT_EQ(vtl_return(p, 0, 1, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);
	hv_partition_destroy(p);
}

static void test_vtl_call_return_64(void)
{
	struct hv_partition *p = vtl1_partition(1);
	struct hv_hypercall_regs r;

	/* Assist pages of VTL0 and VTL1 on VP0, each enabled from its own VTL (and zeroed). */
	memset(ram + ASSIST0, 0xee, HV_PAGE_SIZE);
	memset(ram + ASSIST1, 0xee, HV_PAGE_SIZE);
	EXPECT_EQ(hv_msr_write(p, 0, 0, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST0 | 1), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST1 | 1), HV_MSR_OK);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), 0);
	put32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON, 0x55);

	/* The call: SWITCH_VTL to VTL1, registers left as they are (the higher VTL sees them). */
	r = vtl_regs(HVCALL_VTL_CALL, 0, true);
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(r.target_vtl, 1);
	EXPECT_EQ(r.rax, 0);
	EXPECT_EQ(r.rcx, HVCALL_VTL_CALL);
	EXPECT_EQ(r.rdx, 0xd0d0);
	EXPECT_EQ(r.rbx, 0xb0b0);
	EXPECT_EQ(r.r8, 0x8888);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 1);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_VTL_CALL);
	EXPECT_EQ(get32(ASSIST0 + HV_VP_ASSIST_ENTRY_REASON), 0);
	EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_VP_STATUS), 0x30001);

	/* Non-fast return: RAX and RCX come from VTL1's VtlReturnX64Rax/Rcx. */
	put64(ASSIST1 + HV_VP_ASSIST_RETURN_RAX, 0x1111222233334444ull);
	put64(ASSIST1 + HV_VP_ASSIST_RETURN_RCX, 0x5555666677778888ull);
	put64(ASSIST0 + HV_VP_ASSIST_RETURN_RAX, 0xbad0);
	put64(ASSIST0 + HV_VP_ASSIST_RETURN_RCX, 0xbad1);
	r = vtl_regs(HVCALL_VTL_RETURN, 0, true);
	EXPECT_EQ(host_hypercall(p, 0, 1, &r), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(r.target_vtl, 0);
	EXPECT_EQ(r.rax, 0x1111222233334444ull);
	EXPECT_EQ(r.rcx, 0x5555666677778888ull);
	EXPECT_EQ(r.rdx, 0xd0d0);
	EXPECT_EQ(r.rbx, 0xb0b0);
	EXPECT_EQ(r.rsi, 0x5151);
	EXPECT_EQ(r.rdi, 0xd1d1);
	EXPECT_EQ(r.r8, 0x8888);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);
	EXPECT_EQ(get32(ASSIST0 + HV_VP_ASSIST_ENTRY_REASON), 0);	/* a return is no entry */
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_VTL_CALL);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_VP_STATUS), 0x30000);

	/* Fast return: RAX and RCX stay as the thunk left them. */
	put32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON, 0);
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_VTL_CALL);
	r = vtl_regs(HVCALL_VTL_RETURN, 1, true);
	EXPECT_EQ(host_hypercall(p, 0, 1, &r), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(r.target_vtl, 0);
	EXPECT_EQ(r.rax, 1);
	EXPECT_EQ(r.rcx, HVCALL_VTL_RETURN);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);
	hv_partition_destroy(p);
}

static void test_vtl_call_return_32(void)
{
	struct hv_partition *p = vtl1_partition(1);
	struct hv_hypercall_regs r;

	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST1 | 1), HV_MSR_OK);

	/* 32-bit thunk: EDX:EAX = 0:0x11, ECX = control input; upper register halves do not count. */
	r = vtl_regs(HVCALL_VTL_CALL, 0, false);
	r.rax |= 0xffffffff00000000ull;
	r.rcx |= 0xffffffff00000000ull;
	r.rdx |= 0xabcd000000000000ull;
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(r.target_vtl, 1);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_VTL_CALL);

	/* Non-fast return: EAX, ECX, EDX from +0x10, +0x14, +0x18 (+0x1C is not used). */
	put32(ASSIST1 + 0x10, 0xaaaa1111);
	put32(ASSIST1 + 0x14, 0xbbbb2222);
	put32(ASSIST1 + 0x18, 0xcccc3333);
	put32(ASSIST1 + 0x1c, 0xdddd4444);
	r = vtl_regs(HVCALL_VTL_RETURN, 0, false);
	EXPECT_EQ(host_hypercall(p, 0, 1, &r), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(r.target_vtl, 0);
	EXPECT_EQ((uint32_t)r.rax, 0xaaaa1111);
	EXPECT_EQ((uint32_t)r.rcx, 0xbbbb2222);
	EXPECT_EQ((uint32_t)r.rdx, 0xcccc3333);
	EXPECT_EQ(r.rbx, 0xb0b0);
	EXPECT_EQ(r.rsi, 0x5151);

	/* Fast return (ECX bit 0). */
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	r = vtl_regs(HVCALL_VTL_RETURN, 1, false);
	EXPECT_EQ(host_hypercall(p, 0, 1, &r), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(r.rax, HVCALL_VTL_RETURN);
	EXPECT_EQ(r.rcx, 1);
	EXPECT_EQ(r.rdx, 0);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);
	hv_partition_destroy(p);
}

/* A call goes to the next higher VTL enabled on the VP; a return to the next lower. */
static void test_vtl_call_chain(void)
{
	struct hv_partition *p = new_partition(2);

	EXPECT_EQ(enable_partition_vtl(p, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_partition_vtl(p, 1, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 0, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST1 | 1), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 0, 2, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST2 | 1), HV_MSR_OK);

	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 1);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_VTL_CALL);
	EXPECT_EQ(get32(ASSIST2 + HV_VP_ASSIST_ENTRY_REASON), 0);
	EXPECT_EQ(vtl_call(p, 0, 1, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 2);
	EXPECT_EQ(get32(ASSIST2 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_VTL_CALL);
	EXPECT_EQ(get1v(p, 0, 2, HV_REGISTER_VSM_VP_STATUS), 0x70002);
	EXPECT_EQ(vtl_call(p, 0, 2, 0), HV_HYPERCALL_UD);
	{
		struct hv_hypercall_regs r = vtl_regs(HVCALL_VTL_RETURN, 1, true);

		EXPECT_EQ(host_hypercall(p, 0, 2, &r), HV_HYPERCALL_SWITCH_VTL);
		EXPECT_EQ(r.target_vtl, 1);
		r = vtl_regs(HVCALL_VTL_RETURN, 1, true);
		EXPECT_EQ(host_hypercall(p, 0, 1, &r), HV_HYPERCALL_SWITCH_VTL);
		EXPECT_EQ(r.target_vtl, 0);
	}
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);
	/*
	 * An intercept (or interrupt) takes VTL0 straight to VTL2: VTL2's return
	 * resumes VTL0 with its return RAX, not VTL1, which was never entered.
	 */
	hv_vtl_entered(p, 0, 2, HV_VTL_ENTRY_INTERRUPT);
	put64(ASSIST2 + HV_VP_ASSIST_RETURN_RAX, 0x51c1ed);
	{
		struct hv_hypercall_regs r = vtl_regs(HVCALL_VTL_RETURN, 0, true);

		EXPECT_EQ(host_hypercall(p, 0, 2, &r), HV_HYPERCALL_SWITCH_VTL);
		EXPECT_EQ(r.target_vtl, 0);
		EXPECT_EQ(r.rax, 0x51c1ed);
	}
	/* From VTL1 the same entry returns to VTL1. */
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	hv_vtl_entered(p, 0, 2, HV_VTL_ENTRY_INTERCEPT);
	EXPECT_EQ(vtl_return(p, 0, 2, 1), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 1);
	EXPECT_EQ(vtl_return(p, 0, 1, 1), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 0);
	/* A VP started in VTL2 has no VTL it came from: its return goes to the next lower, VTL1. */
	hv_vtl_entered(p, 0, 2, HV_VTL_ENTRY_START);
	EXPECT_EQ(vtl_return(p, 0, 2, 1), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 1);
	hv_partition_destroy(p);

	/* Only VTL2 on the VP: VTL0 calls straight into VTL2 and VTL2 returns to VTL0. */
	p = new_partition(2);
	EXPECT_EQ(enable_partition_vtl(p, 0, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(hv_vp_enabled_vtls(p, 0), 5);
	{
		struct hv_hypercall_regs r = vtl_regs(HVCALL_VTL_CALL, 0, true);

		EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_SWITCH_VTL);
		EXPECT_EQ(r.target_vtl, 2);
		r = vtl_regs(HVCALL_VTL_RETURN, 1, true);
		EXPECT_EQ(host_hypercall(p, 0, 2, &r), HV_HYPERCALL_SWITCH_VTL);
		EXPECT_EQ(r.target_vtl, 0);
	}
	hv_partition_destroy(p);
}

static void test_enter_for_interrupt(void)
{
	struct hv_partition *p = vtl1_partition(1);

	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST1 | 1), HV_MSR_OK);
	hv_vtl_entered(p, 0, 1, HV_VTL_ENTRY_INTERRUPT);
	EXPECT_EQ(hv_vp_active_vtl(p, 0), 1);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_INTERRUPT);
	EXPECT_EQ(vtl_return(p, 0, 1, 1), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_INTERRUPT);
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(get32(ASSIST1 + HV_VP_ASSIST_ENTRY_REASON), HV_VTL_ENTRY_VTL_CALL);
	hv_partition_destroy(p);
}

/* ---- VINA ---- */

static uint8_t vina_status(void) { return ram[ASSIST1 + HV_VP_ASSIST_VINA_STATUS]; }

static void test_vina(void)
{
	struct hv_partition *p = vtl1_partition(1);

	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST1 | 1), HV_MSR_OK);
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);

	/* Not enabled: nothing. */
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 0);
	EXPECT_EQ(vina_status(), 0);

	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_VINA, 0x31 | HV_VINA_ENABLED), HV_STATUS_SUCCESS);
	EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_VINA), 0x31 | HV_VINA_ENABLED);
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 1);
	EXPECT(fake.irq[0].vp == 0 && fake.irq[0].vtl == 1 && fake.irq[0].vector == 0x31 && !fake.irq[0].auto_eoi);
	EXPECT_EQ(vina_status(), 1);
	/* Once until VinaAsserted is cleared. */
	hv_vina_notify(p, 0, 0);
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 1);
	ram[ASSIST1 + HV_VP_ASSIST_VINA_STATUS] = 0;	/* the guest clears it */
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 2);
	EXPECT_EQ(vina_status(), 1);

	/* AutoEoi reaches the host. */
	ram[ASSIST1 + HV_VP_ASSIST_VINA_STATUS] = 0;
	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_VINA, 0x42 | HV_VINA_ENABLED | HV_VINA_AUTO_EOI), 0);
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 3);
	EXPECT(fake.irq[2].vtl == 1 && fake.irq[2].vector == 0x42 && fake.irq[2].auto_eoi);

	/* Without AutoReset a return leaves VinaAsserted set. */
	EXPECT_EQ(vtl_return(p, 0, 1, 1), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(vina_status(), 1);
	/* In VTL0 there is no higher VTL running: nothing to notify. */
	ram[ASSIST1 + HV_VP_ASSIST_VINA_STATUS] = 0;
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 3);
	EXPECT_EQ(vina_status(), 0);
	/* A disabled VINA stays silent. */
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_VINA, 0x42), 0);
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 3);
	EXPECT_EQ(vina_status(), 0);
	/* VTL1 of VP1 is not involved. */
	EXPECT_EQ(hv_vp_active_vtl(p, 1), 0);
	hv_partition_destroy(p);
}

static void test_vina_auto_reset(void)
{
	struct hv_partition *p = vtl1_partition(1);

	EXPECT_EQ(hv_msr_write(p, 0, 1, HV_X64_MSR_VP_ASSIST_PAGE, ASSIST1 | 1), HV_MSR_OK);
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_VINA, 0x50 | HV_VINA_ENABLED | HV_VINA_AUTO_RESET), 0);
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 1);
	EXPECT_EQ(vina_status(), 1);
	ram[ASSIST1 + HV_VP_ASSIST_VINA_STATUS] |= 0x80;	/* other bits of the byte are not VINA's */

	/* The return (fast or not) clears VinaAsserted. */
	EXPECT_EQ(vtl_return(p, 0, 1, 1), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(vina_status(), 0x80);
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	hv_vina_notify(p, 0, 0);
	EXPECT_EQ(fake.nirqs, 2);
	EXPECT_EQ(vina_status() & 1, 1);
	EXPECT_EQ(vtl_return(p, 0, 1, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(vina_status() & 1, 0);
	hv_partition_destroy(p);
}

/* ---- VSM registers ---- */

static void test_vsm_status_registers(void)
{
	struct hv_partition *p = new_partition(1);
	static const uint32_t names[] = {
		HV_REGISTER_VSM_VP_STATUS, HV_REGISTER_VSM_PARTITION_STATUS, HV_REGISTER_VSM_CAPABILITIES,
		HV_REGISTER_VSM_CODE_PAGE_OFFSETS,
	};
	uint64_t res;

	/* All four in one call, in order, each a zero-extended 16-byte value. */
	res = get_regs(p, 0, 0, HV_VP_INDEX_SELF, 0, names, 4, true);
	EXPECT_EQ(res, 4ull << 32);
	EXPECT_EQ(get64(OUT_GPA + 0x00), 0x10000);		/* ActiveVtl 0, EnabledVtlSet {0} */
	EXPECT_EQ(get64(OUT_GPA + 0x10), 0x10001);		/* EnabledVtlSet {0}, MaximumVtl 1 */
	EXPECT_EQ(get64(OUT_GPA + 0x20), (1ull << 17 | 1ull << 27));	/* DenyLowerVtlStartup, InterceptPageAvailable; LSB-first */
	EXPECT_EQ(get64(OUT_GPA + 0x30), 0x2600F);		/* 64-bit thunks at 0x0F / 0x26 */
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_EQ(get64(OUT_GPA + 16 * i + 8), 0);
	EXPECT_EQ(get64(OUT_GPA + 0x40), 0xccccccccccccccccull);
	EXPECT_EQ(fake.nget, 0);					/* VSM registers are not the host's */

	/* A 32-bit caller gets the 32-bit thunk offsets (the result value in EDX:EAX). */
	res = get_regs(p, 0, 0, HV_VP_INDEX_SELF, 0, names, 4, false);
	EXPECT_EQ(res, 4ull << 32);
	EXPECT_EQ(get64(OUT_GPA + 0x30), 0x1B004);
	EXPECT_EQ(get64(OUT_GPA + 0x00), 0x10000);

	/* The offsets name the thunks in the page kvsm writes. */
	{
		const uint8_t *page = ram + 0x20000;

		EXPECT(hv_hypercall_page_fill(p, 0, 0x20000));
		EXPECT_EQ(page[0x0F], 0x48);			/* mov rax, rcx */
		EXPECT_EQ(page[0x0F + 3], 0xB9);		/* mov ecx, 0x11 */
		EXPECT_EQ(page[0x0F + 4], 0x11);
		EXPECT_EQ(page[0x26 + 4], 0x12);
		EXPECT_EQ(page[0x04], 0x89);			/* mov ecx, eax */
		EXPECT_EQ(page[0x04 + 3], 0x11);		/* mov eax, 0x11 */
		EXPECT_EQ(page[0x1B + 3], 0x12);
	}

	/* Status registers follow enablement and the active VTL. */
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), 0);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x10003);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_VP_STATUS), 0x10000);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), 0);
	EXPECT_EQ(get1v(p, 0, 0, HV_REGISTER_VSM_VP_STATUS), 0x30000);
	EXPECT_EQ(vtl_call(p, 0, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_VP_STATUS), 0x30001);
	EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_PARTITION_STATUS), 0x10003);
	EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_CAPABILITIES), 1ull << 17 | 1ull << 27);
	/* Another VP's status, through the header's VpIndex. */
	res = get_regs(p, 0, 1, 1, IN_VTL(0), names, 1, true);
	EXPECT_EQ(res, 1ull << 32);
	EXPECT_EQ(get64(OUT_GPA), 0x10000);
	hv_partition_destroy(p);

	p = new_partition(2);
	EXPECT_EQ(get1v(p, 1, 0, HV_REGISTER_VSM_PARTITION_STATUS), 0x20001);
	hv_partition_destroy(p);
}

static void test_vsm_readonly_and_unknown(void)
{
	struct hv_partition *p = vtl1_partition(1);
	static const uint32_t ro[] = {
		HV_REGISTER_VSM_CODE_PAGE_OFFSETS, HV_REGISTER_VSM_VP_STATUS, HV_REGISTER_VSM_PARTITION_STATUS,
		HV_REGISTER_VSM_CAPABILITIES,
	};
	static const uint32_t unknown[] = { 0xD0000, 0xD0001, 0xD0008, 0xD000F, 0xD001F, 0xD0020, 0xDFFFF };
	uint64_t v;

	for (unsigned int vtl = 0; vtl <= 1; vtl++) {
		for (unsigned int i = 0; i < 4; i++) {
			uint64_t before = get1v(p, 0, vtl, ro[i]);

			EXPECT_EQ(set1(p, 0, vtl, 0, ro[i], before), HV_STATUS_INVALID_PARAMETER);
			EXPECT_EQ(set1(p, 0, vtl, 0, ro[i], 0), HV_STATUS_INVALID_PARAMETER);
			EXPECT_EQ(get1v(p, 0, vtl, ro[i]), before);
		}
		for (unsigned int i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
			EXPECT_EQ(get1(p, 0, vtl, 0, unknown[i], &v), HV_STATUS_INVALID_PARAMETER);
			EXPECT_EQ(set1(p, 0, vtl, 0, unknown[i], 0), HV_STATUS_INVALID_PARAMETER);
		}
	}
	EXPECT_EQ(fake.nget + fake.nset, 0);

	/* A read-only set after a good element: reps completed 1, the first element applied. */
	{
		struct set_elem e[2] = {
			{ .name = HV_REGISTER_VSM_VINA, .val = { 0x33 } },
			{ .name = HV_REGISTER_VSM_VP_STATUS, .val = { 0 } },
		};
		uint64_t res = set_regs(p, 0, 1, HV_VP_INDEX_SELF, 0, e, 2);

		EXPECT_EQ(res, HV_STATUS_INVALID_PARAMETER | 1ull << 32);
		EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_VINA), 0x33);
		/* The 12 bytes after a set element's name are padding: ignored (OpenVMM). */
		for (unsigned int w = 0; w < 3; w++) {
			struct set_elem e1 = { .name = HV_REGISTER_VSM_VINA, .val = { 0x34 + w } };

			e1.rsvd[w] = 0xa5a5a5a5u;
			EXPECT_EQ(set_regs(p, 0, 1, HV_VP_INDEX_SELF, 0, &e1, 1), 1ull << 32);
			EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_VINA), 0x34 + w);
		}
	}
	/* VINA: the reserved bits are preserved (0), the rest reads back. */
	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_VINA, ~0ull), 0);
	EXPECT_EQ(get1v(p, 0, 1, HV_REGISTER_VSM_VINA), 0x7ff);
	/* VINA is per VTL: VTL0's instance is separate. */
	EXPECT_EQ(get1(p, 0, 1, IN_VTL(0), HV_REGISTER_VSM_VINA, &v), 0);
	EXPECT_EQ(v, 0);
	hv_partition_destroy(p);
}

static void test_partition_config(void)
{
	struct hv_partition *p = vtl1_partition(1);
	const uint32_t cfg = HV_REGISTER_VSM_PARTITION_CONFIG;
	uint64_t v;

	/* VTL0 has no instance; it may not reach VTL1's. */
	EXPECT_EQ(get1(p, 0, 0, 0, cfg, &v), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 0, 0, cfg, 0), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(get1(p, 0, 0, IN_VTL(1), cfg, &v), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(set1(p, 0, 0, IN_VTL(1), cfg, HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(get1(p, 0, 1, IN_VTL(0), cfg, &v), HV_STATUS_INVALID_PARAMETER);

	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0);
	/* Intercept bits but InterceptPage, MBEC-related and reserved bits are refused, not ignored. */
	for (unsigned int bit = 7; bit < 64; bit++)
		EXPECT_EQ(set1(p, 0, 1, 0, cfg, 1ull << bit), bit == 12 ? 0 : HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, 0), 0);
	/*
	 * Default masks: Read with anything else (else INVALID_PARAMETER); UX is
	 * ignored without MBEC (0x7 is RWX). Each valid one on a fresh partition.
	 */
	for (unsigned int mask = 0; mask < 16; mask++) {
		struct hv_partition *q = vtl1_partition(1);
		uint16_t want = mask && !(mask & 1) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;

		EXPECT_EQ(set1(q, 0, 1, 0, cfg, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | (uint64_t)mask << 1), want);
		EXPECT_EQ(get1(q, 0, 1, 0, cfg, &v), 0);
		EXPECT_EQ(v, want ? 0 : HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | (uint64_t)mask << 1);
		/* What VTL0 may do now on every page: the mask, UX following KX. */
		EXPECT_EQ(hv_vtl_prot_effective(q, 0, 0x5000), want ? 0xf : (mask & 4 ? mask | 8 : mask & 3));
		hv_partition_destroy(q);
	}

	/* Before protection is enabled, the mask and the other bits may change. */
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, 0x3ull << 1 | HV_VSM_CONFIG_ZERO_MEMORY_ON_RESET), 0);
	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0x3ull << 1 | HV_VSM_CONFIG_ZERO_MEMORY_ON_RESET);
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP), 0);
	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP);

	/* EnableVtlProtection with RWX: then protection and mask are write-once. */
	const uint64_t prot = HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK;
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, prot), 0);
	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0x1f);
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, 0), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, HV_VSM_CONFIG_DEFAULT_MASK), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | 0x7ull << 1),
		  HV_STATUS_INVALID_PARAMETER);	/* write-once: 0x7 is RWX too, but a different value */
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, prot | 1ull << 9), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0x1f);
	/* The other bits stay writable. */
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, prot | HV_VSM_CONFIG_ZERO_MEMORY_ON_RESET |
				       HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP), 0);
	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0x7f);
	EXPECT_EQ(set1(p, 0, 1, 0, cfg, prot), 0);
	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0x1f);
	/* Partition-wide: VP1 (VTL1 enabled there too) sees the same instance. */
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 1, 1), 0);
	EXPECT_EQ(get1(p, 1, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0x1f);
	hv_partition_destroy(p);

	/* With VTL2: VTL2 writes VTL1's instance; VTL1 cannot reach VTL2's. */
	p = new_partition(2);
	EXPECT_EQ(enable_partition_vtl(p, 0, 1), 0);
	EXPECT_EQ(enable_partition_vtl(p, 1, 2), 0);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), 0);
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 0, 2), 0);
	EXPECT_EQ(set1(p, 0, 2, IN_VTL(1), cfg, HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP), 0);
	EXPECT_EQ(get1(p, 0, 1, 0, cfg, &v), 0);
	EXPECT_EQ(v, HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP);
	EXPECT_EQ(get1(p, 0, 2, 0, cfg, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(set1(p, 0, 1, IN_VTL(2), cfg, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(get1(p, 0, 1, IN_VTL(2), cfg, &v), HV_STATUS_ACCESS_DENIED);
	hv_partition_destroy(p);
}

/* HvCallFlushVirtualAddressSpace from (vp, vtl) for ProcessorMask mask: the outcome; *rax the result. */
static enum hv_hypercall_outcome flush_space(struct hv_partition *p, unsigned int vp, unsigned int vtl,
					     uint64_t mask, uint64_t *rax)
{
	struct hv_hypercall_regs r = { .long_mode = true, .rcx = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE,
				       .rdx = IN_GPA, .r8 = OUT_GPA, .rax = 0x5a5a };
	enum hv_hypercall_outcome o;

	memset(ram + IN_GPA, 0, 24);
	put64(IN_GPA + 16, mask);
	o = host_hypercall(p, vp, vtl, &r);
	EXPECT_EQ(r.rcx, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE);	/* a stalled call is issued again as it was */
	*rax = r.rax;
	return o;
}

/* VTL1 enabled on VP0 and VP1, VP1 running VTL1 (VTL0 called it). */
static struct hv_partition *vp1_in_vtl1(unsigned int max_vtl)
{
	struct hv_partition *p = vtl1_partition(max_vtl);

	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 1, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(vtl_call(p, 1, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	return p;
}

/* A flush of VTL0 aimed at a VP whose VTL0 TLB is locked stalls until the lock goes (spec 3.10). */
static void test_tlb_lock_flush(void)
{
	struct hv_partition *p = vp1_in_vtl1(1);
	const uint32_t sc0 = HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0;
	struct hv_hypercall_regs r;
	uint64_t rax;

	EXPECT_EQ(set1(p, 1, 1, 0, sc0, 2), 0);
	EXPECT_EQ(flush_space(p, 0, 0, 2, &rax), HV_HYPERCALL_RETRY);
	EXPECT_EQ(rax, 0x5a5a);						/* no result: not done */
	EXPECT_EQ(flush_space(p, 0, 0, 3, &rax), HV_HYPERCALL_RETRY);
	EXPECT_EQ(fake.flushes, 0);
	EXPECT_EQ(flush_space(p, 0, 0, 1, &rax), HV_HYPERCALL_DONE);	/* VP1 not targeted */
	EXPECT_EQ(rax, 0);
	EXPECT_EQ(flush_space(p, 0, 1, 2, &rax), HV_HYPERCALL_DONE);	/* VTL1's TLB is not locked */
	EXPECT_EQ(fake.flushes, 2);
	/* ALL_PROCESSORS includes VP1; a bad input still fails first. */
	memset(ram + IN_GPA, 0, 24);
	put64(IN_GPA + 8, HV_FLUSH_ALL_PROCESSORS);
	r = (struct hv_hypercall_regs){ .long_mode = true, .rcx = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, .rdx = IN_GPA };
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_RETRY);
	put64(IN_GPA + 8, 1ull << 40);
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(st_of(r.rax), HV_STATUS_INVALID_PARAMETER);
	/* The list form stalls at its last element (where it flushes): continued from there. */
	memset(ram + IN_GPA, 0, 24 + 3 * 8);
	put64(IN_GPA + 16, 2);
	r = (struct hv_hypercall_regs){ .long_mode = true, .rcx = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST | 3ull << 32,
					.rdx = IN_GPA };
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_RETRY);
	EXPECT_EQ(r.rcx >> HV_HYPERCALL_REP_START_SHIFT & 0xfff, 2);
	EXPECT_EQ(fake.flushes, 2);
	/* Released: the same calls run. */
	EXPECT_EQ(set1(p, 1, 1, 0, sc0, 0), 0);
	EXPECT_EQ(fake.unlocks, 1);
	memset(ram + IN_GPA, 0, 24 + 3 * 8);		/* set1 used the input page */
	put64(IN_GPA + 16, 2);
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 3ull << 32);
	EXPECT_EQ(flush_space(p, 0, 0, 2, &rax), HV_HYPERCALL_DONE);
	EXPECT_EQ(fake.flushes, 4);
	EXPECT_EQ(fake.flush_mask[0], 2);
	/* Only the holder's own VP: VTL1 on VP1 cannot lock VP0 (OpenVMM: no other-VP access). */
	{
		struct set_elem e = { .name = sc0, .val = { 2, 0 } };

		EXPECT_EQ(st_of(set_regs(p, 1, 1, 0, 0, &e, 1)), HV_STATUS_ACCESS_DENIED);
		e.val[0] = 0;
		EXPECT_EQ(st_of(set_regs(p, 1, 1, 0, 0, &e, 1)), HV_STATUS_SUCCESS);	/* no change */
	}
	EXPECT(!hv_tlb_lock_held(p, 0, 1, 0));
	hv_partition_destroy(p);
}

/* Returning to a lower VTL drops the locks the returning VTL holds, and only those (spec 1.7.7). */
static void test_tlb_lock_dropped_on_return(void)
{
	struct hv_partition *p = vp1_in_vtl1(2);
	const uint32_t sc0 = HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0;
	uint64_t rax;

	EXPECT_EQ(set1(p, 1, 1, 0, sc0, 2), 0);
	EXPECT_EQ(vtl_return(p, 1, 1, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT(!hv_tlb_lock_held(p, 1, 1, 0));
	EXPECT_EQ(fake.unlocks, 1);
	EXPECT_EQ(flush_space(p, 0, 0, 2, &rax), HV_HYPERCALL_DONE);
	EXPECT_EQ(fake.flushes, 1);
	/* A return that held nothing wakes nobody. */
	EXPECT_EQ(vtl_call(p, 1, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(vtl_return(p, 1, 1, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(fake.unlocks, 1);

	/* VTL2 returning to VTL1 drops VTL2's locks; VTL1's stays until VTL1 returns. */
	EXPECT_EQ(enable_partition_vtl(p, 1, 2), 0);
	EXPECT_EQ(vtl_call(p, 1, 0, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(enable_vp_vtl(p, 1, 1, HV_VP_INDEX_SELF, 2), 0);
	EXPECT_EQ(set1(p, 1, 1, 0, sc0, 2), 0);
	EXPECT_EQ(vtl_call(p, 1, 1, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(set1(p, 1, 2, 0, sc0, 2), 0);
	EXPECT_EQ(set1(p, 1, 2, 0, sc0 + 1, 2), 0);
	EXPECT_EQ(vtl_return(p, 1, 2, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT(!hv_tlb_lock_held(p, 1, 2, 0));
	EXPECT(!hv_tlb_lock_held(p, 1, 2, 1));
	EXPECT(hv_tlb_lock_held(p, 1, 1, 0));
	EXPECT_EQ(flush_space(p, 0, 0, 2, &rax), HV_HYPERCALL_RETRY);
	EXPECT_EQ(vtl_return(p, 1, 1, 0), HV_HYPERCALL_SWITCH_VTL);
	EXPECT_EQ(flush_space(p, 0, 0, 2, &rax), HV_HYPERCALL_DONE);
	hv_partition_destroy(p);
}

static void test_secure_config(void)
{
	struct hv_partition *p = vtl1_partition(2);
	const uint32_t sc0 = HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, sc1 = sc0 + 1, sc2 = sc0 + 2;
	uint64_t v;

	/* VTL1 holds the instance for VTL0 only. */
	EXPECT_EQ(get1(p, 0, 1, 0, sc0, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 0), 0);
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 1), HV_STATUS_INVALID_PARAMETER);	/* MbecEnabled */
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 3), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 1ull << 40 | 2), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 4), HV_STATUS_INVALID_PARAMETER);	/* SupervisorShadowStack */
	EXPECT(!hv_tlb_lock_held(p, 0, 1, 0));
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 2), 0);					/* TlbLocked */
	EXPECT_EQ(get1(p, 0, 1, 0, sc0, &v), 0);
	EXPECT_EQ(v, 2);
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 2), 0);					/* again: no change */
	EXPECT_EQ(fake.unlocks, 0);
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 0), 0);
	EXPECT_EQ(fake.unlocks, 1);
	EXPECT_EQ(get1(p, 0, 1, 0, sc0, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(set1(p, 0, 1, 0, sc0, 0), 0);
	EXPECT_EQ(fake.unlocks, 1);						/* nothing was released */
	/* HvRegisterVsmVpWaitForTlbLock is not offered (as in OpenVMM's guests). */
	EXPECT_EQ(get1(p, 0, 1, 0, HV_REGISTER_VSM_VP_WAIT_FOR_TLB_LOCK, &v), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_VP_WAIT_FOR_TLB_LOCK, 1), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(get1(p, 0, 1, 0, sc1, &v), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 1, 0, sc1, 0), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(get1(p, 0, 1, 0, sc2, &v), HV_STATUS_INVALID_PARAMETER);
	/* VTL0 has none, for itself or through an input VTL; VTL1 naming VTL0 reaches VTL0's (none). */
	EXPECT_EQ(get1(p, 0, 0, 0, sc0, &v), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 0, 0, sc0, 0), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(get1(p, 0, 0, IN_VTL(1), sc0, &v), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(get1(p, 0, 1, IN_VTL(0), sc0, &v), HV_STATUS_INVALID_PARAMETER);

	/* VTL2 holds instances for VTL0 and VTL1. */
	EXPECT_EQ(enable_partition_vtl(p, 1, 2), 0);
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 0, 2), 0);
	EXPECT_EQ(get1(p, 0, 2, 0, sc0, &v), 0);
	EXPECT_EQ(get1(p, 0, 2, 0, sc1, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(set1(p, 0, 2, 0, sc1, 0), 0);
	EXPECT_EQ(set1(p, 0, 2, 0, sc1, 1), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 2, 0, sc2, 2), HV_STATUS_INVALID_PARAMETER);	/* not below VTL2 */
	EXPECT_EQ(get1(p, 0, 2, 0, sc2, &v), HV_STATUS_INVALID_PARAMETER);
	/* VTL2 locks VTL1's TLB; VTL1's instance for VTL0 is another lock. */
	EXPECT_EQ(set1(p, 0, 2, 0, sc1, 2), 0);
	EXPECT_EQ(get1(p, 0, 2, 0, sc0, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(get1(p, 0, 2, IN_VTL(1), sc0, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT(hv_tlb_lock_held(p, 0, 2, 1));
	EXPECT_EQ(get1(p, 0, 2, IN_VTL(1), sc0, &v), 0);	/* VTL1's instance, named by VTL2 */
	EXPECT_EQ(fake.nget + fake.nset, 0);
	hv_partition_destroy(p);
}

static void test_register_input_vtl(void)
{
	struct hv_partition *p = vtl1_partition(1);
	const uint32_t st = HV_REGISTER_VSM_VP_STATUS;
	uint64_t v, res;

	/* A lower VTL naming a higher one: ACCESS_DENIED, whatever the register. */
	EXPECT_EQ(get1(p, 0, 0, IN_VTL(1), st, &v), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(get1(p, 0, 0, IN_VTL(1), 0x20000, &v), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(get1(p, 0, 0, IN_VTL(2), st, &v), HV_STATUS_ACCESS_DENIED);
	/* A VTL that cannot exist is INVALID_PARAMETER first (OpenVMM: Vtl::try_from before target_vtl_no_higher). */
	EXPECT_EQ(get1(p, 0, 0, IN_VTL(15), st, &v), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(get1(p, 0, 1, IN_VTL(3), st, &v), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(set1(p, 0, 0, IN_VTL(1), HV_REGISTER_VSM_VINA, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(set1(p, 0, 0, IN_VTL(1), 0x20000, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nget + fake.nset, 0);
	/* Without UseTargetVtl the TargetVtl bits do not matter. */
	EXPECT_EQ(get1(p, 0, 0, 0x01, st, &v), 0);
	/* HV_INPUT_VTL reserved bits. */
	EXPECT_EQ(get1(p, 0, 1, 0x20, st, &v), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(get1(p, 0, 1, 0x80 | IN_VTL(0), st, &v), HV_STATUS_INVALID_PARAMETER);
	/* A higher VTL naming a lower one, or itself. */
	EXPECT_EQ(get1(p, 0, 1, IN_VTL(0), st, &v), 0);
	EXPECT_EQ(get1(p, 0, 1, IN_VTL(1), st, &v), 0);

	/* Header fields. */
	res = get_regs(p, 0, 1, NR_VPS, 0, &st, 1, true);
	EXPECT_EQ(res, HV_STATUS_INVALID_VP_INDEX);
	res = get_regs(p, 0, 1, 1, IN_VTL(1), &st, 1, true);		/* VP1 has no VTL1 */
	EXPECT_EQ(res, HV_STATUS_INVALID_VTL_STATE);
	res = get_regs(p, 0, 1, 1, IN_VTL(0), &st, 1, true);
	EXPECT_EQ(res, 1ull << 32);
	put64(IN_GPA, 0);
	EXPECT_EQ(st_of(hcall(p, 0, 1, HVCALL_GET_VP_REGISTERS | 1ull << 32, true)), HV_STATUS_INVALID_PARTITION_ID);
	/* The three bytes after InputVtl are padding: ignored (OpenVMM), whatever the stack left there. */
	for (unsigned int b = 13; b < 16; b++) {
		get_regs(p, 0, 1, HV_VP_INDEX_SELF, 0, &st, 1, true);
		ram[IN_GPA + b] = 0xa5;
		EXPECT_EQ(hcall(p, 0, 1, HVCALL_GET_VP_REGISTERS | 1ull << 32, true), 1ull << 32);
	}
	hv_partition_destroy(p);
}

/* Names outside the VSM range: synthetic MSRs in the core, the rest through the host. */
static void test_host_registers(void)
{
	struct hv_partition *p = vtl1_partition(1);
	static const uint32_t names[] = { 0x20000, HV_REGISTER_VSM_CAPABILITIES, 0x00040002 };
	uint64_t res;

	res = get_regs(p, 0, 1, 1, IN_VTL(0), names, 3, true);
	EXPECT_EQ(res, 3ull << 32);
	EXPECT_EQ(fake.nget, 2);
	EXPECT(fake.get[0].vp == 1 && fake.get[0].vtl == 0 && fake.get[0].name == 0x20000);
	EXPECT(fake.get[1].vp == 1 && fake.get[1].vtl == 0 && fake.get[1].name == 0x40002);
	EXPECT_EQ(get64(OUT_GPA), 0x1020000);
	EXPECT_EQ(get64(OUT_GPA + 8), 1 << 8 | 0);
	EXPECT_EQ(get64(OUT_GPA + 16), 1ull << 17 | 1ull << 27);
	EXPECT_EQ(get64(OUT_GPA + 32), 0x1040002);

	/* A failing host register stops the call at its element. */
	fake.nget = 0;
	fake.reg_status = HV_STATUS_INVALID_REGISTER_VALUE;
	res = get_regs(p, 0, 1, HV_VP_INDEX_SELF, 0, names + 1, 2, true);
	EXPECT_EQ(res, HV_STATUS_INVALID_REGISTER_VALUE | 1ull << 32);
	EXPECT_EQ(get64(OUT_GPA), 1ull << 17 | 1ull << 27);
	EXPECT_EQ(get64(OUT_GPA + 16), 0xccccccccccccccccull);
	fake.reg_status = 0;

	/* Set: the full 16-byte value reaches the host. */
	{
		struct set_elem e = { .name = 0x20001, .val = { 0x1234, 0x5678 } };

		EXPECT_EQ(set_regs(p, 0, 1, HV_VP_INDEX_SELF, IN_VTL(0), &e, 1), 1ull << 32);
		EXPECT_EQ(fake.nset, 1);
		EXPECT(fake.set[0].vp == 0 && fake.set[0].vtl == 0 && fake.set[0].name == 0x20001);
		EXPECT(fake.set[0].val[0] == 0x1234 && fake.set[0].val[1] == 0x5678);
	}

	/* Synthetic MSR names stay in the core: VP assist page (0x90013) of VTL1 and VP index (0x90003). */
	fake.nget = fake.nset = 0;
	EXPECT_EQ(set1(p, 0, 1, 0, 0x90013, ASSIST1 | 1), 0);
	{
		uint64_t v;

		EXPECT_EQ(hv_msr_read(p, 0, 1, HV_X64_MSR_VP_ASSIST_PAGE, &v), HV_MSR_OK);
		EXPECT_EQ(v, ASSIST1 | 1);
		EXPECT_EQ(hv_msr_read(p, 0, 0, HV_X64_MSR_VP_ASSIST_PAGE, &v), HV_MSR_OK);
		EXPECT_EQ(v, 0);
	}
	EXPECT_EQ(get1v(p, 1, 0, 0x90003), 1);
	EXPECT_EQ(set1(p, 0, 1, 0, 0x90003, 5), HV_STATUS_INVALID_PARAMETER);	/* read-only */
	EXPECT_EQ(fake.nget + fake.nset, 0);
	hv_partition_destroy(p);
}

/* HvCallGetVpRegisters in the XMM fast form: a 20-byte input puts the value in XMM1. */
static void test_registers_xmm(void)
{
	struct hv_partition *p = new_partition(1);
	uint64_t (*fx)[2] = fake.xmm;
	struct hv_hypercall_regs r;

	memset(fx, 0x77, sizeof(fake.xmm));
	fx[0][0] = HV_REGISTER_VSM_PARTITION_STATUS;
	r = (struct hv_hypercall_regs){
		.rcx = HVCALL_GET_VP_REGISTERS | HV_HYPERCALL_FAST | 1ull << 32,
		.rdx = HV_PARTITION_ID_SELF, .r8 = HV_VP_INDEX_SELF, .long_mode = true,
	};
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 1ull << 32);
	EXPECT_EQ(fx[1][0], 0x10001);
	EXPECT_EQ(fx[1][1], 0);
	EXPECT_EQ(fx[0][0], HV_REGISTER_VSM_PARTITION_STATUS);
	EXPECT_EQ(fx[2][0], 0x7777777777777777ull);

	/* SetVpRegisters fast: header in RDX/R8, the 32-byte element in XMM0-1. */
	memset(fx, 0, sizeof(fake.xmm));
	fx[0][0] = HV_REGISTER_VSM_VINA;
	fx[1][0] = 0x2e | HV_VINA_ENABLED;
	r.rcx = HVCALL_SET_VP_REGISTERS | HV_HYPERCALL_FAST | 1ull << 32;
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 1ull << 32);
	r.rcx = HVCALL_GET_VP_REGISTERS | HV_HYPERCALL_FAST | 1ull << 32;
	fx[0][0] = HV_REGISTER_VSM_VINA;
	EXPECT_EQ(host_hypercall(p, 0, 0, &r), HV_HYPERCALL_DONE);
	EXPECT_EQ(r.rax, 1ull << 32);
	EXPECT_EQ(fx[1][0], 0x2e | HV_VINA_ENABLED);
	hv_partition_destroy(p);
}

/* ---- HvCallStartVirtualProcessor ---- */

static void test_start_vp(void)
{
	struct hv_partition *p = new_partition(1);

	/* No VTL enabled yet: starting another VP in VTL0 is fine. */
	EXPECT_EQ(vp_ctx_call(p, HVCALL_START_VIRTUAL_PROCESSOR, 0, 0, HV_PARTITION_ID_SELF, 2, 0, 0x44), 0);
	EXPECT_EQ(fake.nstart, 1);
	EXPECT(fake.start[0].vp == 2 && fake.start[0].vtl == 0);
	EXPECT(ctx_is(fake.start[0].ctx, 0x44));
	EXPECT_EQ(fake.nctx, 0);

	EXPECT_EQ(enable_partition_vtl(p, 0, 1), 0);
	EXPECT_EQ(enable_vp_vtl(p, 0, 0, 0, 1), 0);
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 1, 1), 0);
	fake.nstart = 0;

	/* Self (by index or SELF), or no such VP: INVALID_VP_INDEX. */
	EXPECT_EQ(start_vp(p, 0, 0, 0, 0), HV_STATUS_INVALID_VP_INDEX);
	EXPECT_EQ(start_vp(p, 0, 0, HV_VP_INDEX_SELF, 0), HV_STATUS_INVALID_VP_INDEX);
	EXPECT_EQ(start_vp(p, 0, 0, NR_VPS, 0), HV_STATUS_INVALID_VP_INDEX);
	EXPECT_EQ(start_vp(p, 0, 1, 0, 1), HV_STATUS_INVALID_VP_INDEX);
	/* A VTL above the caller's. */
	EXPECT_EQ(start_vp(p, 0, 0, 1, 1), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(start_vp(p, 0, 0, 2, 1), HV_STATUS_ACCESS_DENIED);
	/* Header fields. */
	EXPECT_EQ(vp_ctx_call(p, HVCALL_START_VIRTUAL_PROCESSOR, 0, 0, 0, 1, 0, 0), HV_STATUS_INVALID_PARTITION_ID);
	EXPECT_EQ(start_vp(p, 0, 0, 1, 3), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(start_vp(p, 0, 0, 1, 0x10), HV_STATUS_INVALID_PARAMETER);
	/* The target VTL must be enabled on the target VP. */
	EXPECT_EQ(start_vp(p, 0, 1, 2, 1), HV_STATUS_INVALID_VP_STATE);
	EXPECT_EQ(fake.nstart, 0);

	/* VTL1 starts VP1 in VTL1, VTL0 starts VP2 in VTL0; the context goes through exactly. */
	EXPECT_EQ(start_vp(p, 0, 1, 1, 1), 0);
	EXPECT_EQ(fake.nstart, 1);
	EXPECT(fake.start[0].vp == 1 && fake.start[0].vtl == 1);
	EXPECT(ctx_is(fake.start[0].ctx, 0x21));
	EXPECT_EQ(start_vp(p, 1, 0, 2, 0), 0);
	EXPECT(fake.start[1].vp == 2 && fake.start[1].vtl == 0);
	EXPECT_EQ(start_vp(p, 0, 1, 2, 0), 0);		/* a higher VTL may start a lower one */
	EXPECT(fake.start[2].vp == 2 && fake.start[2].vtl == 0);
	/* The host's answer (e.g. the VP already runs) is the call's status. */
	fake.start_status = HV_STATUS_INVALID_VP_STATE;
	EXPECT_EQ(start_vp(p, 0, 0, 2, 0), HV_STATUS_INVALID_VP_STATE);
	EXPECT_EQ(fake.nstart, 4);
	hv_partition_destroy(p);

	/* Without VSM the call is not available. */
	p = new_partition(0);
	EXPECT_EQ(start_vp(p, 0, 0, 1, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nstart, 0);
	hv_partition_destroy(p);
}

static void test_start_vp_deny_lower(void)
{
	struct hv_partition *p = vtl1_partition(2);

	EXPECT(!hv_lower_vtl_startup_denied(p, 0));
	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_PARTITION_CONFIG, HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP), 0);
	EXPECT(hv_lower_vtl_startup_denied(p, 0));
	EXPECT(!hv_lower_vtl_startup_denied(p, 1));
	EXPECT_EQ(start_vp(p, 0, 0, 1, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(fake.nstart, 0);
	EXPECT_EQ(start_vp(p, 0, 1, 1, 0), 0);		/* VTL1 itself may */
	EXPECT_EQ(fake.nstart, 1);
	EXPECT(fake.start[0].vp == 1 && fake.start[0].vtl == 0);
	/* Cleared again: VTL0 may start VPs. */
	EXPECT_EQ(set1(p, 0, 1, 0, HV_REGISTER_VSM_PARTITION_CONFIG, 0), 0);
	EXPECT(!hv_lower_vtl_startup_denied(p, 0));
	EXPECT_EQ(start_vp(p, 0, 0, 1, 0), 0);
	EXPECT_EQ(fake.nstart, 2);

	/* VTL2's flag denies VTL1 and VTL0, not VTL2. */
	EXPECT_EQ(enable_partition_vtl(p, 1, 2), 0);
	EXPECT_EQ(enable_vp_vtl(p, 0, 1, 0, 2), 0);
	EXPECT_EQ(set1(p, 0, 2, 0, HV_REGISTER_VSM_PARTITION_CONFIG, HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP), 0);
	EXPECT(hv_lower_vtl_startup_denied(p, 0));
	EXPECT(hv_lower_vtl_startup_denied(p, 1));
	EXPECT(!hv_lower_vtl_startup_denied(p, 2));
	EXPECT_EQ(start_vp(p, 0, 1, 1, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(start_vp(p, 0, 0, 2, 0), HV_STATUS_ACCESS_DENIED);
	EXPECT_EQ(start_vp(p, 0, 2, 2, 0), 0);
	EXPECT_EQ(fake.nstart, 3);
	hv_partition_destroy(p);
}

int main(void)
{
	RUN_TEST(test_cpuid_privileges);
	RUN_TEST(test_enable_partition_vtl);
	RUN_TEST(test_enable_partition_vtl_three);
	RUN_TEST(test_enable_vp_vtl);
	RUN_TEST(test_enable_vp_vtl_precedence);
	RUN_TEST(test_enable_vp_vtl_context_failure);
	RUN_TEST(test_enable_vp_vtl_race);
	RUN_TEST(test_enable_vp_vtl_vtl2);
	RUN_TEST(test_vtl_call_ud);
	RUN_TEST(test_vtl_call_return_64);
	RUN_TEST(test_vtl_call_return_32);
	RUN_TEST(test_vtl_call_chain);
	RUN_TEST(test_enter_for_interrupt);
	RUN_TEST(test_vina);
	RUN_TEST(test_vina_auto_reset);
	RUN_TEST(test_vsm_status_registers);
	RUN_TEST(test_vsm_readonly_and_unknown);
	RUN_TEST(test_partition_config);
	RUN_TEST(test_secure_config);
	RUN_TEST(test_tlb_lock_flush);
	RUN_TEST(test_tlb_lock_dropped_on_return);
	RUN_TEST(test_register_input_vtl);
	RUN_TEST(test_host_registers);
	RUN_TEST(test_registers_xmm);
	RUN_TEST(test_start_vp);
	RUN_TEST(test_start_vp_deny_lower);
	return TEST_EXIT();
}
