/*
 * SynIC AutoEOI interrupts for VTL0, whose local APIC is KVM's in-kernel one.
 * KVM's APIC always sets the in-service bit, and a guest that asked for
 * AutoEOI never clears it. So these vectors bypass the APIC: the VP's own
 * thread injects them as an already-accepted external interrupt
 * (kvm_vcpu_events.interrupt) when the vCPU can take one.
 */
#ifndef KVSM_AUTOEOI_H
#define KVSM_AUTOEOI_H

#include <stdint.h>

struct vcpu;

void autoeoi_init(struct vcpu *cpu);
/* Any thread: queue vector for cpu and make its thread look at it. */
void autoeoi_raise(struct vcpu *cpu, uint8_t vector);
/* The VP's own thread, before KVM_RUN: inject the highest queued vector if the vCPU can take it now. */
void autoeoi_deliver(struct vcpu *cpu);

#endif
