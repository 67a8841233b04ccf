/* kvsm's glue between KVM exits and the Hyper-V core (libkvsm, include/kvsm/hv.h). */
#ifndef KVSM_HYPERV_H
#define KVSM_HYPERV_H

#include <stdbool.h>

struct vm;
struct vcpu;

/* Create the partition, route synthetic MSRs to user space. Call after the vCPUs exist. */
void hyperv_init(struct vm *vm);
/* A port write that may be a hypercall from the hypercall page; returns true if handled. */
bool hyperv_handle_io(struct vcpu *cpu);
/* KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR for a synthetic MSR. */
void hyperv_handle_msr(struct vcpu *cpu);

#endif
