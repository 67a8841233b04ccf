#include "cpuid.h"
#include "../util.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

struct kvm_cpuid2 *x86_cpuid_supported(const struct kvm_host *h)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = xcalloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		c->nent = n;
		if (ioctl(h->fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			die_errno(KVSM_EXIT_HOST, "KVM_GET_SUPPORTED_CPUID");
	}
	die(KVSM_EXIT_HOST, "KVM_GET_SUPPORTED_CPUID: table too large");
}

void x86_cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int apic_id,
			unsigned int nr_vcpus)
{
	size_t sz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = xcalloc(1, sz);

	memcpy(c, supported, sz);
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC ID, [23:16] logical processors per package */
			e->ebx = (e->ebx & 0xffff) | (apic_id << 24) |
				 ((nr_vcpus > 255 ? 255 : nr_vcpus) << 16);
			if (nr_vcpus > 1)
				e->edx |= 1u << 28;	/* HTT: the count above is valid */
			break;
		case 0xb:
		case 0x1f:
			e->edx = apic_id;	/* x2APIC ID */
			break;
		}
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_CPUID2");
	free(c);
}
