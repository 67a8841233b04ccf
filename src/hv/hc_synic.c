/*
 * HvCallPostMessage and HvCallSignalEvent (spec section 3.12), and the
 * VMM-side connection table they resolve ConnectionIds through.
 *
 * kvsm has no ports: the VMM creates connections (hv_connection_create_*)
 * that name the target (VP, VTL, SINT) directly, as QEMU's VMBus and
 * hyperv-testdev do. One table serves every VTL; the message or event lands
 * in the SynIC of the connection's VTL.
 */
#include "hv_internal.h"

#include <errno.h>
#include <string.h>

/*
 * Reserved input is treated as OpenVMM treats it: the padding after
 * ConnectionId (post) and after FlagNumber (signal) is never read, and
 * ConnectionId is looked up whole, so an id with bits 31:24 set names no
 * connection (INVALID_CONNECTION_ID; connections have 24-bit ids).
 */
#define HV_CONNECTION_ID_MASK 0x00ffffffu	/* ConnectionId [23:0] */

/* HV_INPUT_POST_MESSAGE */
struct hv_input_post_message {
	uint32_t connection_id;
	uint32_t padding;
	uint32_t message_type;
	uint32_t payload_size;
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTES];
};
_Static_assert(sizeof(struct hv_input_post_message) == 256, "HV_INPUT_POST_MESSAGE is 256 bytes");

/* HV_INPUT_SIGNAL_EVENT */
struct hv_input_signal_event {
	uint32_t connection_id;
	uint16_t flag_number;
	uint16_t padding;
};
_Static_assert(sizeof(struct hv_input_signal_event) == 8, "HV_INPUT_SIGNAL_EVENT is 8 bytes");

/* Caller holds conn_lock. */
static struct hv_connection *find_conn(struct hv_partition *p, uint32_t id, bool event)
{
	for (unsigned int i = 0; i < HV_MAX_CONNECTIONS; i++) {
		struct hv_connection *c = &p->conns[i];

		if (c->used && c->id == id && c->event == event)
			return c;
	}
	return NULL;
}

/*
 * Copy out the connection of kind `event` for id. An id that exists only as
 * the other kind is "not a message/event port": INVALID_PORT_ID.
 */
static uint16_t lookup(struct hv_partition *p, uint32_t id, bool event, struct hv_connection *out)
{
	const struct hv_connection *c;
	uint16_t st = HV_STATUS_SUCCESS;

	pthread_mutex_lock(&p->conn_lock);
	c = find_conn(p, id, event);
	if (c)
		*out = *c;
	else if (find_conn(p, id, !event))
		st = HV_STATUS_INVALID_PORT_ID;
	else
		st = HV_STATUS_INVALID_CONNECTION_ID;
	pthread_mutex_unlock(&p->conn_lock);
	return st;
}

static uint16_t hc_post_message(struct hv_hypercall *hc)
{
	struct hv_input_post_message in;
	struct hv_connection c;
	struct hv_message m;
	uint16_t st;

	memcpy(&in, hc->in, sizeof(in));
	/* Types with bit 31 set belong to the hypervisor (HVMSG_TIMER_EXPIRED, intercepts). */
	if (in.message_type == HVMSG_NONE || (in.message_type & 0x80000000u) ||
	    in.payload_size > HV_MESSAGE_PAYLOAD_BYTES)
		return HV_STATUS_INVALID_PARAMETER;
	st = lookup(hc->p, in.connection_id, false, &c);
	if (st != HV_STATUS_SUCCESS)
		return st;

	/* Re-post the guest's message as QEMU does for its message connections: OriginationId 0, no flags. */
	memset(&m, 0, sizeof(m));
	m.message_type = in.message_type;
	m.payload_size = (uint8_t)in.payload_size;
	memcpy(m.payload, in.payload, in.payload_size);
	return hv_synic_post_message(hc->p, c.vp, c.vtl, c.sint, &m);
}

static uint16_t hc_signal_event(struct hv_hypercall *hc)
{
	struct hv_input_signal_event in;
	struct hv_connection c;
	uint16_t st;

	memcpy(&in, hc->in, sizeof(in));
	st = lookup(hc->p, in.connection_id, true, &c);
	if (st != HV_STATUS_SUCCESS)
		return st;
	if (in.flag_number >= c.flag_count)
		return HV_STATUS_INVALID_PARAMETER;
	return hv_synic_signal_event(hc->p, c.vp, c.vtl, c.sint, c.flag_base + in.flag_number);
}

const struct hv_hypercall_desc hv_hc_synic[] = {
	{
		.code = HVCALL_POST_MESSAGE, .name = "HvCallPostMessage",
		.privilege = HV_POST_MESSAGES, .in_header = sizeof(struct hv_input_post_message),
		.simple = hc_post_message,
	},
	{
		.code = HVCALL_SIGNAL_EVENT, .name = "HvCallSignalEvent",
		.privilege = HV_SIGNAL_EVENTS, .in_header = sizeof(struct hv_input_signal_event),
		.simple = hc_signal_event,
	},
};
const unsigned int hv_hc_synic_n = sizeof(hv_hc_synic) / sizeof(hv_hc_synic[0]);

/* ---- the VMM's connection API (include/kvsm/hv.h) ---- */

static int conn_create(struct hv_partition *p, uint32_t conn_id, bool event, unsigned int vp,
		       unsigned int vtl, unsigned int sint, unsigned int flag_base, unsigned int flag_count)
{
	int ret = -ENOSPC;

	if ((conn_id & ~HV_CONNECTION_ID_MASK) || vp >= p->cfg.nr_vps || vtl >= HV_MAX_VTLS ||
	    sint >= HV_SYNIC_SINT_COUNT || flag_base > HV_EVENT_FLAGS_PER_SINT ||
	    flag_count > HV_EVENT_FLAGS_PER_SINT - flag_base)
		return -EINVAL;
	pthread_mutex_lock(&p->conn_lock);
	if (find_conn(p, conn_id, event)) {
		ret = -EEXIST;
	} else {
		for (unsigned int i = 0; i < HV_MAX_CONNECTIONS; i++) {
			struct hv_connection *c = &p->conns[i];

			if (c->used)
				continue;
			*c = (struct hv_connection){
				.used = true, .event = event, .id = conn_id, .vp = vp, .vtl = vtl,
				.sint = sint, .flag_base = flag_base, .flag_count = flag_count,
			};
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&p->conn_lock);
	return ret;
}

int hv_connection_create_message(struct hv_partition *p, uint32_t conn_id, unsigned int vp,
				 unsigned int vtl, unsigned int sint)
{
	return conn_create(p, conn_id, false, vp, vtl, sint, 0, 0);
}

int hv_connection_create_event(struct hv_partition *p, uint32_t conn_id, unsigned int vp,
			       unsigned int vtl, unsigned int sint)
{
	return conn_create(p, conn_id, true, vp, vtl, sint, 0, HV_EVENT_FLAGS_PER_SINT);
}

int hv_connection_create_event_range(struct hv_partition *p, uint32_t conn_id, unsigned int vp,
				     unsigned int vtl, unsigned int sint, unsigned int flag_base,
				     unsigned int flag_count)
{
	if (!flag_count)
		return -EINVAL;
	return conn_create(p, conn_id, true, vp, vtl, sint, flag_base, flag_count);
}

int hv_connection_destroy(struct hv_partition *p, uint32_t conn_id, bool event)
{
	struct hv_connection *c;
	int ret = -ENOENT;

	pthread_mutex_lock(&p->conn_lock);
	c = find_conn(p, conn_id, event);
	if (c) {
		c->used = false;
		ret = 0;
	}
	pthread_mutex_unlock(&p->conn_lock);
	return ret;
}

int hv_synic_assert_sint(struct hv_partition *p, unsigned int vp, unsigned int vtl, unsigned int sint)
{
	const struct hv_synic *s;
	int st = HV_STATUS_SUCCESS;

	if (vp >= p->cfg.nr_vps || vtl >= HV_MAX_VTLS)
		return HV_STATUS_INVALID_VP_INDEX;
	if (sint >= HV_SYNIC_SINT_COUNT)
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&p->vps[vp].lock);
	s = &p->vps[vp].vtl[vtl].synic;
	if (!(s->scontrol & 1) || (s->sint[sint] & HV_SINT_MASKED))
		st = HV_STATUS_INVALID_SYNIC_STATE;
	else
		hv_synic_raise_sint(p, vp, vtl, s->sint[sint]);
	pthread_mutex_unlock(&p->vps[vp].lock);
	return st;
}
