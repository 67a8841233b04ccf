/*
 * LD_PRELOAD shim for tests/cli/ioctl-fault.sh: one KVM ioctl of kvsm goes
 * wrong on purpose. KVSM_IOCTL_FAULT="REQ[@VTL] N[+] WHAT":
 *   REQ   KVM_RUN, KVM_GET_XSAVE, ... (the table below) or a number;
 *   @VTL  count only calls on the vCPUs of that VTL's VM, else every call
 *         of REQ counts (also those of kvsm's probe vCPU, kvm.c);
 *   N     the Nth such call (from 1) is the one; N+ : it and every later one;
 *   WHAT  an errno name (EIO, EFAULT, EINVAL, EINTR, ENOMEM): that call
 *         fails with it without reaching KVM; or exit=NUMBER (KVM_RUN
 *         only): the call runs and its kvm_run->exit_reason is rewritten.
 * kvsm's own ioctls go through --wrap=ioctl to libc's ioctl, which this
 * one replaces; kvm_run is found by watching mmap of vCPU descriptors.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_FD 1024

static const struct { const char *name; unsigned long req; } reqs[] = {
	{ "KVM_RUN", KVM_RUN }, { "KVM_GET_REGS", KVM_GET_REGS }, { "KVM_SET_REGS", KVM_SET_REGS },
	{ "KVM_GET_SREGS", KVM_GET_SREGS }, { "KVM_SET_SREGS", KVM_SET_SREGS },
	{ "KVM_GET_XSAVE", KVM_GET_XSAVE }, { "KVM_SET_XSAVE", KVM_SET_XSAVE },
	{ "KVM_GET_XCRS", KVM_GET_XCRS }, { "KVM_SET_XCRS", KVM_SET_XCRS },
	{ "KVM_GET_DEBUGREGS", KVM_GET_DEBUGREGS }, { "KVM_SET_DEBUGREGS", KVM_SET_DEBUGREGS },
	{ "KVM_GET_MP_STATE", KVM_GET_MP_STATE }, { "KVM_SET_MP_STATE", KVM_SET_MP_STATE },
	{ "KVM_GET_LAPIC", KVM_GET_LAPIC }, { "KVM_SET_LAPIC", KVM_SET_LAPIC },
	{ "KVM_INTERRUPT", KVM_INTERRUPT }, { "KVM_NMI", KVM_NMI },
	{ "KVM_SET_USER_MEMORY_REGION", KVM_SET_USER_MEMORY_REGION },
};
static const struct { const char *name; int err; } errs[] = {
	{ "EIO", EIO }, { "EFAULT", EFAULT }, { "EINVAL", EINVAL }, { "EINTR", EINTR }, { "ENOMEM", ENOMEM },
};

static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static unsigned long fault_req;
static int fault_vtl = -1, fault_errno, fault_exit = -1;
static unsigned long fault_nth, calls;
static int fault_on;			/* N+: every call from the Nth */
static int vms;				/* VMs alive */
static signed char fd_vtl[MAX_FD];	/* vCPU descriptor -> its VM's VTL + 1 (0: not a vCPU) */
static signed char vm_vtl[MAX_FD];	/* VM descriptor -> VTL + 1 */
static struct kvm_run *fd_run[MAX_FD];

static void __attribute__((noreturn)) usage(const char *spec)
{
	fprintf(stderr, "ioctl_fault: bad KVSM_IOCTL_FAULT '%s' (want 'REQ[@VTL] N[+] ERRNO|exit=NUMBER')\n", spec);
	exit(120);
}

static void __attribute__((constructor)) init(void)
{
	const char *spec = getenv("KVSM_IOCTL_FAULT");
	char req[64], nth[32], what[64], *at, *end;
	unsigned int i;

	real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	real_mmap = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
	if (!spec)
		return;
	if (sscanf(spec, "%63s %31s %63s", req, nth, what) != 3)
		usage(spec);
	fault_nth = strtoul(nth, &end, 10);
	fault_on = *end == '+';
	if (!fault_nth || end == nth || end[fault_on])
		usage(spec);
	at = strchr(req, '@');
	if (at) {
		*at++ = 0;
		fault_vtl = (int)strtol(at, &end, 10);
		if (*end || end == at || fault_vtl < 0 || fault_vtl > 2)
			usage(spec);
	}
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]) && strcmp(reqs[i].name, req); i++)
		;
	if (i < sizeof(reqs) / sizeof(reqs[0]))
		fault_req = reqs[i].req;
	else if (!(fault_req = strtoul(req, &end, 0)) || *end)
		usage(spec);
	if (!strncmp(what, "exit=", 5)) {
		fault_exit = (int)strtol(what + 5, &end, 0);
		if (*end || fault_req != KVM_RUN)
			usage(spec);
		return;
	}
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]) && strcmp(errs[i].name, what); i++)
		;
	if (i == sizeof(errs) / sizeof(errs[0]))
		usage(spec);
	fault_errno = errs[i].err;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = real_mmap(addr, len, prot, flags, fd, off);

	if (p != MAP_FAILED && fd >= 0 && fd < MAX_FD && fd_vtl[fd])
		fd_run[fd] = p;
	return p;
}

/* Whether this call of req on fd is the chosen one (counted across threads). */
static int chosen(int fd, unsigned long req)
{
	unsigned long n;

	if (!fault_nth || req != fault_req)
		return 0;
	if (fault_vtl >= 0 && (fd < 0 || fd >= MAX_FD || fd_vtl[fd] != fault_vtl + 1))
		return 0;
	n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
	return n == fault_nth || (fault_on && n > fault_nth);
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fault_exit < 0 && chosen(fd, req)) {
		errno = fault_errno;
		return -1;
	}
	r = real_ioctl(fd, req, arg);
	if (r >= 0 && r < MAX_FD && req == KVM_CREATE_VM)
		vm_vtl[r] = (signed char)(++vms);
	if (r >= 0 && r < MAX_FD && req == KVM_CREATE_VCPU && fd >= 0 && fd < MAX_FD)
		fd_vtl[r] = vm_vtl[fd];
	/* An exit to rewrite: only runs that ended in an exit count (not a kick's EINTR). */
	if (fault_exit >= 0 && r == 0 && fd >= 0 && fd < MAX_FD && fd_run[fd] && chosen(fd, req))
		fd_run[fd]->exit_reason = (unsigned int)fault_exit;
	return r;
}

/* kvsm's probe VM (kvm.c) is closed before the VTL VMs are made: VTL n is the (n+1)th VM alive. */
int close(int fd)
{
	static int (*real_close)(int);

	if (!real_close)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	if (fd >= 0 && fd < MAX_FD) {
		if (vm_vtl[fd])
			vms--;
		vm_vtl[fd] = fd_vtl[fd] = 0;
		fd_run[fd] = NULL;
	}
	return real_close(fd);
}
