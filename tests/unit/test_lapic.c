/*
 * The user-space local APIC (src/lapic.c) against a fake host: a settable
 * clock and guest TSC, and send_ipi/notify callbacks that record their calls.
 */
#include "test.h"
#include "lapic.h"

#include <pthread.h>

#define T0 1000000000ull		/* fake clock start (ns) */
#define TSC_HZ 2000000000ull		/* fake guest TSC: 2 GHz */

/* xAPIC offsets used below (SDM Table 11-1). */
enum {
	ID = 0x20, VER = 0x30, TPR = 0x80, APR = 0x90, PPR = 0xa0, EOI = 0xb0, RRD = 0xc0, LDR = 0xd0,
	DFR = 0xe0, SVR = 0xf0, ISR0 = 0x100, TMR0 = 0x180, IRR0 = 0x200, ESR = 0x280, ICR = 0x300,
	ICR2 = 0x310, LVT_TIMER = 0x320, LVT_THERMAL = 0x330, LVT_PMC = 0x340, LVT_LINT0 = 0x350,
	LVT_LINT1 = 0x360, LVT_ERROR = 0x370, TMICT = 0x380, TMCCT = 0x390, TDCR = 0x3e0,
};
#define MSR(off) (0x800u + (off) / 16)
#define MASKED (1u << 16)
#define PERIODIC (1u << 17)
#define TSC_DEADLINE (2u << 17)

static uint64_t fake_ns = T0, fake_tsc;

struct sent { struct lapic *src; uint64_t icr; bool x2apic; };
static struct sent sent[16];
static unsigned int nsent;
static unsigned int nnotify;		/* atomic: the stress test notifies from several threads */
static bool callback_saw_lock_free = true;

static uint64_t t_now(void *ctx) { return fake_ns; }
static uint64_t t_tsc(void *ctx) { return fake_tsc; }

/* Both callbacks check that the APIC's lock is not held while they run. */
static void check_unlocked(struct lapic *a)
{
	if (pthread_mutex_trylock(&a->lock)) {
		callback_saw_lock_free = false;
		return;
	}
	pthread_mutex_unlock(&a->lock);
}

static void t_send(void *ctx, struct lapic *src, uint64_t icr, bool x2apic)
{
	check_unlocked(src);
	if (nsent < 16)
		sent[nsent] = (struct sent){ src, icr, x2apic };
	nsent++;
}

static void t_notify(void *ctx, struct lapic *a)
{
	check_unlocked(a);
	__atomic_fetch_add(&nnotify, 1, __ATOMIC_RELAXED);
}

/* min_periodic_ns = 1: these tests check the timer arithmetic at nanosecond scale (the floor has its own test). */
static const struct lapic_ops ops = {
	.now_ns = t_now, .tsc = t_tsc, .tsc_hz = TSC_HZ, .phys_bits = 46, .min_periodic_ns = 1,
	.send_ipi = t_send, .notify = t_notify,
};

static struct lapic A, B;

static void setup(struct lapic *a, uint32_t id, bool bsp)
{
	fake_ns = T0;
	fake_tsc = 0;
	nsent = 0;
	nnotify = 0;
	lapic_init(a, id, bsp, &ops, NULL);
}

static uint32_t rd(struct lapic *a, uint32_t off) { return lapic_mmio_read(a, off, 4); }
static void wr(struct lapic *a, uint32_t off, uint32_t v) { lapic_mmio_write(a, off, 4, v); }

static uint64_t mrd(struct lapic *a, uint32_t msr)
{
	uint64_t v = 0xdead;

	EXPECT(lapic_msr_read(a, msr, &v));
	return v;
}

static bool mrd_gp(struct lapic *a, uint32_t msr)
{
	uint64_t v;

	return !lapic_msr_read(a, msr, &v);
}

static void to_x2apic(struct lapic *a)
{
	EXPECT(lapic_msr_write(a, LAPIC_MSR_APIC_BASE, mrd(a, LAPIC_MSR_APIC_BASE) | LAPIC_BASE_EXTD));
	EXPECT_EQ(lapic_mode(a), LAPIC_MODE_X2APIC);
}

static void sw_enable(struct lapic *a)
{
	wr(a, SVR, 0x1ff);
}

/* Latch and read the ESR (SDM 11.5.3: write, then read). */
static uint32_t esr(struct lapic *a)
{
	wr(a, ESR, 0);
	return rd(a, ESR);
}

static void reset_values_xapic(void)
{
	uint64_t base;

	setup(&A, 3, true);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_APIC_BASE), 0xfee00900);
	EXPECT_EQ(lapic_mode(&A), LAPIC_MODE_XAPIC);
	EXPECT(lapic_mmio_base(&A, &base));
	EXPECT_EQ(base, 0xfee00000);
	EXPECT_EQ(rd(&A, ID), 3u << 24);
	EXPECT_EQ(rd(&A, VER), 0x50014);
	EXPECT_EQ(rd(&A, TPR), 0);
	EXPECT_EQ(rd(&A, APR), 0);
	EXPECT_EQ(rd(&A, PPR), 0);
	EXPECT_EQ(rd(&A, EOI), 0);
	EXPECT_EQ(rd(&A, RRD), 0);
	EXPECT_EQ(rd(&A, LDR), 0);
	EXPECT_EQ(rd(&A, DFR), 0xffffffff);
	EXPECT_EQ(rd(&A, SVR), 0xff);
	for (uint32_t i = 0; i < 8; i++) {
		EXPECT_EQ(rd(&A, ISR0 + i * 16), 0);
		EXPECT_EQ(rd(&A, TMR0 + i * 16), 0);
		EXPECT_EQ(rd(&A, IRR0 + i * 16), 0);
	}
	EXPECT_EQ(rd(&A, ESR), 0);
	EXPECT_EQ(rd(&A, ICR), 0);
	EXPECT_EQ(rd(&A, ICR2), 0);
	for (uint32_t off = LVT_TIMER; off <= LVT_ERROR; off += 16)
		EXPECT_EQ(rd(&A, off), MASKED);
	EXPECT_EQ(rd(&A, TMICT), 0);
	EXPECT_EQ(rd(&A, TMCCT), 0);
	EXPECT_EQ(rd(&A, TDCR), 0);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_TSC_DEADLINE), 0);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	EXPECT_EQ(esr(&A), 0);		/* the reads above were all of real registers */
	EXPECT(mrd_gp(&A, MSR(TPR)));	/* x2APIC MSRs #GP in xAPIC mode (SDM 11.12.2) */
	EXPECT(!lapic_msr_write(&A, MSR(TPR), 0));

	setup(&B, 1, false);
	EXPECT_EQ(mrd(&B, LAPIC_MSR_APIC_BASE), 0xfee00800);
	lapic_destroy(&A);
	lapic_destroy(&B);
}

static void reset_values_x2apic(void)
{
	setup(&A, 0x123, false);
	EXPECT_EQ(rd(&A, ID), 0x23u << 24);	/* the xAPIC ID is the low 8 bits */
	to_x2apic(&A);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_APIC_BASE), 0xfee00c00);
	EXPECT_EQ(mrd(&A, MSR(ID)), 0x123);
	EXPECT_EQ(mrd(&A, MSR(VER)), 0x50014);
	EXPECT_EQ(mrd(&A, MSR(TPR)), 0);
	EXPECT_EQ(mrd(&A, MSR(PPR)), 0);
	EXPECT_EQ(mrd(&A, MSR(LDR)), (0x12u << 16) | (1u << 3));	/* SDM 11.12.10.2 */
	EXPECT_EQ(mrd(&A, MSR(SVR)), 0xff);
	for (uint32_t i = 0; i < 8; i++) {
		EXPECT_EQ(mrd(&A, MSR(ISR0) + i), 0);
		EXPECT_EQ(mrd(&A, MSR(TMR0) + i), 0);
		EXPECT_EQ(mrd(&A, MSR(IRR0) + i), 0);
	}
	EXPECT_EQ(mrd(&A, MSR(ESR)), 0);
	EXPECT_EQ(mrd(&A, MSR(ICR)), 0);
	for (uint32_t off = LVT_TIMER; off <= LVT_ERROR; off += 16)
		EXPECT_EQ(mrd(&A, MSR(off)), MASKED);
	EXPECT_EQ(mrd(&A, MSR(TMICT)), 0);
	EXPECT_EQ(mrd(&A, MSR(TMCCT)), 0);
	EXPECT_EQ(mrd(&A, MSR(TDCR)), 0);
	/* The MMIO page is not decoded in x2APIC mode. */
	uint64_t base;
	EXPECT(!lapic_mmio_base(&A, &base));
	EXPECT_EQ(lapic_mmio_read(&A, TPR, 4), 0xffffffff);
	EXPECT_EQ(lapic_mmio_read(&A, TPR, 1), 0xff);
	lapic_mmio_write(&A, TPR, 4, 0x50);
	EXPECT_EQ(mrd(&A, MSR(TPR)), 0);
	lapic_destroy(&A);
}

/* SDM Table 11-6 and 11.12.1.3: which x2APIC accesses #GP. */
static void x2apic_gp_rules(void)
{
	static const uint32_t no_read[] = {
		0x800, 0x801, 0x804, 0x807, 0x809 /* APR */, 0x80b /* EOI */, 0x80c /* RRD */, 0x80e /* DFR */,
		0x829, 0x82f /* CMCI */, 0x831, 0x83a, 0x83d, 0x83f /* SELF IPI */, 0x840, 0x8ff,
	};
	static const uint32_t read_only[] = {
		MSR(ID), MSR(VER), MSR(PPR), MSR(LDR), MSR(ISR0), MSR(ISR0) + 7, MSR(TMR0), MSR(IRR0) + 3, MSR(TMCCT),
	};
	struct { uint32_t msr; uint64_t val; } bad_write[] = {
		{ MSR(TPR), 0x100 }, { MSR(TPR), 1ull << 32 }, { MSR(EOI), 1 }, { MSR(ESR), 1 },
		{ MSR(SVR), 0x11ff /* EOI-broadcast suppression */ }, { MSR(SVR), 0x5ff },
		{ MSR(LVT_TIMER), 0x80000 }, { MSR(LVT_TIMER), (3u << 17) | 0x40 /* reserved mode */ },
		{ MSR(LVT_TIMER), 0x700 /* no delivery mode */ }, { MSR(LVT_ERROR), 0x100 },
		{ MSR(LVT_LINT0), 0x20000 }, { MSR(LVT_THERMAL), 0x8000 }, { MSR(TDCR), 4 }, { MSR(TDCR), 0x10 },
		{ MSR(TMICT), 1ull << 32 }, { 0x83f, 0x100 }, { 0x83f, 1ull << 40 },
		{ MSR(ICR), 0x2000 | 0x40 }, { MSR(ICR), 0x10000 | 0x40 }, { MSR(ICR), 0x100000 | 0x40 },
		{ 0x831, 0 }, { 0x809, 0 }, { 0x80e, 0 }, { 0x82f, 0 }, { 0x800, 0 },
	};

	setup(&A, 5, true);
	to_x2apic(&A);
	for (unsigned int i = 0; i < sizeof(no_read) / sizeof(no_read[0]); i++)
		if (!mrd_gp(&A, no_read[i]))
			printf("  RDMSR 0x%x did not #GP\n", no_read[i]), t_failed = 1;
	for (unsigned int i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		EXPECT(!mrd_gp(&A, read_only[i]));
		if (lapic_msr_write(&A, read_only[i], 0))
			printf("  WRMSR 0x%x (read-only) did not #GP\n", read_only[i]), t_failed = 1;
	}
	for (unsigned int i = 0; i < sizeof(bad_write) / sizeof(bad_write[0]); i++)
		if (lapic_msr_write(&A, bad_write[i].msr, bad_write[i].val))
			printf("  WRMSR 0x%x <- 0x%llx did not #GP\n", bad_write[i].msr,
			       (unsigned long long)bad_write[i].val), t_failed = 1;
	EXPECT_EQ(nsent, 0);
	EXPECT_EQ(mrd(&A, MSR(LVT_TIMER)), MASKED);	/* nothing was written */
	EXPECT_EQ(mrd(&A, MSR(TPR)), 0);
	/* The fine versions of the same. */
	EXPECT(lapic_msr_write(&A, MSR(TPR), 0xff));
	EXPECT(lapic_msr_write(&A, MSR(EOI), 0));
	EXPECT(lapic_msr_write(&A, MSR(ESR), 0));
	EXPECT(lapic_msr_write(&A, MSR(SVR), 0x3ff));
	EXPECT(lapic_msr_write(&A, MSR(TDCR), 0xb));
	EXPECT(lapic_msr_write(&A, MSR(LVT_LINT0), 0x1a7ff | (1u << 14) | (1u << 12)));	/* RO bits ignored */
	EXPECT_EQ(mrd(&A, MSR(LVT_LINT0)), 0x1a7ff);
	/* Not APIC MSRs at all. */
	EXPECT(mrd_gp(&A, 0x1234));
	EXPECT(!lapic_msr_write(&A, 0x7ff, 0));
	lapic_destroy(&A);
}

static void xapic_ro_and_reserved(void)
{
	setup(&A, 2, true);
	sw_enable(&A);
	/* Read-only registers ignore writes, without an error. */
	wr(&A, VER, 0);
	wr(&A, PPR, 0xff);
	wr(&A, APR, 0xff);
	wr(&A, RRD, 0xff);
	wr(&A, ISR0 + 0x20, ~0u);
	wr(&A, TMR0, ~0u);
	wr(&A, IRR0 + 0x70, ~0u);
	wr(&A, TMCCT, 55);
	EXPECT_EQ(rd(&A, VER), 0x50014);
	EXPECT_EQ(rd(&A, PPR), 0);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, IRR0 + 0x70), 0);
	EXPECT_EQ(rd(&A, TMCCT), 0);
	EXPECT_EQ(esr(&A), 0);
	/* Writable fields only. */
	wr(&A, ID, 0xffffffff);
	EXPECT_EQ(rd(&A, ID), 0xff000000);
	wr(&A, ID, 0x07000000);
	wr(&A, TPR, 0x1ff);
	EXPECT_EQ(rd(&A, TPR), 0xff);
	wr(&A, TPR, 0);
	wr(&A, LDR, 0xffffffff);
	EXPECT_EQ(rd(&A, LDR), 0xff000000);
	wr(&A, DFR, 0);
	EXPECT_EQ(rd(&A, DFR), 0x0fffffff);
	wr(&A, SVR, 0xffffffff);
	EXPECT_EQ(rd(&A, SVR), 0x3ff);
	wr(&A, TDCR, 0xffffffff);
	EXPECT_EQ(rd(&A, TDCR), 0xb);
	wr(&A, LVT_TIMER, 0xffffffff);
	EXPECT_EQ(rd(&A, LVT_TIMER), 0x700ff);
	wr(&A, LVT_THERMAL, 0xffffffff);
	EXPECT_EQ(rd(&A, LVT_THERMAL), 0x107ff);
	wr(&A, LVT_PMC, 0xffffffff);
	EXPECT_EQ(rd(&A, LVT_PMC), 0x107ff);
	wr(&A, LVT_LINT0, 0xffffffff);
	EXPECT_EQ(rd(&A, LVT_LINT0), 0x1a7ff);
	wr(&A, LVT_LINT1, 0x0000a720);		/* ExtINT, level, vector 0x20, unmasked */
	EXPECT_EQ(rd(&A, LVT_LINT1), 0xa720);
	wr(&A, LVT_ERROR, 0xffffffff);
	EXPECT_EQ(rd(&A, LVT_ERROR), 0x100ff);
	wr(&A, ICR2, 0xffffffff);
	EXPECT_EQ(rd(&A, ICR2), 0xff000000);
	EXPECT_EQ(nsent, 0);			/* the high half does not send */
	EXPECT_EQ(esr(&A), 0);
	/* Reserved offsets: read 0, "illegal register address" (SDM 11.5.3). */
	EXPECT_EQ(rd(&A, 0x000), 0);
	EXPECT_EQ(esr(&A), LAPIC_ESR_ILLEGAL_REG);
	wr(&A, 0x3f0, 0x40);			/* SELF IPI does not exist in xAPIC mode */
	EXPECT_EQ(esr(&A), LAPIC_ESR_ILLEGAL_REG);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, 0x2f0), 0);		/* no LVT CMCI */
	EXPECT_EQ(rd(&A, 0xff0), 0);
	EXPECT_EQ(esr(&A), LAPIC_ESR_ILLEGAL_REG);
	/* Undefined sizes and alignments: read 0, writes ignored, no error. */
	EXPECT_EQ(lapic_mmio_read(&A, ID, 1), 0);
	EXPECT_EQ(lapic_mmio_read(&A, ID, 8), 0);
	EXPECT_EQ(lapic_mmio_read(&A, ID + 3, 1), 0);
	EXPECT_EQ(lapic_mmio_read(&A, ID + 4, 4), 0);
	EXPECT_EQ(lapic_mmio_read(&A, 0x1000, 4), 0);
	lapic_mmio_write(&A, TPR, 1, 0x40);
	lapic_mmio_write(&A, TPR + 4, 4, 0x40);
	lapic_mmio_write(&A, TPR, 2, 0x40);
	EXPECT_EQ(rd(&A, TPR), 0);
	EXPECT_EQ(rd(&A, ID), 0x07000000);
	EXPECT_EQ(esr(&A), 0);
	lapic_destroy(&A);
}

/* IA32_APIC_BASE (SDM 11.4.4, 11.12.5). */
static void apic_base_transitions(void)
{
	uint64_t base;

	setup(&A, 4, true);
	EXPECT(!lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfee00000 | LAPIC_BASE_EXTD));	/* invalid state */
	EXPECT(!lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfee00800 | 0x200));			/* bit 9 */
	EXPECT(!lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfee00800 | 0x1));			/* bit 0 */
	EXPECT(!lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, (1ull << 46) | 0xfee00800));		/* > MAXPHYADDR */
	EXPECT_EQ(mrd(&A, LAPIC_MSR_APIC_BASE), 0xfee00900);
	/* BSP is read-only; the base moves in xAPIC mode. */
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0x3fffffffe000ull | LAPIC_BASE_EN));
	EXPECT_EQ(mrd(&A, LAPIC_MSR_APIC_BASE), 0x3fffffffe900ull);
	EXPECT(lapic_mmio_base(&A, &base));
	EXPECT_EQ(base, 0x3fffffffe000ull);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfed00800));
	EXPECT(lapic_mmio_base(&A, &base));
	EXPECT_EQ(base, 0xfed00000);
	setup(&B, 1, false);
	EXPECT(lapic_msr_write(&B, LAPIC_MSR_APIC_BASE, 0xfee00900));
	EXPECT_EQ(mrd(&B, LAPIC_MSR_APIC_BASE), 0xfee00800);
	lapic_destroy(&B);

	/* xAPIC -> x2APIC -> (not xAPIC) -> disabled -> (not x2APIC) -> xAPIC. */
	sw_enable(&A);
	wr(&A, TPR, 0x20);
	wr(&A, ID, 0x09000000);
	lapic_accept_irq(&A, 0x40, false, false);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfed00c00));
	EXPECT_EQ(mrd(&A, MSR(TPR)), 0x20);		/* registers survive xAPIC -> x2APIC */
	EXPECT_EQ(mrd(&A, MSR(IRR0) + 2), 1);
	EXPECT_EQ(mrd(&A, MSR(ID)), 4);			/* the x2APIC ID is the initial one */
	EXPECT_EQ(mrd(&A, MSR(LDR)), 1u << 4);
	EXPECT(!lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfed00800));
	EXPECT_EQ(lapic_mode(&A), LAPIC_MODE_X2APIC);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfed00000));
	EXPECT_EQ(lapic_mode(&A), LAPIC_MODE_DISABLED);
	EXPECT(!lapic_mmio_base(&A, &base));
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	lapic_accept_irq(&A, 0x50, false, false);	/* a disabled APIC takes nothing */
	lapic_accept_nmi(&A);
	EXPECT(!lapic_take_nmi(&A));
	EXPECT(!lapic_match_dest(&A, 4, false, true));
	EXPECT(!lapic_match_dest(&A, 0xff, false, false));
	EXPECT(!lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfed00c00));
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfed00800));
	EXPECT_EQ(lapic_mode(&A), LAPIC_MODE_XAPIC);
	/* Only the IDs survived the disabled state. */
	EXPECT_EQ(rd(&A, ID), 0x09000000);
	EXPECT_EQ(rd(&A, TPR), 0);
	EXPECT_EQ(rd(&A, SVR), 0xff);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, LDR), 0);
	EXPECT_EQ(rd(&A, LVT_TIMER), MASKED);
	lapic_destroy(&A);
}

/* SDM 11.8.3.1 and 11.8.4: TPR/PPR masking and nesting. */
static void priority_tpr_ppr(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	lapic_accept_irq(&A, 0x50, false, false);
	wr(&A, TPR, 0x50);
	EXPECT_EQ(rd(&A, PPR), 0x50);
	EXPECT_EQ(lapic_pending_vector(&A), -1);	/* class 5 does not beat PPR class 5 */
	wr(&A, TPR, 0x4f);
	EXPECT_EQ(lapic_pending_vector(&A), 0x50);
	wr(&A, TPR, 0);
	lapic_ack(&A, 0x50);
	EXPECT_EQ(rd(&A, PPR), 0x50);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 1u << 16);
	lapic_accept_irq(&A, 0x5f, false, false);	/* same class as in service: held */
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	lapic_accept_irq(&A, 0x61, false, false);	/* higher class: nests */
	EXPECT_EQ(lapic_pending_vector(&A), 0x61);
	lapic_ack(&A, 0x61);
	EXPECT_EQ(rd(&A, PPR), 0x60);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	/* PPR sub-class: TPR's when its class is at least the ISR's. */
	wr(&A, TPR, 0x73);
	EXPECT_EQ(rd(&A, PPR), 0x73);
	wr(&A, TPR, 0x63);
	EXPECT_EQ(rd(&A, PPR), 0x63);
	wr(&A, TPR, 0x43);
	EXPECT_EQ(rd(&A, PPR), 0x60);
	wr(&A, TPR, 0);
	/* EOI retires the highest in-service vector first. */
	wr(&A, EOI, 0);
	EXPECT_EQ(rd(&A, ISR0 + 0x30), 0);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 1u << 16);
	EXPECT_EQ(rd(&A, PPR), 0x50);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	nnotify = 0;
	wr(&A, EOI, 0);
	EXPECT(nnotify > 0);				/* 0x5f may go now */
	EXPECT_EQ(rd(&A, PPR), 0);
	EXPECT_EQ(lapic_pending_vector(&A), 0x5f);
	/* TPR 0xF0 blocks everything, CR8 included. */
	lapic_set_cr8(&A, 15);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	lapic_set_cr8(&A, 0);
	EXPECT_EQ(lapic_pending_vector(&A), 0x5f);
	lapic_destroy(&A);
}

static void irr_isr_eoi_order(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	lapic_accept_irq(&A, 0x30, false, false);
	lapic_accept_irq(&A, 0x40, false, false);
	lapic_accept_irq(&A, 0x80, false, false);
	lapic_accept_irq(&A, 0x80, false, false);	/* coalesces */
	EXPECT_EQ(rd(&A, IRR0 + 0x10), 1u << 16);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 1u);
	EXPECT_EQ(rd(&A, IRR0 + 0x40), 1u);
	EXPECT_EQ(lapic_pending_vector(&A), 0x80);
	lapic_ack(&A, 0x80);
	EXPECT_EQ(rd(&A, IRR0 + 0x40), 0);
	EXPECT_EQ(rd(&A, ISR0 + 0x40), 1u);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	wr(&A, EOI, 0);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	lapic_ack(&A, 0x40);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	wr(&A, EOI, 0);
	EXPECT_EQ(lapic_pending_vector(&A), 0x30);
	lapic_ack(&A, 0x30);
	wr(&A, EOI, 0);
	wr(&A, EOI, 0);				/* nothing in service: no effect */
	for (uint32_t i = 0; i < 8; i++) {
		EXPECT_EQ(rd(&A, ISR0 + i * 16), 0);
		EXPECT_EQ(rd(&A, IRR0 + i * 16), 0);
	}
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	/* x2APIC EOI: WRMSR 0 works the same. */
	to_x2apic(&A);
	lapic_accept_irq(&A, 0xfe, false, false);
	EXPECT_EQ(lapic_pending_vector(&A), 0xfe);
	lapic_ack(&A, 0xfe);
	EXPECT_EQ(mrd(&A, MSR(ISR0) + 7), 1u << 30);
	EXPECT(lapic_msr_write(&A, MSR(EOI), 0));
	EXPECT_EQ(mrd(&A, MSR(ISR0) + 7), 0);
	lapic_destroy(&A);
}

static void level_triggered_tmr(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	lapic_accept_irq(&A, 0x41, true, false);
	EXPECT_EQ(rd(&A, TMR0 + 0x20), 2u);
	lapic_ack(&A, 0x41);
	wr(&A, EOI, 0);		/* no I/O APIC to tell; the TMR keeps the last trigger mode */
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, TMR0 + 0x20), 2u);
	lapic_accept_irq(&A, 0x41, false, false);
	EXPECT_EQ(rd(&A, TMR0 + 0x20), 0);
	lapic_destroy(&A);
}

static void auto_eoi(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	lapic_accept_irq(&A, 0x40, false, true);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	lapic_ack(&A, 0x40);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, PPR), 0);
	/* An ordinary one still goes in service; an AutoEOI one can then nest without raising PPR. */
	lapic_accept_irq(&A, 0x41, false, false);
	lapic_ack(&A, 0x41);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 2u);
	lapic_accept_irq(&A, 0x52, false, true);
	EXPECT_EQ(lapic_pending_vector(&A), 0x52);
	lapic_ack(&A, 0x52);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 2u);
	EXPECT_EQ(rd(&A, PPR), 0x40);
	wr(&A, EOI, 0);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 0);
	/* The last arrival of a pending vector decides. */
	lapic_accept_irq(&A, 0x42, false, true);
	lapic_accept_irq(&A, 0x42, false, false);
	lapic_ack(&A, 0x42);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 4u);
	wr(&A, EOI, 0);
	lapic_accept_irq(&A, 0x43, false, false);
	lapic_accept_irq(&A, 0x43, false, true);
	lapic_ack(&A, 0x43);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 0);
	lapic_destroy(&A);
}

/* SDM 11.4.7.2: a software-disabled APIC masks its LVTs; held IRR bits still get delivered. */
static void svr_software_disable(void)
{
	setup(&A, 0, true);
	lapic_accept_irq(&A, 0x40, false, false);		/* dropped: software-disabled at reset */
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	wr(&A, LVT_TIMER, 0x40);
	EXPECT_EQ(rd(&A, LVT_TIMER), MASKED | 0x40);		/* cannot unmask */
	sw_enable(&A);
	wr(&A, LVT_TIMER, 0x40);
	wr(&A, LVT_LINT0, 0x700);
	wr(&A, LVT_ERROR, 0xfe);
	EXPECT_EQ(rd(&A, LVT_TIMER), 0x40);
	lapic_accept_irq(&A, 0x40, false, false);
	wr(&A, SVR, 0xff);
	for (uint32_t off = LVT_TIMER; off <= LVT_ERROR; off += 16)
		EXPECT(rd(&A, off) & MASKED);
	EXPECT_EQ(rd(&A, LVT_TIMER), MASKED | 0x40);
	EXPECT_EQ(rd(&A, LVT_LINT0), MASKED | 0x700);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);		/* held, still delivered */
	lapic_accept_irq(&A, 0x50, false, false);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	/* The masked timer runs but raises nothing. */
	wr(&A, TMICT, 10);
	fake_ns += 10;
	lapic_timer_expired(&A);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 1u);
	/* Re-enabling does not unmask. */
	sw_enable(&A);
	EXPECT_EQ(rd(&A, LVT_TIMER), MASKED | 0x40);
	/* NMI and INIT still arrive. */
	wr(&A, SVR, 0xff);
	lapic_accept_nmi(&A);
	EXPECT(lapic_take_nmi(&A));
	lapic_destroy(&A);
}

static void icr_send_xapic(void)
{
	setup(&A, 1, true);
	wr(&A, ICR2, 0x03000000);
	EXPECT_EQ(nsent, 0);
	wr(&A, ICR, 0x4041);		/* fixed, assert, physical, vector 0x41: sent even software-disabled */
	EXPECT_EQ(nsent, 1);
	EXPECT(sent[0].src == &A);
	EXPECT_EQ(sent[0].icr, (3ull << 56) | 0x4041);
	EXPECT(!sent[0].x2apic);
	EXPECT_EQ(rd(&A, ICR), 0x4041);		/* delivery status 0 */
	EXPECT_EQ(lapic_icr_dest(sent[0].icr, false), 3);
	EXPECT_EQ(lapic_icr_shorthand(sent[0].icr), LAPIC_SH_NONE);
	wr(&A, ICR, 0xfffff8ff);		/* reserved and RO bits dropped: fixed, logical, all-but-self */
	EXPECT_EQ(nsent, 2);
	EXPECT_EQ(rd(&A, ICR), 0x000cc8ff);
	EXPECT_EQ(lapic_icr_shorthand(sent[1].icr), LAPIC_SH_ALL_BUT_SELF);
	wr(&A, ICR, 0x000c4500);		/* INIT to all but self: vector 0 is fine */
	EXPECT_EQ(nsent, 3);
	wr(&A, ICR, 0x00000610);		/* SIPI, vector 0x10 */
	EXPECT_EQ(nsent, 4);
	EXPECT_EQ(esr(&A), 0);
	/* x2APIC: one 64-bit write. */
	to_x2apic(&A);
	EXPECT(lapic_msr_write(&A, MSR(ICR), (0x12345ull << 32) | 0x1000 | 0x0842));	/* bit 12 ignored */
	EXPECT_EQ(nsent, 5);
	EXPECT_EQ(sent[4].icr, (0x12345ull << 32) | 0x0842);
	EXPECT(sent[4].x2apic);
	EXPECT_EQ(lapic_icr_dest(sent[4].icr, true), 0x12345);
	EXPECT_EQ(mrd(&A, MSR(ICR)), (0x12345ull << 32) | 0x0842);
	EXPECT(callback_saw_lock_free);
	lapic_destroy(&A);
}

/* SDM 11.5.2, 11.5.3: illegal vectors and the ESR. */
static void illegal_vectors_esr(void)
{
	setup(&A, 1, true);
	sw_enable(&A);
	wr(&A, ICR, 0x400f);			/* fixed, vector 15 */
	wr(&A, ICR, 0x4105);			/* lowest priority, vector 5 */
	EXPECT_EQ(nsent, 0);
	EXPECT_EQ(rd(&A, ESR), 0);		/* not latched yet */
	wr(&A, ESR, 0);
	EXPECT_EQ(rd(&A, ESR), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
	EXPECT_EQ(rd(&A, ESR), LAPIC_ESR_SEND_ILLEGAL_VECTOR);	/* stays until the next write */
	wr(&A, ESR, 0);
	EXPECT_EQ(rd(&A, ESR), 0);
	wr(&A, ICR, 0x4400);			/* NMI: the vector field is ignored */
	EXPECT_EQ(nsent, 1);
	lapic_accept_irq(&A, 7, false, false);
	EXPECT_EQ(esr(&A), LAPIC_ESR_RECV_ILLEGAL_VECTOR);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	/* Errors raise LVT Error's interrupt when it is unmasked. */
	wr(&A, LVT_ERROR, 0xe3);
	wr(&A, ICR, 0x4001);
	EXPECT_EQ(lapic_pending_vector(&A), 0xe3);
	EXPECT_EQ(esr(&A), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
	lapic_ack(&A, 0xe3);
	wr(&A, EOI, 0);
	/* ... an illegal vector there only adds "receive illegal vector". */
	wr(&A, LVT_ERROR, 0x03);
	wr(&A, 0x40, 0);
	EXPECT_EQ(esr(&A), LAPIC_ESR_ILLEGAL_REG | LAPIC_ESR_RECV_ILLEGAL_VECTOR);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	/* An LVT timer with an illegal vector: receive error, no interrupt. */
	wr(&A, LVT_ERROR, MASKED);
	wr(&A, LVT_TIMER, 0x0e);
	wr(&A, TMICT, 1);
	fake_ns += 2;			/* divide by 2 since reset */
	lapic_timer_expired(&A);
	EXPECT_EQ(esr(&A), LAPIC_ESR_RECV_ILLEGAL_VECTOR);
	EXPECT_EQ(rd(&A, IRR0), 0);
	/* x2APIC: SELF IPI with an illegal vector; ESR must be written with 0. */
	to_x2apic(&A);
	EXPECT(lapic_msr_write(&A, 0x83f, 0x0f));
	EXPECT(!lapic_msr_write(&A, MSR(ESR), 0x20));
	EXPECT(lapic_msr_write(&A, MSR(ESR), 0));
	EXPECT_EQ(mrd(&A, MSR(ESR)), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
	EXPECT(lapic_msr_write(&A, MSR(ICR), (2ull << 32) | 0x0a));
	EXPECT(lapic_msr_write(&A, MSR(ESR), 0));
	EXPECT_EQ(mrd(&A, MSR(ESR)), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
	EXPECT_EQ(nsent, 1);
	lapic_destroy(&A);
}

static void self_ipi(void)
{
	setup(&A, 1, true);
	to_x2apic(&A);
	EXPECT(lapic_msr_write(&A, MSR(SVR), 0x1ff));
	nnotify = 0;
	EXPECT(lapic_msr_write(&A, 0x83f, 0x45));
	EXPECT_EQ(nsent, 0);			/* delivered here, not through the VMM */
	EXPECT(nnotify > 0);
	EXPECT_EQ(mrd(&A, MSR(IRR0) + 2), 1u << 5);
	EXPECT_EQ(mrd(&A, MSR(TMR0) + 2), 0);
	EXPECT_EQ(lapic_pending_vector(&A), 0x45);
	EXPECT(mrd_gp(&A, 0x83f));
	lapic_destroy(&A);
}

/* SDM 11.6.2.1: physical destinations. */
static void match_physical(void)
{
	setup(&A, 3, false);
	EXPECT(lapic_match_dest(&A, 3, false, false));
	EXPECT(!lapic_match_dest(&A, 4, false, false));
	EXPECT(lapic_match_dest(&A, 0xff, false, false));
	EXPECT(lapic_match_dest(&A, 0xffffffff, false, true));
	EXPECT(lapic_match_dest(&A, 3, false, true));
	EXPECT(!lapic_match_dest(&A, 0x103, false, true));
	wr(&A, ID, 0x07000000);			/* matching follows the xAPIC ID register */
	EXPECT(lapic_match_dest(&A, 7, false, false));
	EXPECT(!lapic_match_dest(&A, 3, false, false));
	lapic_destroy(&A);

	setup(&A, 0x123, false);
	to_x2apic(&A);
	EXPECT(lapic_match_dest(&A, 0x123, false, true));
	EXPECT(!lapic_match_dest(&A, 0x23, false, true));
	EXPECT(lapic_match_dest(&A, 0xffffffff, false, true));
	EXPECT(lapic_match_dest(&A, 0xff, false, false));
	EXPECT(!lapic_match_dest(&A, 0xff, false, true));
	lapic_destroy(&A);
}

/* SDM 11.6.2.2: flat and cluster logical models. */
static void match_logical_xapic(void)
{
	setup(&A, 0, false);
	wr(&A, LDR, 0x04000000);
	EXPECT(lapic_match_dest(&A, 0x04, true, false));
	EXPECT(lapic_match_dest(&A, 0x06, true, false));
	EXPECT(!lapic_match_dest(&A, 0x01, true, false));
	EXPECT(!lapic_match_dest(&A, 0x00, true, false));
	EXPECT(lapic_match_dest(&A, 0xff, true, false));
	EXPECT(!lapic_match_dest(&A, 0x104, true, true));
	/* Cluster: LDR cluster 2, member bit 0. */
	wr(&A, DFR, 0x0fffffff);
	wr(&A, LDR, 0x21000000);
	EXPECT(lapic_match_dest(&A, 0x21, true, false));
	EXPECT(lapic_match_dest(&A, 0x2f, true, false));
	EXPECT(!lapic_match_dest(&A, 0x11, true, false));
	EXPECT(!lapic_match_dest(&A, 0x22, true, false));
	EXPECT(lapic_match_dest(&A, 0xff, true, false));
	EXPECT(!lapic_match_dest(&A, 0x21, false, false));	/* physical ID is still 0 */
	lapic_destroy(&A);
}

/* SDM 11.12.10: x2APIC logical = cluster << 16 | bit. */
static void match_logical_x2apic(void)
{
	setup(&A, 0x23, false);
	to_x2apic(&A);
	EXPECT_EQ(mrd(&A, MSR(LDR)), 0x20008);
	EXPECT(lapic_match_dest(&A, 0x20008, true, true));
	EXPECT(lapic_match_dest(&A, 0x2ffff, true, true));
	EXPECT(!lapic_match_dest(&A, 0x10008, true, true));
	EXPECT(!lapic_match_dest(&A, 0x20007, true, true));
	EXPECT(lapic_match_dest(&A, 0xffffffff, true, true));
	lapic_destroy(&A);
}

static void ipi_shorthand_and_delivery(void)
{
	uint8_t vec;
	uint64_t icr;

	setup(&A, 0, true);
	setup(&B, 1, false);
	sw_enable(&A);
	sw_enable(&B);
	icr = LAPIC_SH_SELF << 18 | 0x40;
	EXPECT(lapic_icr_match(&A, &A, icr, false));
	EXPECT(!lapic_icr_match(&B, &A, icr, false));
	icr = (uint64_t)LAPIC_SH_ALL << 18 | 0x40;
	EXPECT(lapic_icr_match(&A, &A, icr, false));
	EXPECT(lapic_icr_match(&B, &A, icr, false));
	icr = (uint64_t)LAPIC_SH_ALL_BUT_SELF << 18 | 0x40;
	EXPECT(!lapic_icr_match(&A, &A, icr, false));
	EXPECT(lapic_icr_match(&B, &A, icr, false));
	icr = (1ull << 56) | 0x40;
	EXPECT(!lapic_icr_match(&A, &A, icr, false));
	EXPECT(lapic_icr_match(&B, &A, icr, false));
	EXPECT(lapic_icr_match(&B, &A, (1ull << 32) | 0x40, true));

	lapic_icr_deliver(&B, 0xc041);		/* fixed, level, assert */
	EXPECT_EQ(lapic_pending_vector(&B), 0x41);
	EXPECT_EQ(rd(&B, TMR0 + 0x20), 2u);
	lapic_icr_deliver(&B, 0x8051);		/* level de-assert: nothing */
	EXPECT_EQ(rd(&B, IRR0 + 0x20), 2u);
	lapic_icr_deliver(&B, 0x4152);		/* lowest priority, edge */
	EXPECT_EQ(rd(&B, IRR0 + 0x20), 0x40002u);
	lapic_icr_deliver(&B, 0x4400);
	EXPECT(lapic_nmi_pending(&B));
	EXPECT(lapic_take_nmi(&B));
	EXPECT(!lapic_nmi_pending(&B));
	EXPECT(!lapic_take_nmi(&B));
	lapic_icr_deliver(&B, 0x4610);		/* a SIPI, then INIT: the SIPI is stale */
	lapic_icr_deliver(&B, 0x4500);
	EXPECT(!lapic_take_sipi(&B, &vec));
	EXPECT(lapic_take_init(&B));
	EXPECT(!lapic_take_init(&B));
	lapic_icr_deliver(&B, 0x8500);		/* INIT level de-assert: ignored */
	EXPECT(!lapic_take_init(&B));
	lapic_icr_deliver(&B, 0x4611);
	EXPECT(lapic_take_sipi(&B, &vec));
	EXPECT_EQ(vec, 0x11);
	EXPECT(!lapic_take_sipi(&B, &vec));
	lapic_icr_deliver(&B, 0x4200);		/* SMI: ignored */
	EXPECT(!lapic_take_nmi(&B) && !lapic_take_init(&B));
	lapic_destroy(&A);
	lapic_destroy(&B);
}

/* A send_ipi that delivers right away, as the VMM's does: must be able to lock the sender. */
static void deliver_now(void *ctx, struct lapic *src, uint64_t icr, bool x2apic)
{
	struct lapic *all[2] = { &A, &B };

	check_unlocked(src);
	for (int i = 0; i < 2; i++)
		if (lapic_icr_match(all[i], src, icr, x2apic))
			lapic_icr_deliver(all[i], icr);
}

static void callbacks_run_unlocked(void)
{
	static const struct lapic_ops reentrant = {
		.now_ns = t_now, .send_ipi = deliver_now, .notify = t_notify,
	};

	fake_ns = T0;
	callback_saw_lock_free = true;
	lapic_init(&A, 0, true, &reentrant, NULL);
	lapic_init(&B, 1, false, &reentrant, NULL);
	sw_enable(&A);
	sw_enable(&B);
	wr(&A, ICR, (uint32_t)LAPIC_SH_ALL << 18 | 0x4055);	/* to both, the sender included */
	EXPECT_EQ(lapic_pending_vector(&A), 0x55);
	EXPECT_EQ(lapic_pending_vector(&B), 0x55);
	wr(&A, LVT_TIMER, 0x60);
	wr(&A, TMICT, 5);
	fake_ns += 10;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), 0x60);
	EXPECT(callback_saw_lock_free);
	lapic_destroy(&A);
	lapic_destroy(&B);
}

/* SDM 11.5.4: one-shot counts for every divide configuration, 1 ns per bus cycle. */
static void timer_oneshot_divides(void)
{
	static const struct { uint32_t dcr, div; } d[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};

	for (unsigned int i = 0; i < 8; i++) {
		uint64_t t0, dl;

		setup(&A, 0, true);
		sw_enable(&A);
		wr(&A, LVT_TIMER, 0x40);
		wr(&A, TDCR, d[i].dcr);
		t0 = fake_ns;
		nnotify = 0;
		wr(&A, TMICT, 1000);
		EXPECT(nnotify > 0);
		dl = t0 + 1000ull * d[i].div;
		EXPECT_EQ(lapic_timer_deadline(&A), dl);
		EXPECT_EQ(rd(&A, TMICT), 1000);
		EXPECT_EQ(rd(&A, TMCCT), 1000);
		fake_ns = t0 + 250ull * d[i].div;
		EXPECT_EQ(rd(&A, TMCCT), 750);
		fake_ns = t0 + 250ull * d[i].div + d[i].div - 1;
		EXPECT_EQ(rd(&A, TMCCT), 750);
		fake_ns = dl - 1;
		EXPECT_EQ(rd(&A, TMCCT), 1);
		lapic_timer_expired(&A);		/* early: nothing */
		EXPECT_EQ(lapic_pending_vector(&A), -1);
		EXPECT_EQ(lapic_timer_deadline(&A), dl);
		fake_ns = dl;
		EXPECT_EQ(rd(&A, TMCCT), 0);
		lapic_timer_expired(&A);
		EXPECT_EQ(lapic_pending_vector(&A), 0x40);
		EXPECT_EQ(lapic_timer_deadline(&A), 0);
		fake_ns += 5000;
		EXPECT_EQ(rd(&A, TMCCT), 0);
		EXPECT_EQ(rd(&A, TMICT), 1000);
		lapic_destroy(&A);
	}
}

static void timer_oneshot_restart_and_stop(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	wr(&A, LVT_TIMER, 0x40);
	wr(&A, TDCR, 0xb);
	wr(&A, TMICT, 100);
	fake_ns += 60;
	wr(&A, TMICT, 100);			/* restarts from the new value */
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 160);
	EXPECT_EQ(rd(&A, TMCCT), 100);
	wr(&A, TMICT, 0);			/* stops */
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	EXPECT_EQ(rd(&A, TMCCT), 0);
	fake_ns += 1000;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	/* A due expiry the VMM has not reported yet still happens before a reprogramming. */
	wr(&A, TMICT, 10);
	fake_ns += 20;
	wr(&A, TMICT, 10);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	EXPECT_EQ(lapic_timer_deadline(&A), fake_ns + 10);
	lapic_destroy(&A);
}

/* Periodic: the next deadline is the previous one plus the period; missed periods coalesce. */
static void timer_periodic(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	wr(&A, LVT_TIMER, PERIODIC | 0x40);
	wr(&A, TDCR, 0x0);			/* divide by 2 */
	wr(&A, TMICT, 50);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 100);
	fake_ns = T0 + 103;			/* the VMM is 3 ns late */
	EXPECT_EQ(rd(&A, TMCCT), 49);		/* already reloaded */
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 200);	/* no drift */
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	lapic_ack(&A, 0x40);
	wr(&A, EOI, 0);
	fake_ns = T0 + 200;
	EXPECT_EQ(rd(&A, TMCCT), 50);
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 300);
	fake_ns = T0 + 550;			/* two periods missed */
	EXPECT_EQ(rd(&A, TMCCT), 25);
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 600);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 1u);
	/* Periodic -> one-shot: the current period is the last. */
	wr(&A, LVT_TIMER, 0x40);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 600);
	fake_ns = T0 + 600;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	EXPECT_EQ(rd(&A, TMCCT), 0);
	lapic_destroy(&A);
}

/* A bus clock that is not a whole number of ns: deadlines are rounded up, never drift. */
static void timer_periodic_fractional_bus(void)
{
	static const struct lapic_ops slow = { .now_ns = t_now, .bus_hz = 300000000, .min_periodic_ns = 1 };	/* 3.33 ns */
	static const uint64_t expect[] = { 34, 67, 100, 134, 167, 200 };

	fake_ns = T0;
	lapic_init(&A, 0, true, &slow, NULL);
	sw_enable(&A);
	wr(&A, LVT_TIMER, PERIODIC | 0x40);
	wr(&A, TDCR, 0xb);
	wr(&A, TMICT, 10);			/* 33.3 ns periods */
	for (unsigned int i = 0; i < 6; i++) {
		EXPECT_EQ(lapic_timer_deadline(&A), T0 + expect[i]);
		fake_ns = lapic_timer_deadline(&A);
		lapic_timer_expired(&A);
	}
	fake_ns = T0 + 215;			/* cycle 64.5: 4 counts into the period that began at cycle 60 */
	EXPECT_EQ(rd(&A, TMCCT), 6);
	lapic_destroy(&A);
}

static void timer_masked_no_irr(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	wr(&A, LVT_TIMER, MASKED | PERIODIC | 0x40);
	wr(&A, TDCR, 0xb);
	wr(&A, TMICT, 10);
	/* Masked: the VMM needs no host timer, but the count runs on. */
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	fake_ns = T0 + 35;
	lapic_timer_expired(&A);
	EXPECT_EQ(rd(&A, TMCCT), 5);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 0);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	/* Unmasking keeps the phase: the next period boundary, T0 + 40, raises the vector. */
	wr(&A, LVT_TIMER, PERIODIC | 0x40);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 40);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	fake_ns = T0 + 40;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	lapic_destroy(&A);
}

/*
 * With the default floor, periodic interrupts come at most every 200 us (as
 * KVM's min_timer_period_us): TMICT = 1 at divide-by-1 may not storm. The
 * current count still runs at the programmed rate; one-shot is not limited.
 */
static void timer_periodic_floor(void)
{
	static const struct lapic_ops kvm_like = { .now_ns = t_now };

	fake_ns = T0;
	lapic_init(&A, 0, true, &kvm_like, &A);
	sw_enable(&A);
	wr(&A, TDCR, 0xb);			/* divide by 1 */
	wr(&A, LVT_TIMER, PERIODIC | 0x40);
	wr(&A, TMICT, 1);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 200000);
	fake_ns = T0 + 200000;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 400000);
	wr(&A, TMICT, 300000);			/* above the floor: as programmed */
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 500000);
	wr(&A, LVT_TIMER, 0x40);		/* one-shot: no floor */
	wr(&A, TMICT, 1);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 200001);
	lapic_destroy(&A);
}

/* Changing the divider mid-count: the count goes on from where it is, at the new rate. */
static void timer_divide_change(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	wr(&A, LVT_TIMER, 0x40);
	wr(&A, TDCR, 0xb);
	wr(&A, TMICT, 1000);
	fake_ns = T0 + 400;
	wr(&A, TDCR, 0x0);			/* now divide by 2 */
	EXPECT_EQ(rd(&A, TMCCT), 600);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 400 + 1200);
	fake_ns = T0 + 402;
	EXPECT_EQ(rd(&A, TMCCT), 599);
	fake_ns = T0 + 1600;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	lapic_destroy(&A);
}

/* SDM 11.5.4.1: TSC-deadline mode. */
static void timer_tsc_deadline(void)
{
	setup(&A, 0, true);
	sw_enable(&A);
	fake_tsc = 1000000;
	/* Not in TSC-deadline mode: the MSR reads 0 and ignores writes. */
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, 2000000));
	EXPECT_EQ(mrd(&A, LAPIC_MSR_TSC_DEADLINE), 0);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	/* Entering TSC-deadline mode disarms a count and clears TMICT; TMICT writes are ignored. */
	wr(&A, TMICT, 500);
	wr(&A, LVT_TIMER, TSC_DEADLINE | 0x40);
	EXPECT_EQ(rd(&A, TMICT), 0);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	wr(&A, TMICT, 500);
	EXPECT_EQ(rd(&A, TMICT), 0);
	EXPECT_EQ(rd(&A, TMCCT), 0);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);

	nnotify = 0;
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, 1002000));	/* 2000 cycles at 2 GHz = 1 us */
	EXPECT(nnotify > 0);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_TSC_DEADLINE), 1002000);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 1000);
	fake_ns = T0 + 999;
	fake_tsc = 1001998;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	/* The host clock says due but the guest TSC lags: re-armed, not fired early. */
	fake_ns = T0 + 1000;
	fake_tsc = 1001999;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), -1);
	EXPECT_EQ(lapic_timer_deadline(&A), T0 + 1001);
	fake_ns = T0 + 1001;
	fake_tsc = 1002001;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_TSC_DEADLINE), 0);	/* 0 once fired */
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	lapic_ack(&A, 0x40);
	wr(&A, EOI, 0);

	/* A deadline in the past fires at once; 0 disarms. */
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, 5));
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_TSC_DEADLINE), 0);
	lapic_ack(&A, 0x40);
	wr(&A, EOI, 0);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, fake_tsc + 4000));
	EXPECT_EQ(lapic_timer_deadline(&A), fake_ns + 2000);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, 0));
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	/* Reading the MSR after the TSC passed the deadline fires it. */
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, fake_tsc + 2));
	fake_ns += 1;
	fake_tsc += 2;
	EXPECT_EQ(mrd(&A, LAPIC_MSR_TSC_DEADLINE), 0);
	EXPECT_EQ(lapic_pending_vector(&A), 0x40);
	lapic_ack(&A, 0x40);
	wr(&A, EOI, 0);
	/* Masked: the deadline passes without an interrupt. */
	wr(&A, LVT_TIMER, MASKED | TSC_DEADLINE | 0x40);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, fake_tsc + 2));
	fake_ns += 1;
	fake_tsc += 2;
	lapic_timer_expired(&A);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 0);
	/* Leaving TSC-deadline mode disarms. */
	wr(&A, LVT_TIMER, TSC_DEADLINE | 0x40);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_TSC_DEADLINE, fake_tsc + 1000));
	wr(&A, LVT_TIMER, 0x40);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	wr(&A, LVT_TIMER, TSC_DEADLINE | 0x40);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_TSC_DEADLINE), 0);
	lapic_destroy(&A);
}

/* INIT (SDM 11.4.7.3): everything but the IDs and IA32_APIC_BASE. */
static void init_reset(void)
{
	setup(&A, 6, false);
	sw_enable(&A);
	wr(&A, ID, 0x0a000000);
	wr(&A, TPR, 0x30);
	wr(&A, LDR, 0x10000000);
	wr(&A, DFR, 0x0fffffff);
	wr(&A, LVT_TIMER, 0x40);
	wr(&A, TMICT, 100);
	lapic_accept_irq(&A, 0x40, true, false);
	lapic_ack(&A, 0x40);
	lapic_accept_irq(&A, 0x50, false, false);
	wr(&A, ICR, 0x400f);
	EXPECT(lapic_msr_write(&A, LAPIC_MSR_APIC_BASE, 0xfec00800));
	lapic_init_reset(&A);
	EXPECT_EQ(rd(&A, ID), 0x0a000000);
	EXPECT_EQ(mrd(&A, LAPIC_MSR_APIC_BASE), 0xfec00800);
	EXPECT_EQ(rd(&A, TPR), 0);
	EXPECT_EQ(rd(&A, LDR), 0);
	EXPECT_EQ(rd(&A, DFR), 0xffffffff);
	EXPECT_EQ(rd(&A, SVR), 0xff);
	EXPECT_EQ(rd(&A, LVT_TIMER), MASKED);
	EXPECT_EQ(rd(&A, TMICT), 0);
	EXPECT_EQ(lapic_timer_deadline(&A), 0);
	EXPECT_EQ(rd(&A, ISR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, TMR0 + 0x20), 0);
	EXPECT_EQ(rd(&A, IRR0 + 0x20), 0);
	EXPECT_EQ(esr(&A), 0);
	/* In x2APIC mode an INIT keeps the mode and the derived LDR. */
	to_x2apic(&A);
	lapic_init_reset(&A);
	EXPECT_EQ(lapic_mode(&A), LAPIC_MODE_X2APIC);
	EXPECT_EQ(mrd(&A, MSR(LDR)), 1u << 6);
	EXPECT_EQ(mrd(&A, MSR(ID)), 6);
	lapic_destroy(&A);
}

static void cr8_sync(void)
{
	setup(&A, 0, true);
	lapic_set_tpr(&A, 0x5a);
	EXPECT_EQ(lapic_get_tpr(&A), 0x5a);
	EXPECT_EQ(lapic_get_cr8(&A), 5);
	lapic_set_cr8(&A, 5);			/* unchanged CR8 keeps TPR[3:0] */
	EXPECT_EQ(rd(&A, TPR), 0x5a);
	lapic_set_cr8(&A, 3);
	EXPECT_EQ(rd(&A, TPR), 0x30);
	wr(&A, TPR, 0xc7);
	EXPECT_EQ(lapic_get_cr8(&A), 0xc);
	lapic_destroy(&A);
}

/*
 * Other threads accept while the owner acknowledges and EOIs (run under
 * ASan/UBSan too; clean under TSan).
 */
#define STRESS_THREADS 4
#define STRESS_ROUNDS 20000

static unsigned int senders_done;

static void count_notify(void *ctx, struct lapic *a)
{
	__atomic_fetch_add(&nnotify, 1, __ATOMIC_RELAXED);
}

static void *stress_sender(void *arg)
{
	uint8_t vec = (uint8_t)(uintptr_t)arg;

	for (int i = 0; i < STRESS_ROUNDS; i++)
		lapic_accept_irq(&A, vec, i & 1, i & 2);
	__atomic_fetch_add(&senders_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void threads_accept_while_owner_runs(void)
{
	pthread_t t[STRESS_THREADS];
	unsigned int acks = 0;

	static const struct lapic_ops stress_ops = { .now_ns = t_now, .notify = count_notify };

	fake_ns = T0;
	nnotify = 0;
	lapic_init(&A, 0, true, &stress_ops, NULL);
	sw_enable(&A);
	senders_done = 0;
	for (uintptr_t i = 0; i < STRESS_THREADS; i++)
		pthread_create(&t[i], NULL, stress_sender, (void *)(0x30 + 0x10 * i));
	for (;;) {
		bool finished = __atomic_load_n(&senders_done, __ATOMIC_ACQUIRE) == STRESS_THREADS;
		int v = lapic_pending_vector(&A);

		if (v < 0) {
			if (finished)
				break;	/* nothing pending after the last arrival */
			continue;
		}
		lapic_ack(&A, (uint8_t)v);
		wr(&A, EOI, 0);	/* harmless after an AutoEOI one: then nothing is in service */
		acks++;
	}
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(t[i], NULL);
	EXPECT(acks >= STRESS_THREADS);
	EXPECT(nnotify >= acks);
	for (uint32_t i = 0; i < 8; i++) {
		EXPECT_EQ(rd(&A, ISR0 + i * 16), 0);
		EXPECT_EQ(rd(&A, IRR0 + i * 16), 0);
	}
	EXPECT_EQ(rd(&A, PPR), 0);
	lapic_destroy(&A);
}

int main(void)
{
	RUN_TEST(reset_values_xapic);
	RUN_TEST(reset_values_x2apic);
	RUN_TEST(x2apic_gp_rules);
	RUN_TEST(xapic_ro_and_reserved);
	RUN_TEST(apic_base_transitions);
	RUN_TEST(priority_tpr_ppr);
	RUN_TEST(irr_isr_eoi_order);
	RUN_TEST(level_triggered_tmr);
	RUN_TEST(auto_eoi);
	RUN_TEST(svr_software_disable);
	RUN_TEST(icr_send_xapic);
	RUN_TEST(illegal_vectors_esr);
	RUN_TEST(self_ipi);
	RUN_TEST(match_physical);
	RUN_TEST(match_logical_xapic);
	RUN_TEST(match_logical_x2apic);
	RUN_TEST(ipi_shorthand_and_delivery);
	RUN_TEST(callbacks_run_unlocked);
	RUN_TEST(timer_oneshot_divides);
	RUN_TEST(timer_oneshot_restart_and_stop);
	RUN_TEST(timer_periodic);
	RUN_TEST(timer_periodic_fractional_bus);
	RUN_TEST(timer_masked_no_irr);
	RUN_TEST(timer_periodic_floor);
	RUN_TEST(timer_divide_change);
	RUN_TEST(timer_tsc_deadline);
	RUN_TEST(init_reset);
	RUN_TEST(cr8_sync);
	RUN_TEST(threads_accept_while_owner_runs);
	return TEST_EXIT();
}
