/* Violations of VTL protections from KVM's exits, turned into secure intercepts (vtl_fault.c). */
#ifndef KVSM_VTL_FAULT_H
#define KVSM_VTL_FAULT_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct hv_intercept_state;
struct insn_decoded;

/* The intercept state (RIP not advanced) of the VP's running VTL, from its synced registers. */
void vtl_intercept_state(struct vcpu *cpu, struct hv_intercept_state *st);
/* Decode the instruction at linear rip of the VP's running VTL, read through its page tables. */
bool vtl_fault_decode_at(struct vcpu *cpu, uint64_t rip, struct insn_decoded *d);

/*
 * Each returns true when the exit was a protection fault it handled (the VP
 * now runs the VTL told, or the access was completed), false when it was not
 * one (the caller reports the exit as before).
 */
bool vtl_fault_efault(struct vcpu *cpu);	/* KVM_RUN failed with EFAULT */
bool vtl_fault_mmio(struct vcpu *cpu);		/* KVM_EXIT_MMIO */
bool vtl_fault_fetch(struct vcpu *cpu);		/* KVM_EXIT_INTERNAL_ERROR, emulation */
/*
 * A hypercall whose parameter block at gpa (input, or output if write) a
 * higher VTL protected: RIP is back at the call; report it as the access of
 * the call's three bytes (`nop; out`, as long as VMCALL) and enter that VTL.
 */
void vtl_fault_hypercall(struct vcpu *cpu, uint64_t gpa, bool write);

#endif
