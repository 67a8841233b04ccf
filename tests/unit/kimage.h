/*
 * Builders for kernel images in memory (ELF64, ELF32 and multiboot headers),
 * shared by test_kernel.c and tests/cli/mkkernel.c.
 */
#ifndef KVSM_TEST_KIMAGE_H
#define KVSM_TEST_KIMAGE_H

#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIMG_MB_MAGIC	0x1BADB002u
#define KIMG_MB_AOUT	(1u << 16)

/*
 * Guest code "mov $0x2a, %al; out %al, $0xf4; cli; hlt": ends the VM through
 * the debug-exit port with status (0x2a << 1) | 1 = 85. Same bytes in 32- and
 * 64-bit mode.
 */
static const uint8_t kimg_exit_code[] = { 0xb0, 0x2a, 0xe6, 0xf4, 0xfa, 0xf4 };
#define KIMG_EXIT_STATUS 85

struct kseg {
	uint32_t type;
	uint64_t off, paddr, filesz, memsz;
};

static inline void kimg_wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void kimg_wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void kimg_wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/*
 * Write an ELF executable of class bits (32 or 64) into buf: header, program
 * headers right after it, and for each segment filesz pattern bytes at off
 * (distinct per segment and per byte, never 0). Returns the file length: the
 * end of the headers or of the last segment's file bytes, whichever is larger.
 */
static inline size_t kimg_elf(uint8_t *buf, size_t cap, int bits, uint64_t entry,
			      const struct kseg *s, unsigned int n)
{
	size_t ehsize = bits == 64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	size_t phsize = bits == 64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t len = ehsize + n * phsize;

	for (unsigned int i = 0; i < n; i++)
		if (s[i].off + s[i].filesz > len)
			len = s[i].off + s[i].filesz;
	if (len > cap) {
		fprintf(stderr, "kimg_elf: image of %zu bytes exceeds buffer of %zu\n", len, cap);
		abort();
	}
	memset(buf, 0, len);
	for (unsigned int i = 0; i < n; i++)
		for (uint64_t j = 0; j < s[i].filesz; j++)
			buf[s[i].off + j] = (uint8_t)(1 + (i * 37 + j) % 251);

	memcpy(buf, ELFMAG, SELFMAG);
	buf[EI_CLASS] = bits == 64 ? ELFCLASS64 : ELFCLASS32;
	buf[EI_DATA] = ELFDATA2LSB;
	buf[EI_VERSION] = EV_CURRENT;
	if (bits == 64) {
		Elf64_Ehdr eh;

		memcpy(&eh, buf, sizeof(eh));
		eh.e_type = ET_EXEC;
		eh.e_machine = EM_X86_64;
		eh.e_version = EV_CURRENT;
		eh.e_entry = entry;
		eh.e_phoff = ehsize;
		eh.e_ehsize = (uint16_t)ehsize;
		eh.e_phentsize = (uint16_t)phsize;
		eh.e_phnum = (uint16_t)n;
		memcpy(buf, &eh, sizeof(eh));
		for (unsigned int i = 0; i < n; i++) {
			Elf64_Phdr ph = {
				.p_type = s[i].type, .p_flags = PF_R | PF_W | PF_X, .p_offset = s[i].off,
				.p_vaddr = s[i].paddr, .p_paddr = s[i].paddr, .p_filesz = s[i].filesz,
				.p_memsz = s[i].memsz, .p_align = 0x1000,
			};
			memcpy(buf + ehsize + i * phsize, &ph, sizeof(ph));
		}
	} else {
		Elf32_Ehdr eh;

		memcpy(&eh, buf, sizeof(eh));
		eh.e_type = ET_EXEC;
		eh.e_machine = EM_386;
		eh.e_version = EV_CURRENT;
		eh.e_entry = (uint32_t)entry;
		eh.e_phoff = (uint32_t)ehsize;
		eh.e_ehsize = (uint16_t)ehsize;
		eh.e_phentsize = (uint16_t)phsize;
		eh.e_phnum = (uint16_t)n;
		memcpy(buf, &eh, sizeof(eh));
		for (unsigned int i = 0; i < n; i++) {
			Elf32_Phdr ph = {
				.p_type = s[i].type, .p_flags = PF_R | PF_W | PF_X,
				.p_offset = (uint32_t)s[i].off, .p_vaddr = (uint32_t)s[i].paddr,
				.p_paddr = (uint32_t)s[i].paddr, .p_filesz = (uint32_t)s[i].filesz,
				.p_memsz = (uint32_t)s[i].memsz, .p_align = 0x1000,
			};
			memcpy(buf + ehsize + i * phsize, &ph, sizeof(ph));
		}
	}
	return len;
}

/* Multiboot v1 header (magic, flags, checksum) at off. */
static inline void kimg_mb_header(uint8_t *buf, size_t off, uint32_t flags)
{
	kimg_wr32(buf + off, KIMG_MB_MAGIC);
	kimg_wr32(buf + off + 4, flags);
	kimg_wr32(buf + off + 8, (uint32_t)-(KIMG_MB_MAGIC + flags));
}

/* The a.out-kludge address fields that follow a header with flag 16. */
static inline void kimg_mb_aout(uint8_t *buf, size_t off, uint32_t header_addr, uint32_t load_addr,
				uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	kimg_wr32(buf + off + 12, header_addr);
	kimg_wr32(buf + off + 16, load_addr);
	kimg_wr32(buf + off + 20, load_end);
	kimg_wr32(buf + off + 24, bss_end);
	kimg_wr32(buf + off + 28, entry);
}

#endif
