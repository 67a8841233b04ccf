/* Small hypercalls: HvCallNotifyLongSpinWait and HvCallGetVpIndexFromApicId. */
#include "hv_internal.h"

#include <sched.h>
#include <string.h>

/*
 * A scheduling hint; the TLFS says it only ever returns SUCCESS, so SpinCount
 * and the RsvdZ half are not checked (KVM does the same). Giving the host CPU
 * away lets the VP holding the lock run.
 */
static uint16_t hc_notify_long_spin_wait(struct hv_hypercall *hc)
{
	sched_yield();
	return HV_STATUS_SUCCESS;
}

/* Header: PartitionId u64, TargetVtl u8, 7 bytes of padding. */
enum { APIC_PARTITION_ID = 0, APIC_TARGET_VTL = 8 };

/*
 * TargetVtl is an HV_VTL in the TLFS and OpenVMM (Vtl::try_from) but an
 * HV_INPUT_VTL in Linux (hv_get_vp_from_apic_id_in). Both encodings are taken:
 * bits 7:5 must be 0, and bits 3:0 name the VTL whether or not bit 4
 * (UseTargetVtl) is set. Linux sends 0, which is VTL0 in one reading and the
 * caller's VTL in the other; the answer is the same, since a VP's index does
 * not depend on the VTL. The padding bytes are ignored: the TLFS calls them
 * padding (not RsvdZ) and OpenVMM does not look at them.
 */
static uint16_t apic_header(const struct hv_hypercall *hc)
{
	uint64_t partition;
	uint8_t vtl = hc->in[APIC_TARGET_VTL];

	memcpy(&partition, hc->in + APIC_PARTITION_ID, sizeof(partition));
	if (partition != HV_PARTITION_ID_SELF)
		return HV_STATUS_INVALID_PARTITION_ID;
	if (vtl & 0xe0)
		return HV_STATUS_INVALID_PARAMETER;
	if ((vtl & 0xf) >= HV_MAX_VTLS)
		return HV_STATUS_INVALID_PARAMETER;	/* OpenVMM: Vtl::try_from */
	if ((vtl & 0xf) > hc->vtl)
		return HV_STATUS_ACCESS_DENIED;		/* OpenVMM: target_vtl_no_higher */
	return HV_STATUS_SUCCESS;
}

/*
 * Elements are packed u32s in and out (spec 3.9 [DISAGREE]: Linux and
 * OpenVMM, not the TLFS's 8-byte elements). kvsm numbers VPs by APIC ID.
 */
static uint16_t hc_get_vp_index_from_apic_id(struct hv_hypercall *hc, unsigned int i)
{
	uint32_t apic_id;
	uint16_t st = apic_header(hc);

	if (st != HV_STATUS_SUCCESS)
		return st;
	memcpy(&apic_id, hc->reps + (size_t)i * 4, sizeof(apic_id));
	if (apic_id >= hc->p->cfg.nr_vps)
		return HV_STATUS_INVALID_PARAMETER;	/* unknown APIC ID (TLFS) */
	memcpy(hc->out + (size_t)i * 4, &apic_id, sizeof(apic_id));
	return HV_STATUS_SUCCESS;
}

const struct hv_hypercall_desc hv_hc_misc[] = {
	{ .code = HVCALL_NOTIFY_LONG_SPIN_WAIT, .name = "HvCallNotifyLongSpinWait",
	  .in_header = 8, .simple = hc_notify_long_spin_wait },
	{ .code = HVCALL_GET_VP_INDEX_FROM_APIC_ID, .name = "HvCallGetVpIndexFromApicId", .rep = true,
	  .in_header = 16, .in_elem = 4, .out_elem = 4, .rep_fn = hc_get_vp_index_from_apic_id },
};
const unsigned int hv_hc_misc_n = sizeof(hv_hc_misc) / sizeof(hv_hc_misc[0]);
