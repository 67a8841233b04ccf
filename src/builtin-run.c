/* `kvsm run`: boot a kernel. */
#include "builtin.h"
#include "args.h"
#include "gdb.h"
#include "loader/kernel.h"
#include "loader/multiboot.h"
#include "util.h"
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* Map the kernel file read-only; exits with a one-line message on failure. */
static const uint8_t *map_kernel(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	/* O_NONBLOCK: opening a FIFO (or a device) must not wait; such a file is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		die_errno(KVSM_EXIT_USAGE, "cannot open kernel '%s'", path);
	if (fstat(fd, &st))
		die_errno(KVSM_EXIT_USAGE, "cannot stat kernel '%s'", path);
	if (!S_ISREG(st.st_mode))
		die(KVSM_EXIT_USAGE, "kernel '%s' is not a regular file", path);
	if (st.st_size == 0)
		die(KVSM_EXIT_USAGE, "kernel '%s' is empty", path);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die_errno(KVSM_EXIT_USAGE, "cannot read kernel '%s'", path);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

int cmd_run(int argc, char *argv[])
{
	static struct run_opts opts;
	static struct vm vm;
	static char cmdline[MBI_CMDLINE_MAX];
	struct kernel_image img;
	struct sysinfo si;
	const uint8_t *buf;
	char err[256];
	size_t len;
	int status;

	if (!args_parse_run(argc, argv, &opts, err, sizeof(err)))
		die(KVSM_EXIT_USAGE, "run: %s (see kvsm --help)", err);
	if (sysinfo(&si) == 0 && opts.mem > (uint64_t)si.totalram * si.mem_unit)
		die(KVSM_EXIT_USAGE, "--mem is larger than this host's %llu MiB of RAM",
		    (unsigned long long)si.totalram * si.mem_unit >> 20);

	/* Multiboot convention (QEMU): the command line starts with the kernel's path. */
	if ((size_t)snprintf(cmdline, sizeof(cmdline), "%s %s", opts.kernel, opts.cmdline) >= sizeof(cmdline))
		die(KVSM_EXIT_USAGE, "kernel path and guest arguments exceed %llu bytes",
		    (unsigned long long)sizeof(cmdline) - 1);

	buf = map_kernel(opts.kernel, &len);
	if (!kernel_parse(buf, len, opts.mem, &img, err, sizeof(err)))
		die(KVSM_EXIT_USAGE, "kernel '%s': %s", opts.kernel, err);

	vm_init(&vm, &opts);
	vm_load_kernel(&vm, &img, buf, cmdline);
	if (opts.gdb_port)
		gdb_start(&vm, opts.gdb_port);
	status = vm_run(&vm);
	if (vm.gdb)
		gdb_end(vm.gdb, status);
	if (opts.stats) {
		stats_print(&vm.stats, stderr);
		stats_print_hv(vm.hv, stderr);
	}
	fflush(stdout);
	return status;
}
