#include "stats.h"
#include "kvsm/hv.h"

static const char *const stat_names[STAT_NR] = {
	[STAT_EXIT_IO] = "exit: port I/O",
	[STAT_EXIT_MMIO] = "exit: MMIO",
	[STAT_EXIT_INTR] = "exit: interrupted (kick)",
	[STAT_EXIT_SHUTDOWN] = "exit: shutdown",
	[STAT_EXIT_OTHER] = "exit: other",
	[STAT_HALT_POLLS] = "halt-detection rounds",
	[STAT_HYPERCALL] = "exit: hypercall",
	[STAT_SYNTHETIC_MSR] = "exit: synthetic MSR",
	[STAT_TLB_FLUSH] = "TLB flushes (per VP)",
	[STAT_HYPERCALL_STALL] = "flushes stalled by TLB locks",
	[STAT_AUTOEOI] = "AutoEOI interrupts injected",
	[STAT_VTL_SWITCH] = "VTL switches",
	[STAT_VTL_INTERRUPT_ENTRY] = "VTL entries for interrupts",
	[STAT_VINA_POLL] = "VINA looks at VTL0's APIC",
	[STAT_PROT_CHANGE] = "VTL protection changes (runs)",
	[STAT_GPA_INTERCEPT] = "GPA intercepts delivered",
	[STAT_PROT_MMIO] = "protection faults as MMIO",
	[STAT_PROT_COMPLETED] = "no-execute page accesses done",
	[STAT_MSR_INTERCEPT] = "MSR intercepts delivered",
	[STAT_MSR_NATIVE] = "MSR accesses done for KVM",
	[STAT_IO_INTERCEPT] = "I/O intercepts delivered",
	[STAT_IO_NOT_INTERCEPTED] = "I/O intercepts missed",
	[STAT_ROLLBACK_UNIQUE] = "write rollback: unique",
	[STAT_ROLLBACK_SAME_EFFECT] = "write rollback: same effect",
	[STAT_ROLLBACK_AMBIGUOUS] = "write rollback: ambiguous",
	[STAT_ROLLBACK_NONE] = "write rollback: impossible",
};

void stats_print(const struct stats *s, FILE *f)
{
	fprintf(f, "kvsm stats:\n");
	for (int i = 0; i < STAT_NR; i++)
		fprintf(f, "  %-28s %llu\n", stat_names[i],
			(unsigned long long)atomic_load(&s->count[i]));
}

void stats_print_hv(const struct hv_partition *p, FILE *f)
{
	struct hv_stat st[HV_STATS_MAX];
	unsigned int n = hv_stats(p, st, HV_STATS_MAX);

	for (unsigned int i = 0; i < n && i < HV_STATS_MAX; i++) {
		if (st[i].hypercall)
			fprintf(f, "  hypercall %-26s %llu\n", st[i].name, (unsigned long long)st[i].value);
		else
			fprintf(f, "  %-36s %llu\n", st[i].name, (unsigned long long)st[i].value);
	}
}
