/*
 * Port I/O bus: devices register port ranges; unassigned ports read all-ones
 * and ignore writes, as on a PC.
 */
#ifndef KVSM_IOPORT_H
#define KVSM_IOPORT_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* size is 1, 2 or 4; *val holds the value written, or receives the value read. */
typedef void (*ioport_fn)(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size,
			  bool write, uint32_t *val);

#define IOPORT_MAX_RANGES 16

struct ioport_range {
	uint16_t base;
	uint16_t len;
	ioport_fn fn;
	void *dev;
};

struct ioport_bus {
	unsigned int n;
	struct ioport_range r[IOPORT_MAX_RANGES];
};

void ioport_register(struct ioport_bus *bus, uint16_t base, uint16_t len, ioport_fn fn, void *dev);
void ioport_access(const struct ioport_bus *bus, struct vcpu *cpu, uint16_t port, unsigned int size,
		   bool write, uint32_t *val);

#endif
