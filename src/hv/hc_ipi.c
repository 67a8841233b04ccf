/*
 * HvCallSendSyntheticClusterIpi and ...Ex (spec 3.11): a fixed interrupt to
 * the local APIC of one VTL on a set of VPs.
 *
 * Where the TLFS gives no status, kvsm follows OpenVMM (hv1_hypercall
 * imp.rs and virt_mshv_vtl's send_synthetic_cluster_ipi):
 *   Flags byte non-zero -> INVALID_PARAMETER; the reserved u16 after it is
 *   ignored (OpenVMM's handler never receives it),
 *   HV_INPUT_VTL reserved bits or a VTL that cannot exist -> INVALID_PARAMETER,
 *   a target VTL above the caller's -> ACCESS_DENIED (target_vtl_no_higher),
 *   vector outside 0x10..0xFF -> INVALID_PARAMETER.
 * One difference: OpenVMM rejects HV_GENERIC_SET_ALL, but Linux sends it
 * (__send_ipi_mask_ex) and KVM accepts it, so kvsm does too.
 */
#include "hv_internal.h"

#include <string.h>

/* Header: Vector u32, TargetVtl HV_INPUT_VTL, Flags u8, rsvd u16, then ProcessorMask or HV_VP_SET. */
enum { IPI_VECTOR = 0, IPI_TARGET_VTL = 4, IPI_FLAGS = 5, IPI_PROCESSOR_MASK = 8, IPI_VP_SET = 8 };


static uint16_t send_ipi(struct hv_hypercall *hc, bool ex)
{
	struct hv_partition *p = hc->p;
	unsigned int nr = p->cfg.nr_vps, words = (nr + 63) / 64, vtl;
	uint64_t mask[words];	/* words >= 1: the caller is a VP */
	uint32_t vector;
	uint16_t st;
	int target;

	memcpy(&vector, hc->in + IPI_VECTOR, sizeof(vector));

	/* The VTL first: when several errors apply, ACCESS_DENIED is preferred (spec 2.7). */
	/* A VTL at or below the caller's is enabled by definition, so this is the only state check. */
	target = hv_input_vtl(hc->in[IPI_TARGET_VTL], hc->vtl);
	if (target < 0)
		return (uint16_t)-target;
	vtl = (unsigned int)target;
	if (hc->in[IPI_FLAGS])
		return HV_STATUS_INVALID_PARAMETER;
	if (vector < 0x10 || vector > 0xff)
		return HV_STATUS_INVALID_PARAMETER;

	if (ex) {
		size_t size = 16 + (size_t)hc->var_qwords * 8, used;

		st = hv_vp_set_parse(hc->in + IPI_VP_SET, size, nr, mask, &used);
		if (st != HV_STATUS_SUCCESS)
			return st;
		/* The variable header is exactly BankContents (KVM: var_cnt != popcount -> this status). */
		if (used != size)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
	} else {
		memset(mask, 0, sizeof(mask));
		memcpy(&mask[0], hc->in + IPI_PROCESSOR_MASK, sizeof(mask[0]));	/* VPs 0-63 only */
		if (nr < 64)
			mask[0] &= (1ull << nr) - 1;
	}

	for (unsigned int w = 0; w < words; w++)
		for (uint64_t m = mask[w]; m; m &= m - 1)
			hv_raise_irq(p, w * 64 + __builtin_ctzll(m), vtl, (uint8_t)vector, false);
	return HV_STATUS_SUCCESS;
}

static uint16_t hc_send_ipi(struct hv_hypercall *hc)
{
	return send_ipi(hc, false);
}

static uint16_t hc_send_ipi_ex(struct hv_hypercall *hc)
{
	return send_ipi(hc, true);
}

const struct hv_hypercall_desc hv_hc_ipi[] = {
	{ .code = HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, .name = "HvCallSendSyntheticClusterIpi",
	  .in_header = 16, .simple = hc_send_ipi },
	/* Fixed header up to ValidBanksMask (24 bytes); BankContents are the variable header. */
	{ .code = HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, .name = "HvCallSendSyntheticClusterIpiEx",
	  .var_header = true, .in_header = 24, .simple = hc_send_ipi_ex },
};
const unsigned int hv_hc_ipi_n = sizeof(hv_hc_ipi) / sizeof(hv_hc_ipi[0]);
