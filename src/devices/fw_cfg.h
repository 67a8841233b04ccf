/*
 * QEMU fw_cfg, traditional I/O interface: a 16-bit selector write to 0x510,
 * then byte reads from 0x511. No DMA interface (the ID item says so).
 */
#ifndef KVSM_FW_CFG_H
#define KVSM_FW_CFG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511

/* Item keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_ID		0x01
#define FW_CFG_RAM_SIZE		0x03
#define FW_CFG_NOGRAPHIC	0x04
#define FW_CFG_NB_CPUS		0x05
#define FW_CFG_MAX_CPUS		0x0f
#define FW_CFG_FILE_DIR		0x19

#define FW_CFG_ID_TRADITIONAL	1u

#define FW_CFG_MAX_ITEMS 8

struct fw_cfg_item {
	uint16_t key;
	uint8_t len;
	uint8_t data[8];
};

struct fw_cfg {
	pthread_mutex_t lock;
	uint16_t selector;
	uint32_t offset;
	unsigned int nitems;
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
};

void fw_cfg_init(struct fw_cfg *f, uint64_t ram, unsigned int ncpus);
void fw_cfg_select(struct fw_cfg *f, uint16_t key);
/* Next byte of the selected item; 0 past its end or for an unknown key (as QEMU). */
uint8_t fw_cfg_read(struct fw_cfg *f);

struct vcpu;
void fw_cfg_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val);

#endif
