/*
 * `kvsm bench`: what kvsm's design choices cost, as ratios to floors measured
 * in the same run, each the median of repetitions with its spread. The bench
 * guest (bench/bench_guest.c, embedded in this binary) runs loops between
 * writes of a span id to a marker port; most loops have an exit-free twin
 * whose time is subtracted (guest kernel code may be emulated by KVM).
 */
#include "builtin.h"
#include "builtin-bench.h"
#include "../bench/bench_spans.h"
#include "loader/kernel.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

extern const uint8_t _binary_bench_guest_elf_start[], _binary_bench_guest_elf_end[];

struct bench_mode {
	unsigned int iters, reps, copies;	/* guest loop length, repetitions, host copy loop length */
	bool short_mode;
};

static const struct bench_mode full = { 3000, 5, 2000, false }, quick = { 40, 2, 50, true };

struct spans {
	const struct bench_mode *mode;
	uint64_t start[NR_SPANS];
	unsigned int n[NR_SPANS];
	uint64_t ns[NR_SPANS][BENCH_MAX_REPS];
	uint32_t timer_cycles[BENCH_MAX_REPS];	/* mean VTL1 timer latency per repetition, guest TSC cycles */
	unsigned int timer_n;
	struct bench_ioctl_prof prof[3];	/* kvsm's round trip, the state-swap design's, the floor's */
};

/* The profile a span fills, or NULL. */
static struct bench_ioctl_prof *profile(struct spans *sp, unsigned int s)
{
	return s == SPAN_VTL_PROF ? &sp->prof[0] : s == SPAN_SWAP_PROF ? &sp->prof[1] :
	       s == SPAN_FLOOR_PROF ? &sp->prof[2] : NULL;
}

/* On the VP's thread: a span starts or ends; the profiled spans count their own ioctls. */
static void marker_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	struct spans *sp = dev;
	unsigned int s = *val & 0xff;
	struct bench_ioctl_prof *prof;

	(void)cpu, (void)size;
	if (write && port == BENCH_TIMER_PORT) {
		if (sp->timer_n < BENCH_MAX_REPS)
			sp->timer_cycles[sp->timer_n++] = *val;
		return;
	}
	if (!write) {
		*val = port == BENCH_MARKER_PORT ? sp->mode->iters : sp->mode->reps;
		return;
	}
	if (s >= NR_SPANS || sp->n[s] == BENCH_MAX_REPS)
		return;
	prof = profile(sp, s);
	if (!sp->start[s]) {
		sp->start[s] = monotonic_ns();
		if (prof)
			bench_ioctl_start(prof);
		return;
	}
	if (prof) {		/* each profiled span is iters / 4 round trips */
		bench_ioctl_stop();
		prof->ops += sp->mode->iters / 4;
		prof->ns += monotonic_ns() - sp->start[s];
	}
	sp->ns[s][sp->n[s]++] = monotonic_ns() - sp->start[s];
	sp->start[s] = 0;
}

/* us per iteration of span s in repetition r, minus its twin's (SPAN_COUNT: none). */
static double net_us(const struct spans *sp, unsigned int r, unsigned int s, unsigned int twin, unsigned int iters)
{
	double t = (double)sp->ns[s][r] - (twin < NR_SPANS ? (double)sp->ns[twin][r] : 0);

	return t / 1e3 / iters;
}

enum { F_IO, F_FLOOR, F_HC, F_HC_MEM, F_GETREG1, F_GETREG1_XMM, F_GETREG16, F_XSAVE, F_READS, F_COPY, F_VTL,
       F_VTL_EXITS, F_VTL_FPU, F_SWAP, F_SWAP_EXITS, F_ICPT, F_PROT1, F_RELAX1, F_PROT64, F_RELAX64, F_SCALE1,
       F_SCALE2, F_SCALE4, F_SCALE8, F_TIMER, NR_FIGS };

#define FLOOR "2 x (exit + shared-state reads + GPR load)"

static struct bench_fig figs[NR_FIGS + 8] = {
	[F_IO] = { "bare_exit", "bare I/O exit round trip", NULL },
	[F_FLOOR] = { "floor_exit", "exit + GET_XSAVE/XCRS/DEBUGREGS + GPR load", "bare exit" },
	[F_HC] = { "hypercall_fast", "hypercall, fast (SignalEvent)", "bare exit" },
	[F_HC_MEM] = { "hypercall_memory", "hypercall, memory form (SignalEvent)", "fast hypercall" },
	[F_GETREG1] = { "get_vp_registers_1", "GetVpRegisters, 1 register, memory form", "fast hypercall" },
	[F_GETREG1_XMM] = { "get_vp_registers_1_xmm", "GetVpRegisters, 1 register, XMM fast form",
			    "fast hypercall" },
	[F_GETREG16] = { "get_vp_registers_16", "GetVpRegisters, 16 registers, memory form", "fast hypercall" },
	[F_XSAVE] = { "fpu_transfer", "FPU/AVX transfer, one way (GET+SET_XSAVE)", NULL },
	[F_READS] = { "forced_reads", "forced reads, one way (GET_XSAVE/XCRS/DEBUGREGS)", NULL },
	[F_COPY] = { "shared_state_copy", "kvsm's shared-state copy, state unchanged", "forced reads" },
	[F_VTL] = { "vtl_round_trip", "VTL call + return, kvsm (VM per VTL)", FLOOR },
	[F_VTL_EXITS] = { "vtl_round_trip_exits", "VTL call + return, kvsm (VM per VTL)", "2 bare exits" },
	[F_VTL_FPU] = { "vtl_round_trip_fpu", "VTL call + return, kvsm (VM per VTL)", "2 bare exits + 2 FPU transfers" },
	[F_SWAP] = { "swap_round_trip", "VTL call + return, state swap (one vCPU)", "kvsm's round trip" },
	[F_SWAP_EXITS] = { "swap_round_trip_exits", "VTL call + return, state swap (one vCPU)", "2 bare exits" },
	[F_ICPT] = { "intercept_round_trip", "GPA intercept round trip (fault->VTL1->VTL0)", "kvsm's round trip" },
	[F_PROT1] = { "vtl1_protect_1", "VTL1 ModifyVtlProtectionMask, 1 page, RX", "fast hypercall" },
	[F_RELAX1] = { "vtl1_relax_1", "VTL1 ModifyVtlProtectionMask, 1 page, RWX", "fast hypercall" },
	[F_PROT64] = { "vtl1_protect_64", "VTL1 ModifyVtlProtectionMask, 64 pages, RX", "fast hypercall" },
	[F_RELAX64] = { "vtl1_relax_64", "VTL1 ModifyVtlProtectionMask, 64 pages, RWX", "fast hypercall" },
	[F_SCALE1] = { "scale_1vp", "VTL call + return, 1 VP (scaling loop)", "1 VP" },
	[F_SCALE2] = { "scale_2vp", "VTL call + return, 2 VPs at once, per VP", "1 VP" },
	[F_SCALE4] = { "scale_4vp", "VTL call + return, 4 VPs at once, per VP", "1 VP" },
	[F_SCALE8] = { "scale_8vp", "VTL call + return, 8 VPs at once, per VP", "1 VP" },
	[F_TIMER] = { "vtl1_timer_latency", "VTL1 timer fires -> VTL1 handler (VTL0 IF=0)",
		      "1 bare exit + 1/2 VTL round trip" },
};

static void figures(struct vm *vm, const struct spans *sp)
{
	unsigned int n = sp->mode->iters, q = n / 4, s = n / 16 ? n / 16 : 1, l = q / 16 ? q / 16 : 1;

	for (unsigned int r = 0; r < sp->timer_n; r++) {
		double io = net_us(sp, r, SPAN_IO, SPAN_IO_TWIN, n), hc = net_us(sp, r, SPAN_HC, SPAN_HC_TWIN, n);
		double base = net_us(sp, r, SPAN_HC_C, NR_SPANS, q);
		double vtl = net_us(sp, r, SPAN_VTL, SPAN_VTL_TWIN, n), swap = net_us(sp, r, SPAN_SWAP, SPAN_VTL_TWIN, n);
		double floor = net_us(sp, r, SPAN_FLOOR, SPAN_IO_TWIN, n), scale[4];
		double xs = bench_xsave_transfer_us(&vm->vcpus[0], sp->mode->copies);
		double reads = bench_forced_reads_us(&vm->vcpus[0], sp->mode->copies);

		bench_fig_add(&figs[F_IO], io, 0);
		bench_fig_add(&figs[F_FLOOR], floor, io);
		bench_fig_add(&figs[F_HC], hc, io);
		/* The library's loops: the cheapest call through the same code is the baseline. */
		bench_fig_add(&figs[F_HC_MEM], hc + net_us(sp, r, SPAN_HC_MEM, NR_SPANS, q) - base, hc);
		bench_fig_add(&figs[F_GETREG1], hc + net_us(sp, r, SPAN_GETREG1, NR_SPANS, q) - base, hc);
		bench_fig_add(&figs[F_GETREG1_XMM], hc + net_us(sp, r, SPAN_GETREG1_XMM, NR_SPANS, q) - base, hc);
		bench_fig_add(&figs[F_GETREG16], hc + net_us(sp, r, SPAN_GETREG16, NR_SPANS, q) - base, hc);
		bench_fig_add(&figs[F_XSAVE], xs, 0);
		bench_fig_add(&figs[F_READS], reads, 0);
		bench_fig_add(&figs[F_COPY], bench_state_copy_us(&vm->vcpus[0], sp->mode->copies), reads);
		bench_fig_add(&figs[F_VTL], vtl, 2 * floor);
		bench_fig_add(&figs[F_VTL_EXITS], vtl, 2 * io);
		bench_fig_add(&figs[F_VTL_FPU], vtl, 2 * io + 2 * xs);
		bench_fig_add(&figs[F_SWAP], swap, vtl);
		bench_fig_add(&figs[F_SWAP_EXITS], swap, 2 * io);
		bench_fig_add(&figs[F_ICPT], net_us(sp, r, SPAN_ICPT, SPAN_ICPT_TWIN, q), vtl);
		/* VTL1's calls: q with one page, l with 64; each loop minus its list building. */
		bench_fig_add(&figs[F_PROT1], net_us(sp, r, SPAN_PROT1, SPAN_PROT1_TWIN, q), hc);
		bench_fig_add(&figs[F_RELAX1], net_us(sp, r, SPAN_RELAX1, SPAN_PROT1_TWIN, q), hc);
		bench_fig_add(&figs[F_PROT64], net_us(sp, r, SPAN_PROT64, SPAN_PROT64_TWIN, l), hc);
		bench_fig_add(&figs[F_RELAX64], net_us(sp, r, SPAN_RELAX64, SPAN_PROT64_TWIN, l), hc);
		/* Each VP runs n / 16 round trips; the twin's instructions ran n times on one VP. */
		for (unsigned int i = 0; i < 4; i++)
			scale[i] = net_us(sp, r, SPAN_SCALE1 + i, NR_SPANS, s) - net_us(sp, r, SPAN_VTL_TWIN, NR_SPANS, n);
		for (unsigned int i = 0; i < 4; i++)
			bench_fig_add(&figs[F_SCALE1 + i], scale[i], scale[0]);
		/* A kick out of VTL0's KVM_RUN, then the switch into VTL1 with the interrupt. */
		if (vm->tsc_hz && sp->timer_cycles[r])
			bench_fig_add(&figs[F_TIMER], sp->timer_cycles[r] * 1e6 / (double)vm->tsc_hz, io + vtl / 2);
	}
}

/* Where one profiled round trip goes, by ioctl request; the rest is kvsm's own code. */
static void breakdown(FILE *json, const char *key, const char *what, const struct bench_ioctl_prof *p, bool first)
{
	double trip = p->ops ? (double)p->ns / 1e3 / p->ops : 0, rest = trip;

	printf("  %s: where a round trip goes (%llu round trips, every ioctl timed: %.2f us each)\n", what,
	       (unsigned long long)p->ops, trip);
	if (json)
		fprintf(json, "%s\"%s\": {\"round_trips\": %llu, \"us_per_trip\": %.4f, \"ioctls\": [", first ? "" : ", ",
			key, (unsigned long long)p->ops, trip);
	for (unsigned int i = 0; p->ops && i < p->nr; i++) {
		const struct bench_ioctl_class *c = &p->c[i];
		double us = (double)c->ns / 1e3 / p->ops;

		rest -= us;
		printf("    %-22s %5.2f per trip %9.2f us  %5.1f%%\n", bench_ioctl_name(c->req),
		       (double)c->n / p->ops, us, 100 * us / trip);
		if (json)
			fprintf(json, "%s{\"ioctl\": \"%s\", \"request\": %lu, \"per_trip\": %.4f, \"us_per_trip\": %.4f}",
				i ? ", " : "", bench_ioctl_name(c->req), c->req, (double)c->n / p->ops, us);
	}
	printf("    %-22s %15s %9.2f us  %5.1f%%\n", "kvsm outside ioctls", "", rest, trip ? 100 * rest / trip : 0);
	if (json)
		fprintf(json, "], \"us_outside_ioctls\": %.4f}", rest);
}

static void chart(const char *path, const struct bench_mode *mode)
{
	const char *swap = "#c06040";
	const struct bench_svg_panel p[] = {
		{ "One operation, median us (whisker: min-max)", false, 4,
		  { &figs[F_IO], &figs[F_VTL], &figs[F_SWAP], &figs[F_ICPT] },
		  { "bare I/O exit", "VTL call + return, VM per VTL (kvsm)", "VTL call + return, state swap",
		    "GPA intercept round trip" }, { NULL, NULL, swap, NULL } },
		{ "VTL call + return over 2 bare exits (same repetition)", true, 3,
		  { &figs[F_FLOOR], &figs[F_VTL_EXITS], &figs[F_SWAP_EXITS] },
		  { "floor: exits + forced reads", "VM per VTL (kvsm)", "state swap (one vCPU)" },
		  { "#808080", NULL, swap } },
		{ "VTL call + return per VP, VPs switching at once, over 1 VP", true, 4,
		  { &figs[F_SCALE1], &figs[F_SCALE2], &figs[F_SCALE4], &figs[F_SCALE8] },
		  { "1 VP", "2 VPs", "4 VPs", "8 VPs" }, { NULL } },
	};
	char cap[160];

	snprintf(cap, sizeof(cap), "kvsm bench, %u repetitions; on a host with fewer CPUs than VPs, scaling measures "
		 "time-sharing", mode->reps);
	/* The figures are printed already: a chart that cannot be written is not worth losing them. */
	if (bench_svg(path, cap, p, ARRAY_SIZE(p)))
		printf("chart: %s\n", path);
	else
		printf("chart: not written: %s: %s\n", path, strerror(errno));
}

static void parse(int argc, char *argv[], const struct bench_mode **mode, const char **json, const char **svg)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--short"))
			*mode = &quick;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			*json = argv[++i];
		else if (!strcmp(argv[i], "--svg") && i + 1 < argc)
			*svg = argv[++i];
		else
			die(KVSM_EXIT_USAGE, "usage: kvsm bench [--short] [--json FILE] [--svg FILE]");
	}
}

int cmd_bench(int argc, char *argv[])
{
	/* 1 GiB: room for 10^5 scattered protected pages (builtin-bench-prot.c); untouched RAM costs nothing. */
	static struct run_opts opts = { .smp = BENCH_VPS, .mem = 1ull << 30, .vtls = 2 };
	static struct vm vm;
	static struct spans sp;
	size_t len = (size_t)(_binary_bench_guest_elf_end - _binary_bench_guest_elf_start);
	const char *json_path = NULL, *svg_path = "build/bench/bench.svg";
	FILE *json = NULL;
	struct kernel_image img;
	char err[256];
	unsigned int nfigs = NR_FIGS;
	int status;

	sp.mode = &full;
	parse(argc, argv, &sp.mode, &json_path, &svg_path);
	if (!kernel_parse(_binary_bench_guest_elf_start, len, opts.mem, &img, err, sizeof(err)))
		die(KVSM_EXIT_HOST, "bench guest: %s", err);
	if (json_path && !(json = fopen(json_path, "w")))
		die_errno(KVSM_EXIT_HOST, "bench: %s", json_path);
	vm_init(&vm, &opts);
	ioport_register(&vm.io, BENCH_MARKER_PORT, 2, marker_io, &sp);
	ioport_register(&vm.io, BENCH_TIMER_PORT, 1, marker_io, &sp);
	bench_swap_init(&vm);
	bench_floor_init(&vm);
	vm_load_kernel(&vm, &img, _binary_bench_guest_elf_start, "bench");
	status = vm_run(&vm);
	if (status != 1 || sp.timer_n != sp.mode->reps)
		die(KVSM_EXIT_GUEST_ERROR, "bench guest failed (status %d: 5 VTL1 set-up refused, 7 a protected "
		    "write did not fault, 9 the VTL1 timer never fired, 13 VTL1 or an AP not enabled, 17 a VTL1 "
		    "protection call failed; %u of %u "
		    "repetitions)", status, sp.timer_n, sp.mode->reps);

	figures(&vm, &sp);
	printf("kvsm bench: %u repetitions in one process; per operation, guest instruction time subtracted;\n"
	       "median [min-max], and the ratio to the floor named on the right, measured in the same repetition\n",
	       sp.mode->reps);
	nfigs += bench_prot(&vm, sp.mode->short_mode ? 1 : 3, sp.mode->short_mode, figs + NR_FIGS);
	for (unsigned int i = 0; i < nfigs; i++)
		bench_fig_print(&figs[i]);
	if (json)
		fprintf(json, "{\"mode\": \"%s\", \"reps\": %u, \"iters\": %u, \"breakdown\": {",
			sp.mode->short_mode ? "short" : "full", sp.mode->reps, sp.mode->iters);
	breakdown(json, "kvsm", "kvsm (VM per VTL)", &sp.prof[0], true);
	breakdown(json, "swap", "state swap (one vCPU)", &sp.prof[1], false);
	breakdown(json, "floor", "floor (2 floor exits)", &sp.prof[2], false);
	if (json)
		fprintf(json, "}, ");
	bench_mem(json, sp.mode->short_mode ? 1 : 3);
	if (json) {
		fprintf(json, "\"figures\": [");
		for (unsigned int i = 0; i < nfigs; i++) {
			fprintf(json, i ? ",\n  " : "\n  ");
			bench_fig_json(json, &figs[i]);
		}
		fprintf(json, "\n]}\n");
		if (fclose(json))
			die_errno(KVSM_EXIT_HOST, "bench: %s", json_path);
	}
	chart(svg_path, sp.mode);
	return 0;
}
