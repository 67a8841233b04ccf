/*
 * `kvsm bench`: what kvsm's design choices cost, as ratios measured in one
 * run. A built-in guest (hand-assembled x86-64 below) runs loops of N
 * iterations between marker writes to port 0xf5; the host timestamps the
 * markers. Each loop is also run with its exits replaced by NOPs, so the
 * guest's own instruction cost (emulated at CPL0 on some KVMs) can be
 * subtracted.
 */
#include "builtin.h"
#include "args.h"
#include "loader/kernel.h"
#include "util.h"
#include "vm.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BENCH_ITERS 20000
#define MARKER_PORT 0xf5
#define CODE_GPA 0x100000ull
#define HCALL_PAGE_GPA 0x200000ull
#define STACK_TOP 0x300000ull
#define MAX_MARKERS 16

struct markers {
	unsigned int n;
	struct timespec t[MAX_MARKERS];
};

static void marker_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	struct markers *m = dev;

	(void)cpu, (void)port, (void)size;
	if (!write)
		*val = 0xffffffffu;
	else if (m->n < MAX_MARKERS)
		clock_gettime(CLOCK_MONOTONIC, &m->t[m->n++]);
}

struct code {
	uint8_t b[512];
	size_t n;
};

static void emit(struct code *c, const uint8_t *bytes, size_t n)
{
	memcpy(c->b + c->n, bytes, n);
	c->n += n;
}

#define EMIT(c, ...) do { const uint8_t _b[] = { __VA_ARGS__ }; emit((c), _b, sizeof(_b)); } while (0)
#define IMM32(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)

static void marker(struct code *c)
{
	EMIT(c, 0xE6, MARKER_PORT);				/* out MARKER_PORT, al */
}

/* A loop of BENCH_ITERS iterations of body, counted in EBX (bodies may clobber RAX, RCX, RDX). */
static void loop(struct code *c, const uint8_t *body, size_t n)
{
	size_t top;

	marker(c);
	EMIT(c, 0xBB, IMM32(BENCH_ITERS));			/* mov ebx, N */
	top = c->n;
	emit(c, body, n);
	EMIT(c, 0xFF, 0xCB);					/* dec ebx */
	EMIT(c, 0x0F, 0x85, IMM32((uint32_t)(top - (c->n + 6))));	/* jnz top */
	marker(c);
}

static void wrmsr(struct code *c, uint32_t msr, uint32_t lo)
{
	EMIT(c, 0xB9, IMM32(msr), 0xB8, IMM32(lo), 0x31, 0xD2, 0x0F, 0x30);	/* mov ecx; mov eax; xor edx; wrmsr */
}

static const uint8_t io_exit[] = { 0xE6, 0x80, 0x90 };			/* out 0x80, al (unassigned port) */
static const uint8_t io_nop[] = { 0x90, 0x90, 0x90 };
/* HvCallSignalEvent, fast, connection 0 (none): the dispatcher's whole path, no side effects. */
static const uint8_t hcall[] = { 0xB9, IMM32(0x1005D), 0x31, 0xD2, 0xB8, IMM32(HCALL_PAGE_GPA), 0xFF, 0xD0 };
/* The same instruction count without the exit: four NOPs for call, out, nop, ret. */
static const uint8_t hcall_nop[] = { 0xB9, IMM32(0x1005D), 0x31, 0xD2, 0xB8, IMM32(HCALL_PAGE_GPA), 0x90, 0x90,
				     0x90, 0x90 };

static void build_guest(struct code *c)
{
	EMIT(c, 0xBC, IMM32(STACK_TOP));			/* mov esp, STACK_TOP */
	loop(c, io_exit, sizeof(io_exit));
	loop(c, io_nop, sizeof(io_nop));
	wrmsr(c, 0x40000000, 1);				/* GUEST_OS_ID */
	wrmsr(c, 0x40000001, HCALL_PAGE_GPA | 1);		/* HYPERCALL: enable the page */
	loop(c, hcall, sizeof(hcall));
	loop(c, hcall_nop, sizeof(hcall_nop));
	EMIT(c, 0x31, 0xC0, 0xE6, 0xF4);			/* xor eax, eax; out 0xf4, al */
}

static double span_us(const struct markers *m, unsigned int i)
{
	const struct timespec *a = &m->t[i], *b = &m->t[i + 1];

	return ((double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec)) / 1e3 / BENCH_ITERS;
}

int cmd_bench(int argc, char *argv[])
{
	static struct run_opts opts = { .smp = 1, .mem = 64ull << 20, .vtls = 1 };
	static struct vm vm;
	static struct markers m;
	struct kernel_image img = { .kind = KERNEL_ELF64, .entry = CODE_GPA, .nseg = 1 };
	struct code c = { .n = 0 };
	double io, io_base, hc, hc_base;
	int status;

	(void)argv;
	if (argc > 0)
		die(KVSM_EXIT_USAGE, "bench takes no arguments");
	build_guest(&c);
	img.seg[0] = (struct kernel_segment){ .paddr = CODE_GPA, .file_off = 0, .filesz = c.n, .memsz = c.n };

	vm_init(&vm, &opts);
	ioport_register(&vm.io, MARKER_PORT, 1, marker_io, &m);
	vm_load_kernel(&vm, &img, c.b, "bench");
	status = vm_run(&vm);
	if (status != 1 || m.n != 8)
		die(KVSM_EXIT_GUEST_ERROR, "bench guest failed (status %d, %u markers)", status, m.n);

	io = span_us(&m, 0), io_base = span_us(&m, 2), hc = span_us(&m, 4), hc_base = span_us(&m, 6);
	printf("kvsm bench: %d iterations each, times per iteration (guest instruction cost subtracted)\n",
	       BENCH_ITERS);
	printf("  %-46s %8.2f us  (loop alone %.2f us)\n", "bare I/O exit round trip (floor)", io - io_base, io_base);
	printf("  %-46s %8.2f us  (loop alone %.2f us)\n", "hypercall round trip (HvCallSignalEvent, fast)",
	       hc - hc_base, hc_base);
	printf("  %-46s %8.2fx\n", "hypercall / bare exit", (hc - hc_base) / (io - io_base));
	return 0;
}
