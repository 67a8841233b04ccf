/*
 * Getting a VP's attention, and its sleep. vcpu_kick sends the VP's thread a
 * signal, which makes KVM_RUN return (or not start: KVM_CAP_IMMEDIATE_EXIT),
 * and wakes it out of its sleep outside KVM_RUN (HLT of a user-space APIC
 * VTL, waiting for another VP): a wake count under a mutex and a condition
 * variable on CLOCK_MONOTONIC. A waiter takes the count (vcpu_wait_seq)
 * before it looks at what it waits for and sleeps only while nobody woke it
 * since, so a wake between the look and the sleep is never lost.
 */
#include "vcpu.h"
#include "util.h"
#include "vm.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#define SIG_KICK SIGUSR1

static __thread struct vcpu *current_vcpu;

void vcpu_set_self(struct vcpu *cpu)
{
	current_vcpu = cpu;
}

static void kick_handler(int sig)
{
	(void)sig;
	/*
	 * KVM_RUN returns EINTR now, or at once when next entered (KVM_CAP_IMMEDIATE_EXIT).
	 * Every VTL's vCPU is marked: the VP may be switching VTLs right now.
	 */
	if (current_vcpu)
		for (unsigned int v = 0; v < KVSM_MAX_VTLS; v++)
			if (current_vcpu->v[v].run)
				current_vcpu->v[v].run->immediate_exit = 1;
}

void vcpu_create_kick_timer(struct vcpu *cpu, timer_t *timer)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIG_KICK };

	sev._sigev_un._tid = cpu->tid;
	if (timer_create(CLOCK_MONOTONIC, &sev, timer))
		die_errno(KVSM_EXIT_HOST, "timer_create");
}

struct vcpu *vcpu_self(void)
{
	return current_vcpu;
}

void vcpu_init_signals(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL))
		die_errno(KVSM_EXIT_HOST, "sigaction");
}

unsigned int vcpu_vtl(const struct vcpu *cpu)
{
	return hv_vp_active_vtl(cpu->vm->hv, cpu->index);
}

void vcpu_kick(struct vcpu *cpu)
{
	pthread_kill(cpu->thread, SIG_KICK);
	vcpu_wake(cpu);
}


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
