/*
 * The VM's stop, from any thread: the first vm_stop() wins and sets the exit
 * status; vm_run (vm.c) then ends every VP. Halt detection's answers: each VP
 * says once per round whether it is dormant (vm.c drives the rounds).
 */
#include "vcpu.h"
#include "vm.h"

#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Caller holds vm->lock. */
static void stop_locked(struct vm *vm, int status)
{
	__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
	vm->exit_status = status;
	pthread_cond_broadcast(&vm->cond);
}

void vm_stop(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping)
		stop_locked(vm, status);
	pthread_mutex_unlock(&vm->lock);
}

/* The one diagnostic line of a VP's stop: VP, VTL, what happened, the registers it last synced, the status. */
static void say_stop(struct vcpu *cpu, int status, const char *what)
{
	const struct kvm_regs *r = &cpu->run->s.regs.regs;
	const struct kvm_sregs *s = &cpu->run->s.regs.sregs;

	fprintf(stderr, "kvsm: vp%u vtl%u: %s; rip %#llx rsp %#llx cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx; "
		"exit status %d\n", cpu->index, vcpu_vtl(cpu), what, (unsigned long long)r->rip,
		(unsigned long long)r->rsp, (unsigned long long)s->cr0, (unsigned long long)s->cr3,
		(unsigned long long)s->cr4, (unsigned long long)s->efer, status);
}

void vcpu_stop(struct vcpu *cpu, int status, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/*
	 * Print before the stop is visible (the main thread exits the process
	 * once it sees it), and only for the first stop: a later one follows
	 * from it.
	 */
	pthread_mutex_lock(&cpu->vm->lock);
	if (!cpu->vm->stopping) {
		say_stop(cpu, status, what);
		stop_locked(cpu->vm, status);
	}
	pthread_mutex_unlock(&cpu->vm->lock);
}

/* The VP's state is unknown from here: nothing may run on, not even the other VPs. */
static void __attribute__((noreturn)) fatal(struct vcpu *cpu, const char *err, const char *fmt, va_list ap)
{
	char what[240];
	int n = vsnprintf(what, sizeof(what), fmt, ap);

	if (err && n >= 0 && (size_t)n < sizeof(what))
		snprintf(what + n, sizeof(what) - (size_t)n, ": %s", err);
	pthread_mutex_lock(&cpu->vm->lock);
	say_stop(cpu, KVSM_EXIT_HOST, what);
	exit(KVSM_EXIT_HOST);
}

void vcpu_fatal(struct vcpu *cpu, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fatal(cpu, NULL, fmt, ap);
}

void vcpu_fatal_errno(struct vcpu *cpu, const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	fatal(cpu, err, fmt, ap);
}

bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

void vm_halt_answer(struct vm *vm, unsigned int round, bool dormant)
{
	pthread_mutex_lock(&vm->lock);
	if (round == vm->halt_round) {
		vm->halt_answers++;
		vm->halt_dormant += dormant;
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

void vcpu_answer_halt_round(struct vcpu *cpu, bool dormant)
{
	struct vm *vm = cpu->vm;
	unsigned int round;

	pthread_mutex_lock(&vm->lock);
	round = vm->halt_round;
	pthread_mutex_unlock(&vm->lock);
	if (round == cpu->halt_round_seen)
		return;
	cpu->halt_round_seen = round;
	vm_halt_answer(vm, round, dormant);
}
