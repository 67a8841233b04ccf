/*
 * A guest error stops the VM with one diagnostic line (run with --vtls 2 and
 * vtl=0 or vtl=1): that VTL jumps into the MMIO hole, where no memslot backs
 * the fetch. KVM cannot emulate it; kvsm stops with status 10 and one line
 * naming the VP, the VTL, the exit and the registers. The guest never gets
 * past the jump: reaching test_done is a failure.
 */
#include "lib/vsm.h"

#define HOLE_CODE 0xd0000000ull		/* unassigned, below the IOAPIC */

static void jump_to_hole(void)
{
	__asm__ volatile("jmp *%0" : : "r"(HOLE_CODE) : "memory");
}

void test_main(const struct mb_info *mbi)
{
	unsigned int vtl = (unsigned int)cmdline_u64(mbi, "vtl", 0);

	hv_enable_hypercalls();
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	printf("VTL%u jumps to 0x%llx\n", vtl, HOLE_CODE);
	if (vtl == 1)
		vsm_call(jump_to_hole, 0, 0);
	else
		jump_to_hole();
	check(false, "VTL%u ran on after its jump into the MMIO hole", vtl);
}
