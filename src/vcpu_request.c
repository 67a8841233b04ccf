/*
 * What one VP's thread asks of another: running a function there (vCPU
 * ioctls belong to the VP's own thread): register access, context loads, TLB
 * flushes. Each VP has a queue of requests; a requester posts its request
 * (on its own stack), kicks the target out of KVM_RUN or its HLT wait, and
 * sleeps until the target has run it. While it waits it keeps serving the
 * requests posted to itself, and nothing is ever held while waiting, so VPs
 * asking each other in any pattern cannot deadlock. A request the target
 * never took when the VM stops is withdrawn, and the requester says so.
 */
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/arch.h"

#include <sched.h>
#include <sys/ioctl.h>

struct vcpu_request {
	void (*fn)(struct vcpu *target, void *arg);
	void *arg;
	struct vcpu *from;		/* woken when done */
	struct vcpu_request *next;	/* in the target's queue (its req_lock) */
	bool done;			/* [A] fn has run */
};

/*
 * Flush the TLB of this VP's vCPU of vtl. KVM has no ioctl for it, but changing CR4.PGE
 * through KVM_SET_SREGS makes KVM reset the vCPU's MMU context, which
 * flushes every guest translation (as toggling CR4.PGE does on hardware).
 */
static void flush_own_tlb(struct vcpu *cpu, unsigned int vtl)
{
	struct kvm_sregs s;

	if (ioctl(cpu->v[vtl].fd, KVM_GET_SREGS, &s))
		vcpu_fatal_errno(cpu, "KVM_GET_SREGS (VTL%u, TLB flush)", vtl);
	s.cr4 ^= CR4_PGE;
	if (ioctl(cpu->v[vtl].fd, KVM_SET_SREGS, &s))
		vcpu_fatal_errno(cpu, "KVM_SET_SREGS (VTL%u, TLB flush)", vtl);
	s.cr4 ^= CR4_PGE;
	if (ioctl(cpu->v[vtl].fd, KVM_SET_SREGS, &s))
		vcpu_fatal_errno(cpu, "KVM_SET_SREGS (VTL%u, TLB flush)", vtl);
	stat_inc(&cpu->vm->stats, STAT_TLB_FLUSH);
}

void vcpu_requests_init(struct vcpu *cpu)
{
	pthread_mutex_init(&cpu->req_lock, NULL);
	/* Allocated once: a flush hypercall must not allocate. */
	cpu->flush_reqs = xcalloc(cpu->vm->nr_vcpus, sizeof(*cpu->flush_reqs));
	cpu->flush_targets = xcalloc(cpu->vm->nr_vcpus, sizeof(*cpu->flush_targets));
}

void vcpu_service_requests(struct vcpu *cpu)
{
	struct vcpu_request *r;

	pthread_mutex_lock(&cpu->req_lock);
	r = cpu->requests;
	cpu->requests = NULL;
	pthread_mutex_unlock(&cpu->req_lock);
	while (r) {
		struct vcpu_request *next = r->next;
		struct vcpu *from = r->from;

		r->fn(cpu, r->arg);
		__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);	/* r may be gone from here on */
		vcpu_wake(from);
		r = next;
	}
}

static void post(struct vcpu *target, struct vcpu_request *r)
{
	pthread_mutex_lock(&target->req_lock);
	r->next = target->requests;
	target->requests = r;
	pthread_mutex_unlock(&target->req_lock);
	vcpu_kick(target);
}

/* Take r back out of target's queue; false if the target already took it. */
static bool withdraw(struct vcpu *target, struct vcpu_request *r)
{
	struct vcpu_request **p;
	bool found = false;

	pthread_mutex_lock(&target->req_lock);
	for (p = &target->requests; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			found = true;
			break;
		}
	pthread_mutex_unlock(&target->req_lock);
	return found;
}

static bool all_done(struct vcpu_request *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (!__atomic_load_n(&r[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/*
 * Wait until each of the n requests self posted to targets[i] is done.
 * false: the VM stopped and at least one was withdrawn, never run. A request
 * a target already took runs to its end, so its frame stays until then.
 */
static bool wait_done(struct vcpu *self, struct vcpu_request *r, struct vcpu **targets, unsigned int n)
{
	bool served = true;

	for (;;) {
		unsigned int seq = vcpu_wait_seq(self);

		vcpu_service_requests(self);
		if (all_done(r, n))
			return served;
		if (vcpu_wait_until(self, seq, 0))
			continue;
		for (unsigned int i = 0; i < n; i++)
			if (!__atomic_load_n(&r[i].done, __ATOMIC_ACQUIRE) && withdraw(targets[i], &r[i])) {
				r[i].done = true;
				served = false;
			}
		while (!all_done(r, n))
			sched_yield();
		return served;
	}
}

bool vcpu_run_on(struct vcpu *self, struct vcpu *target, void (*fn)(struct vcpu *, void *), void *arg)
{
	struct vcpu_request r = { .fn = fn, .arg = arg, .from = self };

	if (self == target) {
		fn(self, arg);
		return true;
	}
	post(target, &r);
	return wait_done(self, &r, &target, 1);
}

static void flush_fn(struct vcpu *cpu, void *arg)
{
	flush_own_tlb(cpu, *(const unsigned int *)arg);
}

void vcpu_flush_tlbs(struct vcpu *caller, unsigned int vtl, const uint64_t *mask)
{
	struct vm *vm = caller->vm;
	unsigned int n = 0;
	struct vcpu_request *r = caller->flush_reqs;
	struct vcpu **targets = caller->flush_targets;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (!(mask[i / 64] & (1ull << (i % 64))) || i == caller->index)
			continue;
		r[n] = (struct vcpu_request){ .fn = flush_fn, .arg = &vtl, .from = caller };
		targets[n] = &vm->vcpus[i];
		post(targets[n], &r[n]);
		n++;
	}
	if (mask[caller->index / 64] & (1ull << (caller->index % 64)))
		flush_own_tlb(caller, vtl);
	wait_done(caller, r, targets, n);	/* a VM that stops needs no flush */
}
