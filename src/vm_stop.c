/*
 * The VM's stop, from any thread: the first vm_stop() wins and sets the exit
 * status; vm_run (vm.c) then ends every VP. Halt detection's answers: each VP
 * says once per round whether it is dormant (vm.c drives the rounds).
 */
#include "vcpu.h"
#include "vm.h"

void vm_stop(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
		vm->exit_status = status;
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
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
