/*
 * Halt detection with VTLs (--vtls 2): VTL0 halts with interrupts disabled
 * while VTL1 has an APIC timer armed for later than kvsm's halt detector
 * needs to give up on a halted VM. The VM must live on: the timer takes the
 * VP into VTL1, which ends the test.
 */
#include "lib/vsm.h"

#define VTL1_TIMER_VEC 0xe0

static void vtl1_timer(struct irq_frame *f)
{
	puts_serial("VTL1 timer fired while VTL0 was halted\n");
	debug_exit(0);
}

static void vtl1_arm_timer(void)
{
	apic_enable();
	apic_write(APIC_TIMER_DIV, 0xb);
	apic_write(APIC_LVT_TIMER, VTL1_TIMER_VEC);
	apic_write(APIC_TIMER_INIT, 800000000);	/* 0.8 s at 1 GHz: longer than three 100 ms halt polls */
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	set_irq_handler(VTL1_TIMER_VEC, vtl1_timer);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_arm_timer, 0, 0);
	for (;;) {
		cli();
		hlt();
	}
}
