/* The Hyper-V core's internal state, shared by the files of src/hv/. */
#ifndef KVSM_HV_INTERNAL_H
#define KVSM_HV_INTERNAL_H

#include "kvsm/hv.h"
#include "tlfs.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HV_PAGE_SIZE 4096u
#define HV_MSG_QUEUE_LEN 16		/* guest message buffers per (VP, SINT), TLFS 11.x */
#define HV_MAX_CONNECTIONS 64

/* Messages waiting for their SIMP slot to be free. */
struct hv_msg_queue {
	struct hv_message msgs[HV_MSG_QUEUE_LEN];
	unsigned int head, count;
};

struct hv_synic {
	uint64_t scontrol, siefp, simp;
	uint64_t sint[HV_SYNIC_SINT_COUNT];
	struct hv_msg_queue queue[HV_SYNIC_SINT_COUNT];
};

struct hv_stimer {
	uint64_t config, count;
	uint64_t deadline;		/* reference time (100 ns) of the next expiry; 0 = not armed */
	bool msg_pending;		/* the expiry message waits for its slot (one buffer per timer) */
	uint64_t pending_expiration;	/* ExpirationTime of that message */
};

/* Hyper-V state a VP holds once per VTL (TLFS "private" synthetic MSRs). */
struct hv_vp_vtl {
	uint64_t vp_assist;
	struct hv_synic synic;
	struct hv_stimer stimer[HV_SYNIC_STIMER_COUNT];
};

/*
 * A VP's VSM state (TLFS chapter 15). Legend: [init] set by
 * hv_partition_create; [P] written under the partition's partition_lock;
 * [A] atomic, read from any thread; [T] the VP's own thread.
 */
struct hv_vsm_vp {
	unsigned int enabled_vtls;	/* [P, A] bit n: VTL n enabled on this VP (VTL0 always) */
	unsigned int enabling_vtls;	/* [P] HvCallEnableVpVtl in progress */
	unsigned int active_vtl;	/* [T, A] the VTL the VP runs: written only by hv_vtl_entered */
	/*
	 * [T] the VTL each VTL was last entered from by a call, an interrupt or
	 * an intercept, where its VtlReturn goes (itself: not known, after a VP
	 * start there or before any entry; the next lower VTL then).
	 */
	uint8_t entered_from[HV_MAX_VTLS];
	uint64_t vina[HV_MAX_VTLS];	/* [A] HvRegisterVsmVina of each VTL */
	/*
	 * [T, A] TLB locks (tlb_lock.c), bit m * HV_MAX_VTLS + n: VTL m holds the
	 * VP's TLB lock for VTL n (HvRegisterVsmVpSecureConfigVtlN.TlbLocked, its
	 * only bit kvsm accepts).
	 */
	unsigned int tlb_locks;
	/*
	 * [A] HvX64RegisterCrInterceptControl and its masks (CR0, CR4,
	 * IA32_MISC_ENABLE) held by VTL n >= 1 for VTL n - 1 (intercept_reg.c).
	 */
	uint64_t cr_intercept[HV_MAX_VTLS][4];
};

/* One VP. Legend as for hv_vsm_vp, plus [L]: under this VP's lock. */
struct hv_vp {
	struct hv_partition *p;		/* [init] */
	unsigned int index;		/* [init] */
	struct hv_vsm_vp vsm;		/* per field, see above */
	/* Guards synic and stimer state of every VTL: other VPs and the timer thread deliver here. */
	pthread_mutex_t lock;
	struct hv_vp_vtl vtl[HV_MAX_VTLS];	/* [L]; vp_assist written by the VP's own thread */
	/* Hypercall buffers: only this VP's own thread uses them. */
	uint8_t hc_in[HV_PAGE_SIZE] __attribute__((aligned(16)));
	uint8_t hc_out[HV_PAGE_SIZE] __attribute__((aligned(16)));
};

/* A SynIC connection created by the VMM: messages or events for conn_id go to (vp, vtl, sint). */
struct hv_connection {
	bool used, event;
	uint32_t id;
	unsigned int vp, vtl, sint;
	unsigned int flag_base, flag_count;	/* events: FlagNumber n sets flag flag_base + n, n < flag_count */
};

/*
 * The partition. Legend: [init] set by hv_partition_create, read-only after;
 * [P] under partition_lock; [C] under conn_lock; [TL] under timer_lock;
 * [A] atomic.
 */
struct hv_partition {
	struct hv_config cfg;			/* [init] */
	const struct hv_host_ops *ops;		/* [init] */
	void *host;				/* [init] */
	uint64_t privileges;		/* [init] HV_PARTITION_PRIVILEGE_MASK */
	uint32_t features_edx;		/* [init] CPUID 0x40000003 EDX */
	uint32_t recommendations;	/* [init] CPUID 0x40000004 EAX */

	/* [init] Reference time = ((guest TSC * tsc_scale) >> 64) + tsc_offset, in 100 ns units (TLFS 12.7). */
	uint64_t tsc_scale;
	int64_t tsc_offset;

	/* Guards the partition-wide MSRs and the VSM partition state below, and enabling_vtls. */
	pthread_mutex_t partition_lock;
	/* [P] Partition-wide MSRs, one instance per VTL (TLFS 15.x: private under VSM). */
	struct {
		uint64_t guest_os_id;
		uint64_t hypercall;
		uint64_t reference_tsc;
	} vtl[HV_MAX_VTLS];

	/* [P] VSM partition state (vsm.c); written under the lock, single bits tested without it. */
	unsigned int enabled_vtls;	/* HvRegisterVsmPartitionStatus.EnabledVtlSet */
	unsigned int vtl_enabled_on_a_vp;	/* bit n: some VP has VTL n enabled */
	uint64_t partition_config[HV_MAX_VTLS];	/* HvRegisterVsmPartitionConfig of VTL n >= 1 */

	pthread_mutex_t conn_lock;
	struct hv_connection conns[HV_MAX_CONNECTIONS];	/* [C] */

	/* Synthetic timer thread (stimer.c). */
	pthread_t timer_thread;			/* [init] */
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cond;
	bool timer_stop, timer_started;		/* [TL] */

	struct hv_vp *vps;			/* [init] cfg.nr_vps of them */

	/* VTL protections (vtl_prot.c). */
	pthread_mutex_t prot_lock;		/* serialises changes of the masks and their application */
	uint64_t prot_pages;			/* [init] pages below cfg.ram_end */
	/* [prot_lock; A] per VTL v >= 1: its HV_MAP_GPA mask for lower VTLs, per page; NULL = all RWX */
	uint8_t *prot[HV_MAX_VTLS];
	uint64_t prot_unenforced;		/* [A] no-execute masks left executable (--policy permissive) */
	uint64_t intercepts, intercepts_dropped;	/* [A] secure intercepts, and those no SynIC took */
	uint64_t regint_unenforced;		/* [A] register and I/O intercepts accepted, not enforced (permissive) */
	/* [A] per VTL n >= 1: I/O ports whose reads and writes by VTL n - 1 it intercepts (intercept_io.c) */
	uint64_t io_read_intercepts[HV_MAX_VTLS][65536 / 64];
	uint64_t io_write_intercepts[HV_MAX_VTLS][65536 / 64];
	bool regint_refusal_said;		/* [A] strict's refusal of those was logged once */

	uint64_t hc_count[256];		/* [A] per hypercall code (all codes kvsm knows are < 256) */
	uint64_t hc_count_other;	/* [A] */
};

/* An unaligned little-endian 64-bit field of a hypercall input block. */
static inline uint64_t hv_ld64(const uint8_t *b)
{
	uint64_t v;

	__builtin_memcpy(&v, b, sizeof(v));
	return v;
}

static inline bool hv_has_privilege(const struct hv_partition *p, uint64_t bit)
{
	return (p->privileges & bit) != 0;
}

#define hv_trace(p, ...) do { if ((p)->cfg.trace) fprintf(stderr, "kvsm: trace: " __VA_ARGS__); } while (0)

/* reftime.c: partition reference time in 100 ns units, and the TSC page. */
void hv_reftime_init(struct hv_partition *p);
uint64_t hv_ref_time(const struct hv_partition *p);
/* Write the reference TSC page of a VTL if its MSR enables one. */
void hv_reftime_update_page(struct hv_partition *p, unsigned int vtl, uint64_t msr);

/*
 * guest.c: guest memory as VTL vtl may access it. false: some byte is not
 * RAM, or not accessible to vtl that way; nothing was read or written then
 * (for multi-page copies: nothing after the first refused page).
 */
bool hv_guest_accessible(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, size_t len, bool write);
bool hv_read_guest(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, void *buf, size_t len);
bool hv_write_guest(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, const void *buf, size_t len);
bool hv_guest_zero_page(const struct hv_partition *p, unsigned int vtl, uint64_t gpa);
/*
 * An overlay MSR of VTL vtl (bit 0 enables, bits 63:12 the GPA: hypercall,
 * SIMP, SIEFP, VP assist, reference TSC) changes from old to val: the
 * overlay page follows. True when val puts a page where old had none (enabled
 * or moved): the caller then fills it.
 */
bool hv_overlay_update(const struct hv_partition *p, unsigned int vtl, uint64_t old, uint64_t val);
/* Atomic (sequentially consistent) accesses to the fields the guest updates concurrently. */
bool hv_guest_fetch_or8(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t bits, uint8_t *old);
bool hv_guest_and8(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t bits);
bool hv_guest_load8(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t *val);
bool hv_guest_load32(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint32_t *val);
bool hv_guest_store32(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint32_t val);
/*
 * Compare-and-exchange a naturally aligned guest field of size 4 or 8 bytes
 * (paging-structure A/D bits): 1 exchanged, 0 the field no longer held
 * *expected (*expected gets what it holds), -1 not writable by vtl.
 */
int hv_guest_cmpxchg(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, unsigned int size,
		     uint64_t *expected, uint64_t desired);

/* paging.c: a translation, with what HvCallTranslateVirtualAddress's CacheType needs. */
struct hv_walk {
	uint64_t gpa;		/* as for hv_translate_gva */
	int pat_index;		/* PAT entry of the leaf (PAT << 2 | PCD << 1 | PWT); -1 with paging off */
};
uint32_t hv_paging_walk(const struct hv_partition *p, unsigned int vtl, const struct hv_paging_regs *regs,
			uint64_t gva, uint64_t flags, struct hv_walk *w);

/* synic.c. The MSR handlers and post/signal take the VP lock themselves: call them without it. */
void hv_synic_init(struct hv_synic *s);
bool hv_synic_msr_read(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t *val);
bool hv_synic_msr_write(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t val);
/* Queue or deliver a message to SINT sint of (vp, vtl). Returns an HV_STATUS. Takes the VP lock. */
uint16_t hv_synic_post_message(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int sint,
			       const struct hv_message *msg);
/* Set event flag `flag` of SINT sint; raise the SINT if it was clear. Returns an HV_STATUS. */
uint16_t hv_synic_signal_event(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int sint,
			       unsigned int flag);
/* The interrupt of a SINT register value (none if masked or polling; AutoEOI passed on). */
void hv_synic_raise_sint(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint64_t sint);
/* With the VP lock held: try to place pending timer/queued messages into free slots. */
void hv_synic_redeliver_locked(struct hv_partition *p, unsigned int vp, unsigned int vtl);
/*
 * With the VP lock held: put msg into SINT sint's SIMP slot if it is free and raise the SINT.
 * Returns SUCCESS, INSUFFICIENT_BUFFERS (slot busy; MessagePending is now set in it) or
 * INVALID_SYNIC_STATE (SCONTROL or SIMP disabled, or the SIMP is not RAM).
 */
uint16_t hv_synic_place_message_locked(struct hv_partition *p, unsigned int vp, unsigned int vtl,
				       unsigned int sint, const struct hv_message *msg);

/* stimer.c */
void hv_stimer_start_thread(struct hv_partition *p);
void hv_stimer_stop_thread(struct hv_partition *p);
bool hv_stimer_msr_read(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t *val);
bool hv_stimer_msr_write(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t val);
/* With the VP lock held, after a slot was freed: deliver pending timer messages of (vp, vtl). */
void hv_stimer_redeliver_locked(struct hv_partition *p, unsigned int vp, unsigned int vtl);
/*
 * Fire every timer due at reference time now; returns the earliest deadline still armed
 * (0 = none). Takes each VP lock in turn. The timer thread's step; tests call it with a fake clock.
 */
uint64_t hv_stimer_run_expired(struct hv_partition *p, uint64_t now);

/* ---- hypercalls (hypercall.c) ---- */

struct hv_hypercall {
	struct hv_partition *p;
	struct hv_vp *vp;
	unsigned int vtl;
	uint16_t code;
	bool fast;
	bool long_mode;
	unsigned int var_qwords;	/* variable header size in 8-byte units */
	unsigned int rep_count;
	unsigned int rep_start;
	const uint8_t *in;		/* input block: fixed header, then the variable header */
	const uint8_t *reps;		/* rep input elements (after both headers) */
	uint8_t *out;			/* output: fixed header of simple calls, or rep elements */
};

/* Returns an HV_STATUS. For rep calls, called once per element i (rep_start <= i < rep_count). */
typedef uint16_t (*hv_hypercall_fn)(struct hv_hypercall *hc);
typedef uint16_t (*hv_hypercall_rep_fn)(struct hv_hypercall *hc, unsigned int i);
/*
 * A rep call handled a batch at a time: elements [first, end), end - first <=
 * HV_REP_BATCH_MAX; *done gets the index of the first element not completed.
 */
typedef uint16_t (*hv_hypercall_batch_fn)(struct hv_hypercall *hc, unsigned int first, unsigned int end,
					  unsigned int *done);
/* Rep elements handled per exit before yielding back to the guest (keeps interrupt latency bounded). */
#define HV_REP_BATCH_MAX 256

struct hv_hypercall_desc {
	uint16_t code;
	const char *name;
	bool rep;
	bool var_header;		/* takes a variable header */
	uint64_t privilege;		/* required partition privilege bit, 0 = none */
	uint16_t in_header;		/* fixed input header bytes */
	uint16_t in_elem;		/* rep input element bytes */
	uint16_t out_header;		/* fixed output bytes (simple calls) */
	uint16_t out_elem;		/* rep output element bytes */
	hv_hypercall_fn simple;
	hv_hypercall_rep_fn rep_fn;
	hv_hypercall_batch_fn rep_batch;	/* instead of rep_fn */
};

/* A decoded hypercall input value (hypercall.c); pure, so it can be fuzzed. */
struct hv_hypercall_input {
	uint16_t code;
	bool fast;
	unsigned int var_qwords, rep_count, rep_start;
	const struct hv_hypercall_desc *desc;	/* NULL for an unknown code */
	size_t in_size, out_size;		/* bytes of the input and output blocks */
};

/* Decode and validate an input value; returns an HV_STATUS. */
uint16_t hv_hypercall_decode(uint64_t control, struct hv_hypercall_input *in);
const struct hv_hypercall_desc *hv_hypercall_find(uint16_t code);

/* Per-hypercall counters for --stats (stats.c). */
void hv_stats_count(struct hv_partition *p, uint16_t code);

/* Hypercall handlers, one file per family. */
extern const struct hv_hypercall_desc hv_hc_flush[], hv_hc_ipi[], hv_hc_synic[], hv_hc_misc[], hv_hc_vsm[],
	hv_hc_vp_regs[], hv_hc_prot[], hv_hc_translate[], hv_hc_intercept[];
extern const unsigned int hv_hc_flush_n, hv_hc_ipi_n, hv_hc_synic_n, hv_hc_misc_n, hv_hc_vsm_n, hv_hc_vp_regs_n,
	hv_hc_prot_n, hv_hc_translate_n, hv_hc_intercept_n;

/* vsm.c */
#define HVCALL_VTL_CALL		0x0011
#define HVCALL_VTL_RETURN	0x0012
/* VtlCall / VtlReturn (spec 3.4): #UD, or a switch with regs->target_vtl and the target's RAX/RCX. */
enum hv_hypercall_outcome hv_vtl_call_return(struct hv_partition *p, unsigned int vp, unsigned int vtl,
					     uint16_t code, uint64_t control, struct hv_hypercall_regs *regs);
/* VSM registers (0xD0000-0xDFFFF) of VP vp as seen by `caller` VTL for target VTL `vtl`. */
uint16_t hv_vsm_reg_get(struct hv_partition *p, unsigned int vp, unsigned int caller, unsigned int vtl,
			bool long_mode, uint32_t name, uint64_t *val);
uint16_t hv_vsm_reg_set(struct hv_partition *p, unsigned int vp, unsigned int caller_vp, unsigned int caller,
			unsigned int vtl, uint32_t name, uint64_t val);
/* Validate an HV_INPUT_VTL byte: the VTL it names (the caller's when UseTargetVtl = 0), or an HV_STATUS < 0. */
int hv_input_vtl(uint8_t input_vtl, unsigned int caller);

/*
 * tlb_lock.c. VTL m of VP vp locks or unlocks its TLB for a lower VTL n; own
 * thread only. A release wakes stalled flushes (host op tlb_unlocked).
 */
void hv_tlb_lock(struct hv_partition *p, unsigned int vp, unsigned int m, unsigned int n);
void hv_tlb_unlock(struct hv_partition *p, unsigned int vp, unsigned int m, unsigned int n);
/* VTL m of vp returns to a lower VTL: it drops every lock it holds. */
void hv_tlb_unlock_all(struct hv_partition *p, unsigned int vp, unsigned int m);
bool hv_tlb_lock_held(const struct hv_partition *p, unsigned int vp, unsigned int m, unsigned int n);
/* Whether a VP in mask has its TLB locked for VTL vtl: a flush of vtl that targets them must wait. */
bool hv_tlb_flush_blocked(const struct hv_partition *p, unsigned int vtl, const uint64_t *mask);
/*
 * Not an HV_STATUS (never reaches the guest): a simple or rep handler's
 * answer that the call cannot complete yet; the dispatcher returns
 * HV_HYPERCALL_RETRY with the call as it was (rep start at that element).
 */
#define HV_RETRY_AFTER_WAIT 0xFFFFu

/* intercept.c: the 40-byte intercept header, and a whole GPA intercept message. */
void hv_intercept_header(uint8_t *b, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
			 unsigned int insn_len, enum hv_intercept_access access);
void hv_gpa_intercept_message(struct hv_message *m, unsigned int vp, unsigned int vtl,
			      const struct hv_intercept_state *st, const struct hv_gpa_access *a);
/*
 * Give VTL `to` of VP vp an intercept message: in its VP assist page if its
 * VsmPartitionConfig.InterceptPage is set, else on SINT0 of its SIMP.
 * Returns the entry reason the host enters `to` with.
 */
enum hv_vtl_entry hv_intercept_deliver(struct hv_partition *p, unsigned int vp, unsigned int to,
				       const struct hv_message *m);

/* vsm.c: GPA of the VP assist page of (vp, vtl), or 0 when it is disabled. */
uint64_t hv_assist_page(const struct hv_partition *p, unsigned int vp, unsigned int vtl);

/* intercept_reg.c: HvX64RegisterCrInterceptControl and its masks (0xE0000-0xE0003). */
bool hv_regint_is_register(uint32_t name);
uint16_t hv_regint_get(struct hv_partition *p, unsigned int vp, unsigned int caller, unsigned int vtl,
		       uint32_t name, uint64_t *val);
uint16_t hv_regint_set(struct hv_partition *p, unsigned int vp, unsigned int caller, unsigned int vtl,
		       uint32_t name, uint64_t val);
/* intercept_io.c: the whole X64IoPortIntercept message for an IN/OUT of VP vp's VTL vtl. */
void hv_io_intercept_message(struct hv_message *m, unsigned int vp, unsigned int vtl,
			     const struct hv_intercept_state *st, const struct hv_io_access *a);
/* The whole MsrIntercept message for an RDMSR/WRMSR of VP vp's VTL vtl. */
void hv_msr_intercept_message(struct hv_message *m, unsigned int vp, unsigned int vtl,
			      const struct hv_intercept_state *st, uint32_t msr, bool write);

/* vtl_prot.c */
void hv_vtl_prot_init(struct hv_partition *p);
void hv_vtl_prot_destroy(struct hv_partition *p);
/* Whether VTL vtl may set HV_MAP_GPA flags as a protection mask: an HV_STATUS. */
uint16_t hv_vtl_prot_check(struct hv_partition *p, unsigned int vtl, uint32_t flags);
/* EnableVtlProtection: VTL vtl's DefaultVtlProtectionMask over all RAM for the VTLs below. */
uint16_t hv_vtl_prot_set_default(struct hv_partition *p, unsigned int vtl, uint32_t flags);

/*
 * HV_VP_SET (TLFS 7.x, sparse 4K banks or all): parse from buf (size bytes,
 * starting at the Format qword) into mask (words of 64 VPs). Returns an
 * HV_STATUS; *consumed gets the bytes used. VPs past nr_vps are ignored.
 */
uint16_t hv_vp_set_parse(const uint8_t *buf, size_t size, unsigned int nr_vps, uint64_t *mask, size_t *consumed);

#endif
