/*
 * A kvsm virtual machine: guest RAM, one KVM VM per VTL,
 * the virtual processors and the PC devices.
 */
#ifndef KVSM_VM_H
#define KVSM_VM_H

#include "args.h"
#include "devices/fw_cfg.h"
#include "devices/hyperv_testdev.h"
#include "devices/serial.h"
#include "guest_mem.h"
#include "hv_timer.h"
#include "ioport.h"
#include "kvm.h"
#include "ram_slots.h"
#include "stats.h"
#include "x86/cpuid.h"

#include "kvsm/hv.h"

#include <pthread.h>
#include <stdbool.h>
#include <x86intrin.h>

struct vcpu;
struct timeline;

/*
 * Legend: [init] set by vm_init (or vm_load_kernel) on the main thread before
 * any VP thread starts, read-only after; [L] under lock; [own] the field's own
 * locking (see its type).
 */
struct vm {
	const struct run_opts *opts;	/* [init] */
	struct kvm_host host;		/* [init] */
	int vm_fd[KVSM_MAX_VTLS];	/* [init] */
	struct guest_mem mem;		/* [init]; its overlays: [own] */
	struct ram_slots slots[KVSM_MAX_VTLS];	/* [own] each VTL's RAM memslots (ram_slots.c) */
	bool exit_on_emulation_failure;	/* [init] KVM queues no #UD when it reports an emulation failure */
	unsigned int nr_vcpus;		/* [init] */
	struct vcpu *vcpus;		/* [init]; each VP: see struct vcpu */
	struct ioport_bus io;		/* [init] */
	struct serial serial;		/* [own] */
	struct fw_cfg fw_cfg;		/* [own] */
	struct hyperv_testdev testdev;	/* [own] */
	struct stats stats;		/* atomic counters */
	struct timeline *timeline;	/* [init] --timeline, else NULL */
	struct gdb *gdb;		/* [init] --gdb's stub (gdb.h), else NULL */
	struct hv_partition *hv;	/* [init] the Hyper-V interface (libkvsm), [own] inside */
	struct hv_timer hv_timer;	/* its synthetic timers' expiry thread (hv_timer.c) */
	uint64_t guest_tsc_delta;	/* [init] guest TSC - host TSC */
	uint64_t tsc_hz;		/* [init] guest TSC frequency */
	unsigned int phys_bits;		/* [init] guest MAXPHYADDR: the GPA space is [0, 2^phys_bits) */
	/* [init] the parts of a KVM_GET_XSAVE image that can be non-zero (x86/cpuid.h) */
	struct xsave_range xsave_ranges[XSAVE_RANGES];
	unsigned int nr_xsave_ranges;
	bool msi_32bit_dest;		/* [init] VTL0's MSIs carry x2APIC (32-bit) destinations (KVM_CAP_X2APIC_API) */
	bool io_exit_rip_at_insn;	/* [init] RIP at a KVM_EXIT_IO still points at the OUT (kvm_io_exit_rip_at_insn) */

	/* Stop protocol: the first vm_stop() wins and sets the exit status. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;			/* [L] written, [A] read */
	bool all_started;		/* [L] every VP thread has been created */
	int exit_status;		/* [L] */

	/* [L] Halt detection rounds (vm.c): each vCPU answers whether it can still run. */
	unsigned int halt_round;
	unsigned int halt_answers;
	unsigned int halt_dormant;
};

void vm_init(struct vm *vm, const struct run_opts *opts);
/* Copy a parsed kernel into RAM, write the multiboot info and set the boot processor's entry state. */
struct kernel_image;
void vm_load_kernel(struct vm *vm, const struct kernel_image *img, const uint8_t *buf, const char *cmdline);
/* Start every vCPU thread and wait until the VM stops; returns the exit status. */
int vm_run(struct vm *vm);
/* Ask the VM to stop with the given exit status (first caller wins). */
void vm_stop(struct vm *vm, int status);
/* A vCPU's answer to the current halt-detection round. */
void vm_halt_answer(struct vm *vm, unsigned int round, bool dormant);
void vm_set_irq(void *vm, int irq, bool level);
/* Whether the VM is stopping (any thread, no lock). */
bool vm_stopping(struct vm *vm);
/* The guest's TSC now: every VP's reads the host TSC plus one offset (hyperv.c sets it). */
static inline uint64_t vm_guest_tsc(const struct vm *vm)
{
	return __rdtsc() + vm->guest_tsc_delta;
}

#endif
