/*
 * What one VP's thread asks of another: TLB flushes (HvCallFlushVirtualAddress*)
 * and running a function there (vCPU ioctls belong to the VP's own thread).
 * The target is kicked out of KVM_RUN and serves requests before it re-enters.
 * A requester never blocks: while it waits (for the target's request slot or
 * for the answer) it keeps serving its own requests, so VPs asking each other
 * in any cycle cannot deadlock.
 */
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/arch.h"

#include <sched.h>
#include <sys/ioctl.h>

/*
 * Flush the TLB of this VP's vCPU of vtl. KVM has no ioctl for it, but changing CR4.PGE
 * through KVM_SET_SREGS makes KVM reset the vCPU's MMU context, which
 * flushes every guest translation (as toggling CR4.PGE does on hardware).
 */
static void flush_own_tlb(struct vcpu *cpu, unsigned int vtl)
{
	struct kvm_sregs s;

	if (ioctl(cpu->v[vtl].fd, KVM_GET_SREGS, &s))
		die_errno(KVSM_EXIT_HOST, "KVM_GET_SREGS");
	s.cr4 ^= CR4_PGE;
	if (ioctl(cpu->v[vtl].fd, KVM_SET_SREGS, &s))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_SREGS");
	s.cr4 ^= CR4_PGE;
	if (ioctl(cpu->v[vtl].fd, KVM_SET_SREGS, &s))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_SREGS");
	stat_inc(&cpu->vm->stats, STAT_TLB_FLUSH);
}

struct vcpu_request {
	void (*fn)(struct vcpu *, void *);
	void *arg;
	bool done;
};


void vcpu_service_requests(struct vcpu *cpu)
{
	struct vcpu_request *r = __atomic_exchange_n(&cpu->request, NULL, __ATOMIC_ACQ_REL);
	unsigned int flush = __atomic_exchange_n(&cpu->flush_pending, 0, __ATOMIC_ACQ_REL);

	if (flush) {
		for (unsigned int vtl = 0; vtl < KVSM_MAX_VTLS; vtl++)
			if (flush & (1u << vtl))
				flush_own_tlb(cpu, vtl);
		vm_wake_waiters(cpu->vm);
	}
	if (r) {
		r->fn(cpu, r->arg);
		__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
		vm_wake_waiters(cpu->vm);
	}
}


bool vcpu_run_on(struct vcpu *self, struct vcpu *target, void (*fn)(struct vcpu *, void *), void *arg)
{
	struct vcpu_request r = { .fn = fn, .arg = arg };
	struct vcpu_request *none = NULL;

	if (self == target) {
		fn(self, arg);
		return true;
	}
	/* Take the target's one request slot (another VP may hold it); serve our own meanwhile. */
	while (!__atomic_compare_exchange_n(&target->request, &none, &r, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE)) {
		none = NULL;
		vcpu_service_requests(self);
		if (!vm_wait_a_little(self->vm))
			return false;		/* stopping: nothing of ours was posted */
	}
	vcpu_kick(target);
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
		vcpu_service_requests(self);
		if (vm_wait_a_little(self->vm))
			continue;
		/*
		 * The VM is stopping and the target may never serve us. Take the
		 * request back if it is still in the slot; if the target already
		 * took it, it is running fn now and sets done when finished, so
		 * r (on this stack) must stay until then.
		 */
		none = &r;
		if (__atomic_compare_exchange_n(&target->request, &none, NULL, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return false;
		while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
			sched_yield();
	}
	return true;
}

void vcpu_flush_tlbs(struct vcpu *caller, const uint64_t *mask)
{
	struct vm *vm = caller->vm;
	bool waiting = false;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (!(mask[i / 64] & (1ull << (i % 64))) || i == caller->index)
			continue;
		__atomic_or_fetch(&vm->vcpus[i].flush_pending, 1u << vcpu_vtl(caller), __ATOMIC_ACQ_REL);
		vcpu_kick(&vm->vcpus[i]);
		waiting = true;
	}
	if (mask[caller->index / 64] & (1ull << (caller->index % 64)))
		flush_own_tlb(caller, vcpu_vtl(caller));
	/* Keep serving our own requests while waiting, so two VPs flushing each other cannot deadlock. */
	while (waiting) {
		vcpu_service_requests(caller);
		waiting = false;
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			waiting |= __atomic_load_n(&vm->vcpus[i].flush_pending, __ATOMIC_ACQUIRE) &&
				   i != caller->index;
		if (!waiting || !vm_wait_a_little(vm))
			break;
	}
}

