/* A fault with an empty IDT escalates to a triple fault: kvsm stops with its shutdown status. */
#include "lib/guest.h"

void test_main(const struct mb_info *mbi)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) empty = { 0, 0 };

	puts_serial("triple-faulting now\n");
	__asm__ volatile("lidt %0; ud2" :: "m"(empty));
}
