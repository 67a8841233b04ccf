/*
 * A user-space local APIC (Intel SDM vol. 3, chapter 11) for the VTLs whose
 * KVM VM has no in-kernel irqchip (VTL1, VTL2): xAPIC MMIO, x2APIC MSRs,
 * IA32_APIC_BASE, the APIC timer (one-shot, periodic, TSC-deadline), IPIs,
 * priorities and the ESR. Pure C, no KVM: the VMM feeds it exits and asks it
 * which vector to inject with KVM_INTERRUPT.
 *
 * Threads: one vCPU thread owns an APIC (register access, pending/ack, timer
 * expiry, CR8 sync); any thread may call lapic_accept_*(), lapic_match_dest()
 * and lapic_icr_match()/lapic_icr_deliver(). Each APIC has one mutex, taken by
 * every entry point and never held across another APIC's.
 *
 * Callbacks: now_ns() and tsc() are called WITH the APIC's lock held and must
 * not call back into any APIC. send_ipi() and notify() are called after the
 * lock is dropped, on the thread whose call caused them, and may call any
 * lapic_*() function (including on the source APIC).
 */
#ifndef KVSM_LAPIC_H
#define KVSM_LAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define LAPIC_DEFAULT_BASE	0xfee00000ull
#define LAPIC_PAGE_SIZE		0x1000u

/* MSRs routed to the APIC (every MSR in [LAPIC_MSR_X2APIC_FIRST, LAPIC_MSR_X2APIC_LAST] too). */
#define LAPIC_MSR_APIC_BASE	0x01b
#define LAPIC_MSR_TSC_DEADLINE	0x6e0
#define LAPIC_MSR_X2APIC_FIRST	0x800
#define LAPIC_MSR_X2APIC_LAST	0x8ff

/* IA32_APIC_BASE (SDM 11.4.4, Figure 11-5; EXTD in 11.12.1). */
#define LAPIC_BASE_BSP		(1ull << 8)
#define LAPIC_BASE_EXTD		(1ull << 10)
#define LAPIC_BASE_EN		(1ull << 11)

/* ESR bits (SDM 11.5.3, Figure 11-9). */
#define LAPIC_ESR_SEND_ILLEGAL_VECTOR	(1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL_VECTOR	(1u << 6)
#define LAPIC_ESR_ILLEGAL_REG		(1u << 7)

/* ICR fields (SDM 11.6.1, Figure 11-12; x2APIC: 11.12.9, Figure 11-28). */
#define LAPIC_ICR_VECTOR(icr)	((uint8_t)(icr))
#define LAPIC_ICR_DM(icr)	(((uint32_t)(icr) >> 8) & 7)
#define LAPIC_ICR_LOGICAL	(1u << 11)
#define LAPIC_ICR_LEVEL_ASSERT	(1u << 14)
#define LAPIC_ICR_TRIGGER_LEVEL	(1u << 15)
enum lapic_dm {
	LAPIC_DM_FIXED = 0, LAPIC_DM_LOWEST = 1, LAPIC_DM_SMI = 2, LAPIC_DM_NMI = 4,
	LAPIC_DM_INIT = 5, LAPIC_DM_STARTUP = 6, LAPIC_DM_EXTINT = 7,
};
enum lapic_shorthand {
	LAPIC_SH_NONE = 0, LAPIC_SH_SELF = 1, LAPIC_SH_ALL = 2, LAPIC_SH_ALL_BUT_SELF = 3,
};

enum lapic_mode { LAPIC_MODE_DISABLED, LAPIC_MODE_XAPIC, LAPIC_MODE_X2APIC };

/* LVT entries in register order (0x320 + 0x10 * i); CMCI is not implemented (max LVT 5). */
enum { LAPIC_LVT_TIMER, LAPIC_LVT_THERMAL, LAPIC_LVT_PMC, LAPIC_LVT_LINT0, LAPIC_LVT_LINT1,
       LAPIC_LVT_ERROR, LAPIC_NR_LVT };

struct lapic;

struct lapic_ops {
	uint64_t (*now_ns)(void *ctx);		/* monotonic host time; required */
	uint64_t (*tsc)(void *ctx);		/* guest TSC now */
	uint64_t tsc_hz;			/* guest TSC frequency; tsc NULL or tsc_hz 0: IA32_TSC_DEADLINE ignored */
	uint64_t bus_hz;			/* APIC timer clock before the divider; 0: 1 GHz like KVM */
	/* Shortest interval between periodic timer interrupts; 0: 200 us like KVM (min_timer_period_us) */
	uint64_t min_periodic_ns;
	unsigned int phys_bits;			/* guest MAXPHYADDR for IA32_APIC_BASE; 0: 52 */
	/*
	 * An IPI this APIC sends (an ICR write that passed the illegal-vector
	 * check). x2apic: the ICR is in x2APIC format (destination in bits
	 * 63:32), else in xAPIC format (bits 63:56). The VMM delivers it to every
	 * APIC of the VTL for which lapic_icr_match() holds, with
	 * lapic_icr_deliver(); for lowest-priority delivery to one of them.
	 */
	void (*send_ipi)(void *ctx, struct lapic *src, uint64_t icr, bool x2apic);
	/*
	 * Something may have become deliverable (IRR, NMI, INIT, SIPI), or the
	 * timer deadline changed: kick the vCPU / re-arm its host timer.
	 * Spurious calls happen; may be NULL.
	 */
	void (*notify)(void *ctx, struct lapic *apic);
};

/* Internal state: use the functions below. Everything after lock is guarded by it. */
struct lapic {
	pthread_mutex_t lock;
	const struct lapic_ops *ops;
	void *ctx;

	uint64_t apic_base;			/* IA32_APIC_BASE */
	uint32_t id;				/* x2APIC ID (initial APIC ID), read-only */
	uint8_t xapic_id;			/* xAPIC ID register bits 31:24 (writable) */
	uint8_t tpr;
	uint32_t ldr, dfr, svr;
	uint32_t esr;				/* errors latched by the last ESR write */
	uint32_t esr_pending;			/* errors detected since */
	uint64_t icr;				/* xAPIC: high register in bits 63:32 */
	uint32_t lvt[LAPIC_NR_LVT];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t auto_eoi[8];			/* IRR bits that skip the ISR when acknowledged */

	uint32_t tmict, dcr;
	bool timer_armed;			/* one-shot/periodic counting, or a TSC deadline armed */
	uint64_t timer_base_ns;			/* time origin of timer_start */
	int64_t timer_start;			/* bus cycles after timer_base_ns: the current period began */
	uint64_t timer_deadline_ns;		/* 0 when not armed */
	uint64_t tsc_deadline;			/* IA32_TSC_DEADLINE, 0 = disarmed */

	bool nmi_pending, init_pending, sipi_pending;
	uint8_t sipi_vector;

	/* Work for after the unlock (see "Callbacks" above). */
	bool fx_notify, fx_send;
	bool fx_send_x2apic;
	uint64_t fx_icr;
};

/* Power-up reset (SDM 11.4.7.1); IA32_APIC_BASE = 0xFEE00900 for the BSP, 0xFEE00800 otherwise. */
void lapic_init(struct lapic *a, uint32_t apic_id, bool bsp, const struct lapic_ops *ops, void *ctx);
void lapic_destroy(struct lapic *a);
/* INIT reset (SDM 11.4.7.3, 11.12.5.1): registers as at power-up except the IDs and IA32_APIC_BASE. */
void lapic_init_reset(struct lapic *a);

enum lapic_mode lapic_mode(struct lapic *a);
/* The xAPIC MMIO page's address; false when it is not decoded (globally disabled or x2APIC mode). */
bool lapic_mmio_base(struct lapic *a, uint64_t *base);

/*
 * xAPIC MMIO at offset off of the page. Only 32-bit accesses at 16-byte
 * aligned offsets are defined (SDM 11.4.1); other sizes and alignments read 0
 * and ignore writes. Unassigned registers set ESR "illegal register address".
 * Called while the page is not decoded: reads all-ones, writes are ignored.
 */
uint32_t lapic_mmio_read(struct lapic *a, uint32_t off, unsigned int size);
void lapic_mmio_write(struct lapic *a, uint32_t off, unsigned int size, uint32_t val);
/*
 * IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs. false means #GP
 * (SDM 11.12.1.2 Table 11-6, 11.12.1.3, 11.12.2, 11.12.5).
 */
bool lapic_msr_read(struct lapic *a, uint32_t msr, uint64_t *val);
bool lapic_msr_write(struct lapic *a, uint32_t msr, uint64_t val);

/*
 * A fixed interrupt arrives (IPI, MSI, SynIC, ...). level sets the vector's
 * TMR bit (edge clears it). auto_eoi: acknowledging it will not set the ISR
 * bit (Hyper-V SynIC AutoEOI); the last arrival of a pending vector decides.
 * Dropped while the APIC is disabled (globally or by software); a vector
 * below 16 sets ESR "receive illegal vector" instead.
 */
void lapic_accept_irq(struct lapic *a, uint8_t vector, bool level, bool auto_eoi);
/* NMI, INIT, SIPI arrivals: recorded for the VMM (dropped while globally disabled). */
void lapic_accept_nmi(struct lapic *a);
void lapic_accept_init(struct lapic *a);	/* also forgets an older pending SIPI */
void lapic_accept_sipi(struct lapic *a, uint8_t vector);
/* Take a recorded event (vCPU thread). On INIT the VMM resets the vCPU and calls lapic_init_reset(). */
bool lapic_take_nmi(struct lapic *a);
bool lapic_take_init(struct lapic *a);
bool lapic_take_sipi(struct lapic *a, uint8_t *vector);
/* Peek (any thread): is an NMI waiting to be taken? */
bool lapic_nmi_pending(struct lapic *a);

/* Highest IRR vector whose priority class is above PPR[7:4] (SDM 11.8.4), or -1. Ignores RFLAGS.IF. */
int lapic_pending_vector(struct lapic *a);
/* The vCPU took vector (it must be pending): IRR -> ISR, or just cleared for AutoEOI. */
void lapic_ack(struct lapic *a, uint8_t vector);

/* CR8 <-> TPR (SDM 11.8.6.1: CR8[3:0] = TPR[7:4]). */
uint8_t lapic_get_tpr(struct lapic *a);
void lapic_set_tpr(struct lapic *a, uint8_t tpr);
uint64_t lapic_get_cr8(struct lapic *a);
/* A CR8 value seen after an exit: changes TPR only if TPR[7:4] differs (keeps TPR[3:0] otherwise). */
void lapic_set_cr8(struct lapic *a, uint64_t cr8);

/*
 * now_ns() time at which lapic_timer_expired() is due, or 0 when no timer is
 * armed or its LVT is masked (a masked expiry raises nothing and is caught up
 * when the LVT or the count is read or written).
 */
uint64_t lapic_timer_deadline(struct lapic *a);
/* Fire the timer if due (an early call does nothing): IRR unless masked; periodic re-arms. */
void lapic_timer_expired(struct lapic *a);

/*
 * Does APIC a take destination dest (SDM 11.6.2)? physical or logical;
 * x2apic_format: a 32-bit x2APIC destination (broadcast 0xFFFFFFFF, logical
 * cluster << 16 | bits), else an 8-bit xAPIC one (broadcast 0xFF; logical by
 * a's DFR model, flat or cluster). A disabled APIC takes nothing.
 */
bool lapic_match_dest(struct lapic *a, uint32_t dest, bool logical, bool x2apic_format);
enum lapic_shorthand lapic_icr_shorthand(uint64_t icr);
uint32_t lapic_icr_dest(uint64_t icr, bool x2apic_format);
/* Is dst a target of the ICR src sent (shorthand, then lapic_match_dest)? */
bool lapic_icr_match(struct lapic *dst, const struct lapic *src, uint64_t icr, bool x2apic_format);
/* Apply an IPI's delivery mode to dst: fixed/lowest, NMI, INIT, SIPI (SMI, ExtINT, INIT de-assert: ignored). */
void lapic_icr_deliver(struct lapic *dst, uint64_t icr);

#endif
