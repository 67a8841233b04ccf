/*
 * One VTL's interrupt controller, as the VP's run loop and the Hyper-V glue
 * use it. Two kinds: KVM's in-kernel APIC for VTL0 (kernel_apic.c) and kvsm's
 * own APIC for VTL1 and VTL2 (vtl_irq.c, over lapic.c), which is what lets
 * kvsm see every interrupt aimed at a higher VTL. Every VP's vCPU of a VTL
 * points at its kind (struct vcpu_vtl.chip). Unless said otherwise an
 * operation runs on the VP's own thread and acts on the VTL the VP runs.
 */
#ifndef KVSM_IRQCHIP_H
#define KVSM_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

struct irqchip_ops {
	/* Once, before the VP's first run: the VP's controller of vtl. */
	void (*init)(struct vcpu *cpu, unsigned int vtl);
	/* Before each KVM_RUN of this VTL: inject what is pending and deliverable. */
	void (*before_run)(struct vcpu *cpu);
	/* After each exit of this VTL. */
	void (*after_exit)(struct vcpu *cpu);
	/* KVM_EXIT_HLT: wait until the VP can run again; false once the VM stops. */
	bool (*halt)(struct vcpu *cpu);
	/* Whether the VP's controller of vtl holds an interrupt or a timer that may still fire. */
	bool (*may_wake)(struct vcpu *cpu, unsigned int vtl);
	/* MMIO and MSR exits of this VTL: true if the controller handled them. */
	bool (*mmio)(struct vcpu *cpu);
	bool (*msr)(struct vcpu *cpu);
	/* Any thread: a fixed, edge interrupt for the VP's controller of vtl (auto_eoi: SynIC AutoEOI). */
	void (*raise)(struct vcpu *cpu, unsigned int vtl, uint8_t vector, bool auto_eoi);
};

extern const struct irqchip_ops kernel_apic_chip;
extern const struct irqchip_ops user_apic_chip;

#endif
