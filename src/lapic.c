/*
 * User-space local APIC (Intel SDM vol. 3, chapter 11). Section numbers below
 * are those of the current SDM, where the APIC is chapter 11.
 *
 * Registers live in struct lapic in their architectural layout (IRR/ISR/TMR as
 * eight 32-bit words, ICR as one 64-bit value), and both interfaces funnel
 * into read_reg()/write_reg() by xAPIC offset: x2APIC MSR 0x800 + n is offset
 * n << 4 (SDM 11.12.1.2). A write handler returns false for #GP, which only
 * x2APIC mode raises; xAPIC mode drops reserved bits and ignores writes to
 * read-only registers.
 *
 * The timer counts bus cycles (ops->bus_hz, 1 GHz by default) since
 * timer_base_ns; the current period began timer_start cycles after it and
 * lasts TMICT * divisor cycles. Deadlines are derived from that origin rather
 * than from the previous deadline, so a periodic timer does not drift even
 * when a period is not a whole number of nanoseconds.
 */
#include "lapic.h"

#include <assert.h>
#include <string.h>

/* xAPIC register offsets (SDM 11.4.1, Table 11-1). */
enum {
	APIC_ID = 0x020,
	APIC_VERSION = 0x030,
	APIC_TPR = 0x080,
	APIC_APR = 0x090,
	APIC_PPR = 0x0a0,
	APIC_EOI = 0x0b0,
	APIC_RRD = 0x0c0,
	APIC_LDR = 0x0d0,
	APIC_DFR = 0x0e0,
	APIC_SVR = 0x0f0,
	APIC_ISR = 0x100,	/* 8 registers each */
	APIC_TMR = 0x180,
	APIC_IRR = 0x200,
	APIC_ESR = 0x280,
	APIC_ICR = 0x300,
	APIC_ICR2 = 0x310,
	APIC_LVT0 = 0x320,	/* LAPIC_NR_LVT registers */
	APIC_TMICT = 0x380,
	APIC_TMCCT = 0x390,
	APIC_TDCR = 0x3e0,
	APIC_SELF_IPI = 0x3f0,	/* x2APIC only */
};

/* Version 0x14, max LVT entry 5 (bits 23:16), no EOI-broadcast suppression (bit 24): as KVM. */
#define APIC_VERSION_VALUE	0x00050014u
#define FIRST_VALID_VECTOR	16	/* SDM 11.5.2 */
#define NS_PER_SEC		1000000000ull
#define DEFAULT_BUS_HZ		NS_PER_SEC
#define DEFAULT_MIN_PERIODIC_NS	200000ull	/* KVM's min_timer_period_us default */
#define DEFAULT_PHYS_BITS	52

#define SVR_ENABLE		(1u << 8)
/* Vector, software enable, focus checking (bit 9: kept, no effect, as KVM). Bit 12 is not supported. */
#define SVR_MASK		0x3ffu
#define DFR_RESERVED		0x0fffffffu	/* reads as ones */
#define DFR_MODEL_FLAT		0xfu
#define DFR_MODEL_CLUSTER	0x0u
#define LDR_XAPIC_MASK		0xff000000u
#define DCR_MASK		0xbu		/* bits 0, 1, 3 (SDM 11.5.4, Figure 11-10) */
#define ICR_XAPIC_LOW_MASK	0x000ccfffu	/* vector, mode, dest mode, level, trigger, shorthand */
#define ICR_XAPIC_HIGH_MASK	0xff000000u
/* Bits 31:20, 17:16 and 13 are reserved in x2APIC mode; bit 12 (delivery status) is ignored, as KVM. */
#define ICR_X2APIC_RESERVED	0xfff32000u
#define ICR_DELIVERY_STATUS	(1u << 12)

/* LVT (SDM 11.5.1, Figure 11-8). */
#define LVT_VECTOR		0xffu
#define LVT_DELIVERY_MODE	0x700u
#define LVT_DELIVERY_STATUS	(1u << 12)	/* read-only, always 0 here */
#define LVT_POLARITY		(1u << 13)
#define LVT_REMOTE_IRR		(1u << 14)	/* read-only, always 0 here (LINT pins not wired) */
#define LVT_LEVEL		(1u << 15)
#define LVT_MASKED		(1u << 16)
#define LVT_TIMER_MODE_SHIFT	17
#define LVT_TIMER_MODE_MASK	(3u << LVT_TIMER_MODE_SHIFT)
enum { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_TSC_DEADLINE, TIMER_RESERVED };

static const uint32_t lvt_writable[LAPIC_NR_LVT] = {
	[LAPIC_LVT_TIMER] = LVT_VECTOR | LVT_MASKED | LVT_TIMER_MODE_MASK,
	[LAPIC_LVT_THERMAL] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED,
	[LAPIC_LVT_PMC] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED,
	[LAPIC_LVT_LINT0] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_POLARITY | LVT_LEVEL | LVT_MASKED,
	[LAPIC_LVT_LINT1] = LVT_VECTOR | LVT_DELIVERY_MODE | LVT_POLARITY | LVT_LEVEL | LVT_MASKED,
	[LAPIC_LVT_ERROR] = LVT_VECTOR | LVT_MASKED,
};

/* ---- bitmaps and priorities ---- */

static bool test_vec(const uint32_t *r, unsigned int v)
{
	return r[v / 32] & (1u << (v % 32));
}

static void set_vec(uint32_t *r, unsigned int v)
{
	r[v / 32] |= 1u << (v % 32);
}

static void clear_vec(uint32_t *r, unsigned int v)
{
	r[v / 32] &= ~(1u << (v % 32));
}

static int highest_vec(const uint32_t *r)
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

/* SDM 11.8.3.1. When TPR[7:4] = ISRV[7:4], PPR[3:0] is model-specific: TPR[3:0] here, as KVM. */
static uint8_t ppr(const struct lapic *a)
{
	int isrv = highest_vec(a->isr);
	uint8_t isr_class = isrv < 0 ? 0 : (uint8_t)isrv & 0xf0;

	return (a->tpr & 0xf0) >= isr_class ? a->tpr : isr_class;
}

static bool hw_enabled(const struct lapic *a)
{
	return a->apic_base & LAPIC_BASE_EN;
}

static bool sw_enabled(const struct lapic *a)
{
	return a->svr & SVR_ENABLE;
}

static enum lapic_mode mode_of(uint64_t base)
{
	if (!(base & LAPIC_BASE_EN))
		return LAPIC_MODE_DISABLED;
	return (base & LAPIC_BASE_EXTD) ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}

static bool x2apic(const struct lapic *a)
{
	return mode_of(a->apic_base) == LAPIC_MODE_X2APIC;
}

/* SDM 11.12.10.2: the x2APIC logical ID is derived from the x2APIC ID. */
static uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

/* ---- locking and deferred callbacks ---- */

static void lock(struct lapic *a)
{
	pthread_mutex_lock(&a->lock);
}

/* Drop the lock, then make the callbacks the locked section asked for. */
static void unlock(struct lapic *a)
{
	bool notify = a->fx_notify, send = a->fx_send, send_x2apic = a->fx_send_x2apic;
	uint64_t icr = a->fx_icr;

	a->fx_notify = a->fx_send = false;
	pthread_mutex_unlock(&a->lock);
	if (send && a->ops->send_ipi)
		a->ops->send_ipi(a->ctx, a, icr, send_x2apic);
	if (notify && a->ops->notify)
		a->ops->notify(a->ctx, a);
}

static uint64_t now_ns(struct lapic *a)
{
	return a->ops->now_ns(a->ctx);
}

/* ---- interrupt acceptance ---- */

static void accept_locked(struct lapic *a, uint8_t vector, bool level, bool auto_eoi);

/*
 * An error the APIC detected (SDM 11.5.3): collected until the next ESR
 * write, and signalled through LVT Error unless it is masked. An illegal
 * vector in LVT Error itself only adds "receive illegal vector".
 */
static void apic_error(struct lapic *a, uint32_t bits)
{
	uint32_t lvt = a->lvt[LAPIC_LVT_ERROR];

	a->esr_pending |= bits;
	if (lvt & LVT_MASKED)
		return;
	if ((lvt & LVT_VECTOR) < FIRST_VALID_VECTOR) {
		a->esr_pending |= LAPIC_ESR_RECV_ILLEGAL_VECTOR;
		return;
	}
	accept_locked(a, (uint8_t)(lvt & LVT_VECTOR), false, false);
}

/*
 * A fixed interrupt into the IRR (SDM 11.8.4); the TMR records its trigger
 * mode. Like KVM, a software-disabled APIC drops it (SDM 11.4.7.2 only says
 * the IRR and ISR are held).
 */
static void accept_locked(struct lapic *a, uint8_t vector, bool level, bool auto_eoi)
{
	if (!hw_enabled(a))
		return;
	if (vector < FIRST_VALID_VECTOR) {
		apic_error(a, LAPIC_ESR_RECV_ILLEGAL_VECTOR);	/* SDM 11.5.2 */
		return;
	}
	if (!sw_enabled(a))
		return;
	set_vec(a->irr, vector);
	if (level)
		set_vec(a->tmr, vector);
	else
		clear_vec(a->tmr, vector);
	if (auto_eoi)
		set_vec(a->auto_eoi, vector);
	else
		clear_vec(a->auto_eoi, vector);
	a->fx_notify = true;
}

/* The LVT entry i raises its interrupt: nothing if masked; timer and error are always fixed. */
static void lvt_fire(struct lapic *a, unsigned int i)
{
	uint32_t lvt = a->lvt[i];

	assert(i == LAPIC_LVT_TIMER || i == LAPIC_LVT_ERROR);
	if (!(lvt & LVT_MASKED))
		accept_locked(a, (uint8_t)(lvt & LVT_VECTOR), false, false);
}

/* After an EOI, TPR or SVR change: a lower PPR may let a held IRR vector through. */
static void recheck_irr(struct lapic *a)
{
	if (highest_vec(a->irr) >= 0)
		a->fx_notify = true;
}

/* ---- timer (SDM 11.5.4) ---- */

static unsigned int timer_mode(const struct lapic *a)
{
	return (a->lvt[LAPIC_LVT_TIMER] & LVT_TIMER_MODE_MASK) >> LVT_TIMER_MODE_SHIFT;
}

/* Divide configuration (SDM 11.5.4, Figure 11-10): bits 3,1,0 = 000 -> 2 ... 110 -> 128, 111 -> 1. */
static unsigned int divisor(uint32_t dcr)
{
	unsigned int v = (dcr & 3) | ((dcr & 8) >> 1);

	return v == 7 ? 1 : 2u << v;
}

static uint64_t bus_hz(const struct lapic *a)
{
	return a->ops->bus_hz ? a->ops->bus_hz : DEFAULT_BUS_HZ;
}

static uint64_t sat_add(uint64_t x, uint64_t y)
{
	return x + y < x ? UINT64_MAX : x + y;
}

/* Whole bus cycles between timer_base_ns and now. */
static int64_t cycles_at(const struct lapic *a, uint64_t now)
{
	unsigned __int128 c = (unsigned __int128)(now - a->timer_base_ns) * bus_hz(a) / NS_PER_SEC;

	assert(now >= a->timer_base_ns);
	return c > INT64_MAX ? INT64_MAX : (int64_t)c;
}

/* The first nanosecond by which c bus cycles have passed (rounded up: never early). */
static uint64_t cycles_to_ns(const struct lapic *a, int64_t c)
{
	unsigned __int128 ns;

	assert(c >= 0);
	ns = ((unsigned __int128)c * NS_PER_SEC + bus_hz(a) - 1) / bus_hz(a);
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

static int64_t period_cycles(const struct lapic *a)
{
	return (int64_t)a->tmict * divisor(a->dcr);
}

/*
 * How far apart periodic interrupts are: at least ops->min_periodic_ns, as KVM
 * limits its own periodic APIC timer (min_timer_period_us), so TMICT = 1 at
 * divide-by-1 cannot hold a host core with an interrupt storm. The current
 * count still runs at the programmed rate.
 */
static int64_t interrupt_period_cycles(const struct lapic *a)
{
	uint64_t min_ns = a->ops->min_periodic_ns ? a->ops->min_periodic_ns : DEFAULT_MIN_PERIODIC_NS;
	int64_t min = (int64_t)((unsigned __int128)min_ns * bus_hz(a) / NS_PER_SEC);

	if (timer_mode(a) == TIMER_PERIODIC && period_cycles(a) < min)
		return min;
	return period_cycles(a);
}

static void timer_set_deadline(struct lapic *a, uint64_t deadline)
{
	if (!a->timer_armed)
		deadline = 0;
	else if (!deadline)
		deadline = 1;	/* 0 means "no deadline" */
	if (deadline != a->timer_deadline_ns) {
		a->timer_deadline_ns = deadline;
		a->fx_notify = true;
	}
}

static void timer_disarm(struct lapic *a)
{
	a->timer_armed = false;
	a->tsc_deadline = 0;
	timer_set_deadline(a, 0);
}

/* One-shot/periodic: the deadline is the end of the current period. */
static void timer_count_deadline(struct lapic *a)
{
	int64_t end = a->timer_start + interrupt_period_cycles(a);

	assert(a->timer_armed && a->tmict && end > 0);
	timer_set_deadline(a, sat_add(a->timer_base_ns, cycles_to_ns(a, end)));
}

/* Start counting TMICT down from now (a TMICT write). */
static void timer_start_count(struct lapic *a, uint64_t now)
{
	unsigned int mode = timer_mode(a);

	if (!a->tmict || (mode != TIMER_ONESHOT && mode != TIMER_PERIODIC)) {
		timer_disarm(a);
		return;
	}
	a->timer_armed = true;
	a->timer_base_ns = now;
	a->timer_start = 0;
	timer_count_deadline(a);
}

/*
 * TSC-deadline mode (SDM 11.5.4.1): fire once the guest TSC has reached
 * IA32_TSC_DEADLINE (at once if it already has), else (re)compute the host
 * deadline from the TSC frequency, rounded up so it is never early.
 */
static void tsc_deadline_check(struct lapic *a, uint64_t now)
{
	uint64_t tsc = a->ops->tsc(a->ctx);
	unsigned __int128 ns;

	assert(a->tsc_deadline);
	if (tsc >= a->tsc_deadline) {
		lvt_fire(a, LAPIC_LVT_TIMER);
		timer_disarm(a);	/* reads 0 once fired */
		return;
	}
	a->timer_armed = true;
	ns = ((unsigned __int128)(a->tsc_deadline - tsc) * NS_PER_SEC + a->ops->tsc_hz - 1) / a->ops->tsc_hz;
	timer_set_deadline(a, ns > UINT64_MAX ? UINT64_MAX : sat_add(now, (uint64_t)ns));
}

/*
 * Fire the timer if its deadline has come. A periodic timer re-arms for the
 * next period boundary after now: previous deadline + period when on time;
 * periods the VMM missed coalesce into this one interrupt (the IRR holds one
 * anyway) instead of arriving as a burst, and the phase is kept.
 */
static void timer_check(struct lapic *a, uint64_t now)
{
	int64_t elapsed, period;

	if (!a->timer_armed || now < a->timer_deadline_ns)
		return;
	switch (timer_mode(a)) {
	case TIMER_TSC_DEADLINE:
		tsc_deadline_check(a, now);
		return;
	case TIMER_PERIODIC:
		lvt_fire(a, LAPIC_LVT_TIMER);
		period = interrupt_period_cycles(a);
		elapsed = cycles_at(a, now) - a->timer_start;
		assert(period > 0 && elapsed >= period);
		a->timer_start += elapsed / period * period;
		timer_count_deadline(a);
		return;
	case TIMER_ONESHOT:
		lvt_fire(a, LAPIC_LVT_TIMER);
		a->timer_armed = false;
		timer_set_deadline(a, 0);
		return;
	default:
		assert(!"armed timer in reserved mode");
	}
}

/*
 * Current count: TMICT minus the divided counts elapsed in the current period
 * (0 once a one-shot count reached zero; a periodic count reloads TMICT at
 * that instant). 0 in TSC-deadline mode (SDM 11.5.4.1).
 */
static uint32_t current_count(const struct lapic *a, uint64_t now)
{
	uint64_t counts;

	if (!a->timer_armed || (timer_mode(a) != TIMER_ONESHOT && timer_mode(a) != TIMER_PERIODIC))
		return 0;
	assert(cycles_at(a, now) >= a->timer_start);
	counts = (uint64_t)(cycles_at(a, now) - a->timer_start) / divisor(a->dcr);
	if (counts < a->tmict)
		return a->tmict - (uint32_t)counts;
	if (timer_mode(a) == TIMER_PERIODIC)
		return a->tmict - (uint32_t)(counts % a->tmict);
	return 0;
}

/* ---- reset ---- */

/*
 * Register state after power-up or INIT (SDM 11.4.7.1, 11.4.7.3, 11.12.5.1):
 * everything but the APIC IDs and IA32_APIC_BASE. In x2APIC mode (an INIT
 * there keeps the mode) the LDR is the one derived from the x2APIC ID.
 */
static void reset_regs(struct lapic *a)
{
	a->tpr = 0;
	a->ldr = x2apic(a) ? x2apic_ldr(a->id) : 0;
	a->dfr = 0xffffffffu;
	a->svr = 0xff;
	memset(a->irr, 0, sizeof(a->irr));
	memset(a->isr, 0, sizeof(a->isr));
	memset(a->tmr, 0, sizeof(a->tmr));
	memset(a->auto_eoi, 0, sizeof(a->auto_eoi));
	a->esr = a->esr_pending = 0;
	a->icr = 0;
	for (unsigned int i = 0; i < LAPIC_NR_LVT; i++)
		a->lvt[i] = LVT_MASKED;
	a->tmict = 0;
	a->dcr = 0;
	timer_disarm(a);
}

void lapic_init(struct lapic *a, uint32_t apic_id, bool bsp, const struct lapic_ops *ops, void *ctx)
{
	assert(ops && ops->now_ns);
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	a->ops = ops;
	a->ctx = ctx;
	a->id = apic_id;
	a->xapic_id = (uint8_t)apic_id;		/* SDM 11.12.5.1: the low 8 bits of the x2APIC ID */
	a->apic_base = LAPIC_DEFAULT_BASE | LAPIC_BASE_EN | (bsp ? LAPIC_BASE_BSP : 0);
	reset_regs(a);
	a->fx_notify = false;
}

void lapic_destroy(struct lapic *a)
{
	pthread_mutex_destroy(&a->lock);
}

void lapic_init_reset(struct lapic *a)
{
	lock(a);
	reset_regs(a);
	unlock(a);
}

/* ---- register write handlers (x2: x2APIC mode; false = #GP) ---- */

/* x2APIC mode faults on reserved bits (SDM 11.12.1.3); xAPIC mode drops them. */
static bool reserved_set(bool x2, uint64_t val, uint64_t allowed)
{
	return x2 && (val & ~allowed);
}

/* An offset with no register behind it in this mode. */
static bool write_reserved(struct lapic *a, bool x2)
{
	if (x2)
		return false;
	apic_error(a, LAPIC_ESR_ILLEGAL_REG);
	return true;
}

static bool write_id(struct lapic *a, uint64_t val, bool x2)
{
	if (x2)
		return false;		/* read-only in x2APIC mode */
	a->xapic_id = (uint8_t)(val >> 24);
	return true;
}

static bool write_tpr(struct lapic *a, uint64_t val, bool x2)
{
	if (reserved_set(x2, val, 0xff))
		return false;
	a->tpr = (uint8_t)val;
	recheck_irr(a);
	return true;
}

/*
 * EOI (SDM 11.8.5): retire the highest in-service vector. For a
 * level-triggered one (TMR set) the APIC would now broadcast an EOI message
 * to the I/O APICs; the VTLs served here have no I/O APIC, so nothing to do.
 */
static bool write_eoi(struct lapic *a, uint64_t val, bool x2)
{
	int v;

	if (x2 && val)
		return false;		/* Table 11-6 */
	v = highest_vec(a->isr);
	if (v < 0)
		return true;
	clear_vec(a->isr, (unsigned int)v);
	recheck_irr(a);
	return true;
}

static bool write_ldr(struct lapic *a, uint64_t val, bool x2)
{
	if (x2)
		return false;		/* read-only in x2APIC mode */
	a->ldr = (uint32_t)val & LDR_XAPIC_MASK;
	return true;
}

static bool write_dfr(struct lapic *a, uint64_t val, bool x2)
{
	if (x2)
		return write_reserved(a, x2);
	a->dfr = (uint32_t)val | DFR_RESERVED;
	return true;
}

/* SVR (SDM 11.9, 11.4.7.2): clearing the software enable masks every LVT entry. */
static bool write_svr(struct lapic *a, uint64_t val, bool x2)
{
	if (reserved_set(x2, val, SVR_MASK))
		return false;
	a->svr = (uint32_t)val & SVR_MASK;
	if (!sw_enabled(a)) {
		for (unsigned int i = 0; i < LAPIC_NR_LVT; i++)
			a->lvt[i] |= LVT_MASKED;
		a->fx_notify = true;	/* the timer is masked now: no host timer needed */
	}
	recheck_irr(a);
	return true;
}

/* ESR (SDM 11.5.3): a write latches the errors collected since the previous one. */
static bool write_esr(struct lapic *a, uint64_t val, bool x2)
{
	if (x2 && val)
		return false;		/* Table 11-6 */
	a->esr = a->esr_pending;
	a->esr_pending = 0;
	return true;
}

/*
 * Send the IPI in a->icr (SDM 11.6.1). Fixed and lowest-priority IPIs with a
 * vector below 16 are not sent and set "send illegal vector" (SDM 11.5.2).
 * The delivery itself is the VMM's (send_ipi after unlocking); it completes
 * at once, so the delivery status bit stays 0.
 */
static void send_icr(struct lapic *a, bool x2)
{
	unsigned int dm = LAPIC_ICR_DM(a->icr);

	if ((dm == LAPIC_DM_FIXED || dm == LAPIC_DM_LOWEST) && LAPIC_ICR_VECTOR(a->icr) < FIRST_VALID_VECTOR) {
		apic_error(a, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	a->fx_send = true;
	a->fx_icr = a->icr;
	a->fx_send_x2apic = x2;
}

/* ICR: xAPIC low half (the write that sends) or the x2APIC 64-bit MSR (SDM 11.12.9). */
static bool write_icr(struct lapic *a, uint64_t val, bool x2)
{
	if (x2) {
		if (val & ICR_X2APIC_RESERVED)
			return false;
		a->icr = val & ~(uint64_t)ICR_DELIVERY_STATUS;
	} else {
		a->icr = (a->icr & 0xffffffff00000000ull) | ((uint32_t)val & ICR_XAPIC_LOW_MASK);
	}
	send_icr(a, x2);
	return true;
}

static bool write_icr2(struct lapic *a, uint64_t val, bool x2)
{
	if (x2)
		return write_reserved(a, x2);	/* MSR 0x831 is reserved (Table 11-6 note 4) */
	a->icr = (uint32_t)a->icr | ((uint64_t)((uint32_t)val & ICR_XAPIC_HIGH_MASK) << 32);
	return true;
}

/*
 * LVT timer: switching into or out of TSC-deadline mode disarms the timer
 * (SDM 11.5.4.1) and, as in KVM, clears TMICT; so does the reserved mode 11b,
 * in which the timer does not run. One-shot <-> periodic keeps the count going.
 */
static void timer_mode_changed(struct lapic *a, unsigned int old_mode)
{
	unsigned int mode = timer_mode(a);

	if (mode == old_mode)
		return;
	if (mode >= TIMER_TSC_DEADLINE || old_mode >= TIMER_TSC_DEADLINE) {
		a->tmict = 0;
		timer_disarm(a);
	}
}

static bool write_lvt(struct lapic *a, unsigned int i, uint64_t val, bool x2)
{
	uint32_t ro = LVT_DELIVERY_STATUS | (i == LAPIC_LVT_LINT0 || i == LAPIC_LVT_LINT1 ? LVT_REMOTE_IRR : 0);
	uint32_t v = (uint32_t)val & lvt_writable[i];
	unsigned int old_mode;

	if (reserved_set(x2, val, lvt_writable[i] | ro))
		return false;
	if (i == LAPIC_LVT_TIMER && x2 &&
	    ((v & LVT_TIMER_MODE_MASK) >> LVT_TIMER_MODE_SHIFT) == TIMER_RESERVED)
		return false;
	if (!sw_enabled(a))
		v |= LVT_MASKED;	/* SDM 11.4.7.2: cannot be unmasked while software-disabled */
	if (i != LAPIC_LVT_TIMER) {
		a->lvt[i] = v;
		return true;
	}
	timer_check(a, now_ns(a));	/* a due expiry happens under the old setting */
	old_mode = timer_mode(a);
	a->lvt[i] = v;
	timer_mode_changed(a, old_mode);
	a->fx_notify = true;		/* (un)masking changes whether the VMM needs a host timer */
	return true;
}

/* Initial count: (re)starts the count; ignored in TSC-deadline mode (SDM 11.5.4.1). */
static bool write_tmict(struct lapic *a, uint64_t val, bool x2)
{
	uint64_t now = now_ns(a);

	timer_check(a, now);
	if (timer_mode(a) == TIMER_TSC_DEADLINE)
		return true;
	a->tmict = (uint32_t)val;
	timer_start_count(a, now);
	return true;
}

/*
 * Divide configuration: a running count continues from its current value at
 * the new rate (the fraction of a count already elapsed is dropped).
 */
static bool write_tdcr(struct lapic *a, uint64_t val, bool x2)
{
	uint64_t now;
	uint32_t done;
	unsigned int mode = timer_mode(a);

	if (reserved_set(x2, val, DCR_MASK))
		return false;
	if (!a->timer_armed || (mode != TIMER_ONESHOT && mode != TIMER_PERIODIC)) {
		a->dcr = (uint32_t)val & DCR_MASK;
		return true;
	}
	now = now_ns(a);
	timer_check(a, now);
	done = a->tmict - current_count(a, now);
	a->dcr = (uint32_t)val & DCR_MASK;
	if (!a->timer_armed)
		return true;	/* that was the last one-shot count */
	a->timer_base_ns = now;
	a->timer_start = -(int64_t)done * divisor(a->dcr);
	timer_count_deadline(a);
	return true;
}

/* SELF IPI (SDM 11.12.11): a fixed edge interrupt to this APIC, delivered here without the VMM. */
static bool write_self_ipi(struct lapic *a, uint64_t val, bool x2)
{
	if (!x2)
		return write_reserved(a, x2);
	if (val & ~0xffull)
		return false;
	if (val < FIRST_VALID_VECTOR) {
		apic_error(a, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
		return true;
	}
	accept_locked(a, (uint8_t)val, false, false);
	return true;
}

/* Read-only registers: #GP in x2APIC mode (Table 11-6 note 1), ignored in xAPIC mode. */
static bool write_ro(bool x2)
{
	return !x2;
}

static bool write_reg(struct lapic *a, uint32_t off, uint64_t val, bool x2)
{
	assert(off % 16 == 0 && off < LAPIC_PAGE_SIZE);
	switch (off) {
	case APIC_ID:		return write_id(a, val, x2);
	case APIC_TPR:		return write_tpr(a, val, x2);
	case APIC_EOI:		return write_eoi(a, val, x2);
	case APIC_LDR:		return write_ldr(a, val, x2);
	case APIC_DFR:		return write_dfr(a, val, x2);
	case APIC_SVR:		return write_svr(a, val, x2);
	case APIC_ESR:		return write_esr(a, val, x2);
	case APIC_ICR:		return write_icr(a, val, x2);
	case APIC_ICR2:		return write_icr2(a, val, x2);
	case APIC_TMICT:	return write_tmict(a, val, x2);
	case APIC_TDCR:		return write_tdcr(a, val, x2);
	case APIC_SELF_IPI:	return write_self_ipi(a, val, x2);
	case APIC_APR:
	case APIC_RRD:
		return x2 ? write_reserved(a, x2) : true;	/* xAPIC-only, read-only */
	case APIC_VERSION:
	case APIC_PPR:
	case APIC_TMCCT:
		return write_ro(x2);
	}
	if (off >= APIC_ISR && off < APIC_IRR + 0x80)
		return write_ro(x2);
	if (off >= APIC_LVT0 && off < APIC_LVT0 + 0x10 * LAPIC_NR_LVT)
		return write_lvt(a, (off - APIC_LVT0) / 0x10, val, x2);
	return write_reserved(a, x2);
}

/* ---- register reads ---- */

/* false = #GP (x2APIC mode only); reserved xAPIC offsets read 0 and set "illegal register address". */
static bool read_reg(struct lapic *a, uint32_t off, bool x2, uint64_t *val)
{
	assert(off % 16 == 0 && off < LAPIC_PAGE_SIZE);
	*val = 0;
	switch (off) {
	case APIC_ID:
		*val = x2 ? a->id : (uint32_t)a->xapic_id << 24;
		return true;
	case APIC_VERSION:
		*val = APIC_VERSION_VALUE;
		return true;
	case APIC_TPR:
		*val = a->tpr;
		return true;
	case APIC_APR:
		/* P6-era arbitration priority: reads 0, as KVM (no APIC bus arbitration here). */
	case APIC_RRD:
		/* Remote read is not supported: reads 0. */
		if (x2)
			return false;
		return true;
	case APIC_PPR:
		*val = ppr(a);
		return true;
	case APIC_EOI:
		return !x2;	/* write-only: #GP in x2APIC mode (Table 11-6 note 3), 0 in xAPIC mode */
	case APIC_LDR:
		*val = a->ldr;
		return true;
	case APIC_DFR:
		if (x2)
			return false;
		*val = a->dfr;
		return true;
	case APIC_SVR:
		*val = a->svr;
		return true;
	case APIC_ESR:
		*val = a->esr;
		return true;
	case APIC_ICR:
		*val = x2 ? a->icr : (uint32_t)a->icr;
		return true;
	case APIC_ICR2:
		if (x2)
			return false;
		*val = a->icr >> 32;
		return true;
	case APIC_TMICT:
		*val = a->tmict;
		return true;
	case APIC_TMCCT:
		*val = current_count(a, now_ns(a));
		return true;
	case APIC_TDCR:
		*val = a->dcr;
		return true;
	case APIC_SELF_IPI:
		if (x2)
			return false;	/* write-only */
		break;
	}
	if (off >= APIC_ISR && off < APIC_ISR + 0x80) {
		*val = a->isr[(off - APIC_ISR) / 0x10];
		return true;
	}
	if (off >= APIC_TMR && off < APIC_TMR + 0x80) {
		*val = a->tmr[(off - APIC_TMR) / 0x10];
		return true;
	}
	if (off >= APIC_IRR && off < APIC_IRR + 0x80) {
		*val = a->irr[(off - APIC_IRR) / 0x10];
		return true;
	}
	if (off >= APIC_LVT0 && off < APIC_LVT0 + 0x10 * LAPIC_NR_LVT) {
		*val = a->lvt[(off - APIC_LVT0) / 0x10];
		return true;
	}
	if (x2)
		return false;
	apic_error(a, LAPIC_ESR_ILLEGAL_REG);
	return true;
}

/* ---- xAPIC MMIO ---- */

static uint32_t all_ones(unsigned int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

uint32_t lapic_mmio_read(struct lapic *a, uint32_t off, unsigned int size)
{
	uint64_t val = 0;

	lock(a);
	if (mode_of(a->apic_base) != LAPIC_MODE_XAPIC)
		val = all_ones(size);	/* SDM 11.12.2: as a globally disabled APIC, nothing there */
	else if (size == 4 && off % 16 == 0 && off < LAPIC_PAGE_SIZE)
		read_reg(a, off, false, &val);
	unlock(a);
	return (uint32_t)val;
}

void lapic_mmio_write(struct lapic *a, uint32_t off, unsigned int size, uint32_t val)
{
	lock(a);
	if (mode_of(a->apic_base) == LAPIC_MODE_XAPIC && size == 4 && off % 16 == 0 && off < LAPIC_PAGE_SIZE)
		write_reg(a, off, val, false);
	unlock(a);
}

/* ---- MSRs ---- */

/*
 * IA32_APIC_BASE (SDM 11.4.4, 11.12.1, 11.12.5): EN/EXTD transitions
 * xAPIC <-> disabled, xAPIC -> x2APIC, x2APIC -> disabled; others #GP, as do
 * reserved bits. BSP is read-only. Disabling resets every register but the
 * IDs (11.12.5.1: nothing else survives a pass through the disabled state)
 * and drops what was pending. xAPIC -> x2APIC keeps the registers and derives
 * the LDR from the x2APIC ID.
 */
static bool write_apic_base(struct lapic *a, uint64_t val)
{
	unsigned int bits = a->ops->phys_bits ? a->ops->phys_bits : DEFAULT_PHYS_BITS;
	uint64_t reserved = 0x2ffull | (bits < 64 ? ~0ull << bits : 0);
	enum lapic_mode old = mode_of(a->apic_base), mode = mode_of(val);

	if (val & reserved)
		return false;
	if ((val & LAPIC_BASE_EXTD) && !(val & LAPIC_BASE_EN))
		return false;		/* the invalid state */
	if ((old == LAPIC_MODE_X2APIC && mode == LAPIC_MODE_XAPIC) ||
	    (old == LAPIC_MODE_DISABLED && mode == LAPIC_MODE_X2APIC))
		return false;
	a->apic_base = (val & ~LAPIC_BASE_BSP) | (a->apic_base & LAPIC_BASE_BSP);
	if (mode == LAPIC_MODE_DISABLED && old != LAPIC_MODE_DISABLED) {
		reset_regs(a);
		a->nmi_pending = a->init_pending = a->sipi_pending = false;
	} else if (mode == LAPIC_MODE_X2APIC && old == LAPIC_MODE_XAPIC) {
		a->ldr = x2apic_ldr(a->id);
	}
	a->fx_notify = true;
	return true;
}

/* IA32_TSC_DEADLINE (SDM 11.5.4.1): only in TSC-deadline mode; 0 disarms. */
static void write_tsc_deadline(struct lapic *a, uint64_t val)
{
	if (!a->ops->tsc || !a->ops->tsc_hz || !hw_enabled(a) || timer_mode(a) != TIMER_TSC_DEADLINE)
		return;		/* writes ignored in the other modes (and without a guest TSC) */
	if (!val) {
		timer_disarm(a);
		return;
	}
	a->tsc_deadline = val;
	tsc_deadline_check(a, now_ns(a));
}

static bool is_x2apic_msr(uint32_t msr)
{
	return msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST;
}

bool lapic_msr_read(struct lapic *a, uint32_t msr, uint64_t *val)
{
	bool ok = true;

	*val = 0;
	lock(a);
	if (msr == LAPIC_MSR_APIC_BASE) {
		*val = a->apic_base;
	} else if (msr == LAPIC_MSR_TSC_DEADLINE) {
		if (hw_enabled(a) && timer_mode(a) == TIMER_TSC_DEADLINE) {
			timer_check(a, now_ns(a));	/* a passed deadline reads 0 */
			*val = a->tsc_deadline;
		}
	} else if (is_x2apic_msr(msr) && x2apic(a)) {
		ok = read_reg(a, (msr - LAPIC_MSR_X2APIC_FIRST) << 4, true, val);	/* SDM 11.12.1.2 */
	} else {
		ok = false;	/* x2APIC MSRs outside x2APIC mode (SDM 11.12.2) */
	}
	unlock(a);
	if (!ok)
		*val = 0;
	return ok;
}

bool lapic_msr_write(struct lapic *a, uint32_t msr, uint64_t val)
{
	bool ok = true;
	uint32_t off;

	lock(a);
	if (msr == LAPIC_MSR_APIC_BASE) {
		ok = write_apic_base(a, val);
	} else if (msr == LAPIC_MSR_TSC_DEADLINE) {
		write_tsc_deadline(a, val);
	} else if (is_x2apic_msr(msr) && x2apic(a)) {
		off = (msr - LAPIC_MSR_X2APIC_FIRST) << 4;
		/* Bits 63:32 are reserved in every register but the ICR (Table 11-6 note 2). */
		ok = (off == APIC_ICR || !(val >> 32)) && write_reg(a, off, val, true);
	} else {
		ok = false;
	}
	unlock(a);
	return ok;
}

/* ---- queries for the VMM ---- */

enum lapic_mode lapic_mode(struct lapic *a)
{
	enum lapic_mode m;

	lock(a);
	m = mode_of(a->apic_base);
	unlock(a);
	return m;
}

bool lapic_mmio_base(struct lapic *a, uint64_t *base)
{
	bool decoded;

	lock(a);
	decoded = mode_of(a->apic_base) == LAPIC_MODE_XAPIC;
	*base = a->apic_base & ~(uint64_t)(LAPIC_PAGE_SIZE - 1);
	unlock(a);
	return decoded;
}

/* ---- interrupt arrival and delivery ---- */

void lapic_accept_irq(struct lapic *a, uint8_t vector, bool level, bool auto_eoi)
{
	lock(a);
	accept_locked(a, vector, level, auto_eoi);
	unlock(a);
}

void lapic_accept_nmi(struct lapic *a)
{
	lock(a);
	if (hw_enabled(a)) {
		a->nmi_pending = true;
		a->fx_notify = true;
	}
	unlock(a);
}

void lapic_accept_init(struct lapic *a)
{
	lock(a);
	if (hw_enabled(a)) {
		a->init_pending = true;
		a->sipi_pending = false;	/* a SIPI before this INIT is stale */
		a->fx_notify = true;
	}
	unlock(a);
}

void lapic_accept_sipi(struct lapic *a, uint8_t vector)
{
	lock(a);
	if (hw_enabled(a)) {
		a->sipi_pending = true;
		a->sipi_vector = vector;
		a->fx_notify = true;
	}
	unlock(a);
}

static bool take(struct lapic *a, bool *flag)
{
	bool was;

	lock(a);
	was = *flag;
	*flag = false;
	unlock(a);
	return was;
}

bool lapic_take_nmi(struct lapic *a)
{
	return take(a, &a->nmi_pending);
}

bool lapic_take_init(struct lapic *a)
{
	return take(a, &a->init_pending);
}

bool lapic_take_sipi(struct lapic *a, uint8_t *vector)
{
	bool was;

	lock(a);
	was = a->sipi_pending;
	a->sipi_pending = false;
	*vector = a->sipi_vector;
	unlock(a);
	return was;
}

bool lapic_nmi_pending(struct lapic *a)
{
	bool pending;

	lock(a);
	pending = a->nmi_pending;
	unlock(a);
	return pending;
}

/* SDM 11.8.4: only a priority class above the PPR's interrupts the processor. */
int lapic_pending_vector(struct lapic *a)
{
	int v;

	lock(a);
	v = hw_enabled(a) ? highest_vec(a->irr) : -1;
	if (v >= 0 && ((unsigned int)v & 0xf0) <= (ppr(a) & 0xf0u))
		v = -1;
	unlock(a);
	return v;
}

/* SDM 11.8.4: on acceptance the IRR bit moves to the ISR (not for AutoEOI). */
void lapic_ack(struct lapic *a, uint8_t vector)
{
	lock(a);
	assert(test_vec(a->irr, vector));
	if (test_vec(a->irr, vector)) {
		clear_vec(a->irr, vector);
		if (test_vec(a->auto_eoi, vector))
			clear_vec(a->auto_eoi, vector);
		else
			set_vec(a->isr, vector);
	}
	unlock(a);
}

/* ---- TPR / CR8 ---- */

uint8_t lapic_get_tpr(struct lapic *a)
{
	uint8_t tpr;

	lock(a);
	tpr = a->tpr;
	unlock(a);
	return tpr;
}

void lapic_set_tpr(struct lapic *a, uint8_t tpr)
{
	lock(a);
	a->tpr = tpr;
	recheck_irr(a);
	unlock(a);
}

uint64_t lapic_get_cr8(struct lapic *a)
{
	return lapic_get_tpr(a) >> 4;
}

/* SDM 11.8.6.1: a MOV to CR8 sets TPR[7:4] and clears TPR[3:0]. */
void lapic_set_cr8(struct lapic *a, uint64_t cr8)
{
	lock(a);
	if ((a->tpr >> 4) != (cr8 & 0xf)) {
		a->tpr = (uint8_t)((cr8 & 0xf) << 4);
		recheck_irr(a);
	}
	unlock(a);
}

/* ---- timer entry points ---- */

uint64_t lapic_timer_deadline(struct lapic *a)
{
	uint64_t d;

	lock(a);
	/*
	 * A masked timer raises nothing, so it needs no host timer: what its
	 * expiry changes (the current count, TSC_DEADLINE reading 0, a periodic
	 * phase) is computed when read or when the LVT is written (timer_check).
	 */
	d = a->lvt[LAPIC_LVT_TIMER] & LVT_MASKED ? 0 : a->timer_deadline_ns;
	unlock(a);
	return d;
}

void lapic_timer_expired(struct lapic *a)
{
	lock(a);
	timer_check(a, now_ns(a));
	unlock(a);
}

/* ---- destinations (SDM 11.6.2, 11.12.10) ---- */

static bool match_logical(const struct lapic *a, uint32_t dest)
{
	uint32_t ldr;

	if (x2apic(a)) {	/* SDM 11.12.10.1: cluster in 31:16, bitmap in 15:0 */
		ldr = a->ldr;
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	if (dest > 0xff)
		return false;
	ldr = a->ldr >> 24;
	switch (a->dfr >> 28) {
	case DFR_MODEL_FLAT:	/* SDM 11.6.2.2: bitmap of up to 8 APICs */
		return dest & ldr;
	case DFR_MODEL_CLUSTER:	/* cluster in 7:4, bitmap of up to 4 APICs in 3:0 */
		return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf);
	default:
		return false;	/* undefined model */
	}
}

bool lapic_match_dest(struct lapic *a, uint32_t dest, bool logical, bool x2apic_format)
{
	bool match;

	if (!x2apic_format)
		dest &= 0xff;
	lock(a);
	if (!hw_enabled(a))
		match = false;
	else if (dest == (x2apic_format ? 0xffffffffu : 0xffu))
		match = true;	/* broadcast, physical or logical (SDM 11.6.2.1, 11.6.2.2) */
	else if (!logical)
		match = dest == (x2apic(a) ? a->id : a->xapic_id);
	else
		match = match_logical(a, dest);
	unlock(a);
	return match;
}

enum lapic_shorthand lapic_icr_shorthand(uint64_t icr)
{
	return (enum lapic_shorthand)((icr >> 18) & 3);
}

uint32_t lapic_icr_dest(uint64_t icr, bool x2apic_format)
{
	return x2apic_format ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56);
}

bool lapic_icr_match(struct lapic *dst, const struct lapic *src, uint64_t icr, bool x2apic_format)
{
	enum lapic_shorthand sh = lapic_icr_shorthand(icr);
	bool enabled;

	if (sh == LAPIC_SH_NONE)
		return lapic_match_dest(dst, lapic_icr_dest(icr, x2apic_format), icr & LAPIC_ICR_LOGICAL,
					x2apic_format);
	lock(dst);
	enabled = hw_enabled(dst);
	unlock(dst);
	if (sh == LAPIC_SH_SELF)
		return enabled && dst == src;
	if (sh == LAPIC_SH_ALL_BUT_SELF)
		return enabled && dst != src;
	return enabled;
}

/* An IPI at one destination (SDM 11.6.1, delivery modes). */
void lapic_icr_deliver(struct lapic *dst, uint64_t icr)
{
	bool level = icr & LAPIC_ICR_TRIGGER_LEVEL;
	bool deassert = level && !(icr & LAPIC_ICR_LEVEL_ASSERT);

	switch (LAPIC_ICR_DM(icr)) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		if (!deassert)	/* a level de-assert carries no interrupt (as KVM) */
			lapic_accept_irq(dst, LAPIC_ICR_VECTOR(icr), level, false);
		break;
	case LAPIC_DM_NMI:
		lapic_accept_nmi(dst);
		break;
	case LAPIC_DM_INIT:
		if (!deassert)	/* INIT level de-assert only resynchronizes arbitration IDs */
			lapic_accept_init(dst);
		break;
	case LAPIC_DM_STARTUP:
		lapic_accept_sipi(dst, LAPIC_ICR_VECTOR(icr));
		break;
	default:
		break;		/* SMI (no SMM here), ExtINT and reserved modes */
	}
}
