/*
 * One VP's sleep outside KVM_RUN (HLT of a user-space APIC VTL, waiting for
 * another VP): a wake count under a mutex and a condition variable on
 * CLOCK_MONOTONIC. A waiter takes the count (vcpu_wait_seq) before it looks
 * at what it waits for and sleeps only while nobody woke it since, so a wake
 * between the look and the sleep is never lost. vcpu_kick wakes the VP both
 * out of KVM_RUN (a signal) and out of this sleep.
 */
#include "vcpu.h"
#include "util.h"
#include "vm.h"

#include <errno.h>
#include <time.h>

void vcpu_wait_init(struct vcpu *cpu)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&cpu->wait.lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cpu->wait.cond, &attr);
	pthread_condattr_destroy(&attr);
}

unsigned int vcpu_wait_seq(struct vcpu *cpu)
{
	return __atomic_load_n(&cpu->wait.wakeups, __ATOMIC_ACQUIRE);
}

void vcpu_wake(struct vcpu *cpu)
{
	pthread_mutex_lock(&cpu->wait.lock);
	__atomic_add_fetch(&cpu->wait.wakeups, 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&cpu->wait.cond);
	pthread_mutex_unlock(&cpu->wait.lock);
}

bool vcpu_wait_until(struct vcpu *cpu, unsigned int seen, uint64_t deadline_ns)
{
	struct timespec until = { .tv_sec = (time_t)(deadline_ns / 1000000000u),
				  .tv_nsec = (long)(deadline_ns % 1000000000u) };

	pthread_mutex_lock(&cpu->wait.lock);
	while (cpu->wait.wakeups == seen && !vm_stopping(cpu->vm)) {
		if (!deadline_ns)
			pthread_cond_wait(&cpu->wait.cond, &cpu->wait.lock);
		else if (pthread_cond_timedwait(&cpu->wait.cond, &cpu->wait.lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&cpu->wait.lock);
	return !vm_stopping(cpu->vm);
}
