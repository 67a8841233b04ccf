/*
 * Execute protection on stock KVM (DESIGN.md section 3): a host mapping
 * cannot deny execution alone, but a GPA without a memslot is MMIO to KVM.
 * Its data accesses exit as KVM_EXIT_MMIO, which kvsm completes from RAM as
 * the VTL's protections allow (vtl_fault.c), and an instruction fetch there
 * fails emulation, which kvsm reports as an execute intercept. So a page
 * that is readable but not executable for a VTL is a hole in that VTL's RAM
 * memslots. Every data access to it costs an exit; pages with other
 * protections stay in the slots and are enforced by the view's mapping.
 *
 * A change rebuilds the slot list of the VM: slots that stay identical are
 * kept, the others deleted, then the new ones created. While that happens a
 * vCPU may find RAM missing for an instant; its MMIO exit is completed from
 * RAM and its fetch retried (vtl_fault.c), so nothing is lost.
 */
#include "ram_slots.h"
#include "util.h"
#include "vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static int set_slot(struct vm *vm, unsigned int vtl, uint32_t id, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = id, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = size ? (uintptr_t)guest_mem_view_addr(&vm->mem, vtl, gpa) : 0,
	};

	return ioctl(vm->vm_fd[vtl], KVM_SET_USER_MEMORY_REGION, &r);
}

/*
 * Append the RAM runs of [base, base + len) that are not holes to list,
 * which has n entries and room for max; false if they do not fit.
 */
static bool runs(const struct ram_slots *s, uint64_t base, uint64_t len, struct ram_slot *list, unsigned int *n,
		 unsigned int max)
{
	uint64_t first = guest_mem_offset(base) / GUEST_PAGE_SIZE, pages = len / GUEST_PAGE_SIZE;

	for (uint64_t i = 0; i < pages;) {
		uint64_t j = i;

		while (j < pages && !(s->nx && s->nx[first + j]))
			j++;
		if (j > i) {
			if (*n == max)
				return false;
			list[(*n)++] = (struct ram_slot){ .gpa = base + i * GUEST_PAGE_SIZE,
							  .size = (j - i) * GUEST_PAGE_SIZE };
		}
		while (j < pages && s->nx && s->nx[first + j])
			j++;
		i = j;
	}
	return true;
}

static bool same(const struct ram_slot *a, const struct ram_slot *b)
{
	return a->gpa == b->gpa && a->size == b->size;
}

#define NEW_SLOT UINT32_MAX	/* a wanted slot KVM does not have yet */

/*
 * Make KVM's slots what the hole map says. Both lists are in GPA order, so
 * one pass finds the slots to keep; the others are deleted first, then the
 * new ones created. s->slot always ends as what KVM has.
 */
static bool apply(struct vm *vm, unsigned int vtl)
{
	struct ram_slots *s = &vm->slots[vtl];
	uint64_t low = guest_low_ram(vm->mem.size), high = guest_high_ram(vm->mem.size);
	unsigned int max = s->n + s->nfree, n = 0, k = 0, j = 0;	/* at most as many slots as ids */
	struct ram_slot *want = xcalloc(max, sizeof(*want));
	bool ok = runs(s, 0, low, want, &n, max) && (!high || runs(s, GUEST_HIGH_RAM_BASE, high, want, &n, max));

	if (!ok) {
		free(want);
		return false;	/* more runs than KVM has memslots */
	}
	for (unsigned int w = 0; w < n; w++)
		want[w].id = NEW_SLOT;
	for (unsigned int i = 0; i < s->n; i++) {
		while (j < n && want[j].gpa < s->slot[i].gpa)
			j++;
		if (j < n && same(&s->slot[i], &want[j])) {
			want[j++].id = s->slot[i].id;
			continue;
		}
		if (set_slot(vm, vtl, s->slot[i].id, s->slot[i].gpa, 0))
			die_errno(KVSM_EXIT_HOST, "cannot delete memslot %u of VTL%u", s->slot[i].id, vtl);
		s->free_ids[s->nfree++] = s->slot[i].id;
	}
	for (unsigned int w = 0; w < n; w++) {
		if (want[w].id == NEW_SLOT) {
			/* Refused (the caller restores the old hole map and applies it again). */
			if (!ok || !s->nfree || set_slot(vm, vtl, s->free_ids[s->nfree - 1], want[w].gpa, want[w].size)) {
				ok = false;
				continue;
			}
			want[w].id = s->free_ids[--s->nfree];
		}
		want[k++] = want[w];
	}
	free(s->slot);
	s->slot = want;
	s->n = k;
	return ok;
}

void ram_slots_init(struct vm *vm, unsigned int vtl)
{
	struct ram_slots *s = &vm->slots[vtl];
	int max = kvm_check_cap(&vm->host, KVM_CAP_NR_MEMSLOTS);

	/* KVM's limit, less a few for slots of its own; at least the two RAM regions. */
	s->nfree = max > 8 ? (unsigned int)max - 4 : 2;
	s->free_ids = xcalloc(s->nfree, sizeof(*s->free_ids));
	for (unsigned int i = 0; i < s->nfree; i++)
		s->free_ids[i] = s->nfree - 1 - i;	/* id 0 first */
	if (!apply(vm, vtl))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_USER_MEMORY_REGION (RAM of VTL%u)", vtl);
}

/* Set the holes of memfd pages [first, last) to nx; returns whether any changed. old gets the previous bytes. */
static bool mark(struct ram_slots *s, uint64_t first, uint64_t last, bool nx, uint8_t *old)
{
	bool changed = false;

	memcpy(old, s->nx + first, last - first);
	for (uint64_t i = first; i < last; i++) {
		changed |= s->nx[i] != nx;
		s->nx[i] = nx;
	}
	return changed;
}

bool ram_slots_set_nx(struct vm *vm, unsigned int vtl, uint64_t gpa, uint64_t npages, bool nx)
{
	struct ram_slots *s = &vm->slots[vtl];
	uint64_t end = gpa + npages * GUEST_PAGE_SIZE, first[2] = { 0 }, last[2] = { 0 };
	uint8_t *old[2] = { NULL, NULL };
	bool changed = false, ok = true;

	if (!s->nx) {
		if (!nx)
			return true;
		s->nx = xcalloc(vm->mem.size / GUEST_PAGE_SIZE, 1);
	}
	/* Each RAM region the range meets: low RAM, then high RAM. */
	for (int r = 0; r < 2; r++) {
		uint64_t base = r ? GUEST_HIGH_RAM_BASE : 0;
		uint64_t top = base + (r ? guest_high_ram(vm->mem.size) : guest_low_ram(vm->mem.size));
		uint64_t a = gpa > base ? gpa : base, b = end < top ? end : top;

		if (a >= b)
			continue;
		first[r] = guest_mem_offset(a) / GUEST_PAGE_SIZE;
		last[r] = guest_mem_offset(b - 1) / GUEST_PAGE_SIZE + 1;
		old[r] = xcalloc(last[r] - first[r], 1);
		changed |= mark(s, first[r], last[r], nx, old[r]);
	}
	if (changed && !apply(vm, vtl)) {
		for (int r = 0; r < 2; r++)
			if (old[r])
				memcpy(s->nx + first[r], old[r], last[r] - first[r]);
		if (!apply(vm, vtl))
			die(KVSM_EXIT_HOST, "cannot restore the RAM memslots of VTL%u", vtl);
		errno = ENOSPC;
		ok = false;
	}
	free(old[0]);
	free(old[1]);
	return ok;
}

bool ram_slots_is_nx(const struct vm *vm, unsigned int vtl, uint64_t gpa)
{
	const struct ram_slots *s = &vm->slots[vtl];

	return s->nx && guest_range_is_ram(vm->mem.size, gpa, 1) && s->nx[guest_mem_offset(gpa) / GUEST_PAGE_SIZE];
}
