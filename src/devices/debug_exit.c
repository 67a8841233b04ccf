#include "debug_exit.h"
#include "../vm.h"

void debug_exit_io(void *vm, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	(void)cpu;
	(void)port;
	if (write)
		vm_stop(vm, (int)(((*val << 1) | 1) & 0xff));
	else
		*val = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}
