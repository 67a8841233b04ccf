/* Hypercall counters printed by `kvsm run --stats`. */
#include "hv_internal.h"

void hv_stats_count(struct hv_partition *p, uint16_t code)
{
	uint64_t *c = code < 256 ? &p->hc_count[code] : &p->hc_count_other;

	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

void hv_stats_print(const struct hv_partition *p, FILE *f)
{
	for (unsigned int code = 0; code < 256; code++) {
		const struct hv_hypercall_desc *d;
		uint64_t n = __atomic_load_n(&p->hc_count[code], __ATOMIC_RELAXED);

		if (!n)
			continue;
		d = hv_hypercall_find((uint16_t)code);
		fprintf(f, "  hypercall %-26s %llu\n", d ? d->name : "(unknown code)", (unsigned long long)n);
	}
	if (p->hc_count_other)
		fprintf(f, "  hypercall %-26s %llu\n", "(unknown code)", (unsigned long long)p->hc_count_other);
	fprintf(f, "  %-36s %llu\n  %-36s %llu\n  %-36s %llu\n", "secure intercepts",
		(unsigned long long)__atomic_load_n(&p->intercepts, __ATOMIC_RELAXED),
		"secure intercepts no SynIC took", (unsigned long long)__atomic_load_n(&p->intercepts_dropped, __ATOMIC_RELAXED),
		"unenforced masks (permissive)", (unsigned long long)__atomic_load_n(&p->prot_unenforced, __ATOMIC_RELAXED));
	fprintf(f, "  %-36s %llu\n", "unenforced intercepts (permissive)",
		(unsigned long long)__atomic_load_n(&p->regint_unenforced, __ATOMIC_RELAXED));
}

const char *hv_hypercall_name(uint16_t code)
{
	const struct hv_hypercall_desc *d = hv_hypercall_find(code);

	/* The dispatcher takes these two before its tables. */
	if (code == HVCALL_VTL_CALL)
		return "HvCallVtlCall";
	if (code == HVCALL_VTL_RETURN)
		return "HvCallVtlReturn";
	return d ? d->name : NULL;
}
