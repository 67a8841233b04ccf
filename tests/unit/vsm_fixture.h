/*
 * A VSM partition over the fake host (fake_host.h) for the core's unit tests
 * of protections and intercepts: 4 MiB of RAM, hypercalls from VP0 with the
 * input block at IN_GPA and the output at OUT_GPA, register access by name,
 * and VTLs 1..max_vtl enabled on the partition and VP0 as a guest would.
 * Header-only, like fake_host.h: each test is one translation unit.
 */
#ifndef KVSM_TEST_VSM_FIXTURE_H
#define KVSM_TEST_VSM_FIXTURE_H

#include "fake_host.h"
#include "test.h"
#include "hv/hv_internal.h"

#include <stdlib.h>

#define RAM_SIZE 0x400000u	/* 1024 pages, all tracked by the fake host */
#define IN_GPA 0x1000u
#define OUT_GPA 0x2000u
#define IN_VTL(v) (0x10 | (v))	/* HV_INPUT_VTL with UseTargetVtl */

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct fake_host fake;

static inline void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

/* A memory-form call from VP0's VTL vtl that must end as `want`: its RAX, or RCX for a continuation. */
static inline uint64_t hcall(struct hv_partition *p, unsigned int vtl, uint64_t control, enum hv_hypercall_outcome want)
{
	struct hv_hypercall_regs r = { .long_mode = true, .rcx = control, .rdx = IN_GPA, .r8 = OUT_GPA };

	EXPECT_EQ(hv_hypercall(p, 0, vtl, &r), want);
	return want == HV_HYPERCALL_CONTINUE ? r.rcx : r.rax;
}

/* The 16-byte Get/SetVpRegisters header (and zeros after it) for VP0 itself. */
static inline void reg_header(uint8_t input_vtl)
{
	memset(ram + IN_GPA, 0, 256);
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	put64(IN_GPA + 8, HV_VP_INDEX_SELF);
	ram[IN_GPA + 12] = input_vtl;
}

/* SetVpRegisters / GetVpRegisters of one register from `caller`: the status. */
static inline uint16_t set_reg(struct hv_partition *p, unsigned int caller, uint8_t input_vtl, uint32_t name,
			       uint64_t v)
{
	reg_header(input_vtl);
	put64(IN_GPA + 16, name);
	put64(IN_GPA + 32, v);
	return (uint16_t)hcall(p, caller, HVCALL_SET_VP_REGISTERS | 1ull << 32, HV_HYPERCALL_DONE);
}

static inline uint16_t get_reg(struct hv_partition *p, unsigned int caller, uint8_t input_vtl, uint32_t name,
			       uint64_t *v)
{
	uint16_t st;

	reg_header(input_vtl);
	put64(IN_GPA + 16, name);
	st = (uint16_t)hcall(p, caller, HVCALL_GET_VP_REGISTERS | 1ull << 32, HV_HYPERCALL_DONE);
	memcpy(v, ram + OUT_GPA, 8);
	return st;
}

static inline uint16_t enable_partition_vtl(struct hv_partition *p, unsigned int caller, uint8_t vtl)
{
	memset(ram + IN_GPA, 0, 256);
	put64(IN_GPA, HV_PARTITION_ID_SELF);
	ram[IN_GPA + 8] = vtl;
	return (uint16_t)hcall(p, caller, HVCALL_ENABLE_PARTITION_VTL, HV_HYPERCALL_DONE);
}

/* A fresh partition with VTLs 1..max_vtl enabled on it and on VP0 (VTL n by VTL n - 1). */
static inline struct hv_partition *vsm_partition(unsigned int max_vtl, enum hv_policy policy)
{
	struct hv_config cfg = {
		.nr_vps = 2, .tsc_hz = 25000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE, .ram_end = RAM_SIZE,
		.gpa_limit = 1ull << 40, .max_vtl = max_vtl, .policy = policy,
		.hypercall_port = FAKE_HYPERCALL_PORT, .ops = &fake_host_ops, .host = &fake,
	};
	struct hv_partition *p;

	memset(ram, 0, sizeof(ram));
	fake_reset(&fake, ram, RAM_SIZE, 2, 1);
	p = hv_partition_create(&cfg);
	if (!p)
		exit(1);
	for (unsigned int v = 1; v <= max_vtl; v++) {
		struct hv_initial_vp_context c;

		EXPECT_EQ(enable_partition_vtl(p, v - 1, (uint8_t)v), 0);
		reg_header((uint8_t)v);		/* EnableVpVtl: the same first 13 bytes, then a context */
		fake_context(&c, (uint8_t)v);
		memcpy(ram + IN_GPA + 16, &c, sizeof(c));
		EXPECT_EQ((uint16_t)hcall(p, v - 1, HVCALL_ENABLE_VP_VTL, HV_HYPERCALL_DONE), 0);
	}
	return p;
}

#endif
