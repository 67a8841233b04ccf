/* QEMU-compatible isa-debug-exit at port 0xf4: writing v ends the VM with status (v << 1) | 1. */
#ifndef KVSM_DEBUG_EXIT_H
#define KVSM_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4

struct vcpu;
void debug_exit_io(void *vm, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val);

#endif
