/* A virtual processor: its KVM vCPU, its host thread and its run loop. */
#ifndef KVSM_VCPU_H
#define KVSM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "guest_mem.h"
#include "lapic.h"
#include "vina_watch.h"

struct vm;
struct vcpu_request;
struct irqchip_ops;
struct timeline_vp;

/*
 * Legend: [init] set by vcpu_create / vcpu_thread start, read-only after;
 * [T] the VP's own thread only; [A] atomic, any thread; [own] see its type.
 */

/* The VP in one VTL: one KVM vCPU in that VTL's VM. */
struct vcpu_vtl {
	int fd;				/* [init] */
	struct kvm_run *run;		/* [init] the mapping; its contents [T], immediate_exit also the kick signal */
	struct vcpu *cpu;		/* [init] */
	unsigned int vtl;		/* [init] */
	const struct irqchip_ops *chip;	/* [init] this VTL's interrupt controller */
	struct lapic apic;		/* [own] user-space local APIC (VTL >= 1 only) */
	/* [T] DR0-3, XCR0 and the XSAVE area as last read or written by kvsm (valid: known). See vtl.c. */
	bool shared_known;
	uint64_t dr[4];
	uint64_t xcr0;
	struct kvm_xsave *xsave;
};

struct vcpu {
	struct vm *vm;			/* [init] */
	unsigned int index;		/* [init] VP index = APIC ID */
	struct vcpu_vtl v[KVSM_MAX_VTLS];	/* vCPUs of the VTLs the partition has */
	int fd;				/* [T] = v[vcpu_vtl()].fd: the active VTL's vCPU (set by vtl_enter) */
	struct kvm_run *run;		/* [T] = v[vcpu_vtl()].run */
	pthread_t thread;		/* [init] */
	unsigned int halt_round_seen;	/* [T] */
	pid_t tid;			/* [init] host thread id (for directed timer signals) */
	/* What other VPs' threads want run on this one (vcpu_request.c). */
	pthread_mutex_t req_lock;
	struct vcpu_request *requests;	/* [req_lock] */
	struct vcpu_request *flush_reqs;	/* [T] vcpu_flush_tlbs' requests to the other VPs (nr_vcpus) */
	struct vcpu **flush_targets;	/* [T] and their targets (nr_vcpus) */
	/* Sleeping outside KVM_RUN (vcpu_kick.c). */
	struct {
		pthread_mutex_t lock;
		pthread_cond_t cond;
		unsigned int wakeups;	/* [lock, A] */
	} wait;
	uint64_t autoeoi_pending[4];	/* [A] SynIC AutoEOI vectors waiting for injection (kernel_apic.c) */
	timer_t autoeoi_timer;		/* [init] */
	timer_t apic_timer;		/* [init] earliest user-space APIC timer deadline of this VP (vtl_irq.c) */
	uint64_t apic_timer_armed;	/* [T] the deadline it is armed for, 0 = none */
	struct vina_watch vina;		/* [T] VTL0 interrupts to report through VINA (vina_watch.c) */
	struct timeline_vp *tl;		/* [init] this VP's --timeline buffer, NULL when off */
};

void vcpu_create(struct vm *vm, struct vcpu *cpu, unsigned int index);
/* The VP's vCPU of vtl, or NULL when the partition has no such VTL. */
static inline struct vcpu_vtl *vcpu_vtl_of(struct vcpu *cpu, unsigned int vtl)
{
	return vtl < KVSM_MAX_VTLS && cpu->v[vtl].run ? &cpu->v[vtl] : NULL;
}
/* The VTL the VP runs: the core's record (hv_vtl_entered, which vtl_enter alone calls). */
unsigned int vcpu_vtl(const struct vcpu *cpu);
void vcpu_start(struct vcpu *cpu);
/* Make the vCPU leave KVM_RUN (or not enter it), or its wait, and look at the VM's state. Any thread. */
void vcpu_kick(struct vcpu *cpu);
/*
 * vcpu_kick.c: sleeping outside KVM_RUN. Take vcpu_wait_seq() before looking
 * at what to wait for, then vcpu_wait_until(seq, deadline) sleeps until a
 * vcpu_wake (or kick) since then, the monotonic deadline_ns (0: none) or the
 * VM's stop; it returns false once the VM stops. Own thread; wake: any thread.
 */
void vcpu_wait_init(struct vcpu *cpu);
unsigned int vcpu_wait_seq(struct vcpu *cpu);
bool vcpu_wait_until(struct vcpu *cpu, unsigned int seen, uint64_t deadline_ns);
void vcpu_wake(struct vcpu *cpu);
/*
 * Flush the TLB of the caller's VTL on every VP in mask (the caller included;
 * a target running another VTL flushes its vCPU of the caller's VTL) and
 * return when all have done so (or the VM stops). Called on the caller's own thread.
 */
void vcpu_flush_tlbs(struct vcpu *caller, unsigned int vtl, const uint64_t *mask);
/*
 * Run fn(target, arg) on target's own thread (vCPU ioctls belong to it) and
 * wait for it; runs directly when target is self. self keeps serving its own
 * requests while it waits and never blocks on another VP. Returns false, with
 * fn not run, only when the VM stops before the target took the request.
 */
bool vcpu_run_on(struct vcpu *self, struct vcpu *target, void (*fn)(struct vcpu *, void *), void *arg);
/* The VP's request queue and its flush scratch, sized for the VM's VPs (vcpu_create). */
void vcpu_requests_init(struct vcpu *cpu);
/* Serve what other VPs asked of this one (vcpu_run_on, TLB flushes). Own thread only. */
void vcpu_service_requests(struct vcpu *cpu);
/*
 * Stop the VM from the VP's own thread with exit status status and one line
 * on stderr: the VP, the VTL it runs, what happened (printf-style) and its
 * RIP, RSP, CR0, CR3, CR4 and EFER. Printed only if this stop is the first.
 */
void vcpu_stop(struct vcpu *cpu, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Something this VP needed from KVM failed where the VP cannot go on: the
 * same one line as vcpu_stop (with errno's text for _errno), and the process
 * ends with kvsm's host-error status at once.
 */
void vcpu_fatal(struct vcpu *cpu, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void vcpu_fatal_errno(struct vcpu *cpu, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Deliver exception nr (no error code) to the running VTL at the next entry, through the synced events. */
void vcpu_inject_exception(struct vcpu *cpu, uint8_t nr);
/* This VP's answer to the current halt-detection round (once per round). */
void vcpu_answer_halt_round(struct vcpu *cpu, bool dormant);
/* A timer whose expiry kicks this VP (own thread: it targets the calling thread). */
void vcpu_create_kick_timer(struct vcpu *cpu, timer_t *timer);
/* The VP whose thread is calling, or NULL on any other thread; set once by the VP's thread. */
struct vcpu *vcpu_self(void);
void vcpu_set_self(struct vcpu *cpu);
/* Install the kick signal handler; once per process. */
void vcpu_init_signals(void);

#endif
