/* Overlay pages: a page of its own over a GPA in one VTL's view only (see overlay.c). */
#ifndef KVSM_OVERLAY_H
#define KVSM_OVERLAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define KVSM_MAX_VTLS 3

struct guest_mem;

struct overlay {
	uint64_t gpa;		/* page-aligned */
	unsigned int page;	/* page number in the overlay memfd */
	unsigned int refs;	/* MSRs of the VTL that put an overlay here */
};

/* Every field but capacity, memfd and base is guarded by lock. */
struct overlays {
	pthread_mutex_t lock;
	int memfd;
	uint8_t *base;				/* kvsm's mapping of every overlay page */
	unsigned int capacity;			/* pages */
	unsigned int *free, nfree;		/* stack of free page numbers */
	struct overlay *vtl[KVSM_MAX_VTLS];	/* per VTL: count[vtl] overlays, unordered */
	unsigned int count[KVSM_MAX_VTLS];
};

/* Room for capacity overlay pages in all (exits on failure). */
void overlays_init(struct overlays *o, unsigned int capacity);
/*
 * Put an overlay page (zero-filled when new) over gpa's page in VTL vtl's
 * view, or count one more user of the one there. false: not RAM there.
 */
bool overlay_map(struct guest_mem *gm, unsigned int vtl, uint64_t gpa);
/* Drop one user of the overlay at gpa's page in VTL vtl; the last one brings the RAM back. */
void overlay_unmap(struct guest_mem *gm, unsigned int vtl, uint64_t gpa);
/* kvsm's address of gpa in VTL vtl's overlay page there, or NULL if there is none. */
uint8_t *overlay_find(struct guest_mem *gm, unsigned int vtl, uint64_t gpa);

#endif
