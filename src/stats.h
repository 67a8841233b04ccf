/* Event counters printed by `kvsm run --stats`: one counter per kind of exit. */
#ifndef KVSM_STATS_H
#define KVSM_STATS_H

#include <stdatomic.h>
#include <stdio.h>

enum stat_id {
	STAT_EXIT_IO,
	STAT_EXIT_MMIO,
	STAT_EXIT_INTR,
	STAT_EXIT_SHUTDOWN,
	STAT_EXIT_OTHER,
	STAT_HALT_POLLS,
	STAT_HYPERCALL,
	STAT_SYNTHETIC_MSR,
	STAT_TLB_FLUSH,
	STAT_HYPERCALL_STALL,
	STAT_AUTOEOI,
	STAT_VTL_SWITCH,
	STAT_VTL_INTERRUPT_ENTRY,
	STAT_VINA_POLL,
	STAT_PROT_CHANGE,
	STAT_GPA_INTERCEPT,
	STAT_PROT_MMIO,
	STAT_PROT_COMPLETED,
	STAT_MSR_INTERCEPT,
	STAT_MSR_NATIVE,
	STAT_IO_INTERCEPT,
	STAT_IO_NOT_INTERCEPTED,
	STAT_ROLLBACK_UNIQUE,
	STAT_ROLLBACK_SAME_EFFECT,
	STAT_ROLLBACK_AMBIGUOUS,
	STAT_ROLLBACK_NONE,
	STAT_NR,
};

struct stats {
	atomic_ullong count[STAT_NR];
};

static inline void stat_inc(struct stats *s, enum stat_id id)
{
	atomic_fetch_add_explicit(&s->count[id], 1, memory_order_relaxed);
}

void stats_print(const struct stats *s, FILE *f);
/* libkvsm's counters (hv_stats), one per line after stats_print's. */
struct hv_partition;
void stats_print_hv(const struct hv_partition *p, FILE *f);

#endif
