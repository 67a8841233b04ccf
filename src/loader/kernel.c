#include "kernel.h"
#include "../guest_mem.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

#define MULTIBOOT_HEADER_MAGIC	0x1BADB002u
#define MULTIBOOT_SEARCH	8192
#define MB_FLAG_AOUT_KLUDGE	(1u << 16)
/* Required-feature bits 0-15 a loader must understand: page-align, mem info, video (ignored, as QEMU does). */
#define MB_FLAG_KNOWN_REQUIRED	0x7u

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return false; } while (0)

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Offset of a valid multiboot header in the first 8 KiB, or -1. */
static long find_multiboot(const uint8_t *buf, size_t len)
{
	size_t lim = len < MULTIBOOT_SEARCH ? len : MULTIBOOT_SEARCH;

	for (size_t i = 0; i + 12 <= lim; i += 4) {
		uint32_t magic = rd32(buf + i), flags = rd32(buf + i + 4), sum = rd32(buf + i + 8);

		if (magic == MULTIBOOT_HEADER_MAGIC && (uint32_t)(magic + flags + sum) == 0)
			return (long)i;
	}
	return -1;
}

static bool add_segment(struct kernel_image *img, uint64_t paddr, uint64_t off, uint64_t filesz,
			uint64_t memsz, uint64_t ram, char *err, size_t errlen)
{
	if (filesz > memsz)
		FAIL("segment at 0x%llx has file size larger than memory size", (unsigned long long)paddr);
	if (memsz == 0)
		return true;
	if (img->nseg == KERNEL_MAX_SEGMENTS)
		FAIL("kernel has more than %d loadable segments", KERNEL_MAX_SEGMENTS);
	if (!guest_range_is_ram(ram, paddr, memsz))
		FAIL("segment 0x%llx-0x%llx lies outside guest RAM", (unsigned long long)paddr,
		     (unsigned long long)(paddr + memsz));
	if (paddr < BOOT_AREA_END && paddr + memsz > BOOT_AREA_START)
		FAIL("segment 0x%llx-0x%llx overlaps the boot data area 0x%llx-0x%llx",
		     (unsigned long long)paddr, (unsigned long long)(paddr + memsz),
		     BOOT_AREA_START, BOOT_AREA_END);
	for (unsigned int i = 0; i < img->nseg; i++) {
		const struct kernel_segment *s = &img->seg[i];

		if (paddr < s->paddr + s->memsz && s->paddr < paddr + memsz)
			FAIL("segments at 0x%llx and 0x%llx overlap", (unsigned long long)s->paddr,
			     (unsigned long long)paddr);
	}
	img->seg[img->nseg++] = (struct kernel_segment){ paddr, off, filesz, memsz };
	return true;
}

static bool entry_in_segment(const struct kernel_image *img)
{
	for (unsigned int i = 0; i < img->nseg; i++)
		if (img->entry >= img->seg[i].paddr && img->entry < img->seg[i].paddr + img->seg[i].memsz)
			return true;
	return false;
}

/* Multiboot header with the a.out kludge: addresses come from the header (QEMU's rules). */
static bool parse_aout_kludge(const uint8_t *buf, size_t len, long hdr, uint64_t ram,
			      struct kernel_image *img, char *err, size_t errlen)
{
	uint32_t header_addr, load_addr, load_end, bss_end, text_off;
	uint64_t load_size, mem_size;

	if ((size_t)hdr + 32 > len)
		FAIL("multiboot header truncated");
	header_addr = rd32(buf + hdr + 12);
	load_addr = rd32(buf + hdr + 16);
	load_end = rd32(buf + hdr + 20);
	bss_end = rd32(buf + hdr + 24);
	img->entry = rd32(buf + hdr + 28);

	if (header_addr < load_addr || header_addr - load_addr > (uint32_t)hdr)
		FAIL("multiboot header_addr 0x%x inconsistent with load_addr 0x%x", header_addr, load_addr);
	text_off = (uint32_t)hdr - (header_addr - load_addr);
	if (load_end) {
		if (load_end < load_addr)
			FAIL("multiboot load_end_addr below load_addr");
		load_size = load_end - load_addr;
	} else {
		load_size = len - text_off;
	}
	if ((uint64_t)text_off + load_size > len)
		FAIL("multiboot load range extends past the end of the file");
	if ((uint64_t)load_addr + load_size > 1ull << 32)
		FAIL("multiboot load range extends past 4 GiB");
	mem_size = load_size;
	if (bss_end) {
		if (bss_end < load_addr + load_size)
			FAIL("multiboot bss_end_addr below load_end_addr");
		mem_size = (uint64_t)bss_end - load_addr;
	}
	if (!add_segment(img, load_addr, text_off, load_size, mem_size, ram, err, errlen))
		return false;
	return true;
}

/* Program headers of an ELF32 or ELF64 file, normalised to 64-bit fields. */
static bool parse_elf_phdrs(const uint8_t *buf, size_t len, bool is64, uint64_t ram,
			    struct kernel_image *img, char *err, size_t errlen)
{
	uint64_t phoff, phentsize, phnum, entry;

	if (is64) {
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

		if (len < sizeof(*eh))
			FAIL("truncated ELF64 header");
		if (eh->e_machine != EM_X86_64)
			FAIL("ELF64 kernel is not for x86-64 (e_machine %u)", eh->e_machine);
		if (eh->e_type != ET_EXEC)
			FAIL("ELF kernel is not an executable (e_type %u)", eh->e_type);
		phoff = eh->e_phoff, phentsize = eh->e_phentsize, phnum = eh->e_phnum, entry = eh->e_entry;
		if (phentsize < sizeof(Elf64_Phdr))
			FAIL("bad ELF program header size %llu", (unsigned long long)phentsize);
	} else {
		const Elf32_Ehdr *eh = (const Elf32_Ehdr *)buf;

		if (len < sizeof(*eh))
			FAIL("truncated ELF32 header");
		if (eh->e_machine != EM_386)
			FAIL("ELF32 kernel is not for i386 (e_machine %u)", eh->e_machine);
		if (eh->e_type != ET_EXEC)
			FAIL("ELF kernel is not an executable (e_type %u)", eh->e_type);
		phoff = eh->e_phoff, phentsize = eh->e_phentsize, phnum = eh->e_phnum, entry = eh->e_entry;
		if (phentsize < sizeof(Elf32_Phdr))
			FAIL("bad ELF program header size %llu", (unsigned long long)phentsize);
	}
	if (phnum == 0)
		FAIL("ELF kernel has no program headers");
	if (phoff > len || phnum * phentsize > len - phoff)
		FAIL("ELF program headers extend past the end of the file");

	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = buf + phoff + i * phentsize;
		uint64_t type, off, paddr, filesz, memsz;

		if (is64) {
			Elf64_Phdr p;

			memcpy(&p, ph, sizeof(p));
			type = p.p_type, off = p.p_offset, paddr = p.p_paddr;
			filesz = p.p_filesz, memsz = p.p_memsz;
		} else {
			Elf32_Phdr p;

			memcpy(&p, ph, sizeof(p));
			type = p.p_type, off = p.p_offset, paddr = p.p_paddr;
			filesz = p.p_filesz, memsz = p.p_memsz;
		}
		if (type != PT_LOAD)
			continue;
		if (off > len || filesz > len - off)
			FAIL("ELF segment %llu extends past the end of the file", (unsigned long long)i);
		if (!add_segment(img, paddr, off, filesz, memsz, ram, err, errlen))
			return false;
	}
	if (img->nseg == 0)
		FAIL("ELF kernel has no loadable segments");
	img->entry = entry;
	return true;
}

bool kernel_parse(const uint8_t *buf, size_t len, uint64_t ram, struct kernel_image *img,
		  char *err, size_t errlen)
{
	bool is_elf = len >= EI_NIDENT && !memcmp(buf, ELFMAG, SELFMAG);
	long mb = find_multiboot(buf, len);

	memset(img, 0, sizeof(*img));
	if (is_elf) {
		if (buf[EI_DATA] != ELFDATA2LSB)
			FAIL("ELF kernel is not little-endian");
		if (buf[EI_VERSION] != EV_CURRENT)
			FAIL("ELF kernel has an unknown ELF version");
		if (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64)
			FAIL("ELF kernel has an unknown ELF class %u", buf[EI_CLASS]);
	}

	if (is_elf && buf[EI_CLASS] == ELFCLASS64) {
		img->kind = KERNEL_ELF64;
		if (!parse_elf_phdrs(buf, len, true, ram, img, err, errlen))
			return false;
		if (img->entry >> 32)	/* the boot page tables map only the first 4 GiB */
			FAIL("ELF64 entry point 0x%llx is above the 4 GiB identity map",
			     (unsigned long long)img->entry);
	} else if (mb >= 0) {
		uint32_t flags = rd32(buf + mb + 4);

		img->kind = KERNEL_MULTIBOOT;
		if (flags & 0xffff & ~MB_FLAG_KNOWN_REQUIRED)
			FAIL("multiboot header requires unsupported features (flags 0x%x)", flags);
		if (flags & MB_FLAG_AOUT_KLUDGE) {
			if (!parse_aout_kludge(buf, len, mb, ram, img, err, errlen))
				return false;
		} else if (is_elf) {
			if (!parse_elf_phdrs(buf, len, false, ram, img, err, errlen))
				return false;
		} else {
			FAIL("multiboot kernel is not ELF and has no load addresses (flag 16 clear)");
		}
		if (img->entry >> 32)
			FAIL("multiboot entry point 0x%llx is above 4 GiB", (unsigned long long)img->entry);
	} else if (is_elf) {
		FAIL("ELF32 kernel has no multiboot header");
	} else {
		FAIL("not an ELF or multiboot kernel");
	}
	if (!entry_in_segment(img))
		FAIL("entry point 0x%llx is not inside a loaded segment", (unsigned long long)img->entry);
	return true;
}

void kernel_copy(const struct kernel_image *img, const uint8_t *buf,
		 void *(*ram_ptr)(void *ctx, uint64_t gpa, uint64_t len), void *ctx)
{
	for (unsigned int i = 0; i < img->nseg; i++) {
		const struct kernel_segment *s = &img->seg[i];
		uint8_t *dst = ram_ptr(ctx, s->paddr, s->memsz);

		memcpy(dst, buf + s->file_off, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
}
