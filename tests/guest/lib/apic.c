/* Local APIC and SMP bring-up helpers (Intel SDM vol. 3, chapter 10 / 11). */
#include "guest.h"

volatile unsigned int cpus_online = 1;

unsigned int apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
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
