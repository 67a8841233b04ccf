/* x86 rules for segment and control registers (see vtl_sregs.c); the public checks are in vtl_regs.h. */
#ifndef KVSM_VTL_SREGS_H
#define KVSM_VTL_SREGS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct gcaps;

/* Segment registers in HV_REGISTER_NAME order (HV_X64_REGISTER_ES + i). */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

struct kvm_segment *vtl_sregs_seg(struct kvm_sregs *s, unsigned int i);
/* n may replace old: segment seg (none if < 0) and the control registers are consistent. */
bool vtl_sregs_ok(const struct gcaps *g, struct kvm_sregs *n, const struct kvm_sregs *old, int seg);
/* IA32_APIC_BASE v may replace old (KVM's reserved bits, the WRMSR mode rules, BSP unchanged). */
bool vtl_apic_base_ok(const struct gcaps *g, uint64_t v, uint64_t old);

#endif
