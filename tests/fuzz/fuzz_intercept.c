/*
 * libFuzzer target for secure intercepts: a program that sets up
 * protections (HvCallModifyVtlProtectionMask, VsmPartitionConfig), register
 * intercepts (CrInterceptControl), I/O port intercepts
 * (HvCallInstallIntercept), SynIC and VP assist pages at arbitrary GPAs, and
 * switches VTLs, mixed with lower-VTL accesses with arbitrary state that go
 * through hv_gpa_intercept / hv_msr_intercept / hv_io_intercept and their
 * message builders. Oracle beyond ASan/UBSan: only a higher VTL is told, a
 * GPA intercept exactly when a protection denies the access, and the host
 * then enters that VTL.
 */
#include "fuzz_vsm.h"

struct op {
	uint8_t kind;	/* 0 protect, 1 set register, 2 MSR write, 3 install intercept, 4 VTL call/return, 5-7 access */
	uint8_t vp;
	uint8_t a, b;	/* kind-specific selectors */
	uint32_t x;
	uint64_t y, z;
	uint8_t insn[16];
};

static const uint32_t msrs[] = {
	HV_X64_MSR_SIMP, HV_X64_MSR_SIEFP, HV_X64_MSR_SCONTROL, HV_X64_MSR_SINT0, HV_X64_MSR_VP_ASSIST_PAGE,
	HV_X64_MSR_HYPERCALL, HV_X64_MSR_EOM,
};

static const uint32_t regs[] = {
	HV_X64_REGISTER_CR_INTERCEPT_CONTROL, HV_X64_REGISTER_CR_INTERCEPT_CR0_MASK,
	HV_X64_REGISTER_CR_INTERCEPT_CR4_MASK, HV_X64_REGISTER_CR_INTERCEPT_IA32_MISC_ENABLE_MASK,
	HV_REGISTER_VSM_PARTITION_CONFIG, HV_REGISTER_VSM_VINA,
};

static struct hv_intercept_state state;

/* The lower VTL's state at the access: arbitrary words, the three flags from one byte. */
static void load_state(const uint8_t *data, size_t size)
{
	size_t words = offsetof(struct hv_intercept_state, interruption_pending);

	memset(&state, 0, sizeof(state));
	memcpy(&state, data, size < words ? size : words);
	if (size > words) {
		state.interruption_pending = data[words] & 1;
		state.interrupt_shadow = data[words] & 2;
		state.debug_active = data[words] & 4;
	}
}

static void setup(struct hv_partition *p, const struct op *o, unsigned int vp)
{
	unsigned int reps = o->b % 8 + 1;

	memset(ram + IN_GPA, 0, 0x1000);
	*(uint64_t *)(ram + IN_GPA) = HV_PARTITION_ID_SELF;
	switch (o->kind) {
	case 0:		/* pages from z on, x apart (GPNs, possibly past RAM) */
		*(uint32_t *)(ram + IN_GPA + 8) = (uint32_t)o->y & 0x1f;
		ram[IN_GPA + 12] = o->a;
		for (unsigned int i = 0; i < reps; i++)
			*(uint64_t *)(ram + IN_GPA + 16 + 8 * i) = o->z + (uint64_t)i * (o->x & 0xff);
		fuzz_call(p, vp, HVCALL_MODIFY_VTL_PROTECTION_MASK | (uint64_t)reps << 32);
		break;
	case 1:
		*(uint32_t *)(ram + IN_GPA + 8) = HV_VP_INDEX_SELF;
		ram[IN_GPA + 12] = o->a;
		*(uint32_t *)(ram + IN_GPA + 16) = regs[o->x % (sizeof(regs) / sizeof(regs[0]))];
		*(uint64_t *)(ram + IN_GPA + 32) = o->y;
		fuzz_call(p, vp, HVCALL_SET_VP_REGISTERS | 1ull << 32);
		break;
	case 2:
		hv_msr_write(p, vp, o->a % 3, msrs[o->x % (sizeof(msrs) / sizeof(msrs[0]))], o->y);
		break;
	case 3:		/* HvInterceptTypeX64IoPort (0) mostly, the access mask from b */
		*(uint32_t *)(ram + IN_GPA + 8) = o->b & 7;
		*(uint32_t *)(ram + IN_GPA + 12) = o->a & 0x80 ? o->x : 0;
		*(uint64_t *)(ram + IN_GPA + 16) = o->y;
		fuzz_call(p, vp, HVCALL_INSTALL_INTERCEPT);
		break;
	case 4:
		fuzz_vtl_switch(p, vp, o->a & 1);
		break;
	}
}

static void intercept(struct hv_partition *p, const struct op *o, unsigned int vp)
{
	static const uint8_t need[] = { HV_MAP_GPA_READABLE, HV_MAP_GPA_WRITABLE, HV_MAP_GPA_KERNEL_EXECUTABLE };
	unsigned int vtl = hv_vp_active_vtl(p, vp);
	enum hv_vtl_entry reason = HV_VTL_ENTRY_RETURN;
	struct hv_message m;
	int to;

	if (o->kind == 5) {
		struct hv_gpa_access a = { .access = o->a % 3, .gpa = o->y, .gva = o->z, .gva_valid = o->b & 1,
					   .insn_len = o->b >> 1, .insn_bytes = (uint8_t)o->x };

		memcpy(a.insn, o->insn, 16);
		hv_gpa_intercept_message(&m, vp, vtl, &state, &a);
		to = hv_gpa_intercept(p, vp, vtl, &state, &a, &reason);
		if ((to >= 0) != !(hv_vtl_prot_effective(p, vtl, a.gpa) & need[a.access]))
			abort();
	} else if (o->kind == 6) {
		hv_msr_intercept_message(&m, vp, vtl, &state, o->x, o->a & 1);
		to = hv_msr_intercept(p, vp, vtl, &state, o->x, o->a & 1, o->y, &reason);
		if (to >= 0 && !hv_msr_intercept_armed(p, vtl, o->x))
			abort();
	} else {
		struct hv_io_access a = { .port = (uint16_t)o->x, .size = 1u << (o->a % 3), .write = o->b & 1,
					  .string = o->b & 2, .rep = o->b & 4, .insn_len = o->b >> 3 };

		memcpy(a.insn, o->insn, 16);
		hv_io_intercept_message(&m, vp, vtl, &state, &a);
		to = hv_io_intercept(p, vp, vtl, &state, &a, &reason);
		if (to >= 0 && !hv_io_intercept_armed(p, vtl, a.port, a.write))
			abort();
	}
	if (to < 0)
		return;
	if (to <= (int)vtl || to >= HV_MAX_VTLS || !(hv_vp_enabled_vtls(p, vp) & 1u << to))
		abort();
	hv_vtl_entered(p, vp, (unsigned int)to, reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t state_size = offsetof(struct hv_intercept_state, interruption_pending) + 1;
	struct hv_partition *p;

	if (size < state_size)
		return 0;
	p = fuzz_partition();
	fuzz_enable_all(p);
	load_state(data, size);
	for (size_t off = state_size; off + sizeof(struct op) <= size; off += sizeof(struct op)) {
		struct op o;

		memcpy(&o, data + off, sizeof(o));
		o.kind %= 8;
		if (o.kind < 5)
			setup(p, &o, o.vp % NR_VPS);
		else
			intercept(p, &o, o.vp % NR_VPS);
		fake.tsc += 1000;
	}
	hv_partition_destroy(p);
	return 0;
}
