/*
 * Synthetic timers (TLFS 12.x, spec section 5.4): four per (VP, VTL), in
 * 100 ns reference time, delivering HVMSG_TIMER_EXPIRED messages to a SINT
 * or, in direct mode, a plain APIC interrupt.
 *
 * The core has no thread of its own: it asks the host (op timer_arm) to call
 * hv_timer_expired once reference time reaches the earliest deadline it
 * knows of, and that call fires what is due and asks for the next one. MSR
 * writes that arm a timer ask for an earlier call when they need one.
 *
 * Lock order: p->timer_lock before a VP lock. hv_timer_expired holds
 * timer_lock while it scans and fires; MSR writers ask only after dropping
 * the VP lock, so a deadline set during a scan is either seen by the scan or
 * asked for after it. A call that comes early only rescans.
 */
#include "hv_internal.h"

#include <string.h>

#define STIMER_CONFIG_SINT_SHIFT 16
#define FIRST_VALID_VECTOR 16
/*
 * The shortest period a periodic timer runs at: KVM's floor for its own
 * periodic APIC timer (min_timer_period_us, 200 us), so that no guest can turn
 * a timer into an interrupt storm that holds a host core (docs/hyperv.md).
 */
#define STIMER_MIN_PERIOD_100NS 2000ull

static bool is_timer_msr(uint32_t msr)
{
	return msr >= HV_X64_MSR_STIMER0_CONFIG && msr <= HV_X64_MSR_STIMER3_COUNT;
}

/* Try to put the expiry message of timer idx into its SINT's slot; true if placed. */
static bool send_timer_msg(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int idx,
			   uint64_t expiration, uint64_t now)
{
	const struct hv_stimer *t = &p->vps[vp].vtl[vtl].stimer[idx];
	struct hv_timer_message_payload pl = {
		.timer_index = idx,
		.expiration_time = expiration,
		.delivery_time = now,
	};
	struct hv_message m;

	memset(&m, 0, sizeof(m));
	m.message_type = HVMSG_TIMER_EXPIRED;
	m.payload_size = sizeof(pl);
	memcpy(m.payload, &pl, sizeof(pl));
	return hv_synic_place_message_locked(p, vp, vtl, HV_STIMER_SINT(t->config), &m) == HV_STATUS_SUCCESS;
}

/* Deadlines saturate: a COUNT near 2^64 means "never", not a deadline wrapped into the past. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t period_of(const struct hv_stimer *t)
{
	return t->count < STIMER_MIN_PERIOD_100NS ? STIMER_MIN_PERIOD_100NS : t->count;
}

/* Expiry of the armed deadline of timer idx at reference time now (>= deadline). VP lock held. */
static void fire(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int idx, uint64_t now)
{
	struct hv_stimer *t = &p->vps[vp].vtl[vtl].stimer[idx];
	uint64_t expiration = t->deadline;

	if (t->config & HV_STIMER_DIRECT) {
		/* Vectors below 16 are not valid APIC vectors: the expiry is dropped. */
		if (HV_STIMER_APIC_VECTOR(t->config) >= FIRST_VALID_VECTOR)
			hv_raise_irq(p, vp, vtl, (uint8_t)HV_STIMER_APIC_VECTOR(t->config), false);
	} else if (!t->msg_pending) {
		/*
		 * Each timer has one message buffer. If the slot is busy (or the
		 * SynIC is unusable), the message waits there and goes out on
		 * EOM or another redelivery trigger; while it waits, further
		 * periodic expiries are not queued.
		 */
		if (!send_timer_msg(p, vp, vtl, idx, expiration, now)) {
			t->msg_pending = true;
			t->pending_expiration = expiration;
		}
	}

	if (!(t->config & HV_STIMER_PERIODIC)) {
		t->config &= ~HV_STIMER_ENABLE;		/* one-shot timers disable themselves */
		t->deadline = 0;
		return;
	}
	/* The next period boundary after now: periods missed in between are skipped, the phase is kept. */
	t->deadline = sat_add(now, period_of(t) - (now - t->deadline) % period_of(t));
}

/* (Re)arm timer idx after its CONFIG or COUNT was written. VP lock held. */
static void arm(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int idx)
{
	struct hv_stimer *t = &p->vps[vp].vtl[vtl].stimer[idx];
	uint64_t now;

	/* Reprogramming cancels the current deadline and any undelivered message. */
	t->deadline = 0;
	t->msg_pending = false;
	if (!(t->config & HV_STIMER_ENABLE) || !t->count)
		return;
	now = hv_reference_time(p);
	if (t->config & HV_STIMER_PERIODIC) {
		t->deadline = sat_add(now, period_of(t));	/* COUNT is the period */
		return;
	}
	t->deadline = t->count;			/* COUNT is an absolute reference time */
	if (t->deadline <= now)
		fire(p, vp, vtl, idx, now);	/* already in the past: expire at once */
}

/* A set SINTx of 0 on an enabled, non-direct timer disables it immediately (SINT0 is for intercepts). */
static uint64_t apply_sint0_rule(uint64_t config)
{
	if ((config & HV_STIMER_ENABLE) && !(config & HV_STIMER_DIRECT) && HV_STIMER_SINT(config) == 0)
		config &= ~HV_STIMER_ENABLE;
	return config;
}

/*
 * A timer now expires at deadline (0: none): ask the host for a call of
 * hv_timer_expired then, unless an earlier one is already asked for.
 */
static void request_expiry(struct hv_partition *p, uint64_t deadline)
{
	if (!deadline)
		return;
	pthread_mutex_lock(&p->timer_lock);
	if (!p->timer_requested || deadline < p->timer_requested) {
		p->timer_requested = deadline;
		p->ops->timer_arm(p->host, deadline);
	}
	pthread_mutex_unlock(&p->timer_lock);
}

bool hv_stimer_msr_read(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t *val)
{
	const struct hv_stimer *t;

	if (!is_timer_msr(msr) || vp >= p->cfg.nr_vps || vtl >= HV_MAX_VTLS)
		return false;
	pthread_mutex_lock(&p->vps[vp].lock);
	t = &p->vps[vp].vtl[vtl].stimer[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2];
	*val = (msr - HV_X64_MSR_STIMER0_CONFIG) % 2 ? t->count : t->config;
	pthread_mutex_unlock(&p->vps[vp].lock);
	return true;
}

bool hv_stimer_msr_write(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t val)
{
	unsigned int idx = (msr - HV_X64_MSR_STIMER0_CONFIG) / 2;
	struct hv_stimer *t;
	uint64_t deadline;

	if (!is_timer_msr(msr) || vp >= p->cfg.nr_vps || vtl >= HV_MAX_VTLS)
		return false;
	if ((msr - HV_X64_MSR_STIMER0_CONFIG) % 2 == 0) {
		if (val & HV_STIMER_RSVDZ)
			return false;
		/* Direct mode only where CPUID 0x40000003 EDX advertises it. */
		if ((val & HV_STIMER_DIRECT) && !(p->features_edx & HV_FEATURE_DIRECT_SYNTHETIC_TIMERS))
			return false;
	}

	pthread_mutex_lock(&p->vps[vp].lock);
	t = &p->vps[vp].vtl[vtl].stimer[idx];
	if ((msr - HV_X64_MSR_STIMER0_CONFIG) % 2 == 0) {
		t->config = apply_sint0_rule(val);	/* Lazy is kept but ignored: kvsm is always on time */
	} else {
		t->count = val;
		if (!val)
			t->config &= ~HV_STIMER_ENABLE;		/* COUNT 0 stops the timer */
		else if (t->config & HV_STIMER_AUTO_ENABLE)
			t->config = apply_sint0_rule(t->config | HV_STIMER_ENABLE);
	}
	arm(p, vp, vtl, idx);
	deadline = t->deadline;
	pthread_mutex_unlock(&p->vps[vp].lock);
	request_expiry(p, deadline);
	return true;
}

void hv_stimer_redeliver_locked(struct hv_partition *p, unsigned int vp, unsigned int vtl)
{
	struct hv_stimer *timers = p->vps[vp].vtl[vtl].stimer;
	uint64_t now = 0;

	for (unsigned int i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
		if (!timers[i].msg_pending)
			continue;
		if (!now)
			now = hv_reference_time(p);
		if (send_timer_msg(p, vp, vtl, i, timers[i].pending_expiration, now))
			timers[i].msg_pending = false;
	}
}

uint64_t hv_stimer_run_expired(struct hv_partition *p, uint64_t now)
{
	uint64_t next = 0;

	for (unsigned int vp = 0; vp < p->cfg.nr_vps; vp++) {
		pthread_mutex_lock(&p->vps[vp].lock);
		for (unsigned int vtl = 0; vtl < HV_MAX_VTLS; vtl++) {
			for (unsigned int i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
				struct hv_stimer *t = &p->vps[vp].vtl[vtl].stimer[i];

				if (t->deadline && t->deadline <= now)
					fire(p, vp, vtl, i, now);
				if (t->deadline && (!next || t->deadline < next))
					next = t->deadline;
			}
		}
		pthread_mutex_unlock(&p->vps[vp].lock);
	}
	return next;
}

void hv_timer_expired(struct hv_partition *p)
{
	uint64_t next;

	pthread_mutex_lock(&p->timer_lock);
	p->timer_requested = 0;
	next = hv_stimer_run_expired(p, hv_reference_time(p));
	if (next) {
		p->timer_requested = next;
		p->ops->timer_arm(p->host, next);
	}
	pthread_mutex_unlock(&p->timer_lock);
}

bool hv_vp_timer_armed(struct hv_partition *p, unsigned int vp, unsigned int vtl)
{
	bool armed = false;

	pthread_mutex_lock(&p->vps[vp].lock);
	for (unsigned int i = 0; i < HV_SYNIC_STIMER_COUNT; i++)
		armed |= p->vps[vp].vtl[vtl].stimer[i].deadline != 0 || p->vps[vp].vtl[vtl].stimer[i].msg_pending;
	pthread_mutex_unlock(&p->vps[vp].lock);
	return armed;
}
