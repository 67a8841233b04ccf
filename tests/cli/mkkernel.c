/*
 * mkkernel DIR: write the kernel images tests/cli/run-errors.sh needs into DIR.
 * The valid ones exit through the debug-exit port with status 85.
 */
#include "../unit/kimage.h"

#include <errno.h>

static uint8_t buf[0x4000];

static void put(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "mkkernel: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static size_t elf64(uint64_t entry, const struct kseg *s, unsigned int n)
{
	size_t len = kimg_elf(buf, sizeof(buf), 64, entry, s, n);

	memcpy(buf + s[0].off, kimg_exit_code, sizeof(kimg_exit_code));
	return len;
}

int main(int argc, char **argv)
{
	const struct kseg good[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x2000, 0x200000, 0x80, 0x1000 },
	};
	const struct kseg outside[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x2000, 0x10000000, 0x80, 0x1000 },	/* 256 MiB: beyond the default 128 MiB */
	};
	const struct kseg overlap[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x2000, 0x100080, 0x80, 0x1000 },
	};
	const struct kseg boot[] = {
		{ PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 },
		{ PT_LOAD, 0x2000, 0x8000, 0x80, 0x1000 },
	};
	const struct kseg high[] = { { PT_LOAD, 0x1000, 0x100000000ull, 0x100, 0x100 } };	/* 4 GiB */
	const struct kseg mb32[] = { { PT_LOAD, 0x1000, 0x100000, 0x100, 0x100 } };
	static const char text[] = "#!/bin/sh\necho this is not a kernel\n";
	const char *dir = argc == 2 ? argv[1] : NULL;
	size_t len;

	if (!dir) {
		fprintf(stderr, "usage: mkkernel DIR\n");
		return 2;
	}
	len = elf64(0x100000, good, 2);
	put(dir, "valid-elf64", buf, len);
	put(dir, "truncated", buf, 40);		/* cut inside the 64-byte ELF header */

	len = kimg_elf(buf, sizeof(buf), 32, 0x100020, mb32, 1);
	kimg_mb_header(buf, 0x1000, 0x3);
	memcpy(buf + 0x1020, kimg_exit_code, sizeof(kimg_exit_code));
	put(dir, "valid-mb32", buf, len);

	len = kimg_elf(buf, sizeof(buf), 32, 0x100020, mb32, 1);
	put(dir, "elf32-no-multiboot", buf, len);

	/* a.out kludge: header at 0, load the whole file at 1 MiB, code at 0x20, 4 KiB of bss. */
	memset(buf, 0, 0x100);
	kimg_mb_header(buf, 0, KIMG_MB_AOUT | 0x3);
	kimg_mb_aout(buf, 0, 0x100000, 0x100000, 0, 0x101100, 0x100020);
	memcpy(buf + 0x20, kimg_exit_code, sizeof(kimg_exit_code));
	put(dir, "valid-aout", buf, 0x100);

	len = elf64(0x100000, outside, 2);
	put(dir, "outside-ram", buf, len);
	len = elf64(0x100000, overlap, 2);
	put(dir, "overlap", buf, len);
	len = elf64(0x100000, boot, 2);
	put(dir, "boot-area", buf, len);
	len = elf64(0x300000, good, 2);
	put(dir, "bad-entry", buf, len);
	len = elf64(0x100000000ull, high, 1);
	put(dir, "high-entry", buf, len);	/* valid for --mem above 4 GiB */

	put(dir, "not-elf", (const uint8_t *)text, sizeof(text) - 1);
	return 0;
}
