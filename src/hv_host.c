/*
 * The host operations libkvsm's Hyper-V core calls on KVM: guest memory per
 * VTL, interrupt delivery (in-kernel APIC, AutoEOI injection, user-space APICs
 * of VTL1+), TLB flushes, time, XMM registers and, for VSM, register access,
 * initial contexts and VP start-up on the target VP's own thread.
 */
#include "hv_host.h"
#include "hv_timer.h"
#include "hyperv.h"
#include "irqchip.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"
#include "vtl_irq.h"
#include "vtl_regs.h"
#include "kvsm/tlfs.h"
#include "x86/arch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

/* kvsm's own mapping of a VTL's overlays and RAM, as its protections allow. */
static void *host_guest_access(void *host, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	struct vm *vm = host;

	return guest_mem_access(&vm->mem, vtl, gpa, len, write);
}

static bool host_is_ram(void *host, uint64_t gpa)
{
	return guest_range_is_ram(((struct vm *)host)->mem.size, gpa & ~(GUEST_PAGE_SIZE - 1), GUEST_PAGE_SIZE);
}

/*
 * A VTL protection (DESIGN.md section 3): on the VTL's view, reads and
 * fetches need PROT_READ, writes PROT_WRITE; readable but not executable
 * pages leave the VTL's memslots (ram_slots.c) so that fetches fail there.
 */
static bool host_protect(void *host, unsigned int vtl, uint64_t gpa, uint64_t npages, uint8_t access)
{
	struct vm *vm = host;
	int prot = (access & HV_MAP_GPA_READABLE ? PROT_READ : 0) | (access & HV_MAP_GPA_WRITABLE ? PROT_WRITE : 0);
	bool nx = (access & HV_MAP_GPA_READABLE) && !(access & HV_MAP_GPA_KERNEL_EXECUTABLE);

	if (guest_mem_protect(&vm->mem, vtl, gpa, npages, prot) && ram_slots_set_nx(vm, vtl, gpa, npages, nx)) {
		stat_inc(&vm->stats, STAT_PROT_CHANGE);
		return true;
	}
	pr_warning("cannot protect %llu page(s) at GPA %#llx of VTL%u: %s (vm.max_map_count, memslots: docs/vsm.md)",
		   (unsigned long long)npages, (unsigned long long)gpa, vtl, strerror(errno));
	return false;
}

static bool host_map_overlay(void *host, unsigned int vtl, uint64_t gpa)
{
	return overlay_map(&((struct vm *)host)->mem, vtl, gpa);
}

static void host_unmap_overlay(void *host, unsigned int vtl, uint64_t gpa)
{
	overlay_unmap(&((struct vm *)host)->mem, vtl, gpa);
}

/* To the interrupt controller of (vp, vtl): KVM's APIC for VTL0, kvsm's above. */
static void host_raise_irq(void *host, unsigned int vp, unsigned int vtl, uint8_t vector, bool auto_eoi)
{
	struct vcpu *cpu = &((struct vm *)host)->vcpus[vp];

	cpu->v[vtl].chip->raise(cpu, vtl, vector, auto_eoi);
}

static void host_flush_tlb(void *host, unsigned int caller, unsigned int vtl, const uint64_t *mask)
{
	vcpu_flush_tlbs(&((struct vm *)host)->vcpus[caller], vtl, mask);
}

/* Whoever stalled on a lock retries; a VP not waiting just sees one more wake-up. */
static void host_tlb_unlocked(void *host)
{
	struct vm *vm = host;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_wake(&vm->vcpus[i]);
}

static uint64_t host_guest_tsc(void *host)
{
	struct vm *vm = host;

	return vm_guest_tsc(vm);
}

static uint64_t host_vp_runtime(void *host, unsigned int vp)
{
	struct vm *vm = host;
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(vm->vcpus[vp].thread, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100;
}

/* Only the VP's own thread calls these: vCPU ioctls are per-thread. */
static bool host_apic_msr(void *host, unsigned int vp, unsigned int vtl, uint32_t msr, bool write, uint64_t *val)
{
	struct vm *vm = host;

	/* KVM's in-kernel APIC takes these only in x2APIC mode; in xAPIC mode the guest gets #GP. */
	if (vtl != 0)
		return false;
	return write ? kvm_vcpu_set_msr(vm->vcpus[vp].fd, msr, *val) : kvm_vcpu_get_msr(vm->vcpus[vp].fd, msr, val);
}

/*
 * XMM0-5 of the calling VP (fast hypercalls): the XSAVE legacy area at
 * FX_XMM0, valid when XSTATE_BV has the SSE bit (else all zero). The vCPU is
 * the calling VTL's: XMM registers are shared between VTLs, and it holds them.
 */
static uint8_t *read_xsave(struct vm *vm, unsigned int vp, unsigned int vtl, uint64_t *bv)
{
	static __thread struct kvm_xsave xs;
	uint8_t *x = (uint8_t *)xs.region;

	if (ioctl(vm->vcpus[vp].v[vtl].fd, KVM_GET_XSAVE, &xs))
		vcpu_fatal_errno(&vm->vcpus[vp], "KVM_GET_XSAVE (XMM of a fast hypercall)");
	*bv = ld64(x + XSAVE_XSTATE_BV);
	return x;
}

static void host_get_xmm(void *host, unsigned int vp, unsigned int vtl, uint64_t xmm[6][2])
{
	uint64_t bv;
	const uint8_t *x = read_xsave(host, vp, vtl, &bv);

	if (bv & XFEATURE_SSE)
		memcpy(xmm, x + FX_XMM0, 6 * 16);
	else
		memset(xmm, 0, 6 * 16);
}

static void host_set_xmm(void *host, unsigned int vp, unsigned int vtl, const uint64_t xmm[6][2])
{
	struct vm *vm = host;
	uint64_t bv;
	uint8_t *x = read_xsave(vm, vp, vtl, &bv);

	if (!(bv & XFEATURE_SSE))		/* the other XMM registers must read as their initial zeros */
		memset(x + FX_XMM0, 0, 16 * 16);
	st64(x + XSAVE_XSTATE_BV, bv | XFEATURE_SSE);
	memcpy(x + FX_XMM0, xmm, 6 * 16);
	if (ioctl(vm->vcpus[vp].v[vtl].fd, KVM_SET_XSAVE, x))
		vcpu_fatal_errno(&vm->vcpus[vp], "KVM_SET_XSAVE (XMM of a fast hypercall)");
}

/* ---- VSM: another VP's vCPUs are reached through that VP's own thread ---- */

struct reg_access {
	unsigned int vtl;
	unsigned int caller_vtl;
	uint32_t name;
	uint64_t *val;
	bool write;
	uint16_t status;
};

/* A register of one VTL's vCPU, for vtl_set_shared; the status is the access's. */
static bool set_register(struct vcpu *cpu, unsigned int vtl, void *arg)
{
	struct reg_access *a = arg;

	a->status = vtl_regs_set(cpu, vtl, a->name, a->val);
	return a->status == HV_STATUS_SUCCESS;
}

static bool is_event_register(uint32_t name)
{
	return name == HV_REGISTER_PENDING_INTERRUPTION || name == HV_REGISTER_PENDING_EVENT0;
}

static void do_reg_access(struct vcpu *cpu, void *arg)
{
	struct reg_access *a = arg;
	/* Shared registers live in the vCPU of the VTL the VP runs, whichever VTL the caller names. */
	unsigned int vtl = vtl_is_shared_register(a->name) ? vcpu_vtl(cpu) : a->vtl;
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };

	/*
	 * On the target's own thread, so vcpu_vtl(cpu) cannot change under us: a VP
	 * running a VTL above the caller's is out of the caller's reach (its
	 * shared registers are that VTL's live state). OpenVMM refuses every
	 * other-VP access with ACCESS_DENIED; kvsm allows it only in this safe case.
	 */
	if (vcpu_vtl(cpu) > a->caller_vtl) {
		a->status = HV_STATUS_ACCESS_DENIED;
		return;
	}
	if (!a->write) {
		a->status = vtl_regs_get(cpu, vtl, a->name, a->val);
		return;
	}
	if (vtl_is_mtrr_register(a->name)) {
		vtl_set_shared(cpu, vtl, set_register, a);
		return;
	}
	a->status = vtl_regs_set(cpu, vtl, a->name, a->val);
	/* A #PF event sets CR2, which is shared: keep the running VTL's copy, which the switch carries. */
	if (!a->status && is_event_register(a->name) && vtl != vcpu_vtl(cpu)) {
		struct kvm_run *src = cpu->v[vtl].run, *dst = cpu->v[vcpu_vtl(cpu)].run;

		if (dst->s.regs.sregs.cr2 != src->s.regs.sregs.cr2) {
			dst->s.regs.sregs.cr2 = src->s.regs.sregs.cr2;
			dst->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		}
	}
	/* An injected event ends HLT as its delivery would (KVM's own HLT only wakes for interrupts). */
	if (!a->status && vtl == 0 && is_event_register(a->name) && (a->val[0] & 1) &&
	    ioctl(cpu->v[0].fd, KVM_SET_MP_STATE, &runnable))
		vcpu_fatal_errno(cpu, "KVM_SET_MP_STATE (VTL0, event injected)");
}

/* Register and context operations come from a hypercall, so from a VP's own thread. */
static struct vcpu *caller_vcpu(void)
{
	struct vcpu *self = vcpu_self();

	if (!self)
		die(KVSM_EXIT_HOST, "VSM register access from a thread that is not a VP");
	return self;
}

/* Status of a request the target could not serve because the VM is stopping. */
#define STATUS_VM_STOPPING HV_STATUS_INVALID_VP_STATE

static uint16_t host_get_vp_register(void *host, unsigned int vp, unsigned int vtl, unsigned int caller_vtl,
				     uint32_t name, uint64_t val[2])
{
	struct vm *vm = host;
	struct reg_access a = { .vtl = vtl, .caller_vtl = caller_vtl, .name = name, .val = val };

	if (!vcpu_run_on(caller_vcpu(), &vm->vcpus[vp], do_reg_access, &a))
		return STATUS_VM_STOPPING;
	return a.status;
}

static uint16_t host_set_vp_register(void *host, unsigned int vp, unsigned int vtl, unsigned int caller_vtl,
				     uint32_t name, const uint64_t val[2])
{
	struct vm *vm = host;
	uint64_t v[2] = { val[0], val[1] };
	struct reg_access a = { .vtl = vtl, .caller_vtl = caller_vtl, .name = name, .val = v, .write = true };

	if (!vcpu_run_on(caller_vcpu(), &vm->vcpus[vp], do_reg_access, &a))
		return STATUS_VM_STOPPING;
	return a.status;
}

struct context_load {
	unsigned int vtl;
	const struct hv_initial_vp_context *ctx;
	bool start;		/* HvCallStartVirtualProcessor: only a VP that never ran */
	uint16_t status;
};

/* On the target VP's thread: load the context; for a start, also make that VTL the running one. */
static void do_context_load(struct vcpu *cpu, void *arg)
{
	struct context_load *c = arg;
	struct kvm_mp_state mp, runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (c->start) {
		if (ioctl(cpu->v[0].fd, KVM_GET_MP_STATE, &mp))
			vcpu_fatal_errno(cpu, "KVM_GET_MP_STATE (VTL0, VP start)");
		if (mp.mp_state != KVM_MP_STATE_UNINITIALIZED && mp.mp_state != KVM_MP_STATE_INIT_RECEIVED) {
			c->status = HV_STATUS_INVALID_VP_STATE;	/* it has run */
			return;
		}
	}
	c->status = vtl_load_initial_context(cpu, c->vtl, c->ctx);
	if (c->status || !c->start)
		return;
	/* Leave wait-for-SIPI in VTL0 too: the started VTL may return to it. */
	if (ioctl(cpu->v[0].fd, KVM_SET_MP_STATE, &runnable))
		vcpu_fatal_errno(cpu, "KVM_SET_MP_STATE (VTL0, VP start)");
	vtl_enter(cpu, c->vtl, HV_VTL_ENTRY_START);
}

static uint16_t host_set_initial_context(void *host, unsigned int vp, unsigned int vtl,
					 const struct hv_initial_vp_context *ctx)
{
	struct vm *vm = host;
	struct context_load c = { .vtl = vtl, .ctx = ctx };

	if (!vcpu_run_on(caller_vcpu(), &vm->vcpus[vp], do_context_load, &c))
		return STATUS_VM_STOPPING;
	return c.status;
}

static uint16_t host_start_vp(void *host, unsigned int vp, unsigned int vtl, const struct hv_initial_vp_context *ctx)
{
	struct vm *vm = host;
	struct context_load c = { .vtl = vtl, .ctx = ctx, .start = true };

	if (!vcpu_run_on(caller_vcpu(), &vm->vcpus[vp], do_context_load, &c))
		return STATUS_VM_STOPPING;
	return c.status;
}

/* The core's log lines, on stderr as kvsm's own (--trace lines marked). */
static void host_log(void *host, enum hv_log_level level, const char *msg)
{
	fprintf(stderr, "kvsm: %s%s\n", level == HV_LOG_TRACE ? "trace: " : "", msg);
}

/* VTL0's VM has KVM's PIC (with its ELCR) and PIT: their ports never leave the kernel. */
static bool host_io_port_trappable(void *host, unsigned int vtl, uint16_t port)
{
	return vtl > 0 || !(port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 ||
			    (port >= 0x40 && port <= 0x43) || port == 0x61 || port == 0x4d0 || port == 0x4d1);
}

const struct hv_host_ops kvm_hv_ops = {
	.guest_access = host_guest_access,
	.is_ram = host_is_ram,
	.protect = host_protect,
	.map_overlay = host_map_overlay,
	.unmap_overlay = host_unmap_overlay,
	.raise_irq = host_raise_irq,
	.flush_tlb = host_flush_tlb,
	.tlb_unlocked = host_tlb_unlocked,
	.guest_tsc = host_guest_tsc,
	.vp_runtime = host_vp_runtime,
	.apic_msr = host_apic_msr,
	.get_vp_register = host_get_vp_register,
	.set_vp_register = host_set_vp_register,
	.set_initial_context = host_set_initial_context,
	.start_vp = host_start_vp,
	.msr_intercepts_changed = hyperv_msr_intercepts_changed,
	.io_port_trappable = host_io_port_trappable,
	.get_xmm = host_get_xmm,
	.set_xmm = host_set_xmm,
	.log = host_log,
	.timer_arm = hv_timer_arm,
};
