/*
 * Interrupts of VTLs >= 1, whose local APICs kvsm emulates (src/lapic.c):
 * the user_apic_chip (irqchip.h: delivery into their vCPUs with
 * KVM_INTERRUPT, IPIs among the APICs of one VTL, HLT), the VP's host timer
 * for their APIC timers, and the rule that a pending interrupt for a higher
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
/* Set up the VP's host timer for its higher VTLs' APIC timers and VINA looks (own thread, before its first run). */
void vtl_irq_init(struct vcpu *cpu);
/* Before every KVM_RUN (own thread): timers, VINA looks, preemption by a higher VTL. */
void vtl_irq_prepare_run(struct vcpu *cpu);
/* Whether a higher VTL of the VP than the running one can still interrupt it (halt detection). */
bool vtl_irq_may_wake(struct vcpu *cpu);

#endif
