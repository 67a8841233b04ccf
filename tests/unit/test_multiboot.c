/* multiboot_build_info: the multiboot v1 information structure, field by field. */
#include "test.h"
#include "guest_mem.h"
#include "loader/multiboot.h"

#include <stdint.h>
#include <stdlib.h>

#define AREA_LEN (MBI_AREA_END - MBI_GPA)
#define GUARD 64
#define MiB (1ull << 20)
#define GiB (1ull << 30)

static uint8_t *area;

static uint32_t rd32(uint64_t off) { uint32_t v; memcpy(&v, area + off, 4); return v; }
static uint64_t rd64(uint64_t off) { uint64_t v; memcpy(&v, area + off, 8); return v; }

/* Build into a heap area pre-filled with 0xee, with a 0xee guard after it. */
static void build(uint64_t ram, const char *cmdline)
{
	free(area);
	area = malloc(AREA_LEN + GUARD);
	memset(area, 0xee, AREA_LEN + GUARD);
	multiboot_build_info(area, ram, cmdline);
}

static bool zero(uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		if (area[i])
			return false;
	return true;
}

static bool guard_intact(void)
{
	for (unsigned int i = 0; i < GUARD; i++)
		if (area[AREA_LEN + i] != 0xee)
			return false;
	return true;
}

/* One mmap entry: size 20 (not counting itself), base, length, type. */
static void expect_mmap(unsigned int i, uint64_t base, uint64_t len, uint32_t type, int line)
{
	uint64_t e = 128 + 24 * i;

	if (rd32(e) != 20 || rd64(e + 4) != base || rd64(e + 12) != len || rd32(e + 20) != type) {
		printf("  line %d: mmap[%u] = {%u, 0x%llx, 0x%llx, %u}, expected {20, 0x%llx, 0x%llx, %u}\n",
		       line, i, rd32(e), (unsigned long long)rd64(e + 4), (unsigned long long)rd64(e + 12),
		       rd32(e + 20), (unsigned long long)base, (unsigned long long)len, type);
		t_failed = 1;
	}
}

/* Fields every layout shares; n_mmap entries start at offset 128. */
static void expect_common(unsigned int n_mmap, uint32_t mem_upper)
{
	uint64_t name = 128 + 24 * n_mmap;

	EXPECT_EQ(rd32(0), 0x24d);		/* mem, cmdline, mods, mmap, loader name */
	EXPECT_EQ(rd32(4), 640);
	EXPECT_EQ(rd32(8), mem_upper);
	EXPECT_EQ(rd32(12), 0);			/* boot_device */
	EXPECT_EQ(rd32(16), 0x9000);		/* cmdline */
	EXPECT_EQ(rd32(20), 0);			/* mods_count */
	EXPECT_EQ(rd32(24), 0);			/* mods_addr */
	EXPECT(zero(28, 44));			/* syms */
	EXPECT_EQ(rd32(44), 24 * n_mmap);	/* mmap_length */
	EXPECT_EQ(rd32(48), 0x8080);		/* mmap_addr */
	EXPECT(zero(52, 64));			/* drives, config table */
	EXPECT_EQ(rd32(64), MBI_GPA + name);	/* boot_loader_name */
	EXPECT(zero(68, 128));			/* apm, vbe, framebuffer */
	EXPECT(!memcmp(area + name, "kvsm", 5));
	EXPECT(zero(name + 5, MBI_CMDLINE_GPA - MBI_GPA));
	expect_mmap(0, 0, 0x9fc00, MMAP_AVAILABLE, __LINE__);
	expect_mmap(1, 0x9fc00, 0x400, MMAP_RESERVED, __LINE__);
	expect_mmap(2, 0xf0000, 0x10000, MMAP_RESERVED, __LINE__);
	EXPECT(guard_intact());
}

static void mbi_128m(void)
{
	const char *cl = "/path/kernel.elf a b  c";

	build(128 * MiB, cl);
	expect_common(4, (128 * MiB - MiB) / 1024);
	EXPECT_EQ(rd32(8), 130048);
	expect_mmap(3, 0x100000, 128 * MiB - MiB, MMAP_AVAILABLE, __LINE__);
	EXPECT_STR_EQ((char *)area + 0x1000, cl);
	EXPECT(zero(0x1000 + strlen(cl), AREA_LEN));
}

static void mbi_5g_high_ram(void)
{
	build(5 * GiB, "k");
	expect_common(5, (3 * GiB - MiB) / 1024);
	EXPECT_EQ(rd32(8), 3144704);
	expect_mmap(3, 0x100000, 0xbff00000, MMAP_AVAILABLE, __LINE__);
	expect_mmap(4, 0x100000000ull, 2 * GiB, MMAP_AVAILABLE, __LINE__);
	EXPECT_EQ(rd32(64), 0x80f8);
	EXPECT_STR_EQ((char *)area + 0x1000, "k");
	EXPECT(zero(0x1002, AREA_LEN));
}

static void mbi_3g_no_high_entry(void)
{
	build(3 * GiB, "");
	expect_common(4, (3 * GiB - MiB) / 1024);
	expect_mmap(3, 0x100000, 0xbff00000, MMAP_AVAILABLE, __LINE__);
	EXPECT_EQ(rd32(64), 0x80e0);
	EXPECT(zero(0x1000, AREA_LEN));		/* empty command line */
}

static void mbi_3g_plus_4k(void)
{
	build(3 * GiB + 4096, "x");
	expect_common(5, (3 * GiB - MiB) / 1024);
	expect_mmap(4, 0x100000000ull, 4096, MMAP_AVAILABLE, __LINE__);
}

static void mbi_4m_minimum(void)
{
	build(4 * MiB, "x");
	expect_common(4, 3072);
	expect_mmap(3, 0x100000, 3 * MiB, MMAP_AVAILABLE, __LINE__);
}

static void mbi_longest_cmdline(void)
{
	char *cl = malloc(MBI_CMDLINE_MAX);

	for (unsigned int i = 0; i < MBI_CMDLINE_MAX - 1; i++)
		cl[i] = (char)('a' + i % 26);
	cl[MBI_CMDLINE_MAX - 1] = '\0';
	build(128 * MiB, cl);
	EXPECT_EQ(MBI_CMDLINE_MAX, 0x2000);
	EXPECT(!memcmp(area + 0x1000, cl, MBI_CMDLINE_MAX));	/* NUL in the area's last byte */
	EXPECT_EQ(area[AREA_LEN - 1], 0);
	EXPECT(guard_intact());
	free(cl);
}

int main(void)
{
	RUN_TEST(mbi_128m);
	RUN_TEST(mbi_5g_high_ram);
	RUN_TEST(mbi_3g_no_high_entry);
	RUN_TEST(mbi_3g_plus_4k);
	RUN_TEST(mbi_4m_minimum);
	RUN_TEST(mbi_longest_cmdline);
	free(area);
	return TEST_EXIT();
}
