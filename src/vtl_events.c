/*
 * The event registers of HvCallGet/SetVpRegisters (PendingInterruption,
 * InterruptState, PendingEvent0) over KVM's kvm_vcpu_events, as pure
 * functions (vtl_regs.h: struct vtl_event_state). Choices where the TLFS is
 * silent:
 *  - PendingInterruption (the event being delivered): an injected exception
 *    is type 3 (hardware exception), or 6 (software exception) for #BP/#OF,
 *    which KVM always injects as software exceptions; an injected interrupt
 *    is type 0, or 4 when KVM marks it soft (INT n); an injected NMI is type 2,
 *    vector 2. Type 6 is required for #BP/#OF and refused for others (KVM
 *    injects exactly those as software exceptions of the instruction at RIP,
 *    and does not report them back after a KVM_RUN). InstructionLength is
 *    reported as 0 and ignored on set (KVM keeps its own); NestedEvent = 1
 *    and type 5 (ICEBP, which KVM cannot represent) are refused. Set with InterruptionPending = 0 cancels the
 *    injected event.
 *  - PendingEvent0 (an exception not yet delivered): only EventType 0
 *    (exception). KVM_CAP_EXCEPTION_PAYLOAD is off in kvsm, so KVM holds one
 *    exception and cannot keep a pending one apart from an injected one: the
 *    exception is written as injected, with events.exception.pending = 1 as
 *    a marker that KVM ignores without KVM_VCPUEVENT_VALID_PAYLOAD. Until the
 *    next KVM_RUN it reads back as PendingEvent0; after it, KVM reports what
 *    it still holds as an injected exception (PendingInterruption). For #PF
 *    ExceptionParameter is written to CR2 now; it must be 0 for other
 *    vectors. #BP/#OF are refused (use PendingInterruption type 6). With
 *    the capability on (KVM_VCPUEVENT_VALID_PAYLOAD in the synced flags) the
 *    exception is KVM-pending with the #PF payload.
 *  - One event at a time: KVM re-injects one event per entry and drops the
 *    others, so a PendingInterruption and a PendingEvent0 exception cannot
 *    coexist (INVALID_PARAMETER on the second). Error codes follow the VMX
 *    rule: DeliverErrorCode must be set exactly for #DF #TS #NP #SS #GP #PF
 *    #AC #CP in protected mode (KVM drops it in real mode itself); ErrorCode
 *    must be 0 without it.
 *  - InterruptShadow = 1 keeps KVM's existing shadow kind, else sets
 *    MOV_SS|STI; an injected external interrupt or NMI cannot be combined
 *    with a shadow, and an injected external interrupt needs RFLAGS.IF = 1
 *    (VM-entry rules). Writing RFLAGS with IF = 0 drops an STI-only shadow.
 */
#include "vtl_regs.h"
#include "kvsm/tlfs.h"
#include "x86/arch.h"

#include <string.h>

#define PI_PENDING	(1ull << 0)
#define PI_DELIVER_EC	(1ull << 4)
#define PI_NESTED	(1ull << 9)
#define PI_RSVD		(0x3full << 10)

#define PE_PENDING	(1ull << 0)
#define PE_DELIVER_EC	(1ull << 8)
#define PE_RSVD		((0xfull << 4) | (0x7full << 9))

/* Exceptions that push an error code (x86_exception_has_error_code()). */
static bool has_error_code(unsigned int vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21;
}

/* An exception KVM accepts and VM entry does not fail on. */
static bool exception_ok(unsigned int vec, bool deliver, uint32_t ec, uint64_t cr0)
{
	if (vec > 31 || vec == 2)
		return false;
	if (!deliver)
		return ec == 0 && !(has_error_code(vec) && (cr0 & CR0_PE));
	return has_error_code(vec);
}

static void clear_exception(struct kvm_vcpu_events *ev)
{
	memset(&ev->exception, 0, sizeof(ev->exception));
	ev->exception_has_payload = 0;
	ev->exception_payload = 0;
}

/* A PendingEvent0 exception: KVM-pending, or our marker on an injected one (see the top comment). */
static bool pe0_present(const struct kvm_vcpu_events *ev)
{
	return ev->exception.pending;
}

static bool pi_exception(const struct kvm_vcpu_events *ev)
{
	return ev->exception.injected && !ev->exception.pending;
}

/* Rules for a changed event state (an unchanged one is left to KVM: it made it). */
static bool events_ok(const struct kvm_vcpu_events *old, const struct kvm_vcpu_events *ev, uint64_t rflags)
{
	unsigned int n = (ev->exception.injected || ev->exception.pending) + !!ev->nmi.injected +
			 !!ev->interrupt.injected;
	uint8_t sh = ev->interrupt.shadow;

	if (!memcmp(old, ev, sizeof(*ev)))
		return true;
	if (n > 1)
		return false;
	if ((ev->exception.injected || ev->exception.pending) && (ev->exception.nr > 31 || ev->exception.nr == 2))
		return false;
	if ((ev->nmi.injected || ev->interrupt.injected) && sh)
		return false;
	if (ev->interrupt.injected && !ev->interrupt.soft && !(rflags & RFLAGS_IF))
		return false;
	if ((sh & KVM_X86_SHADOW_INT_STI) && !(sh & KVM_X86_SHADOW_INT_MOV_SS) && !(rflags & RFLAGS_IF))
		return false;
	return true;
}

uint16_t vtl_regs_events_get(const struct vtl_event_state *st, uint32_t name, uint64_t val[2])
{
	const struct kvm_vcpu_events *ev = &st->ev;

	val[0] = val[1] = 0;
	switch (name) {
	case HV_REGISTER_PENDING_INTERRUPTION:
		if (pi_exception(ev)) {
			unsigned int nr = ev->exception.nr;

			val[0] = PI_PENDING | (uint64_t)(nr == 3 || nr == 4 ? 6 : 3) << 1 | (uint64_t)nr << 16;
			if (ev->exception.has_error_code)
				val[0] |= PI_DELIVER_EC | (uint64_t)ev->exception.error_code << 32;
		} else if (ev->nmi.injected) {
			val[0] = PI_PENDING | 2u << 1 | 2u << 16;
		} else if (ev->interrupt.injected) {
			val[0] = PI_PENDING | (uint64_t)(ev->interrupt.soft ? 4 : 0) << 1 |
				 (uint64_t)ev->interrupt.nr << 16;
		}
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_INTERRUPT_STATE:
		val[0] = (ev->interrupt.shadow ? 1 : 0) | (ev->nmi.masked ? 2 : 0);
		return HV_STATUS_SUCCESS;
	case HV_REGISTER_PENDING_EVENT0:
		if (!pe0_present(ev))
			return HV_STATUS_SUCCESS;
		val[0] = PE_PENDING | (uint64_t)ev->exception.nr << 16;	/* EventType 0: exception */
		if (ev->exception.has_error_code)
			val[0] |= PE_DELIVER_EC | (uint64_t)ev->exception.error_code << 32;
		if (ev->flags & KVM_VCPUEVENT_VALID_PAYLOAD)
			val[1] = ev->exception_has_payload ? ev->exception_payload : 0;
		else
			val[1] = ev->exception.nr == 14 ? st->cr2 : 0;
		return HV_STATUS_SUCCESS;
	case HV_X64_REGISTER_RFLAGS:
		val[0] = st->rflags;
		return HV_STATUS_SUCCESS;
	}
	return HV_STATUS_INVALID_PARAMETER;
}

static uint16_t set_pending_interruption(struct vtl_event_state *st, uint64_t v, struct kvm_vcpu_events *ev)
{
	unsigned int type = (v >> 1) & 7, vec = (v >> 16) & 0xffff;
	bool deliver = v & PI_DELIVER_EC;
	uint32_t ec = (uint32_t)(v >> 32);

	if (v & (PI_RSVD | PI_NESTED))
		return HV_STATUS_INVALID_PARAMETER;
	/* Cancel the event in flight; a PendingEvent0 exception stays. */
	if (pi_exception(ev))
		clear_exception(ev);
	ev->interrupt.injected = 0;
	ev->interrupt.nr = 0;
	ev->interrupt.soft = 0;
	ev->nmi.injected = 0;
	if (!(v & PI_PENDING))
		return HV_STATUS_SUCCESS;
	switch (type) {
	case 0:	/* external interrupt */
	case 4:	/* software interrupt (INT n) */
		if (vec > 255 || deliver || ec)
			return HV_STATUS_INVALID_PARAMETER;
		ev->interrupt.injected = 1;
		ev->interrupt.nr = (uint8_t)vec;
		ev->interrupt.soft = type == 4;
		return HV_STATUS_SUCCESS;
	case 2:	/* NMI */
		if ((vec != 2 && vec != 0) || deliver || ec)
			return HV_STATUS_INVALID_PARAMETER;
		ev->nmi.injected = 1;
		return HV_STATUS_SUCCESS;
	case 3:	/* hardware exception */
	case 6:	/* software exception: KVM injects #BP and #OF as such */
		/* KVM injects #BP and #OF, and only them, as software exceptions of the instruction at RIP. */
		if (!exception_ok(vec, deliver, ec, st->cr0) || (type == 6) != (vec == 3 || vec == 4))
			return HV_STATUS_INVALID_PARAMETER;
		if (pe0_present(ev))
			return HV_STATUS_INVALID_PARAMETER;	/* KVM has one exception slot, PendingEvent0 holds it */
		ev->exception.injected = 1;
		ev->exception.nr = (uint8_t)vec;
		ev->exception.has_error_code = deliver;
		ev->exception.error_code = ec;
		return HV_STATUS_SUCCESS;
	default:	/* 5: privileged software exception (ICEBP); 1, 7: undefined */
		return HV_STATUS_INVALID_PARAMETER;
	}
}

static uint16_t set_pending_event0(struct vtl_event_state *st, const uint64_t val[2], struct kvm_vcpu_events *ev)
{
	uint64_t v = val[0], param = val[1];
	unsigned int vec = (v >> 16) & 0xffff;
	bool deliver = v & PE_DELIVER_EC;
	uint32_t ec = (uint32_t)(v >> 32);

	if (v & PE_RSVD)
		return HV_STATUS_INVALID_PARAMETER;
	if (!(v & PE_PENDING)) {
		if (pe0_present(ev))
			clear_exception(ev);
		return HV_STATUS_SUCCESS;
	}
	if (((v >> 1) & 7) != 0)	/* only HV_X64_PENDING_EVENT_EXCEPTION */
		return HV_STATUS_INVALID_PARAMETER;
	/* #BP/#OF would be a software exception of the instruction at RIP: PendingInterruption type 6. */
	if (!exception_ok(vec, deliver, ec, st->cr0) || vec == 3 || vec == 4 || (param && vec != 14))
		return HV_STATUS_INVALID_PARAMETER;
	if (pi_exception(ev))
		return HV_STATUS_INVALID_PARAMETER;	/* the one exception slot is in use */
	clear_exception(ev);
	ev->exception.pending = 1;
	ev->exception.nr = (uint8_t)vec;
	ev->exception.has_error_code = deliver;
	ev->exception.error_code = ec;
	if (ev->flags & KVM_VCPUEVENT_VALID_PAYLOAD) {
		ev->exception_has_payload = vec == 14;
		ev->exception_payload = vec == 14 ? param : 0;
	} else {
		ev->exception.injected = 1;	/* what KVM will deliver; `pending` is our marker */
		if (vec == 14)
			st->cr2 = param;
	}
	return HV_STATUS_SUCCESS;
}

uint16_t vtl_regs_events_set(struct vtl_event_state *st, uint32_t name, const uint64_t val[2])
{
	struct kvm_vcpu_events ev = st->ev;
	uint64_t rflags = st->rflags, cr2 = st->cr2, v = val[0];
	uint16_t r = HV_STATUS_SUCCESS;

	switch (name) {
	case HV_REGISTER_PENDING_INTERRUPTION:
		r = set_pending_interruption(st, v, &ev);
		break;
	case HV_REGISTER_INTERRUPT_STATE:
		if (v & ~3ull)
			return HV_STATUS_INVALID_PARAMETER;
		if (!(v & 1))
			ev.interrupt.shadow = 0;
		else if (!ev.interrupt.shadow)
			ev.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI;
		ev.nmi.masked = (v >> 1) & 1;
		if (ev.interrupt.shadow != st->ev.interrupt.shadow)
			ev.flags |= KVM_VCPUEVENT_VALID_SHADOW;
		break;
	case HV_REGISTER_PENDING_EVENT0:
		r = set_pending_event0(st, val, &ev);
		break;
	case HV_X64_REGISTER_RFLAGS:
		if (!(v & RFLAGS_FIXED1) || (v & RFLAGS_RSVD))
			return HV_STATUS_INVALID_PARAMETER;
		rflags = v;
		/* With IF = 0 an STI shadow blocks nothing more; VM entry refuses the pair. */
		if (!(v & RFLAGS_IF) && ev.interrupt.shadow == KVM_X86_SHADOW_INT_STI)
			ev.interrupt.shadow = 0;
		if (ev.interrupt.injected && !ev.interrupt.soft && !(v & RFLAGS_IF))
			return HV_STATUS_INVALID_PARAMETER;
		break;
	default:
		return HV_STATUS_INVALID_PARAMETER;
	}
	if (r != HV_STATUS_SUCCESS)
		return r;
	if (!events_ok(&st->ev, &ev, rflags)) {
		st->cr2 = cr2;
		return HV_STATUS_INVALID_PARAMETER;
	}
	st->ev = ev;
	st->rflags = rflags;
	return HV_STATUS_SUCCESS;
}
