/*
 * A fresh VSM partition over the fake host for the register and intercept
 * fuzzers: NR_VPS VPs, VTLs up to 2 on the partition, none on the VPs
 * until an input enables them. Each input starts from this state so that
 * any crash replays from its file alone. Header-only: one per target.
 */
#ifndef KVSM_FUZZ_VSM_H
#define KVSM_FUZZ_VSM_H

#include "../unit/fake_host.h"
#include "hv/hv_internal.h"

#include <stdlib.h>
#include <string.h>

#define RAM_SIZE (64 * 1024)
#define NR_VPS 3
#define IN_GPA 0x3000u
#define OUT_GPA 0x4000u

static uint8_t ram[RAM_SIZE];
static struct fake_host fake;

static struct hv_partition *fuzz_partition(void)
{
	struct hv_config cfg = {
		.nr_vps = NR_VPS, .tsc_hz = 1000000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE,
		.ram_end = RAM_SIZE, .gpa_limit = 1ull << 40, .hypercall_port = FAKE_HYPERCALL_PORT,
		.ops = &fake_host_ops, .host = &fake, .max_vtl = 2,
	};
	struct hv_partition *p;

	memset(ram, 0, sizeof(ram));
	fake_reset(&fake, ram, RAM_SIZE, NR_VPS, 1000000);
	p = hv_partition_create(&cfg);
	if (!p)
		abort();
	return p;
}

/*
 * A memory-form call from VP vp's current VTL with the block already at
 * IN_GPA, run to completion as a guest re-executes continued rep calls; a
 * VTL switch is recorded as the host does. Returns the final RAX. A call
 * that does not run (a parameter-block intercept, #UD, a stall) leaves RAX
 * at all ones, no HV_STATUS, so no caller takes it for a success.
 */
static uint64_t fuzz_call(struct hv_partition *p, unsigned int vp, uint64_t control)
{
	struct hv_hypercall_regs r = { .long_mode = true, .rax = ~0ull, .rcx = control, .rdx = IN_GPA, .r8 = OUT_GPA };

	for (int i = 0; i < 16; i++) {
		enum hv_hypercall_outcome o = hv_hypercall(p, vp, hv_vp_active_vtl(p, vp), &r);

		if (o == HV_HYPERCALL_SWITCH_VTL)
			hv_vtl_entered(p, vp, r.target_vtl, r.entry_reason);
		if (o != HV_HYPERCALL_CONTINUE)
			break;
	}
	return r.rax;
}

/* EnablePartitionVtl / EnableVpVtl of VTL vtl (a context the core accepts) by VP vp's current VTL. */
static uint16_t fuzz_enable_vtl(struct hv_partition *p, unsigned int vp, unsigned int target_vp, uint8_t vtl,
				bool partition)
{
	struct hv_initial_vp_context c;

	memset(ram + IN_GPA, 0, 256);
	*(uint64_t *)(ram + IN_GPA) = HV_PARTITION_ID_SELF;
	if (partition) {
		ram[IN_GPA + 8] = vtl;
		return (uint16_t)fuzz_call(p, vp, HVCALL_ENABLE_PARTITION_VTL);
	}
	*(uint32_t *)(ram + IN_GPA + 8) = target_vp;
	ram[IN_GPA + 12] = vtl;
	fake_context(&c, vtl);
	memcpy(ram + IN_GPA + 16, &c, sizeof(c));
	return (uint16_t)fuzz_call(p, vp, HVCALL_ENABLE_VP_VTL);
}

/* VtlCall (0x11) or VtlReturn (0x12) of VP vp as the thunks make them: the code in RCX, a zero RAX (fast). */
static void fuzz_vtl_switch(struct hv_partition *p, unsigned int vp, bool call)
{
	struct hv_hypercall_regs r = { .long_mode = true, .rcx = call ? 0x11 : 0x12 };

	if (hv_hypercall(p, vp, hv_vp_active_vtl(p, vp), &r) == HV_HYPERCALL_SWITCH_VTL)
		hv_vtl_entered(p, vp, r.target_vtl, r.entry_reason);
}

/*
 * VTLs 1 and 2 enabled on the partition and on every VP, as a guest does:
 * VP0's VTL n - 1 enables VTL n on the partition and on VP0, VP0 calls up,
 * and its VTL n enables VTL n on the other VPs. VP0 ends in VTL0.
 */
static void fuzz_enable_all(struct hv_partition *p)
{
	for (unsigned int v = 1; v <= 2; v++) {
		if (fuzz_enable_vtl(p, 0, 0, (uint8_t)v, true) || fuzz_enable_vtl(p, 0, 0, (uint8_t)v, false))
			abort();
		fuzz_vtl_switch(p, 0, true);
		for (unsigned int vp = 1; vp < NR_VPS; vp++)
			if (fuzz_enable_vtl(p, 0, vp, (uint8_t)v, false))
				abort();
	}
	fuzz_vtl_switch(p, 0, false);
	fuzz_vtl_switch(p, 0, false);
	if (hv_vp_active_vtl(p, 0) != 0)
		abort();
}

#endif
