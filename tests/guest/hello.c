/* Serial output and the guest-side view of the 16550: scratch and loopback probes. */
#include "lib/guest.h"

void test_main(const struct mb_info *mbi)
{
	(void)mbi;
	puts_serial("hello from a kvsm guest\n");

	outb(0x3f8 + 7, 0x5a);
	CHECK_EQ(inb(0x3f8 + 7), 0x5a);			/* scratch register */
	CHECK_EQ(inb(0x3f8 + 5), 0x60);			/* LSR: THR empty, transmitter empty */
	CHECK_EQ(inb(0x3f8 + 2), 0x01);			/* IIR: no interrupt pending */

	/* In loopback nothing reaches the console, so sample first and report afterwards. */
	outb(0x3f8 + 4, 0x10 | 0x0f);			/* MCR: loopback, all modem outputs */
	uint8_t msr = inb(0x3f8 + 6);
	outb(0x3f8, 0xa5);
	uint8_t lsr_ready = inb(0x3f8 + 5), rbr = inb(0x3f8), lsr_after = inb(0x3f8 + 5);
	outb(0x3f8 + 4, 0x03);				/* leave loopback */
	CHECK_EQ(msr & 0xf0, 0xf0);			/* MSR mirrors DTR/RTS/OUT1/OUT2 */
	CHECK_EQ(lsr_ready & 0x01, 0x01);		/* data ready */
	CHECK_EQ(rbr, 0xa5);				/* looped-back byte */
	CHECK_EQ(lsr_after & 0x01, 0);
	CHECK_EQ(inb(0x3f8 + 6), 0xb0);

	CHECK_EQ(inb(0x2f8), 0xff);			/* unassigned ports read all-ones */
	CHECK_EQ(inw(0x1234), 0xffff);
	CHECK_EQ(inl(0x5678), 0xffffffff);
	outb(0x2f8, 0x12);				/* and ignore writes */
}
