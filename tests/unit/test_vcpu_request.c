/*
 * Cross-VP requests (src/vcpu_request.c) and the per-VP wait (vcpu_wait.c)
 * with real threads and no KVM: VPs calling each other in a ring and all at
 * once never deadlock and every call runs exactly once; a request the target
 * never takes fails when the VM stops, and leaves nothing behind.
 */
#include "test.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define NVPS 4
#define CALLS 2000

static struct vm vm;
static struct vcpu cpus[NVPS];
static unsigned int served[NVPS];	/* calls run on each VP (its own thread only) */
static unsigned int finished;
static pthread_barrier_t ready;

static void count_call(struct vcpu *target, void *arg)
{
	served[target->index]++;
	*(unsigned int *)arg = target->index;
}

static void setup(void)
{
	for (unsigned int i = 0; i < NVPS; i++) {	/* the previous case's */
		free(cpus[i].flush_reqs);
		free(cpus[i].flush_targets);
	}
	memset(&vm, 0, sizeof(vm));
	memset(cpus, 0, sizeof(cpus));
	memset(served, 0, sizeof(served));
	finished = 0;
	pthread_mutex_init(&vm.lock, NULL);
	pthread_cond_init(&vm.cond, NULL);
	vm.nr_vcpus = NVPS;
	vm.vcpus = cpus;
	for (unsigned int i = 0; i < NVPS; i++) {
		cpus[i].vm = &vm;
		cpus[i].index = i;
		vcpu_requests_init(&cpus[i]);
		vcpu_wait_init(&cpus[i]);
	}
}

static bool queued(struct vcpu *cpu)
{
	bool q;

	pthread_mutex_lock(&cpu->req_lock);
	q = cpu->requests != NULL;
	pthread_mutex_unlock(&cpu->req_lock);
	return q;
}

/* Serve this VP's requests until every VP has finished its calls. */
static void serve_until_all_finished(struct vcpu *me)
{
	for (;;) {
		unsigned int seq = vcpu_wait_seq(me);

		vcpu_service_requests(me);
		if (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) == NVPS)
			return;
		vcpu_wait_until(me, seq, monotonic_ns() + 10000000);
	}
}

/* Each VP calls the next one in the ring, and every third call the one after: cycles of 4 and of 2. */
static void *ring_thread(void *arg)
{
	struct vcpu *me = arg;
	unsigned int bad = 0;

	me->thread = pthread_self();
	pthread_barrier_wait(&ready);
	for (unsigned int i = 0; i < CALLS; i++) {
		struct vcpu *target = &cpus[(me->index + 1 + (i % 3 == 0)) % NVPS];
		unsigned int ran_on = ~0u;

		if (!vcpu_run_on(me, target, count_call, &ran_on) || ran_on != target->index)
			bad++;
	}
	__atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
	serve_until_all_finished(me);
	return (void *)(uintptr_t)bad;
}

static void test_ring_no_deadlock(void)
{
	pthread_t t[NVPS];
	unsigned int total = 0;

	setup();
	pthread_barrier_init(&ready, NULL, NVPS);
	for (unsigned int i = 0; i < NVPS; i++)
		pthread_create(&t[i], NULL, ring_thread, &cpus[i]);
	for (unsigned int i = 0; i < NVPS; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		EXPECT_EQ((uintptr_t)bad, 0);
	}
	for (unsigned int i = 0; i < NVPS; i++)
		total += served[i];
	EXPECT_EQ(total, NVPS * CALLS);
	for (unsigned int i = 0; i < NVPS; i++)
		EXPECT(!queued(&cpus[i]));
	pthread_barrier_destroy(&ready);
}

/* VP1's thread never serves; VP0's call to it must fail once the VM stops, and be withdrawn. */
static bool stop_result = true;

static void *caller_thread(void *arg)
{
	unsigned int ran_on = ~0u;

	cpus[0].thread = pthread_self();
	pthread_barrier_wait(&ready);
	stop_result = vcpu_run_on(&cpus[0], &cpus[1], count_call, &ran_on);
	return NULL;
}

static void *idle_thread(void *arg)
{
	cpus[1].thread = pthread_self();
	pthread_barrier_wait(&ready);
	while (!vm_stopping(&vm))
		usleep(1000);
	return NULL;
}

static void test_stop_withdraws(void)
{
	pthread_t a, b;

	setup();
	pthread_barrier_init(&ready, NULL, 3);
	pthread_create(&a, NULL, caller_thread, NULL);
	pthread_create(&b, NULL, idle_thread, NULL);
	pthread_barrier_wait(&ready);
	usleep(20000);				/* the request waits in VP1's queue */
	EXPECT(queued(&cpus[1]));
	vm_stop(&vm, 4);
	vcpu_kick(&cpus[0]);			/* as vm_run does for every VP */
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	EXPECT(!stop_result);
	EXPECT(!queued(&cpus[1]));		/* withdrawn: nothing points at the dead frame */
	EXPECT_EQ(served[1], 0);
	pthread_barrier_destroy(&ready);
}

int main(void)
{
	vcpu_init_signals();
	alarm(60);			/* a deadlock fails the test instead of hanging make check */
	RUN_TEST(test_ring_no_deadlock);
	RUN_TEST(test_stop_withdraws);
	return TEST_EXIT();
}
