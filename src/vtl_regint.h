/* Secure MSR and I/O port intercepts from KVM's RDMSR/WRMSR and port I/O exits (vtl_regint.c). */
#ifndef KVSM_VTL_REGINT_H
#define KVSM_VTL_REGINT_H

#include <stdbool.h>

struct vcpu;

/* An access a higher VTL intercepts: post it, leave the VP at the instruction and enter that VTL. */
bool vtl_regint_msr(struct vcpu *cpu);
/* An I/O exit of a port a higher VTL intercepts: post it, leave the VP at the instruction, enter that VTL. */
bool vtl_regint_io(struct vcpu *cpu);
/* An access that exited only because the MSR may be intercepted: do it as KVM would. */
bool vtl_regint_msr_native(struct vcpu *cpu);

#endif
