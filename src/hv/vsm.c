/*
 * Virtual Secure Mode (TLFS chapter 15; spec sections 1.7, 3.2-3.4, 3.8, 4.1,
 * 4.2, 4.4): VTL enablement, VTL call and return, the VSM registers, VP
 * start-up, entry reasons and VINA. The VMM moves the VP between its per-VTL
 * vCPUs; this file decides when and which, and keeps the guest-visible state,
 * including the VTL each VP runs (recorded only by hv_vtl_entered).
 */
#include "hv_internal.h"
#include "hypercall_page.h"

#include <string.h>

#define VTL_BIT(v) (1u << (v))

uint64_t hv_assist_page(const struct hv_partition *p, unsigned int vp, unsigned int vtl)
{
	uint64_t msr = p->vps[vp].vtl[vtl].vp_assist;

	return msr & HV_MSR_PAGE_ENABLE ? msr & ~(uint64_t)(HV_PAGE_SIZE - 1) : 0;
}

unsigned int hv_vp_active_vtl(const struct hv_partition *p, unsigned int vp)
{
	return __atomic_load_n(&p->vps[vp].vsm.active_vtl, __ATOMIC_ACQUIRE);
}

unsigned int hv_vp_enabled_vtls(const struct hv_partition *p, unsigned int vp)
{
	return __atomic_load_n(&p->vps[vp].vsm.enabled_vtls, __ATOMIC_ACQUIRE);
}

/*
 * OpenVMM's order (HvInputVtl::target_vtl, then target_vtl_no_higher):
 * reserved bits, a VTL that cannot exist, then one above the caller.
 */
int hv_input_vtl(uint8_t input_vtl, unsigned int caller)
{
	unsigned int vtl = input_vtl & HV_INPUT_VTL_TARGET_MASK;

	if (input_vtl & HV_INPUT_VTL_RSVDZ)
		return -HV_STATUS_INVALID_PARAMETER;
	if (!(input_vtl & HV_INPUT_VTL_USE_TARGET))
		return (int)caller;
	if (vtl >= HV_MAX_VTLS)
		return -HV_STATUS_INVALID_PARAMETER;
	if (vtl > caller)
		return -HV_STATUS_ACCESS_DENIED;	/* a lower VTL never reaches higher-VTL state */
	return (int)vtl;
}

void hv_vtl_entered(struct hv_partition *p, unsigned int vp, unsigned int to, enum hv_vtl_entry reason)
{
	/* Calls, interrupts and intercepts are entries with a reason; VTL0 has no VTL control area. */
	uint64_t page = to > 0 && reason != HV_VTL_ENTRY_RETURN && reason != HV_VTL_ENTRY_START ?
			hv_assist_page(p, vp, to) : 0;

	if (page)
		hv_guest_store32(p, to, page + HV_VP_ASSIST_ENTRY_REASON, reason);
	if (reason == HV_VTL_ENTRY_START)
		p->vps[vp].vsm.entered_from[to] = (uint8_t)to;
	else if (reason != HV_VTL_ENTRY_RETURN)
		p->vps[vp].vsm.entered_from[to] = (uint8_t)hv_vp_active_vtl(p, vp);
	/* Leaving a VTL for a lower one releases the TLB locks it holds (spec 1.7.7). */
	if (reason == HV_VTL_ENTRY_RETURN)
		hv_tlb_unlock_all(p, vp, hv_vp_active_vtl(p, vp));
	if (reason == HV_VTL_ENTRY_START)
		hv_trace(p, "vp%u starts in vtl%u\n", vp, to);
	else
		hv_trace(p, "vp%u vtl%u -> vtl%u (%s)\n", vp, hv_vp_active_vtl(p, vp), to,
			 reason == HV_VTL_ENTRY_VTL_CALL ? "VTL call" :
			 reason == HV_VTL_ENTRY_INTERRUPT ? "interrupt" :
			 reason == HV_VTL_ENTRY_INTERCEPT ? "intercept" : "VTL return");
	__atomic_store_n(&p->vps[vp].vsm.active_vtl, to, __ATOMIC_RELEASE);
}

/* The next enabled VTL above (dir = 1) or below (dir = -1) `from` on vp, or -1. */
static int next_vtl(const struct hv_partition *p, unsigned int vp, unsigned int from, int dir)
{
	unsigned int set = hv_vp_enabled_vtls(p, vp);

	for (int v = (int)from + dir; v >= 0 && v < HV_MAX_VTLS; v += dir)
		if (set & VTL_BIT(v))
			return v;
	return -1;
}

enum hv_hypercall_outcome hv_vtl_call_return(struct hv_partition *p, unsigned int vp, unsigned int vtl,
					     uint16_t code, uint64_t control, struct hv_hypercall_regs *r)
{
	/* The thunks pass the input value in RCX (32-bit: EDX:EAX) and the control input in RAX (ECX). */
	uint64_t control_input = r->long_mode ? r->rax : (uint32_t)r->rcx;
	bool fast = control_input & 1;
	uint64_t page;
	unsigned int from;
	int to;

	if (control != code || !hv_has_privilege(p, HV_ACCESS_VSM))
		return HV_HYPERCALL_UD;
	if (code == HVCALL_VTL_CALL) {
		to = next_vtl(p, vp, vtl, 1);
		if (control_input || to < 0)
			return HV_HYPERCALL_UD;
		r->target_vtl = (unsigned int)to;
		r->entry_reason = HV_VTL_ENTRY_VTL_CALL;
		return HV_HYPERCALL_SWITCH_VTL;
	}
	/*
	 * Back to the VTL this one was entered from: with three VTLs an
	 * interrupt or intercept takes VTL0 straight to VTL2, and VTL2's return
	 * must resume VTL0, not VTL1, which was never entered.
	 */
	from = p->vps[vp].vsm.entered_from[vtl];
	to = from < vtl && (hv_vp_enabled_vtls(p, vp) & VTL_BIT(from)) ? (int)from : next_vtl(p, vp, vtl, -1);
	if ((control_input & ~1ull) || to < 0)
		return HV_HYPERCALL_UD;
	page = hv_assist_page(p, vp, vtl);
	if (page) {
		uint64_t *vina = &p->vps[vp].vsm.vina[vtl];

		/* AutoReset clears VinaAsserted when this VTL is left (OVMM behaviour; spec 4.4). */
		if (*vina & HV_VINA_AUTO_RESET)
			hv_guest_and8(p, vtl, page + HV_VP_ASSIST_VINA_STATUS, (uint8_t)~1u);
		/* Non-fast: the lower VTL's RAX/RCX (32-bit: EAX, ECX, EDX packed from offset 0x10). */
		if (!fast && r->long_mode) {
			hv_read_guest(p, vtl, page + HV_VP_ASSIST_RETURN_RAX, &r->rax, 8);
			hv_read_guest(p, vtl, page + HV_VP_ASSIST_RETURN_RCX, &r->rcx, 8);
		} else if (!fast) {
			uint32_t e[3] = { 0, 0, 0 };

			hv_read_guest(p, vtl, page + HV_VP_ASSIST_RETURN_RAX, e, sizeof(e));
			r->rax = e[0], r->rcx = e[1], r->rdx = e[2];
		}
	}
	r->target_vtl = (unsigned int)to;
	r->entry_reason = HV_VTL_ENTRY_RETURN;
	return HV_HYPERCALL_SWITCH_VTL;
}

void hv_vina_notify(struct hv_partition *p, unsigned int vp, unsigned int lower)
{
	unsigned int active = hv_vp_active_vtl(p, vp);
	uint64_t vina, page;
	uint8_t old;

	if (active <= lower)
		return;
	vina = __atomic_load_n(&p->vps[vp].vsm.vina[active], __ATOMIC_ACQUIRE);
	page = hv_assist_page(p, vp, active);
	if (!(vina & HV_VINA_ENABLED) || !page)
		return;
	/* One VINA interrupt until the guest (or AutoReset) clears VinaAsserted. */
	if (hv_guest_fetch_or8(p, active, page + HV_VP_ASSIST_VINA_STATUS, 1, &old) && !(old & 1))
		p->ops->raise_irq(p->host, vp, active, (uint8_t)(vina & HV_VINA_VECTOR_MASK), vina & HV_VINA_AUTO_EOI);
}

bool hv_vina_wanted(struct hv_partition *p, unsigned int vp)
{
	unsigned int active = hv_vp_active_vtl(p, vp);
	uint64_t page;
	uint8_t status;

	if (!active || !(__atomic_load_n(&p->vps[vp].vsm.vina[active], __ATOMIC_ACQUIRE) & HV_VINA_ENABLED))
		return false;
	page = hv_assist_page(p, vp, active);
	return page && hv_guest_load8(p, active, page + HV_VP_ASSIST_VINA_STATUS, &status) && !(status & 1);
}

bool hv_lower_vtl_startup_denied(const struct hv_partition *p, unsigned int caller_vtl)
{
	for (unsigned int v = caller_vtl + 1; v < HV_MAX_VTLS; v++)
		if ((p->enabled_vtls & VTL_BIT(v)) && (p->partition_config[v] & HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP))
			return true;
	return false;
}

/* ---- VSM registers ---- */

static uint64_t code_page_offsets(bool long_mode)
{
	return long_mode ? HV_VTL_CALL_OFFSET64 | (uint64_t)HV_VTL_RETURN_OFFSET64 << 12
			 : HV_VTL_CALL_OFFSET32 | (uint64_t)HV_VTL_RETURN_OFFSET32 << 12;
}

uint16_t hv_vsm_reg_get(struct hv_partition *p, unsigned int vp, unsigned int caller, unsigned int vtl,
			bool long_mode, uint32_t name, uint64_t *val)
{
	const struct hv_vsm_vp *s = &p->vps[vp].vsm;

	switch (name) {
	case HV_REGISTER_VSM_CODE_PAGE_OFFSETS:
		*val = code_page_offsets(long_mode);
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_VSM_VP_STATUS:
		*val = s->active_vtl | (uint64_t)s->enabled_vtls << 16;
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_VSM_PARTITION_STATUS:
		*val = p->enabled_vtls | (uint64_t)p->cfg.max_vtl << 16;
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_VSM_CAPABILITIES:
		*val = HV_VSM_CAP_DENY_LOWER_VTL_STARTUP | HV_VSM_CAP_INTERCEPT_PAGE_AVAILABLE;
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_VSM_VINA:
		*val = s->vina[vtl];
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_VSM_PARTITION_CONFIG:
		if (vtl == 0)
			return HV_STATUS_INVALID_PARAMETER;	/* one instance per VTL >= 1 */
		*val = p->partition_config[vtl];
		return HV_STATUS_SUCCESS;
	}
	if (name >= HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 && name < HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 + 15) {
		unsigned int n = name - HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0;

		/* Held by VTL `vtl` for a strictly lower VTL n. */
		if (n >= vtl)
			return HV_STATUS_INVALID_PARAMETER;
		*val = hv_tlb_lock_held(p, vp, vtl, n) ? HV_VSM_VP_SECURE_CONFIG_TLB_LOCKED : 0;
		return HV_STATUS_SUCCESS;
	}
	(void)caller;
	return HV_STATUS_INVALID_PARAMETER;
}

/*
 * HvRegisterVsmPartitionConfig of VTL vtl, written by VTL caller >= vtl.
 * EnableVtlProtection and DefaultVtlProtectionMask are write-once: the mask
 * takes effect, over all RAM of the VTLs below, when protection is enabled.
 * Any valid mask, as the TLFS says (OpenVMM also wants R and W: docs/vsm.md).
 * It refuses what kvsm does not do: MBEC-related and intercept bits.
 */
static uint16_t set_partition_config(struct hv_partition *p, unsigned int vtl, uint64_t val)
{
	const uint64_t supported = HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK |
				   HV_VSM_CONFIG_ZERO_MEMORY_ON_RESET | HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP |
				   HV_VSM_CONFIG_INTERCEPT_PAGE;
	uint64_t old = p->partition_config[vtl];
	const uint64_t write_once = HV_VSM_CONFIG_ENABLE_VTL_PROTECTION | HV_VSM_CONFIG_DEFAULT_MASK;
	uint32_t mask = (uint32_t)((val & HV_VSM_CONFIG_DEFAULT_MASK) >> HV_VSM_CONFIG_DEFAULT_MASK_SHIFT);
	uint16_t st;

	if (val & ~supported)
		return HV_STATUS_INVALID_PARAMETER;
	if ((old & HV_VSM_CONFIG_ENABLE_VTL_PROTECTION) && ((old ^ val) & write_once))
		return HV_STATUS_INVALID_PARAMETER;	/* write-once after enabling protection */
	if ((val & ~old) & HV_VSM_CONFIG_ENABLE_VTL_PROTECTION) {
		st = hv_vtl_prot_check(p, vtl, mask);
		if (st)
			return st;
		st = hv_vtl_prot_set_default(p, vtl, mask);
		if (st)
			return st;
	}
	__atomic_store_n(&p->partition_config[vtl], val, __ATOMIC_RELEASE);
	return HV_STATUS_SUCCESS;
}

uint16_t hv_vsm_reg_set(struct hv_partition *p, unsigned int vp, unsigned int caller_vp, unsigned int caller,
			unsigned int vtl, uint32_t name, uint64_t val)
{
	struct hv_vsm_vp *s = &p->vps[vp].vsm;
	uint16_t st;

	switch (name) {
	case HV_REGISTER_VSM_CODE_PAGE_OFFSETS:
	case HV_REGISTER_VSM_VP_STATUS:
	case HV_REGISTER_VSM_PARTITION_STATUS:
	case HV_REGISTER_VSM_CAPABILITIES:
		return HV_STATUS_INVALID_PARAMETER;	/* read-only */
	case HV_REGISTER_VSM_VP_WAIT_FOR_TLB_LOCK:
		/*
		 * OpenVMM only writes it to the hypervisor beneath and offers it to
		 * no guest; refused (as an unknown register) rather than faked.
		 */
		return HV_STATUS_INVALID_PARAMETER;
	case HV_REGISTER_VSM_VINA:
		/* Vector, Enabled, AutoReset, AutoEoi; the rest is preserved-reserved. */
		__atomic_store_n(&s->vina[vtl], (val & 0x7ff) | (s->vina[vtl] & ~0x7ffull), __ATOMIC_RELEASE);
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_VSM_PARTITION_CONFIG:
		if (vtl == 0 || vtl > caller)
			return HV_STATUS_INVALID_PARAMETER;
		pthread_mutex_lock(&p->partition_lock);
		st = set_partition_config(p, vtl, val);
		pthread_mutex_unlock(&p->partition_lock);
		return st;
	}
	if (name >= HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 && name < HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0 + 15) {
		unsigned int n = name - HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0;

		if (n >= vtl)
			return HV_STATUS_INVALID_PARAMETER;
		/* MbecEnabled needs MBEC, which kvsm does not offer; bits 63:2 are reserved here. */
		if (val & ~HV_VSM_VP_SECURE_CONFIG_TLB_LOCKED)
			return HV_STATUS_INVALID_PARAMETER;
		if (!(val & HV_VSM_VP_SECURE_CONFIG_TLB_LOCKED) == !hv_tlb_lock_held(p, vp, vtl, n))
			return HV_STATUS_SUCCESS;
		/*
		 * A lock lives on its holder's VP, which drops it when that VTL
		 * returns; another VP's is out of reach (OpenVMM refuses every
		 * other-VP register access).
		 */
		if (vp != caller_vp)
			return HV_STATUS_ACCESS_DENIED;
		if (val)
			hv_tlb_lock(p, vp, vtl, n);
		else
			hv_tlb_unlock(p, vp, vtl, n);
		return HV_STATUS_SUCCESS;
	}
	return HV_STATUS_INVALID_PARAMETER;
}

/* ---- enablement and start-up hypercalls ---- */

/* The six bytes after Flags are ignored, as OpenVMM does (its dispatcher never reads them). */
struct enable_partition_vtl_in {
	uint64_t partition_id;
	uint8_t target_vtl;
	uint8_t flags;
	uint8_t padding[6];
};

static uint16_t hc_enable_partition_vtl(struct hv_hypercall *hc)
{
	struct enable_partition_vtl_in in;
	struct hv_partition *p = hc->p;
	uint16_t st = HV_STATUS_SUCCESS;

	memcpy(&in, hc->in, sizeof(in));
	if (in.partition_id != HV_PARTITION_ID_SELF)
		return HV_STATUS_INVALID_PARTITION_ID;
	/* Flags: EnableMbec needs MBEC, which kvsm does not offer; the rest is RsvdZ. */
	if (in.flags)
		return HV_STATUS_INVALID_PARAMETER;
	if (in.target_vtl == 0 || in.target_vtl > p->cfg.max_vtl)
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&p->partition_lock);
	/* Only the highest enabled VTL below the target may enable it (checked first: spec 2.7). */
	for (unsigned int v = hc->vtl + 1; v < in.target_vtl; v++)
		if (p->enabled_vtls & VTL_BIT(v))
			st = HV_STATUS_ACCESS_DENIED;
	if (!st && (p->enabled_vtls & VTL_BIT(in.target_vtl)))
		st = HV_STATUS_VTL_ALREADY_ENABLED;
	if (!st) {
		p->enabled_vtls |= VTL_BIT(in.target_vtl);
		p->partition_config[in.target_vtl] = 0;
	}
	pthread_mutex_unlock(&p->partition_lock);
	return st;
}

/* EnableVpVtl / StartVirtualProcessor: the three bytes after TargetVtl are ignored (OpenVMM). */
struct vp_context_in {
	uint64_t partition_id;
	uint32_t vp_index;
	uint8_t target_vtl;
	uint8_t padding[3];
	uint8_t context[HV_INITIAL_VP_CONTEXT_SIZE];
};

static uint16_t parse_vp_context(struct hv_hypercall *hc, struct vp_context_in *in)
{
	memcpy(in, hc->in, sizeof(*in));
	if (in->partition_id != HV_PARTITION_ID_SELF)
		return HV_STATUS_INVALID_PARTITION_ID;
	if (in->vp_index == HV_VP_INDEX_SELF)
		in->vp_index = hc->vp->index;
	if (in->vp_index >= hc->p->cfg.nr_vps)
		return HV_STATUS_INVALID_VP_INDEX;
	if (in->target_vtl >= HV_MAX_VTLS)	/* a plain HV_VTL: OpenVMM's Vtl::try_from */
		return HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_SUCCESS;
}

static uint16_t hc_enable_vp_vtl(struct hv_hypercall *hc)
{
	struct hv_partition *p = hc->p;
	struct vp_context_in in;
	struct hv_vsm_vp *target;
	unsigned int vtl;
	bool first = false;	/* the one enable of vtl by a lower VTL (spec 3.3) */
	uint16_t st = parse_vp_context(hc, &in);

	if (st)
		return st;
	vtl = in.target_vtl;
	target = &p->vps[in.vp_index].vsm;
	if (vtl == 0)
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&p->partition_lock);
	if (!(p->enabled_vtls & VTL_BIT(vtl))) {
		st = HV_STATUS_INVALID_VTL_STATE;
	} else if (hc->vtl < vtl) {
		/*
		 * Normally a VTL >= the target enables it; the exception is the
		 * first enable of that VTL, by the highest VTL below it (VTL0
		 * enabling VTL1 on the boot VP). Checked before "already
		 * enabled": ACCESS_DENIED wins when both apply (spec 2.7).
		 */
		if (p->vtl_enabled_on_a_vp & VTL_BIT(vtl))
			st = HV_STATUS_ACCESS_DENIED;
		for (unsigned int v = hc->vtl + 1; v < vtl; v++)
			if (p->enabled_vtls & VTL_BIT(v))
				st = HV_STATUS_ACCESS_DENIED;
		first = true;
	}
	if (!st && ((hv_vp_enabled_vtls(p, in.vp_index) | target->enabling_vtls) & VTL_BIT(vtl)))
		st = HV_STATUS_VTL_ALREADY_ENABLED;
	if (st) {
		pthread_mutex_unlock(&p->partition_lock);
		return st;
	}
	/*
	 * Load the context without the lock: the host runs it on the target VP's
	 * thread, which may itself be waiting for partition_lock. enabling_vtls keeps a
	 * concurrent enable of the same VTL on that VP out meanwhile, and a first
	 * enable claims vtl_enabled_on_a_vp now, so a racing lower-VTL enable on
	 * another VP is refused (only one lower-VTL enable may supply the VTL's
	 * starting state); a failed load gives the claim back.
	 */
	target->enabling_vtls |= VTL_BIT(vtl);
	if (first)
		p->vtl_enabled_on_a_vp |= VTL_BIT(vtl);
	pthread_mutex_unlock(&p->partition_lock);
	st = p->ops->set_initial_context(p->host, in.vp_index, vtl, in.context);
	pthread_mutex_lock(&p->partition_lock);
	target->enabling_vtls &= ~VTL_BIT(vtl);
	if (!st) {
		__atomic_or_fetch(&target->enabled_vtls, VTL_BIT(vtl), __ATOMIC_ACQ_REL);
		p->vtl_enabled_on_a_vp |= VTL_BIT(vtl);
	} else if (first) {
		p->vtl_enabled_on_a_vp &= ~VTL_BIT(vtl);
	}
	pthread_mutex_unlock(&p->partition_lock);
	return st;
}

static uint16_t hc_start_virtual_processor(struct hv_hypercall *hc)
{
	struct hv_partition *p = hc->p;
	struct vp_context_in in;
	uint16_t st = parse_vp_context(hc, &in);

	if (st)
		return st;
	if (in.vp_index == hc->vp->index)
		return HV_STATUS_INVALID_VP_INDEX;
	if (in.target_vtl > hc->vtl)
		return HV_STATUS_ACCESS_DENIED;
	if (hv_lower_vtl_startup_denied(p, hc->vtl))
		return HV_STATUS_ACCESS_DENIED;
	if (!(hv_vp_enabled_vtls(p, in.vp_index) & VTL_BIT(in.target_vtl)))
		return HV_STATUS_INVALID_VP_STATE;
	/* The host calls hv_vtl_entered(..., HV_VTL_ENTRY_START) before the VP runs. */
	return p->ops->start_vp(p->host, in.vp_index, in.target_vtl, in.context);
}

const struct hv_hypercall_desc hv_hc_vsm[] = {
	{ .code = HVCALL_ENABLE_PARTITION_VTL, .name = "HvCallEnablePartitionVtl", .privilege = HV_ACCESS_VSM,
	  .in_header = sizeof(struct enable_partition_vtl_in), .simple = hc_enable_partition_vtl },
	{ .code = HVCALL_ENABLE_VP_VTL, .name = "HvCallEnableVpVtl", .privilege = HV_ACCESS_VSM,
	  .in_header = sizeof(struct vp_context_in), .simple = hc_enable_vp_vtl },
	{ .code = HVCALL_START_VIRTUAL_PROCESSOR, .name = "HvCallStartVirtualProcessor",
	  .privilege = HV_START_VIRTUAL_PROCESSOR, .in_header = sizeof(struct vp_context_in),
	  .simple = hc_start_virtual_processor },
};
const unsigned int hv_hc_vsm_n = sizeof(hv_hc_vsm) / sizeof(hv_hc_vsm[0]);
