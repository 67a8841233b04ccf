/*
 * Overlay pages (TLFS: the hypercall page, SIMP, SIEFP, VP assist and
 * reference TSC pages): per VTL, as on Hyper-V. Each is a page of memory of
 * its own (one memfd holds them all) mapped with MAP_FIXED over that GPA's
 * page of its VTL's view only; KVM's MMU notifiers drop the old translation,
 * no memslot changes. Other VTLs keep seeing the RAM beneath, and the RAM
 * returns to the VTL when the overlay goes. Overlays of one VTL at one GPA
 * share their page (two VPs' SIMPs at one address, say).
 */
#include "overlay.h"
#include "guest_mem.h"
#include "util.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void overlays_init(struct overlays *o, unsigned int capacity)
{
	*o = (struct overlays){ .capacity = capacity };
	pthread_mutex_init(&o->lock, NULL);
	o->memfd = memfd_create("kvsm-overlays", MFD_CLOEXEC);
	if (o->memfd < 0)
		die_errno(KVSM_EXIT_HOST, "memfd_create (overlay pages)");
	if (ftruncate(o->memfd, (off_t)capacity * GUEST_PAGE_SIZE))
		die_errno(KVSM_EXIT_HOST, "cannot size the overlay pages");
	o->base = mmap(NULL, (size_t)capacity * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, o->memfd, 0);
	if (o->base == MAP_FAILED)
		die_errno(KVSM_EXIT_HOST, "cannot map the overlay pages");
	o->free = xcalloc(capacity, sizeof(*o->free));
	for (unsigned int i = 0; i < capacity; i++)
		o->free[o->nfree++] = capacity - 1 - i;
	for (unsigned int v = 0; v < KVSM_MAX_VTLS; v++)
		o->vtl[v] = xcalloc(capacity, sizeof(*o->vtl[v]));
}

/* The overlay of (vtl, page gpa), or NULL. Caller holds o->lock. */
static struct overlay *find(struct overlays *o, unsigned int vtl, uint64_t gpa)
{
	for (unsigned int i = 0; i < o->count[vtl]; i++)
		if (o->vtl[vtl][i].gpa == gpa)
			return &o->vtl[vtl][i];
	return NULL;
}

/* Put the page at file_off of fd at gpa's page of VTL vtl's view, with protection prot. */
static void map_into_view(struct guest_mem *gm, unsigned int vtl, uint64_t gpa, int fd, uint64_t file_off, int prot)
{
	uint8_t *at = (uint8_t *)guest_mem_view_addr(gm, vtl, gpa);

	if (mmap(at, GUEST_PAGE_SIZE, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)file_off) ==
	    MAP_FAILED)
		die_errno(KVSM_EXIT_HOST, "cannot map an overlay page at GPA %#llx (VTL%u)", (unsigned long long)gpa,
			  vtl);
}

bool overlay_map(struct guest_mem *gm, unsigned int vtl, uint64_t gpa)
{
	struct overlays *o = &gm->overlays;
	struct overlay *ov;
	bool ok = true;

	gpa &= ~(GUEST_PAGE_SIZE - 1);
	if (vtl >= KVSM_MAX_VTLS || !gm->view[vtl] || !guest_range_is_ram(gm->size, gpa, GUEST_PAGE_SIZE))
		return false;
	pthread_mutex_lock(&o->lock);
	ov = find(o, vtl, gpa);
	if (ov) {
		ov->refs++;
	} else if (!o->nfree) {
		ok = false;	/* cannot happen: capacity counts every overlay MSR of the partition */
	} else {
		ov = &o->vtl[vtl][o->count[vtl]++];
		*ov = (struct overlay){ .gpa = gpa, .page = o->free[--o->nfree], .refs = 1 };
		memset(o->base + (uint64_t)ov->page * GUEST_PAGE_SIZE, 0, GUEST_PAGE_SIZE);
		map_into_view(gm, vtl, gpa, o->memfd, (uint64_t)ov->page * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE);
	}
	pthread_mutex_unlock(&o->lock);
	return ok;
}

void overlay_unmap(struct guest_mem *gm, unsigned int vtl, uint64_t gpa)
{
	struct overlays *o = &gm->overlays;
	struct overlay *ov;

	gpa &= ~(GUEST_PAGE_SIZE - 1);
	if (vtl >= KVSM_MAX_VTLS)
		return;
	pthread_mutex_lock(&o->lock);
	ov = find(o, vtl, gpa);
	if (ov && --ov->refs == 0) {
		/* The RAM beneath, as the VTL's protections have it now. */
		map_into_view(gm, vtl, gpa, gm->memfd, guest_mem_offset(gpa), guest_mem_prot(gm, vtl, gpa));
		o->free[o->nfree++] = ov->page;
		*ov = o->vtl[vtl][--o->count[vtl]];
	}
	pthread_mutex_unlock(&o->lock);
}

uint8_t *overlay_find(struct guest_mem *gm, unsigned int vtl, uint64_t gpa)
{
	struct overlays *o = &gm->overlays;
	struct overlay *ov;
	uint8_t *p = NULL;

	if (vtl >= KVSM_MAX_VTLS)
		return NULL;
	pthread_mutex_lock(&o->lock);
	ov = find(o, vtl, gpa & ~(GUEST_PAGE_SIZE - 1));
	if (ov)
		p = o->base + (uint64_t)ov->page * GUEST_PAGE_SIZE + (gpa & (GUEST_PAGE_SIZE - 1));
	pthread_mutex_unlock(&o->lock);
	return p;
}
