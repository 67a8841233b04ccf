/*
 * `kvsm bench`: host memory per VTL and per VP, measured around vm_init()
 * of fresh VMs in this process (never run, never freed: the bench ends
 * soon after). RSS is VmRSS of /proc/self/status: kvsm's own allocations
 * and the kvm_run pages it maps. KVM's own memory is kernel memory that no
 * per-process file shows without a memory cgroup, so "kernel" is the growth
 * of the system's counters of it in /proc/meminfo (SUnreclaim, VmallocUsed,
 * KernelStack, PageTables, SecPageTables): struct kvm_vcpu and the VM's
 * slab and vmalloc memory, but not KVM's bare page allocations (VMCB/VMCS,
 * MSR and I/O bitmaps), and anything else the system allocated meanwhile.
 * (MemFree moves by whole per-CPU page batches: too coarse to use.)
 */
#include "builtin-bench.h"
#include "util.h"
#include "vm.h"

#include <string.h>

/* kB value of the line starting with key in file path; -1 if missing. */
static long kb_field(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (v < 0 && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

struct mem_sample {
	long rss, kern;
};

static struct mem_sample sample(void)
{
	static const char *const kern[] = { "SUnreclaim:", "VmallocUsed:", "KernelStack:", "PageTables:",
					    "SecPageTables:" };
	struct mem_sample s = { kb_field("/proc/self/status", "VmRSS:"), 0 };

	for (unsigned int i = 0; i < ARRAY_SIZE(kern); i++) {
		long v = kb_field("/proc/meminfo", kern[i]);

		s.kern += v > 0 ? v : 0;	/* SecPageTables is new in Linux 6.0 */
	}
	return s;
}

static void delta(const struct mem_sample *a, const struct mem_sample *b, unsigned int n, double *rss, double *kern)
{
	*rss = (double)(b->rss - a->rss) / n;
	*kern = (double)(b->kern - a->kern) / n;
}

#define EXTRA_VPS 16	/* VPs added at once for the per-VP figure: one VP's growth is near the noise */

static const struct run_opts base = { .smp = 1, .mem = 16 << 20, .vtls = 1 };
static const struct run_opts two_vtls = { .smp = 1, .mem = 16 << 20, .vtls = 2 };
static const struct run_opts many_vps = { .smp = 1 + EXTRA_VPS, .mem = 16 << 20, .vtls = 2 };

void bench_mem(FILE *json, unsigned int reps)
{
	enum { VM, VTL, VP, NR };
	static const char *const what[NR] = { "a VM: 1 VP, 1 VTL (VTL0's KVM VM, irqchip, one vCPU)",
					       "per VTL (its KVM VM and the VP's vCPU in it)",
					       "per VP (its vCPU in each of 2 VTLs)" };
	static const char *const key[NR] = { "vm", "per_vtl", "per_vp" };
	double rss[NR][BENCH_MAX_REPS], kern[NR][BENCH_MAX_REPS];

	if (reps > BENCH_MAX_REPS)
		reps = BENCH_MAX_REPS;
	for (unsigned int r = 0; r < reps; r++) {
		struct vm *vm = xcalloc(3, sizeof(*vm));
		struct mem_sample s[4];

		s[0] = sample();
		vm_init(&vm[0], &base);
		s[1] = sample();
		vm_init(&vm[1], &two_vtls);
		s[2] = sample();
		vm_init(&vm[2], &many_vps);
		s[3] = sample();
		delta(&s[0], &s[1], 1, &rss[VM][r], &kern[VM][r]);
		delta(&s[1], &s[2], 1, &rss[VTL][r], &kern[VTL][r]);
		rss[VTL][r] -= rss[VM][r];	/* two VTLs' VM minus one VTL's */
		kern[VTL][r] -= kern[VM][r];
		delta(&s[2], &s[3], EXTRA_VPS, &rss[VP][r], &kern[VP][r]);
	}
	printf("  host memory at creation, before any guest code runs (median [min-max] of %u; RSS: VmRSS; kernel:\n"
	       "  the system's slab, vmalloc, stack and page-table counters, without KVM's bare pages such as VMCBs)\n",
	       reps);
	if (json)
		fprintf(json, "\"memory_kib\": {");
	for (unsigned int i = 0; i < NR; i++) {
		double m, lo, hi, km, klo, khi;

		bench_summary(rss[i], reps, &m, &lo, &hi);
		bench_summary(kern[i], reps, &km, &klo, &khi);
		printf("    %-52s RSS %7.0f KiB [%.0f-%.0f]  kernel %7.0f KiB [%.0f-%.0f]\n", what[i], m, lo, hi, km,
		       klo, khi);
		if (json)
			fprintf(json, "%s\"%s\": {\"rss_median\": %.1f, \"rss_min\": %.1f, \"rss_max\": %.1f, "
				"\"kernel_median\": %.1f, \"kernel_min\": %.1f, \"kernel_max\": %.1f}", i ? ", " : "",
				key[i], m, lo, hi, km, klo, khi);
	}
	if (json)
		fprintf(json, "}, ");
}
