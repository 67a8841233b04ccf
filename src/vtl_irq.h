/*
 * Interrupts of VTLs >= 1, whose local APICs kvsm emulates (src/lapic.c):
 * delivery into their vCPUs with KVM_INTERRUPT, APIC timers, IPIs among the
 * APICs of one VTL, HLT, and the rule that a pending interrupt for a higher
 * VTL preempts whatever lower VTL the VP runs, whatever its RFLAGS.IF.
 */
#ifndef KVSM_VTL_IRQ_H
#define KVSM_VTL_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vm;

/* Once per VM, after the guest TSC frequency is known (hyperv_init). */
void vtl_irq_init_vm(struct vm *vm);
/* Set up the APICs and timer of a VP (own thread, before its first run). */
void vtl_irq_init(struct vcpu *cpu);
/* Before every KVM_RUN (own thread): timers, preemption by a higher VTL, injection. */
void vtl_irq_prepare_run(struct vcpu *cpu);
/* After every exit of a VTL >= 1 vCPU: CR8 back into its APIC's TPR. */
void vtl_irq_after_exit(struct vcpu *cpu);
/* Whether a higher VTL of the VP than the running one can still interrupt it (halt detection). */
bool vtl_irq_may_wake(struct vcpu *cpu);
/* Exits a VTL >= 1 vCPU has and VTL0 does not; return true if handled. */
bool vtl_irq_handle_mmio(struct vcpu *cpu);
bool vtl_irq_handle_msr(struct vcpu *cpu);
/* KVM_EXIT_HLT: wait until something can run; false if the VM is stopping. */
bool vtl_irq_halt(struct vcpu *cpu);
/* Any thread: a fixed interrupt for (vp, vtl >= 1). */
void vtl_irq_raise(struct vm *vm, unsigned int vp, unsigned int vtl, uint8_t vector, bool auto_eoi);

#endif
