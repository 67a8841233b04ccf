/*
 * The thread behind libkvsm's timer hook: the core asks (timer_arm, with its
 * timer lock held) to be called once the partition's reference time reaches a
 * deadline; this thread sleeps until then and calls hv_timer_expired, which
 * fires what is due and asks for the next deadline. Reference time runs at
 * real-time speed (it is the guest TSC), so the sleep is the difference on
 * the host's monotonic clock; waking early only costs the core a rescan.
 */
#include "hv_timer.h"
#include "util.h"
#include "vm.h"

#include <string.h>
#include <time.h>

#define MAX_SLEEP_100NS (10ull * 10000000)	/* look again at least every 10 s */

void hv_timer_init(struct hv_timer *t)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&t->lock, NULL);
	/* CLOCK_MONOTONIC: wall-clock steps do not move the deadline. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &attr);
	pthread_condattr_destroy(&attr);
	t->deadline = 0;
}

void hv_timer_arm(void *host, uint64_t deadline)
{
	struct hv_timer *t = &((struct vm *)host)->hv_timer;

	pthread_mutex_lock(&t->lock);
	t->deadline = deadline;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void *timer_thread(void *arg)
{
	struct vm *vm = arg;
	struct hv_timer *t = &vm->hv_timer;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		uint64_t now, delta;
		struct timespec ts;

		if (!t->deadline) {
			pthread_cond_wait(&t->cond, &t->lock);
			continue;
		}
		now = hv_reference_time(vm->hv);
		if (t->deadline <= now) {
			/* Due: the call may ask again (timer_arm takes the lock), so make it without the lock. */
			t->deadline = 0;
			pthread_mutex_unlock(&t->lock);
			hv_timer_expired(vm->hv);
			pthread_mutex_lock(&t->lock);
			continue;
		}
		delta = t->deadline - now;
		if (delta > MAX_SLEEP_100NS)
			delta = MAX_SLEEP_100NS;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(delta / 10000000);
		ts.tv_nsec += (long)(delta % 10000000) * 100;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->cond, &t->lock, &ts);
	}
	return NULL;
}

void hv_timer_start(struct vm *vm)
{
	int err = pthread_create(&vm->hv_timer.thread, NULL, timer_thread, vm);

	if (err)
		die(KVSM_EXIT_HOST, "cannot start the synthetic timer thread: %s", strerror(err));
}
