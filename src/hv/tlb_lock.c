/*
 * TLB locks (spec 1.7.7, 3.7, 3.10). VTL m of a VP locks that VP's TLB for a
 * lower VTL n with HvRegisterVsmVpSecureConfigVtlN.TlbLocked or
 * HvCallTranslateVirtualAddress's TlbFlushInhibit, so that a translation it
 * relies on stays valid. While any VTL holds it, a flush hypercall of VTL n
 * that targets the VP does not complete: its handler answers
 * HV_RETRY_AFTER_WAIT, the dispatcher HV_HYPERCALL_RETRY, and the caller
 * issues the call again after the host's tlb_unlocked wake-up. A VTL drops
 * the locks it holds when it returns to a lower VTL (hv_vtl_entered).
 *
 * Locks are only ever taken and dropped on the VP's own thread (the holder
 * runs there); other VPs read them to decide whether their flush may run.
 */
#include "hv_internal.h"

#define LOCK_BIT(m, n) (1u << ((m) * HV_MAX_VTLS + (n)))

/* Bits of every holder's lock for VTL n. */
static unsigned int holders_of(unsigned int n)
{
	unsigned int bits = 0;

	for (unsigned int m = n + 1; m < HV_MAX_VTLS; m++)
		bits |= LOCK_BIT(m, n);
	return bits;
}

static unsigned int locks(const struct hv_partition *p, unsigned int vp)
{
	return __atomic_load_n(&p->vps[vp].vsm.tlb_locks, __ATOMIC_ACQUIRE);
}

bool hv_tlb_lock_held(const struct hv_partition *p, unsigned int vp, unsigned int m, unsigned int n)
{
	return locks(p, vp) & LOCK_BIT(m, n);
}

void hv_tlb_lock(struct hv_partition *p, unsigned int vp, unsigned int m, unsigned int n)
{
	__atomic_or_fetch(&p->vps[vp].vsm.tlb_locks, LOCK_BIT(m, n), __ATOMIC_SEQ_CST);
}

/* Drop the locks in bits; a flush waiting for one of them may run now. */
static void unlock(struct hv_partition *p, unsigned int vp, unsigned int bits)
{
	/* Only this VP's thread takes or drops them: none held (every VTL return, as a rule) needs no atomic RMW. */
	if (!(locks(p, vp) & bits))
		return;
	/* Cleared before the wake-up, so a woken caller's retry sees it released. */
	if (__atomic_fetch_and(&p->vps[vp].vsm.tlb_locks, ~bits, __ATOMIC_SEQ_CST) & bits)
		p->ops->tlb_unlocked(p->host);
}

void hv_tlb_unlock(struct hv_partition *p, unsigned int vp, unsigned int m, unsigned int n)
{
	unlock(p, vp, LOCK_BIT(m, n));
}

void hv_tlb_unlock_all(struct hv_partition *p, unsigned int vp, unsigned int m)
{
	unsigned int bits = 0;

	for (unsigned int n = 0; n < m; n++)
		bits |= LOCK_BIT(m, n);
	unlock(p, vp, bits);
}

bool hv_tlb_flush_blocked(const struct hv_partition *p, unsigned int vtl, const uint64_t *mask)
{
	for (unsigned int vp = 0; vp < p->cfg.nr_vps; vp++)
		if ((mask[vp / 64] >> (vp % 64) & 1) && (locks(p, vp) & holders_of(vtl)))
			return true;
	return false;
}
