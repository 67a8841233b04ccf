/* kvsm: Hyper-V Virtual Secure Mode for guests on stock Linux KVM. */
#include "builtin.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* The SYNOPSIS of man/kvsm.1.md (src/hv/lib.mk). */
static const char usage[] =
#include "usage.h"
	;

int main(int argc, char *argv[])
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? KVSM_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 2, argv + 2);
	fprintf(stderr, "kvsm: unknown command '%s'\n%s", argv[1], usage);
	return KVSM_EXIT_USAGE;
}
