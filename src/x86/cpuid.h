/* Guest CPUID: what KVM supports, with per-vCPU APIC IDs filled in. */
#ifndef KVSM_X86_CPUID_H
#define KVSM_X86_CPUID_H

#include "../kvm.h"

struct kvm_cpuid2;
struct hv_partition;

/* KVM_GET_SUPPORTED_CPUID, allocated; exits on failure. */
struct kvm_cpuid2 *x86_cpuid_supported(const struct kvm_host *h);
/* The guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]; 36 without that leaf). */
unsigned int x86_cpuid_phys_bits(const struct kvm_cpuid2 *supported);
/*
 * The byte ranges of KVM's XSAVE image (standard format, 4096 bytes) that can
 * be non-zero: the legacy area and header, and each user component the guest
 * may enable (CPUID 0xD.0 EDX:EAX; 0xD.i: EBX offset, EAX size), merged and
 * in order; KVM zero-fills the rest. Without leaf 0xD: the whole image.
 * Returns how many ranges went to r (at most XSAVE_RANGES).
 */
#define XSAVE_RANGES 8
struct xsave_range {
	uint16_t off, len;
};
unsigned int x86_cpuid_xsave_ranges(const struct kvm_cpuid2 *supported, struct xsave_range r[XSAVE_RANGES]);
/* Set the CPUID of one vCPU from the supported table (which is not modified). */
/* KVM's hypervisor leaves (0x40000000-0x400000FF) are replaced by the Hyper-V ones of hv. */
void x86_cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int apic_id,
			unsigned int nr_vcpus, const struct hv_partition *hv);

#endif
