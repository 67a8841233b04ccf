/*
 * The RAM memslots of one VTL's KVM VM (ram_slots.c): all of RAM, through
 * that VTL's view, except holes at the pages the VTL may read or write but
 * not execute (VTL protections without execute, DESIGN.md section 3).
 */
#ifndef KVSM_RAM_SLOTS_H
#define KVSM_RAM_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

struct ram_slot {
	uint64_t gpa, size;
	uint32_t id;
};

/* Written only by ram_slots_init and ram_slots_set_nx, which the core serialises (its protection lock). */
struct ram_slots {
	uint8_t *nx;			/* per memfd page: 1 = a hole (NULL until the first) */
	struct ram_slot *slot;		/* the memslots KVM has now, in GPA order */
	unsigned int n;
	uint32_t *free_ids;		/* memslot ids no slot uses */
	unsigned int nfree;
};

/* Give VTL vtl's VM its RAM memslots (no holes). */
void ram_slots_init(struct vm *vm, unsigned int vtl);
/*
 * Make pages [gpa, gpa + npages * 4096) holes (nx) or RAM again in VTL vtl's
 * VM. false, with the old layout kept, if KVM refused (its memslot limit).
 */
bool ram_slots_set_nx(struct vm *vm, unsigned int vtl, uint64_t gpa, uint64_t npages, bool nx);
/* Whether gpa's page is a hole of VTL vtl's VM (a data access there exits to kvsm). */
bool ram_slots_is_nx(const struct vm *vm, unsigned int vtl, uint64_t gpa);

#endif
