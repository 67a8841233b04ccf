/*
 * QEMU "hyperv-testdev" compatible device, as used by the kvm-unit-tests
 * hyperv_synic, hyperv_stimer and hyperv_connections tests. A 32-bit write
 * to port 0x3000 of
 *     conn_id << 24 | ctl << 16 | vp << 8 | sint
 * with ctl 1/2/3 creates, destroys or asserts a SINT route of (vp, sint);
 * 4/5 create/destroy message connection conn_id to (vp, sint); 6/7 the same
 * for an event connection. Everything targets VTL0. Reads return 0.
 */
#ifndef KVSM_HYPERV_TESTDEV_H
#define KVSM_HYPERV_TESTDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define HYPERV_TESTDEV_PORT 0x3000
#define HYPERV_TESTDEV_LEN 4
#define HYPERV_TESTDEV_MAX_ROUTES 64

struct hv_partition;

struct hyperv_testdev {
	struct hv_partition *p;
	pthread_mutex_t lock;		/* vCPU threads write the port concurrently */
	unsigned int nr_routes;
	struct { uint8_t vp, sint; } routes[HYPERV_TESTDEV_MAX_ROUTES];
};

void hyperv_testdev_init(struct hyperv_testdev *d, struct hv_partition *p);
void hyperv_testdev_destroy(struct hyperv_testdev *d);

struct vcpu;
/* ioport_fn for [HYPERV_TESTDEV_PORT, +HYPERV_TESTDEV_LEN); dev is a struct hyperv_testdev *. */
void hyperv_testdev_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val);

#endif
