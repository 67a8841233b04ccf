/* The demo guest of `make demo`: starts every vCPU and greets from each. */
#include "lib/guest.h"

void ap_main(unsigned int id)
{
	printf("hello from vCPU %u\n", id);
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
}

void test_main(const struct mb_info *mbi)
{
	printf("kvsm demo guest, command line: %s\n", (const char *)(uint64_t)mbi->cmdline);
	printf("hello from vCPU %u\n", apic_id());
	CHECK_EQ(smp_start_aps() + 1, cpus_online);
}
