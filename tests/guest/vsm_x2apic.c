/*
 * VTL1 in x2APIC mode (run with --vtls 2 --smp N, N = 2 or 4, and cpus=N):
 * every VP's VTL1 switches its (user-space) local APIC to x2APIC mode and
 * uses only the x2APIC MSRs (SDM 11.12): APIC ID, version and LDR; TPR
 * through CR8 and MSR 0x808; SPIV software enable and disable; the timer in
 * one-shot, periodic and TSC-deadline mode; self-IPI; fixed IPIs to another
 * VP's VTL1 by physical and logical destination and by broadcast; EOI; and
 * the #GPs of reserved bits, read-only and write-only registers. VTL0 keeps
 * KVM's APIC in xAPIC mode throughout: the modes are per VTL.
 */
#include "lib/vsm.h"

#define APIC_BASE_MSR	0x1b
#define APIC_BASE_EN	(1ull << 11)
#define APIC_BASE_EXTD	(1ull << 10)
#define X2(off)		(0x800u + ((off) >> 4))		/* x2APIC MSR of xAPIC offset off */
#define X2_ID		X2(0x20)
#define X2_VERSION	X2(0x30)
#define X2_TPR		X2(0x80)
#define X2_EOI		X2(0xb0)
#define X2_LDR		X2(0xd0)
#define X2_SPIV		X2(0xf0)
#define X2_ISR(v)	(X2(0x100) + (v) / 32)
#define X2_ICR		X2(0x300)
#define X2_LVT_TIMER	X2(0x320)
#define X2_TMICT	X2(0x380)
#define X2_TMCCT	X2(0x390)
#define X2_TDCR		X2(0x3e0)
#define X2_SELF_IPI	0x83f
#define TSC_DEADLINE	0x6e0
#define LVT_MASKED	(1u << 16)
#define LVT_PERIODIC	(1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define ICR_LOGICAL	(1u << 11)
#define ICR_ALL_BUT_SELF (3u << 18)

#define TIMER_VEC	0xd0
#define IPI_VEC		0xd1
#define SELF_VEC	0xd2
#define WAIT_US		20000000	/* 20 s: only reached when something is wrong */

static unsigned int ncpus;
static volatile unsigned int timer_irqs, self_irqs, ipi_irqs[MAX_CPUS];
static volatile bool timer_isr_set_in_handler;
static volatile unsigned int aps_in_vtl0;
static volatile bool stop_aps;
static struct {
	uint64_t apic_base, id, ldr;
	bool done;
} ap_seen[MAX_CPUS];

/* ---- VTL1 interrupt handlers: EOI through the x2APIC MSR ---- */

static void timer_irq(struct irq_frame *f)
{
	timer_irqs++;
	timer_isr_set_in_handler = rdmsr(X2_ISR(TIMER_VEC)) & (1u << (TIMER_VEC % 32));
	wrmsr(X2_EOI, 0);
}

static void self_irq(struct irq_frame *f)
{
	self_irqs++;
	wrmsr(X2_EOI, 0);
}

static void ipi_irq(struct irq_frame *f)
{
	ipi_irqs[apic_id_any()]++;
	wrmsr(X2_EOI, 0);
}

/* In VTL1: let pending interrupts in for about us microseconds, then disable them again. */
static void vtl1_settle(unsigned int us)
{
	uint64_t end = hv_ref_time() + us * 10ull;

	sti();
	while (hv_ref_time() < end)
		pause();
	cli();
}

static uint32_t x2apic_ldr(uint32_t id)
{
	return (id >> 4) << 16 | 1u << (id & 0xf);
}

/* VTL1, every VP: x2APIC mode, software-enabled; record what this VP sees. */
static void vtl1_x2apic_on(void)
{
	unsigned int me = apic_id_any();

	wrmsr(APIC_BASE_MSR, rdmsr(APIC_BASE_MSR) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2_SPIV, 0x1ff);
	ap_seen[me].apic_base = rdmsr(APIC_BASE_MSR);
	ap_seen[me].id = rdmsr(X2_ID);
	ap_seen[me].ldr = rdmsr(X2_LDR);
	ap_seen[me].done = true;
}

/* ---- VTL1 on VP0: the checks (VTL0 waits in its VTL call, so printing here cannot deadlock) ---- */

static void vtl1_identity(void)
{
	uint64_t v;

	CHECK_EQ(ap_seen[0].apic_base & (APIC_BASE_EN | APIC_BASE_EXTD), APIC_BASE_EN | APIC_BASE_EXTD);
	CHECK_EQ(ap_seen[0].apic_base & ~0xfffull, 0xfee00000ull);
	CHECK_EQ(rdmsr(X2_ID), 0);
	CHECK_EQ(rdmsr(X2_VERSION), 0x50014);		/* version 0x14, max LVT entry 5 */
	CHECK_EQ(rdmsr(X2_LDR), x2apic_ldr(0));
	/* x2APIC -> xAPIC directly is not allowed (SDM 11.12.5). */
	CHECK(!wrmsr_safe(APIC_BASE_MSR, (rdmsr(APIC_BASE_MSR) & ~APIC_BASE_EXTD)));
	CHECK(rdmsr_safe(APIC_BASE_MSR, &v) && (v & APIC_BASE_EXTD));
}

static void vtl1_tpr(void)
{
	uint64_t cr8;

	__asm__ volatile("mov %0, %%cr8" :: "r"(5ull));
	CHECK_EQ(rdmsr(X2_TPR), 0x50);
	wrmsr(X2_TPR, 0x30);
	__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
	CHECK_EQ(cr8, 3);
	wrmsr(X2_TPR, 0);
	__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
	CHECK_EQ(cr8, 0);
}

static void vtl1_spiv(void)
{
	CHECK_EQ(rdmsr(X2_SPIV), 0x1ff);
	wrmsr(X2_LVT_TIMER, TIMER_VEC);
	CHECK_EQ(rdmsr(X2_LVT_TIMER), TIMER_VEC);
	wrmsr(X2_SPIV, 0xff);				/* software disable: every LVT masked */
	CHECK_EQ(rdmsr(X2_SPIV), 0xff);
	CHECK_EQ(rdmsr(X2_LVT_TIMER), TIMER_VEC | LVT_MASKED);
	wrmsr(X2_LVT_TIMER, TIMER_VEC);			/* cannot be unmasked while disabled */
	CHECK_EQ(rdmsr(X2_LVT_TIMER), TIMER_VEC | LVT_MASKED);
	wrmsr(X2_SPIV, 0x1ff);
	CHECK_EQ(rdmsr(X2_LVT_TIMER), TIMER_VEC | LVT_MASKED);	/* stays masked until written */
	wrmsr(X2_LVT_TIMER, TIMER_VEC);
	CHECK_EQ(rdmsr(X2_LVT_TIMER), TIMER_VEC);
}

static void vtl1_timer(void)
{
	unsigned int n;

	/* One-shot, divide by 1: 1 ms at the 1 GHz APIC clock. */
	wrmsr(X2_TDCR, 0xb);
	wrmsr(X2_LVT_TIMER, TIMER_VEC);
	wrmsr(X2_TMICT, 1000000);
	CHECK(rdmsr(X2_TMCCT) <= 1000000);
	check(SPIN_UNTIL(timer_irqs == 1, WAIT_US), "x2APIC one-shot timer fired (%u)", timer_irqs);
	vtl1_settle(3000);
	CHECK_EQ(timer_irqs, 1);
	CHECK_EQ(rdmsr(X2_TMCCT), 0);
	CHECK(timer_isr_set_in_handler);
	CHECK_EQ(rdmsr(X2_ISR(TIMER_VEC)) & (1u << (TIMER_VEC % 32)), 0);	/* EOI cleared it */

	/* Periodic, 0.5 ms: three interrupts, then stopped by TMICT = 0. */
	n = timer_irqs;
	wrmsr(X2_LVT_TIMER, TIMER_VEC | LVT_PERIODIC);
	wrmsr(X2_TMICT, 500000);
	check(SPIN_UNTIL(timer_irqs >= n + 3, WAIT_US), "x2APIC periodic timer: 3 interrupts (%u)", timer_irqs - n);
	wrmsr(X2_TMICT, 0);
	vtl1_settle(1000);
	n = timer_irqs;
	vtl1_settle(3000);
	CHECK_EQ(timer_irqs, n);

	/* TSC deadline, about 1 ms ahead; IA32_TSC_DEADLINE reads 0 once it fired. */
	wrmsr(X2_LVT_TIMER, TIMER_VEC | LVT_TSC_DEADLINE);
	wrmsr(TSC_DEADLINE, rdtsc() + 1000000);
	check(SPIN_UNTIL(timer_irqs == n + 1, WAIT_US), "x2APIC TSC-deadline timer fired (%u)", timer_irqs - n);
	CHECK_EQ(rdmsr(TSC_DEADLINE), 0);
	vtl1_settle(2000);
	CHECK_EQ(timer_irqs, n + 1);
	wrmsr(X2_LVT_TIMER, TIMER_VEC | LVT_MASKED);
}

static void vtl1_self_ipi(void)
{
	wrmsr(X2_SELF_IPI, SELF_VEC);
	check(SPIN_UNTIL(self_irqs == 1, WAIT_US), "x2APIC self-IPI delivered (%u)", self_irqs);
	/* Through the ICR with the self shorthand too. */
	wrmsr(X2_ICR, 1u << 18 | SELF_VEC);
	check(SPIN_UNTIL(self_irqs == 2, WAIT_US), "x2APIC ICR self-shorthand delivered (%u)", self_irqs);
	vtl1_settle(1000);
	CHECK_EQ(self_irqs, 2);
	CHECK_EQ(ipi_irqs[0], 0);
}

/* IPIs from VP0's VTL1 to the other VPs' VTL1, which preempt their VTL0 (spinning with IF = 0). */
static void vtl1_ipis(void)
{
	unsigned int last = ncpus - 1;

	/* Physical destination: the x2APIC ID in bits 63:32. */
	wrmsr(X2_ICR, (uint64_t)1 << 32 | IPI_VEC);
	check(SPIN_UNTIL(ipi_irqs[1] == 1, WAIT_US), "x2APIC physical IPI to VP1 (%u)", ipi_irqs[1]);
	/* Logical destination: cluster 0, one bit per VP. */
	wrmsr(X2_ICR, (uint64_t)x2apic_ldr(last) << 32 | ICR_LOGICAL | IPI_VEC);
	check(SPIN_UNTIL(ipi_irqs[last] == (last == 1 ? 2 : 1), WAIT_US), "x2APIC logical IPI to VP%u (%u)", last,
	      ipi_irqs[last]);
	/* Broadcast to all but self. */
	wrmsr(X2_ICR, ICR_ALL_BUT_SELF | IPI_VEC);
	for (unsigned int vp = 1; vp < ncpus; vp++) {
		unsigned int want = 1 + (vp == 1) + (vp == last);

		check(SPIN_UNTIL(ipi_irqs[vp] == want, WAIT_US), "x2APIC broadcast IPI reached VP%u (%u of %u)", vp,
		      ipi_irqs[vp], want);
	}
	vtl1_settle(2000);
	CHECK_EQ(ipi_irqs[0], 0);
	for (unsigned int vp = 1; vp < ncpus; vp++)
		CHECK_EQ(ipi_irqs[vp], 1 + (vp == 1) + (vp == last));
}

/* Reserved bits, read-only and write-only registers, non-registers: #GP (SDM 11.12.1.2, 11.12.1.3). */
static void vtl1_gp_rules(void)
{
	uint64_t v;

	CHECK(!wrmsr_safe(X2_TPR, 0x100));
	CHECK(!wrmsr_safe(X2_TPR, 1ull << 32));
	CHECK(!wrmsr_safe(X2_ID, 7));			/* read-only in x2APIC mode */
	CHECK(!wrmsr_safe(X2_LDR, 0));
	CHECK(!rdmsr_safe(X2_EOI, &v));			/* write-only */
	CHECK(!wrmsr_safe(X2_EOI, 1));			/* non-zero EOI */
	CHECK(!rdmsr_safe(X2_SELF_IPI, &v));
	CHECK(!wrmsr_safe(X2_SELF_IPI, 0x100));
	CHECK(!rdmsr_safe(0x831, &v));			/* no ICR high half in x2APIC mode */
	CHECK(!wrmsr_safe(X2_LVT_TIMER, 3u << 17 | TIMER_VEC));	/* reserved timer mode */
	CHECK(!wrmsr_safe(X2_TDCR, 4));
	CHECK(!rdmsr_safe(0x8ff, &v));			/* no register there */
	/* An MSR nobody implements still #GPs in a VTL whose invalid MSRs come to kvsm. */
	CHECK(!rdmsr_safe(0x12345678, &v));
	CHECK(!wrmsr_safe(0x12345678, 0));
	CHECK_EQ(rdmsr(X2_TPR), 0);
	CHECK_EQ(rdmsr(X2_LVT_TIMER), TIMER_VEC | LVT_MASKED);
}

static void vtl1_checks(void)
{
	vtl1_identity();
	vtl1_tpr();
	vtl1_spiv();
	vtl1_timer();
	vtl1_self_ipi();
	vtl1_ipis();
	vtl1_gp_rules();
}

void ap_main(unsigned int id)
{
	apic_enable();
	vsm_call(vtl1_x2apic_on, 0, 0);
	__atomic_add_fetch(&aps_in_vtl0, 1, __ATOMIC_SEQ_CST);
	cli();
	while (!stop_aps)	/* IF = 0: only VTL1 interrupts get through, by preempting VTL0 */
		pause();
}

static void vtl1_enable_aps(void)
{
	for (unsigned int vp = 1; vp < ncpus; vp++)
		check(vsm_enable_vp_vtl1(vp) == 0, "VTL1 enabled on VP%u", vp);
}

void test_main(const struct mb_info *mbi)
{
	ncpus = (unsigned int)cmdline_u64(mbi, "cpus", 2);
	hv_enable_hypercalls();
	apic_enable();
	set_irq_handler(TIMER_VEC, timer_irq);
	set_irq_handler(SELF_VEC, self_irq);
	set_irq_handler(IPI_VEC, ipi_irq);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_enable_aps, 0, 0);
	for (unsigned int vp = 1; vp < ncpus; vp++)
		CHECK_EQ(vsm_start_vp(vp, 0), 0);
	CHECK(WAIT_UNTIL(aps_in_vtl0 == ncpus - 1, 5000000));
	for (unsigned int vp = 1; vp < ncpus; vp++) {
		CHECK(ap_seen[vp].done);
		CHECK_EQ(ap_seen[vp].id, vp);
		CHECK_EQ(ap_seen[vp].ldr, x2apic_ldr(vp));
		CHECK_EQ(ap_seen[vp].apic_base & (APIC_BASE_EN | APIC_BASE_EXTD), APIC_BASE_EN | APIC_BASE_EXTD);
	}
	vsm_call(vtl1_x2apic_on, 0, 0);
	vsm_call(vtl1_checks, 0, 0);
	/* VTL0's own APIC stayed in xAPIC mode. */
	CHECK_EQ(rdmsr(APIC_BASE_MSR) & (APIC_BASE_EN | APIC_BASE_EXTD), APIC_BASE_EN);
	CHECK_EQ(apic_read(APIC_ID) >> 24, 0);
	stop_aps = true;
}
