/*
 * `kvsm bench` internals: figures as repeated samples, each a time and its
 * ratio to a floor measured in the same repetition.
 */
#ifndef KVSM_BUILTIN_BENCH_H
#define KVSM_BUILTIN_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_REPS 16

struct bench_fig {
	const char *key;	/* JSON name */
	const char *what;	/* table label: what one operation is */
	const char *floor;	/* what the ratio divides by; NULL: no floor (the figure is one) */
	unsigned int n;
	double us[BENCH_MAX_REPS], ratio[BENCH_MAX_REPS];
};

/* One repetition's sample: us per operation, and the floor measured alongside it (ignored without a floor). */
void bench_fig_add(struct bench_fig *f, double us, double floor_us);
/* Median, min and max of n samples (sorted copy). */
void bench_summary(const double *v, unsigned int n, double *med, double *min, double *max);
/* One table line: median time [min-max], median ratio [min-max] x floor. */
void bench_fig_print(const struct bench_fig *f);
/* The figure as a JSON object with every sample. */
void bench_fig_json(FILE *out, const struct bench_fig *f);

/* builtin-bench-ioctl.c: ioctls of the calling thread counted and timed by request, between start and stop. */
struct bench_ioctl_class {
	unsigned long req;
	uint64_t n, ns;
};
#define BENCH_IOCTL_CLASSES 24
struct bench_ioctl_prof {
	struct bench_ioctl_class c[BENCH_IOCTL_CLASSES];
	unsigned int nr;
	uint64_t ops, ns;	/* round trips profiled and their wall time */
};
void bench_ioctl_start(struct bench_ioctl_prof *p);
void bench_ioctl_stop(void);
const char *bench_ioctl_name(unsigned long req);

/* builtin-bench-swap.c: the state-swap design, on VP 0's VTL0 vCPU of vm (registers its port). */
struct vm;
void bench_swap_init(struct vm *vm);

/*
 * builtin-bench-floor.c: the VTL switch's floor. The floor exit's port; and
 * host loops on VP cpu's vCPUs, us per one-way switch: the forced reads
 * (KVM_GET_XSAVE, _XCRS, _DEBUGREGS of the vCPU left), kvsm's copy of the
 * same state when unchanged, and KVM_GET_XSAVE + KVM_SET_XSAVE.
 */
struct vcpu;
void bench_floor_init(struct vm *vm);
double bench_forced_reads_us(struct vcpu *cpu, unsigned int n);
double bench_state_copy_us(struct vcpu *cpu, unsigned int n);
double bench_xsave_transfer_us(struct vcpu *cpu, unsigned int n);

/* builtin-bench-prot.c: the VTL protection figures, on the VM once the guest stopped; returns figures added. */
unsigned int bench_prot(struct vm *vm, unsigned int reps, bool short_mode, struct bench_fig *out);

/* builtin-bench-mem.c: host memory per VM, per VTL and per VP, printed (and added to json, if any). */
void bench_mem(FILE *json, unsigned int reps);

/* builtin-bench-svg.c: a bar chart of figures, each panel its medians (or ratios) with min-max whiskers. */
#define BENCH_SVG_BARS 8
struct bench_svg_panel {
	const char *title;
	bool ratio;	/* bars are the figures' ratios, else their times */
	unsigned int n;
	const struct bench_fig *fig[BENCH_SVG_BARS];
	const char *label[BENCH_SVG_BARS], *color[BENCH_SVG_BARS];
};
bool bench_svg(const char *path, const char *caption, const struct bench_svg_panel *p, unsigned int n);

#endif
