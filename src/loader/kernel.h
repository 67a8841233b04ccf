/*
 * Kernel image parsing: ELF64 (kvsm's own boot protocol, docs/boot.md) and
 * multiboot v1 (ELF32 or the a.out-kludge header), loaded as QEMU's -kernel
 * loads them. Parsing is pure so malformed images can be unit tested.
 */
#ifndef KVSM_LOADER_KERNEL_H
#define KVSM_LOADER_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERNEL_MAX_SEGMENTS 32

/* Guest-physical area the VMM keeps for boot data (GDT, page tables, multiboot info). */
#define BOOT_AREA_START 0x1000ull
#define BOOT_AREA_END   0xB000ull

enum kernel_kind { KERNEL_MULTIBOOT, KERNEL_ELF64 };

struct kernel_segment {
	uint64_t paddr;
	uint64_t file_off;
	uint64_t filesz;
	uint64_t memsz;		/* >= filesz; the rest is zero-filled */
};

struct kernel_image {
	enum kernel_kind kind;
	uint64_t entry;
	unsigned int nseg;
	struct kernel_segment seg[KERNEL_MAX_SEGMENTS];
};

/*
 * Parse a kernel file of len bytes for a guest with ram bytes of RAM. On
 * failure returns false with a one-line reason in err.
 */
bool kernel_parse(const uint8_t *buf, size_t len, uint64_t ram, struct kernel_image *img,
		  char *err, size_t errlen);

/* Copy the parsed segments into guest RAM viewed at host address ram_ptr(gpa). */
void kernel_copy(const struct kernel_image *img, const uint8_t *buf,
		 void *(*ram_ptr)(void *ctx, uint64_t gpa, uint64_t len), void *ctx);

#endif
