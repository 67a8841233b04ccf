#include "ioport.h"
#include "util.h"

#include <assert.h>

void ioport_register(struct ioport_bus *bus, uint16_t base, uint16_t len, ioport_fn fn, void *dev)
{
	assert(bus->n < IOPORT_MAX_RANGES);
	for (unsigned int i = 0; i < bus->n; i++)
		assert(base + len <= bus->r[i].base || bus->r[i].base + bus->r[i].len <= base);
	bus->r[bus->n++] = (struct ioport_range){ base, len, fn, dev };
}

void ioport_access(const struct ioport_bus *bus, struct vcpu *cpu, uint16_t port, unsigned int size,
		   bool write, uint32_t *val)
{
	for (unsigned int i = 0; i < bus->n; i++) {
		const struct ioport_range *r = &bus->r[i];

		if (port >= r->base && port - r->base < r->len) {
			r->fn(r->dev, cpu, port, size, write, val);
			return;
		}
	}
	if (!write)
		*val = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}
