/* Command-line parsing for `kvsm run`, kept free of side effects so it can be unit tested. */
#ifndef KVSM_ARGS_H
#define KVSM_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVSM_MIN_MEM (4ull << 20)
#define KVSM_MAX_MEM (64ull << 30)
#define KVSM_DEFAULT_MEM (128ull << 20)
#define KVSM_MAX_CMDLINE 4096

enum kvsm_policy { KVSM_POLICY_STRICT, KVSM_POLICY_PERMISSIVE };

struct run_opts {
	unsigned int smp;
	uint64_t mem;
	unsigned int vtls;
	enum kvsm_policy policy;
	bool trace;
	bool stats;
	bool testdev;
	const char *timeline;		/* --timeline FILE, or NULL */
	unsigned int gdb_port;		/* --gdb PORT, 0 = no debugger */
	const char *kernel;
	char cmdline[KVSM_MAX_CMDLINE];	/* ARGS after "--", joined by spaces */
};

/*
 * Parse the arguments that follow "run". On failure returns false and writes
 * a one-line reason into err.
 */
bool args_parse_run(int argc, char *const argv[], struct run_opts *o, char *err, size_t errlen);

#endif
