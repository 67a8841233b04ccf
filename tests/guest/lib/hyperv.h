/* Hyper-V helpers for guest tests: MSRs with #GP detection, the hypercall page, fast and XMM calls. */
#ifndef GUEST_HYPERV_H
#define GUEST_HYPERV_H

#include "guest.h"
/* The TLFS numbers, shared with kvsm itself (freestanding-safe). */
#include "../../../include/kvsm/tlfs.h"

#define HV_X64_MSR_STIMER0_COUNT	0x400000B1

#define HV_X64_MSR_SINT(n)		(HV_X64_MSR_SINT0 + (n))
#define HV_X64_MSR_STIMER_CONFIG(n)	(HV_X64_MSR_STIMER0_CONFIG + 2 * (n))
#define HV_X64_MSR_STIMER_COUNT(n)	(HV_X64_MSR_STIMER0_COUNT + 2 * (n))


#define HV_STIMER_VECTOR(v)	((uint64_t)(v) << 4)
#define HV_STIMER_CONFIG_SINT(s)	((uint64_t)(s) << 16)


#define HV_GUEST_OS_ID_KVSM_TESTS	0x8100000000000001ull	/* open source, "Linux"-typed, build 1 */

/* HV_STATUS */

#define HV_FAST		(1ull << 16)
#define HV_REP(n)	((uint64_t)(n) << 32)
#define HV_REP_START(n)	((uint64_t)(n) << 48)
#define HV_VARHEAD(n)	((uint64_t)(n) << 17)
#define HV_RESULT_STATUS(r)	((uint16_t)(r))
#define HV_RESULT_REPS(r)	((unsigned int)(((r) >> 32) & 0xfff))

/* RDMSR/WRMSR that report #GP instead of faulting (a #GP handler skips the 2-byte instruction). */
bool rdmsr_safe(uint32_t msr, uint64_t *val);
bool wrmsr_safe(uint32_t msr, uint64_t val);

/* Set GUEST_OS_ID and enable a hypercall page; returns the page. */
void *hv_enable_hypercalls(void);
extern void *hv_hypercall_page;
void *hv_current_hypercall_page(void);
uint64_t hv_hypercall(uint64_t control, uint64_t in_gpa, uint64_t out_gpa);
/* Fast call: input in RDX/R8 and, with xmm_in, XMM0-5 (96 bytes); XMM0-5 copied back to xmm_out. */
uint64_t hv_hypercall_xmm(uint64_t control, uint64_t rdx, uint64_t r8, const void *xmm_in, void *xmm_out);
/* Call a hypercall-page thunk (e.g. VTL call/return) with RCX; a #UD is recorded, not fatal. */
uint64_t hv_call_thunk(void *thunk, uint64_t rcx);
/* Whether the last hypercall faulted with #UD. */
extern volatile bool hv_hypercall_ud;

/* ---- SynIC (TLFS 11): message slots, PostMessage input, the hyperv-testdev port ---- */

struct hv_timer_payload {
	uint32_t timer_index, reserved;
	uint64_t expiration_time, delivery_time;
};

struct hv_post_message_input {
	uint32_t connection_id, reserved, message_type, payload_size;
	uint8_t payload[240];
};

/* Enable the calling VP's SIMP and SIEFP at the given pages, then SCONTROL. */
void hv_synic_enable(void *simp, void *siefp);
/* Free a SIMP slot the guest has read: MessageType cleared, then EOM if a message waits for it. */
void hv_message_free(struct hv_message *m);

/*
 * kvsm's QEMU-compatible hyperv-testdev (--testdev): a 32-bit write to port
 * 0x3000. ctl: 1/2/3 SINT route create/destroy/assert, 4/5 message
 * connection create/destroy, 6/7 event connection create/destroy.
 */
#define TESTDEV_PORT		0x3000
enum { TD_ROUTE_CREATE = 1, TD_ROUTE_DESTROY, TD_ROUTE_ASSERT, TD_MSG_CONN_CREATE, TD_MSG_CONN_DESTROY,
       TD_EVT_CONN_CREATE, TD_EVT_CONN_DESTROY };
static inline void hv_testdev(unsigned int conn_id, unsigned int ctl, unsigned int vp, unsigned int sint)
{
	outl(TESTDEV_PORT, conn_id << 24 | ctl << 16 | vp << 8 | sint);
}

/* ---- time ---- */
static inline uint64_t hv_ref_time(void) { return rdmsr(HV_X64_MSR_TIME_REF_COUNT); }

/*
 * Wait with sti; hlt until cond holds or timeout_us (reference time) passed;
 * returns cond. cond is evaluated with interrupts off, so an interrupt that
 * makes it true cannot slip in between the check and the hlt. A 1 ms local
 * APIC tick bounds each hlt. Returns with interrupts disabled.
 */
#define WAIT_UNTIL(cond, timeout_us) ({						\
	uint64_t _end = hv_ref_time() + (uint64_t)(timeout_us) * 10;		\
	bool _ok;								\
	tick_start(1000);							\
	for (;;) {								\
		cli();								\
		if ((_ok = (cond)) || hv_ref_time() >= _end)			\
			break;							\
		sti_hlt();							\
	}									\
	tick_stop();								\
	_ok;									\
})
/*
 * Spin until cond or timeout_us (reference time) passed; returns cond.
 * Interrupts are let in between two looks (sti; pause; cli), so handlers run,
 * but no APIC tick is needed: usable in any VTL, and while the APIC timer is
 * under test. Returns with interrupts disabled.
 */
#define SPIN_UNTIL(cond, timeout_us) ({						\
	uint64_t _end = hv_ref_time() + (uint64_t)(timeout_us) * 10;		\
	bool _ok;								\
	for (;;) {								\
		cli();								\
		if ((_ok = (cond)) || hv_ref_time() >= _end)			\
			break;							\
		sti();								\
		pause();							\
	}									\
	_ok;									\
})
/* Sleep (interrupts enabled, handlers run) for us microseconds. */
#define delay_us(us) ((void)WAIT_UNTIL(false, (us)))

#endif
