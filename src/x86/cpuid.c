#include "cpuid.h"
#include "../util.h"

#include "kvsm/hv.h"

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

unsigned int x86_cpuid_phys_bits(const struct kvm_cpuid2 *supported)
{
	for (unsigned int i = 0; i < supported->nent; i++)
		if (supported->entries[i].function == 0x80000008u && (supported->entries[i].eax & 0xff))
			return supported->entries[i].eax & 0xff;
	return 36;	/* SDM 4.1.4: MAXPHYADDR is 36 where CPUID 0x80000008 is absent */
}

static const struct kvm_cpuid_entry2 *leaf_d(const struct kvm_cpuid2 *c, uint32_t index)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0xd && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

#define XSAVE_IMAGE 4096u	/* sizeof(struct kvm_xsave) */
#define XSAVE_LEGACY 576u	/* legacy area and XSAVE header */

unsigned int x86_cpuid_xsave_ranges(const struct kvm_cpuid2 *supported, struct xsave_range r[XSAVE_RANGES])
{
	const struct kvm_cpuid_entry2 *d0 = leaf_d(supported, 0);
	uint64_t user = d0 ? d0->eax | (uint64_t)d0->edx << 32 : 0;
	unsigned int n = 1;

	r[0] = (struct xsave_range){ 0, d0 ? XSAVE_LEGACY : XSAVE_IMAGE };
	for (unsigned int i = 2; d0 && i < 64; i++) {
		const struct kvm_cpuid_entry2 *c = (user >> i & 1) ? leaf_d(supported, i) : NULL;
		uint32_t off, end, last_end = (uint32_t)r[n - 1].off + r[n - 1].len;

		if (!c || !c->eax || c->ebx >= XSAVE_IMAGE)
			continue;	/* nothing of it in a 4 KiB image */
		off = c->ebx;
		end = off + c->eax < XSAVE_IMAGE ? off + c->eax : XSAVE_IMAGE;
		/* Offsets grow with the component number; anything else: the whole image. */
		if (off < r[n - 1].off) {
			r[0] = (struct xsave_range){ 0, XSAVE_IMAGE };
			return 1;
		}
		if (off <= last_end || n == XSAVE_RANGES) {	/* touching, or no room: widen the last */
			if (end > last_end)
				r[n - 1].len = (uint16_t)(end - r[n - 1].off);
		} else {
			r[n++] = (struct xsave_range){ (uint16_t)off, (uint16_t)(end - off) };
		}
	}
	return n;
}

#define HV_LEAF_FIRST 0x40000000u
#define HV_LEAF_LAST 0x4000000Au

void x86_cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int apic_id,
			unsigned int nr_vcpus, const struct hv_partition *hv)
{
	size_t n = HV_LEAF_LAST - HV_LEAF_FIRST + 1;
	struct kvm_cpuid2 *c = xcalloc(1, sizeof(*c) + (supported->nent + n) * sizeof(c->entries[0]));

	for (unsigned int i = 0; i < supported->nent; i++)
		if (supported->entries[i].function < HV_LEAF_FIRST || supported->entries[i].function > 0x400000FF)
			c->entries[c->nent++] = supported->entries[i];
	for (uint32_t leaf = HV_LEAF_FIRST; leaf <= HV_LEAF_LAST; leaf++) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
		uint32_t r[4];

		hv_cpuid(hv, leaf, r);
		*e = (struct kvm_cpuid_entry2){ .function = leaf, .eax = r[0], .ebx = r[1], .ecx = r[2], .edx = r[3] };
	}
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC ID, [23:16] logical processors per package */
			e->ebx = (e->ebx & 0xffff) | (apic_id << 24) |
				 ((nr_vcpus > 255 ? 255 : nr_vcpus) << 16);
			if (nr_vcpus > 1)
				e->edx |= 1u << 28;	/* HTT: the count above is valid */
			/* Hypervisor present: guests look at 0x40000000 only then (TLFS 2.4); KVM leaves it to the VMM. */
			e->ecx |= 1u << 31;
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
