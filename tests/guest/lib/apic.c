/* Local APIC and SMP bring-up helpers (Intel SDM vol. 3, chapter 10 / 11). */
#include "guest.h"

volatile unsigned int cpus_online = 1;

unsigned int apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

unsigned int apic_id_any(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return r[1] >> 24;
}

void apic_enable(void)
{
	apic_write(APIC_SPIV, 0x100 | 0xff);
}

bool apic_isr_set(uint8_t vector)
{
	return apic_read(APIC_ISR + 0x10 * (vector / 32)) & (1u << (vector % 32));
}

void apic_send_ipi(unsigned int dest, uint32_t icr_lo)
{
	apic_write(APIC_ICR_HI, dest << 24);
	apic_write(APIC_ICR_LO, icr_lo);
	while (apic_read(APIC_ICR_LO) & (1u << 12))	/* delivery status */
		pause();
}

/* A short pause between INIT and SIPI; KVM needs no real 10 ms delay (SDM 8.4.4.1). */
static void short_delay(void)
{
	for (int i = 0; i < 100; i++)
		pause();
}

unsigned int smp_start_aps(void)
{
	uint16_t ncpus;
	unsigned int me = apic_id();

	fw_cfg_read(0x05, &ncpus, sizeof(ncpus));	/* FW_CFG_NB_CPUS */
	apic_enable();	/* as OSes do before sending INIT/SIPI */
	for (unsigned int id = 0; id < ncpus; id++) {
		if (id == me)
			continue;
		apic_send_ipi(id, 0x4500);	/* INIT, assert */
		short_delay();
		apic_send_ipi(id, 0x4600 | 0x10);	/* STARTUP, vector 0x10 -> 0x10000 */
		short_delay();
		apic_send_ipi(id, 0x4600 | 0x10);
	}
	while (cpus_online < ncpus)
		pause();
	return ncpus - 1u;
}

/* ---- on_cpu ---- */
static struct {
	void (*volatile fn)(void *);
	void *volatile arg;
	volatile unsigned int from;
	volatile bool done;
} work[MAX_CPUS];

static void wake_irq(struct irq_frame *f)
{
	apic_eoi();
}

void ap_idle(unsigned int id)
{
	set_irq_handler(ON_CPU_VECTOR, wake_irq);
	apic_enable();
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		void (*fn)(void *);

		/* Check with interrupts off, then sti; hlt: a wake-up IPI in between is not lost. */
		cli();
		fn = __atomic_load_n(&work[id].fn, __ATOMIC_ACQUIRE);
		if (!fn) {
			sti_hlt();
			continue;
		}
		fn(work[id].arg);
		cli();
		work[id].fn = 0;
		__atomic_store_n(&work[id].done, true, __ATOMIC_RELEASE);
		apic_send_ipi(work[id].from, 0x4000 | ON_CPU_VECTOR);
	}
}

void on_cpu(unsigned int cpu, void (*fn)(void *), void *arg)
{
	bool was_on = irqs_enabled();

	cli();
	if (cpu == apic_id()) {
		fn(arg);
	} else {
		set_irq_handler(ON_CPU_VECTOR, wake_irq);
		work[cpu].arg = arg;
		work[cpu].from = apic_id();
		work[cpu].done = false;
		__atomic_store_n(&work[cpu].fn, fn, __ATOMIC_RELEASE);
		apic_send_ipi(cpu, 0x4000 | ON_CPU_VECTOR);	/* fixed, physical, assert */
		while (!__atomic_load_n(&work[cpu].done, __ATOMIC_ACQUIRE)) {
			sti_hlt();
			cli();
		}
	}
	if (was_on)
		sti();
}

/* ---- wake-up tick ---- */
static void tick_irq(struct irq_frame *f)
{
	apic_eoi();
}

void tick_start(unsigned int period_us)
{
	set_irq_handler(TICK_VECTOR, tick_irq);
	apic_write(APIC_TIMER_DIV, 0xb);			/* divide by 1 */
	apic_write(APIC_LVT_TIMER, TICK_VECTOR | (1u << 17));	/* periodic */
	apic_write(APIC_TIMER_INIT, period_us * 1000u);
}

void tick_stop(void)
{
	apic_write(APIC_LVT_TIMER, TICK_VECTOR | (1u << 16));	/* masked */
	apic_write(APIC_TIMER_INIT, 0);
}
