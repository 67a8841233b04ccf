/* kvsm's thread behind libkvsm's timer hook (host op timer_arm; see hv_timer.c). */
#ifndef KVSM_HV_TIMER_H
#define KVSM_HV_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

struct hv_timer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* on CLOCK_MONOTONIC */
	uint64_t deadline;		/* [lock] reference time the core asked to be called at; 0 = none */
};

/* Before the partition exists: the lock and the condition variable. */
void hv_timer_init(struct hv_timer *t);
/* Once vm->hv exists: start the thread that calls hv_timer_expired(vm->hv). */
void hv_timer_start(struct vm *vm);
/* hv_host_ops.timer_arm. */
void hv_timer_arm(void *host, uint64_t deadline);

#endif
