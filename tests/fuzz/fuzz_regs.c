/*
 * libFuzzer target for HvCallGetVpRegisters / HvCallSetVpRegisters through
 * hv_hypercall: a program of register accesses by any VP from whatever VTL
 * it runs, VTL calls and returns and VTL enables in between, over every
 * register name the core knows (synthetic MSRs, VSM and intercept
 * registers, architectural ones for the host) and raw names. Oracle beyond
 * ASan/UBSan: a lower VTL never reads or writes a higher VTL's registers
 * nor changes its VsmPartitionConfig.
 */
#include "fuzz_vsm.h"

static const uint32_t names[] = {
	0x90000, 0x90001, 0x90002, 0x90003, 0x90004, 0x90013, 0x90017,
	0xA0000, 0xA0001, 0xA0002, 0xA000F, 0xA0010, 0xA0011, 0xA0012, 0xA0013, 0xA0014,
	0xB0000, 0xB0001, 0xB0006, 0xB0007,
	HV_REGISTER_VSM_CODE_PAGE_OFFSETS, HV_REGISTER_VSM_VP_STATUS, HV_REGISTER_VSM_PARTITION_STATUS,
	HV_REGISTER_VSM_VINA, HV_REGISTER_VSM_CAPABILITIES, HV_REGISTER_VSM_PARTITION_CONFIG,
	HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 + 1,
	HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 + 2, HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 + 14,
	HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 + 15, HV_REGISTER_VSM_VP_WAIT_FOR_TLB_LOCK, 0xDFFFF,
	HV_X64_REGISTER_CR_INTERCEPT_CONTROL, HV_X64_REGISTER_CR_INTERCEPT_CR0_MASK,
	HV_X64_REGISTER_CR_INTERCEPT_CR4_MASK, HV_X64_REGISTER_CR_INTERCEPT_IA32_MISC_ENABLE_MASK, 0xE0004,
	HV_X64_REGISTER_RFLAGS, HV_X64_REGISTER_CR0, HV_X64_REGISTER_CR3, HV_X64_REGISTER_CR4,
	HV_X64_REGISTER_SS, HV_X64_REGISTER_EFER, HV_X64_REGISTER_PAT,
};
#define NR_NAMES (sizeof(names) / sizeof(names[0]))

/* One step of the program. */
struct op {
	uint8_t kind;		/* 0 get, 1 set, 2 VTL call, 3 VTL return, 4 enable VP VTL, 5 host register failure */
	uint8_t vp;		/* the calling VP */
	uint8_t input_vtl;	/* HV_INPUT_VTL */
	uint8_t target_vp;	/* 0xFF: HV_VP_INDEX_SELF */
	uint8_t count;		/* rep count - 1, names consecutive in the table */
	uint8_t raw;		/* bit 0: name is raw, not a table index */
	uint8_t pad[2];
	uint32_t name;
	uint32_t pad2;
	uint64_t value[2];
};

static void access(struct hv_partition *p, const struct op *o, bool set)
{
	unsigned int vp = o->vp % NR_VPS, caller = hv_vp_active_vtl(p, vp), reps = o->count % 4 + 1;
	uint64_t config[HV_MAX_VTLS];
	unsigned int nset = fake.nset, nget = fake.nget;
	uint16_t st;
	int tv = hv_input_vtl(o->input_vtl, caller);	/* -status if the header is refused */

	memcpy(config, p->partition_config, sizeof(config));
	memset(ram + IN_GPA, 0, 0x1000);
	*(uint64_t *)(ram + IN_GPA) = HV_PARTITION_ID_SELF;
	*(uint32_t *)(ram + IN_GPA + 8) = o->target_vp == 0xFF ? HV_VP_INDEX_SELF : o->target_vp;
	ram[IN_GPA + 12] = o->input_vtl;
	for (unsigned int i = 0; i < reps; i++) {
		uint32_t name = o->raw & 1 ? o->name + i : names[(o->name + i) % NR_NAMES];

		if (!set) {
			*(uint32_t *)(ram + IN_GPA + 16 + 4 * i) = name;
		} else {
			*(uint32_t *)(ram + IN_GPA + 16 + 32 * i) = name;
			memcpy(ram + IN_GPA + 32 + 32 * i, o->value, 16);
		}
	}
	st = (uint16_t)fuzz_call(p, vp, (set ? HVCALL_SET_VP_REGISTERS : HVCALL_GET_VP_REGISTERS) |
				 (uint64_t)reps << 32);
	/* A refused header fails the call; the host is asked only about the caller's VTL or lower ones. */
	if (tv < 0 && st == HV_STATUS_SUCCESS)
		abort();
	for (unsigned int i = nset; i < fake.nset && i < FAKE_MAX_CALLS; i++)
		if (fake.set[i].vtl > caller)
			abort();
	for (unsigned int i = nget; i < fake.nget && i < FAKE_MAX_CALLS; i++)
		if (fake.get[i].vtl > caller)
			abort();
	for (unsigned int v = caller + 1; v < HV_MAX_VTLS; v++)
		if (p->partition_config[v] != config[v])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_partition *p = fuzz_partition();

	if (size && data[0] & 1)	/* else the program must enable VTLs itself */
		fuzz_enable_all(p);
	for (size_t off = 1; off + sizeof(struct op) <= size; off += sizeof(struct op)) {
		struct op o;

		memcpy(&o, data + off, sizeof(o));
		switch (o.kind % 6) {
		case 0:
		case 1:
			access(p, &o, o.kind % 6 == 1);
			break;
		case 2:
		case 3:
			fuzz_vtl_switch(p, o.vp % NR_VPS, o.kind % 6 == 2);
			break;
		case 4:
			fuzz_enable_vtl(p, o.vp % NR_VPS, o.target_vp, o.input_vtl, o.raw & 1);
			break;
		case 5:
			fake.reg_status = o.value[0] & 1 ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
			break;
		}
		fake.tsc += 1000;
	}
	hv_partition_destroy(p);
	return 0;
}
