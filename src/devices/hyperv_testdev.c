/*
 * hyperv-testdev (see hyperv_testdev.h). QEMU aborts on requests it cannot
 * honour (destroying an unknown route, a duplicate connection id); kvsm
 * ignores them instead, so a guest cannot kill the VMM through this port.
 */
#include "hyperv_testdev.h"
#include "kvsm/hv.h"

#include <string.h>

enum {
	TESTDEV_SINT_ROUTE_CREATE = 1,
	TESTDEV_SINT_ROUTE_DESTROY,
	TESTDEV_SINT_ROUTE_SET_SINT,
	TESTDEV_MSG_CONN_CREATE,
	TESTDEV_MSG_CONN_DESTROY,
	TESTDEV_EVT_CONN_CREATE,
	TESTDEV_EVT_CONN_DESTROY,
};

void hyperv_testdev_init(struct hyperv_testdev *d, struct hv_partition *p)
{
	memset(d, 0, sizeof(*d));
	d->p = p;
	pthread_mutex_init(&d->lock, NULL);
}

void hyperv_testdev_destroy(struct hyperv_testdev *d)
{
	pthread_mutex_destroy(&d->lock);
}

static int find_route(const struct hyperv_testdev *d, uint8_t vp, uint8_t sint)
{
	for (unsigned int i = 0; i < d->nr_routes; i++)
		if (d->routes[i].vp == vp && d->routes[i].sint == sint)
			return (int)i;
	return -1;
}

static void control(struct hyperv_testdev *d, uint32_t cmd)
{
	uint8_t sint = cmd & 0xff, vp = (cmd >> 8) & 0xff, ctl = (cmd >> 16) & 0xff, conn_id = cmd >> 24;
	int i;

	switch (ctl) {
	case TESTDEV_SINT_ROUTE_CREATE:
		/* QEMU keeps a list, duplicates included; a route only gates "assert". */
		if (d->nr_routes < HYPERV_TESTDEV_MAX_ROUTES) {
			d->routes[d->nr_routes].vp = vp;
			d->routes[d->nr_routes].sint = sint;
			d->nr_routes++;
		}
		break;
	case TESTDEV_SINT_ROUTE_DESTROY:
		i = find_route(d, vp, sint);
		if (i >= 0)
			d->routes[i] = d->routes[--d->nr_routes];
		break;
	case TESTDEV_SINT_ROUTE_SET_SINT:
		/* Like KVM's irqfd route: a SynIC that cannot take it just drops it. */
		if (find_route(d, vp, sint) >= 0)
			hv_synic_assert_sint(d->p, vp, 0, sint);
		break;
	case TESTDEV_MSG_CONN_CREATE:
		/* QEMU re-posts whatever HvCallPostMessage brought; the core does that for message connections. */
		hv_connection_create_message(d->p, conn_id, vp, 0, sint);
		break;
	case TESTDEV_MSG_CONN_DESTROY:
		hv_connection_destroy(d->p, conn_id, false);
		break;
	case TESTDEV_EVT_CONN_CREATE:
		/*
		 * QEMU answers HvCallSignalEvent on conn_id by setting event flag
		 * conn_id, and (through KVM) accepts only FlagNumber 0: a
		 * one-flag range starting at conn_id.
		 */
		hv_connection_create_event_range(d->p, conn_id, vp, 0, sint, conn_id, 1);
		break;
	case TESTDEV_EVT_CONN_DESTROY:
		hv_connection_destroy(d->p, conn_id, true);
		break;
	default:
		break;
	}
}

void hyperv_testdev_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	struct hyperv_testdev *d = dev;

	(void)cpu;
	if (!write) {
		*val = 0;
		return;
	}
	/* QEMU's region takes 4-byte accesses only. */
	if (size != 4 || port != HYPERV_TESTDEV_PORT)
		return;
	pthread_mutex_lock(&d->lock);
	control(d, *val);
	pthread_mutex_unlock(&d->lock);
}
