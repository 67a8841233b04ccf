/* `kvsm run`: boot a kernel. */
#include "builtin.h"
#include "args.h"
#include "loader/kernel.h"
#include "loader/multiboot.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* Map the kernel file read-only; exits with a one-line message on failure. */
static const uint8_t *map_kernel(const char *path, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

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

static void *vtl0_ram(void *ctx, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(ctx, 0, gpa, len);
}

static void load_kernel(struct vm *vm, const struct kernel_image *img, const uint8_t *buf,
			const char *cmdline)
{
	struct vcpu *bsp = &vm->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	kernel_copy(img, buf, vtl0_ram, &vm->mem);
	multiboot_build_info(guest_mem_ptr(&vm->mem, 0, MBI_GPA, MBI_AREA_END - MBI_GPA), vm->mem.size,
			     cmdline);
	if (ioctl(bsp->fd, KVM_GET_SREGS, &sregs))
		die_errno(KVSM_EXIT_HOST, "KVM_GET_SREGS");
	x86_boot_setup(&vm->mem, img, &regs, &sregs);
	if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_SREGS");
	if (ioctl(bsp->fd, KVM_SET_REGS, &regs))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_REGS");
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
		die(KVSM_EXIT_USAGE, "run: %s (usage: kvsm run [--smp N] [--mem SIZE] KERNEL [-- ARGS])", err);
	if (opts.vtls > 1)
		die(KVSM_EXIT_USAGE, "--vtls %u: VTLs above VTL0 are not implemented yet", opts.vtls);
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
	load_kernel(&vm, &img, buf, cmdline);
	status = vm_run(&vm);
	if (opts.stats) {
		stats_print(&vm.stats, stderr);
		hv_stats_print(vm.hv, stderr);
	}
	fflush(stdout);
	return status;
}
