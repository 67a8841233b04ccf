/* The core's counters (hypercalls by code, intercepts), for a VMM's statistics (kvsm: --stats). */
#include "hv_internal.h"

void hv_stats_count(struct hv_partition *p, uint16_t code)
{
	uint64_t *c = code < 256 ? &p->hc_count[code] : &p->hc_count_other;

	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Put one counter at out[n] if there is room; the count of counters so far either way. */
static unsigned int add(struct hv_stat *out, unsigned int max, unsigned int n, const char *name, bool hypercall,
			const uint64_t *counter)
{
	if (n < max)
		out[n] = (struct hv_stat){ .name = name, .hypercall = hypercall,
					   .value = __atomic_load_n(counter, __ATOMIC_RELAXED) };
	return n + 1;
}

unsigned int hv_stats(const struct hv_partition *p, struct hv_stat *out, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int code = 0; code < 256; code++) {
		const char *name;

		if (!__atomic_load_n(&p->hc_count[code], __ATOMIC_RELAXED))
			continue;
		name = hv_hypercall_name((uint16_t)code);
		n = add(out, max, n, name ? name : "(unknown code)", true, &p->hc_count[code]);
	}
	if (__atomic_load_n(&p->hc_count_other, __ATOMIC_RELAXED))
		n = add(out, max, n, "(unknown code)", true, &p->hc_count_other);
	n = add(out, max, n, "secure intercepts", false, &p->intercepts);
	n = add(out, max, n, "secure intercepts no SynIC took", false, &p->intercepts_dropped);
	n = add(out, max, n, "unenforced masks (permissive)", false, &p->prot_unenforced);
	return add(out, max, n, "unenforced intercepts (permissive)", false, &p->regint_unenforced);
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
