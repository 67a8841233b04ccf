#include "vm.h"
#include "ram_slots.h"
#include "devices/debug_exit.h"
#include "hyperv.h"
#include "vtl_irq.h"
#include "util.h"
#include "vcpu.h"
#include "timeline.h"
#include "x86/boot.h"
#include "x86/cpuid.h"
#include "loader/multiboot.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

/* Addresses KVM needs for real-mode emulation on Intel hosts: just below the BIOS, as QEMU. */
#define KVM_TSS_GPA		0xfeffd000ull
#define KVM_IDENTITY_MAP_GPA	0xfeffc000ull

/* Halt detection: poll period, and how many consecutive all-dormant rounds mean "never wakes". */
#define HALT_POLL_MS		100
#define HALT_ROUNDS_TO_STOP	3

/*
 * One KVM VM per VTL over the same RAM, each through its own view. VTL0 has
 * KVM's irqchip and PIT; higher VTLs have none: kvsm emulates their local
 * APICs, so it sees (and can act on) every interrupt aimed at them.
 */
static void create_vtl_vm(struct vm *vm, unsigned int vtl)
{
	int fd = ioctl(vm->host.fd, KVM_CREATE_VM, 0);
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t idmap = KVM_IDENTITY_MAP_GPA;

	if (fd < 0)
		die_errno(KVSM_EXIT_HOST, "KVM_CREATE_VM (VTL%u)", vtl);
	vm->vm_fd[vtl] = fd;
	if (kvm_check_cap(&vm->host, KVM_CAP_SET_TSS_ADDR) && ioctl(fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_TSS_ADDR");
	if (kvm_check_cap(&vm->host, KVM_CAP_SET_IDENTITY_MAP_ADDR) &&
	    ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_IDENTITY_MAP_ADDR");
	if (vtl == 0 && vm->msi_32bit_dest) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X2APIC_API,
			.args[0] = KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
		};

		if (ioctl(fd, KVM_ENABLE_CAP, &cap))
			die_errno(KVSM_EXIT_HOST, "KVM_ENABLE_CAP(KVM_CAP_X2APIC_API)");
	}
	vm->exit_on_emulation_failure = kvm_check_cap(&vm->host, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0;
	if (vm->exit_on_emulation_failure) {
		/* A fetch from a non-executable page (ram_slots.c) at any CPL exits, with no #UD queued. */
		struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args[0] = 1 };

		if (ioctl(fd, KVM_ENABLE_CAP, &cap))
			die_errno(KVSM_EXIT_HOST, "KVM_ENABLE_CAP(KVM_CAP_EXIT_ON_EMULATION_FAILURE)");
	}
	if (vtl == 0) {
		if (ioctl(fd, KVM_CREATE_IRQCHIP, 0))
			die_errno(KVSM_EXIT_HOST, "KVM_CREATE_IRQCHIP");
		if (ioctl(fd, KVM_CREATE_PIT2, &pit))
			die_errno(KVSM_EXIT_HOST, "KVM_CREATE_PIT2");
	}
	guest_mem_map_view(&vm->mem, vtl);
	ram_slots_init(vm, vtl);
}

void vm_set_irq(void *opaque, int irq, bool level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = { .irq = (uint32_t)irq, .level = level };

	if (ioctl(vm->vm_fd[0], KVM_IRQ_LINE, &l))
		pr_warning("KVM_IRQ_LINE %d: %m", irq);
}

void vm_init(struct vm *vm, const struct run_opts *opts)
{
	struct kvm_cpuid2 *cpuid;

	*vm = (struct vm){ .opts = opts };
	for (unsigned int i = 0; i < KVSM_MAX_VTLS; i++)
		vm->vm_fd[i] = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	/* Before /dev/kvm: a path that cannot be created is a usage error on any host. */
	if (opts->timeline)
		vm->timeline = timeline_open(opts->timeline, opts->kernel, opts->smp, TIMELINE_EVENTS_PER_VP);

	kvm_host_open(&vm->host);
	kvm_require_caps(&vm->host);
	if (opts->smp > (unsigned int)vm->host.max_vcpus)
		die(KVSM_EXIT_USAGE, "--smp %u exceeds the %d vCPUs this KVM allows", opts->smp,
		    vm->host.max_vcpus);
	/*
	 * kvsm sends VTL0 interrupts (SynIC, synthetic timers, hypercall IPIs,
	 * VINA) as MSIs to a VP's APIC ID. An xAPIC-format MSI has 8 destination
	 * bits (0xff is broadcast), so VPs past 254 need KVM's 32-bit format.
	 */
	vm->msi_32bit_dest = (kvm_check_cap(&vm->host, KVM_CAP_X2APIC_API) &
			      (KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK)) ==
			     (KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK);
	if (opts->smp > 255 && !vm->msi_32bit_dest)
		die(KVSM_EXIT_USAGE, "--smp %u: VPs past 254 need KVM_CAP_X2APIC_API, which this KVM lacks",
		    opts->smp);

	vm->io_exit_rip_at_insn = kvm_io_exit_rip_at_insn(&vm->host);
	guest_mem_init(&vm->mem, opts->mem);
	/* Per VTL: SIMP, SIEFP and VP assist of each VP, the hypercall and reference TSC pages. */
	overlays_init(&vm->mem.overlays, opts->vtls * (3 * opts->smp + 2));
	for (unsigned int vtl = 0; vtl < opts->vtls; vtl++)
		create_vtl_vm(vm, vtl);

	serial_init(&vm->serial, 1, vm_set_irq, vm);
	fw_cfg_init(&vm->fw_cfg, opts->mem, opts->smp);
	ioport_register(&vm->io, SERIAL_COM1_BASE, 8, serial_io, &vm->serial);
	ioport_register(&vm->io, DEBUG_EXIT_PORT, 1, debug_exit_io, vm);
	ioport_register(&vm->io, FW_CFG_PORT_SEL, 2, fw_cfg_io, &vm->fw_cfg);

	vcpu_init_signals();
	vm->nr_vcpus = opts->smp;
	vm->vcpus = xcalloc(opts->smp, sizeof(*vm->vcpus));
	cpuid = x86_cpuid_supported(&vm->host);
	vm->phys_bits = x86_cpuid_phys_bits(cpuid);
	vm->nr_xsave_ranges = x86_cpuid_xsave_ranges(cpuid, vm->xsave_ranges);
	for (unsigned int i = 0; i < opts->smp; i++)
		vcpu_create(vm, &vm->vcpus[i], i);
	hyperv_init(vm);
	vtl_irq_init_vm(vm);
	if (opts->testdev) {
		hyperv_testdev_init(&vm->testdev, vm->hv);
		ioport_register(&vm->io, HYPERV_TESTDEV_PORT, HYPERV_TESTDEV_LEN, hyperv_testdev_io, &vm->testdev);
	}
	for (unsigned int i = 0; i < opts->smp; i++)
		for (unsigned int vtl = 0; vtl < opts->vtls; vtl++)
			x86_cpuid_set_vcpu(vm->vcpus[i].v[vtl].fd, cpuid, i, opts->smp, vm->hv);
	free(cpuid);
}

static void *guest_ram(void *ctx, uint64_t gpa, uint64_t len)
{
	return guest_mem_priv(ctx, gpa, len);
}

void vm_load_kernel(struct vm *vm, const struct kernel_image *img, const uint8_t *buf, const char *cmdline)
{
	struct vcpu *bsp = &vm->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	kernel_copy(img, buf, guest_ram, &vm->mem);
	multiboot_build_info(guest_mem_priv(&vm->mem, MBI_GPA, MBI_AREA_END - MBI_GPA), vm->mem.size,
			     cmdline);
	if (ioctl(bsp->fd, KVM_GET_SREGS, &sregs))
		die_errno(KVSM_EXIT_HOST, "KVM_GET_SREGS");
	x86_boot_setup(&vm->mem, img, &regs, &sregs);
	if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_SREGS");
	if (ioctl(bsp->fd, KVM_SET_REGS, &regs))
		die_errno(KVSM_EXIT_HOST, "KVM_SET_REGS");
	/* The synced area is kvsm's copy of the registers between runs (vcpu.c): keep it true. */
	bsp->run->s.regs.regs = regs;
	bsp->run->s.regs.sregs = sregs;
}

static struct timespec deadline_ms(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += (ms % 1000) * 1000000L;
	t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	return t;
}

/*
 * One halt-detection round: kick every vCPU and collect whether each one is
 * dormant (halted with RFLAGS.IF = 0, or an AP never started). Only another
 * running vCPU could wake such a vCPU (INIT, SIPI or NMI), so when all are
 * dormant in several consecutive rounds the guest can never run again.
 * Caller holds vm->lock. Returns whether every vCPU answered dormant.
 */
static bool halt_round(struct vm *vm)
{
	struct timespec until;

	vm->halt_round++;
	vm->halt_answers = vm->halt_dormant = 0;
	stat_inc(&vm->stats, STAT_HALT_POLLS);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	until = deadline_ms(HALT_POLL_MS);
	while (!vm->stopping && vm->halt_answers < vm->nr_vcpus)
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &until) == ETIMEDOUT)
			break;
	return vm->halt_answers == vm->nr_vcpus && vm->halt_dormant == vm->nr_vcpus;
}

int vm_run(struct vm *vm)
{
	unsigned int dormant_rounds = 0;

	/* VP threads wait for all_started: a VP may kick another only once that one's thread exists. */
	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_start(&vm->vcpus[i]);
	vm->all_started = true;
	pthread_cond_broadcast(&vm->cond);
	while (!vm->stopping) {
		struct timespec until = deadline_ms(HALT_POLL_MS);

		pthread_cond_timedwait(&vm->cond, &vm->lock, &until);
		if (vm->stopping)
			break;
		dormant_rounds = halt_round(vm) ? dormant_rounds + 1 : 0;
		if (dormant_rounds == HALT_ROUNDS_TO_STOP && !vm->stopping) {
			__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
			vm->exit_status = KVSM_EXIT_HALTED;
			pr_warning("guest halted: every vCPU is halted with interrupts disabled");
		}
	}
	pthread_mutex_unlock(&vm->lock);

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	serial_flush(&vm->serial);
	return vm->exit_status;
}
