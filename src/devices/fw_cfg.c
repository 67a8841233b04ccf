#include "fw_cfg.h"

#include <string.h>

/* Selector bits that are not part of the key (QEMU: write channel and arch-local flag). */
#define FW_CFG_ENTRY_MASK 0x3fff
#define FW_CFG_ARCH_LOCAL 0x8000

static void add(struct fw_cfg *f, uint16_t key, const void *data, uint8_t len)
{
	struct fw_cfg_item *it = &f->items[f->nitems++];

	it->key = key;
	it->len = len;
	memcpy(it->data, data, len);
}

void fw_cfg_init(struct fw_cfg *f, uint64_t ram, unsigned int ncpus)
{
	uint32_t id = FW_CFG_ID_TRADITIONAL;
	uint16_t cpus = (uint16_t)ncpus, one = 1;
	static const uint8_t no_files[4];	/* big-endian file count 0 */

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	add(f, FW_CFG_SIGNATURE, "QEMU", 4);
	add(f, FW_CFG_ID, &id, 4);
	add(f, FW_CFG_RAM_SIZE, &ram, 8);	/* little-endian, like the host */
	add(f, FW_CFG_NOGRAPHIC, &one, 2);
	add(f, FW_CFG_NB_CPUS, &cpus, 2);
	add(f, FW_CFG_MAX_CPUS, &cpus, 2);
	add(f, FW_CFG_FILE_DIR, no_files, 4);
}

void fw_cfg_select(struct fw_cfg *f, uint16_t key)
{
	f->selector = key;
	f->offset = 0;
}

uint8_t fw_cfg_read(struct fw_cfg *f)
{
	uint16_t key = f->selector & FW_CFG_ENTRY_MASK;

	if (f->selector & FW_CFG_ARCH_LOCAL)
		return 0;
	for (unsigned int i = 0; i < f->nitems; i++) {
		const struct fw_cfg_item *it = &f->items[i];

		if (it->key == key)
			return f->offset < it->len ? it->data[f->offset++] : 0;
	}
	return 0;
}

void fw_cfg_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	struct fw_cfg *f = dev;

	(void)cpu;
	pthread_mutex_lock(&f->lock);
	if (port == FW_CFG_PORT_SEL && size == 2 && write)
		fw_cfg_select(f, (uint16_t)*val);
	else if (port == FW_CFG_PORT_DATA && size == 1 && !write)
		*val = fw_cfg_read(f);
	else if (!write)
		*val = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	pthread_mutex_unlock(&f->lock);
}
