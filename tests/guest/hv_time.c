/*
 * Partition reference time (TLFS 12.4-12.7; spec 5.5): the reference TSC
 * page and TIME_REF_COUNT must give the same clock, that clock must run at
 * 10 MHz as the TSC (TSC_FREQUENCY) and the local APIC timer
 * (APIC_FREQUENCY) measure it, on every VP; VP_RUNTIME must count only
 * time the VP ran.
 */
#include "lib/hyperv.h"

#define MS 10000ull	/* reference time units per millisecond */

struct ref_tsc_page {
	volatile uint32_t sequence;
	uint32_t reserved1;
	volatile uint64_t scale;
	volatile int64_t offset;
};

static struct ref_tsc_page *page;
static uint64_t tsc_hz;

static uint64_t rdtsc_ordered(void)
{
	__asm__ volatile("lfence" ::: "memory");
	return rdtsc();
}

/* Reference time from the page: ((tsc * scale) >> 64) + offset, retried if the sequence changes. */
static uint64_t page_time_tsc(uint64_t *tsc_out)
{
	uint32_t seq;
	uint64_t scale, tsc;
	int64_t offset;

	do {
		seq = page->sequence;
		__asm__ volatile("" ::: "memory");
		scale = page->scale;
		offset = page->offset;
		tsc = rdtsc_ordered();
		__asm__ volatile("" ::: "memory");
	} while (page->sequence != seq);
	if (tsc_out)
		*tsc_out = tsc;
	return (uint64_t)(((unsigned __int128)tsc * scale) >> 64) + (uint64_t)offset;
}

static uint64_t page_time(void)
{
	return page_time_tsc(0);
}

/* 2^64 * 10^7 / hz with one divq (the quotient fits: hz > 10^7). */
static uint64_t expected_scale(uint64_t hz)
{
	uint64_t q, r;

	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(0ull), "d"(10000000ull), "rm"(hz));
	return q;
}

static bool within_1pct(uint64_t got, uint64_t want)
{
	uint64_t d = got > want ? got - want : want - got;

	return d * 100 <= want;
}

static bool zero_from(const void *p, unsigned int from)
{
	const uint8_t *b = p;

	for (unsigned int i = from; i < 4096; i++)
		if (b[i])
			return false;
	return true;
}

static void test_page_msr(void)
{
	uint64_t v;
	struct ref_tsc_page *other = alloc_pages(1);

	CHECK(rdmsr_safe(HV_X64_MSR_REFERENCE_TSC, &v) && v == 0);
	page = alloc_pages(1);
	memset(page, 0xa5, 4096);
	CHECK(wrmsr_safe(HV_X64_MSR_REFERENCE_TSC, (uint64_t)page | 1 | 0xffe));	/* 11:1 RsvdP */
	CHECK_EQ(rdmsr(HV_X64_MSR_REFERENCE_TSC), (uint64_t)page | 1);
	check(page->sequence != 0 && page->sequence != 0xffffffff, "TscSequence valid: 0x%x", page->sequence);
	CHECK_EQ(page->scale, expected_scale(tsc_hz));
	CHECK_EQ(page->reserved1, 0);
	CHECK(zero_from(page, 24));
	CHECK(!wrmsr_safe(HV_X64_MSR_REFERENCE_TSC, 1ull << guest_phys_bits() | 1));	/* beyond MAXPHYADDR */
	CHECK_EQ(rdmsr(HV_X64_MSR_REFERENCE_TSC), (uint64_t)page | 1);

	/*
	 * Moved: the new page is filled the same way, and the old GPA shows the RAM
	 * beneath again (the page is an overlay); disabled: the MSR keeps the GPA.
	 */
	memset(other, 0xa5, 4096);
	{
		uint32_t seq = page->sequence;
		uint64_t scale = page->scale;
		int64_t offset = page->offset;

		wrmsr(HV_X64_MSR_REFERENCE_TSC, (uint64_t)other | 1);
		CHECK(other->sequence == seq && other->scale == scale && other->offset == offset);
		CHECK_EQ(page->sequence, 0xa5a5a5a5u);
	}
	wrmsr(HV_X64_MSR_REFERENCE_TSC, (uint64_t)other);
	CHECK_EQ(rdmsr(HV_X64_MSR_REFERENCE_TSC), (uint64_t)other);
	wrmsr(HV_X64_MSR_REFERENCE_TSC, (uint64_t)page | 1);
}

/* TIME_REF_COUNT read between two page computations lies between them. */
static void bracket(void *arg)
{
	unsigned int bad = 0;
	uint64_t t1, m, t2, first = page_time(), last = 0;

	for (unsigned int i = 0; i < 50; i++) {
		t1 = page_time();
		m = rdmsr(HV_X64_MSR_TIME_REF_COUNT);
		t2 = page_time();
		if (!(t1 <= m && m <= t2)) {
			if (!bad)
				printf("  page %llu, MSR %llu, page %llu\n", (unsigned long long)t1,
				       (unsigned long long)m, (unsigned long long)t2);
			bad++;
		}
		last = t2;
	}
	check(!bad, "VP%u: page time <= TIME_REF_COUNT <= page time, 50 times (%u bad)", apic_id(), bad);
	CHECK(last > first);
}

static volatile unsigned int apic_fired;

static void apic_irq(struct irq_frame *f)
{
	apic_fired++;
	apic_eoi();
}

/*
 * Over a 20 ms sleep: the page and the MSR advance by delta_tsc * 10^7 /
 * TSC_FREQUENCY (1%), and by what the local APIC timer's current count
 * says at APIC_FREQUENCY (1%). 20 ms keeps 1% (200 us) well above the
 * latency of the MSR exits inside the interval on a busy host.
 */
static void test_rates(void)
{
	uint64_t apic_hz = rdmsr(HV_X64_MSR_APIC_FREQUENCY);
	uint64_t tsc_a, tsc_b, ref_a, ref_b, msr_a, msr_b, want;
	uint32_t cur_a, cur_b;

	CHECK_EQ(apic_hz, 1000000000ull);
	set_irq_handler(0x40, apic_irq);
	/* Each MSR read sits right after/before its TSC read, so the MSR interval lies inside the TSC one. */
	ref_a = page_time_tsc(&tsc_a);
	msr_a = rdmsr(HV_X64_MSR_TIME_REF_COUNT);
	delay_us(20000);
	msr_b = rdmsr(HV_X64_MSR_TIME_REF_COUNT);
	ref_b = page_time_tsc(&tsc_b);
	want = (tsc_b - tsc_a) * 10000000ull / tsc_hz;
	check(within_1pct(ref_b - ref_a, want), "page time advanced %llu, TSC says %llu",
	      (unsigned long long)(ref_b - ref_a), (unsigned long long)want);
	check(within_1pct(msr_b - msr_a, want) && msr_b - msr_a <= ref_b - ref_a + 1,
	      "TIME_REF_COUNT advanced %llu, TSC says %llu", (unsigned long long)(msr_b - msr_a),
	      (unsigned long long)want);
	CHECK(ref_b - ref_a >= 20 * MS);		/* delay_us(20000) waits 20 ms of reference time */

	/* The APIC timer as the clock: its count falls at APIC_FREQUENCY while the page time runs. */
	apic_write(APIC_TIMER_DIV, 0xb);		/* divide by 1 */
	apic_write(APIC_LVT_TIMER, 0x40);		/* one-shot, 500 ms: longer than the measurement */
	apic_write(APIC_TIMER_INIT, 500000000);
	ref_a = page_time();
	cur_a = apic_read(APIC_TIMER_CUR);
	for (uint64_t end = ref_a + 20 * MS; page_time() < end;)
		pause();
	ref_b = page_time();
	cur_b = apic_read(APIC_TIMER_CUR);
	apic_write(APIC_TIMER_INIT, 0);
	want = (uint64_t)(cur_a - cur_b) * 10000000ull / apic_hz;
	check(within_1pct(ref_b - ref_a, want), "page time advanced %llu, APIC timer says %llu",
	      (unsigned long long)(ref_b - ref_a), (unsigned long long)want);
	CHECK_EQ(apic_fired, 0);
}

/* VP_RUNTIME: grows while the VP runs, by no more than the elapsed time; hardly at all while halted. */
static void test_runtime(void)
{
	uint64_t ta, tb, ra, rb;

	ta = page_time();
	ra = rdmsr(HV_X64_MSR_VP_RUNTIME);
	for (uint64_t end = ta + 3 * MS; page_time() < end;)
		pause();
	rb = rdmsr(HV_X64_MSR_VP_RUNTIME);
	tb = page_time();
	check(rb > ra && rb - ra <= tb - ta, "VP_RUNTIME +%llu while running %llu", (unsigned long long)(rb - ra),
	      (unsigned long long)(tb - ta));

	apic_write(APIC_LVT_TIMER, 0x40);
	ta = page_time();
	ra = rdmsr(HV_X64_MSR_VP_RUNTIME);
	apic_write(APIC_TIMER_INIT, 5000000);		/* 5 ms, one hlt */
	while (!apic_fired)
		sti_hlt();
	cli();
	rb = rdmsr(HV_X64_MSR_VP_RUNTIME);
	tb = page_time();
	check(rb - ra < (tb - ta) / 2, "VP_RUNTIME +%llu while halted %llu", (unsigned long long)(rb - ra),
	      (unsigned long long)(tb - ta));
}

void ap_main(unsigned int id)
{
	ap_idle(id);
}

void test_main(const struct mb_info *mbi)
{
	unsigned int ncpus;

	ncpus = smp_start_aps() + 1;
	CHECK_EQ(ncpus, cmdline_u64(mbi, "cpus", 1));
	tsc_hz = rdmsr(HV_X64_MSR_TSC_FREQUENCY);
	test_page_msr();
	for (unsigned int v = 0; v < ncpus; v++)
		on_cpu(v, bracket, 0);
	test_rates();
	test_runtime();
}
