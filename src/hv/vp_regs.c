/*
 * HvCallGetVpRegisters / HvCallSetVpRegisters (spec 3.6): the input VTL
 * rules, then each register by name: synthetic MSRs and VSM registers here,
 * architectural state through the host. Set has no side effects beyond the
 * value itself; a failing element stops the call with reps completed = its
 * index.
 */
#include "hv_internal.h"

#include <string.h>

/*
 * The three bytes after InputVtl and the 12 after each Set element's name are
 * padding: OpenVMM never reads them (hv1_hypercall GetSetVpRegisters,
 * HvRegisterAssoc), and guests that build these on the stack leave garbage
 * there. InputVtl's own reserved bits are checked (hv_input_vtl).
 */
struct vp_regs_header {
	uint64_t partition_id;
	uint32_t vp_index;
	uint8_t input_vtl;
	uint8_t padding[3];
};

struct set_element {
	uint32_t name;
	uint32_t padding[3];
	uint64_t value[2];
};

/* Synthetic registers that are synthetic MSRs (spec 1.6). */
static uint32_t msr_of(uint32_t name)
{
	switch (name) {
	case 0x90000: return HV_X64_MSR_VP_RUNTIME;
	case 0x90001: return HV_X64_MSR_HYPERCALL;
	case 0x90002: return HV_X64_MSR_GUEST_OS_ID;
	case 0x90003: return HV_X64_MSR_VP_INDEX;
	case 0x90004: return HV_X64_MSR_TIME_REF_COUNT;
	case 0x90013: return HV_X64_MSR_VP_ASSIST_PAGE;
	case 0x90017: return HV_X64_MSR_REFERENCE_TSC;
	case 0xA0010: return HV_X64_MSR_SCONTROL;
	case 0xA0011: return HV_X64_MSR_SVERSION;
	case 0xA0012: return HV_X64_MSR_SIEFP;
	case 0xA0013: return HV_X64_MSR_SIMP;
	case 0xA0014: return HV_X64_MSR_EOM;
	}
	if (name >= 0xA0000 && name <= 0xA000F)
		return HV_X64_MSR_SINT0 + (name - 0xA0000);
	if (name >= 0xB0000 && name <= 0xB0007)
		return HV_X64_MSR_STIMER0_CONFIG + (name - 0xB0000);
	return 0;
}

static bool is_vsm_register(uint32_t name)
{
	return name >= 0xD0000 && name <= 0xDFFFF;
}

/* Header checks shared by Get and Set; on success *vp and *vtl name the target. */
static uint16_t target(struct hv_hypercall *hc, unsigned int *vp, unsigned int *vtl)
{
	struct vp_regs_header h;
	int v;

	memcpy(&h, hc->in, sizeof(h));
	if (h.partition_id != HV_PARTITION_ID_SELF)
		return HV_STATUS_INVALID_PARTITION_ID;
	v = hv_input_vtl(h.input_vtl, hc->vtl);
	if (v < 0)
		return (uint16_t)-v;
	*vp = h.vp_index == HV_VP_INDEX_SELF ? hc->vp->index : h.vp_index;
	if (*vp >= hc->p->cfg.nr_vps)
		return HV_STATUS_INVALID_VP_INDEX;
	if (!(hv_vp_enabled_vtls(hc->p, *vp) & (1u << v)))
		return HV_STATUS_INVALID_VTL_STATE;
	*vtl = (unsigned int)v;
	return HV_STATUS_SUCCESS;
}

static uint16_t hc_get_vp_registers(struct hv_hypercall *hc, unsigned int i)
{
	struct hv_partition *p = hc->p;
	uint32_t name, msr;
	uint64_t val[2] = { 0, 0 };
	unsigned int vp, vtl;
	uint16_t st = target(hc, &vp, &vtl);

	if (st)
		return st;
	memcpy(&name, hc->reps + (size_t)i * 4, 4);
	if ((msr = msr_of(name)) != 0)
		st = hv_msr_read(p, vp, vtl, msr, &val[0]) == HV_MSR_OK ? 0 : HV_STATUS_INVALID_PARAMETER;
	else if (is_vsm_register(name))
		st = hv_vsm_reg_get(p, vp, hc->vtl, vtl, hc->long_mode, name, &val[0]);
	else if (hv_regint_is_register(name))
		st = hv_regint_get(p, vp, hc->vtl, vtl, name, &val[0]);
	else
		st = p->ops->get_vp_register(p->host, vp, vtl, hc->vtl, name, val);
	if (!st)
		memcpy(hc->out + (size_t)i * 16, val, 16);
	return st;
}

static uint16_t hc_set_vp_registers(struct hv_hypercall *hc, unsigned int i)
{
	struct hv_partition *p = hc->p;
	struct set_element e;
	unsigned int vp, vtl;
	uint32_t msr;
	uint16_t st = target(hc, &vp, &vtl);

	if (st)
		return st;
	memcpy(&e, hc->reps + (size_t)i * sizeof(e), sizeof(e));
	if ((msr = msr_of(e.name)) != 0)
		return hv_msr_write(p, vp, vtl, msr, e.value[0]) == HV_MSR_OK ? 0 : HV_STATUS_INVALID_PARAMETER;
	if (is_vsm_register(e.name))
		return hv_vsm_reg_set(p, vp, hc->vp->index, hc->vtl, vtl, e.name, e.value[0]);
	if (hv_regint_is_register(e.name))
		return hv_regint_set(p, vp, hc->vtl, vtl, e.name, e.value[0]);
	return p->ops->set_vp_register(p->host, vp, vtl, hc->vtl, e.name, e.value);
}

const struct hv_hypercall_desc hv_hc_vp_regs[] = {
	{ .code = HVCALL_GET_VP_REGISTERS, .name = "HvCallGetVpRegisters", .rep = true,
	  .privilege = HV_ACCESS_VP_REGISTERS, .in_header = sizeof(struct vp_regs_header), .in_elem = 4,
	  .out_elem = 16, .rep_fn = hc_get_vp_registers },
	{ .code = HVCALL_SET_VP_REGISTERS, .name = "HvCallSetVpRegisters", .rep = true,
	  .privilege = HV_ACCESS_VP_REGISTERS, .in_header = sizeof(struct vp_regs_header),
	  .in_elem = sizeof(struct set_element), .rep_fn = hc_set_vp_registers },
};
const unsigned int hv_hc_vp_regs_n = sizeof(hv_hc_vp_regs) / sizeof(hv_hc_vp_regs[0]);
