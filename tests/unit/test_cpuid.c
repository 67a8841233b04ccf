/* x86/cpuid.c's reading of the supported CPUID table: MAXPHYADDR and the XSAVE image size. */
#include "test.h"
#include "x86/cpuid.h"

#include <linux/kvm.h>
#include <stdlib.h>

/* A table of n entries, leaf 0xD subleaf 0 (ECX = xsave_ecx) first when xsave_ecx is not ~0. */
static struct kvm_cpuid2 *table(uint32_t xsave_ecx, uint32_t phys_eax)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(c->entries[0]));

	c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 1, .ecx = 2048,
							   .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	if (xsave_ecx != ~0u)
		c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 0, .ecx = xsave_ecx,
								   .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	if (phys_eax)
		c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = phys_eax };
	return c;
}

static void xsave_bytes(void)
{
	static const struct { uint32_t ecx, want; } cases[] = {
		{ 2696, 2696 },		/* x87, SSE, AVX, PKRU */
		{ 832, 832 },		/* x87, SSE, AVX */
		{ 576, 576 },		/* legacy area and header only */
		{ 575, 4096 },		/* smaller than the legacy area and header: not trusted */
		{ 0, 4096 },
		{ 4096, 4096 },
		{ 11008, 4096 },	/* AMX: more than kvm_xsave holds; kvsm reads 4096 */
		{ ~0u, 4096 },		/* no subleaf 0 (subleaf 1 has ECX 2048: not taken) */
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvm_cpuid2 *c = table(cases[i].ecx, 0);

		EXPECT_EQ(x86_cpuid_xsave_bytes(c), cases[i].want);
		free(c);
	}
}

static void phys_bits(void)
{
	struct kvm_cpuid2 *c = table(832, 0x3028);

	EXPECT_EQ(x86_cpuid_phys_bits(c), 0x28);
	free(c);
	c = table(832, 0);
	EXPECT_EQ(x86_cpuid_phys_bits(c), 36);
	free(c);
}

int main(void)
{
	RUN_TEST(xsave_bytes);
	RUN_TEST(phys_bits);
	return TEST_EXIT();
}
