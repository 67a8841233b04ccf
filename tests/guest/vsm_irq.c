/*
 * Interrupts across VTLs (run with --vtls 2 --smp 2): a VTL1 APIC timer and a
 * VTL1 IPI preempt VTL0 spinning with interrupts disabled (entry reason
 * interrupt); IPIs never cross from one VTL's APICs to the other's; VINA.
 */
#include "lib/vsm.h"

#define VTL1_TIMER_VEC	0xe0
#define VTL1_IPI_VEC	0xe1
#define VINA_VEC	0xe2
#define VTL0_IPI_VEC	0x50

static volatile unsigned int vtl1_timer_irqs, vtl1_ipi_irqs[MAX_CPUS], vtl0_ipi_irqs[MAX_CPUS], vina_irqs;
static volatile bool ap_in_vtl0_loop, stop_ap;
static volatile uint8_t vina_status_in_handler;

static void vtl1_timer(struct irq_frame *f) { vtl1_timer_irqs++; apic_eoi(); }
static void vtl1_ipi(struct irq_frame *f) { vtl1_ipi_irqs[apic_id_any()]++; apic_eoi(); }
static void vtl0_ipi(struct irq_frame *f) { vtl0_ipi_irqs[apic_id_any()]++; apic_eoi(); }

static void vina(struct irq_frame *f)
{
	vina_irqs++;
	vina_status_in_handler = vtl1_vps[apic_id_any()].assist[0x0c];
	apic_eoi();
}

/* VTL1: software-enable its APIC and arm a one-shot timer. */
static void vtl1_arm_timer(void)
{
	apic_enable();
	apic_write(APIC_TIMER_DIV, 0xb);
	apic_write(APIC_LVT_TIMER, VTL1_TIMER_VEC);
	/* 50 ms at 1 GHz: long enough that it fires after VTL0 is back and spinning even on a loaded host. */
	apic_write(APIC_TIMER_INIT, 50000000);
}

static volatile uint64_t ap_enable_status = ~0ull;

static void vtl1_enable_ap(void)
{
	ap_enable_status = vsm_enable_vp_vtl1(1);
}

static void vtl1_enable_apic(void)
{
	apic_enable();
}

/* VTL1 on VP0: send a fixed IPI through VTL1's APIC to VP1. */
static void vtl1_send_ipi(void)
{
	apic_send_ipi(1, VTL1_IPI_VEC);
}

static void vtl1_enable_vina(void)
{
	vsm_set_reg(~1u, 0, HV_REG_VSM_VINA, VINA_VEC | (1u << 8));	/* Enabled, no AutoReset */
}

/* VTL1: an interrupt for VTL0 on this VP while VTL1 runs -> VINA in VTL1. */
static void vtl1_trigger_vina(void)
{
	uint64_t rdx = VTL0_IPI_VEC | (uint64_t)HV_INPUT_VTL(0) << 32;

	hv_hypercall(0x000B | HV_FAST, rdx, 1);		/* SendSyntheticClusterIpi to VP0's VTL0 */
	while (!vina_irqs)
		sti_hlt();
	cli();
}

void ap_main(unsigned int id)
{
	apic_enable();
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
	vsm_call(vtl1_enable_apic, 0, 0);
	ap_in_vtl0_loop = true;
	cli();
	while (!stop_ap)		/* spins with interrupts off: only VTL1 interrupts get through */
		pause();
	while (!vtl0_ipi_irqs[1])
		sti_hlt();
	cli();
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	apic_enable();
	set_irq_handler(VTL1_TIMER_VEC, vtl1_timer);
	set_irq_handler(VTL1_IPI_VEC, vtl1_ipi);
	set_irq_handler(VTL0_IPI_VEC, vtl0_ipi);
	set_irq_handler(VINA_VEC, vina);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	/* Once VTL1 runs somewhere, only VTL1 may enable it on other VPs (spec 3.3). */
	CHECK_EQ(vsm_enable_vp_vtl1(1), HV_STATUS_ACCESS_DENIED);
	vsm_call(vtl1_enable_ap, 0, 0);
	CHECK_EQ(ap_enable_status, 0);

	/* VTL1's timer fires while VTL0 spins with IF = 0. */
	vsm_call(vtl1_arm_timer, 0, 0);
	cli();
	for (unsigned long i = 0; !vtl1_timer_irqs && i < 200000000ul; i++)
		pause();
	CHECK_EQ(vtl1_timer_irqs, 1);
	CHECK_EQ(vtl1_vps[0].last_entry_reason, 2);	/* interrupt */

	/* APs start through HvCallStartVirtualProcessor (INIT/SIPI are for VPs without VTL1). */
	CHECK_EQ(vsm_start_vp(0, 0), HV_STATUS_INVALID_VP_INDEX);	/* itself */
	CHECK_EQ(vsm_start_vp(1, 1), HV_STATUS_ACCESS_DENIED);		/* above the caller's VTL */
	CHECK_EQ(vsm_start_vp(1, 0), 0);
	CHECK_EQ(vsm_start_vp(1, 0), HV_STATUS_INVALID_VP_STATE);	/* already running */
	while (cpus_online < 2)
		pause();
	/* VTL1 IPI from VP0 to VP1, which spins in VTL0 with IF = 0. */
	while (!ap_in_vtl0_loop)
		pause();
	vsm_call(vtl1_send_ipi, 0, 0);
	while (!vtl1_ipi_irqs[1])
		pause();
	CHECK_EQ(vtl1_ipi_irqs[1], 1);
	CHECK_EQ(vtl0_ipi_irqs[1], 0);			/* not seen by VTL0's handler */
	CHECK_EQ(vtl1_vps[1].last_entry_reason, 2);

	/* A VTL0 IPI reaches VTL0 only. */
	stop_ap = true;
	apic_send_ipi(1, VTL0_IPI_VEC);
	while (!vtl0_ipi_irqs[1])
		pause();
	CHECK_EQ(vtl0_ipi_irqs[1], 1);
	CHECK_EQ(vtl1_ipi_irqs[1], 1);

	/* VINA. */
	vsm_call(vtl1_enable_vina, 0, 0);
	vsm_call(vtl1_trigger_vina, 0, 0);
	CHECK_EQ(vina_irqs, 1);
	CHECK_EQ(vina_status_in_handler & 1, 1);	/* VinaAsserted */
	while (!vtl0_ipi_irqs[0])
		sti_hlt();
	cli();
	CHECK_EQ(vtl0_ipi_irqs[0], 1);			/* delivered to VTL0 after the return */
}
