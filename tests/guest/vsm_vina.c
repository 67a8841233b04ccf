/*
 * VINA for VTL0 interrupts that only KVM's in-kernel APIC sees (spec 4.4; run
 * with --vtls 2 --smp N, N = 1 or 2, and cpus=N). VTL1 on VP0 enables VINA
 * (AutoReset) and spins with interrupts off; VinaAsserted must appear in its
 * VP assist page when
 *  - VTL0's own local APIC timer expires, and (N = 2)
 *  - VTL0 on VP1 sends VTL0 on VP0 a fixed IPI,
 * and must not appear while VTL0 has nothing pending. The latency from the
 * source to VTL1 seeing VinaAsserted is printed; after the return, VTL1's
 * VINA interrupt runs and VTL0 takes its own interrupt.
 */
#include "lib/vsm.h"

#define VINA_VEC	0xe2
#define TIMER_VEC	0x60
#define IPI_VEC		0x61
#define VINA_STATUS	0x0c			/* VTL control: VinaStatus byte in the VP assist page */
#define WAIT_100NS	(2ull * 10000000)	/* 2 s: only reached when VINA never comes */
#define WAIT_US		2000000
#define TIMER_NS	2000000u		/* VTL0's one-shot: 2 ms at the 1 GHz APIC clock */
#define MAX_LATENCY_100NS (50ull * 10000)	/* 50 ms: generous, the host may be busy */

static unsigned int ncpus;
static volatile unsigned int vina_irqs, timer_irqs, ipi_irqs;
static volatile bool ap_ready, ap_go;
static volatile uint64_t ap_sent_at;
static struct {
	bool asserted;
	uint64_t start, seen;
} vtl1;

static void vina_irq(struct irq_frame *f) { vina_irqs++; apic_eoi(); }
static void timer_irq(struct irq_frame *f) { timer_irqs++; apic_eoi(); }
static void ipi_irq(struct irq_frame *f) { ipi_irqs++; apic_eoi(); }

static void vtl1_setup(void)
{
	apic_enable();
	vsm_set_reg(~1u, 0, HV_REG_VSM_VINA, VINA_VEC | 1u << 8 | 1u << 9);	/* Enabled, AutoReset */
}

static void vtl1_enable_ap(void)
{
	check(vsm_enable_vp_vtl1(1) == 0, "VTL1 enabled on VP1");
}

/* VTL1 on VP0, interrupts off: wait for VinaAsserted (bounded); optionally release VP1 first. */
static void vtl1_wait_vina(void)
{
	volatile uint8_t *status = vtl1_vps[0].assist + VINA_STATUS;
	uint64_t end;

	cli();
	vtl1.start = hv_ref_time();
	end = vtl1.start + WAIT_100NS;
	if (ap_ready)
		ap_go = true;
	while (!(*status & 1) && hv_ref_time() < end)
		pause();
	vtl1.seen = hv_ref_time();
	vtl1.asserted = *status & 1;
}

/* VTL1 on VP0: its VinaStatus now (the assist page is VTL1's overlay: VTL0 sees RAM there). */
static volatile uint8_t vina_status_seen;

static void vtl1_read_status(void)
{
	vina_status_seen = vtl1_vps[0].assist[VINA_STATUS];
}

/* VTL1 on VP0: nothing for VTL0 is pending, so 5 ms of spinning must not assert VINA. */
static void vtl1_quiet(void)
{
	volatile uint8_t *status = vtl1_vps[0].assist + VINA_STATUS;
	uint64_t end = hv_ref_time() + 50000;

	cli();
	while (!(*status & 1) && hv_ref_time() < end)
		pause();
	vtl1.asserted = *status & 1;
}

void ap_main(unsigned int id)
{
	set_irq_handler(IPI_VEC, ipi_irq);
	apic_enable();
	ap_ready = true;
	while (!ap_go)
		pause();
	ap_sent_at = hv_ref_time();
	apic_send_ipi(0, IPI_VEC);
	cli();
	for (;;)
		hlt();
}

static void test_quiet(void)
{
	vsm_call(vtl1_quiet, 0, 0);
	CHECK(!vtl1.asserted);
	CHECK_EQ(vina_irqs, 0);
}

static void test_timer(void)
{
	uint64_t armed, latency;

	cli();
	apic_write(APIC_TIMER_DIV, 0xb);
	apic_write(APIC_LVT_TIMER, TIMER_VEC);
	armed = hv_ref_time();
	apic_write(APIC_TIMER_INIT, TIMER_NS);
	vsm_call(vtl1_wait_vina, 0, 0);
	check(vtl1.asserted, "VINA asserted for VTL0's APIC timer while VTL1 spun with IF = 0");
	latency = vtl1.seen - (armed + TIMER_NS / 100);
	printf("VINA latency, VTL0 timer expiry: %llu us\n",
	       (unsigned long long)(vtl1.seen > armed + TIMER_NS / 100 ? latency / 10 : 0));
	check(vtl1.seen >= armed + TIMER_NS / 100, "VINA not before the timer expired");
	check(vtl1.seen - armed <= TIMER_NS / 100 + MAX_LATENCY_100NS, "VINA within 50 ms of the expiry");
	CHECK(SPIN_UNTIL(vina_irqs == 1, WAIT_US));		/* VTL1's VINA interrupt, after its return */
	CHECK(SPIN_UNTIL(timer_irqs == 1, WAIT_US));		/* VTL0's own interrupt, delivered as usual */
	vsm_call(vtl1_read_status, 0, 0);
	CHECK_EQ(vina_status_seen & 1, 0);			/* AutoReset on the return */
}

static void test_ipi(void)
{
	uint64_t latency;

	CHECK(SPIN_UNTIL(ap_ready, WAIT_US));
	vsm_call(vtl1_wait_vina, 0, 0);
	check(vtl1.asserted, "VINA asserted for a VTL0 IPI from VP1 while VTL1 spun with IF = 0");
	latency = vtl1.seen > ap_sent_at ? vtl1.seen - ap_sent_at : 0;
	printf("VINA latency, VTL0 IPI: %llu us\n", (unsigned long long)latency / 10);
	check(latency <= MAX_LATENCY_100NS, "VINA within 50 ms of the IPI");
	CHECK(SPIN_UNTIL(vina_irqs == 2, WAIT_US));
	CHECK(SPIN_UNTIL(ipi_irqs == 1, WAIT_US));
}

void test_main(const struct mb_info *mbi)
{
	ncpus = (unsigned int)cmdline_u64(mbi, "cpus", 1);
	hv_enable_hypercalls();
	apic_enable();
	set_irq_handler(VINA_VEC, vina_irq);
	set_irq_handler(TIMER_VEC, timer_irq);
	set_irq_handler(IPI_VEC, ipi_irq);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_setup, 0, 0);
	test_quiet();
	test_timer();
	if (ncpus > 1) {
		vsm_call(vtl1_enable_ap, 0, 0);
		CHECK_EQ(vsm_start_vp(1, 0), 0);
		test_ipi();
	}
}
