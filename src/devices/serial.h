/*
 * 16550A UART at 0x3f8 (COM1, IRQ 4). Transmitted bytes go to an output fd;
 * there is no input source except the loopback mode software uses to probe
 * the chip. Interrupts: THR-empty and received-data, through set_irq.
 */
#ifndef KVSM_SERIAL_H
#define KVSM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ  4

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, iir_thri, lcr, mcr, lsr, msr, scr, fcr, dll, dlm, rbr;
	bool irq_level;
	int out_fd;
	unsigned int out_len;
	char out[256];
	void (*set_irq)(void *ctx, int irq, bool level);
	void *irq_ctx;
};

void serial_init(struct serial *s, int out_fd, void (*set_irq)(void *, int, bool), void *irq_ctx);
/* Register access at offset 0..7 from the base port. */
uint8_t serial_read(struct serial *s, unsigned int reg);
void serial_write(struct serial *s, unsigned int reg, uint8_t val);
void serial_flush(struct serial *s);

struct vcpu;
void serial_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val);

#endif
