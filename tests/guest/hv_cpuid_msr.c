/*
 * The Hyper-V interface as a guest first sees it: CPUID leaves (exact values)
 * and each synthetic MSR's read/write/reserved-bit/#GP behaviour.
 */
#include "lib/hyperv.h"

static void test_cpuid(uint64_t nr_cpus)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	CHECK(r[2] & (1u << 31));			/* hypervisor present */
	cpuid(0x40000000, 0, r);
	CHECK_EQ(r[0], 0x4000000A);
	CHECK_EQ(r[1], 0x7263694D);			/* "Micr" */
	CHECK_EQ(r[2], 0x666F736F);			/* "osof" */
	CHECK_EQ(r[3], 0x76482074);			/* "t Hv" */
	cpuid(0x40000001, 0, r);
	CHECK_EQ(r[0], 0x31237648);			/* "Hv#1" */
	cpuid(0x40000003, 0, r);
	/* VpRunTime, RefCounter, Synic, Stimer, IntrCtrl, HypercallMsrs, VpIndex, RefTsc, Frequency */
	CHECK_EQ(r[0], 0xa7f);
	CHECK_EQ(r[1], 0x30);				/* PostMessages, SignalEvents */
	CHECK_EQ(r[2], 0);
	CHECK_EQ(r[3], (1u << 4) | (1u << 8) | (1u << 15) | (1u << 19));
	cpuid(0x40000004, 0, r);
	CHECK_EQ(r[0], (1u << 1) | (1u << 2) | (1u << 9) | (1u << 10) | (1u << 11));
	CHECK_EQ(r[1], 0xffffffff);
	cpuid(0x40000005, 0, r);
	CHECK_EQ(r[0], nr_cpus);
	cpuid(0x40000006, 0, r);
	CHECK_EQ(r[0], 0);
}

static void test_hypercall_msrs(void)
{
	uint64_t v;
	uint8_t *page = alloc_pages(1);

	CHECK(rdmsr_safe(HV_X64_MSR_GUEST_OS_ID, &v) && v == 0);
	/* Without a guest OS ID the page cannot be enabled. */
	CHECK(wrmsr_safe(HV_X64_MSR_HYPERCALL, (uint64_t)page | 1));
	CHECK(rdmsr_safe(HV_X64_MSR_HYPERCALL, &v));
	CHECK_EQ(v, (uint64_t)page);
	CHECK(wrmsr_safe(HV_X64_MSR_GUEST_OS_ID, HV_GUEST_OS_ID_KVSM_TESTS));
	CHECK(rdmsr_safe(HV_X64_MSR_GUEST_OS_ID, &v) && v == HV_GUEST_OS_ID_KVSM_TESTS);
	CHECK(wrmsr_safe(HV_X64_MSR_HYPERCALL, (uint64_t)page | 1 | 0xff0));	/* RsvdP 11:2 ignored */
	CHECK(rdmsr_safe(HV_X64_MSR_HYPERCALL, &v));
	CHECK_EQ(v, (uint64_t)page | 1);
	/* TLFS layout: hypercall at 0, VTL call at 0x0F, VTL return at 0x26; the rest is int3. */
	CHECK_EQ(page[3], 0xc3);
	CHECK_EQ(page[0x0f], 0x48);
	CHECK_EQ(page[0x1a], 0xc3);
	CHECK_EQ(page[0x26], 0x48);
	CHECK_EQ(page[0x31], 0xc3);
	CHECK_EQ(page[0x32], 0xcc);
	CHECK_EQ(page[4095], 0xcc);
	CHECK(!wrmsr_safe(HV_X64_MSR_HYPERCALL, 1ull << guest_phys_bits() | 1));	/* beyond MAXPHYADDR */
	/* Clearing the OS ID disables the page. */
	CHECK(wrmsr_safe(HV_X64_MSR_GUEST_OS_ID, 0));
	CHECK(rdmsr_safe(HV_X64_MSR_HYPERCALL, &v) && v == (uint64_t)page);
	CHECK(wrmsr_safe(HV_X64_MSR_GUEST_OS_ID, HV_GUEST_OS_ID_KVSM_TESTS));
	/* Locked: later writes #GP. */
	CHECK(wrmsr_safe(HV_X64_MSR_HYPERCALL, (uint64_t)page | 3));
	CHECK(!wrmsr_safe(HV_X64_MSR_HYPERCALL, (uint64_t)page | 1));
	CHECK(rdmsr_safe(HV_X64_MSR_HYPERCALL, &v) && v == ((uint64_t)page | 3));
	hv_hypercall_page = page;
}

static void test_readonly_msrs(void)
{
	uint64_t a, b;

	CHECK(rdmsr_safe(HV_X64_MSR_VP_INDEX, &a) && a == 0);
	CHECK(!wrmsr_safe(HV_X64_MSR_VP_INDEX, 1));
	CHECK(rdmsr_safe(HV_X64_MSR_TSC_FREQUENCY, &a) && a > 100000000ull);
	CHECK(!wrmsr_safe(HV_X64_MSR_TSC_FREQUENCY, a));
	CHECK(rdmsr_safe(HV_X64_MSR_APIC_FREQUENCY, &a) && a == 1000000000ull);
	CHECK(!wrmsr_safe(HV_X64_MSR_APIC_FREQUENCY, a));
	CHECK(rdmsr_safe(HV_X64_MSR_TIME_REF_COUNT, &a));
	CHECK(rdmsr_safe(HV_X64_MSR_TIME_REF_COUNT, &b) && b >= a);
	CHECK(!wrmsr_safe(HV_X64_MSR_TIME_REF_COUNT, 0));
	CHECK(rdmsr_safe(HV_X64_MSR_VP_RUNTIME, &a) && a > 0);
	CHECK(!wrmsr_safe(HV_X64_MSR_VP_RUNTIME, 0));
	/* Not implemented, not advertised: #GP. */
	CHECK(!rdmsr_safe(HV_X64_MSR_RESET, &a));
	CHECK(!rdmsr_safe(0x40000005, &a));
	CHECK(!rdmsr_safe(0x400000ff, &a));
	CHECK(!rdmsr_safe(0x40000085, &a));	/* SIRBP */
}

static void test_vp_assist(void)
{
	uint64_t *page = alloc_pages(1), v;

	page[0] = 0x1234;
	CHECK(!wrmsr_safe(HV_X64_MSR_VP_ASSIST_PAGE, (uint64_t)page | 1 | 0x10));	/* reserved bit */
	CHECK(!wrmsr_safe(HV_X64_MSR_VP_ASSIST_PAGE, 1ull << guest_phys_bits() | 1));	/* beyond MAXPHYADDR */
	CHECK(wrmsr_safe(HV_X64_MSR_VP_ASSIST_PAGE, (uint64_t)page | 1));
	CHECK(rdmsr_safe(HV_X64_MSR_VP_ASSIST_PAGE, &v) && v == ((uint64_t)page | 1));
	CHECK_EQ(page[0], 0);					/* zeroed when enabled */
	CHECK(wrmsr_safe(HV_X64_MSR_VP_ASSIST_PAGE, 0));
}

static void test_synic_defaults(void)
{
	uint64_t v;

	CHECK(rdmsr_safe(HV_X64_MSR_SVERSION, &v) && v == 1);
	CHECK(!wrmsr_safe(HV_X64_MSR_SVERSION, 2));
	CHECK(rdmsr_safe(HV_X64_MSR_SCONTROL, &v) && v == 0);
	CHECK(rdmsr_safe(HV_X64_MSR_SINT0 + 5, &v) && v == 0x10000);
	CHECK(rdmsr_safe(HV_X64_MSR_EOM, &v) && v == 0);
	CHECK(rdmsr_safe(HV_X64_MSR_STIMER0_CONFIG, &v) && v == 0);
}

/* EOI/ICR/TPR aliases: KVM's in-kernel APIC serves them only in x2APIC mode (docs/hyperv.md). */
static void test_apic_aliases(void)
{
	uint64_t v, base = rdmsr(0x1b);

	CHECK(!wrmsr_safe(HV_X64_MSR_TPR, 0x20));		/* xAPIC mode */
	CHECK(!rdmsr_safe(HV_X64_MSR_EOI, &v));			/* write-only */
	wrmsr(0x1b, base | (1u << 10));				/* x2APIC on */
	CHECK(wrmsr_safe(HV_X64_MSR_TPR, 0x20));
	CHECK_EQ(rdmsr(0x808), 0x20);
	CHECK(rdmsr_safe(HV_X64_MSR_TPR, &v) && v == 0x20);
	CHECK(wrmsr_safe(HV_X64_MSR_TPR, 0));
	CHECK(wrmsr_safe(HV_X64_MSR_EOI, 0));			/* nothing in service: a no-op */
}

void test_main(const struct mb_info *mbi)
{
	test_cpuid(cmdline_u64(mbi, "cpus", 1));
	test_hypercall_msrs();
	test_readonly_msrs();
	test_vp_assist();
	test_synic_defaults();
	test_apic_aliases();
}
