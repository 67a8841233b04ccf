/*
 * HV_VP_SET, the processor set of the *Ex hypercalls (flush, cluster IPI):
 *   u64 Format; u64 ValidBanksMask; u64 BankContents[popcount(ValidBanksMask)]
 */
#include "hv_internal.h"

#include <string.h>

uint16_t hv_vp_set_parse(const uint8_t *buf, size_t size, unsigned int nr_vps, uint64_t *mask, size_t *consumed)
{
	unsigned int words = (nr_vps + 63) / 64;
	uint64_t format, banks;
	size_t need;

	memset(mask, 0, words * sizeof(*mask));
	*consumed = 0;
	/* Format and ValidBanksMask sit in the callers' fixed headers, so this only guards misuse. */
	if (size < 16)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	format = hv_ld64(buf);
	banks = hv_ld64(buf + 8);

	if (format == HV_GENERIC_SET_ALL) {
		/*
		 * Linux sends ALL with ValidBanksMask = 0 and no banks (KVM
		 * accepts that), so the set ends after the mask qword; the mask
		 * itself means nothing here and is ignored.
		 */
		for (unsigned int w = 0; w < words; w++)
			mask[w] = ~0ull;
		if (nr_vps % 64)
			mask[words - 1] = (1ull << (nr_vps % 64)) - 1;	/* words > 0 here */
		*consumed = 16;
		return HV_STATUS_SUCCESS;
	}
	if (format != HV_GENERIC_SET_SPARSE_4K)
		return HV_STATUS_INVALID_PARAMETER;

	/* KVM (kvm_get_sparse_vp_set) answers a set longer than its input this way. */
	need = 16 + 8 * (size_t)__builtin_popcountll(banks);
	if (need > size)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;

	/* BankContents are packed: the k-th set bit of ValidBanksMask owns the k-th qword. */
	const uint8_t *bank = buf + 16;
	for (unsigned int b = 0; b < 64; b++) {
		if (!(banks & (1ull << b)))
			continue;
		uint64_t vps = hv_ld64(bank);

		bank += 8;
		if (b >= words)
			continue;	/* VPs that do not exist are ignored */
		if (b == words - 1 && nr_vps % 64)
			vps &= (1ull << (nr_vps % 64)) - 1;
		mask[b] = vps;
	}
	*consumed = need;
	return HV_STATUS_SUCCESS;
}
