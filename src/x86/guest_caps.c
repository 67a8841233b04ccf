/*
 * What a vCPU's guest may use, from its CPUID as KVM sees it (KVM_GET_CPUID2):
 * the CPUID-gated CR4, EFER and XCR0 bits, MAXPHYADDR and the canonical width,
 * the way KVM derives them for its own checks.
 */
#include "guest_caps.h"
#include "arch.h"

#include <stdlib.h>
#include <sys/ioctl.h>

/* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT: no CPUID gate in KVM. */
#define CR4_ALWAYS	0x7ffull

static const struct kvm_cpuid_entry2 *cpuid_leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == fn && (e->index == idx || !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return e;
	}
	return NULL;
}

#define HAS(e, reg, bit) ((e) && (((e)->reg >> (bit)) & 1))

void guest_caps(int fd, struct gcaps *g)
{
	const uint32_t max = 256;	/* KVM_MAX_CPUID_ENTRIES */
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	struct kvm_cpuid2 none = { .nent = 0 };
	const struct kvm_cpuid_entry2 *l1, *l7, *l71, *ld, *e0, *e1, *e8, *e21;

	if (c) {
		c->nent = max;
		if (ioctl(fd, KVM_GET_CPUID2, c))
			c->nent = 0;	/* no CPUID set: KVM sees no optional feature either */
	}
	const struct kvm_cpuid2 *t = c ? c : &none;

	l1 = cpuid_leaf(t, 1, 0);
	l7 = cpuid_leaf(t, 7, 0);
	l71 = cpuid_leaf(t, 7, 1);
	ld = cpuid_leaf(t, 0xd, 0);
	e0 = cpuid_leaf(t, 0x80000000, 0);
	e1 = cpuid_leaf(t, 0x80000001, 0);
	e8 = cpuid_leaf(t, 0x80000008, 0);
	e21 = cpuid_leaf(t, 0x80000021, 0);

	/* cpuid_query_maxphyaddr(): 36 without leaf 0x80000008. */
	g->maxphyaddr = e0 && e0->eax >= 0x80000008 && e8 ? (e8->eax & 0xff) : 36;
	if (g->maxphyaddr < 32 || g->maxphyaddr > 52)
		g->maxphyaddr = g->maxphyaddr < 32 ? 32 : 52;
	g->vaddr_bits = HAS(l7, ecx, 16) ? 57 : 48;
	g->x2apic = HAS(l1, ecx, 21);
	g->lam = HAS(l71, eax, 26);

	/* __cr4_reserved_bits(): the CPUID-gated CR4 bits. */
	g->cr4_ok = CR4_ALWAYS;
	if (HAS(l7, ecx, 2))
		g->cr4_ok |= 1ull << 11;	/* UMIP */
	if (HAS(l7, ecx, 16))
		g->cr4_ok |= 1ull << 12;	/* LA57 */
	if (HAS(l1, ecx, 5))
		g->cr4_ok |= 1ull << 13;	/* VMXE */
	if (HAS(l7, ebx, 0))
		g->cr4_ok |= 1ull << 16;	/* FSGSBASE */
	if (HAS(l1, ecx, 17))
		g->cr4_ok |= CR4_PCIDE;
	if (HAS(l1, ecx, 26))
		g->cr4_ok |= 1ull << 18;	/* OSXSAVE */
	if (HAS(l7, ebx, 7))
		g->cr4_ok |= CR4_SMEP;
	if (HAS(l7, ebx, 20))
		g->cr4_ok |= CR4_SMAP;
	if (HAS(l7, ecx, 3))
		g->cr4_ok |= 1ull << 22;	/* PKE */
	if (HAS(l7, ecx, 7) || HAS(l7, edx, 20))
		g->cr4_ok |= CR4_CET;		/* SHSTK or IBT */
	if (HAS(l7, ecx, 31))
		g->cr4_ok |= 1ull << 24;	/* PKS */
	if (g->lam)
		g->cr4_ok |= 1ull << 28;	/* LAM_SUP */
	if (HAS(l71, eax, 17))
		g->cr4_ok |= 1ull << 32;	/* FRED */

	g->efer_ok = EFER_SCE;
	if (HAS(e1, edx, 29))
		g->efer_ok |= EFER_LME | EFER_LMA;
	if (HAS(e1, edx, 20))
		g->efer_ok |= EFER_NXE;
	if (HAS(e1, ecx, 2))
		g->efer_ok |= 1ull << 12;	/* SVME */
	if (HAS(e1, edx, 25))
		g->efer_ok |= 1ull << 14;	/* FFXSR */
	if (HAS(e1, ecx, 17))
		g->efer_ok |= 1ull << 15;	/* TCE */
	if (HAS(e21, eax, 8))
		g->efer_ok |= 1ull << 21;	/* AUTOIBRS */

	g->xcr0_ok = XFEATURE_FP | (ld ? ld->eax | (uint64_t)ld->edx << 32 : 0);
	free(c);
}

uint64_t phys_rsvd(const struct gcaps *g)
{
	return ~0ull << g->maxphyaddr;
}

bool canonical(uint64_t a, unsigned int bits)
{
	unsigned int s = 64 - bits;

	return (uint64_t)((int64_t)(a << s) >> s) == a;
}
