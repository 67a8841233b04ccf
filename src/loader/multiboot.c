#include "multiboot.h"
#include "../guest_mem.h"

#include <string.h>

/* Offsets in struct multiboot_info (multiboot spec 0.6.96, section 3.3). */
enum {
	MBI_FLAGS = 0, MBI_MEM_LOWER = 4, MBI_MEM_UPPER = 8, MBI_CMDLINE = 16,
	MBI_MODS_COUNT = 20, MBI_MODS_ADDR = 24, MBI_MMAP_LENGTH = 44, MBI_MMAP_ADDR = 48,
	MBI_LOADER_NAME = 64, MBI_SIZE = 128,
};

#define MMAP_ENTRY_SIZE 24	/* u32 size (= 20, not counting itself), u64 base, u64 length, u32 type */
static const char loader_name[] = "kvsm";

static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t *mmap_entry(uint8_t *p, uint64_t base, uint64_t len, uint32_t type)
{
	wr32(p, MMAP_ENTRY_SIZE - 4);
	wr64(p + 4, base);
	wr64(p + 12, len);
	wr32(p + 20, type);
	return p + MMAP_ENTRY_SIZE;
}

void multiboot_build_info(uint8_t *area, uint64_t ram, const char *cmdline)
{
	uint8_t *mbi = area, *mmap = area + MBI_SIZE, *p = mmap;
	uint64_t low = guest_low_ram(ram), high = guest_high_ram(ram);
	uint8_t *name;

	memset(area, 0, MBI_AREA_END - MBI_GPA);

	/* The PC memory map SeaBIOS reports under QEMU: a hole for VGA and the BIOS below 1 MiB. */
	p = mmap_entry(p, 0, 0x9fc00, MMAP_AVAILABLE);
	p = mmap_entry(p, 0x9fc00, 0x400, MMAP_RESERVED);
	p = mmap_entry(p, 0xf0000, 0x10000, MMAP_RESERVED);
	p = mmap_entry(p, 0x100000, low - 0x100000, MMAP_AVAILABLE);
	if (high)
		p = mmap_entry(p, GUEST_HIGH_RAM_BASE, high, MMAP_AVAILABLE);
	name = p;
	memcpy(name, loader_name, sizeof(loader_name));

	wr32(mbi + MBI_FLAGS, MBI_FLAG_MEM | MBI_FLAG_CMDLINE | MBI_FLAG_MODS | MBI_FLAG_MMAP |
			      MBI_FLAG_LOADER_NAME);
	wr32(mbi + MBI_MEM_LOWER, 640);
	wr32(mbi + MBI_MEM_UPPER, (uint32_t)((low - 0x100000) / 1024));
	wr32(mbi + MBI_MODS_COUNT, 0);
	wr32(mbi + MBI_MODS_ADDR, 0);
	wr32(mbi + MBI_MMAP_LENGTH, (uint32_t)(p - mmap));
	wr32(mbi + MBI_MMAP_ADDR, (uint32_t)(MBI_GPA + (uint64_t)(mmap - area)));
	wr32(mbi + MBI_LOADER_NAME, (uint32_t)(MBI_GPA + (uint64_t)(name - area)));
	wr32(mbi + MBI_CMDLINE, (uint32_t)MBI_CMDLINE_GPA);
	strcpy((char *)area + (MBI_CMDLINE_GPA - MBI_GPA), cmdline);
}
