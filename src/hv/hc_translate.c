/*
 * HvCallTranslateVirtualAddress (0x0052) and HvCallTranslateVirtualAddressEx
 * (0x00AC), spec 3.7: a VTL translates a GVA in the paging context of a lower
 * VTL of its own VP. Input and output follow OpenVMM (the 4 reserved bytes
 * at +12; the Ex output's GpaPage at +48). The call succeeds whenever its
 * input is valid; how the translation went is the output's ResultCode.
 */
#include "hv_internal.h"

#include <string.h>

struct translate_in {
	uint64_t partition_id;
	uint32_t vp_index;
	uint32_t reserved;	/* not in the TLFS's table; OpenVMM reads it as padding and so does kvsm */
	uint64_t control_flags;
	uint64_t gva_page;
};

#define FLAGS_RSVDZ		0x00fffffffffff800ull	/* bits 55:11 */
#define FLAGS_INPUT_VTL_SHIFT	56
#define CR4_SMAP		(1ull << 21)

/* HV_TRANSLATE_GVA_RESULT (8 bytes), then GpaPage: the whole non-Ex output. */
enum { OUT_RESULT = 0, OUT_CACHE_TYPE = 4, OUT_OVERLAY = 5, OUT_GPA_PAGE = 8, OUT_EX_GPA_PAGE = 48 };

static uint16_t get_reg(struct hv_hypercall *hc, unsigned int vtl, uint32_t name, uint64_t val[2])
{
	val[0] = val[1] = 0;
	return hc->p->ops->get_vp_register(hc->p->host, hc->vp->index, vtl, hc->vtl, name, val);
}

/*
 * The paging registers of (this VP, vtl). SS (for CPL) and RFLAGS (AC, for
 * SMAP) only when they have a say: each costs the host a register read.
 */
static uint16_t paging_regs(struct hv_hypercall *hc, unsigned int vtl, uint64_t flags, struct hv_paging_regs *r)
{
	static const uint32_t names[] = { HV_X64_REGISTER_CR0, HV_X64_REGISTER_CR3, HV_X64_REGISTER_CR4,
					  HV_X64_REGISTER_EFER };
	uint64_t *dst[] = { &r->cr0, &r->cr3, &r->cr4, &r->efer }, v[2];
	uint16_t st;

	*r = (struct hv_paging_regs){ .cpl = 0 };
	for (unsigned int i = 0; i < 4; i++) {
		if ((st = get_reg(hc, vtl, names[i], v)) != HV_STATUS_SUCCESS)
			return st;
		*dst[i] = v[0];
	}
	if (!(flags & (HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT | HV_TRANSLATE_GVA_SUPERVISOR_ACCESS |
		       HV_TRANSLATE_GVA_USER_ACCESS))) {
		if ((st = get_reg(hc, vtl, HV_X64_REGISTER_SS, v)) != HV_STATUS_SUCCESS)
			return st;
		r->cpl = (unsigned int)(v[1] >> 53) & 3;	/* SS.DPL: Attributes at +14, DPL in bits 6:5 */
	}
	if ((r->cr4 & CR4_SMAP) && !(flags & (HV_TRANSLATE_GVA_ENFORCE_SMAP | HV_TRANSLATE_GVA_OVERRIDE_SMAP))) {
		if ((st = get_reg(hc, vtl, HV_X64_REGISTER_RFLAGS, v)) != HV_STATUS_SUCCESS)
			return st;
		r->rflags = v[0];
	}
	return HV_STATUS_SUCCESS;
}

static bool msr_maps(uint64_t msr, uint64_t gpn)
{
	return (msr & HV_MSR_PAGE_ENABLE) && msr >> 12 == gpn;
}

/*
 * Whether gpn holds an overlay page of (vp, vtl); *read_only for those the
 * guest may not write (hypercall page, reference TSC page).
 */
static bool overlay_at(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint64_t gpn, bool *read_only)
{
	struct hv_vp *v = &p->vps[vp];
	bool rw;

	pthread_mutex_lock(&p->partition_lock);
	*read_only = msr_maps(p->vtl[vtl].hypercall, gpn) || msr_maps(p->vtl[vtl].reference_tsc, gpn);
	pthread_mutex_unlock(&p->partition_lock);
	pthread_mutex_lock(&v->lock);
	rw = msr_maps(v->vtl[vtl].vp_assist, gpn) || msr_maps(v->vtl[vtl].synic.simp, gpn) ||
	     msr_maps(v->vtl[vtl].synic.siefp, gpn);
	pthread_mutex_unlock(&v->lock);
	return *read_only || rw;
}

/* PAT entry pat_index of vtl as an HV_CACHE_TYPE; WB with paging off. MTRRs are not consulted. */
static uint16_t cache_type(struct hv_hypercall *hc, unsigned int vtl, int pat_index, uint8_t *type)
{
	uint64_t v[2];
	uint16_t st;

	*type = HV_CACHE_TYPE_WRITE_BACK;
	if (pat_index < 0)
		return HV_STATUS_SUCCESS;
	if ((st = get_reg(hc, vtl, HV_X64_REGISTER_PAT, v)) != HV_STATUS_SUCCESS)
		return st;
	*type = (uint8_t)(v[0] >> (pat_index * 8)) & 7;
	if (*type == 7)
		*type = HV_CACHE_TYPE_UNCACHED;		/* UC- has no HV_CACHE_TYPE of its own */
	return HV_STATUS_SUCCESS;
}

static uint16_t translate(struct hv_hypercall *hc, size_t gpa_page_at)
{
	struct hv_partition *p = hc->p;
	struct translate_in in;
	struct hv_paging_regs regs;
	struct hv_walk w;
	uint32_t result;
	uint8_t type = 0;
	bool overlay = false, read_only;
	uint16_t st;
	int vtl;

	memcpy(&in, hc->in, sizeof(in));
	/* OpenVMM's statuses: another partition or another VP is ACCESS_DENIED (spec 3.7; docs/vsm.md). */
	if (in.partition_id != HV_PARTITION_ID_SELF)
		return HV_STATUS_ACCESS_DENIED;
	if (in.vp_index != HV_VP_INDEX_SELF && in.vp_index != hc->vp->index)
		return HV_STATUS_ACCESS_DENIED;
	if (in.control_flags & FLAGS_RSVDZ)
		return HV_STATUS_INVALID_PARAMETER;
	vtl = hv_input_vtl((uint8_t)(in.control_flags >> FLAGS_INPUT_VTL_SHIFT), hc->vtl);
	if (vtl < 0)
		return (uint16_t)-vtl;
	if ((unsigned int)vtl == hc->vtl)
		return HV_STATUS_ACCESS_DENIED;		/* OpenVMM: only a lower VTL's context */
	if (!(hv_vp_enabled_vtls(p, hc->vp->index) & (1u << vtl)))
		return HV_STATUS_INVALID_VTL_STATE;
	if ((st = paging_regs(hc, (unsigned int)vtl, in.control_flags, &regs)) != HV_STATUS_SUCCESS)
		return st;
	/* As OpenVMM, before the walk and whatever its result: held until this VTL returns or unlocks. */
	if (in.control_flags & HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT)
		hv_tlb_lock(p, hc->vp->index, hc->vtl, (unsigned int)vtl);
	result = hv_paging_walk(p, (unsigned int)vtl, &regs, in.gva_page << 12, in.control_flags, &w);
	if (result == HV_TRANSLATE_GVA_SUCCESS) {
		if ((st = cache_type(hc, (unsigned int)vtl, w.pat_index, &type)) != HV_STATUS_SUCCESS)
			return st;
		overlay = overlay_at(p, hc->vp->index, (unsigned int)vtl, w.gpa >> 12, &read_only);
		if (overlay && read_only && (in.control_flags & HV_TRANSLATE_GVA_VALIDATE_WRITE))
			result = HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS;
	}
	hv_trace(p, "vp%u vtl%u translates vtl%d gva %#llx flags %#llx: result %u gpa %#llx", hc->vp->index,
		 hc->vtl, vtl, (unsigned long long)(in.gva_page << 12), (unsigned long long)in.control_flags,
		 result, (unsigned long long)w.gpa);
	memcpy(hc->out + OUT_RESULT, &result, 4);
	if (result == HV_TRANSLATE_GVA_SUCCESS) {
		hc->out[OUT_CACHE_TYPE] = type;
		hc->out[OUT_OVERLAY] = overlay;
	}
	/* GpaPage also names the page a GPA result (4-8) is about; 0 after a walk failure (1-3). */
	w.gpa >>= 12;
	memcpy(hc->out + gpa_page_at, &w.gpa, 8);
	return HV_STATUS_SUCCESS;
}

static uint16_t hc_translate_virtual_address(struct hv_hypercall *hc)
{
	return translate(hc, OUT_GPA_PAGE);
}

/* The Ex output's EventInfo (the exception the access would raise) stays zero: no event. */
static uint16_t hc_translate_virtual_address_ex(struct hv_hypercall *hc)
{
	return translate(hc, OUT_EX_GPA_PAGE);
}

const struct hv_hypercall_desc hv_hc_translate[] = {
	{ .code = HVCALL_TRANSLATE_VIRTUAL_ADDRESS, .name = "HvCallTranslateVirtualAddress",
	  .privilege = HV_ACCESS_VSM, .in_header = sizeof(struct translate_in), .out_header = 16,
	  .simple = hc_translate_virtual_address },
	{ .code = HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX, .name = "HvCallTranslateVirtualAddressEx",
	  .privilege = HV_ACCESS_VSM, .in_header = sizeof(struct translate_in), .out_header = 64,
	  .simple = hc_translate_virtual_address_ex },
};
const unsigned int hv_hc_translate_n = sizeof(hv_hc_translate) / sizeof(hv_hc_translate[0]);
