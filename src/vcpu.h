/* A virtual processor: its KVM vCPU, its host thread and its run loop. */
#ifndef KVSM_VCPU_H
#define KVSM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;	/* VP index = APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	unsigned int halt_round_seen;
};

void vcpu_create(struct vm *vm, struct vcpu *cpu, unsigned int index);
void vcpu_start(struct vcpu *cpu);
/* Make the vCPU leave KVM_RUN (or not enter it) and look at the VM's state. */
void vcpu_kick(struct vcpu *cpu);
/* Install the kick signal handler; once per process. */
void vcpu_init_signals(void);

#endif
