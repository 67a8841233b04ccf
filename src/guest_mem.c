#include "guest_mem.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_2M (2ull << 20)

bool guest_range_is_ram(uint64_t size, uint64_t gpa, uint64_t len)
{
	uint64_t low = guest_low_ram(size), high = guest_high_ram(size);

	if (len == 0 || gpa + len < gpa)
		return false;
	if (gpa + len <= low)
		return true;
	return gpa >= GUEST_HIGH_RAM_BASE && gpa + len <= GUEST_HIGH_RAM_BASE + high;
}

/* A mapping of all guest RAM, 2 MiB aligned (THP-friendly). */
static uint8_t *map_ram(struct guest_mem *gm)
{
	/* Over-reserve so the mapping can start on a 2 MiB boundary. */
	uint64_t span = gm->size + HUGE_2M;
	uint8_t *res, *base;

	res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		die_errno(KVSM_EXIT_HOST, "cannot reserve address space for guest RAM");
	base = (uint8_t *)ALIGN_UP((uintptr_t)res, HUGE_2M);
	if (base > res)
		munmap(res, (size_t)(base - res));
	munmap(base + gm->size, (size_t)(res + span - (base + gm->size)));

	if (mmap(base, gm->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, gm->memfd, 0) == MAP_FAILED)
		die_errno(KVSM_EXIT_HOST, "cannot map guest RAM");
	madvise(base, gm->size, MADV_HUGEPAGE);	/* advisory: fine if shmem THP is off */
	return base;
}

void guest_mem_init(struct guest_mem *gm, uint64_t size)
{
	*gm = (struct guest_mem){ .size = size };
	gm->memfd = memfd_create("kvsm-ram", MFD_CLOEXEC);
	if (gm->memfd < 0)
		die_errno(KVSM_EXIT_HOST, "memfd_create");
	if (ftruncate(gm->memfd, (off_t)size))
		die_errno(KVSM_EXIT_HOST, "cannot size guest RAM to %llu bytes", (unsigned long long)size);
	gm->priv = map_ram(gm);
}

void guest_mem_map_view(struct guest_mem *gm, unsigned int vtl)
{
	gm->view[vtl] = map_ram(gm);
}

void *guest_mem_priv(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (!guest_range_is_ram(gm->size, gpa, len))
		return NULL;
	return gm->priv + guest_mem_offset(gpa);
}

int guest_mem_prot(const struct guest_mem *gm, unsigned int vtl, uint64_t gpa)
{
	const uint8_t *t = __atomic_load_n(&gm->prot[vtl], __ATOMIC_ACQUIRE);

	return t ? __atomic_load_n(&t[guest_mem_offset(gpa) / GUEST_PAGE_SIZE], __ATOMIC_RELAXED)
		 : PROT_READ | PROT_WRITE;
}

void *guest_mem_access(struct guest_mem *gm, unsigned int vtl, uint64_t gpa, uint64_t len, bool write)
{
	uint8_t *ov = overlay_find(gm, vtl, gpa);

	if (ov)
		return ov;
	if (!guest_range_is_ram(gm->size, gpa, len) ||
	    !(guest_mem_prot(gm, vtl, gpa) & (write ? PROT_WRITE : PROT_READ)))
		return NULL;
	return guest_mem_priv(gm, gpa, len);
}

/* mprotect one run of memfd pages [first, end) of VTL vtl's view, in pieces around its overlay pages. */
static bool protect_run(struct guest_mem *gm, unsigned int vtl, uint64_t first, uint64_t end, int prot)
{
	while (first < end) {
		uint64_t stop = end;

		/* Overlays are few (a handful per VP): skip any inside the run. */
		for (unsigned int i = 0; i < gm->overlays.count[vtl]; i++) {
			uint64_t pg = guest_mem_offset(gm->overlays.vtl[vtl][i].gpa) / GUEST_PAGE_SIZE;

			if (pg >= first && pg < stop)
				stop = pg;
		}
		if (stop > first && mprotect(gm->view[vtl] + first * GUEST_PAGE_SIZE,
					     (stop - first) * GUEST_PAGE_SIZE, prot))
			return false;
		first = stop + (stop < end);	/* past the overlay page, if one stopped the piece */
	}
	return true;
}

bool guest_mem_protect(struct guest_mem *gm, unsigned int vtl, uint64_t gpa, uint64_t npages, int prot)
{
	struct overlays *o = &gm->overlays;
	uint64_t pages = gm->size / GUEST_PAGE_SIZE;
	uint64_t end = gpa + npages * GUEST_PAGE_SIZE;
	bool ok = true;

	pthread_mutex_lock(&o->lock);
	if (!gm->prot[vtl]) {
		uint8_t *t = malloc(pages);

		if (!t) {
			pthread_mutex_unlock(&o->lock);
			return false;
		}
		memset(t, PROT_READ | PROT_WRITE, pages);
		__atomic_store_n(&gm->prot[vtl], t, __ATOMIC_RELEASE);
	}
	/* Clip to each RAM region: low RAM, then high RAM. */
	for (int r = 0; r < 2 && ok; r++) {
		uint64_t base = r ? GUEST_HIGH_RAM_BASE : 0;
		uint64_t top = base + (r ? guest_high_ram(gm->size) : guest_low_ram(gm->size));
		uint64_t a = gpa > base ? gpa : base, b = end < top ? end : top;
		uint64_t first, last;

		if (a >= b)
			continue;
		first = guest_mem_offset(a) / GUEST_PAGE_SIZE;
		last = guest_mem_offset(b - 1) / GUEST_PAGE_SIZE + 1;
		if (gm->view[vtl])
			ok = protect_run(gm, vtl, first, last, prot);
		if (ok)
			for (uint64_t i = first; i < last; i++)
				__atomic_store_n(&gm->prot[vtl][i], (uint8_t)prot, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&o->lock);
	return ok;
}
