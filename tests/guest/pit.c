/*
 * In-kernel PIT channel 0 through the in-kernel 8259 PIC (LINT0 in ExtINT
 * mode): periodic IRQ0 interrupts at the programmed vector, and a counter
 * that counts down when latched.
 */
#include "lib/guest.h"

#define PIC_VEC_BASE 0x20
static volatile unsigned int irq0;

static void pit_irq(struct irq_frame *f)
{
	irq0++;
	outb(0x20, 0x20);	/* non-specific EOI to the master PIC */
}

static uint16_t pit_latch(void)
{
	outb(0x43, 0x00);	/* counter latch, channel 0 */
	uint8_t lo = inb(0x40);
	return (uint16_t)(lo | inb(0x40) << 8);
}

void test_main(const struct mb_info *mbi)
{
	uint16_t a, b;

	set_irq_handler(PIC_VEC_BASE, pit_irq);
	/* 8259 init: ICW1 edge+ICW4, ICW2 vector base, ICW3 cascade, ICW4 8086 mode. */
	outb(0x20, 0x11); outb(0x21, PIC_VEC_BASE); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, PIC_VEC_BASE + 8); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xfe);	/* only IRQ0 */
	outb(0xa1, 0xff);
	CHECK_EQ(inb(0x21), 0xfe);
	apic_enable();
	apic_write(APIC_LVT_LINT0, 0x700);	/* ExtINT, unmasked */

	outb(0x43, 0x34);	/* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	outb(0x40, 0x00);
	outb(0x40, 0x30);	/* divisor 0x3000: about 97 Hz */
	a = pit_latch();
	b = pit_latch();
	CHECK(a <= 0x3000 && b <= 0x3000);
	CHECK(a != b);		/* counting */

	while (irq0 < 3)
		sti_hlt();
	cli();
	CHECK_EQ(irq0, 3);
	outb(0x21, 0xff);
}
