/*
 * Synthetic interrupt controller (TLFS 11, spec sections 5.1-5.3), one per
 * (VP, VTL): the SynIC MSRs, message delivery through the SIMP page with
 * per-SINT queues, and event flags in the SIEFP page.
 *
 * Locking: p->vps[vp].lock guards the SynIC and timer state of every VTL of
 * that VP. The MSR handlers and the post/signal entry points take it
 * themselves, so their callers must not hold it. ops->raise_irq is called
 * with it held; it only injects an interrupt and must not call back into
 * libkvsm.
 *
 * The SIMP and SIEFP pages are guest RAM that the guest writes concurrently
 * (it clears MessageType and event flags on other CPUs), so the fields the
 * two sides hand over are accessed with atomics.
 */
#include "hv_internal.h"

#include <stddef.h>
#include <string.h>

/* SINTx bits the guest may change; the rest (15:8, 63:19) are RsvdP. */
#define SINT_WRITABLE (HV_SINT_VECTOR_MASK | HV_SINT_MASKED | HV_SINT_AUTO_EOI | HV_SINT_POLLING)
#define FIRST_VALID_VECTOR 16
#define PAGE_GPA(msr) ((msr) & ~(uint64_t)(HV_PAGE_SIZE - 1))

void hv_synic_init(struct hv_synic *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < HV_SYNIC_SINT_COUNT; i++)
		s->sint[i] = HV_SINT_MASKED;
}

static struct hv_synic *synic_of(struct hv_partition *p, unsigned int vp, unsigned int vtl)
{
	return &p->vps[vp].vtl[vtl].synic;
}

static bool valid_target(const struct hv_partition *p, unsigned int vp, unsigned int vtl)
{
	return vp < p->cfg.nr_vps && vtl < HV_MAX_VTLS;
}

/*
 * Interrupt for SINT sint after a message or flag arrived. A masked SINT
 * gets none. Polling means the guest looks at the pages itself: treated as
 * unmasked, but no interrupt. AutoEOI asks the host to deliver the vector
 * without leaving it in service (CPUID 0x40000004 bit 9 still recommends
 * against AutoEOI, as Hyper-V does).
 */
void hv_synic_raise_sint(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint64_t sint)
{
	if (sint & (HV_SINT_MASKED | HV_SINT_POLLING))
		return;
	hv_raise_irq(p, vp, vtl, (uint8_t)(sint & HV_SINT_VECTOR_MASK), sint & HV_SINT_AUTO_EOI);
}

/* SIMP and SIEFP are overlay pages, zeroed when enabled or moved; a GPFN that is not RAM leaves them inaccessible. */
static void move_page(struct hv_partition *p, unsigned int vtl, uint64_t old, uint64_t val)
{
	if (hv_overlay_update(p, vtl, old, val))
		hv_guest_zero_page(p, vtl, PAGE_GPA(val));
}

uint16_t hv_synic_place_message_locked(struct hv_partition *p, unsigned int vp, unsigned int vtl,
				       unsigned int sint, const struct hv_message *msg)
{
	struct hv_synic *s = synic_of(p, vp, vtl);
	uint64_t slot = PAGE_GPA(s->simp) + sint * HV_MESSAGE_SIZE;
	uint32_t type;
	uint8_t old;

	if (!(s->scontrol & 1) || !(s->simp & HV_MSR_PAGE_ENABLE))
		return HV_STATUS_INVALID_SYNIC_STATE;
	if (!hv_guest_load32(p, vtl, slot + offsetof(struct hv_message, message_type), &type))
		return HV_STATUS_INVALID_SYNIC_STATE;	/* the SIMP is not RAM */

	if (type != HVMSG_NONE) {
		/*
		 * Busy: set MessagePending first, then look at MessageType
		 * again. The guest clears MessageType, then (after a full
		 * barrier) reads MessagePending; in this order one of the two
		 * sides always sees the other's write, so a message never
		 * waits for an EOM that the guest will not send.
		 */
		hv_guest_fetch_or8(p, vtl, slot + offsetof(struct hv_message, message_flags), HV_MESSAGE_FLAG_PENDING,
				   &old);
		if (!hv_guest_load32(p, vtl, slot + offsetof(struct hv_message, message_type), &type) ||
		    type != HVMSG_NONE)
			return HV_STATUS_INSUFFICIENT_BUFFERS;
	}

	/* The slot is ours until MessageType becomes non-zero: fill the rest, then publish. */
	hv_write_guest(p, vtl, slot + offsetof(struct hv_message, payload_size), &msg->payload_size,
		       HV_MESSAGE_SIZE - offsetof(struct hv_message, payload_size));
	hv_guest_store32(p, vtl, slot + offsetof(struct hv_message, message_type), msg->message_type);

	hv_synic_raise_sint(p, vp, vtl, s->sint[sint]);
	return HV_STATUS_SUCCESS;
}

void hv_synic_redeliver_locked(struct hv_partition *p, unsigned int vp, unsigned int vtl)
{
	struct hv_synic *s = synic_of(p, vp, vtl);

	if (!(s->scontrol & 1) || !(s->simp & HV_MSR_PAGE_ENABLE))
		return;		/* everything stays queued until the SynIC is usable again */

	/* Timer messages first: they carry a DeliveryTime, so lateness shows. */
	hv_stimer_redeliver_locked(p, vp, vtl);

	for (unsigned int i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		struct hv_msg_queue *q = &s->queue[i];

		/* A failed attempt on a busy slot sets MessagePending there, so the guest will EOM. */
		while (q->count) {
			if (hv_synic_place_message_locked(p, vp, vtl, i, &q->msgs[q->head]) != HV_STATUS_SUCCESS)
				break;
			q->head = (q->head + 1) % HV_MSG_QUEUE_LEN;
			q->count--;
		}
	}
}

uint16_t hv_synic_post_message(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int sint,
			       const struct hv_message *msg)
{
	struct hv_message m;
	struct hv_synic *s;
	struct hv_msg_queue *q;
	uint16_t st = HV_STATUS_SUCCESS;

	if (!valid_target(p, vp, vtl))
		return HV_STATUS_INVALID_VP_INDEX;
	if (sint >= HV_SYNIC_SINT_COUNT || msg->payload_size > HV_MESSAGE_PAYLOAD_BYTES)
		return HV_STATUS_INVALID_PARAMETER;

	/* Bytes past PayloadSize are zero, so the guest never sees stale data in the slot. */
	memset(&m, 0, sizeof(m));
	m.message_type = msg->message_type;
	m.payload_size = msg->payload_size;
	m.origination_id = msg->origination_id;
	memcpy(m.payload, msg->payload, msg->payload_size);

	pthread_mutex_lock(&p->vps[vp].lock);
	s = synic_of(p, vp, vtl);
	q = &s->queue[sint];
	if (!(s->scontrol & 1) || !(s->simp & HV_MSR_PAGE_ENABLE)) {
		st = HV_STATUS_INVALID_SYNIC_STATE;
		goto out;
	}

	/* A new message is a redelivery trigger; draining older ones first also keeps the order. */
	hv_synic_redeliver_locked(p, vp, vtl);
	if (!q->count) {
		st = hv_synic_place_message_locked(p, vp, vtl, sint, &m);
		if (st != HV_STATUS_INSUFFICIENT_BUFFERS)
			goto out;	/* delivered, or the SIMP page is not accessible */
	}
	if (q->count == HV_MSG_QUEUE_LEN) {
		st = HV_STATUS_INSUFFICIENT_BUFFERS;
		goto out;
	}
	q->msgs[(q->head + q->count) % HV_MSG_QUEUE_LEN] = m;
	q->count++;
	st = HV_STATUS_SUCCESS;
out:
	pthread_mutex_unlock(&p->vps[vp].lock);
	return st;
}

uint16_t hv_synic_signal_event(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int sint,
			       unsigned int flag)
{
	struct hv_synic *s;
	uint8_t old, bit;
	uint16_t st = HV_STATUS_SUCCESS;

	if (!valid_target(p, vp, vtl))
		return HV_STATUS_INVALID_VP_INDEX;
	if (sint >= HV_SYNIC_SINT_COUNT || flag >= HV_EVENT_FLAGS_PER_SINT)
		return HV_STATUS_INVALID_PARAMETER;

	pthread_mutex_lock(&p->vps[vp].lock);
	s = synic_of(p, vp, vtl);
	if (!(s->scontrol & 1) || !(s->siefp & HV_MSR_PAGE_ENABLE) || (s->sint[sint] & HV_SINT_MASKED)) {
		st = HV_STATUS_INVALID_SYNIC_STATE;
		goto out;
	}
	/* SIEFP = uint8 flags[16][256]: flag n of SINT x is bit n % 8 of byte x * 256 + n / 8. */
	bit = (uint8_t)(1u << (flag % 8));
	if (!hv_guest_fetch_or8(p, vtl, PAGE_GPA(s->siefp) + sint * (HV_PAGE_SIZE / HV_SYNIC_SINT_COUNT) + flag / 8,
				bit, &old)) {
		st = HV_STATUS_INVALID_SYNIC_STATE;	/* the SIEFP is not RAM */
		goto out;
	}
	if (!(old & bit))
		hv_synic_raise_sint(p, vp, vtl, s->sint[sint]);	/* only a 0 -> 1 transition interrupts */
out:
	pthread_mutex_unlock(&p->vps[vp].lock);
	return st;
}

bool hv_synic_msr_read(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t *val)
{
	struct hv_synic *s;
	bool ok = true;

	if (!valid_target(p, vp, vtl))
		return false;
	pthread_mutex_lock(&p->vps[vp].lock);
	s = synic_of(p, vp, vtl);
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		*val = s->scontrol;
		break;
	case HV_X64_MSR_SVERSION:
		*val = HV_SYNIC_VERSION;
		break;
	case HV_X64_MSR_SIEFP:
		*val = s->siefp;
		break;
	case HV_X64_MSR_SIMP:
		*val = s->simp;
		break;
	case HV_X64_MSR_EOM:
		*val = 0;	/* write-only trigger */
		break;
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		*val = s->sint[msr - HV_X64_MSR_SINT0];
		break;
	default:
		/* SIRBP included: not implemented, so it #GPs like an absent MSR. */
		ok = false;
		break;
	}
	pthread_mutex_unlock(&p->vps[vp].lock);
	return ok;
}

bool hv_synic_msr_write(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t val)
{
	struct hv_synic *s;
	uint64_t *sint;
	bool ok = true;

	if (!valid_target(p, vp, vtl))
		return false;
	pthread_mutex_lock(&p->vps[vp].lock);
	s = synic_of(p, vp, vtl);
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		s->scontrol = (s->scontrol & ~1ull) | (val & 1);	/* 63:1 RsvdP */
		break;
	case HV_X64_MSR_SIEFP:
		val = (val & ~HV_MSR_PAGE_RSVDP) | (s->siefp & HV_MSR_PAGE_RSVDP);
		move_page(p, vtl, s->siefp, val);
		s->siefp = val;
		break;
	case HV_X64_MSR_SIMP:
		val = (val & ~HV_MSR_PAGE_RSVDP) | (s->simp & HV_MSR_PAGE_RSVDP);
		move_page(p, vtl, s->simp, val);
		s->simp = val;
		break;
	case HV_X64_MSR_EOM:
		break;		/* the redelivery below is all EOM does */
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		/* Vectors 0-15 are invalid, but a masked SINT may hold one (reset value 0x10000). */
		if (!(val & HV_SINT_MASKED) && (val & HV_SINT_VECTOR_MASK) < FIRST_VALID_VECTOR) {
			ok = false;
			break;
		}
		sint = &s->sint[msr - HV_X64_MSR_SINT0];
		*sint = (*sint & ~SINT_WRITABLE) | (val & SINT_WRITABLE);
		break;
	default:
		/*
		 * SVERSION is read-only. SIRBP (the SynIC interrupt-redirection
		 * page) is not implemented and the privilege mask does not
		 * offer it, so it #GPs.
		 */
		ok = false;
		break;
	}
	/*
	 * EOM is the guest's redelivery request. Enabling SCONTROL, SIMP or a
	 * SINT can make queued messages deliverable too, so rescan after
	 * every accepted write (cheap: 16 slot checks).
	 */
	if (ok)
		hv_synic_redeliver_locked(p, vp, vtl);
	pthread_mutex_unlock(&p->vps[vp].lock);
	return ok;
}
