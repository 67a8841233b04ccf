/*
 * Secure intercepts (spec 4.5, 4.6): the messages a higher VTL receives when
 * a lower VTL's access violates its protections. The VMM detects the
 * violation and gives the state of the faulting instruction; this file picks
 * the VTL to tell, builds the message byte for byte and posts it.
 *
 * The GPA intercept fills all 240 payload bytes (the TLFS layout, with DS,
 * SS and the general registers after the instruction bytes), as the AWS KVM
 * implementation does; readers of the 80-byte form Linux and OpenVMM declare
 * see the same first 80 bytes (docs/vsm.md).
 */
#include "hv_internal.h"

#include <string.h>

/* HV_X64_INTERCEPT_MESSAGE_HEADER offsets. */
enum {
	HDR_VP_INDEX = 0, HDR_INSN_LEN_CR8 = 4, HDR_ACCESS = 5, HDR_EXEC_STATE = 6, HDR_CS = 8, HDR_RIP = 24,
	HDR_RFLAGS = 32, HDR_SIZE = 40,
};
/* HV_X64_MEMORY_INTERCEPT_MESSAGE offsets after the header. */
enum {
	MEM_CACHE_TYPE = 40, MEM_INSN_COUNT = 44, MEM_ACCESS_INFO = 45, MEM_TPR_PRIORITY = 46, MEM_GVA = 48,
	MEM_GPA = 56, MEM_INSN = 64, MEM_DS = 80, MEM_SS = 96, MEM_GPRS = 112, MEM_SIZE = 240,
};
#define ACCESS_INFO_GVA_VALID 0x01

static void put(uint8_t *b, unsigned int off, const void *v, size_t n)
{
	memcpy(b + off, v, n);
}

/* ExecutionState: CPL, CR0.PE, CR0.AM, EFER.LMA, DebugActive, InterruptionPending, VTL, InterruptShadow. */
static uint16_t execution_state(const struct hv_intercept_state *st, unsigned int vtl)
{
	unsigned int cpl = (unsigned int)(st->ss[1] >> 53) & 3;	/* SS.DPL (attributes bits 6:5) is the CPL */

	return (uint16_t)(cpl | (st->cr0 & 1) << 2 | (st->cr0 >> 18 & 1) << 3 | (st->efer >> 10 & 1) << 4 |
			  (unsigned int)st->debug_active << 5 | (unsigned int)st->interruption_pending << 6 |
			  vtl << 7 | (unsigned int)st->interrupt_shadow << 12);
}

void hv_intercept_header(uint8_t *b, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
			 unsigned int insn_len, enum hv_intercept_access access)
{
	uint32_t vpi = vp;
	uint16_t es = execution_state(st, vtl);

	put(b, HDR_VP_INDEX, &vpi, 4);
	b[HDR_INSN_LEN_CR8] = (uint8_t)((insn_len & 0xf) | (st->cr8 & 0xf) << 4);
	b[HDR_ACCESS] = (uint8_t)access;
	put(b, HDR_EXEC_STATE, &es, 2);
	put(b, HDR_CS, st->cs, 16);
	put(b, HDR_RIP, &st->rip, 8);
	put(b, HDR_RFLAGS, &st->rflags, 8);
}

void hv_gpa_intercept_message(struct hv_message *m, unsigned int vp, unsigned int vtl,
			      const struct hv_intercept_state *st, const struct hv_gpa_access *a)
{
	uint32_t cache = HV_CACHE_TYPE_WRITE_BACK;
	unsigned int n = a->insn_bytes < 16 ? a->insn_bytes : 16;
	uint64_t gva = a->gva_valid ? a->gva : 0;

	memset(m, 0, sizeof(*m));
	m->message_type = HVMSG_GPA_INTERCEPT;
	m->payload_size = MEM_SIZE;
	hv_intercept_header(m->payload, vp, vtl, st, a->insn_len, a->access);
	put(m->payload, MEM_CACHE_TYPE, &cache, 4);
	m->payload[MEM_INSN_COUNT] = (uint8_t)n;
	m->payload[MEM_ACCESS_INFO] = a->gva_valid ? ACCESS_INFO_GVA_VALID : 0;
	m->payload[MEM_TPR_PRIORITY] = (uint8_t)(st->cr8 & 0xf);
	put(m->payload, MEM_GVA, &gva, 8);
	put(m->payload, MEM_GPA, &a->gpa, 8);
	put(m->payload, MEM_INSN, a->insn, n);
	put(m->payload, MEM_DS, st->ds, 16);
	put(m->payload, MEM_SS, st->ss, 16);
	put(m->payload, MEM_GPRS, st->gpr, 128);
}

enum hv_vtl_entry hv_intercept_deliver(struct hv_partition *p, unsigned int vp, unsigned int to,
				       const struct hv_message *m)
{
	uint64_t page;

	__atomic_fetch_add(&p->intercepts, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&p->partition_config[to], __ATOMIC_ACQUIRE) & HV_VSM_CONFIG_INTERCEPT_PAGE) {
		/* The VTL is entered for it and reads it before it can run anything else. */
		page = hv_assist_page(p, vp, to);
		if (!page || !hv_write_guest(p, to, page + HV_VP_ASSIST_INTERCEPT_MESSAGE, m, sizeof(*m)))
			__atomic_fetch_add(&p->intercepts_dropped, 1, __ATOMIC_RELAXED);
		return HV_VTL_ENTRY_INTERCEPT;
	}
	/*
	 * A busy slot queues it (MessagePending); a SynIC that cannot take it
	 * drops it, as OpenVMM does: the VTL still runs, and the lower VTL,
	 * which did not advance, faults again when it resumes.
	 */
	if (hv_synic_post_message(p, vp, to, HV_SYNIC_INTERCEPTION_SINT, m))
		__atomic_fetch_add(&p->intercepts_dropped, 1, __ATOMIC_RELAXED);
	return HV_VTL_ENTRY_INTERRUPT;	/* the message's SINT0 interrupt (OpenVMM) */
}

int hv_gpa_intercept(struct hv_partition *p, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
		     const struct hv_gpa_access *a, enum hv_vtl_entry *reason)
{
	static const uint8_t need[] = {
		[HV_INTERCEPT_READ] = HV_MAP_GPA_READABLE,
		[HV_INTERCEPT_WRITE] = HV_MAP_GPA_WRITABLE,
		[HV_INTERCEPT_EXECUTE] = HV_MAP_GPA_KERNEL_EXECUTABLE,
	};
	struct hv_message m;
	int to = hv_vtl_prot_denier(p, vtl, a->gpa, need[a->access]);

	if (to < 0)
		return -1;
	hv_gpa_intercept_message(&m, vp, vtl, st, a);
	*reason = hv_intercept_deliver(p, vp, (unsigned int)to, &m);
	hv_trace(p, "vp%u vtl%u %s of GPA %#llx at RIP %#llx: intercept to vtl%d", vp, vtl,
		 a->access == HV_INTERCEPT_READ ? "read" : a->access == HV_INTERCEPT_WRITE ? "write" : "fetch",
		 (unsigned long long)a->gpa, (unsigned long long)st->rip, to);
	return to;
}
