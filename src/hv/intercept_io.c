/*
 * I/O port intercepts: HvCallInstallIntercept (0x004D) for
 * HvInterceptTypeX64IoPort, as OpenVMM offers it to VTL1, and the
 * X64IoPortIntercept messages (spec 4.6) it causes. VTL n >= 1 installs
 * them for VTL n - 1, for all VPs (OpenVMM keeps one table in VTL1's
 * partition state); an access mask of 0 removes one. Other intercept types
 * are INVALID_PARAMETER, as in OpenVMM. Ports the host cannot trap (KVM's
 * in-kernel PIC and PIT) follow --policy like the untrappable register
 * intercepts.
 */
#include "hv_internal.h"

#include <string.h>


struct install_intercept_in {
	uint64_t partition_id;
	uint32_t access_type_mask;
	uint32_t intercept_type;
	uint64_t parameters;		/* HvInterceptTypeX64IoPort: the port in bits 15:0 */
};

static uint64_t *bitmap(struct hv_partition *p, unsigned int vtl, bool write)
{
	return write ? p->io_write_intercepts[vtl] : p->io_read_intercepts[vtl];
}

static void set_bit(uint64_t *b, uint16_t port, bool on)
{
	uint64_t m = 1ull << (port % 64);

	if (on)
		__atomic_fetch_or(&b[port / 64], m, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&b[port / 64], ~m, __ATOMIC_RELEASE);
}

static bool test_bit(const uint64_t *b, uint16_t port)
{
	return __atomic_load_n(&b[port / 64], __ATOMIC_ACQUIRE) >> (port % 64) & 1;
}

/* A port the host cannot trap: an HV status under --policy strict, counted and accepted under permissive. */
static uint16_t check_trappable(struct hv_partition *p, unsigned int vtl, uint16_t port)
{
	if (!p->ops->io_port_trappable || p->ops->io_port_trappable(p->host, vtl, port))
		return HV_STATUS_SUCCESS;
	if (p->cfg.policy == HV_POLICY_PERMISSIVE) {
		__atomic_fetch_add(&p->regint_unenforced, 1, __ATOMIC_RELAXED);
		return HV_STATUS_SUCCESS;
	}
	hv_log(p, HV_LOG_WARNING, "VTL%u asked to intercept I/O port %#x of VTL%u, which the host handles without "
	       "exits; refused with OPERATION_DENIED (HV_POLICY_STRICT; see docs/vsm.md)", vtl + 1, port, vtl);
	return HV_STATUS_OPERATION_DENIED;
}

static uint16_t hc_install_intercept(struct hv_hypercall *hc)
{
	struct install_intercept_in in;
	uint16_t port, st;

	memcpy(&in, hc->in, sizeof(in));
	if (in.partition_id != HV_PARTITION_ID_SELF || hc->vtl == 0)
		return HV_STATUS_ACCESS_DENIED;
	if (in.intercept_type != HV_INTERCEPT_TYPE_X64_IO_PORT ||
	    in.access_type_mask & ~(HV_INTERCEPT_ACCESS_MASK_READ | HV_INTERCEPT_ACCESS_MASK_WRITE))
		return HV_STATUS_INVALID_PARAMETER;
	port = (uint16_t)in.parameters;
	if (in.access_type_mask && (st = check_trappable(hc->p, hc->vtl - 1, port)))
		return st;
	set_bit(bitmap(hc->p, hc->vtl, false), port, in.access_type_mask & HV_INTERCEPT_ACCESS_MASK_READ);
	set_bit(bitmap(hc->p, hc->vtl, true), port, in.access_type_mask & HV_INTERCEPT_ACCESS_MASK_WRITE);
	return HV_STATUS_SUCCESS;
}

const struct hv_hypercall_desc hv_hc_intercept[] = {
	{ .code = HVCALL_INSTALL_INTERCEPT, .name = "HvCallInstallIntercept", .privilege = HV_ACCESS_VSM,
	  .in_header = sizeof(struct install_intercept_in), .simple = hc_install_intercept },
};
const unsigned int hv_hc_intercept_n = sizeof(hv_hc_intercept) / sizeof(hv_hc_intercept[0]);

/* HV_X64_IO_PORT_INTERCEPT_MESSAGE offsets after the header. */
enum {
	IO_PORT = 40, IO_ACCESS_INFO = 42, IO_INSN_COUNT = 43, IO_RAX = 48, IO_INSN = 56, IO_DS = 72, IO_ES = 88,
	IO_RCX = 104, IO_RSI = 112, IO_RDI = 120, IO_SIZE = 128,
};

void hv_io_intercept_message(struct hv_message *m, unsigned int vp, unsigned int vtl,
			     const struct hv_intercept_state *st, const struct hv_io_access *a)
{
	unsigned int n = a->insn_len < 16 ? a->insn_len : 16;

	memset(m, 0, sizeof(*m));
	m->message_type = HVMSG_X64_IO_PORT_INTERCEPT;
	m->payload_size = IO_SIZE;
	hv_intercept_header(m->payload, vp, vtl, st, a->insn_len, a->write ? HV_INTERCEPT_WRITE : HV_INTERCEPT_READ);
	memcpy(m->payload + IO_PORT, &a->port, 2);
	m->payload[IO_ACCESS_INFO] = (uint8_t)(a->size | a->string << 3 | a->rep << 4);
	m->payload[IO_INSN_COUNT] = (uint8_t)n;
	memcpy(m->payload + IO_RAX, &st->gpr[0], 8);
	memcpy(m->payload + IO_INSN, a->insn, n);
	memcpy(m->payload + IO_DS, st->ds, 16);
	memcpy(m->payload + IO_ES, st->es, 16);
	memcpy(m->payload + IO_RCX, &st->gpr[1], 8);
	memcpy(m->payload + IO_RSI, &st->gpr[6], 8);
	memcpy(m->payload + IO_RDI, &st->gpr[7], 8);
}

int hv_io_intercept(struct hv_partition *p, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
		    const struct hv_io_access *a, enum hv_vtl_entry *reason)
{
	struct hv_message m;
	unsigned int to = vtl + 1;

	if (to >= HV_MAX_VTLS || !(hv_vp_enabled_vtls(p, vp) & 1u << to) ||
	    !test_bit(bitmap(p, to, a->write), a->port))
		return -1;
	hv_io_intercept_message(&m, vp, vtl, st, a);
	*reason = hv_intercept_deliver(p, vp, to, &m);	/* SINT0 or the intercept page, as for GPA intercepts */
	hv_trace(p, "vp%u vtl%u %s of port %#x at RIP %#llx: intercept to vtl%u", vp, vtl,
		 a->write ? "write" : "read", a->port, (unsigned long long)st->rip, to);
	return (int)to;
}

bool hv_io_intercept_armed(const struct hv_partition *p, unsigned int vtl, uint16_t port, bool write)
{
	return vtl + 1 < HV_MAX_VTLS &&
	       test_bit(write ? p->io_write_intercepts[vtl + 1] : p->io_read_intercepts[vtl + 1], port);
}
