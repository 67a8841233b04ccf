#include "guest_mem.h"
#include "util.h"

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

void *guest_mem_access(struct guest_mem *gm, unsigned int vtl, uint64_t gpa, uint64_t len)
{
	uint8_t *ov = overlay_find(gm, vtl, gpa);

	return ov ? ov : guest_mem_priv(gm, gpa, len);
}
