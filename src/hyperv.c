/*
 * KVM side of the Hyper-V interface: creating the partition, the MSR filter
 * that sends synthetic MSRs to user space, and the hypercall and MSR exits.
 * The host operations the core calls are in hv_host.c.
 */
#include "hyperv.h"
#include "hv_timer.h"
#include "hv_host.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"
#include "vtl_fault.h"
#include "timeline.h"

#include "kvsm/hv.h"
#include "kvsm/tlfs.h"
#include "hv/hypercall_page.h"
#include "lapic.h"
#include "x86/arch.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <x86intrin.h>

#define HV_MSR_RANGE_BASE 0x40000000u
#define HV_MSR_RANGE_SIZE 0x100u
/* KVM's local APIC timer counts at 1 GHz (APIC_BUS_CYCLE_NS = 1). */
#define KVM_APIC_HZ 1000000000ull


/*
 * The guest TSC is the host TSC plus the offset KVM chose at vCPU creation
 * (no TSC scaling: kvsm leaves the guest at the host's frequency). Read both
 * once, back to back, to learn that offset.
 */
static bool tsc_offset_attr(int vcpu_fd, uint64_t *offset, bool set)
{
	struct kvm_device_attr a = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uintptr_t)offset,
	};

	return ioctl(vcpu_fd, set ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR, &a) == 0;
}

/*
 * One guest TSC for the whole partition: every vCPU of every VTL (each VTL is
 * its own KVM VM, which would start its own TSC) gets VP0/VTL0's TSC offset,
 * exactly with KVM_VCPU_TSC_OFFSET where KVM has it, else by writing the TSC
 * (within an ioctl's time). The reference time is then one formula on it.
 */
static void sync_tsc(struct vm *vm)
{
	uint64_t offset = (uint64_t)vm->guest_tsc_delta;
	bool exact = tsc_offset_attr(vm->vcpus[0].v[0].fd, &offset, false);

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		for (unsigned int vtl = 0; vtl < vm->opts->vtls; vtl++) {
			int fd = vm->vcpus[i].v[vtl].fd;

			if (exact) {
				if (!tsc_offset_attr(fd, &offset, true))
					die_errno(KVSM_EXIT_HOST, "setting the TSC offset of vp%u vtl%u", i, vtl);
			} else if (i || vtl) {
				if (!kvm_vcpu_set_msr(fd, MSR_IA32_TSC, vm_guest_tsc(vm)))
					die_errno(KVSM_EXIT_HOST, "KVM_SET_MSRS(IA32_TSC)");
			}
		}
	if (exact)
		vm->guest_tsc_delta = offset;
}

static void calibrate_tsc(struct vm *vm, uint64_t *tsc_hz)
{
	uint64_t before, after, guest;
	int khz;

	/* Estimate guest - host TSC around one read (exact below where KVM can say). */
	before = __rdtsc();
	if (!kvm_vcpu_get_msr(vm->vcpus[0].fd, MSR_IA32_TSC, &guest))
		die_errno(KVSM_EXIT_HOST, "KVM_GET_MSRS(IA32_TSC)");
	after = __rdtsc();
	vm->guest_tsc_delta = guest - (before + (after - before) / 2);
	sync_tsc(vm);
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		die_errno(KVSM_EXIT_HOST, "KVM_GET_TSC_KHZ");
	*tsc_hz = (uint64_t)khz * 1000u;
	vm->tsc_hz = *tsc_hz;
}

/* MSRs a higher VTL can intercept (src/hv/intercept_reg.c), grouped into filter ranges. */
static const struct {
	uint32_t base, n;
} regint_ranges[] = {
	{ 0x1a0, 1 },		/* IA32_MISC_ENABLE */
	{ 0x1b, 1 },		/* IA32_APIC_BASE */
	{ 0x174, 3 },		/* SYSENTER_CS/ESP/EIP */
	{ 0xc0000080, 5 },	/* EFER, STAR, LSTAR, CSTAR, SFMASK */
	{ 0xc0000103, 1 },	/* TSC_AUX */
	{ 0xda0, 1 },		/* XSS */
	{ 0x6a2, 7 },		/* S_CET .. INTERRUPT_SSP_TABLE_ADDR */
};
#define NR_REGINT_RANGES (sizeof(regint_ranges) / sizeof(regint_ranges[0]))
#define NR_OWN_RANGES 7

/*
 * MSRs KVM must hand to kvsm: the synthetic ones in every VTL; in VTLs >= 1
 * also the local APIC's (IA32_APIC_BASE, TSC deadline, x2APIC), which kvsm
 * emulates there; and those a higher VTL intercepts now. A zero bitmap bit
 * denies KVM the access: it exits. An intercepted MSR exits for reads and
 * writes (one range each keeps within KVM's 16); kvsm completes the accesses
 * the higher VTL does not want (vtl_regint.c). KVM evaluates ranges in
 * order, so VTL >= 1's own APIC_BASE range comes first.
 *
 * KVM never applies a filter to the x2APIC range 0x800-0x8ff; in a VM without
 * an in-kernel APIC (VTL >= 1) it takes those MSRs as invalid, and only
 * KVM_MSR_EXIT_REASON_INVAL brings them to user space (else the guest gets
 * #GP). With it, every other invalid MSR access of those VTLs comes to kvsm
 * too, which answers #GP for each one it does not own (hyperv_handle_msr).
 */
static void set_msr_filter(struct vm *vm, unsigned int vtl)
{
	static uint8_t deny[HV_MSR_RANGE_SIZE / 8], mtrr_writes[0x100 / 8];
	uint8_t regint[NR_REGINT_RANGES][1];
	const uint32_t w = KVM_MSR_FILTER_WRITE;
	const uint32_t rw = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
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

	_Static_assert(NR_OWN_RANGES + NR_REGINT_RANGES <= KVM_MSR_FILTER_MAX_RANGES, "KVM takes 16 ranges");
	memset(mtrr_writes, 0xff, sizeof(mtrr_writes));
	for (uint32_t msr = 0x200; msr < 0x300; msr++)
		if (vtl_is_mtrr(msr))
			mtrr_writes[(msr - 0x200) / 8] &= (uint8_t)~(1u << ((msr - 0x200) % 8));
	if (vm->opts->vtls == 1)
		f.ranges[4].nmsrs = 0;
	if (vtl == 0)	/* VTL0's APIC is KVM's: empty ranges are skipped */
		f.ranges[1].nmsrs = f.ranges[2].nmsrs = f.ranges[3].nmsrs = 0;
	for (unsigned int i = 0; i < NR_REGINT_RANGES; i++) {
		struct kvm_msr_filter_range *r = &f.ranges[NR_OWN_RANGES + i];

		regint[i][0] = 0xff;
		for (uint32_t j = 0; j < regint_ranges[i].n; j++)
			if (vm->hv && hv_msr_intercept_armed(vm->hv, vtl, regint_ranges[i].base + j))
				regint[i][0] &= (uint8_t)~(1u << j);
		if (regint[i][0] != 0xff)
			*r = (struct kvm_msr_filter_range){
				.flags = rw, .nmsrs = regint_ranges[i].n, .base = regint_ranges[i].base,
				.bitmap = regint[i],
			};
	}
	if (ioctl(vm->vm_fd[vtl], KVM_X86_SET_MSR_FILTER, &f))
		die_errno(KVSM_EXIT_HOST, "KVM_X86_SET_MSR_FILTER");
}

/* The core changed which MSRs of a VTL some higher VTL intercepts (serialised by the core). */
void hyperv_msr_intercepts_changed(void *host, unsigned int vtl)
{
	set_msr_filter(host, vtl);
}

static void enable_user_space_msrs(struct vm *vm, unsigned int vtl)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_FILTER | (vtl > 0 ? KVM_MSR_EXIT_REASON_INVAL : 0),
	};

	if (ioctl(vm->vm_fd[vtl], KVM_ENABLE_CAP, &cap))
		die_errno(KVSM_EXIT_HOST, "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)");
}

void hyperv_init(struct vm *vm)
{
	struct hv_config cfg = {
		.nr_vps = vm->nr_vcpus,
		.apic_hz = KVM_APIC_HZ,
		.ram_size = vm->mem.size,
		.gpa_limit = 1ull << vm->phys_bits,	/* the guest's MAXPHYADDR (spec 2.2, 2.4) */
		.ram_end = guest_high_ram(vm->mem.size) ? GUEST_HIGH_RAM_BASE + guest_high_ram(vm->mem.size)
							: vm->mem.size,
		.policy = vm->opts->policy == KVSM_POLICY_PERMISSIVE ? HV_POLICY_PERMISSIVE : HV_POLICY_STRICT,
		.trace = vm->opts->trace,
		.hypercall_port = KVSM_HYPERCALL_PORT,
		.max_vtl = vm->opts->vtls - 1,
		.ops = &kvm_hv_ops,
		.host = vm,
	};

	calibrate_tsc(vm, &cfg.tsc_hz);
	for (unsigned int vtl = 0; vtl < vm->opts->vtls; vtl++) {
		enable_user_space_msrs(vm, vtl);
		set_msr_filter(vm, vtl);
	}
	hv_timer_init(&vm->hv_timer);
	vm->hv = hv_partition_create(&cfg);
	if (!vm->hv)
		die(KVSM_EXIT_HOST, "cannot create the Hyper-V partition state");
	hv_timer_start(vm);
}

/* CPL and mode of the caller, from the synced segment registers (TLFS 3.x: #UD unless CPL 0 in protected mode). */
static bool hypercall_allowed(const struct kvm_sregs *s, const struct kvm_regs *r)
{
	return (s->cr0 & CR0_PE) && !(r->rflags & RFLAGS_VM) && s->ss.dpl == 0 && (s->cs.selector & 3) == 0;
}

#define OUT_IMM8_LEN 2

/*
 * The hypercall page issues `nop; out`. Where the call resumes: past the
 * out when it is done (or switched VTLs), at the nop when it must be issued
 * again (rep continuation) or fault at the call (#UD). RIP is always set
 * explicitly: on hardware-virtualized KVM it still points at the out when
 * the exit reaches kvsm, and KVM skips the out at the next entry only if RIP
 * is unchanged; some software KVMs have already moved past it
 * (vm->io_exit_rip_at_insn tells which).
 */
static uint64_t out_rip(const struct vcpu *cpu, const struct kvm_regs *r)
{
	return cpu->vm->io_exit_rip_at_insn ? r->rip : r->rip - OUT_IMM8_LEN;
}

bool hyperv_is_hypercall(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;

	return run->exit_reason == KVM_EXIT_IO && run->io.port == KVSM_HYPERCALL_PORT &&
	       run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 1 && run->io.count == 1 &&
	       hv_hypercall_enabled(cpu->vm->hv, cpu->index, vcpu_vtl(cpu));
}

void hyperv_handle_hypercall(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct kvm_regs *r = &run->s.regs.regs;
	struct kvm_sregs *s = &run->s.regs.sregs;
	struct hv_hypercall_regs hr = {
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi, .rdi = r->rdi,
		.r8 = r->r8, .long_mode = (s->efer & EFER_LMA) && s->cs.l,
	};
	enum hv_hypercall_outcome out;
	uint64_t args[3];
	unsigned int seq;

	if (cpu->tl)		/* before the core writes its results into hr */
		hv_hypercall_args(&hr, args);
	if (!hypercall_allowed(s, r)) {
		if (cpu->tl)
			timeline_hypercall(cpu->tl, args, hr.long_mode, HV_HYPERCALL_UD, r->rax, out_rip(cpu, r));
		r->rip = out_rip(cpu, r) - 1;	/* at the call's nop */
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		vcpu_inject_exception(cpu, 6);	/* #UD */
		return;
	}
	/* Taken before the core looks at any TLB lock: a release after that look ends the wait below. */
	seq = vcpu_wait_seq(cpu);
	out = hv_hypercall(cpu->vm->hv, cpu->index, vcpu_vtl(cpu), &hr);
	if (cpu->tl)
		timeline_hypercall(cpu->tl, args, hr.long_mode, out, hr.rax, out_rip(cpu, r));
	if (out == HV_HYPERCALL_SWITCH_VTL) {
		/* The old VTL resumes past its call; RAX/RCX/RDX are what the new VTL gets. */
		r->rip = out_rip(cpu, r) + OUT_IMM8_LEN;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		vtl_enter(cpu, hr.target_vtl, hr.entry_reason);
		r = &cpu->run->s.regs.regs;
		r->rax = hr.rax;
		r->rcx = hr.rcx;
		r->rdx = hr.rdx;
		return;
	}
	r->rax = hr.rax;
	r->rcx = hr.rcx;
	r->rdx = hr.rdx;
	/* Past the call when done; at its nop to issue it again (continuation, stall, intercept) or fault there. */
	r->rip = out == HV_HYPERCALL_DONE ? out_rip(cpu, r) + OUT_IMM8_LEN : out_rip(cpu, r) - 1;
	if (out == HV_HYPERCALL_UD)
		vcpu_inject_exception(cpu, 6);	/* #UD */
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	if (out == HV_HYPERCALL_INTERCEPT)
		vtl_fault_hypercall(cpu, hr.intercept_gpa, hr.intercept_write);
	/*
	 * A stalled call sleeps until a lock release, a kick (higher-VTL
	 * interrupt, request, stop) or a higher VTL's APIC timer is due; the run
	 * loop then preempts, serves or re-executes the call, which looks again.
	 */
	if (out == HV_HYPERCALL_RETRY) {
		stat_inc(&cpu->vm->stats, STAT_HYPERCALL_STALL);
		vcpu_wait_until(cpu, seq, cpu->apic_timer_armed);
	}
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
	/* An MSR KVM found invalid and kvsm does not own either: #GP, as on hardware. */
	if (run->msr.index - HV_MSR_RANGE_BASE >= HV_MSR_RANGE_SIZE) {
		run->msr.error = 1;
		return;
	}

	stat_inc(&cpu->vm->stats, STAT_SYNTHETIC_MSR);
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		uint64_t val = 0;

		res = hv_msr_read(cpu->vm->hv, cpu->index, vcpu_vtl(cpu), run->msr.index, &val);
		run->msr.data = val;
	} else
		res = hv_msr_write(cpu->vm->hv, cpu->index, vcpu_vtl(cpu), run->msr.index, run->msr.data);
	run->msr.error = res != HV_MSR_OK;
}
