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

/* HV_REGISTER_NAME values this module handles (names, not MSR numbers). */
enum {
	VTL_REG_PENDING_INTERRUPTION	= 0x10002,
	VTL_REG_INTERRUPT_STATE		= 0x10003,
	VTL_REG_PENDING_EVENT0		= 0x10004,
	VTL_REG_RAX			= 0x20000,	/* RAX RCX RDX RBX RSP RBP RSI RDI R8..R15 */
	VTL_REG_RSP			= 0x20004,
	VTL_REG_R15			= 0x2000F,
	VTL_REG_RIP			= 0x20010,
	VTL_REG_RFLAGS			= 0x20011,
	VTL_REG_XMM0			= 0x30000,	/* ..XMM15 0x3000F */
	VTL_REG_FPMMX0			= 0x30010,	/* ..FPMMX7 0x30017 */
	VTL_REG_FP_CONTROL_STATUS	= 0x30018,
	VTL_REG_XMM_CONTROL_STATUS	= 0x30019,
	VTL_REG_CR0			= 0x40000,
	VTL_REG_CR2			= 0x40001,
	VTL_REG_CR3			= 0x40002,
	VTL_REG_CR4			= 0x40003,
	VTL_REG_CR8			= 0x40004,
	VTL_REG_XFEM			= 0x40005,	/* XCR0 */
	VTL_REG_DR0			= 0x50000,	/* ..DR3 0x50003 */
	VTL_REG_DR6			= 0x50004,
	VTL_REG_DR7			= 0x50005,
	VTL_REG_ES			= 0x60000,	/* ES CS SS DS FS GS LDTR TR */
	VTL_REG_CS			= 0x60001,
	VTL_REG_SS			= 0x60002,
	VTL_REG_DS			= 0x60003,
	VTL_REG_FS			= 0x60004,
	VTL_REG_GS			= 0x60005,
	VTL_REG_LDTR			= 0x60006,
	VTL_REG_TR			= 0x60007,
	VTL_REG_IDTR			= 0x70000,
	VTL_REG_GDTR			= 0x70001,
	VTL_REG_TSC			= 0x80000,
	VTL_REG_EFER			= 0x80001,
	VTL_REG_KERNEL_GS_BASE		= 0x80002,
	VTL_REG_APIC_BASE		= 0x80003,
	VTL_REG_PAT			= 0x80004,
	VTL_REG_SYSENTER_CS		= 0x80005,
	VTL_REG_SYSENTER_EIP		= 0x80006,	/* MSR 0x176 */
	VTL_REG_SYSENTER_ESP		= 0x80007,	/* MSR 0x175 */
	VTL_REG_STAR			= 0x80008,
	VTL_REG_LSTAR			= 0x80009,
	VTL_REG_CSTAR			= 0x8000A,
	VTL_REG_SFMASK			= 0x8000B,
	VTL_REG_INITIAL_APIC_ID		= 0x8000C,
	VTL_REG_MTRR_CAP		= 0x8000D,
	VTL_REG_MTRR_DEF_TYPE		= 0x8000E,
	VTL_REG_MTRR_PHYS_BASE0		= 0x80010,	/* ..F 0x8001F */
	VTL_REG_MTRR_PHYS_MASK0		= 0x80040,	/* ..F 0x8004F */
	VTL_REG_MTRR_FIX64K_00000	= 0x80070,
	VTL_REG_MTRR_FIX16K_80000	= 0x80071,
	VTL_REG_MTRR_FIX16K_A0000	= 0x80072,
	VTL_REG_MTRR_FIX4K_C0000	= 0x80073,	/* ..F8000 0x8007A */
	VTL_REG_TSC_AUX			= 0x8007B,
	VTL_REG_DEBUG_CTL		= 0x8007D,
	VTL_REG_SPEC_CTRL		= 0x80084,
	VTL_REG_XSS			= 0x8008B,
	VTL_REG_TSC_ADJUST		= 0x80096,
	VTL_REG_MISC_ENABLE		= 0x800A0,
};

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
 * VTL_REG_RFLAGS (it may drop an STI shadow that IF = 0 makes moot) and may
 * change cr2 (a #PF PendingEvent0 without KVM_CAP_EXCEPTION_PAYLOAD).
 */
struct vtl_event_state {
	struct kvm_vcpu_events ev;
	uint64_t rflags, cr0, cr2;
};
uint16_t vtl_regs_events_get(const struct vtl_event_state *st, uint32_t name, uint64_t val[2]);
uint16_t vtl_regs_events_set(struct vtl_event_state *st, uint32_t name, const uint64_t val[2]);

#endif
