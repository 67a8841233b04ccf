/*
 * libkvsm: the Hyper-V partition interface (CPUID, synthetic MSRs,
 * hypercalls, SynIC, synthetic timers, reference time, VSM), free of KVM. A
 * VMM embeds it by filling struct hv_host_ops and calling the hv_* entry
 * points from its vCPU exit handlers. The TLFS numbers and layouts are in
 * kvsm/tlfs.h. docs/libkvsm.md gives the whole contract: which thread calls
 * each op, which core locks are held meanwhile, what an op may call back.
 */
#ifndef KVSM_HV_H
#define KVSM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlfs.h"

#define HV_MAX_VTLS 3

struct hv_partition;

/* Severity of a line the core logs (host op `log`). */
enum hv_log_level {
	HV_LOG_ERROR,
	HV_LOG_WARNING,		/* the guest asked for something refused or not implemented */
	HV_LOG_INFO,
	HV_LOG_TRACE,		/* MSR accesses, hypercalls, VTL switches: only with cfg.trace */
};

/*
 * What the core needs from the VMM. Unless an op says otherwise it is called
 * on the thread of the VP that made the access (an exit handler calling an
 * hv_* entry point), and the core may hold one of its locks meanwhile: an op
 * must not call any hv_* entry point, except where its comment allows it.
 * Ops marked (timer) may also run on the thread that calls
 * hv_timer_expired(). Optional ops may be NULL.
 */
struct hv_host_ops {
	/*
	 * (timer) Host address of guest-physical [gpa, gpa + len) as VTL vtl
	 * sees it, for a read (write = false) or write, or NULL if that is not
	 * plain RAM or the VTL may not access it that way. len never crosses a
	 * page. The address must lie in a mapping of the host's own that the
	 * guest's memory protections never change (the core must not fault
	 * there); the core uses it only within the current call, and accesses
	 * fields the guest updates concurrently with atomics.
	 */
	void *(*guest_access)(void *host, unsigned int vtl, uint64_t gpa, size_t len, bool write);
	/*
	 * Overlay pages (hypercall, SIMP, SIEFP, VP assist, reference TSC) are
	 * per VTL: map_overlay puts a zero-filled page of the host's own over
	 * gpa's page (page-aligned) in VTL vtl only, or counts one more user of
	 * the overlay already there; false if gpa is not RAM (the page is then
	 * inaccessible). unmap_overlay drops one user; the last brings the RAM
	 * beneath back. Other VTLs always see the RAM; guest_access of VTL vtl
	 * sees the overlay.
	 */
	bool (*map_overlay)(void *host, unsigned int vtl, uint64_t gpa);
	void (*unmap_overlay)(void *host, unsigned int vtl, uint64_t gpa);
	/*
	 * (timer) Deliver a fixed, edge-triggered interrupt to the local APIC
	 * of (vp, vtl); vp may be another VP than the caller's. auto_eoi: the
	 * guest will not EOI it (SynIC AutoEOI), so it must not be left in
	 * service. Only injects: the core has already asserted VINA where the
	 * interrupt is for a VTL below the one vp runs. Called with the core's
	 * lock of the target VP held.
	 */
	void (*raise_irq)(void *host, unsigned int vp, unsigned int vtl, uint8_t vector, bool auto_eoi);
	/*
	 * Flush VTL vtl's TLB of every VP set in mask (nr_vps bits), the caller
	 * included; returns when done. vtl is the caller's VTL: a TLFS flush
	 * applies to the caller's VTL only. No core lock is held.
	 */
	void (*flush_tlb)(void *host, unsigned int caller_vp, unsigned int vtl, const uint64_t *mask);
	/*
	 * A TLB lock was released (VSM only): every VP that got
	 * HV_HYPERCALL_RETRY must stop waiting and issue its call again.
	 * Called on the releasing VP's thread, after the release.
	 */
	void (*tlb_unlocked)(void *host);
	/* (timer) The guest's TSC now, as RDTSC in the guest would read it. */
	uint64_t (*guest_tsc)(void *host);
	/* Time VP vp has run, in 100 ns units. */
	uint64_t (*vp_runtime)(void *host, unsigned int vp);
	/*
	 * Access the local APIC register of (vp, vtl) that x2APIC MSR `msr`
	 * names (EOI 0x80B, TPR 0x808, ICR 0x830) on behalf of the synthetic
	 * EOI/TPR/ICR MSRs; vp is the caller. Returns false where the host
	 * cannot (then #GP).
	 */
	bool (*apic_msr)(void *host, unsigned int vp, unsigned int vtl, uint32_t msr, bool write, uint64_t *val);
	/*
	 * VSM (only used when cfg.max_vtl > 0). Architectural registers of VP
	 * vp in VTL vtl by HV_REGISTER_NAME (kvsm/tlfs.h), as 16-byte values;
	 * return an HV_STATUS. Called on the calling VP's thread, which runs
	 * caller_vtl, with no core lock held; vp may be another VP. Registers
	 * shared between VTLs are those of the VTL vp runs, so the host must
	 * refuse (HV_STATUS_ACCESS_DENIED) while vp runs a VTL above caller_vtl,
	 * checked atomically with the access: a lower VTL never observes or
	 * changes a higher VTL's live state.
	 */
	uint16_t (*get_vp_register)(void *host, unsigned int vp, unsigned int vtl, unsigned int caller_vtl,
				    uint32_t name, uint64_t val[2]);
	uint16_t (*set_vp_register)(void *host, unsigned int vp, unsigned int vtl, unsigned int caller_vtl,
				    uint32_t name, const uint64_t val[2]);
	/*
	 * HvCallEnableVpVtl: load ctx into VTL vtl of VP vp (vtl >= 1). The core
	 * has decoded the HV_INITIAL_VP_CONTEXT and checked it against the
	 * architecture (segment attributes, CR0/CR4/EFER/CS.L consistency, and
	 * for a VTL >= 1 protected or long mode, usable CS and SS, a RIP the
	 * first fetch can use); the host checks only what its CPU model limits
	 * (which CR4/EFER bits exist, address widths) and answers
	 * HV_STATUS_INVALID_PARAMETER for those, with nothing changed. Called
	 * with no core lock held, on the caller's thread; the host may hand the
	 * work to VP vp's own thread and wait. ctx lives until the op returns.
	 */
	uint16_t (*set_initial_context)(void *host, unsigned int vp, unsigned int vtl,
					const struct hv_initial_vp_context *ctx);
	/*
	 * HvCallStartVirtualProcessor: if VP vp has never run, load ctx (as
	 * above) into its VTL vtl and start it there, recording the start with
	 * hv_vtl_entered(..., HV_VTL_ENTRY_START) on vp's own thread before it
	 * runs (that call into the core is allowed: no core lock is held);
	 * else HV_STATUS_INVALID_VP_STATE.
	 */
	uint16_t (*start_vp)(void *host, unsigned int vp, unsigned int vtl, const struct hv_initial_vp_context *ctx);
	/*
	 * VTL protections (only used when cfg.max_vtl > 0), called with the
	 * core's protection lock held. is_ram: whether gpa's page is RAM
	 * (protections cover RAM only). protect: make pages
	 * [gpa, gpa + npages * 4096) of VTL vtl's view allow only `access`, an
	 * HV_MAP_GPA mask of R (1), W (2), KX (4), UX (8), UX always equal to KX;
	 * pages that are not RAM are skipped, and overlay pages keep their own
	 * access until they go. The host also refuses the core's own accesses
	 * for that VTL accordingly (guest_access). Returns false if the host
	 * cannot (its mapping or memslot limits); the core then applies the old
	 * mask.
	 */
	bool (*is_ram)(void *host, uint64_t gpa);
	bool (*protect)(void *host, unsigned int vtl, uint64_t gpa, uint64_t npages, uint8_t access);
	/*
	 * Secure register intercepts (optional): the MSRs hv_msr_intercept_armed
	 * reports for VTL vtl changed. The host makes exactly those accesses of
	 * that VTL exit to it (and completes the ones hv_msr_intercept declines
	 * as the CPU would). Called with a core lock held: it must not call back
	 * into the core other than hv_msr_intercept_armed.
	 */
	void (*msr_intercepts_changed)(void *host, unsigned int vtl);
	/* Optional: whether accesses of VTL vtl to I/O port `port` reach the host at all. */
	bool (*io_port_trappable)(void *host, unsigned int vtl, uint16_t port);
	/*
	 * XMM0-5 of the calling VP (fast hypercalls), which runs VTL vtl; loaded
	 * and stored only when used. The registers are shared between VTLs, but
	 * vtl says which of the VP's vCPUs holds them now.
	 */
	void (*get_xmm)(void *host, unsigned int vp, unsigned int vtl, uint64_t xmm[6][2]);
	void (*set_xmm)(void *host, unsigned int vp, unsigned int vtl, const uint64_t xmm[6][2]);
	/*
	 * Optional (timer): one line the core has to say (no newline; at most
	 * 511 bytes). The core prints nothing itself; without this op its lines
	 * are dropped. HV_LOG_TRACE lines come only with cfg.trace.
	 */
	void (*log)(void *host, enum hv_log_level level, const char *msg);
	/*
	 * Required: the timer hook. The core has no thread of its own; it asks
	 * the host to call hv_timer_expired() once the partition's reference
	 * time (hv_reference_time(), 100 ns units) reaches `deadline`. A new
	 * call replaces the deadline asked for before (it may be earlier or
	 * later). Called with the core's timer lock held, from a VP thread or
	 * from inside hv_timer_expired(): record the deadline and wake your
	 * timer thread, never call hv_timer_expired() from here. A late call
	 * delays expiries by as much; an early one is harmless (the core
	 * rescans and asks again).
	 */
	void (*timer_arm)(void *host, uint64_t deadline);
};

/* What the core does with a request the host cannot enforce natively (stock KVM: docs/vsm.md). */
enum hv_policy {
	/* Enforce it exactly, at a cost (no-execute pages are trapped), or refuse it with an HV status and a log line. */
	HV_POLICY_STRICT,
	HV_POLICY_PERMISSIVE,	/* accept it, enforce the nearest weaker rule, count it */
};

struct hv_config {
	unsigned int nr_vps;
	uint64_t tsc_hz;		/* guest TSC frequency */
	uint64_t apic_hz;		/* local APIC timer frequency */
	uint64_t ram_size;		/* for GPA range checks: above this nothing is RAM */
	uint64_t gpa_limit;		/* first GPA past the guest-physical address space */
	uint64_t ram_end;		/* first GPA above all RAM (VTL protection tables cover [0, ram_end)) */
	enum hv_policy policy;
	bool trace;			/* log MSR accesses, hypercalls and VTL switches (HV_LOG_TRACE) */
	/*
	 * The I/O port (nonzero) the hypercall page calls out with: each call
	 * site there is `nop; out imm8, al` to this port in place of VMCALL. A
	 * one-byte OUT to it from a VTL whose hypercall page is enabled is a
	 * hypercall (hv_hypercall_enabled, hv_hypercall); the nop sits one
	 * byte before the OUT, so a call is re-issued by resuming at RIP - 1.
	 */
	uint8_t hypercall_port;
	unsigned int max_vtl;		/* highest VTL the partition may enable (0 = no VSM) */
	const struct hv_host_ops *ops;
	void *host;
};

/* NULL if cfg is invalid (no timer_arm op, no hypercall_port, tsc_hz <= 10 MHz, no VPs, max_vtl too high). */
struct hv_partition *hv_partition_create(const struct hv_config *cfg);
void hv_partition_destroy(struct hv_partition *p);

/* CPUID leaves 0x40000000-0x400000FF; returns false for other leaves. */
bool hv_cpuid(const struct hv_partition *p, uint32_t leaf, uint32_t out[4]);

/* Synthetic MSRs (0x40000000-0x400000FF). */
enum hv_msr_result { HV_MSR_OK, HV_MSR_GP };
enum hv_msr_result hv_msr_read(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr,
			       uint64_t *val);
enum hv_msr_result hv_msr_write(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr,
				uint64_t val);

/* ---- hypercalls ---- */

/*
 * Why a VP enters a VTL (hv_vtl_entered). The first three are the TLFS
 * HV_VTL_ENTRY_REASON values written to the entered VTL's VP assist page;
 * a return and a VP start are not entries in its sense and write nothing.
 */
enum hv_vtl_entry {
	HV_VTL_ENTRY_RETURN = 0,	/* VtlReturn resumes the lower VTL */
	HV_VTL_ENTRY_VTL_CALL = 1,
	HV_VTL_ENTRY_INTERRUPT = 2,
	HV_VTL_ENTRY_INTERCEPT = 3,	/* an intercept message waits in the VP assist page (InterceptPage) */
	HV_VTL_ENTRY_START = 0x100,	/* HvCallStartVirtualProcessor: the VP begins in that VTL */
};

/* The caller's registers. 32-bit callers use EDX:EAX, EBX:ECX, EDI:ESI (TLFS 3.5). */
struct hv_hypercall_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, r8;
	bool long_mode;		/* EFER.LMA and CS.L */
	/*
	 * Out, for HV_HYPERCALL_SWITCH_VTL: the VTL to enter and why (a value
	 * for hv_vtl_entered). Shared registers move with the VP; rax/rcx (and
	 * rdx) here are what the target VTL sees.
	 */
	unsigned int target_vtl;
	enum hv_vtl_entry entry_reason;
	/* Out, for HV_HYPERCALL_INTERCEPT: the GPA of the parameter block, and whether it was to be written. */
	uint64_t intercept_gpa;
	bool intercept_write;
};

enum hv_hypercall_outcome {
	HV_HYPERCALL_DONE,	/* result in rax (and rdx:rax for 32-bit); advance RIP past the call */
	HV_HYPERCALL_CONTINUE,	/* rep call yielded: rcx (edx:eax) updated; re-execute the call */
	HV_HYPERCALL_UD,	/* inject #UD, registers unchanged */
	HV_HYPERCALL_SWITCH_VTL,	/* VtlCall/VtlReturn: RIP advanced; continue the VP in regs->target_vtl */
	/*
	 * A parameter block lies in memory a higher VTL protected against the
	 * caller (spec 4.5): nothing ran, registers unchanged; leave RIP at the
	 * call and report regs->intercept_gpa with hv_gpa_intercept.
	 */
	HV_HYPERCALL_INTERCEPT,
	/*
	 * Stalled (a flush aimed at a locked TLB): as CONTINUE, but the VP
	 * first waits, without spinning, for a wake-up that came after the
	 * host entered hv_hypercall: tlb_unlocked, or anything that needs the
	 * VP (a higher VTL's interrupt, a request, a stop). Higher VTLs may
	 * preempt it meanwhile: the VP just sits at the call.
	 */
	HV_HYPERCALL_RETRY,
};

/*
 * Run the hypercall the VP just issued from VTL vtl. The VMM has already
 * checked CPL 0 and protected mode (else #UD) and that the call came from
 * the hypercall page of an enabled HYPERCALL MSR (hv_hypercall_enabled).
 */
enum hv_hypercall_outcome hv_hypercall(struct hv_partition *p, unsigned int vp, unsigned int vtl,
				       struct hv_hypercall_regs *regs);
/*
 * The call's three inputs as the core reads them (TLFS 3.5): the input
 * value, then the input and output parameters (GPAs, or the fast form's
 * first two register values), from RCX, RDX, R8 or, for 32-bit callers,
 * EDX:EAX, EBX:ECX, EDI:ESI. For a host that records calls.
 */
void hv_hypercall_args(const struct hv_hypercall_regs *regs, uint64_t args[3]);
bool hv_hypercall_enabled(const struct hv_partition *p, unsigned int vp, unsigned int vtl);

/* ---- VSM ---- */

/* The VTL VP vp runs now. */
unsigned int hv_vp_active_vtl(const struct hv_partition *p, unsigned int vp);
/* Bitmap of the VTLs enabled on VP vp. */
unsigned int hv_vp_enabled_vtls(const struct hv_partition *p, unsigned int vp);
/*
 * The one record of a VTL transition: VP vp now runs VTL `to`, entered for
 * `reason`. The host calls it for every transition it makes (after
 * HV_HYPERCALL_SWITCH_VTL with the reason the call gave, when a higher VTL's
 * pending interrupt preempts a lower one, when start_vp starts a VP), on the
 * VP's own thread, before the VP runs in `to`. It writes the entry reason of
 * a call or interrupt entry into the entered VTL's VP assist page.
 */
void hv_vtl_entered(struct hv_partition *p, unsigned int vp, unsigned int to, enum hv_vtl_entry reason);
/*
 * A lower VTL `lower` of VP vp got an interrupt the core did not raise (an
 * interrupt source of the host's own, e.g. an in-kernel APIC) while vp runs
 * a higher VTL: assert VINA in the active VTL if it is enabled (TLFS 15.x,
 * spec 4.4). Interrupts the core raises itself (raise_irq) never need this.
 * Any thread, never from inside a host op.
 */
void hv_vina_notify(struct hv_partition *p, unsigned int vp, unsigned int lower);
/*
 * Whether a VINA notification would have an effect now: vp runs a VTL above
 * VTL0 that enabled VINA and has not got VinaAsserted set. A VMM whose lower
 * VTLs have interrupt sources it does not see (an in-kernel APIC) looks for
 * them only then.
 */
bool hv_vina_wanted(struct hv_partition *p, unsigned int vp);
/*
 * VTL protections: the HV_MAP_GPA mask (R 1, W 2, KX 4, UX 8) VTL vtl may use
 * on gpa's page as the VTLs above it set it (0xF where none did).
 */
uint8_t hv_vtl_prot_effective(const struct hv_partition *p, unsigned int vtl, uint64_t gpa);
/* The nearest VTL above vtl whose mask denies `access` (HV_MAP_GPA bits) on gpa's page, or -1. */
int hv_vtl_prot_denier(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, uint8_t access);
/*
 * ---- Secure intercepts (spec 4.5, 4.6) ----
 * The state of the intercepted (lower) VTL at the faulting instruction, RIP
 * not advanced. Segments are HV_X64_SEGMENT_REGISTER values as
 * HvCallGetVpRegisters returns them.
 */
struct hv_intercept_state {
	uint64_t gpr[16];		/* RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15 */
	uint64_t rip, rflags, cr0, cr8, efer;
	uint64_t cs[2], ds[2], es[2], ss[2];
	bool interruption_pending, interrupt_shadow, debug_active;
};

enum hv_intercept_access { HV_INTERCEPT_READ = 0, HV_INTERCEPT_WRITE = 1, HV_INTERCEPT_EXECUTE = 2 };

/* A memory access of the lower VTL that may violate a VTL protection. */
struct hv_gpa_access {
	enum hv_intercept_access access;
	uint64_t gpa;
	uint64_t gva;			/* the linear address, if gva_valid */
	bool gva_valid;
	uint8_t insn_len;		/* the instruction's length, 0 if unknown */
	uint8_t insn_bytes;		/* how many of insn[] are valid (at most 16) */
	uint8_t insn[16];
};

/*
 * VP vp's VTL vtl made `a`. If a higher VTL's protection denies it, give the
 * nearest such VTL a GpaIntercept message (0x80000001) on this VP: on SINT0
 * of its SIMP (*reason = interrupt), or in its VP assist page if its
 * VsmPartitionConfig.InterceptPage is set (*reason = intercept). Returns that
 * VTL, which the host then enters with *reason (hv_vtl_entered), leaving vtl
 * at the faulting instruction; -1 if no protection denies the access.
 */
int hv_gpa_intercept(struct hv_partition *p, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
		     const struct hv_gpa_access *a, enum hv_vtl_entry *reason);

/*
 * Secure register intercepts (HvX64RegisterCrInterceptControl, spec 4.7).
 * Whether some VP's VTL vtl + 1 intercepts reads or writes of msr by VTL vtl.
 */
bool hv_msr_intercept_armed(const struct hv_partition *p, unsigned int vtl, uint32_t msr);
/* Whether any control bit covers msr (so a host filter may have sent its accesses to the VMM). */
bool hv_msr_interceptable(uint32_t msr);
/*
 * VP vp's VTL vtl executes RDMSR/WRMSR of msr (st at the instruction, the
 * value in EDX:EAX for a write; old: the MSR's current value, used for
 * IA32_MISC_ENABLE writes). If VTL vtl + 1 of that VP intercepts it, post an
 * MsrIntercept message (0x80010001) on SINT0 of its SIMP and return that
 * VTL, which the host enters with *reason, leaving vtl at the instruction,
 * not retired. Returns -1 otherwise.
 */
int hv_msr_intercept(struct hv_partition *p, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
		     uint32_t msr, bool write, uint64_t old, enum hv_vtl_entry *reason);

/* An IN/OUT/INS/OUTS of the lower VTL (HvCallInstallIntercept, HvInterceptTypeX64IoPort). */
struct hv_io_access {
	uint16_t port;
	uint8_t size;			/* 1, 2 or 4 */
	bool write, string, rep;
	uint8_t insn_len;		/* the instruction's length; its bytes in insn[] */
	uint8_t insn[16];
};
/* Whether VTL vtl + 1 intercepts reads (write = false) or writes of port by VTL vtl. */
bool hv_io_intercept_armed(const struct hv_partition *p, unsigned int vtl, uint16_t port, bool write);
/*
 * VP vp's VTL vtl executes the I/O instruction a (st at the instruction).
 * If VTL vtl + 1 installed an intercept for it, post an X64IoPortIntercept
 * message (0x80010000) on SINT0 of its SIMP and return that VTL, which the
 * host enters with *reason, the instruction not retired. Returns -1
 * otherwise.
 */
int hv_io_intercept(struct hv_partition *p, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
		    const struct hv_io_access *a, enum hv_vtl_entry *reason);

/* Whether a synthetic timer of (vp, vtl) is armed or has an expiry waiting: it may still interrupt. */
bool hv_vp_timer_armed(struct hv_partition *p, unsigned int vp, unsigned int vtl);
/* Whether the higher VTL of vp let a lower VTL start APs (DenyLowerVtlStartup). */
bool hv_lower_vtl_startup_denied(const struct hv_partition *p, unsigned int caller_vtl);

/* ---- guest page walks (paging.c) ---- */

/* The registers that define a VTL's linear-address translation. */
struct hv_paging_regs {
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rflags;	/* only AC is used: SMAP for supervisor data accesses */
	unsigned int cpl;	/* the privilege of the access when neither SUPERVISOR nor USER_ACCESS is given */
};

/* HV_TRANSLATE_GVA_CONTROL_FLAGS bits 0-10 (TLFS; spec 3.7). */
#define HV_TRANSLATE_GVA_VALIDATE_READ		(1ull << 0)
#define HV_TRANSLATE_GVA_VALIDATE_WRITE		(1ull << 1)
#define HV_TRANSLATE_GVA_VALIDATE_EXECUTE	(1ull << 2)
#define HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT	(1ull << 3)
#define HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS	(1ull << 4)
#define HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT	(1ull << 5)
#define HV_TRANSLATE_GVA_SUPERVISOR_ACCESS	(1ull << 6)
#define HV_TRANSLATE_GVA_USER_ACCESS		(1ull << 7)
#define HV_TRANSLATE_GVA_ENFORCE_SMAP		(1ull << 8)
#define HV_TRANSLATE_GVA_OVERRIDE_SMAP		(1ull << 9)
#define HV_TRANSLATE_GVA_SHADOW_STACK		(1ull << 10)

/* HV_TRANSLATE_GVA_RESULT_CODE */
enum hv_translate_gva_result {
	HV_TRANSLATE_GVA_SUCCESS = 0,
	HV_TRANSLATE_GVA_PAGE_NOT_PRESENT = 1,
	HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION = 2,
	HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS = 3,
	HV_TRANSLATE_GVA_GPA_UNMAPPED = 4,
	HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS = 5,
	HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS = 6,
	HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS = 7,
	HV_TRANSLATE_GVA_INTERCEPT = 8,
};

/*
 * Translate gva as the paging context regs would, reading (and, with
 * SET_PAGE_TABLE_BITS, updating) paging structures as VTL vtl may access
 * them; control_flags are HV_TRANSLATE_GVA_* (the TLB bit is not looked at).
 * Returns an enum hv_translate_gva_result. *gpa gets the translation on
 * success, the GPA whose access failed (a paging-structure entry or the
 * final page) for GPA results 4-8, 0 otherwise. No allocation, no locks.
 */
uint32_t hv_translate_gva(const struct hv_partition *p, unsigned int vtl, const struct hv_paging_regs *regs,
			  uint64_t gva, uint64_t control_flags, uint64_t *gpa);

/* ---- time ---- */

/* The partition's reference time (HV_X64_MSR_TIME_REF_COUNT) now, in 100 ns units. Any thread. */
uint64_t hv_reference_time(const struct hv_partition *p);
/*
 * The timer hook's callback: fire every synthetic timer due now and ask for
 * the next deadline (timer_arm). Call it from a thread of your own (not a VP
 * thread inside an exit handler, not from a host op) at or after the
 * deadline timer_arm gave; calling early is harmless.
 */
void hv_timer_expired(struct hv_partition *p);

/* ---- statistics ---- */

/* One of the core's counters. hypercall: name is a hypercall's TLFS name (or "(unknown code)"). */
struct hv_stat {
	const char *name;
	uint64_t value;
	bool hypercall;
};
/* At most this many counters: one per hypercall code, unknown codes, four intercept counters. */
#define HV_STATS_MAX 261
/*
 * Copy up to max counters into out: each hypercall code called so far, then
 * the intercept counters. Returns how many there are (may exceed max).
 */
unsigned int hv_stats(const struct hv_partition *p, struct hv_stat *out, unsigned int max);
/* The TLFS name of a hypercall libkvsm implements ("HvCallVtlCall"), or NULL. */
const char *hv_hypercall_name(uint16_t code);

/*
 * ---- VMM-created SynIC connections (e.g. the hyperv-testdev device) ----
 * HvCallPostMessage / HvCallSignalEvent on conn_id (24 bits) reach SINT sint of (vp, vtl).
 * A message and an event connection may share an id. Return 0, or -EINVAL (bad id, vp, vtl,
 * sint or flag range), -EEXIST (id already used for that kind), -ENOSPC (table full),
 * -ENOENT (destroy: no such connection).
 */
int hv_connection_create_message(struct hv_partition *p, uint32_t conn_id, unsigned int vp,
				 unsigned int vtl, unsigned int sint);
/* Event connection: FlagNumber n (n < 2048) sets event flag n. */
int hv_connection_create_event(struct hv_partition *p, uint32_t conn_id, unsigned int vp,
			       unsigned int vtl, unsigned int sint);
/* Event connection whose FlagNumber n (n < flag_count) sets flag flag_base + n (a port's flag range). */
int hv_connection_create_event_range(struct hv_partition *p, uint32_t conn_id, unsigned int vp,
				     unsigned int vtl, unsigned int sint, unsigned int flag_base,
				     unsigned int flag_count);
int hv_connection_destroy(struct hv_partition *p, uint32_t conn_id, bool event);
/* Raise SINT sint of (vp, vtl) as a device would (no message, no flag). Returns an HV_STATUS. */
int hv_synic_assert_sint(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int sint);

#endif
