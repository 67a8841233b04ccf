/* A virtual processor: its KVM vCPU, its host thread and its run loop. */
#ifndef KVSM_VCPU_H
#define KVSM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;	/* VP index = APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	unsigned int vtl;		/* the VTL this VP is running */
	unsigned int halt_round_seen;
	bool flush_pending;		/* another VP asked this one to flush its TLB */
	pid_t tid;			/* host thread id (for directed timer signals) */
	uint64_t autoeoi_pending[4];	/* SynIC AutoEOI vectors waiting for injection (autoeoi.c) */
	timer_t autoeoi_timer;
};

void vcpu_create(struct vm *vm, struct vcpu *cpu, unsigned int index);
void vcpu_start(struct vcpu *cpu);
/* Make the vCPU leave KVM_RUN (or not enter it) and look at the VM's state. */
void vcpu_kick(struct vcpu *cpu);
/*
 * Flush the TLB of every VP in mask (the caller included) and return when all
 * have done so. Called on the caller's own thread.
 */
void vcpu_flush_tlbs(struct vcpu *caller, const uint64_t *mask);
/* Install the kick signal handler; once per process. */
void vcpu_init_signals(void);

#endif
