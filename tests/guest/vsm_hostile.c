/*
 * What hostile VTL0 kernels did to kvsm (run with --vtls 2 --smp 4 -- cpus=4):
 *  - HvCallEnableVpVtl with contexts VTL1 cannot start in: INVALID_PARAMETER;
 *  - two VPs enabling VTL1 on themselves at the same moment: only one wins,
 *    the other gets ACCESS_DENIED (spec 3.3: only one lower-VTL enable);
 *  - four VPs calling HvCallGetVpRegisters on each other in a ring: no
 *    deadlock, every call succeeds;
 *  - a periodic synthetic timer with COUNT 2^64 - 1 never fires (its deadline
 *    saturates), one with COUNT 1 fires at most every 200 us, and STIMER MSR
 *    writes stay fast meanwhile.
 */
#include "lib/vsm.h"

#define NVPS		4
#define RING_CALLS	200
#define STIMER_VEC	0x70
#define WAIT_US		30000000	/* 30 s: only reached when something hangs */

static volatile unsigned int ring_done;
static volatile bool race_go, race_done1, ring_go;
static volatile uint64_t race_status[NVPS];
static volatile unsigned int ring_ok[NVPS], stimer_irqs;
extern char vtl1_entry[];

static void stimer_irq(struct irq_frame *f) { stimer_irqs++; apic_eoi(); }

/* EnableVpVtl(self, VTL1) with VP0's own 64-bit context, bent by fn. */
static uint64_t enable_with(void (*bend)(struct hv_initial_vp_context *))
{
	uint8_t *in = alloc_zeroed(4096);
	struct hv_initial_vp_context *c = (void *)(in + 16);

	*(uint64_t *)in = ~0ull;
	*(uint32_t *)(in + 8) = ~1u;		/* HV_VP_INDEX_SELF */
	in[12] = 1;
	vsm_build_context(c, (uint64_t)vtl1_entry, (uint64_t)alloc_zeroed(4096) + 4096);
	bend(c);
	return hv_hypercall(HVCALL_ENABLE_VP_VTL, (uint64_t)in, 0);
}

static void real_mode(struct hv_initial_vp_context *c)
{
	c->cr0 = 0x10;				/* PE = 0, PG = 0 */
	c->cr4 = 0;
	c->efer = 0;
	c->cr3 = 0;
	c->rip = 0x7c00;
	c->cs.selector = 0, c->cs.base = 0, c->cs.limit = 0xffff, c->cs.attributes = 0x9b;
	c->ds.selector = 0, c->ds.base = 0, c->ds.limit = 0xffff, c->ds.attributes = 0x93;
	c->es = c->ss = c->fs = c->gs = c->ds;
	c->tr.attributes = 0x83;			/* busy 16-bit TSS */
}

/* Not canonical with 4- or 5-level paging. */
static void noncanonical_rip(struct hv_initial_vp_context *c) { c->rip = 0x0080000000001000ull; }
static void cs_not_present(struct hv_initial_vp_context *c) { c->cs.attributes &= ~0x80; }
static void cs_data_segment(struct hv_initial_vp_context *c) { c->cs.attributes = 0xc093; }
static void lma_without_paging(struct hv_initial_vp_context *c) { c->cr0 &= ~(1ull << 31); }

/* 32-bit protected mode, flat, no paging, with RFLAGS.VM: virtual-8086 mode is real mode's kin. */
static void v8086(struct hv_initial_vp_context *c)
{
	c->efer = 0;
	c->cr0 = 0x11;
	c->cr4 = 0;
	c->cs.attributes = 0xc09b;
	c->rip = 0x1000;
	c->rflags = 0x2 | 1ull << 17;
}

/* The same 32-bit mode with the RIP past CS's limit. */
static void rip_past_limit(struct hv_initial_vp_context *c)
{
	c->efer = 0;
	c->cr0 = 0x11;
	c->cr4 = 0;
	c->cs.attributes = 0x409b;			/* byte granular: limit 0xfffff */
	c->cs.limit = 0xfffff;
	c->rip = 0x100000;
}

static void test_contexts(void)
{
	CHECK_EQ(enable_with(real_mode), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_with(noncanonical_rip), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_with(cs_not_present), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_with(cs_data_segment), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_with(lma_without_paging), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_with(v8086), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(enable_with(rip_past_limit), HV_STATUS_INVALID_PARAMETER);
}

/* Each VP, VTL0: ask the next VP in the ring for its VTL0 RIP, RING_CALLS times. */
static void ring(unsigned int me)
{
	uint64_t v;

	while (!ring_go)
		pause();
	for (unsigned int i = 0; i < RING_CALLS; i++)
		ring_ok[me] += vsm_get_reg((me + 1) % NVPS, HV_INPUT_VTL(0), HV_REG_RIP, &v) == 1ull << 32;
	__atomic_add_fetch(&ring_done, 1, __ATOMIC_SEQ_CST);
}

void ap_main(unsigned int id)
{
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);	/* smp_start_aps waits for it */
	if (id == 1) {
		while (!race_go)
			pause();
		race_status[1] = vsm_enable_vp_vtl1(1);
		race_done1 = true;
	}
	ring(id);
	for (;;)
		hlt();
}

static void test_race(void)
{
	unsigned int wins, denied;

	race_go = true;
	race_status[0] = vsm_enable_vp_vtl1(0);
	CHECK(SPIN_UNTIL(race_done1, WAIT_US));
	wins = (race_status[0] == 0) + (race_status[1] == 0);
	denied = (race_status[0] == HV_STATUS_ACCESS_DENIED) + (race_status[1] == HV_STATUS_ACCESS_DENIED);
	check(wins == 1 && denied == 1, "one of two simultaneous VTL0 EnableVpVtl calls wins (0x%llx, 0x%llx)",
	      (unsigned long long)race_status[0], (unsigned long long)race_status[1]);
}

static void test_ring(void)
{
	ring_go = true;
	ring(0);
	check(SPIN_UNTIL(ring_done == NVPS, WAIT_US), "4 VPs calling GetVpRegisters on each other finished (%u)", ring_done);
	for (unsigned int vp = 0; vp < NVPS; vp++)
		CHECK_EQ(ring_ok[vp], RING_CALLS);
}

/* Count direct-mode expiries of a periodic timer with the given COUNT over 20 ms. */
static unsigned int periodic_irqs(uint64_t count)
{
	uint64_t end;
	unsigned int n0 = stimer_irqs;

	wrmsr(HV_X64_MSR_STIMER_COUNT(0), count);
	wrmsr(HV_X64_MSR_STIMER_CONFIG(0), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT |
					     HV_STIMER_VECTOR(STIMER_VEC));
	end = hv_ref_time() + 200000;
	/*
	 * Interrupts stay enabled over the whole wait: a one-instruction window
	 * (sti; pause; cli) is enough on hardware, but an emulator that looks for
	 * interrupts only between translated blocks (QEMU TCG) never sees it.
	 */
	sti();
	while (hv_ref_time() < end)
		pause();
	cli();
	wrmsr(HV_X64_MSR_STIMER_CONFIG(0), 0);
	return stimer_irqs - n0;
}

static void test_stimer_periods(void)
{
	uint64_t t0, t1;
	unsigned int n;

	CHECK_EQ(periodic_irqs(~0ull), 0);		/* saturated: never */
	n = periodic_irqs(1);				/* 100 ns asked, 200 us given */
	check(n >= 1 && n <= 101, "COUNT 1: %u expiries in 20 ms (at most 100 at 200 us)", n);
	/* While a COUNT-1 timer runs, an STIMER MSR write takes no time worth speaking of. */
	wrmsr(HV_X64_MSR_STIMER_COUNT(1), 1);
	wrmsr(HV_X64_MSR_STIMER_CONFIG(1), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT |
					     HV_STIMER_VECTOR(STIMER_VEC));
	t0 = hv_ref_time();
	wrmsr(HV_X64_MSR_STIMER_COUNT(2), 5000000);
	t1 = hv_ref_time();
	wrmsr(HV_X64_MSR_STIMER_CONFIG(1), 0);
	check(t1 - t0 < 1000000, "STIMER MSR write beside a COUNT-1 timer took %llu us (< 100 ms)",
	      (unsigned long long)(t1 - t0) / 10);
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	set_irq_handler(STIMER_VEC, stimer_irq);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	test_contexts();
	CHECK_EQ(smp_start_aps(), NVPS - 1);
	test_race();
	test_ring();
	test_stimer_periods();
}
