/*
 * Virtual TLB flush hypercalls (spec 3.10): HvCallFlushVirtualAddressSpace,
 * ...List and their Ex forms, which name the targets with an HV_VP_SET.
 *
 * kvsm's only tool is flush_tlb, a whole-TLB flush of each target VP. That
 * is a superset of any AddressSpace, GVA range list or NON_GLOBAL_MAPPINGS_ONLY
 * request: AddressSpace and the ranges are not looked at, and Flags only
 * widen the target set (ALL_PROCESSORS) or are validated.
 *
 * Statuses follow the TLFS and KVM (kvm_hv_flush_tlb). OpenVMM differs in
 * three places, where kvsm keeps what Linux guests get from KVM: OpenVMM
 * rejects HV_GENERIC_SET_ALL, an empty set without ALL_PROCESSORS and
 * USE_EXTENDED_RANGE_FORMAT on the Space calls, all as INVALID_PARAMETER.
 */
#include "hv_internal.h"

#include <string.h>

#define HV_FLUSH_VALID_FLAGS (HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES | \
			      HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY | HV_FLUSH_USE_EXTENDED_RANGE_FORMAT)

/* Header offsets shared by all four calls; the Ex calls have the HV_VP_SET at +16. */
enum { FLUSH_ADDRESS_SPACE = 0, FLUSH_FLAGS = 8, FLUSH_PROCESSOR_MASK = 16, FLUSH_VP_SET = 16 };

/* Words of a VP mask; at least 1, as a hypercall always comes from some VP. */
#define MASK_WORDS(p) (((p)->cfg.nr_vps + 63) / 64)

/* Decode Flags and the target set of any of the four calls into mask. */
static uint16_t flush_targets(const struct hv_hypercall *hc, bool ex, bool list, uint64_t *mask)
{
	unsigned int nr = hc->p->cfg.nr_vps, words = MASK_WORDS(hc->p);
	uint64_t flags = hv_ld64(hc->in + FLUSH_FLAGS);

	if (flags & ~HV_FLUSH_VALID_FLAGS)
		return HV_STATUS_INVALID_PARAMETER;
	/* TLFS: NON_GLOBAL_MAPPINGS_ONLY "does not make sense" for the List calls. */
	if (list && (flags & HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY))
		return HV_STATUS_INVALID_PARAMETER;

	if (ex) {
		size_t size = 16 + (size_t)hc->var_qwords * 8, used;
		uint16_t st = hv_vp_set_parse(hc->in + FLUSH_VP_SET, size, nr, mask, &used);

		if (st != HV_STATUS_SUCCESS)
			return st;
		/* The variable header is exactly BankContents (KVM: var_cnt != popcount -> this status). */
		if (used != size)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
	} else {
		memset(mask, 0, words * sizeof(*mask));
		mask[0] = hv_ld64(hc->in + FLUSH_PROCESSOR_MASK);	/* covers VPs 0-63 only */
		if (nr < 64)
			mask[0] &= (1ull << nr) - 1;
	}

	/* Every VP, whatever the mask or set said (the set is still validated above). */
	if (flags & HV_FLUSH_ALL_PROCESSORS) {
		for (unsigned int w = 0; w < words; w++)
			mask[w] = ~0ull;
		if (nr % 64)
			mask[words - 1] = (1ull << (nr % 64)) - 1;
	}
	return HV_STATUS_SUCCESS;
}

/* One flush_tlb for the whole call; an empty set succeeds without disturbing anyone (KVM does so too). */
static void flush(const struct hv_hypercall *hc, const uint64_t *mask)
{
	for (unsigned int w = 0; w < MASK_WORDS(hc->p); w++) {
		if (mask[w]) {
			hc->p->ops->flush_tlb(hc->p->host, hc->vp->index, hc->vtl, mask);
			return;
		}
	}
}

/*
 * Flush, unless a target's TLB is locked for the caller's VTL: then the call
 * stalls, not advanced, and is issued again after a lock was released (spec
 * 3.10). OpenVMM instead completes the flush and holds the caller back until
 * every lock of its VTL is released, targeted or not; kvsm follows the spec.
 */
static uint16_t flush_unless_locked(const struct hv_hypercall *hc, const uint64_t *mask)
{
	if (hv_tlb_flush_blocked(hc->p, hc->vtl, mask))
		return HV_RETRY_AFTER_WAIT;
	flush(hc, mask);
	return HV_STATUS_SUCCESS;
}

static uint16_t flush_space(struct hv_hypercall *hc, bool ex)
{
	uint64_t mask[MASK_WORDS(hc->p)];
	uint16_t st = flush_targets(hc, ex, false, mask);

	return st ? st : flush_unless_locked(hc, mask);
}

/*
 * Every 64-bit GVA range element is valid (a range past the GVA space is
 * ignored, TLFS), so an element never fails. The flush runs once, after the
 * last element, so a call that yields part way flushes when it completes and
 * returns only after the flush, as the TLFS requires.
 */
static uint16_t flush_list(struct hv_hypercall *hc, unsigned int i, bool ex)
{
	uint64_t mask[MASK_WORDS(hc->p)];
	uint16_t st = flush_targets(hc, ex, true, mask);

	if (st == HV_STATUS_SUCCESS && i == hc->rep_count - 1)
		return flush_unless_locked(hc, mask);
	return st;
}

static uint16_t hc_flush_space(struct hv_hypercall *hc)
{
	return flush_space(hc, false);
}

static uint16_t hc_flush_space_ex(struct hv_hypercall *hc)
{
	return flush_space(hc, true);
}

static uint16_t hc_flush_list(struct hv_hypercall *hc, unsigned int i)
{
	return flush_list(hc, i, false);
}

static uint16_t hc_flush_list_ex(struct hv_hypercall *hc, unsigned int i)
{
	return flush_list(hc, i, true);
}

/* Fixed headers: AddressSpace, Flags, ProcessorMask (24) or AddressSpace, Flags, Format, ValidBanksMask (32). */
const struct hv_hypercall_desc hv_hc_flush[] = {
	{ .code = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, .name = "HvCallFlushVirtualAddressSpace",
	  .in_header = 24, .simple = hc_flush_space },
	{ .code = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, .name = "HvCallFlushVirtualAddressList", .rep = true,
	  .in_header = 24, .in_elem = 8, .rep_fn = hc_flush_list },
	{ .code = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, .name = "HvCallFlushVirtualAddressSpaceEx",
	  .var_header = true, .in_header = 32, .simple = hc_flush_space_ex },
	{ .code = HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, .name = "HvCallFlushVirtualAddressListEx", .rep = true,
	  .var_header = true, .in_header = 32, .in_elem = 8, .rep_fn = hc_flush_list_ex },
};
const unsigned int hv_hc_flush_n = sizeof(hv_hc_flush) / sizeof(hv_hc_flush[0]);
