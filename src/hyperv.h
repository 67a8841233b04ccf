/* kvsm's glue between KVM exits and the Hyper-V core (libkvsm, include/kvsm/hv.h). */
#ifndef KVSM_HYPERV_H
#define KVSM_HYPERV_H

#include <stdbool.h>

struct vm;
struct vcpu;

/* The I/O port of the `out imm8, al` kvsm's hypercall pages call out with (hv_config.hypercall_port). */
#define KVSM_HYPERCALL_PORT 0xE8

/* Create the partition and its timer thread, route synthetic MSRs to user space. Call after the vCPUs exist. */
void hyperv_init(struct vm *vm);
/* Whether this exit is a hypercall: the `out` of an enabled hypercall page of the VP's VTL. */
bool hyperv_is_hypercall(struct vcpu *cpu);
/* Run it: #UD, a result, a continuation or a VTL switch (vtl_enter). */
void hyperv_handle_hypercall(struct vcpu *cpu);
/* hv_host_ops.msr_intercepts_changed: refilter VTL vtl's MSRs. */
void hyperv_msr_intercepts_changed(void *host, unsigned int vtl);
/* KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR for a synthetic MSR. */
void hyperv_handle_msr(struct vcpu *cpu);

#endif
