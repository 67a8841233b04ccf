/* Multiboot v1 information structure, built the way QEMU's -kernel loader builds it. */
#ifndef KVSM_LOADER_MULTIBOOT_H
#define KVSM_LOADER_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

/* Where the VMM puts the information (inside the boot data area). */
#define MBI_GPA		0x8000ull
#define MBI_CMDLINE_GPA	0x9000ull
#define MBI_AREA_END	0xB000ull
#define MBI_CMDLINE_MAX	(MBI_AREA_END - MBI_CMDLINE_GPA)

/* Multiboot info flags (multiboot spec 3.3). */
#define MBI_FLAG_MEM		(1u << 0)
#define MBI_FLAG_CMDLINE	(1u << 2)
#define MBI_FLAG_MODS		(1u << 3)
#define MBI_FLAG_MMAP		(1u << 6)
#define MBI_FLAG_LOADER_NAME	(1u << 9)

#define MMAP_AVAILABLE 1u
#define MMAP_RESERVED  2u

/*
 * Fill area, the host view of guest [MBI_GPA, MBI_AREA_END), for a guest
 * with ram bytes of RAM. cmdline is the full multiboot command line; it
 * must fit in MBI_CMDLINE_MAX bytes including its NUL (checked by caller).
 */
void multiboot_build_info(uint8_t *area, uint64_t ram, const char *cmdline);

#endif
