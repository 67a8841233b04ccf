/* A vCPU's guest features as KVM sees them (see guest_caps.c). */
#ifndef KVSM_X86_GUEST_CAPS_H
#define KVSM_X86_GUEST_CAPS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct gcaps {
	unsigned int maxphyaddr;
	unsigned int vaddr_bits;	/* canonical width */
	uint64_t cr4_ok, efer_ok, xcr0_ok;
	bool x2apic, lam;
};

/* Read vCPU fd's CPUID (none set: no optional feature). */
void guest_caps(int fd, struct gcaps *g);
/* Physical-address bits above MAXPHYADDR (reserved in CR3, MSRs, ...). */
uint64_t phys_rsvd(const struct gcaps *g);
/* Whether a is canonical for bits of virtual address. */
bool canonical(uint64_t a, unsigned int bits);

#endif
