/*
 * Architectural registers of a VP's vCPU in one VTL, by HV_REGISTER_NAME
 * (TLFS numbering): the part of HvCallGetVpRegisters/HvCallSetVpRegisters
 * that maps onto KVM state. VTL rules, synthetic and VSM registers and rep
 * handling belong to the caller. See the comment at the top of vtl_regs.c for
 * where each register lives and for the choices made where the TLFS is silent.
 */
#ifndef KVSM_VTL_REGS_H
#define KVSM_VTL_REGS_H

#include "kvsm/tlfs.h"

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/*
 * Architectural registers of the VP's vCPU in `vtl`, by HV_REGISTER_NAME.
 * Called on the VP's own thread while none of its vCPUs runs. val is a 16-byte
 * HV_REGISTER_VALUE (val[0] = low 64 bits; for 64-bit registers val[1] is 0 on
 * get and ignored on set). Returns an HV_STATUS: 0 on success;
 * HV_STATUS_INVALID_PARAMETER (5) for a name this module does not handle, a
 * VTL without a vCPU, a value with reserved or invalid bits (whatever KVM would
 * refuse at KVM_SET_* or KVM_RUN time, fail VM entry with, or the SDM makes
 * #GP), an MSR KVM refuses, and a set of a read-only register (InitialApicId,
 * MtrrCap). Nothing is changed when the status is not 0. In VTLs >= 1, Cr8
 * and ApicBase are those of kvsm's user-space LAPIC (cpu->v[vtl].apic).
 * Shared registers (spec 4.3) are per vCPU here: the caller picks the VTL
 * whose vCPU holds them (vtl_enter carries them to the next VTL).
 */
uint16_t vtl_regs_get(struct vcpu *cpu, unsigned int vtl, uint32_t name, uint64_t val[2]);
uint16_t vtl_regs_set(struct vcpu *cpu, unsigned int vtl, uint32_t name, const uint64_t val[2]);
/* Whether name is one vtl_regs_get/set handle (for the caller's dispatch). */
bool vtl_regs_handles(uint32_t name);

/*
 * Check a whole kvm_sregs before writing it to vtl's synced sregs (e.g. for
 * HV_INITIAL_VP_CONTEXT, whose CR0/CR4/EFER/CS are only consistent together):
 * the same rules vtl_regs_set applies one register at a time. Returns 0 or
 * HV_STATUS_INVALID_PARAMETER. The APIC base is checked only if it differs
 * from the vCPU's current one (as KVM does).
 */
uint16_t vtl_regs_check_sregs(struct vcpu *cpu, unsigned int vtl, const struct kvm_sregs *s);

/* Conversions, exposed for unit tests. */
/* HV_X64_SEGMENT_REGISTER {u64 Base; u32 Limit; u16 Selector; u16 Attributes}. KVM's `unusable` is P = 0. */
void vtl_regs_seg_to_hv(const struct kvm_segment *s, uint64_t val[2]);
/* General-purpose register i in x86 encoding order (0 RAX, 1 RCX, ... 15 R15); 16 is RIP. */
__u64 *vtl_regs_gpr(struct kvm_regs *r, unsigned int i);
/* false if Attributes bits 11:8 (reserved) are set; *s is then unchanged. */
bool vtl_regs_seg_from_hv(const uint64_t val[2], struct kvm_segment *s);
/* The same from the core's decoded form (reserved bits already refused). */
void vtl_regs_seg_from_tlfs(const struct hv_x64_segment_register *r, struct kvm_segment *s);
/* HV_X64_TABLE_REGISTER {u16 Pad[3]; u16 Limit; u64 Base}; Pad is ignored on input and 0 on output. */
void vtl_regs_table_to_hv(const struct kvm_dtable *t, uint64_t val[2]);
void vtl_regs_table_from_hv(const uint64_t val[2], struct kvm_dtable *t);

/*
 * The event registers (PendingInterruption, InterruptState, PendingEvent0)
 * and RFLAGS, as a pure function of the synced kvm_vcpu_events and the few
 * registers their rules depend on. vtl_regs_get/set use these on the vCPU's
 * synced state; exposed for unit tests. events_set also accepts
 * HV_X64_REGISTER_RFLAGS (it may drop an STI shadow that IF = 0 makes moot) and may
 * change cr2 (a #PF PendingEvent0 without KVM_CAP_EXCEPTION_PAYLOAD).
 */
struct vtl_event_state {
	struct kvm_vcpu_events ev;
	uint64_t rflags, cr0, cr2;
};
uint16_t vtl_regs_events_get(const struct vtl_event_state *st, uint32_t name, uint64_t val[2]);
uint16_t vtl_regs_events_set(struct vtl_event_state *st, uint32_t name, const uint64_t val[2]);

#endif
