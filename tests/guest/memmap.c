/*
 * The memory map the guest sees: multiboot mem_lower/mem_upper and mmap
 * entries, fw_cfg RAM size, and the command line, for mem=BYTES on the
 * command line. The first and last pages of RAM are usable.
 */
#include "lib/guest.h"

static void check_entry(const struct mb_mmap_entry *e, uint64_t base, uint64_t len, uint32_t type)
{
	CHECK_EQ(e->size, 20);
	CHECK_EQ(e->base, base);
	CHECK_EQ(e->len, len);
	CHECK_EQ(e->type, type);
}

void test_main(const struct mb_info *mbi)
{
	uint64_t mem = cmdline_u64(mbi, "mem", 0), low = mem < 0xc0000000ull ? mem : 0xc0000000ull;
	const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)(uint64_t)mbi->mmap_addr;
	const char *cmd = (const char *)(uint64_t)mbi->cmdline;
	const char *name = (const char *)(uint64_t)mbi->boot_loader_name;
	uint64_t fw_ram = 0;
	uint32_t flags = 1 | 4 | 8 | 64 | 512;	/* mem, cmdline, mods, mmap, loader name */

	CHECK(mem != 0);
	CHECK_EQ(mbi->flags, flags);
	CHECK_EQ(mbi->mem_lower, 640);
	CHECK_EQ(mbi->mem_upper, (low - 0x100000) / 1024);
	CHECK_EQ(mbi->mods_count, 0);
	CHECK(!strcmp(name, "kvsm"));
	/* QEMU convention: the kernel path, a space, then the arguments. */
	char tail[64];
	size_t tl = (size_t)snprintf(tail, sizeof(tail), "memmap.elf mem=%llu", (unsigned long long)mem);
	CHECK(strlen(cmd) >= tl && !strcmp(cmd + strlen(cmd) - tl, tail));
	printf("command line: '%s'\n", cmd);

	CHECK_EQ(mbi->mmap_length, (mem > 0xc0000000ull ? 5 : 4) * 24);
	check_entry(&e[0], 0, 0x9fc00, 1);
	check_entry(&e[1], 0x9fc00, 0x400, 2);
	check_entry(&e[2], 0xf0000, 0x10000, 2);
	check_entry(&e[3], 0x100000, low - 0x100000, 1);
	if (mem > 0xc0000000ull)
		check_entry(&e[4], 0x100000000ull, mem - 0xc0000000ull, 1);

	fw_cfg_read(0x03, &fw_ram, 8);
	CHECK_EQ(fw_ram, mem);

	/* The last page of low RAM holds data (it is mapped 1:1 by the boot page tables). */
	volatile uint64_t *last = (volatile uint64_t *)(low - 8);
	*last = 0x1122334455667788ull;
	CHECK_EQ(*last, 0x1122334455667788ull);
}
