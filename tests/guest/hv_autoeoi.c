/*
 * SynIC AutoEOI (run with --testdev): messages on an AutoEOI SINT interrupt
 * without an EOI from the guest, again and again, and leave nothing in
 * service: a lower-priority fixed interrupt still gets through afterwards.
 * Interrupts wait while RFLAGS.IF = 0 and arrive once it is set.
 */
#include "lib/hyperv.h"

#define SINT 3
#define SINT_VEC 0xb0
#define LOW_VEC 0x40
#define CONN 7

static volatile unsigned int sint_irqs, low_irqs;
static uint8_t *simp;

static void sint_handler(struct irq_frame *f)
{
	sint_irqs++;	/* no EOI: AutoEOI */
}

static void low_handler(struct irq_frame *f)
{
	low_irqs++;
	apic_eoi();
}

static void post(uint8_t *in, uint32_t type)
{
	memset(in, 0, 256);
	*(uint32_t *)in = CONN;
	*(uint32_t *)(in + 8) = type;
	*(uint32_t *)(in + 12) = 8;
	*(uint64_t *)(in + 16) = 0x1122334455667788ull;
	CHECK_EQ(hv_hypercall(0x5c, (uint64_t)in, 0), HV_STATUS_SUCCESS);
}

/* Consume the message in our slot: clear its type, then EOM if another one is pending. */
static void consume(void)
{
	volatile uint8_t *slot = simp + SINT * 256;
	bool pending = slot[5] & 1;

	*(volatile uint32_t *)slot = 0;
	if (pending)
		wrmsr(HV_X64_MSR_EOM, 0);
}

void test_main(const struct mb_info *mbi)
{
	uint8_t *in = alloc_zeroed(4096);

	simp = alloc_zeroed(4096);
	hv_enable_hypercalls();
	apic_enable();
	set_irq_handler(SINT_VEC, sint_handler);
	set_irq_handler(LOW_VEC, low_handler);
	wrmsr(HV_X64_MSR_SIMP, (uint64_t)simp | 1);
	wrmsr(HV_X64_MSR_SCONTROL, 1);
	wrmsr(HV_X64_MSR_SINT0 + SINT, SINT_VEC | (1u << 17));	/* AutoEOI */
	outl(0x3000, CONN << 24 | 4 << 16 | 0 << 8 | SINT);	/* testdev: message connection to VP0 SINT3 */

	for (unsigned int i = 1; i <= 3; i++) {
		post(in, 0x100 + i);
		while (sint_irqs < i)
			sti_hlt();
		cli();
		CHECK_EQ(sint_irqs, i);
		CHECK_EQ(*(uint32_t *)(simp + SINT * 256), 0x100 + i);
		consume();
	}
	/* Nothing was left in service: a lower vector is still delivered. */
	apic_send_ipi(0, 0x4000 | LOW_VEC);
	for (int i = 0; i < 100 && !low_irqs; i++)
		sti_hlt();
	cli();
	CHECK_EQ(low_irqs, 1);

	/* With IF = 0 the interrupt waits (kvsm keeps it queued), then arrives after STI. */
	post(in, 0x200);
	for (volatile int i = 0; i < 2000; i++)
		;
	CHECK_EQ(sint_irqs, 3);
	while (sint_irqs < 4)
		sti_hlt();
	cli();
	CHECK_EQ(sint_irqs, 4);
	CHECK_EQ(*(uint32_t *)(simp + SINT * 256), 0x200);
}
