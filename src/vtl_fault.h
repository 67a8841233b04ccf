/* Violations of VTL protections from KVM's exits, turned into secure intercepts (vtl_fault.c). */
#ifndef KVSM_VTL_FAULT_H
#define KVSM_VTL_FAULT_H

#include <stdbool.h>

struct vcpu;
struct hv_intercept_state;

/* The intercept state (RIP not advanced) of the VP's running VTL, from its synced registers. */
void vtl_intercept_state(struct vcpu *cpu, struct hv_intercept_state *st);

/*
 * Each returns true when the exit was a protection fault it handled (the VP
 * now runs the VTL told, or the access was completed), false when it was not
 * one (the caller reports the exit as before).
 */
bool vtl_fault_efault(struct vcpu *cpu);	/* KVM_RUN failed with EFAULT */
bool vtl_fault_mmio(struct vcpu *cpu);		/* KVM_EXIT_MMIO */
bool vtl_fault_fetch(struct vcpu *cpu);		/* KVM_EXIT_INTERNAL_ERROR, emulation */

#endif
