/* fw_cfg: item contents, selector semantics and the 0x510/0x511 port interface. */
#include "test.h"
#include "devices/fw_cfg.h"

#include <stdint.h>

static struct fw_cfg f;

/* Select key and compare the next n bytes, then check that further reads give 0. */
static void expect_item(uint16_t key, const uint8_t *want, unsigned int n, int line)
{
	fw_cfg_select(&f, key);
	for (unsigned int i = 0; i < n + 4; i++) {
		uint8_t got = fw_cfg_read(&f), exp = i < n ? want[i] : 0;

		if (got != exp) {
			printf("  line %d: key 0x%x byte %u = 0x%02x, expected 0x%02x\n", line, key, i, got, exp);
			t_failed = 1;
			return;
		}
	}
}
#define EXPECT_ITEM(key, ...) do { \
	const uint8_t _w[] = { __VA_ARGS__ }; \
	expect_item(key, _w, sizeof(_w), __LINE__); \
} while (0)

static uint32_t io(uint16_t port, unsigned int size, bool write, uint32_t val)
{
	fw_cfg_io(&f, NULL, port, size, write, &val);
	return val;
}

static void signature_and_id(void)
{
	fw_cfg_init(&f, 128ull << 20, 4);
	EXPECT_ITEM(FW_CFG_SIGNATURE, 'Q', 'E', 'M', 'U');
	EXPECT_ITEM(FW_CFG_ID, 0x01, 0x00, 0x00, 0x00);
}

static void ram_size_le64(void)
{
	fw_cfg_init(&f, 128ull << 20, 1);
	EXPECT_ITEM(FW_CFG_RAM_SIZE, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00);
	fw_cfg_init(&f, (5ull << 30) + 0x1000, 1);
	EXPECT_ITEM(FW_CFG_RAM_SIZE, 0x00, 0x10, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00);
}

static void cpu_counts(void)
{
	fw_cfg_init(&f, 128ull << 20, 4);
	EXPECT_ITEM(FW_CFG_NB_CPUS, 0x04, 0x00);
	EXPECT_ITEM(FW_CFG_MAX_CPUS, 0x04, 0x00);
	fw_cfg_init(&f, 128ull << 20, 0x123);
	EXPECT_ITEM(FW_CFG_NB_CPUS, 0x23, 0x01);
	EXPECT_ITEM(FW_CFG_MAX_CPUS, 0x23, 0x01);
}

static void nographic_and_file_dir(void)
{
	fw_cfg_init(&f, 128ull << 20, 1);
	EXPECT_ITEM(FW_CFG_NOGRAPHIC, 0x01, 0x00);
	EXPECT_ITEM(FW_CFG_FILE_DIR, 0x00, 0x00, 0x00, 0x00);	/* big-endian count 0, no entries */
}

static void past_end_and_unknown_keys_read_zero(void)
{
	const uint16_t unknown[] = { 0x02, 0x06, 0x0e, 0x10, 0x18, 0x1a, 0x20, 0x3fff };

	fw_cfg_init(&f, 128ull << 20, 1);
	fw_cfg_select(&f, FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		fw_cfg_read(&f);
	for (int i = 0; i < 100; i++)
		EXPECT_EQ(fw_cfg_read(&f), 0);
	for (unsigned int i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		fw_cfg_select(&f, unknown[i]);
		for (int j = 0; j < 10; j++)
			EXPECT_EQ(fw_cfg_read(&f), 0);
	}
}

static void reselect_resets_offset(void)
{
	fw_cfg_init(&f, 128ull << 20, 1);
	fw_cfg_select(&f, FW_CFG_SIGNATURE);
	EXPECT_EQ(fw_cfg_read(&f), 'Q');
	EXPECT_EQ(fw_cfg_read(&f), 'E');
	fw_cfg_select(&f, FW_CFG_SIGNATURE);
	EXPECT_EQ(fw_cfg_read(&f), 'Q');
	fw_cfg_select(&f, FW_CFG_ID);
	EXPECT_EQ(fw_cfg_read(&f), 0x01);
	fw_cfg_select(&f, FW_CFG_SIGNATURE);
	EXPECT_EQ(fw_cfg_read(&f), 'Q');
	for (int i = 0; i < 10; i++)		/* past the end, then select again */
		fw_cfg_read(&f);
	fw_cfg_select(&f, FW_CFG_SIGNATURE);
	EXPECT_EQ(fw_cfg_read(&f), 'Q');
}

static void selector_flag_bits(void)
{
	fw_cfg_init(&f, 128ull << 20, 1);
	/* Arch-local items (bit 15): none exist, so they read 0 even for a generic key's number. */
	EXPECT_ITEM(0x8000 | FW_CFG_SIGNATURE, 0, 0, 0, 0);
	EXPECT_ITEM(0x8000 | FW_CFG_RAM_SIZE, 0, 0, 0, 0, 0, 0, 0, 0);
	EXPECT_ITEM(0xc000 | FW_CFG_ID, 0, 0, 0, 0);
	/* Bit 14 (the old write channel) is not part of the key, as in QEMU. */
	EXPECT_ITEM(0x4000 | FW_CFG_SIGNATURE, 'Q', 'E', 'M', 'U');
}

static void port_interface(void)
{
	fw_cfg_init(&f, 128ull << 20, 2);
	io(FW_CFG_PORT_SEL, 2, true, FW_CFG_SIGNATURE);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0xdeadbeef), 'Q');
	/* Wider data reads are not data reads: all-ones, and they do not advance the offset. */
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 2, false, 0xdeadbeef), 0xffff);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 4, false, 0), 0xffffffff);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 'E');
	/* Selector port reads are all-ones at every width. */
	EXPECT_EQ(io(FW_CFG_PORT_SEL, 1, false, 0), 0xff);
	EXPECT_EQ(io(FW_CFG_PORT_SEL, 2, false, 0), 0xffff);
	EXPECT_EQ(io(FW_CFG_PORT_SEL, 4, false, 0), 0xffffffff);
	/* Only a 16-bit write selects; other writes change nothing. */
	io(FW_CFG_PORT_SEL, 1, true, FW_CFG_ID);
	io(FW_CFG_PORT_SEL, 4, true, FW_CFG_ID);
	io(FW_CFG_PORT_DATA, 1, true, 0x55);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 'M');
	io(FW_CFG_PORT_SEL, 2, true, 0x10000 | FW_CFG_NB_CPUS);	/* upper bits of val dropped */
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 0x02);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 0x00);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0xffffffff), 0x00);	/* past the end */
	io(FW_CFG_PORT_SEL, 2, true, FW_CFG_RAM_SIZE);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 0x00);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 0x00);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 0x00);
	EXPECT_EQ(io(FW_CFG_PORT_DATA, 1, false, 0), 0x08);
}

int main(void)
{
	RUN_TEST(signature_and_id);
	RUN_TEST(ram_size_le64);
	RUN_TEST(cpu_counts);
	RUN_TEST(nographic_and_file_dir);
	RUN_TEST(past_end_and_unknown_keys_read_zero);
	RUN_TEST(reselect_resets_offset);
	RUN_TEST(selector_flag_bits);
	RUN_TEST(port_interface);
	return TEST_EXIT();
}
