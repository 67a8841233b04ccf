/*
 * `kvsm run --timeline FILE`: what each VP did, when, in which VTL, recorded
 * on the VP's own thread into a preallocated buffer and written once, at
 * exit, as Chrome/Perfetto trace-event JSON (timeline_json.c; docs/timeline.md).
 *
 * Callers hold a VP's struct timeline_vp * only when --timeline is on
 * (cpu->tl, else NULL): the hot paths pay one predictable branch. Each VP's
 * buffer is written by its thread alone; when it is full, later events are
 * dropped and counted, and the VP's track ends where the first was lost.
 */
#ifndef KVSM_TIMELINE_H
#define KVSM_TIMELINE_H

#include "kvsm/hv.h"

#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Events each VP can hold: 64 bytes each, 4 MiB per VP. */
#define TIMELINE_EVENTS_PER_VP (1u << 16)

enum tl_kind { TL_START, TL_VTL, TL_HYPERCALL, TL_GPA, TL_MSR, TL_IO };

/* Kinds of exits the per-VP counters tell apart ("C" events, sampled at every VTL switch). */
enum tl_exit { TL_EXIT_IO, TL_EXIT_MMIO, TL_EXIT_HYPERCALL, TL_EXIT_MSR, TL_EXIT_HLT, TL_EXIT_KICK,
	       TL_EXIT_FAULT, TL_EXIT_OTHER, TL_EXIT_NR };

struct tl_event {
	uint64_t ns;			/* since the timeline was opened */
	uint8_t kind;			/* enum tl_kind */
	uint8_t to;			/* the VTL entered (TL_VTL) or delivered to (intercepts) */
	uint8_t flags;			/* TL_F_* */
	uint8_t size;			/* TL_IO: access size; TL_HYPERCALL: enum hv_hypercall_outcome */
	uint32_t code;			/* entry reason, hypercall status, access kind, MSR or port */
	uint64_t a[6];			/* per kind: see timeline.c */
};

#define TL_F_WRITE	1u
#define TL_F_STRING	2u
#define TL_F_REP	4u
#define TL_F_GVA	8u		/* TL_GPA: a[1] holds the linear address */
#define TL_F_LONG	16u		/* TL_HYPERCALL: a 64-bit caller */

struct timeline_vp {
	struct tl_event *ev;		/* [init] cap entries */
	unsigned int cap;		/* [init] */
	uint64_t t0;			/* [init] CLOCK_MONOTONIC ns of the timeline's start */
	atomic_uint n;			/* events recorded; stored with release, so the writer may read below it */
	atomic_ullong dropped;		/* events lost to a full buffer */
	atomic_ullong full_ns;		/* when the first was lost */
	atomic_uint exits[TL_EXIT_NR];	/* VP's own thread increments; any thread reads */
};

struct timeline {
	const char *path;
	const char *name;		/* the process's name in the trace (the kernel) */
	FILE *file;			/* opened early: a bad path fails before the guest runs */
	unsigned int nr_vps;
	unsigned int cap;		/* events per VP */
	struct timeline_vp *vp;
};

/*
 * Create path and buffers for nr_vps VPs of cap events each; the JSON is
 * written at process exit (atexit), whatever the exit status. Exits with a
 * usage error if path cannot be created. One timeline per process.
 */
struct timeline *timeline_open(const char *path, const char *name, unsigned int nr_vps, unsigned int cap);
/* Write the file now (once; later calls do nothing). Also the atexit handler. */
void timeline_finish(void);
/* Write the trace-event JSON of tl to f (timeline_json.c); returns false on an I/O error. */
bool timeline_write_json(const struct timeline *tl, FILE *f);

/* Recording: on the VP's own thread only. */
void timeline_start(struct timeline_vp *t);
void timeline_exit(struct timeline_vp *t, enum tl_exit kind);
/* After the VP entered VTL `to`: rip_from/rip_to are where the old VTL will resume and the new one does. */
void timeline_vtl(struct timeline_vp *t, unsigned int to, enum hv_vtl_entry reason, uint64_t rip_from,
		  uint64_t rip_to);
/* A hypercall issued at rip with args (hv_hypercall_args); result is its result value (RAX) when it ran. */
void timeline_hypercall(struct timeline_vp *t, const uint64_t args[3], bool long_mode, enum hv_hypercall_outcome out,
			uint64_t result, uint64_t rip);
/* Intercepts delivered to VTL `to`, each for the instruction at rip. */
void timeline_gpa(struct timeline_vp *t, unsigned int to, const struct hv_gpa_access *a, uint64_t rip);
void timeline_msr(struct timeline_vp *t, unsigned int to, uint32_t msr, bool write, uint64_t val, uint64_t rip);
void timeline_io(struct timeline_vp *t, unsigned int to, const struct hv_io_access *a, uint64_t rip);

#endif
