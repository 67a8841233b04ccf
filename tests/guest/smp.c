/*
 * SMP bring-up by INIT/SIPI: every AP reports its APIC ID (xAPIC register and
 * CPUID), and the CPU count matches fw_cfg and the command line (cpus=N).
 */
#include "lib/guest.h"

static volatile uint32_t seen_apic[MAX_CPUS], seen_cpuid[MAX_CPUS];

void ap_main(unsigned int id)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	seen_apic[id] = apic_id() + 1;		/* +1: zero means "not reported" */
	seen_cpuid[id] = (r[1] >> 24) + 1;
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
}

void test_main(const struct mb_info *mbi)
{
	uint64_t want = cmdline_u64(mbi, "cpus", 0);
	uint16_t nb = 0, max = 0;
	unsigned int aps;

	fw_cfg_read(0x05, &nb, 2);
	fw_cfg_read(0x0f, &max, 2);
	CHECK_EQ(nb, want);
	CHECK_EQ(max, want);
	CHECK_EQ(apic_id(), 0);

	aps = smp_start_aps();
	CHECK_EQ(aps, want - 1);
	CHECK_EQ(cpus_online, want);
	for (unsigned int id = 1; id < want; id++) {
		CHECK_EQ(seen_apic[id], id + 1);
		CHECK_EQ(seen_cpuid[id], id + 1);
		printf("AP with APIC ID %u is online\n", id);
	}
}
