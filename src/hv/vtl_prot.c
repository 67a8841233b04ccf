/*
 * VTL memory protections (TLFS 15.9; spec 1.7.6, 3.5, 4.5). Each VTL n >= 1
 * that enabled protection keeps one HV_MAP_GPA mask per RAM page, applying to
 * every VTL below n; what VTL t may do on a page is the AND of the masks of
 * the VTLs above it. The core keeps the masks and decides; the host applies
 * each lower VTL's effective mask to that VTL's view (host op protect) and to
 * kvsm's own accesses on its behalf (host op guest_access).
 *
 * Without MBEC (kvsm offers none) KX governs all execution and UX is ignored
 * (spec 3.5). Every valid mask is enforced exactly under --policy strict;
 * "readable but not executable" costs an exit per data access (the host
 * traps and completes them). --policy permissive leaves those pages
 * executable instead, and counts them (docs/vsm.md).
 */
#include "hv_internal.h"

#include <stdlib.h>
#include <string.h>

#define RW (HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE)

struct modify_vtl_protection_mask_in {
	uint64_t partition_id;
	uint32_t map_flags;
	uint8_t target_vtl;	/* HV_INPUT_VTL: the VTL whose masks for lower VTLs change */
	uint8_t rsvd[3];	/* ignored, as OpenVMM does (docs/hyperv.md) */
};

/* A mask as kvsm keeps it: R, W, X (= KX without MBEC), UX mirroring X so guests read back what they mean. */
static uint8_t normalize(uint32_t flags)
{
	uint8_t m = flags & (RW | HV_MAP_GPA_KERNEL_EXECUTABLE);

	return m & HV_MAP_GPA_KERNEL_EXECUTABLE ? m | HV_MAP_GPA_USER_EXECUTABLE : m;
}

/* Readable but not executable: enforced by trapping every data access (strict), or not at all. */
static bool no_execute(uint8_t m)
{
	return m && !(m & HV_MAP_GPA_KERNEL_EXECUTABLE);
}

/* What the host enforces for mask m: m itself, or (permissive) m with execution added. */
static uint8_t enforced(const struct hv_partition *p, uint8_t m)
{
	return p->cfg.policy == HV_POLICY_PERMISSIVE && no_execute(m)
		       ? m | HV_MAP_GPA_KERNEL_EXECUTABLE | HV_MAP_GPA_USER_EXECUTABLE
		       : m;
}

uint16_t hv_vtl_prot_check(struct hv_partition *p, unsigned int vtl, uint32_t flags)
{
	/* Only R, W, KX, UX are protections; ADJUSTABLE and the rest are map flags. Read comes with anything. */
	if (flags & ~(uint32_t)HV_MAP_GPA_RWX)
		return HV_STATUS_INVALID_PARAMETER;
	if (flags && !(flags & HV_MAP_GPA_READABLE))
		return HV_STATUS_INVALID_PARAMETER;
	if (p->cfg.policy == HV_POLICY_PERMISSIVE && no_execute(normalize(flags)))
		__atomic_fetch_add(&p->prot_unenforced, 1, __ATOMIC_RELAXED);
	return HV_STATUS_SUCCESS;
}

static uint8_t vtl_mask(const struct hv_partition *p, unsigned int v, uint64_t gpn)
{
	const uint8_t *t = __atomic_load_n(&p->prot[v], __ATOMIC_ACQUIRE);

	return t ? __atomic_load_n(&t[gpn], __ATOMIC_RELAXED) : HV_MAP_GPA_RWX;
}

uint8_t hv_vtl_prot_effective(const struct hv_partition *p, unsigned int vtl, uint64_t gpa)
{
	uint64_t gpn = gpa / HV_PAGE_SIZE;
	uint8_t m = HV_MAP_GPA_RWX;

	if (gpn >= p->prot_pages)
		return m;
	for (unsigned int v = vtl + 1; v <= p->cfg.max_vtl; v++)
		m &= vtl_mask(p, v, gpn);
	return m;
}

int hv_vtl_prot_denier(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t access)
{
	uint64_t gpn = gpa / HV_PAGE_SIZE;

	if (gpn >= p->prot_pages)
		return -1;
	/* The nearest VTL above is told first (spec 4.6). */
	for (unsigned int v = vtl + 1; v <= p->cfg.max_vtl; v++)
		if ((vtl_mask(p, v, gpn) & access) != access)
			return (int)v;
	return -1;
}

/* Apply the effective masks of every VTL below `setter` over [gpn, gpn + n) to their views. */
static bool apply_below(struct hv_partition *p, unsigned int setter, uint64_t gpn, uint64_t n)
{
	for (unsigned int t = 0; t < setter; t++) {
		uint64_t i = 0;

		while (i < n) {
			uint8_t m = enforced(p, hv_vtl_prot_effective(p, t, (gpn + i) * HV_PAGE_SIZE));
			uint64_t j = i + 1;

			/* One host call per run with one effective mask. */
			while (j < n && enforced(p, hv_vtl_prot_effective(p, t, (gpn + j) * HV_PAGE_SIZE)) == m)
				j++;
			if (!p->ops->protect(p->host, t, (gpn + i) * HV_PAGE_SIZE, j - i, m))
				return false;
			i = j;
		}
	}
	return true;
}

/* The table of VTL v, created all-RWX on first use. Caller holds prot_lock. */
static uint8_t *table(struct hv_partition *p, unsigned int v)
{
	if (!p->prot[v]) {
		uint8_t *t = malloc(p->prot_pages);

		if (!t)
			return NULL;
		memset(t, HV_MAP_GPA_RWX, p->prot_pages);
		__atomic_store_n(&p->prot[v], t, __ATOMIC_RELEASE);
	}
	return p->prot[v];
}

/*
 * Set VTL setter's mask m over [gpn, gpn + n) and apply it. On a host failure
 * the old masks come back (old[] holds n bytes of scratch) and false returns.
 */
static bool set_run(struct hv_partition *p, unsigned int setter, uint64_t gpn, uint64_t n, uint8_t m, uint8_t *old)
{
	uint8_t *t = table(p, setter);

	if (!t)
		return false;
	memcpy(old, t + gpn, n);
	for (uint64_t i = 0; i < n; i++)
		__atomic_store_n(&t[gpn + i], m, __ATOMIC_RELAXED);
	if (apply_below(p, setter, gpn, n))
		return true;
	for (uint64_t i = 0; i < n; i++)
		__atomic_store_n(&t[gpn + i], old[i], __ATOMIC_RELAXED);
	apply_below(p, setter, gpn, n);
	return false;
}

uint16_t hv_vtl_prot_set_default(struct hv_partition *p, unsigned int vtl, uint32_t flags)
{
	uint8_t m = normalize(flags), *old;
	uint16_t st = HV_STATUS_SUCCESS;

	if (m == HV_MAP_GPA_RWX)
		return st;	/* the masks start as RWX */
	old = malloc(p->prot_pages);
	pthread_mutex_lock(&p->prot_lock);
	if (!old || !set_run(p, vtl, 0, p->prot_pages, m, old))
		st = HV_STATUS_INSUFFICIENT_MEMORY;
	pthread_mutex_unlock(&p->prot_lock);
	free(old);
	return st;
}

/*
 * HvCallModifyVtlProtectionMask (spec 3.5), OpenVMM's reading: TargetVtl
 * (default: the caller) names the VTL whose masks for the VTLs below it
 * change; it cannot be VTL0. A VTL changes its own masks only once it has
 * enabled protection. Runs of consecutive pages become one host call.
 */
static uint16_t hc_modify_vtl_protection_mask(struct hv_hypercall *hc, unsigned int first, unsigned int end,
					      unsigned int *done)
{
	struct modify_vtl_protection_mask_in in;
	struct hv_partition *p = hc->p;
	uint8_t old[HV_REP_BATCH_MAX];
	uint16_t st;
	int target;
	uint8_t m;

	memcpy(&in, hc->in, sizeof(in));
	*done = first;
	if (in.partition_id != HV_PARTITION_ID_SELF)
		return HV_STATUS_ACCESS_DENIED;
	target = hv_input_vtl(in.target_vtl, hc->vtl);
	if (target < 0)
		return (uint16_t)-target;
	if (target == 0)
		return HV_STATUS_INVALID_PARAMETER;
	if (!(p->enabled_vtls & (1u << target)))
		return HV_STATUS_INVALID_VTL_STATE;
	if ((unsigned int)target == hc->vtl &&
	    !(__atomic_load_n(&p->partition_config[target], __ATOMIC_RELAXED) & HV_VSM_CONFIG_ENABLE_VTL_PROTECTION))
		return HV_STATUS_ACCESS_DENIED;
	st = hv_vtl_prot_check(p, (unsigned int)target, in.map_flags);
	if (st)
		return st;
	m = normalize(in.map_flags);

	pthread_mutex_lock(&p->prot_lock);
	while (*done < end) {
		uint64_t gpn = hv_ld64(hc->reps + (size_t)*done * 8);
		unsigned int n = 1;

		if (gpn >= p->prot_pages || !p->ops->is_ram(p->host, gpn * HV_PAGE_SIZE)) {
			st = HV_STATUS_INVALID_PARAMETER;	/* reps completed = this element's index */
			break;
		}
		while (*done + n < end && n < HV_REP_BATCH_MAX && hv_ld64(hc->reps + (size_t)(*done + n) * 8) == gpn + n &&
		       gpn + n < p->prot_pages && p->ops->is_ram(p->host, (gpn + n) * HV_PAGE_SIZE))
			n++;
		if (!set_run(p, (unsigned int)target, gpn, n, m, old)) {
			st = HV_STATUS_INSUFFICIENT_MEMORY;
			break;
		}
		*done += n;
	}
	pthread_mutex_unlock(&p->prot_lock);
	return st;
}

const struct hv_hypercall_desc hv_hc_prot[] = {
	{ .code = HVCALL_MODIFY_VTL_PROTECTION_MASK, .name = "HvCallModifyVtlProtectionMask", .rep = true,
	  .privilege = HV_ACCESS_VSM, .in_header = sizeof(struct modify_vtl_protection_mask_in), .in_elem = 8,
	  .rep_batch = hc_modify_vtl_protection_mask },
};
const unsigned int hv_hc_prot_n = sizeof(hv_hc_prot) / sizeof(hv_hc_prot[0]);

void hv_vtl_prot_init(struct hv_partition *p)
{
	pthread_mutex_init(&p->prot_lock, NULL);
	p->prot_pages = p->cfg.ram_end / HV_PAGE_SIZE;
}

void hv_vtl_prot_destroy(struct hv_partition *p)
{
	for (unsigned int v = 0; v < HV_MAX_VTLS; v++)
		free(p->prot[v]);
}
