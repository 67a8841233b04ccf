/* x86/cpuid.c's reading of the supported CPUID table: MAXPHYADDR and the XSAVE image's ranges. */
#include "test.h"
#include "x86/cpuid.h"

#include <linux/kvm.h>
#include <stdlib.h>

/* One entry of leaf 0xD: subleaf, EAX (size, or the low XCR0 bits in subleaf 0), EBX (offset). */
struct d_leaf {
	uint32_t index, eax, ebx;
};

static struct kvm_cpuid2 *table(const struct d_leaf *d, unsigned int n, uint32_t phys_eax)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (n + 1) * sizeof(c->entries[0]));

	for (unsigned int i = 0; i < n; i++)
		c->entries[c->nent++] = (struct kvm_cpuid_entry2){
			.function = 0xd, .index = d[i].index, .eax = d[i].eax, .ebx = d[i].ebx,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		};
	if (phys_eax)
		c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = phys_eax };
	return c;
}

static unsigned int ranges(const struct d_leaf *d, unsigned int n, struct xsave_range r[XSAVE_RANGES])
{
	struct kvm_cpuid2 *c = table(d, n, 0);
	unsigned int nr;

	memset(r, 0xcc, XSAVE_RANGES * sizeof(*r));
	nr = x86_cpuid_xsave_ranges(c, r);
	free(c);
	return nr;
}

#define EXPECT_RANGE(r, o, l) do { EXPECT_EQ((r).off, o); EXPECT_EQ((r).len, l); } while (0)

/* x87, SSE, AVX and PKRU (this nested machine): the AVX area joins the legacy one, PKRU stands apart. */
static void avx_pkru(void)
{
	static const struct d_leaf d[] = {
		{ 0, 0x207, 2696 }, { 1, 0xf, 0 }, { 2, 256, 576 }, { 9, 8, 2688 },
	};
	struct xsave_range r[XSAVE_RANGES];

	EXPECT_EQ(ranges(d, 4, r), 2);
	EXPECT_RANGE(r[0], 0, 832);
	EXPECT_RANGE(r[1], 2688, 8);
}

/* AVX-512 and PKRU: every component touches the one before, one range. */
static void avx512(void)
{
	static const struct d_leaf d[] = {
		{ 0, 0x2e7, 2696 }, { 2, 256, 576 }, { 5, 64, 1088 }, { 6, 512, 1152 }, { 7, 1024, 1664 },
		{ 9, 8, 2688 },
	};
	struct xsave_range r[XSAVE_RANGES];

	EXPECT_EQ(ranges(d, 6, r), 2);	/* 832..1088 is MPX's, not offered: a gap */
	EXPECT_RANGE(r[0], 0, 832);
	EXPECT_RANGE(r[1], 1088, 2696 - 1088);
}

/* A component the guest may not enable (bit clear in 0xD.0) is never compared, even if its subleaf exists. */
static void only_enabled_components(void)
{
	static const struct d_leaf d[] = { { 0, 0x3, 576 }, { 2, 256, 576 }, { 9, 8, 2688 } };
	struct xsave_range r[XSAVE_RANGES];

	EXPECT_EQ(ranges(d, 3, r), 1);
	EXPECT_RANGE(r[0], 0, 576);
}

/* AMX tile data past 4 KiB: cut at the end of the image. */
static void cut_at_4k(void)
{
	static const struct d_leaf d[] = { { 0, 0x60007, 11008 }, { 2, 256, 576 }, { 17, 64, 2752 }, { 18, 8192, 2816 } };
	struct xsave_range r[XSAVE_RANGES];

	EXPECT_EQ(ranges(d, 4, r), 2);
	EXPECT_RANGE(r[0], 0, 832);
	EXPECT_RANGE(r[1], 2752, 4096 - 2752);
}

/* No leaf 0xD, or offsets that go backwards: the whole image. */
static void whole_image(void)
{
	static const struct d_leaf back[] = { { 0, 0x207, 2696 }, { 2, 256, 2688 }, { 9, 8, 576 } };
	struct xsave_range r[XSAVE_RANGES];

	EXPECT_EQ(ranges(NULL, 0, r), 1);
	EXPECT_RANGE(r[0], 0, 4096);
	EXPECT_EQ(ranges(back, 3, r), 1);
	EXPECT_RANGE(r[0], 0, 4096);
}

/* More separate components than ranges: the last range widens to cover the rest. */
static void too_many_ranges(void)
{
	struct d_leaf d[12] = { { 0, 0, 0 } };
	struct xsave_range r[XSAVE_RANGES];

	for (unsigned int i = 0; i < 10; i++) {
		d[0].eax |= 1u << (i + 2);
		d[i + 1] = (struct d_leaf){ i + 2, 8, 1024 + 256 * i };
	}
	EXPECT_EQ(ranges(d, 11, r), XSAVE_RANGES);
	EXPECT_RANGE(r[0], 0, 576);
	EXPECT_RANGE(r[1], 1024, 8);
	EXPECT_RANGE(r[6], 1024 + 256 * 5, 8);
	EXPECT_RANGE(r[7], 1024 + 256 * 6, 256 * 3 + 8);
}

static void phys_bits(void)
{
	struct kvm_cpuid2 *c = table(NULL, 0, 0x3028);

	EXPECT_EQ(x86_cpuid_phys_bits(c), 0x28);
	free(c);
	c = table(NULL, 0, 0);
	EXPECT_EQ(x86_cpuid_phys_bits(c), 36);
	free(c);
}

int main(void)
{
	RUN_TEST(avx_pkru);
	RUN_TEST(avx512);
	RUN_TEST(only_enabled_components);
	RUN_TEST(cut_at_4k);
	RUN_TEST(whole_image);
	RUN_TEST(too_many_ranges);
	RUN_TEST(phys_bits);
	return TEST_EXIT();
}
