#include "vcpu.h"
#include "gdb.h"
#include "vtl_fault.h"
#include "vtl_regint.h"
#include "irqchip.h"
#include "hyperv.h"
#include "vtl_irq.h"
#include "util.h"
#include "vm.h"
#include "timeline.h"
#include "x86/arch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

/*
 * The synced register area of a vCPU is kvsm's copy of its registers between
 * runs (kvm_dirty_regs hands changes back), so fill it before the first run.
 */
static void sync_regs_init(struct vcpu_vtl *v)
{
	struct kvm_run *run = v->run;

	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
	if (ioctl(v->fd, KVM_GET_REGS, &run->s.regs.regs) || ioctl(v->fd, KVM_GET_SREGS, &run->s.regs.sregs) ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &run->s.regs.events))
		die_errno(KVSM_EXIT_HOST, "reading the initial vCPU state");
}

void vcpu_create(struct vm *vm, struct vcpu *cpu, unsigned int index)
{
	cpu->vm = vm;
	cpu->index = index;
	cpu->tl = vm->timeline ? &vm->timeline->vp[index] : NULL;
	vcpu_requests_init(cpu);
	vcpu_wait_init(cpu);
	for (unsigned int vtl = 0; vtl < vm->opts->vtls; vtl++) {
		struct vcpu_vtl *v = &cpu->v[vtl];

		v->fd = ioctl(vm->vm_fd[vtl], KVM_CREATE_VCPU, index);
		if (v->fd < 0)
			die_errno(KVSM_EXIT_HOST, "KVM_CREATE_VCPU %u (VTL%u)", index, vtl);
		v->run = mmap(NULL, (size_t)vm->host.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED)
			die_errno(KVSM_EXIT_HOST, "mmap kvm_run of vCPU %u (VTL%u)", index, vtl);
		sync_regs_init(v);
		v->xsave = xcalloc(1, sizeof(*v->xsave));
		v->cpu = cpu;
		v->vtl = vtl;
		v->chip = vtl == 0 ? &kernel_apic_chip : &user_apic_chip;
	}
	cpu->fd = cpu->v[0].fd;
	cpu->run = cpu->v[0].run;
}

/* The interrupt controller of the VTL the VP runs. */
static const struct irqchip_ops *chip(struct vcpu *cpu)
{
	return cpu->v[vcpu_vtl(cpu)].chip;
}

static void handle_io(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned int size = run->io.size;

	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint32_t val = 0;

		if (write)
			memcpy(&val, data, size);
		ioport_access(&cpu->vm->io, cpu, run->io.port, size, write, &val);
		if (!write)
			memcpy(data, &val, size);
		if (cpu->vm->opts->trace)
			fprintf(stderr, "kvsm: trace: vp%u %s port 0x%x size %u value 0x%x\n", cpu->index,
				write ? "out" : "in", run->io.port, size, val);
	}
}

/* No user-space MMIO devices yet: unassigned MMIO reads all-ones, writes are dropped. */
static void handle_mmio(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;

	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	if (cpu->vm->opts->trace)
		fprintf(stderr, "kvsm: trace: vp%u unassigned MMIO %s 0x%llx len %u\n", cpu->index,
			run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
			run->mmio.len);
}

/* Kicked: serve requests; the VM may be stopping, or the halt detector wants to know if this vCPU can run. */
static void handle_kick(struct vcpu *cpu)
{
	struct kvm_mp_state mp;
	bool dormant = false;

	vcpu_service_requests(cpu);
	if (ioctl(cpu->fd, KVM_GET_MP_STATE, &mp) == 0) {
		bool if_set = cpu->run->s.regs.regs.rflags & RFLAGS_IF;

		/* Halted with interrupts off, or an AP still waiting for INIT/SIPI. */
		dormant = (mp.mp_state == KVM_MP_STATE_HALTED && !if_set) ||
			  mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
			  mp.mp_state == KVM_MP_STATE_INIT_RECEIVED;
	}
	/* A higher VTL's timer or pending interrupt takes the VP whatever the running VTL does. */
	vcpu_answer_halt_round(cpu, dormant && !vtl_irq_may_wake(cpu));
}

/* The --timeline counter an exit (other than a hypercall) counts in. */
static enum tl_exit exit_kind(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return TL_EXIT_IO;
	case KVM_EXIT_MMIO: return TL_EXIT_MMIO;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR: return TL_EXIT_MSR;
	case KVM_EXIT_HLT: return TL_EXIT_HLT;
	default: return TL_EXIT_OTHER;
	}
}

/* Handle one exit; returns false when this vCPU must stop running. */
void vcpu_inject_exception(struct vcpu *cpu, uint8_t nr)
{
	struct kvm_vcpu_events *ev = &cpu->run->s.regs.events;

	ev->exception.injected = 1;
	ev->exception.nr = nr;
	ev->exception.has_error_code = 0;
	cpu->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
}

static bool handle_exit(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct stats *st = &cpu->vm->stats;
	bool hypercall = hyperv_is_hypercall(cpu);

	if (cpu->tl)
		timeline_exit(cpu->tl, hypercall ? TL_EXIT_HYPERCALL : exit_kind(run->exit_reason));
	if (hypercall) {		/* an `out` of the hypercall page: its own kind of exit */
		stat_inc(st, STAT_HYPERCALL);
		hyperv_handle_hypercall(cpu);
		return true;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		stat_inc(st, STAT_EXIT_IO);
		if (!vtl_regint_io(cpu))
			handle_io(cpu);
		return true;
	case KVM_EXIT_MMIO:
		stat_inc(st, STAT_EXIT_MMIO);
		if (vtl_fault_mmio(cpu))
			return true;
		if (!chip(cpu)->mmio(cpu))
			handle_mmio(cpu);
		return true;
	case KVM_EXIT_HLT:		/* VTL >= 1 only: VTL0's HLT stays in KVM */
		return chip(cpu)->halt(cpu);
	case KVM_EXIT_IRQ_WINDOW_OPEN:	/* the next entry injects */
	case KVM_EXIT_SET_TPR:		/* CR8 is synced after every exit */
		return true;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		if (vtl_regint_msr(cpu))
			return true;
		if (!chip(cpu)->msr(cpu) && !vtl_regint_msr_native(cpu))
			hyperv_handle_msr(cpu);
		return true;
	case KVM_EXIT_DEBUG:		/* only with --gdb: a breakpoint or a step */
		if (gdb_vp_debug_exit(cpu))
			return true;
		stat_inc(st, STAT_EXIT_OTHER);
		vcpu_stop(cpu, KVSM_EXIT_GUEST_ERROR, "unexpected KVM debug exit");
		return false;
	case KVM_EXIT_SHUTDOWN:
		stat_inc(st, STAT_EXIT_SHUTDOWN);
		vcpu_stop(cpu, KVSM_EXIT_SHUTDOWN, "guest shutdown (triple fault)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		stat_inc(st, STAT_EXIT_SHUTDOWN);
		vcpu_stop(cpu, KVSM_EXIT_SHUTDOWN, "guest requested %s",
			  run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "a reset (not supported)" : "shutdown");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && vtl_fault_fetch(cpu))
			return true;
		stat_inc(st, STAT_EXIT_OTHER);
		vcpu_stop(cpu, KVSM_EXIT_GUEST_ERROR, "KVM internal error, suberror %u%s", run->internal.suberror,
			  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : "");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		stat_inc(st, STAT_EXIT_OTHER);
		vcpu_stop(cpu, KVSM_EXIT_GUEST_ERROR, "VM entry failed, hardware reason %#llx",
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		stat_inc(st, STAT_EXIT_OTHER);
		vcpu_stop(cpu, KVSM_EXIT_GUEST_ERROR, "unhandled KVM exit reason %u", run->exit_reason);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *cpu = arg;
	char name[16];

	vcpu_set_self(cpu);
	cpu->tid = gettid();
	for (unsigned int vtl = 0; vtl < cpu->vm->opts->vtls; vtl++)
		cpu->v[vtl].chip->init(cpu, vtl);
	vtl_irq_init(cpu);
	snprintf(name, sizeof(name), "kvsm-vp%u", cpu->index);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&cpu->vm->lock);
	while (!cpu->vm->all_started)
		pthread_cond_wait(&cpu->vm->cond, &cpu->vm->lock);
	pthread_mutex_unlock(&cpu->vm->lock);
	if (cpu->tl)
		timeline_start(cpu->tl);

	for (;;) {
		vtl_irq_prepare_run(cpu);
		chip(cpu)->before_run(cpu);
		/* The one cost of the debugger stub when there is none: this branch. */
		if (__builtin_expect(cpu->vm->gdb != NULL, 0) && gdb_vp_hold(cpu))
			continue;
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			int err = errno;

			/* Hardware-virtualized KVM's answer to an access its view's mapping denies. */
			if (cpu->tl && (err == EFAULT || err == EINTR || err == EAGAIN))
				timeline_exit(cpu->tl, err == EFAULT ? TL_EXIT_FAULT : TL_EXIT_KICK);
			if (err == EFAULT && vtl_fault_efault(cpu))
				continue;
			if (err != EINTR && err != EAGAIN) {
				vcpu_stop(cpu, KVSM_EXIT_HOST, "KVM_RUN failed: %s", strerror(err));
				break;
			}
			for (unsigned int v = 0; v < KVSM_MAX_VTLS; v++)
				if (cpu->v[v].run)
					cpu->v[v].run->immediate_exit = 0;
			stat_inc(&cpu->vm->stats, STAT_EXIT_INTR);
			if (vm_stopping(cpu->vm))
				break;
			handle_kick(cpu);
			continue;
		}
		chip(cpu)->after_exit(cpu);
		if (!handle_exit(cpu))
			break;
	}
	return NULL;
}

void vcpu_start(struct vcpu *cpu)
{
	int err = pthread_create(&cpu->thread, NULL, vcpu_thread, cpu);

	if (err) {
		errno = err;
		die_errno(KVSM_EXIT_HOST, "cannot create the thread of vCPU %u", cpu->index);
	}
}
