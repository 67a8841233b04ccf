/*
 * In-kernel local APIC timer for VTL0: one-shot, periodic and (if offered)
 * TSC-deadline modes. The in-service bit is not checked inside the handler:
 * the in-kernel APIC of this machine's software KVM does not report it.
 */
#include "lib/guest.h"

#define VEC 0x40
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define LVT_MASKED (1u << 16)
#define MSR_TSC_DEADLINE 0x6e0

static volatile unsigned int ticks, stop_at;

/* A periodic timer is masked by the handler of interrupt stop_at, so a slow host cannot add one more. */
static void timer_irq(struct irq_frame *f)
{
	if (++ticks == stop_at)
		apic_write(APIC_LVT_TIMER, VEC | LVT_PERIODIC | LVT_MASKED);
	apic_eoi();
}

static void wait_ticks(unsigned int n)
{
	while (ticks < n)
		sti_hlt();
	cli();
}

void test_main(const struct mb_info *mbi)
{
	uint32_t r[4];

	set_irq_handler(VEC, timer_irq);
	apic_enable();
	apic_write(APIC_TIMER_DIV, 0xb);		/* divide by 1 */

	/* One-shot. */
	apic_write(APIC_LVT_TIMER, VEC);
	apic_write(APIC_TIMER_INIT, 200000);
	wait_ticks(1);
	CHECK_EQ(ticks, 1);
	CHECK(!apic_isr_set(VEC));			/* EOI cleared it */
	CHECK_EQ(apic_read(APIC_TIMER_CUR), 0);		/* one-shot count ran down */

	/* Periodic: several interrupts from one programming, then masked. */
	ticks = 0;
	stop_at = 5;
	apic_write(APIC_LVT_TIMER, VEC | LVT_PERIODIC);
	apic_write(APIC_TIMER_INIT, 300000);
	wait_ticks(5);
	CHECK(apic_read(APIC_TIMER_CUR) != 0);		/* reloaded: a masked timer keeps counting */
	for (uint64_t t = rdtsc(); rdtsc() - t < 20000000;) {	/* a few ms more: nothing may arrive */
		sti();
		pause();
		cli();
	}
	CHECK_EQ(ticks, 5);
	apic_write(APIC_TIMER_INIT, 0);
	CHECK_EQ(apic_read(APIC_LVT_TIMER), VEC | LVT_PERIODIC | LVT_MASKED);

	/* TSC-deadline mode when CPUID.1:ECX[24] offers it. */
	cpuid(1, 0, r);
	if (r[2] & (1u << 24)) {
		ticks = 0;
		apic_write(APIC_LVT_TIMER, VEC | LVT_TSC_DEADLINE);
		wrmsr(MSR_TSC_DEADLINE, rdtsc() + 100000);
		wait_ticks(1);
		CHECK_EQ(ticks, 1);
		CHECK_EQ(rdmsr(MSR_TSC_DEADLINE), 0);	/* cleared when it fires */
	} else {
		printf("TSC-deadline timer not offered by CPUID; mode not tested\n");
	}
}
