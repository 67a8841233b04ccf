/*
 * Guest RAM: one memfd, one host mapping ("view") of it per VTL for that
 * VTL's KVM VM, and one more ("priv") for kvsm itself. Protections of a VTL
 * apply to its view only; kvsm reads and writes guest memory through priv,
 * which nothing ever changes, so it cannot fault there.
 *
 * Guest-physical layout (as on a PC): RAM from 0 up to 3 GiB, the rest of RAM
 * from 4 GiB up, leaving [3 GiB, 4 GiB) for MMIO (LAPIC, IOAPIC). The memfd
 * holds low RAM first, then high RAM, so a view is one contiguous mapping.
 */
#ifndef KVSM_GUEST_MEM_H
#define KVSM_GUEST_MEM_H

#include "overlay.h"

#include <stdbool.h>
#include <stdint.h>
#define GUEST_LOW_RAM_MAX 0xC0000000ull
#define GUEST_HIGH_RAM_BASE 0x100000000ull
#define GUEST_PAGE_SIZE 4096ull

struct guest_mem {
	int memfd;
	uint64_t size;				/* bytes of RAM */
	uint8_t *view[KVSM_MAX_VTLS];		/* host mapping per VTL, NULL if absent */
	uint8_t *priv;				/* kvsm's own mapping */
	struct overlays overlays;		/* per-VTL overlay pages over the views */
	/*
	 * Per VTL, per page of the memfd: the PROT_* its view's RAM has (VTL
	 * protections); NULL = read-write everywhere. Written under
	 * overlays.lock, read without it (a byte).
	 */
	uint8_t *prot[KVSM_MAX_VTLS];
};

static inline uint64_t guest_low_ram(uint64_t size)
{
	return size < GUEST_LOW_RAM_MAX ? size : GUEST_LOW_RAM_MAX;
}

static inline uint64_t guest_high_ram(uint64_t size)
{
	return size > GUEST_LOW_RAM_MAX ? size - GUEST_LOW_RAM_MAX : 0;
}

/* Whether [gpa, gpa + len) lies entirely in RAM of a guest with size bytes of RAM. */
bool guest_range_is_ram(uint64_t size, uint64_t gpa, uint64_t len);

/* Create the memfd; exits with a message on failure. */
void guest_mem_init(struct guest_mem *gm, uint64_t size);
/* Map the view used by one VTL (2 MiB aligned, transparent hugepages advised). */
void guest_mem_map_view(struct guest_mem *gm, unsigned int vtl);

/* kvsm's own host address of RAM [gpa, gpa + len), or NULL if not all of it is RAM. */
void *guest_mem_priv(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Offset of RAM at gpa in the memfd (gpa must be RAM). */
static inline uint64_t guest_mem_offset(uint64_t gpa)
{
	return gpa < GUEST_HIGH_RAM_BASE ? gpa : gpa - GUEST_HIGH_RAM_BASE + GUEST_LOW_RAM_MAX;
}

/* Where gpa (RAM) lies in VTL vtl's view. */
static inline void *guest_mem_view_addr(const struct guest_mem *gm, unsigned int vtl, uint64_t gpa)
{
	return gm->view[vtl] + guest_mem_offset(gpa);
}

/*
 * kvsm's address of [gpa, gpa + len) (within one page) as VTL vtl sees it,
 * for a read or a write: its overlay page there, else RAM through priv if
 * the VTL's protections allow that access; NULL otherwise.
 */
void *guest_mem_access(struct guest_mem *gm, unsigned int vtl, uint64_t gpa, uint64_t len, bool write);

/*
 * Give RAM pages [gpa, gpa + npages * 4096) of VTL vtl's view the protection
 * prot (PROT_NONE, PROT_READ or PROT_READ | PROT_WRITE), skipping what is not
 * RAM; overlay pages keep theirs until they go. false (errno set, nothing
 * changed) if the host refused, e.g. ENOMEM at vm.max_map_count.
 */
bool guest_mem_protect(struct guest_mem *gm, unsigned int vtl, uint64_t gpa, uint64_t npages, int prot);
/* The PROT_* of RAM page gpa in VTL vtl's view. */
int guest_mem_prot(const struct guest_mem *gm, unsigned int vtl, uint64_t gpa);

#endif
