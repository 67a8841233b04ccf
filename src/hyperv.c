/*
 * KVM side of the Hyper-V interface: host operations for the core, the MSR
 * filter that sends synthetic MSRs to user space, and the hypercall exit.
 */
#include "hyperv.h"
#include "autoeoi.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"
#include "vtl_irq.h"
#include "vtl_regs.h"

#include "kvsm/hv.h"
#include "hv/tlfs.h"
#include "lapic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <x86intrin.h>

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_ADJUST 0x3b
#define HV_MSR_RANGE_BASE 0x40000000u
#define HV_MSR_RANGE_SIZE 0x100u
/* KVM's local APIC timer counts at 1 GHz (APIC_BUS_CYCLE_NS = 1). */
#define KVM_APIC_HZ 1000000000ull

static void *host_guest_ptr(void *host, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	struct vm *vm = host;

	(void)write;	/* no VTL protections yet: every VTL sees RAM read-write */
	return guest_mem_ptr(&vm->mem, vtl, gpa, len);
}

/* A fixed, edge, physical-destination MSI to the VP's in-kernel local APIC (VTL0). */
static void host_raise_irq(void *host, unsigned int vp, unsigned int vtl, uint8_t vector, bool auto_eoi)
{
	struct vm *vm = host;
	struct kvm_msi msi = { .address_lo = 0xfee00000u | (vp << 12), .data = vector };

	/* A lower VTL's interrupt while the VP runs a higher one: VINA (spec 4.4). */
	if (hv_vp_active_vtl(vm->hv, vp) > vtl)
		hv_vina_notify(vm->hv, vp, vtl);
	if (vtl != 0) {
		vtl_irq_raise(vm, vp, vtl, vector, auto_eoi);
		return;
	}
	if (auto_eoi) {
		autoeoi_raise(&vm->vcpus[vp], vector);
		return;
	}
	if (ioctl(vm->vm_fd[0], KVM_SIGNAL_MSI, &msi) < 0)
		pr_warning("KVM_SIGNAL_MSI to vp%u vector %u: %s", vp, vector, strerror(errno));
}

static void host_flush_tlb(void *host, unsigned int caller, const uint64_t *mask)
{
	vcpu_flush_tlbs(&((struct vm *)host)->vcpus[caller], mask);
}

static uint64_t host_guest_tsc(void *host)
{
	struct vm *vm = host;

	return __rdtsc() + vm->guest_tsc_delta;
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
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = msr, .data = write ? *val : 0 } };

	/* KVM's in-kernel APIC takes these only in x2APIC mode; in xAPIC mode the guest gets #GP. */
	if (vtl != 0 || ioctl(vm->vcpus[vp].fd, write ? KVM_SET_MSRS : KVM_GET_MSRS, &m) != 1)
		return false;
	if (!write)
		*val = m.e.data;
	return true;
}

/* XMM registers live in the XSAVE legacy area at byte 160; XSTATE_BV (byte 512) bit 1 says they are valid. */
#define XSAVE_XMM0 160
#define XSAVE_XSTATE_BV 512
#define XSTATE_SSE (1ull << 1)

static void host_get_xmm(void *host, unsigned int vp, uint64_t xmm[6][2])
{
	struct vm *vm = host;
	static __thread struct kvm_xsave xs;
	uint64_t bv;

	if (ioctl(vm->vcpus[vp].fd, KVM_GET_XSAVE, &xs))
		die_errno(KVSM_EXIT_HOST, "KVM_GET_XSAVE");
	memcpy(&bv, (uint8_t *)xs.region + XSAVE_XSTATE_BV, 8);
	if (bv & XSTATE_SSE)
		memcpy(xmm, (uint8_t *)xs.region + XSAVE_XMM0, 6 * 16);
	else
		memset(xmm, 0, 6 * 16);	/* SSE in its initial state: all zero */
}

static void host_set_xmm(void *host, unsigned int vp, const uint64_t xmm[6][2])
{
	struct vm *vm = host;
	static __thread struct kvm_xsave xs;
	uint64_t bv;

	if (ioctl(vm->vcpus[vp].fd, KVM_GET_XSAVE, &xs))
		die_errno(KVSM_EXIT_HOST, "KVM_GET_XSAVE");
	memcpy(&bv, (uint8_t *)xs.region + XSAVE_XSTATE_BV, 8);
	if (!(bv & XSTATE_SSE))		/* the other XMM registers must read as their initial zeros */
		memset((uint8_t *)xs.region + XSAVE_XMM0, 0, 16 * 16);
	bv |= XSTATE_SSE;
	memcpy((uint8_t *)xs.region + XSAVE_XSTATE_BV, &bv, 8);
	memcpy((uint8_t *)xs.region + XSAVE_XMM0, xmm, 6 * 16);
	if (ioctl(vm->vcpus[vp].fd, KVM_SET_XSAVE, &xs))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_XSAVE");
}

/* ---- VSM: another VP's vCPUs are reached through that VP's own thread ---- */

struct reg_access {
	unsigned int vtl;
	uint32_t name;
	uint64_t *val;
	bool write;
	uint16_t status;
};

/*
 * Registers shared by all VTLs (spec 4.3) live in the vCPU of the VTL the VP
 * runs: whichever VTL the caller names, that is where they are read and
 * written (vtl_switch carries them along).
 */
static bool is_shared_register(uint32_t name)
{
	return (name >= VTL_REG_RAX && name <= VTL_REG_R15 && name != VTL_REG_RSP) ||
	       (name >= VTL_REG_XMM0 && name <= VTL_REG_XMM_CONTROL_STATUS) || name == VTL_REG_CR2 ||
	       name == VTL_REG_XFEM || (name >= VTL_REG_DR0 && name <= VTL_REG_DR0 + 3);
}

/* MTRRs are shared too, but KVM keeps a copy per vCPU: a write goes to every VTL (as vtl_write_shared_msr). */
static bool is_mtrr_register(uint32_t name)
{
	return name >= VTL_REG_MTRR_DEF_TYPE && name <= VTL_REG_MTRR_FIX4K_C0000 + 7;
}

static bool is_event_register(uint32_t name)
{
	return name == VTL_REG_PENDING_INTERRUPTION || name == VTL_REG_PENDING_EVENT0;
}

static void do_reg_access(struct vcpu *cpu, void *arg)
{
	struct reg_access *a = arg;
	unsigned int vtl = is_shared_register(a->name) ? cpu->vtl : a->vtl;
	struct kvm_mp_state runnable = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (!a->write) {
		a->status = vtl_regs_get(cpu, vtl, a->name, a->val);
		return;
	}
	a->status = vtl_regs_set(cpu, vtl, a->name, a->val);
	for (unsigned int v = 0; !a->status && is_mtrr_register(a->name) && v < cpu->vm->opts->vtls; v++)
		if (v != vtl && vtl_regs_set(cpu, v, a->name, a->val))
			die(KVSM_EXIT_HOST, "VTL%u refused MTRR register %#x that VTL%u took", v, a->name, vtl);
	/* A #PF event sets CR2, which is shared: keep the running VTL's copy, which the switch carries. */
	if (!a->status && is_event_register(a->name) && vtl != cpu->vtl) {
		struct kvm_run *src = cpu->v[vtl].run, *dst = cpu->v[cpu->vtl].run;

		if (dst->s.regs.sregs.cr2 != src->s.regs.sregs.cr2) {
			dst->s.regs.sregs.cr2 = src->s.regs.sregs.cr2;
			dst->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		}
	}
	/* An injected event ends HLT as its delivery would (KVM's own HLT only wakes for interrupts). */
	if (!a->status && vtl == 0 && is_event_register(a->name) && (a->val[0] & 1) &&
	    ioctl(cpu->v[0].fd, KVM_SET_MP_STATE, &runnable))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_MP_STATE");
}

static struct vcpu *caller_vcpu(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (pthread_equal(pthread_self(), vm->vcpus[i].thread))
			return &vm->vcpus[i];
	die(KVSM_EXIT_HOST, "VSM register access from a thread that is not a VP");
}

static uint16_t host_get_vp_register(void *host, unsigned int vp, unsigned int vtl, uint32_t name, uint64_t val[2])
{
	struct vm *vm = host;
	struct reg_access a = { .vtl = vtl, .name = name, .val = val };

	vcpu_run_on(caller_vcpu(vm), &vm->vcpus[vp], do_reg_access, &a);
	return a.status;
}

static uint16_t host_set_vp_register(void *host, unsigned int vp, unsigned int vtl, uint32_t name,
				     const uint64_t val[2])
{
	struct vm *vm = host;
	uint64_t v[2] = { val[0], val[1] };
	struct reg_access a = { .vtl = vtl, .name = name, .val = v, .write = true };

	vcpu_run_on(caller_vcpu(vm), &vm->vcpus[vp], do_reg_access, &a);
	return a.status;
}

struct context_load {
	unsigned int vtl;
	const uint8_t *ctx;
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
			die_errno(KVSM_EXIT_HOST, "KVM_GET_MP_STATE");
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
		die_errno(KVSM_EXIT_HOST, "KVM_SET_MP_STATE");
	hv_vp_starts_in(cpu->vm->hv, cpu->index, c->vtl);
	if (c->vtl != cpu->vtl)
		vtl_switch(cpu, c->vtl);
}

static uint16_t host_set_initial_context(void *host, unsigned int vp, unsigned int vtl, const uint8_t ctx[224])
{
	struct vm *vm = host;
	struct context_load c = { .vtl = vtl, .ctx = ctx };

	vcpu_run_on(caller_vcpu(vm), &vm->vcpus[vp], do_context_load, &c);
	return c.status;
}

static uint16_t host_start_vp(void *host, unsigned int vp, unsigned int vtl, const uint8_t ctx[224])
{
	struct vm *vm = host;
	struct context_load c = { .vtl = vtl, .ctx = ctx, .start = true };

	vcpu_run_on(caller_vcpu(vm), &vm->vcpus[vp], do_context_load, &c);
	return c.status;
}

static const struct hv_host_ops kvm_hv_ops = {
	.guest_ptr = host_guest_ptr,
	.raise_irq = host_raise_irq,
	.flush_tlb = host_flush_tlb,
	.guest_tsc = host_guest_tsc,
	.vp_runtime = host_vp_runtime,
	.apic_msr = host_apic_msr,
	.get_vp_register = host_get_vp_register,
	.set_vp_register = host_set_vp_register,
	.set_initial_context = host_set_initial_context,
	.start_vp = host_start_vp,
	.get_xmm = host_get_xmm,
	.set_xmm = host_set_xmm,
};

/*
 * The guest TSC is the host TSC plus the offset KVM chose at vCPU creation
 * (no TSC scaling: kvsm leaves the guest at the host's frequency). Read both
 * once, back to back, to learn that offset.
 */
static void calibrate_tsc(struct vm *vm, uint64_t *tsc_hz)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_IA32_TSC };
	uint64_t before, after;
	int khz;

	before = __rdtsc();
	if (ioctl(vm->vcpus[0].fd, KVM_GET_MSRS, &m) != 1)
		die_errno(KVSM_EXIT_HOST, "KVM_GET_MSRS(IA32_TSC)");
	after = __rdtsc();
	vm->guest_tsc_delta = m.e.data - (before + (after - before) / 2);
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		die_errno(KVSM_EXIT_HOST, "KVM_GET_TSC_KHZ");
	*tsc_hz = (uint64_t)khz * 1000u;
	vm->tsc_hz = *tsc_hz;
}

/*
 * MSRs KVM must hand to kvsm: the synthetic ones in every VTL; in VTLs >= 1
 * also the local APIC's (IA32_APIC_BASE, TSC deadline, x2APIC), which kvsm
 * emulates there. A zero bitmap bit denies KVM the access: it exits.
 */
static void set_msr_filter(struct vm *vm, unsigned int vtl)
{
	static uint8_t deny[HV_MSR_RANGE_SIZE / 8], mtrr_writes[0x100 / 8];
	const uint32_t w = KVM_MSR_FILTER_WRITE;
	const uint32_t rw = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args[0] = KVM_MSR_EXIT_REASON_FILTER };
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = {
			{ .flags = rw, .nmsrs = HV_MSR_RANGE_SIZE, .base = HV_MSR_RANGE_BASE, .bitmap = deny },
			{ .flags = rw, .nmsrs = 0x100, .base = LAPIC_MSR_X2APIC_FIRST, .bitmap = deny },
			{ .flags = rw, .nmsrs = 1, .base = LAPIC_MSR_APIC_BASE, .bitmap = deny },
			{ .flags = rw, .nmsrs = 1, .base = LAPIC_MSR_TSC_DEADLINE, .bitmap = deny },
			/* MTRRs are shared between VTLs: writes come to kvsm, which applies them to every VTL. */
			{ .flags = w, .nmsrs = 0x100, .base = 0x200, .bitmap = mtrr_writes },
			/* The TSC is the reference clock's source: writes #GP (docs/hyperv.md). */
			{ .flags = w, .nmsrs = 1, .base = MSR_IA32_TSC, .bitmap = deny },
			{ .flags = w, .nmsrs = 1, .base = MSR_IA32_TSC_ADJUST, .bitmap = deny },
		},
	};

	memset(mtrr_writes, 0xff, sizeof(mtrr_writes));
	for (uint32_t msr = 0x200; msr < 0x300; msr++)
		if (vtl_is_mtrr(msr))
			mtrr_writes[(msr - 0x200) / 8] &= (uint8_t)~(1u << ((msr - 0x200) % 8));
	if (vm->opts->vtls == 1)
		f.ranges[4].nmsrs = 0;

	if (vtl == 0)	/* VTL0's APIC is KVM's: empty ranges are skipped */
		f.ranges[1].nmsrs = f.ranges[2].nmsrs = f.ranges[3].nmsrs = 0;
	if (ioctl(vm->vm_fd[vtl], KVM_ENABLE_CAP, &cap))
		die_errno(KVSM_EXIT_HOST, "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)");
	if (ioctl(vm->vm_fd[vtl], KVM_X86_SET_MSR_FILTER, &f))
		die_errno(KVSM_EXIT_HOST, "KVM_X86_SET_MSR_FILTER");
}

void hyperv_init(struct vm *vm)
{
	struct hv_config cfg = {
		.nr_vps = vm->nr_vcpus,
		.apic_hz = KVM_APIC_HZ,
		.ram_size = vm->mem.size,
		.gpa_limit = 1ull << 52,
		.trace = vm->opts->trace,
		.max_vtl = vm->opts->vtls - 1,
		.ops = &kvm_hv_ops,
		.host = vm,
	};

	calibrate_tsc(vm, &cfg.tsc_hz);
	for (unsigned int vtl = 0; vtl < vm->opts->vtls; vtl++)
		set_msr_filter(vm, vtl);
	vm->hv = hv_partition_create(&cfg);
	if (!vm->hv)
		die(KVSM_EXIT_HOST, "cannot create the Hyper-V partition state");
}

/* CPL and mode of the caller, from the synced segment registers (TLFS 3.x: #UD unless CPL 0 in protected mode). */
static bool hypercall_allowed(const struct kvm_sregs *s, const struct kvm_regs *r)
{
	return (s->cr0 & 1) && !(r->rflags & (1u << 17)) && s->ss.dpl == 0 && (s->cs.selector & 3) == 0;
}

static void inject_ud(struct vcpu *cpu)
{
	struct kvm_vcpu_events *ev = &cpu->run->s.regs.events;

	ev->exception.injected = 1;
	ev->exception.nr = 6;
	ev->exception.has_error_code = 0;
	cpu->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
}

#define OUT_IMM8_LEN 2

bool hyperv_handle_io(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct kvm_regs *r = &run->s.regs.regs;
	struct kvm_sregs *s = &run->s.regs.sregs;
	struct hv_hypercall_regs hr;
	enum hv_hypercall_outcome out;

	if (run->io.port != HV_HYPERCALL_PORT || run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
	    run->io.count != 1 || !hv_hypercall_enabled(cpu->vm->hv, cpu->index, cpu->vtl))
		return false;
	stat_inc(&cpu->vm->stats, STAT_HYPERCALL);
	if (!hypercall_allowed(s, r)) {
		r->rip -= OUT_IMM8_LEN;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		inject_ud(cpu);
		return true;
	}
	hr = (struct hv_hypercall_regs){
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi, .rdi = r->rdi,
		.r8 = r->r8, .long_mode = (s->efer & (1u << 10)) && s->cs.l,
	};
	out = hv_hypercall(cpu->vm->hv, cpu->index, cpu->vtl, &hr);
	if (out == HV_HYPERCALL_SWITCH_VTL) {
		/* RIP is past the call in the old VTL; RAX/RCX/RDX are what the new VTL gets. */
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		vtl_switch(cpu, hr.target_vtl);
		r = &cpu->run->s.regs.regs;
		r->rax = hr.rax;
		r->rcx = hr.rcx;
		r->rdx = hr.rdx;
		return true;
	}
	r->rax = hr.rax;
	r->rcx = hr.rcx;
	r->rdx = hr.rdx;
	if (out != HV_HYPERCALL_DONE)
		r->rip -= OUT_IMM8_LEN;		/* re-execute (continuation) or fault at the call */
	if (out == HV_HYPERCALL_UD)
		inject_ud(cpu);
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return true;
}

void hyperv_handle_msr(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	enum hv_msr_result res;

	if (run->exit_reason == KVM_EXIT_X86_WRMSR && vtl_is_mtrr(run->msr.index)) {
		run->msr.error = !vtl_write_shared_msr(cpu, run->msr.index, run->msr.data);
		return;
	}
	if (run->msr.index == MSR_IA32_TSC || run->msr.index == MSR_IA32_TSC_ADJUST) {
		run->msr.error = 1;
		return;
	}

	stat_inc(&cpu->vm->stats, STAT_SYNTHETIC_MSR);
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		uint64_t val = 0;

		res = hv_msr_read(cpu->vm->hv, cpu->index, cpu->vtl, run->msr.index, &val);
		run->msr.data = val;
	} else
		res = hv_msr_write(cpu->vm->hv, cpu->index, cpu->vtl, run->msr.index, run->msr.data);
	run->msr.error = res != HV_MSR_OK;
}
