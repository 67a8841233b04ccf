/* kernel_parse / kernel_copy: ELF64, multiboot ELF32 and multiboot a.out-kludge images. */
#include "test.h"
#include "kimage.h"
#include "guest_mem.h"
#include "loader/kernel.h"
#include "util.h"

#include <sanitizer/asan_interface.h>	/* no-op macros unless built with -fsanitize=address */
#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define RAM_128M (128 * MiB)
#define RAM_5G (5 * GiB)

static uint8_t scratch[0x10000];
static struct kernel_image img;
static char err[256];

static bool parse(const uint8_t *b, size_t len, uint64_t ram)
{
	memset(err, 0, sizeof(err));
	return kernel_parse(b, len, ram, &img, err, sizeof(err));
}

static bool parse_elf64(uint64_t entry, const struct kseg *s, unsigned int n, uint64_t ram)
{
	return parse(scratch, kimg_elf(scratch, sizeof(scratch), 64, entry, s, n), ram);
}

/* Expect the parse to fail with exactly this message. */
#define EXPECT_FAIL(call, msg) do { EXPECT(!(call)); EXPECT_STR_EQ(err, msg); } while (0)

#define EXPECT_SEG(i, pa, off, fsz, msz) do { \
	EXPECT_EQ(img.seg[i].paddr, pa); EXPECT_EQ(img.seg[i].file_off, off); \
	EXPECT_EQ(img.seg[i].filesz, fsz); EXPECT_EQ(img.seg[i].memsz, msz); \
} while (0)

#define E64(field) offsetof(Elf64_Ehdr, field)
#define E32(field) offsetof(Elf32_Ehdr, field)

/* The reference ELF64 image: code, an ignored PT_NOTE placed in the boot area, data + bss. */
static const struct kseg elf64_segs[] = {
	{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
	{ PT_NOTE, 0x1100, 0x1000, 0x10, 0x10 },
	{ PT_LOAD, 0x2000, 0x200000, 0x80, 0x1000 },
};
#define ELF64_ENTRY 0x100010
#define ELF64_LEN 0x2080

static size_t mk_elf64(uint8_t *b, size_t cap)
{
	return kimg_elf(b, cap, 64, ELF64_ENTRY, elf64_segs, 3);
}

/* The reference multiboot ELF32 image; the multiboot header starts the first segment. */
static const struct kseg elf32_segs[] = {
	{ PT_LOAD, 0x1000, 0x100000, 0x200, 0x200 },
	{ PT_LOAD, 0x1200, 0x101000, 0x40, 0x800 },
};
#define ELF32_ENTRY 0x100020
#define ELF32_LEN 0x1240
#define ELF32_MB_OFF 0x1000

static size_t mk_elf32(uint8_t *b, size_t cap, uint32_t mbflags)
{
	size_t len = kimg_elf(b, cap, 32, ELF32_ENTRY, elf32_segs, 2);

	kimg_mb_header(b, ELF32_MB_OFF, mbflags);
	return len;
}

/* The reference a.out-kludge image: 4 KiB flat file, header at 0x40, loaded at 1 MiB with bss. */
#define AOUT_LEN 0x1000
#define AOUT_HDR 0x40

static size_t mk_aout(uint8_t *b, uint32_t header_addr, uint32_t load_addr, uint32_t load_end,
		      uint32_t bss_end, uint32_t entry)
{
	for (size_t i = 0; i < AOUT_LEN; i++)
		b[i] = (uint8_t)(0x80 + i % 97);
	kimg_mb_header(b, AOUT_HDR, KIMG_MB_AOUT | 0x3);
	kimg_mb_aout(b, AOUT_HDR, header_addr, load_addr, load_end, bss_end, entry);
	return AOUT_LEN;
}

static size_t mk_aout_default(uint8_t *b)
{
	return mk_aout(b, 0x100040, 0x100000, 0x100800, 0x102000, 0x100060);
}

/* Fake guest RAM for kernel_copy: [FAKE_BASE, FAKE_BASE + FAKE_SIZE), pre-filled with 0xcc. */
#define FAKE_BASE 0x100000ull
#define FAKE_SIZE 0x102000ull
struct fake_ram {
	uint8_t *mem;
	unsigned int calls;
	uint64_t gpa[4], len[4];
};

static void *fake_ram_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct fake_ram *f = ctx;

	if (f->calls < 4) {
		f->gpa[f->calls] = gpa;
		f->len[f->calls] = len;
	}
	f->calls++;
	if (gpa < FAKE_BASE || gpa + len > FAKE_BASE + FAKE_SIZE) {
		printf("  ram_ptr(0x%llx, 0x%llx) outside the fake RAM\n", (unsigned long long)gpa,
		       (unsigned long long)len);
		abort();
	}
	return f->mem + (gpa - FAKE_BASE);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- valid images ---- */

static void elf64_valid(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	EXPECT_EQ(len, ELF64_LEN);
	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.kind, KERNEL_ELF64);
	EXPECT_EQ(img.entry, ELF64_ENTRY);
	EXPECT_EQ(img.nseg, 2);
	EXPECT_SEG(0, 0x100000, 0x1000, 0x100, 0x100);
	EXPECT_SEG(1, 0x200000, 0x2000, 0x80, 0x1000);
}

static void elf64_copy_zero_fills_bss(void)
{
	struct fake_ram f = { .mem = malloc(FAKE_SIZE) };
	size_t len = mk_elf64(scratch, sizeof(scratch));
	uint8_t *s0 = f.mem + (0x100000 - FAKE_BASE), *s1 = f.mem + (0x200000 - FAKE_BASE);

	memset(f.mem, 0xcc, FAKE_SIZE);
	EXPECT(parse(scratch, len, RAM_128M));
	kernel_copy(&img, scratch, fake_ram_ptr, &f);
	EXPECT_EQ(f.calls, 2);
	EXPECT_EQ(f.gpa[0], 0x100000);
	EXPECT_EQ(f.len[0], 0x100);
	EXPECT_EQ(f.gpa[1], 0x200000);
	EXPECT_EQ(f.len[1], 0x1000);
	EXPECT(!memcmp(s0, scratch + 0x1000, 0x100));
	EXPECT_EQ(s0[0], 1);			/* pattern really is non-zero */
	EXPECT(all_bytes(s0 + 0x100, 0x100, 0xcc));	/* nothing written past memsz */
	EXPECT(!memcmp(s1, scratch + 0x2000, 0x80));
	EXPECT(all_bytes(s1 + 0x80, 0x1000 - 0x80, 0));
	EXPECT(all_bytes(s1 + 0x1000, 0x1000, 0xcc));
	free(f.mem);
}

static void elf64_phentsize_larger_than_phdr(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	/* Re-space the three program headers 64 bytes apart. */
	for (int i = 2; i >= 0; i--)
		memmove(scratch + 64 + i * 64, scratch + 64 + i * 56, 56);
	for (int i = 0; i < 3; i++)
		memset(scratch + 64 + i * 64 + 56, 0, 8);
	kimg_wr16(scratch + E64(e_phentsize), 64);
	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.nseg, 2);
	EXPECT_SEG(1, 0x200000, 0x2000, 0x80, 0x1000);
}

static void elf64_phdrs_at_end_of_file(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	/* Move the program header table to the very end of the file. */
	memcpy(scratch + len, scratch + 64, 3 * 56);
	kimg_wr64(scratch + E64(e_phoff), len);
	EXPECT(parse(scratch, len + 3 * 56, RAM_128M));
	EXPECT_EQ(img.nseg, 2);
	EXPECT_FAIL(parse(scratch, len + 3 * 56 - 1, RAM_128M),
		    "ELF program headers extend past the end of the file");
}

static void elf64_edges_accepted(void)
{
	/* Touching segments, segments just outside the boot area, bss-only segment at EOF, entry in bss. */
	const struct kseg s[] = {
		{ PT_LOAD, 0x1000, 0x0, 0x10, 0x1000 },		/* [0, 0x1000): ends where the boot area starts */
		{ PT_LOAD, 0x1010, 0xB000, 0x10, 0x5000 },	/* starts where it ends */
		{ PT_LOAD, 0x1020, 0x10000, 0x10, 0x1000 },	/* touches the previous one */
		{ PT_LOAD, 0x1030, 0x11000, 0, 0x1000 },
		{ PT_LOAD, 0x1030, 0x7fff000, 0, 0x1000 },	/* ends exactly at the end of 128 MiB */
	};

	EXPECT(parse_elf64(0x11800, s, 5, RAM_128M));
	EXPECT_EQ(img.nseg, 5);
	EXPECT_EQ(img.entry, 0x11800);
	EXPECT_SEG(3, 0x11000, 0x1030, 0, 0x1000);
	EXPECT_SEG(4, 0x7fff000, 0x1030, 0, 0x1000);
}

static void elf64_memsz_zero_segment_ignored(void)
{
	const struct kseg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 },
		{ PT_LOAD, 0x1010, 0x2000, 0, 0 },		/* empty, inside the boot area: skipped */
	};

	EXPECT(parse_elf64(0x100000, s, 2, RAM_128M));
	EXPECT_EQ(img.nseg, 1);
	EXPECT_SEG(0, 0x100000, 0x1000, 0x10, 0x10);
}

static void elf64_high_ram(void)
{
	const struct kseg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x10, 0x1000 },
		{ PT_LOAD, 0x1010, 0x100000000ull, 0x10, 0x1000 },
		{ PT_LOAD, 0x1020, 0x17ffff000ull, 0x10, 0x1000 },	/* last page: 3 GiB low + 2 GiB high */
	};

	EXPECT(parse_elf64(0x100004, s, 3, RAM_5G));
	EXPECT_EQ(img.nseg, 3);
	EXPECT_EQ(img.entry, 0x100004);
	EXPECT_SEG(1, 0x100000000ull, 0x1010, 0x10, 0x1000);
	EXPECT_SEG(2, 0x17ffff000ull, 0x1020, 0x10, 0x1000);
}

static void elf64_32_segments(void)
{
	struct kseg s[KERNEL_MAX_SEGMENTS];

	for (unsigned int i = 0; i < KERNEL_MAX_SEGMENTS; i++)
		s[i] = (struct kseg){ PT_LOAD, 0x1000 + i * 0x10, 0x100000 + i * 0x1000, 0x10, 0x1000 };
	EXPECT(parse_elf64(0x100000, s, KERNEL_MAX_SEGMENTS, RAM_128M));
	EXPECT_EQ(img.nseg, 32);
	EXPECT_SEG(31, 0x11f000, 0x11f0, 0x10, 0x1000);
}

static void mb_elf32_valid(void)
{
	size_t len = mk_elf32(scratch, sizeof(scratch), 0x3);

	EXPECT_EQ(len, ELF32_LEN);
	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.kind, KERNEL_MULTIBOOT);
	EXPECT_EQ(img.entry, ELF32_ENTRY);
	EXPECT_EQ(img.nseg, 2);
	EXPECT_SEG(0, 0x100000, 0x1000, 0x200, 0x200);
	EXPECT_SEG(1, 0x101000, 0x1200, 0x40, 0x800);
}

static void mb_elf32_optional_flags_accepted(void)
{
	size_t len = mk_elf32(scratch, sizeof(scratch), 0x7);	/* + video mode: ignored, as QEMU */

	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.kind, KERNEL_MULTIBOOT);
	len = mk_elf32(scratch, sizeof(scratch), 0xfffe0003u);	/* optional bits above 16 */
	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.nseg, 2);
}

static void mb_elf32_with_aout_kludge(void)
{
	/* Flag 16 on an ELF32: the header's addresses win over the program headers (as QEMU). */
	size_t len = kimg_elf(scratch, sizeof(scratch), 32, ELF32_ENTRY, elf32_segs, 2);

	kimg_mb_header(scratch, ELF32_MB_OFF, KIMG_MB_AOUT);
	kimg_mb_aout(scratch, ELF32_MB_OFF, 0x300000, 0x300000, 0x300100, 0x304000, 0x300020);
	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.kind, KERNEL_MULTIBOOT);
	EXPECT_EQ(img.entry, 0x300020);
	EXPECT_EQ(img.nseg, 1);
	EXPECT_SEG(0, 0x300000, 0x1000, 0x100, 0x4000);
}

static void mb_header_search_limits(void)
{
	const struct kseg s[] = { { PT_LOAD, 0x1000, 0x100000, 0x1100, 0x1100 } };
	size_t len = kimg_elf(scratch, sizeof(scratch), 32, 0x100000, s, 1);

	EXPECT_EQ(len, 0x2100);
	kimg_mb_header(scratch, 8180, 0x3);	/* last 12-byte slot inside the first 8 KiB */
	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.kind, KERNEL_MULTIBOOT);

	len = kimg_elf(scratch, sizeof(scratch), 32, 0x100000, s, 1);
	kimg_mb_header(scratch, 8184, 0x3);	/* straddles 8 KiB */
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF32 kernel has no multiboot header");

	len = kimg_elf(scratch, sizeof(scratch), 32, 0x100000, s, 1);
	kimg_mb_header(scratch, 8192, 0x3);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF32 kernel has no multiboot header");

	len = kimg_elf(scratch, sizeof(scratch), 32, 0x100000, s, 1);
	kimg_mb_header(scratch, 0x1002, 0x3);	/* not 32-bit aligned */
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF32 kernel has no multiboot header");
}

static void mb_bad_checksum_ignored(void)
{
	size_t len = mk_elf32(scratch, sizeof(scratch), 0x3);

	kimg_wr32(scratch + ELF32_MB_OFF + 8, 0);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF32 kernel has no multiboot header");

	len = mk_aout_default(scratch);
	scratch[AOUT_HDR + 8] ^= 1;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "not an ELF or multiboot kernel");
}

static void mb_unsupported_required_flags(void)
{
	size_t len = mk_elf32(scratch, sizeof(scratch), 0x0b);

	EXPECT_FAIL(parse(scratch, len, RAM_128M),
		    "multiboot header requires unsupported features (flags 0xb)");
	len = mk_elf32(scratch, sizeof(scratch), 0x18003);
	EXPECT_FAIL(parse(scratch, len, RAM_128M),
		    "multiboot header requires unsupported features (flags 0x18003)");
	len = mk_aout_default(scratch);
	kimg_mb_header(scratch, AOUT_HDR, KIMG_MB_AOUT | 0x10);
	EXPECT_FAIL(parse(scratch, len, RAM_128M),
		    "multiboot header requires unsupported features (flags 0x10010)");
}

static void mb_flat_without_aout_kludge(void)
{
	size_t len = mk_aout_default(scratch);

	kimg_mb_header(scratch, AOUT_HDR, 0x3);
	EXPECT_FAIL(parse(scratch, len, RAM_128M),
		    "multiboot kernel is not ELF and has no load addresses (flag 16 clear)");
}

static void elf64_ignores_multiboot_header(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	kimg_mb_header(scratch, 0x1000, KIMG_MB_AOUT | 0x8);	/* would be rejected if looked at */
	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.kind, KERNEL_ELF64);
	EXPECT_EQ(img.nseg, 2);
}

static void aout_valid(void)
{
	size_t len = mk_aout_default(scratch);

	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.kind, KERNEL_MULTIBOOT);
	EXPECT_EQ(img.entry, 0x100060);
	EXPECT_EQ(img.nseg, 1);
	EXPECT_SEG(0, 0x100000, 0, 0x800, 0x2000);
}

static void aout_text_offset_and_copy(void)
{
	/* load_addr 0x30 below header_addr while the header is at file offset 0x40: text starts at 0x10. */
	size_t len = mk_aout(scratch, 0x100040, 0x100010, 0x100410, 0x101000, 0x100010);
	struct fake_ram f = { .mem = malloc(FAKE_SIZE) };
	uint8_t *d = f.mem + (0x100010 - FAKE_BASE);

	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_EQ(img.nseg, 1);
	EXPECT_SEG(0, 0x100010, 0x10, 0x400, 0xff0);
	memset(f.mem, 0xcc, FAKE_SIZE);
	kernel_copy(&img, scratch, fake_ram_ptr, &f);
	EXPECT_EQ(f.calls, 1);
	EXPECT_EQ(f.gpa[0], 0x100010);
	EXPECT_EQ(f.len[0], 0xff0);
	EXPECT(all_bytes(f.mem, 0x10, 0xcc));
	EXPECT(!memcmp(d, scratch + 0x10, 0x400));
	EXPECT(all_bytes(d + 0x400, 0xff0 - 0x400, 0));
	EXPECT(all_bytes(d + 0xff0, 0x100, 0xcc));
	free(f.mem);
}

static void aout_load_end_zero_loads_rest_of_file(void)
{
	size_t len = mk_aout(scratch, 0x100040, 0x100010, 0, 0x102000, 0x100010);

	EXPECT(parse(scratch, len, RAM_128M));
	EXPECT_SEG(0, 0x100010, 0x10, AOUT_LEN - 0x10, 0x2000 - 0x10);
}

static void aout_bss_end_rules(void)
{
	size_t len = mk_aout(scratch, 0x100040, 0x100000, 0x100800, 0, 0x100060);

	EXPECT(parse(scratch, len, RAM_128M));		/* bss_end 0: no bss */
	EXPECT_SEG(0, 0x100000, 0, 0x800, 0x800);
	len = mk_aout(scratch, 0x100040, 0x100000, 0x100800, 0x100800, 0x100060);
	EXPECT(parse(scratch, len, RAM_128M));		/* bss_end == load_end */
	EXPECT_SEG(0, 0x100000, 0, 0x800, 0x800);
	len = mk_aout(scratch, 0x100040, 0x100000, 0, 0, 0x100060);
	EXPECT(parse(scratch, len, RAM_128M));		/* both 0: whole file, no bss */
	EXPECT_SEG(0, 0x100000, 0, AOUT_LEN, AOUT_LEN);
	len = mk_aout(scratch, 0x100040, 0x100000, 0x100800, 0x1007ff, 0x100060);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "multiboot bss_end_addr below load_end_addr");
	len = mk_aout(scratch, 0x100040, 0x100000, 0, AOUT_LEN + 0x100000 - 1, 0x100060);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "multiboot bss_end_addr below load_end_addr");
}

static void aout_address_errors(void)
{
	size_t len = mk_aout(scratch, 0x100040, 0x100050, 0x100800, 0, 0x100060);

	EXPECT_FAIL(parse(scratch, len, RAM_128M),
		    "multiboot header_addr 0x100040 inconsistent with load_addr 0x100050");
	/* header_addr - load_addr (0x41) larger than the header's file offset (0x40) */
	len = mk_aout(scratch, 0x100041, 0x100000, 0x100800, 0, 0x100060);
	EXPECT_FAIL(parse(scratch, len, RAM_128M),
		    "multiboot header_addr 0x100041 inconsistent with load_addr 0x100000");
	len = mk_aout(scratch, 0x100040, 0x100000, 0xfffff, 0, 0x100060);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "multiboot load_end_addr below load_addr");
	len = mk_aout(scratch, 0x100040, 0x100000, 0x100000 + AOUT_LEN + 1, 0, 0x100060);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "multiboot load range extends past the end of the file");
	len = mk_aout(scratch, 0x100040, 0x100000, 0x100000 + AOUT_LEN, 0, 0x100060);
	EXPECT(parse(scratch, len, RAM_128M));		/* exactly to EOF */
	EXPECT_SEG(0, 0x100000, 0, AOUT_LEN, AOUT_LEN);
	len = mk_aout(scratch, 0x100040, 0x100000, 0x100800, 0x102000, 0x102000);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "entry point 0x102000 is not inside a loaded segment");
	len = mk_aout(scratch, 0xbffff040, 0xbffff000, 0, 0xc0001000, 0xbffff060);
	EXPECT_FAIL(parse(scratch, len, RAM_5G), "segment 0xbffff000-0xc0001000 lies outside guest RAM");
	len = mk_aout(scratch, 0xa040, 0xa000, 0, 0, 0xa060);
	EXPECT_FAIL(parse(scratch, len, RAM_128M),
		    "segment 0xa000-0xb000 overlaps the boot data area 0x1000-0xb000");
}

static void aout_header_truncated(void)
{
	/* A 12-byte header with flag 16 in the last 12 bytes: the address fields are missing. */
	memset(scratch, 0x55, 0x100);
	kimg_mb_header(scratch, 0x100 - 12, KIMG_MB_AOUT);
	EXPECT_FAIL(parse(scratch, 0x100, RAM_128M), "multiboot header truncated");
	memset(scratch, 0x55, 0x100);
	kimg_mb_header(scratch, 0x100 - 28, KIMG_MB_AOUT);	/* entry field missing */
	EXPECT_FAIL(parse(scratch, 0x100, RAM_128M), "multiboot header truncated");
	memset(scratch, 0x55, 0x100);
	kimg_mb_header(scratch, 0x100 - 32, KIMG_MB_AOUT);	/* complete, the last 32 bytes */
	kimg_mb_aout(scratch, 0x100 - 32, 0x1000e0, 0x100000, 0, 0, 0x100000);
	EXPECT(parse(scratch, 0x100, RAM_128M));
	EXPECT_SEG(0, 0x100000, 0, 0x100, 0x100);
}

/* ---- malformed images ---- */

static void err_empty_and_short(void)
{
	static const uint8_t ident[16] = { 0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT };

	EXPECT_FAIL(parse(scratch, 0, RAM_128M), "not an ELF or multiboot kernel");
	EXPECT_FAIL(parse(ident, 4, RAM_128M), "not an ELF or multiboot kernel");
	EXPECT_FAIL(parse(ident, 15, RAM_128M), "not an ELF or multiboot kernel");
	EXPECT_FAIL(parse(ident, 16, RAM_128M), "truncated ELF64 header");
}

static void err_bad_magic(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	scratch[0] = 0x7e;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "not an ELF or multiboot kernel");
	len = mk_elf64(scratch, sizeof(scratch));
	scratch[3] = 'G';
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "not an ELF or multiboot kernel");
	memset(scratch, 0, 0x3000);
	EXPECT_FAIL(parse(scratch, 0x3000, RAM_128M), "not an ELF or multiboot kernel");
}

static void err_truncated_headers(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	(void)len;
	EXPECT_FAIL(parse(scratch, sizeof(Elf64_Ehdr) - 1, RAM_128M), "truncated ELF64 header");
	/* ELF32 ident with a multiboot header at 32: found, but the ELF32 header needs 52 bytes. */
	mk_elf32(scratch, sizeof(scratch), 0x3);
	kimg_mb_header(scratch, 32, 0x3);
	EXPECT_FAIL(parse(scratch, 48, RAM_128M), "truncated ELF32 header");
}

static void err_elf32_without_multiboot(void)
{
	size_t len = kimg_elf(scratch, sizeof(scratch), 32, ELF32_ENTRY, elf32_segs, 2);

	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF32 kernel has no multiboot header");
}

static void err_wrong_machine(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	kimg_wr16(scratch + E64(e_machine), EM_386);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF64 kernel is not for x86-64 (e_machine 3)");
	len = mk_elf32(scratch, sizeof(scratch), 0x3);
	kimg_wr16(scratch + E32(e_machine), EM_X86_64);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF32 kernel is not for i386 (e_machine 62)");
}

static void err_not_executable(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	kimg_wr16(scratch + E64(e_type), ET_DYN);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel is not an executable (e_type 3)");
	len = mk_elf32(scratch, sizeof(scratch), 0x3);
	kimg_wr16(scratch + E32(e_type), ET_REL);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel is not an executable (e_type 1)");
}

static void err_ident_fields(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	scratch[EI_DATA] = ELFDATA2MSB;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel is not little-endian");
	len = mk_elf64(scratch, sizeof(scratch));
	scratch[EI_DATA] = ELFDATANONE;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel is not little-endian");
	len = mk_elf64(scratch, sizeof(scratch));
	scratch[EI_CLASS] = 3;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel has an unknown ELF class 3");
	len = mk_elf32(scratch, sizeof(scratch), 0x3);	/* even with a multiboot header */
	scratch[EI_CLASS] = ELFCLASSNONE;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel has an unknown ELF class 0");
	len = mk_elf64(scratch, sizeof(scratch));
	scratch[EI_VERSION] = EV_NONE;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel has an unknown ELF version");
	len = mk_elf64(scratch, sizeof(scratch));
	scratch[EI_VERSION] = 2;
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel has an unknown ELF version");
}

static void err_phdrs_past_eof(void)
{
	static const char *msg = "ELF program headers extend past the end of the file";
	const uint64_t offs[] = { ELF64_LEN - 3 * 56 + 1, ELF64_LEN, ELF64_LEN + 1, 1ull << 32,
				  UINT64_MAX, UINT64_MAX - 55 };
	size_t len;

	for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
		len = mk_elf64(scratch, sizeof(scratch));
		kimg_wr64(scratch + E64(e_phoff), offs[i]);
		EXPECT_FAIL(parse(scratch, len, RAM_128M), msg);
	}
	len = mk_elf64(scratch, sizeof(scratch));
	kimg_wr16(scratch + E64(e_phnum), 0xffff);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), msg);
	len = mk_elf32(scratch, sizeof(scratch), 0x3);
	kimg_wr32(scratch + E32(e_phoff), 0xffffffffu);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), msg);
}

static void err_phentsize(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	kimg_wr16(scratch + E64(e_phentsize), sizeof(Elf64_Phdr) - 1);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "bad ELF program header size 55");
	kimg_wr16(scratch + E64(e_phentsize), 0);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "bad ELF program header size 0");
	len = mk_elf32(scratch, sizeof(scratch), 0x3);
	kimg_wr16(scratch + E32(e_phentsize), sizeof(Elf32_Phdr) - 1);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "bad ELF program header size 31");
}

static void err_no_segments(void)
{
	const struct kseg notes[] = { { PT_NOTE, 0x1000, 0x100000, 0x10, 0x10 } };
	const struct kseg empty[] = { { PT_LOAD, 0x1000, 0x100000, 0, 0 } };
	size_t len = mk_elf64(scratch, sizeof(scratch));

	kimg_wr16(scratch + E64(e_phnum), 0);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF kernel has no program headers");
	EXPECT_FAIL(parse_elf64(0x100000, notes, 1, RAM_128M), "ELF kernel has no loadable segments");
	EXPECT_FAIL(parse_elf64(0x100000, empty, 1, RAM_128M), "ELF kernel has no loadable segments");
}

static void err_segment_past_eof(void)
{
	struct kseg s[3];
	size_t len;

	memcpy(s, elf64_segs, sizeof(s));
	len = kimg_elf(scratch, sizeof(scratch), 64, ELF64_ENTRY, s, 3);
	/* Third program header (index 2) claims one byte more than the file has. */
	kimg_wr64(scratch + 64 + 2 * 56 + offsetof(Elf64_Phdr, p_filesz), 0x81);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF segment 2 extends past the end of the file");
	kimg_wr64(scratch + 64 + 2 * 56 + offsetof(Elf64_Phdr, p_filesz), 0x80);
	kimg_wr64(scratch + 64 + 2 * 56 + offsetof(Elf64_Phdr, p_offset), UINT64_MAX - 0x40);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF segment 2 extends past the end of the file");
	kimg_wr64(scratch + 64 + 2 * 56 + offsetof(Elf64_Phdr, p_offset), len + 1);
	kimg_wr64(scratch + 64 + 2 * 56 + offsetof(Elf64_Phdr, p_filesz), 0);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF segment 2 extends past the end of the file");
	kimg_wr64(scratch + 64 + 0 * 56 + offsetof(Elf64_Phdr, p_filesz), UINT64_MAX);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "ELF segment 0 extends past the end of the file");
}

static void err_filesz_larger_than_memsz(void)
{
	const struct kseg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 },
		{ PT_LOAD, 0x1010, 0x200000, 0x11, 0x10 },
	};

	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M),
		    "segment at 0x200000 has file size larger than memory size");
}

static void err_segment_outside_ram(void)
{
	struct kseg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 },
		{ PT_LOAD, 0x1010, 0, 0x10, 0x2000 },
	};
	const struct { uint64_t ram, paddr; const char *msg; } c[] = {
		{ RAM_128M, 0x7fff000, "segment 0x7fff000-0x8001000 lies outside guest RAM" },
		{ RAM_128M, 0x8000000, "segment 0x8000000-0x8002000 lies outside guest RAM" },
		{ RAM_5G, 0xbffff000, "segment 0xbffff000-0xc0001000 lies outside guest RAM" },
		{ RAM_5G, 0xc0000000, "segment 0xc0000000-0xc0002000 lies outside guest RAM" },
		{ RAM_5G, 0xfffff000, "segment 0xfffff000-0x100001000 lies outside guest RAM" },
		{ RAM_5G, 0x17ffff000ull, "segment 0x17ffff000-0x180001000 lies outside guest RAM" },
		{ 3 * GiB, 0x100000000ull, "segment 0x100000000-0x100002000 lies outside guest RAM" },
		{ 4 * GiB, 0x13ffff000ull, "segment 0x13ffff000-0x140001000 lies outside guest RAM" },
		/* wraps around 2^64 */
		{ RAM_5G, 0xfffffffffffff000ull, "segment 0xfffffffffffff000-0x1000 lies outside guest RAM" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		s[1].paddr = c[i].paddr;
		EXPECT_FAIL(parse_elf64(0x100000, s, 2, c[i].ram), c[i].msg);
	}
	s[1].paddr = 0x17fffe000ull;	/* the last two pages of 5 GiB (high RAM ends at 6 GiB): fine */
	EXPECT(parse_elf64(0x100000, s, 2, RAM_5G));
	s[1].paddr = 0xbfffe000ull;	/* the last two pages below the hole: fine */
	EXPECT(parse_elf64(0x100000, s, 2, RAM_5G));
}

static void err_overlapping_segments(void)
{
	struct kseg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x1100, 0x100080, 0x10, 0x10 },
	};

	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M), "segments at 0x100000 and 0x100080 overlap");
	s[1].paddr = 0x100000 - 0x10 + 1;	/* last byte overlaps the first byte */
	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M), "segments at 0x100000 and 0xffff1 overlap");
	s[1].paddr = 0xff000, s[1].memsz = 0x10000;	/* contains the first */
	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M), "segments at 0x100000 and 0xff000 overlap");
	s[1].paddr = 0x100000, s[1].memsz = 0x100;	/* identical */
	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M), "segments at 0x100000 and 0x100000 overlap");
	s[1].paddr = 0x100100, s[1].memsz = 0x10;	/* adjacent: fine */
	EXPECT(parse_elf64(0x100000, s, 2, RAM_128M));
}

static void err_boot_area_overlap(void)
{
	struct kseg s[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 },
		{ PT_LOAD, 0x1010, 0xa000, 0x10, 0x2000 },
	};

	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M),
		    "segment 0xa000-0xc000 overlaps the boot data area 0x1000-0xb000");
	s[1].paddr = 0, s[1].memsz = 0x1001;
	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M),
		    "segment 0x0-0x1001 overlaps the boot data area 0x1000-0xb000");
	s[1].paddr = 0x8000, s[1].memsz = 0x10;	/* where the multiboot info goes */
	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M),
		    "segment 0x8000-0x8010 overlaps the boot data area 0x1000-0xb000");
	s[1].paddr = 0, s[1].memsz = 0x100000;
	EXPECT_FAIL(parse_elf64(0x100000, s, 2, RAM_128M),
		    "segment 0x0-0x100000 overlaps the boot data area 0x1000-0xb000");
}

static void err_too_many_segments(void)
{
	struct kseg s[KERNEL_MAX_SEGMENTS + 1];

	for (unsigned int i = 0; i < ARRAY_SIZE(s); i++)
		s[i] = (struct kseg){ PT_LOAD, 0x1000 + i * 0x10, 0x100000 + i * 0x1000, 0x10, 0x1000 };
	EXPECT_FAIL(parse_elf64(0x100000, s, ARRAY_SIZE(s), RAM_128M),
		    "kernel has more than 32 loadable segments");
}

static void err_entry_not_in_segment(void)
{
	size_t len = mk_elf64(scratch, sizeof(scratch));

	kimg_wr64(scratch + E64(e_entry), 0x300000);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "entry point 0x300000 is not inside a loaded segment");
	kimg_wr64(scratch + E64(e_entry), 0x100100);	/* one past the end of the first segment */
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "entry point 0x100100 is not inside a loaded segment");
	kimg_wr64(scratch + E64(e_entry), 0x1000);	/* inside the ignored PT_NOTE */
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "entry point 0x1000 is not inside a loaded segment");
	kimg_wr64(scratch + E64(e_entry), 0x200fff);	/* last byte of the bss: fine */
	EXPECT(parse(scratch, len, RAM_128M));
	len = mk_elf32(scratch, sizeof(scratch), 0x3);
	kimg_wr32(scratch + E32(e_entry), 0xfff);
	EXPECT_FAIL(parse(scratch, len, RAM_128M), "entry point 0xfff is not inside a loaded segment");
}

/* ---- fuzzing ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Checks what kernel_parse promises; returns a description of the first violation or NULL. */
static const char *check_result(bool ok, size_t len, uint64_t ram)
{
	if (!ok)
		return err[0] && !strchr(err, '\n') ? NULL : "failure without a one-line message";
	if (img.nseg == 0 || img.nseg > KERNEL_MAX_SEGMENTS)
		return "bad segment count";
	for (unsigned int i = 0; i < img.nseg; i++) {
		const struct kernel_segment *s = &img.seg[i];

		if (s->memsz == 0 || s->filesz > s->memsz)
			return "segment sizes";
		if (!guest_range_is_ram(ram, s->paddr, s->memsz))
			return "segment outside RAM";
		if (s->file_off > len || s->filesz > len - s->file_off)
			return "segment outside the file";
		if (s->paddr < BOOT_AREA_END && s->paddr + s->memsz > BOOT_AREA_START)
			return "segment in the boot area";
		for (unsigned int j = 0; j < i; j++)
			if (s->paddr < img.seg[j].paddr + img.seg[j].memsz &&
			    img.seg[j].paddr < s->paddr + s->memsz)
				return "overlapping segments";
	}
	for (unsigned int i = 0; i < img.nseg; i++)
		if (img.entry >= img.seg[i].paddr && img.entry - img.seg[i].paddr < img.seg[i].memsz)
			return NULL;
	return "entry outside the segments";
}

static void fuzz_mutated_images(void)
{
	static uint8_t base[3][0x2100], work[0x2100], image[0x2100 + 64] __attribute__((aligned(16)));
	size_t base_len[3];
	unsigned long accepted = 0, rejected = 0, violations = 0;
	const unsigned long iterations = 200000;
	clock_t t0 = clock();

	base_len[0] = mk_elf64(base[0], sizeof(base[0]));
	base_len[1] = mk_elf32(base[1], sizeof(base[1]), 0x3);
	base_len[2] = mk_aout_default(base[2]);
	for (unsigned long it = 0; it < iterations; it++) {
		unsigned int k = (unsigned int)(it % 3), nmut = 1 + (unsigned int)(rng() % 4);
		size_t len = base_len[k];
		uint64_t ram = (rng() & 1) ? RAM_128M : RAM_5G;
		size_t mb_off = k == 1 ? ELF32_MB_OFF : AOUT_HDR;
		const char *why;
		bool ok;

		memcpy(work, base[k], len);
		for (unsigned int m = 0; m < nmut; m++) {
			uint64_t r = rng(), what = r % 10, pos;
			const uint64_t interesting[] = {
				0, 1, 0xffffffffu, 0x80000000u, len, len - 1, 0x1000, 0x100000, 0xc0000000u,
				0x100000000ull, UINT64_MAX, 0xb000, 0x7fff000, r >> 8,
			};
			uint64_t v = interesting[(r >> 8) % ARRAY_SIZE(interesting)];

			if (what < 4) {			/* a byte of the headers */
				work[(r >> 16) % (len < 0x100 ? len : 0x100)] = (uint8_t)(r >> 40);
			} else if (what < 5) {		/* any byte */
				work[(r >> 16) % len] = (uint8_t)(r >> 40);
			} else if (what < 7) {		/* an interesting 16/32/64-bit header field */
				pos = ((r >> 16) % 0xf0) & ~3ull;
				if ((r >> 60) & 1)
					kimg_wr64(work + pos, v);
				else if ((r >> 61) & 1)
					kimg_wr32(work + pos, (uint32_t)v);
				else
					kimg_wr16(work + pos, (uint16_t)v);
			} else if (what < 9 && k) {	/* a multiboot header field, checksum kept valid */
				pos = mb_off + 4 * ((r >> 16) % 8);
				kimg_wr32(work + pos, (uint32_t)v);
				if ((r >> 62) & 1) {
					uint32_t flags;

					memcpy(&flags, work + mb_off + 4, 4);
					kimg_wr32(work + mb_off + 8, (uint32_t)-(KIMG_MB_MAGIC + flags));
				}
			} else {			/* a bit flip */
				work[(r >> 16) % len] ^= (uint8_t)(1u << ((r >> 40) % 8));
			}
		}
		if (rng() % 8 == 0)
			len = (size_t)(rng() % (len + 1));

		/* Under ASan everything after the image's last byte is poisoned: reads past the end abort. */
		ASAN_UNPOISON_MEMORY_REGION(image, sizeof(image));
		memcpy(image, work, len);
		ASAN_POISON_MEMORY_REGION(image + len, sizeof(image) - len);
		ok = parse(image, len, ram);
		why = check_result(ok, len, ram);
		if (ok)
			accepted++;
		else
			rejected++;
		if (why && violations++ < 5)
			printf("  iteration %lu (base %u, len %zu): %s\n", it, k, len, why);
	}
	ASAN_UNPOISON_MEMORY_REGION(image, sizeof(image));
	EXPECT_EQ(violations, 0);
	/* The mutations must reach both outcomes, or the loop tests nothing. */
	EXPECT(accepted > iterations / 20);
	EXPECT(rejected > iterations / 4);
	if (getenv("KVSM_TEST_VERBOSE"))
		printf("  %lu accepted, %lu rejected, %.2f s\n", accepted, rejected,
		       (double)(clock() - t0) / CLOCKS_PER_SEC);
}

int main(void)
{
	RUN_TEST(elf64_valid);
	RUN_TEST(elf64_copy_zero_fills_bss);
	RUN_TEST(elf64_phentsize_larger_than_phdr);
	RUN_TEST(elf64_phdrs_at_end_of_file);
	RUN_TEST(elf64_edges_accepted);
	RUN_TEST(elf64_memsz_zero_segment_ignored);
	RUN_TEST(elf64_high_ram);
	RUN_TEST(elf64_32_segments);
	RUN_TEST(mb_elf32_valid);
	RUN_TEST(mb_elf32_optional_flags_accepted);
	RUN_TEST(mb_elf32_with_aout_kludge);
	RUN_TEST(mb_header_search_limits);
	RUN_TEST(mb_bad_checksum_ignored);
	RUN_TEST(mb_unsupported_required_flags);
	RUN_TEST(mb_flat_without_aout_kludge);
	RUN_TEST(elf64_ignores_multiboot_header);
	RUN_TEST(aout_valid);
	RUN_TEST(aout_text_offset_and_copy);
	RUN_TEST(aout_load_end_zero_loads_rest_of_file);
	RUN_TEST(aout_bss_end_rules);
	RUN_TEST(aout_address_errors);
	RUN_TEST(aout_header_truncated);
	RUN_TEST(err_empty_and_short);
	RUN_TEST(err_bad_magic);
	RUN_TEST(err_truncated_headers);
	RUN_TEST(err_elf32_without_multiboot);
	RUN_TEST(err_wrong_machine);
	RUN_TEST(err_not_executable);
	RUN_TEST(err_ident_fields);
	RUN_TEST(err_phdrs_past_eof);
	RUN_TEST(err_phentsize);
	RUN_TEST(err_no_segments);
	RUN_TEST(err_segment_past_eof);
	RUN_TEST(err_filesz_larger_than_memsz);
	RUN_TEST(err_segment_outside_ram);
	RUN_TEST(err_overlapping_segments);
	RUN_TEST(err_boot_area_overlap);
	RUN_TEST(err_too_many_segments);
	RUN_TEST(err_entry_not_in_segment);
	RUN_TEST(fuzz_mutated_images);
	return TEST_EXIT();
}
