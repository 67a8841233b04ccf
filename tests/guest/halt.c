/* Every CPU halts with interrupts disabled (APs too, with smp): kvsm stops with its halted status. */
#include "lib/guest.h"

void ap_main(unsigned int id)
{
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
	cli();
	hlt();
}

void test_main(const struct mb_info *mbi)
{
	smp_start_aps();
	puts_serial("halting for good\n");
	for (;;) {
		cli();
		hlt();
	}
}
