/*
 * libFuzzer target for the kernel loaders (src/loader/): the input is a
 * kernel file (ELF64, multiboot ELF32 or a.out kludge). kernel_parse must
 * either refuse it or give segments that lie in RAM, outside the boot data
 * area, inside the file and apart from each other, with the entry in one of
 * them; kernel_copy then writes only those. The multiboot information is
 * built with a command line taken from the input. Built with ASan and UBSan.
 */
#include "guest_mem.h"
#include "loader/kernel.h"
#include "loader/multiboot.h"

#include <stdlib.h>
#include <string.h>

#define COPY_RAM (4ull << 20)	/* small enough to copy every input into */

static uint8_t guest[COPY_RAM];

static void *ram_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	if (gpa > COPY_RAM || len > COPY_RAM - gpa)
		abort();
	return guest + gpa;
}

/* The promises kernel_parse makes about an image it accepts. */
static void check_image(const struct kernel_image *img, size_t len, uint64_t ram)
{
	bool entry_found = false;

	if (img->nseg > KERNEL_MAX_SEGMENTS)
		abort();
	for (unsigned int i = 0; i < img->nseg; i++) {
		const struct kernel_segment *s = &img->seg[i];

		if (s->filesz > s->memsz || s->file_off > len || s->filesz > len - s->file_off ||
		    !guest_range_is_ram(ram, s->paddr, s->memsz) ||
		    (s->paddr < BOOT_AREA_END && s->paddr + s->memsz > BOOT_AREA_START))
			abort();
		for (unsigned int j = 0; j < i; j++)
			if (s->paddr < img->seg[j].paddr + img->seg[j].memsz &&
			    img->seg[j].paddr < s->paddr + s->memsz)
				abort();
		entry_found |= img->entry >= s->paddr && img->entry < s->paddr + s->memsz;
	}
	if (!entry_found)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mbi[MBI_AREA_END - MBI_GPA];
	struct kernel_image img;
	char err[256], cmdline[MBI_CMDLINE_MAX];
	size_t n = size < sizeof(cmdline) - 1 ? size : sizeof(cmdline) - 1;

	/* A guest with RAM above the PCI hole too: parsed and checked, not copied. */
	if (kernel_parse(data, size, 6ull << 30, &img, err, sizeof(err)))
		check_image(&img, size, 6ull << 30);
	if (kernel_parse(data, size, COPY_RAM, &img, err, sizeof(err))) {
		check_image(&img, size, COPY_RAM);
		kernel_copy(&img, data, ram_ptr, NULL);
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort();	/* a refusal always says why */
	}
	memcpy(cmdline, data, n);
	cmdline[n] = '\0';
	multiboot_build_info(mbi, size & 1 ? 6ull << 30 : COPY_RAM, cmdline);
	return 0;
}
