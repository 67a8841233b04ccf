/* Ends through isa-debug-exit with the value given as code=N; kvsm must exit with (N << 1) | 1. */
#include "lib/guest.h"

void test_main(const struct mb_info *mbi)
{
	debug_exit((uint32_t)cmdline_u64(mbi, "code", 0));
}
