/*
 * A guest page walk (Intel SDM vol. 3 ch. 4; AMD APM vol. 2 ch. 5) for
 * HvCallTranslateVirtualAddress and for the VMM's own translation of a
 * faulting instruction's linear addresses: paging off, 32-bit paging (4 MB
 * pages with CR4.PSE), PAE, 4- and 5-level long mode. Paging structures are
 * read, and their A/D bits set, only through the walked VTL's view of guest
 * memory (guest.c), so a higher VTL's protections bind the walk as they bind
 * the processor. No allocation and no locks: the VMM may call it per access.
 */
#include "hv_internal.h"
#include "x86/arch.h"

#define PTE_P		(1ull << 0)
#define PTE_RW		(1ull << 1)
#define PTE_US		(1ull << 2)
#define PTE_PWT		(1ull << 3)
#define PTE_PCD		(1ull << 4)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)	/* PAT in a 4 KB PTE */
#define PTE_LARGE_PAT	(1ull << 12)
#define PTE_NX		(1ull << 63)
#define ADDR_MASK	0x000ffffffffff000ull	/* bits 51:12 */
#define PAE_PDPTE_RSVD	0x1e6ull		/* bits 2:1 and 8:5 */

#define VALIDATE (HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_VALIDATE_WRITE | \
		  HV_TRANSLATE_GVA_VALIDATE_EXECUTE)

enum paging { PAGING_32, PAGING_PAE, PAGING_LONG };

/* The partition's MAXPHYADDR: the VMM sets gpa_limit to 1 << MAXPHYADDR. */
static unsigned int maxphyaddr(const struct hv_partition *p)
{
	unsigned int m = p->cfg.gpa_limit ? 63 - (unsigned int)__builtin_clzll(p->cfg.gpa_limit) : 52;

	return m < 32 ? 32 : m > 52 ? 52 : m;
}

/* vtl could not read (or, write: update) the paging-structure entry at gpa. */
static uint32_t entry_fault(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, bool write,
			    struct hv_walk *w)
{
	uint8_t prot = hv_vtl_prot_effective(p, vtl, gpa);

	w->gpa = gpa;
	if (!(prot & HV_MAP_GPA_READABLE))
		return HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS;
	if (write && !(prot & HV_MAP_GPA_WRITABLE))
		return HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS;
	return HV_TRANSLATE_GVA_GPA_UNMAPPED;
}

/* Whether the entry of `level` (1 = PTE) maps a page rather than a table. */
static bool is_leaf(enum paging mode, const struct hv_paging_regs *r, unsigned int level, uint64_t e)
{
	if (level == 1)
		return true;
	if (!(e & PTE_PS))
		return false;
	/* PS is reserved above the PDPTE (checked in reserved()); 32-bit paging honours it only with PSE. */
	return mode != PAGING_32 || (r->cr4 & CR4_PSE);
}

/* Reserved bits of an entry at `level` beyond those every level has. */
static uint64_t reserved(enum paging mode, unsigned int level, bool leaf, unsigned int m)
{
	if (mode == PAGING_32) {
		/* A 4 MB PDE: bits 20:13 hold address bits 39:32 (as many as MAXPHYADDR allows); bit 21 is reserved. */
		unsigned int hi = (m < 40 ? m : 40) - 32;

		return leaf && level == 2 ? ((1ull << 22) - 1) & ~((1ull << (13 + hi)) - 1) : 0;
	}
	if (level >= 4)
		return PTE_PS;
	if (leaf && level == 3)
		return 0x3fffe000ull;	/* 1 GB page: bits 29:13 */
	if (leaf && level == 2)
		return 0x1fe000ull;	/* 2 MB page: bits 20:13 */
	return 0;
}

/*
 * The access rights of the whole walk (us, rw: set at every level; nx: set
 * at some level with NXE) against the access control_flags describe (SDM
 * 4.6). PrivilegeExempt drops the U/S, SMEP and SMAP checks; writes to
 * read-only pages still fail under CR0.WP, as OpenVMM's also do.
 */
static uint32_t check_rights(const struct hv_paging_regs *r, uint64_t flags, bool us, bool rw, bool nx)
{
	bool user, sup, smap;

	if (flags & HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT) {
		user = sup = false;
	} else if (flags & (HV_TRANSLATE_GVA_SUPERVISOR_ACCESS | HV_TRANSLATE_GVA_USER_ACCESS)) {
		user = flags & HV_TRANSLATE_GVA_USER_ACCESS;
		sup = flags & HV_TRANSLATE_GVA_SUPERVISOR_ACCESS;
	} else {
		user = r->cpl == 3;
		sup = !user;
	}
	smap = sup && us && (r->cr4 & CR4_SMAP) && !(flags & HV_TRANSLATE_GVA_OVERRIDE_SMAP) &&
	       ((flags & HV_TRANSLATE_GVA_ENFORCE_SMAP) || !(r->rflags & RFLAGS_AC));
	if (user && !us)
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	if ((flags & HV_TRANSLATE_GVA_VALIDATE_WRITE) && !rw && (user || (r->cr0 & CR0_WP)))
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	if ((flags & HV_TRANSLATE_GVA_VALIDATE_EXECUTE) && (nx || (sup && us && (r->cr4 & CR4_SMEP))))
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	if ((flags & (HV_TRANSLATE_GVA_VALIDATE_READ | HV_TRANSLATE_GVA_VALIDATE_WRITE)) && smap)
		return HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION;
	return HV_TRANSLATE_GVA_SUCCESS;
}

/*
 * The translated page itself, when an access is to be validated: the VTL
 * protections higher VTLs set (there is no result code for execute, so a
 * denied fetch is Intercept: a higher VTL would get it), then whether it is
 * memory at all in vtl's view (RAM or an overlay page).
 */
static uint32_t check_page(const struct hv_partition *p, unsigned int vtl, uint64_t flags, struct hv_walk *w)
{
	uint8_t prot;

	if (!(flags & VALIDATE))
		return HV_TRANSLATE_GVA_SUCCESS;
	prot = hv_vtl_prot_effective(p, vtl, w->gpa);
	if ((flags & HV_TRANSLATE_GVA_VALIDATE_READ) && !(prot & HV_MAP_GPA_READABLE))
		return HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS;
	if ((flags & HV_TRANSLATE_GVA_VALIDATE_WRITE) && !(prot & HV_MAP_GPA_WRITABLE))
		return HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS;
	/* Without MBEC (kvsm offers none) KX governs user and kernel fetches alike. */
	if ((flags & HV_TRANSLATE_GVA_VALIDATE_EXECUTE) && !(prot & HV_MAP_GPA_KERNEL_EXECUTABLE))
		return HV_TRANSLATE_GVA_INTERCEPT;
	if (!hv_guest_accessible(p, vtl, w->gpa & ~(uint64_t)(HV_PAGE_SIZE - 1), 1, false))
		return HV_TRANSLATE_GVA_GPA_UNMAPPED;
	return HV_TRANSLATE_GVA_SUCCESS;
}

uint32_t hv_paging_walk(const struct hv_partition *p, unsigned int vtl, const struct hv_paging_regs *r,
			uint64_t gva, uint64_t flags, struct hv_walk *w)
{
	unsigned int m = maxphyaddr(p), levels, bits, size, level, shift = 12;
	uint64_t high = ~0ull << m, table, rsvd, e = 0;
	bool nxe = r->efer & EFER_NXE, us = true, rw = true, nx = false;
	enum paging mode;

	w->gpa = 0;
	w->pat_index = -1;
	if (!(r->efer & EFER_LMA))
		gva = (uint32_t)gva;
	if (!(r->cr0 & CR0_PG)) {
		w->gpa = gva;
		return check_page(p, vtl, flags, w);
	}
	if (r->efer & EFER_LMA) {
		unsigned int va_bits = r->cr4 & CR4_LA57 ? 57 : 48;

		/* Non-canonical: OpenVMM reports it as InvalidPageTableFlags too. */
		if ((int64_t)(gva << (64 - va_bits)) >> (64 - va_bits) != (int64_t)gva)
			return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
		mode = PAGING_LONG, levels = va_bits == 57 ? 5 : 4, bits = 9, size = 8;
		rsvd = (high & ~0xfff0000000000000ull) | (nxe ? 0 : PTE_NX);	/* 51:M */
		table = r->cr3 & ADDR_MASK & ~high;
	} else if (r->cr4 & CR4_PAE) {
		/* The four PDPTEs (the CPU caches them at CR3 loads; read here at walk time) have no A or rights bits. */
		uint64_t addr = (r->cr3 & 0xffffffe0u) + ((gva >> 30) & 3) * 8;

		if (!hv_read_guest(p, vtl, addr, &e, 8))
			return entry_fault(p, vtl, addr, false, w);
		if (!(e & PTE_P))
			return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
		if (e & (high | PAE_PDPTE_RSVD))
			return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
		mode = PAGING_PAE, levels = 2, bits = 9, size = 8;
		rsvd = (high & ~PTE_NX) | (nxe ? 0 : PTE_NX);	/* 62:M */
		table = e & ADDR_MASK;
	} else {
		mode = PAGING_32, levels = 2, bits = 10, size = 4, rsvd = 0;
		table = r->cr3 & 0xfffff000u;
	}

	for (level = levels;; level--) {
		uint64_t addr, set;
		bool leaf;

		shift = 12 + bits * (level - 1);
		addr = table + ((gva >> shift) & ((1u << bits) - 1)) * size;
		e = 0;
		if (!hv_read_guest(p, vtl, addr, &e, size))
			return entry_fault(p, vtl, addr, false, w);
		for (;;) {
			int rc;

			if (!(e & PTE_P))
				return HV_TRANSLATE_GVA_PAGE_NOT_PRESENT;
			leaf = is_leaf(mode, r, level, e);
			if (e & (rsvd | reserved(mode, level, leaf, m)))
				return HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS;
			if (leaf) {
				uint32_t st = check_rights(r, flags, us && (e & PTE_US), rw && (e & PTE_RW),
							   nx || (nxe && (e & PTE_NX)));

				if (st)
					return st;
			}
			/* A on every entry used; D on the leaf of a write; only once the access is allowed there. */
			set = !(flags & HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS) ? 0 :
			      PTE_A | (leaf && (flags & HV_TRANSLATE_GVA_VALIDATE_WRITE) ? PTE_D : 0);
			if ((e & set) == set)
				break;
			rc = hv_guest_cmpxchg(p, vtl, addr, size, &e, e | set);
			if (rc > 0)
				break;
			if (rc < 0)
				return entry_fault(p, vtl, addr, true, w);
			/* Another VP rewrote the entry since it was read: judge what it holds now. */
		}
		us = us && (e & PTE_US);
		rw = rw && (e & PTE_RW);
		nx = nx || (nxe && (e & PTE_NX));
		if (leaf)
			break;
		table = e & (mode == PAGING_32 ? 0xfffff000u : ADDR_MASK);
	}

	if (mode == PAGING_32 && level == 2)	/* 4 MB page: address bits 39:32 sit in bits 20:13 */
		w->gpa = (e & 0xffc00000u) | ((e >> 13) & 0xff) << 32 | (gva & 0x3fffff);
	else
		w->gpa = (e & ADDR_MASK & ~((1ull << shift) - 1)) | (gva & ((1ull << shift) - 1));
	w->pat_index = (int)(((level == 1 ? e & PTE_PS : e & PTE_LARGE_PAT) ? 4 : 0) | (e & PTE_PCD ? 2 : 0) |
			     (e & PTE_PWT ? 1 : 0));
	return check_page(p, vtl, flags, w);
}

uint32_t hv_translate_gva(const struct hv_partition *p, unsigned int vtl, const struct hv_paging_regs *regs,
			  uint64_t gva, uint64_t control_flags, uint64_t *gpa)
{
	struct hv_walk w;
	uint32_t rc = hv_paging_walk(p, vtl, regs, gva, control_flags, &w);

	*gpa = w.gpa;
	return rc;
}
