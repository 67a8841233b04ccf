/*
 * Partition reference time (TLFS 12.4-12.7): 100 ns units since the
 * partition was created, derived from the guest TSC so that TIME_REF_COUNT
 * and the reference TSC page always agree.
 */
#include "hv_internal.h"

#include <stddef.h>
#include <string.h>

void hv_reftime_init(struct hv_partition *p)
{
	uint64_t tsc0 = p->ops->guest_tsc(p->host);

	/* scale = 2^64 * 10^7 / tsc_hz, so that (tsc * scale) >> 64 counts 100 ns units. */
	p->tsc_scale = (uint64_t)(((unsigned __int128)10000000u << 64) / p->cfg.tsc_hz);
	p->tsc_offset = -(int64_t)(((unsigned __int128)tsc0 * p->tsc_scale) >> 64);
}

uint64_t hv_reference_time(const struct hv_partition *p)
{
	uint64_t tsc = p->ops->guest_tsc(p->host);

	return (uint64_t)((int64_t)(((unsigned __int128)tsc * p->tsc_scale) >> 64) + p->tsc_offset);
}

void hv_reftime_update_page(struct hv_partition *p, unsigned int vtl, uint64_t msr)
{
	uint64_t gpa = msr & ~(uint64_t)(HV_PAGE_SIZE - 1);

	/* Not RAM: the page is inaccessible, as the TLFS allows. */
	if (!(msr & HV_MSR_PAGE_ENABLE) || !hv_guest_zero_page(p, vtl, gpa))
		return;
	hv_write_guest(p, vtl, gpa + offsetof(struct hv_reference_tsc_page, tsc_scale), &p->tsc_scale,
		       sizeof(p->tsc_scale));
	hv_write_guest(p, vtl, gpa + offsetof(struct hv_reference_tsc_page, tsc_offset), &p->tsc_offset,
		       sizeof(p->tsc_offset));
	hv_guest_store32(p, vtl, gpa, 1);	/* TscSequence last: valid, and never changes afterwards */
}
