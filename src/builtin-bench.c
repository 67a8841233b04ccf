/*
 * `kvsm bench`: what kvsm's design choices cost, as ratios measured in one
 * run. The bench guest (bench/bench_guest.c, embedded in this binary) runs
 * loops between writes to a marker port; each loop has an exit-free twin
 * whose time is subtracted (guest kernel code may be emulated by KVM).
 */
#include "builtin.h"
#include "args.h"
#include "loader/kernel.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>

#define BENCH_ITERS 20000
#define MARKER_PORT 0xf5
#define INTERCEPT_ITERS (BENCH_ITERS / 4)
#define NR_SPANS 10
#define STATE_COPIES 2000

extern const uint8_t _binary_bench_guest_elf_start[], _binary_bench_guest_elf_end[];

struct markers {
	unsigned int n;
	uint64_t t[2 * NR_SPANS];
};

static void marker_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	struct markers *m = dev;

	(void)cpu, (void)port, (void)size;
	if (!write)
		*val = 0xffffffffu;
	else if (m->n < 2 * NR_SPANS)
		m->t[m->n++] = monotonic_ns();
}

/* Microseconds per iteration of span i, minus its exit-free twin (span i + 1). */
static double net_us(const struct markers *m, unsigned int i, unsigned int iters)
{
	double a = (double)(m->t[2 * i + 1] - m->t[2 * i]), b = (double)(m->t[2 * i + 3] - m->t[2 * i + 2]);

	return (a - b) / 1e3 / iters;
}

/*
 * kvsm's copy of the shared state KVM keeps outside the synced registers
 * (DR0-3, XCR0, XSAVE), one direction, when the guest changed none of it:
 * kvsm then only reads (the common case for a VTL that leaves the FPU alone).
 */
static double state_copy_us(struct vcpu *cpu)
{
	uint64_t t0 = monotonic_ns();

	for (int i = 0; i < STATE_COPIES; i++)
		vtl_copy_extended_state(&cpu->v[i & 1], &cpu->v[!(i & 1)]);
	return (double)(monotonic_ns() - t0) / 1e3 / STATE_COPIES;
}

/* The part no design can avoid: moving the FPU/AVX state (KVM_GET_XSAVE + KVM_SET_XSAVE), one direction. */
static double xsave_copy_us(struct vcpu *cpu)
{
	static struct kvm_xsave xs;
	uint64_t t0 = monotonic_ns();

	for (int i = 0; i < STATE_COPIES; i++)
		if (ioctl(cpu->v[i & 1].fd, KVM_GET_XSAVE, &xs) || ioctl(cpu->v[!(i & 1)].fd, KVM_SET_XSAVE, &xs))
			die_errno(KVSM_EXIT_HOST, "KVM_GET/SET_XSAVE");
	return (double)(monotonic_ns() - t0) / 1e3 / STATE_COPIES;
}

int cmd_bench(int argc, char *argv[])
{
	/* 1 GiB: room for 10^5 scattered protected pages (builtin-bench-prot.c); untouched RAM costs nothing. */
	static struct run_opts opts = { .smp = 1, .mem = 1ull << 30, .vtls = 2 };
	static struct vm vm;
	static struct markers m;
	size_t len = (size_t)(_binary_bench_guest_elf_end - _binary_bench_guest_elf_start);
	struct kernel_image img;
	char err[256];
	double io, hc, vtl, reg, copy, xsave, floor, icpt;
	int status;

	(void)argv;
	if (argc > 0)
		die(KVSM_EXIT_USAGE, "bench takes no arguments");
	if (!kernel_parse(_binary_bench_guest_elf_start, len, opts.mem, &img, err, sizeof(err)))
		die(KVSM_EXIT_HOST, "bench guest: %s", err);
	vm_init(&vm, &opts);
	ioport_register(&vm.io, MARKER_PORT, 1, marker_io, &m);
	vm_load_kernel(&vm, &img, _binary_bench_guest_elf_start, "bench");
	status = vm_run(&vm);
	if (status != 1 || m.n != 2 * NR_SPANS)
		die(KVSM_EXIT_GUEST_ERROR, "bench guest failed (status %d: 5 VTL1 set-up refused, 7 a protected "
		    "write did not fault; %u markers)", status, m.n);

	io = net_us(&m, 0, BENCH_ITERS);
	hc = net_us(&m, 2, BENCH_ITERS);
	vtl = net_us(&m, 4, BENCH_ITERS);
	reg = net_us(&m, 6, BENCH_ITERS / 4);
	icpt = net_us(&m, 8, INTERCEPT_ITERS);
	copy = state_copy_us(&vm.vcpus[0]);
	xsave = xsave_copy_us(&vm.vcpus[0]);
	floor = 2 * io + 2 * xsave;
	printf("kvsm bench (one run; guest instruction time subtracted; per operation)\n");
	printf("  %-52s %8.2f us\n", "bare I/O exit round trip", io);
	printf("  %-52s %8.2f us  %5.2fx bare exit\n", "hypercall round trip (HvCallSignalEvent, fast)", hc, hc / io);
	printf("  %-52s %8.2f us  %5.2fx hypercall\n", "GetVpRegisters, one register, memory form", hc + reg,
	       (hc + reg) / hc);
	printf("  %-52s %8.2f us\n", "FPU/AVX transfer, one direction (GET+SET_XSAVE)", xsave);
	printf("  %-52s %8.2f us  %5.2fx FPU transfer\n", "kvsm's shared-state copy, state unchanged (reads only)",
	       copy, copy / xsave);
	printf("  %-52s %8.2f us  %5.2fx floor (2 exits + 2 FPU transfers = %.2f us)\n",
	       "VTL call + return round trip", vtl, vtl / floor, floor);
	printf("  %-52s %8.2f us  %5.2fx VTL call + return (%.2f us)\n",
	       "GPA intercept round trip (VTL0 fault->VTL1->VTL0)", icpt, icpt / vtl, vtl);
	bench_prot(&vm);
	return 0;
}
