/* `kvsm bench`: measure what kvsm's design choices cost (not implemented yet). */
#include "builtin.h"
#include "util.h"

int cmd_bench(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	die(KVSM_EXIT_USAGE, "bench: not implemented yet");
}
