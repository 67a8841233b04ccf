/*
 * The core's one way into guest memory. Everything libkvsm reads or writes
 * there on a VTL's behalf (hypercall parameter blocks, overlay pages: SynIC,
 * VP assist, reference TSC, hypercall page) goes through these helpers, which
 * ask the host for the bytes as that VTL may access them (host op
 * guest_access: a mapping of the VMM's own that guest-side protections never
 * change, so kvsm cannot fault there) and use the address only within the
 * call. A refusal comes back as an HV status or false, never as a crash.
 *
 * The TLFS defines a few fields the guest and the hypervisor update
 * concurrently (SynIC message slots and event flags, VINA status, entry
 * reason, paging-structure A/D bits): those have atomic helpers here.
 */
#include "hv_internal.h"

#include <string.h>

/* Bytes [gpa, gpa + len) within one page, or NULL. */
static uint8_t *span(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	if (!len || len > HV_PAGE_SIZE - (gpa & (HV_PAGE_SIZE - 1)))
		return NULL;
	return p->ops->guest_access(p->host, vtl, gpa, len, write);
}

/*
 * [gpa, gpa + len) page by page: copy into (write = false) or out of buf, or,
 * with buf NULL, only check that every byte is accessible that way.
 */
static bool each_page(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t *buf, size_t len,
		      bool write)
{
	while (len) {
		size_t n = HV_PAGE_SIZE - (gpa & (HV_PAGE_SIZE - 1));
		uint8_t *g;

		if (n > len)
			n = len;
		g = span(p, vtl, gpa, n, write);
		if (!g)
			return false;
		if (buf && write)
			memcpy(g, buf, n);
		else if (buf)
			memcpy(buf, g, n);
		gpa += n;
		buf = buf ? buf + n : NULL;
		len -= n;
	}
	return true;
}

bool hv_guest_accessible(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	return each_page(p, vtl, gpa, NULL, len, write);
}

bool hv_read_guest(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, void *buf, size_t len)
{
	return each_page(p, vtl, gpa, buf, len, false);
}

bool hv_write_guest(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, const void *buf, size_t len)
{
	return each_page(p, vtl, gpa, (uint8_t *)buf, len, true);
}

bool hv_guest_zero_page(const struct hv_partition *p, unsigned int vtl, uint64_t gpa)
{
	uint8_t *g = span(p, vtl, gpa & ~(uint64_t)(HV_PAGE_SIZE - 1), HV_PAGE_SIZE, true);

	if (g)
		memset(g, 0, HV_PAGE_SIZE);
	return g != NULL;
}

bool hv_overlay_update(const struct hv_partition *p, unsigned int vtl, uint64_t old, uint64_t val)
{
	uint64_t old_gpa = old & ~(uint64_t)(HV_PAGE_SIZE - 1), gpa = val & ~(uint64_t)(HV_PAGE_SIZE - 1);
	bool was = old & HV_MSR_PAGE_ENABLE, is = val & HV_MSR_PAGE_ENABLE;

	if (was && is && old_gpa == gpa)
		return false;
	if (is)
		p->ops->map_overlay(p->host, vtl, gpa);	/* not RAM: the page stays inaccessible */
	if (was)
		p->ops->unmap_overlay(p->host, vtl, old_gpa);
	return is;
}

bool hv_guest_fetch_or8(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t bits, uint8_t *old)
{
	uint8_t *g = span(p, vtl, gpa, 1, true);

	if (!g)
		return false;
	*old = __atomic_fetch_or(g, bits, __ATOMIC_SEQ_CST);
	return true;
}

bool hv_guest_and8(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t bits)
{
	uint8_t *g = span(p, vtl, gpa, 1, true);

	if (g)
		__atomic_and_fetch(g, bits, __ATOMIC_SEQ_CST);
	return g != NULL;
}

bool hv_guest_load8(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t *val)
{
	uint8_t *g = span(p, vtl, gpa, 1, false);

	if (g)
		*val = __atomic_load_n(g, __ATOMIC_SEQ_CST);
	return g != NULL;
}

bool hv_guest_load32(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint32_t *val)
{
	uint32_t *g = (uint32_t *)span(p, vtl, gpa, 4, false);

	if (!g || (gpa & 3))
		return false;
	*val = __atomic_load_n(g, __ATOMIC_SEQ_CST);
	return true;
}

bool hv_guest_store32(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint32_t val)
{
	uint32_t *g = (uint32_t *)span(p, vtl, gpa, 4, true);

	if (!g || (gpa & 3))
		return false;
	__atomic_store_n(g, val, __ATOMIC_SEQ_CST);
	return true;
}

int hv_guest_cmpxchg(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, unsigned int size,
		     uint64_t *expected, uint64_t desired)
{
	uint8_t *g = (gpa & (size - 1)) ? NULL : span(p, vtl, gpa, size, true);
	bool done;

	if (!g)
		return -1;
	if (size == 4) {
		uint32_t old = (uint32_t)*expected;

		done = __atomic_compare_exchange_n((uint32_t *)g, &old, (uint32_t)desired, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
		*expected = old;
	} else {
		done = __atomic_compare_exchange_n((uint64_t *)g, expected, desired, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
	return done;
}
