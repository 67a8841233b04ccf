/*
 * What the bench guest and `kvsm bench` agree on: the ports, and the id the
 * guest writes to the marker port at both ends of each timed loop.
 */
#ifndef KVSM_BENCH_SPANS_H
#define KVSM_BENCH_SPANS_H

#define BENCH_MARKER_PORT	0xf5	/* write: span id; 32-bit read: loop iterations */
#define BENCH_REPS_PORT		0xf6	/* 32-bit read: repetitions of the whole set */
#define BENCH_SWAP_PORT		0xf7	/* the state-swap design's VTL call/return (1 byte); its VTL1 entry (4) */
#define BENCH_TIMER_PORT	0xf8	/* 32-bit write: mean VTL1 timer latency of a repetition, in TSC cycles */
#define BENCH_FLOOR_PORT	0xf9	/* an exit whose handler does only what a VTL switch must (the floor) */
#define BENCH_VPS		8	/* VPs of the bench VM: the scaling figures use 1, 2, 4 and all 8 */
#define BENCH_PROT_GPA		(900ull << 20)	/* VTL1's guest-timed protections: pages from here */

enum bench_span {
	SPAN_IO, SPAN_IO_TWIN,			/* bare exit, and its exit-free twin (also the floor exit's) */
	SPAN_FLOOR,				/* one switch's floor: exit + forced shared-state reads + GPR load */
	SPAN_HC, SPAN_HC_TWIN,			/* fast hypercall through the page (assembly loop) */
	SPAN_HC_C,				/* the same call through the guest library: baseline of the next four */
	SPAN_HC_MEM,				/* the same call, memory form */
	SPAN_GETREG1, SPAN_GETREG16,		/* GetVpRegisters, memory form, 1 and 16 registers */
	SPAN_GETREG1_XMM,			/* GetVpRegisters of 1 register, XMM fast form */
	SPAN_VTL, SPAN_VTL_TWIN,		/* VTL call + return, kvsm; the twin serves both designs */
	SPAN_SWAP,				/* VTL call + return, state-swap design */
	SPAN_VTL_PROF, SPAN_SWAP_PROF,		/* the same, with every ioctl counted and timed */
	SPAN_FLOOR_PROF,			/* the floor, 2 exits a round trip, the same way */
	SPAN_ICPT, SPAN_ICPT_TWIN,		/* GPA intercept round trip */
	SPAN_SCALE1, SPAN_SCALE2, SPAN_SCALE4, SPAN_SCALE8,	/* VTL call + return on 1, 2, 4, 8 VPs at once */
	SPAN_PROT1, SPAN_RELAX1, SPAN_PROT1_TWIN,	/* VTL1: ModifyVtlProtectionMask of 1 page, each call */
	SPAN_PROT64, SPAN_RELAX64, SPAN_PROT64_TWIN,	/* the same with a list of 64 pages */
	NR_SPANS
};

#endif
