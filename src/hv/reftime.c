/*
 * Partition reference time (TLFS 12.4-12.7): 100 ns units since the
 * partition was created, derived from the guest TSC so that TIME_REF_COUNT
 * and the reference TSC page always agree.
 */
#include "hv_internal.h"

#include <string.h>

void hv_reftime_init(struct hv_partition *p)
{
	uint64_t tsc0 = p->ops->guest_tsc(p->host);

	/* scale = 2^64 * 10^7 / tsc_hz, so that (tsc * scale) >> 64 counts 100 ns units. */
	p->tsc_scale = (uint64_t)(((unsigned __int128)10000000u << 64) / p->cfg.tsc_hz);
	p->tsc_offset = -(int64_t)(((unsigned __int128)tsc0 * p->tsc_scale) >> 64);
}

uint64_t hv_ref_time(const struct hv_partition *p)
{
	uint64_t tsc = p->ops->guest_tsc(p->host);

	return (uint64_t)((int64_t)(((unsigned __int128)tsc * p->tsc_scale) >> 64) + p->tsc_offset);
}

void hv_reftime_update_page(struct hv_partition *p, unsigned int vtl, uint64_t msr)
{
	struct hv_reference_tsc_page *pg;

	if (!(msr & HV_MSR_PAGE_ENABLE))
		return;
	pg = hv_page_ptr(p, vtl, msr & ~(uint64_t)(HV_PAGE_SIZE - 1), true);
	if (!pg)
		return;		/* not RAM: the page is inaccessible, as the TLFS allows */
	memset(pg, 0, HV_PAGE_SIZE);
	pg->tsc_scale = p->tsc_scale;
	pg->tsc_offset = p->tsc_offset;
	__atomic_store_n(&pg->tsc_sequence, 1, __ATOMIC_RELEASE);	/* valid; never changes afterwards */
}
