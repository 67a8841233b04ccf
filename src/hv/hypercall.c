/*
 * Hypercall dispatcher (TLFS chapter 3; spec sections 2.4-2.8 and 4.8):
 * decode the input value once, validate it, fetch the input (guest memory,
 * registers or XMM registers), run the handler (once, or per rep element),
 * then write the output and the result value.
 */
#include "hv_internal.h"

#include <string.h>

#define FAST_REG_BYTES 16		/* RDX and R8 (32-bit: EBX:ECX and EDI:ESI) */
#define XMM_FAST_BYTES 112		/* RDX, R8, XMM0-XMM5 */
#define XMM_SLOTS 7			/* {RDX,R8} plus six XMM registers, 16 bytes each */

static const struct {
	const struct hv_hypercall_desc *table;
	const unsigned int *n;
} families[] = {
	{ hv_hc_flush, &hv_hc_flush_n },
	{ hv_hc_ipi, &hv_hc_ipi_n },
	{ hv_hc_synic, &hv_hc_synic_n },
	{ hv_hc_misc, &hv_hc_misc_n },
	{ hv_hc_vsm, &hv_hc_vsm_n },
	{ hv_hc_vp_regs, &hv_hc_vp_regs_n },
	{ hv_hc_prot, &hv_hc_prot_n },
	{ hv_hc_translate, &hv_hc_translate_n },
	{ hv_hc_intercept, &hv_hc_intercept_n },
};

const struct hv_hypercall_desc *hv_hypercall_find(uint16_t code)
{
	for (unsigned int f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (unsigned int i = 0; i < *families[f].n; i++)
			if (families[f].table[i].code == code)
				return &families[f].table[i];
	return NULL;
}

/* TLFS calls kvsm does not implement: refused with INVALID_HYPERCALL_CODE, and said once (a warning). */
static const struct {
	uint16_t code;
	const char *name;
} unimplemented[] = {
	{ 0x0094, "HvCallAssertVirtualInterrupt" },
	{ 0x00C0, "HvCallSignalEventDirect" },
	{ 0x00C1, "HvCallPostMessageDirect" }, { 0x00D4, "HvCallCheckSparseGpaPageVtlAccess" },
};

static void warn_unimplemented(const struct hv_partition *p, uint16_t code)
{
	static uint32_t warned;		/* one bit per entry of unimplemented[] */

	for (unsigned int i = 0; i < sizeof(unimplemented) / sizeof(unimplemented[0]); i++)
		if (unimplemented[i].code == code && !(__atomic_fetch_or(&warned, 1u << i, __ATOMIC_RELAXED) & (1u << i)))
			hv_log(p, HV_LOG_WARNING, "the guest called %s (0x%04x), which kvsm does not implement "
			       "(INVALID_HYPERCALL_CODE)", unimplemented[i].name, code);
}

uint16_t hv_hypercall_decode(uint64_t control, struct hv_hypercall_input *in)
{
	in->code = (uint16_t)control;
	in->fast = control & HV_HYPERCALL_FAST;
	in->var_qwords = (unsigned int)((control & HV_HYPERCALL_VARHEAD_MASK) >> HV_HYPERCALL_VARHEAD_SHIFT);
	in->rep_count = (unsigned int)((control & HV_HYPERCALL_REP_COUNT_MASK) >> HV_HYPERCALL_REP_COUNT_SHIFT);
	in->rep_start = (unsigned int)((control & HV_HYPERCALL_REP_START_MASK) >> HV_HYPERCALL_REP_START_SHIFT);
	in->desc = NULL;
	if (control & (HV_HYPERCALL_RSVD0 | HV_HYPERCALL_RSVD1 | HV_HYPERCALL_RSVD2))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	in->desc = hv_hypercall_find(in->code);
	if (!in->desc)
		return HV_STATUS_INVALID_HYPERCALL_CODE;
	/* A simple call has rep count and start index 0; a rep call starts below its count. */
	if (in->desc->rep != (in->rep_count != 0) || in->rep_start >= (in->desc->rep ? in->rep_count : 1))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (!in->desc->var_header && in->var_qwords)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	in->in_size = in->desc->in_header + (size_t)in->var_qwords * 8 + (size_t)in->rep_count * in->desc->in_elem;
	in->out_size = in->desc->rep ? (size_t)in->rep_count * in->desc->out_elem : in->desc->out_header;
	return HV_STATUS_SUCCESS;
}

/* Memory-form parameter blocks: 8-byte aligned, within one page, inside the GPA space, not overlapping. */
static uint16_t check_blocks(const struct hv_partition *p, uint64_t in_gpa, size_t in_size, uint64_t out_gpa,
			     size_t out_size)
{
	if (in_size && ((in_gpa & 7) || (in_gpa & (HV_PAGE_SIZE - 1)) + in_size > HV_PAGE_SIZE ||
			in_gpa >= p->cfg.gpa_limit))
		return HV_STATUS_INVALID_ALIGNMENT;
	if (out_size && ((out_gpa & 7) || (out_gpa & (HV_PAGE_SIZE - 1)) + out_size > HV_PAGE_SIZE ||
			 out_gpa >= p->cfg.gpa_limit))
		return HV_STATUS_INVALID_ALIGNMENT;
	if (in_size && out_size && in_gpa < out_gpa + out_size && out_gpa < in_gpa + in_size)
		return HV_STATUS_INVALID_ALIGNMENT;
	return HV_STATUS_SUCCESS;
}

/* Fast input: {RDX, R8} then XMM0..XMM5 as one byte stream. */
static void read_fast_input(struct hv_partition *p, struct hv_vp *vp, unsigned int vtl, uint64_t p1, uint64_t p2,
			    size_t size, uint64_t xmm[6][2], bool *xmm_loaded)
{
	memcpy(vp->hc_in, &p1, 8);
	memcpy(vp->hc_in + 8, &p2, 8);
	if (size > FAST_REG_BYTES) {
		p->ops->get_xmm(p->host, vp->index, vtl, xmm);
		*xmm_loaded = true;
		memcpy(vp->hc_in + FAST_REG_BYTES, xmm, XMM_FAST_BYTES - FAST_REG_BYTES);
	}
}

/* fetch_input's answer when a parameter block is protected: the call becomes a GPA intercept. */
#define STATUS_INTERCEPT 0xffff

struct call_state {
	uint64_t in_gpa, out_gpa;
	uint64_t intercept_gpa;		/* with STATUS_INTERCEPT */
	bool intercept_write;
	bool long_mode;
	uint64_t xmm[6][2];
	bool xmm_loaded;
	unsigned int out_slot;		/* first XMM slot (1-based in {RDX,R8},XMM0.. order) for fast output */
};

/* Write output bytes [from, to) of the call's output block to its destination. */
static void write_output(struct hv_partition *p, struct hv_vp *vp, unsigned int vtl, struct call_state *cs,
			 bool fast, size_t from, size_t to)
{
	if (to <= from)
		return;
	if (!fast) {
		/* Checked writable before the call ran; a protection change since then drops the output. */
		hv_write_guest(p, vtl, cs->out_gpa + from, vp->hc_out + from, to - from);
		return;
	}
	if (!cs->xmm_loaded) {
		p->ops->get_xmm(p->host, vp->index, vtl, cs->xmm);
		cs->xmm_loaded = true;
	}
	memcpy((uint8_t *)cs->xmm + (cs->out_slot - 1) * 16 + from, vp->hc_out + from, to - from);
	p->ops->set_xmm(p->host, vp->index, vtl, cs->xmm);
}

static void set_result(struct hv_hypercall_regs *r, uint16_t status, unsigned int reps_done)
{
	uint64_t v = status | (uint64_t)reps_done << HV_HYPERCALL_REP_COMP_SHIFT;

	if (r->long_mode) {
		r->rax = v;
	} else {
		r->rax = (uint32_t)v;
		r->rdx = v >> 32;
	}
}

/* Rewrite the rep start index of the input value for a continuation (spec 2.7). */
static void set_rep_start(struct hv_hypercall_regs *r, uint64_t control, unsigned int start)
{
	control = (control & ~HV_HYPERCALL_REP_START_MASK) | (uint64_t)start << HV_HYPERCALL_REP_START_SHIFT;
	if (r->long_mode) {
		r->rcx = control;
	} else {
		r->rax = (uint32_t)control;
		r->rdx = control >> 32;
	}
}

/* Whether a higher VTL's protection denies `access` to any byte of [gpa, gpa + size); *at gets the first. */
static bool protected_block(const struct hv_partition *p, unsigned int vtl, uint64_t gpa, size_t size,
			    uint8_t access, uint64_t *at)
{
	for (uint64_t a = gpa; size && a < gpa + size; a = (a | (HV_PAGE_SIZE - 1)) + 1) {
		uint64_t n = (a | (HV_PAGE_SIZE - 1)) + 1 - a;

		if (n > gpa + size - a)
			n = gpa + size - a;
		/*
		 * What the caller's view holds there decides: an overlay page of
		 * its own over protected RAM is its own page, not the RAM.
		 */
		if (!hv_guest_accessible(p, vtl, a, n, access == HV_MAP_GPA_WRITABLE) &&
		    hv_vtl_prot_denier(p, vtl, a, access) >= 0) {
			*at = a;
			return true;
		}
	}
	return false;
}

static uint16_t fetch_input(struct hv_partition *p, struct hv_vp *vp, unsigned int vtl,
			    const struct hv_hypercall_input *in, struct call_state *cs)
{
	uint16_t st;

	if (in->fast) {
		size_t max = cs->long_mode ? XMM_FAST_BYTES : FAST_REG_BYTES;
		unsigned int in_slots = (unsigned int)((in->in_size + 15) / 16);

		if (in->in_size > max)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (in_slots == 0)
			in_slots = 1;
		cs->out_slot = in_slots;	/* output starts right after the last input slot */
		if (in->out_size && (!cs->long_mode || in->out_size > (size_t)(XMM_SLOTS - in_slots) * 16))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		read_fast_input(p, vp, vtl, cs->in_gpa, cs->out_gpa, in->in_size, cs->xmm, &cs->xmm_loaded);
		return HV_STATUS_SUCCESS;
	}
	st = check_blocks(p, cs->in_gpa, in->in_size, cs->out_gpa, in->out_size);
	if (st)
		return st;
	cs->intercept_write = false;
	if (protected_block(p, vtl, cs->in_gpa, in->in_size, HV_MAP_GPA_READABLE, &cs->intercept_gpa))
		return STATUS_INTERCEPT;
	cs->intercept_write = true;
	if (protected_block(p, vtl, cs->out_gpa, in->out_size, HV_MAP_GPA_WRITABLE, &cs->intercept_gpa))
		return STATUS_INTERCEPT;
	if (in->in_size && !hv_read_guest(p, vtl, cs->in_gpa, vp->hc_in, in->in_size))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;	/* not RAM (KVM's answer too) */
	if (in->out_size && !hv_guest_accessible(p, vtl, cs->out_gpa, in->out_size, true))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	return HV_STATUS_SUCCESS;
}

void hv_hypercall_args(const struct hv_hypercall_regs *r, uint64_t args[3])
{
	if (r->long_mode) {
		args[0] = r->rcx;
		args[1] = r->rdx;
		args[2] = r->r8;
	} else {
		args[0] = r->rdx << 32 | (uint32_t)r->rax;
		args[1] = r->rbx << 32 | (uint32_t)r->rcx;
		args[2] = r->rdi << 32 | (uint32_t)r->rsi;
	}
}

enum hv_hypercall_outcome hv_hypercall(struct hv_partition *p, unsigned int vpi, unsigned int vtl,
				       struct hv_hypercall_regs *r)
{
	struct hv_vp *vp = &p->vps[vpi];
	uint64_t args[3];
	struct call_state cs = { .long_mode = r->long_mode };
	struct hv_hypercall_input in;
	struct hv_hypercall hc;
	uint64_t control;
	unsigned int i, done;
	uint16_t st;

	hv_hypercall_args(r, args);
	control = args[0];
	cs.in_gpa = args[1];
	cs.out_gpa = args[2];
	st = hv_hypercall_decode(control, &in);
	if (in.code == HVCALL_VTL_CALL || in.code == HVCALL_VTL_RETURN)
		return hv_vtl_call_return(p, vpi, vtl, in.code, control, r);
	if (st == HV_STATUS_INVALID_HYPERCALL_CODE)
		warn_unimplemented(p, in.code);
	if (!st && in.desc->privilege && !hv_has_privilege(p, in.desc->privilege))
		st = HV_STATUS_ACCESS_DENIED;
	if (!st)
		st = fetch_input(p, vp, vtl, &in, &cs);
	if (st == STATUS_INTERCEPT) {
		hv_trace(p, "vp%u vtl%u hypercall %#x (%s): %s block at GPA %#llx is protected -> intercept", vpi, vtl,
			 in.code, in.desc->name, cs.intercept_write ? "output" : "input",
			 (unsigned long long)cs.intercept_gpa);
		r->intercept_gpa = cs.intercept_gpa;
		r->intercept_write = cs.intercept_write;
		return HV_HYPERCALL_INTERCEPT;
	}
	if (st) {
		hv_trace(p, "vp%u vtl%u hypercall %#x (%s) -> status %#x", vpi, vtl, in.code,
			 in.desc ? in.desc->name : "unknown", st);
		hv_stats_count(p, in.code);
		set_result(r, st, 0);	/* nothing ran */
		return HV_HYPERCALL_DONE;
	}

	hc = (struct hv_hypercall){
		.p = p, .vp = vp, .vtl = vtl, .code = in.code, .fast = in.fast, .long_mode = r->long_mode,
		.var_qwords = in.var_qwords, .rep_count = in.rep_count, .rep_start = in.rep_start,
		.in = vp->hc_in, .reps = vp->hc_in + in.desc->in_header + (size_t)in.var_qwords * 8,
		.out = vp->hc_out,
	};
	hv_stats_count(p, in.code);

	if (!in.desc->rep) {
		memset(vp->hc_out, 0, in.out_size);
		st = in.desc->simple(&hc);
		if (st == HV_RETRY_AFTER_WAIT) {
			hv_trace(p, "vp%u vtl%u hypercall %#x (%s) stalls", vpi, vtl, in.code, in.desc->name);
			return HV_HYPERCALL_RETRY;
		}
		if (!st)
			write_output(p, vp, vtl, &cs, in.fast, 0, in.out_size);
		hv_trace(p, "vp%u vtl%u hypercall %#x (%s) -> status %#x", vpi, vtl, in.code, in.desc->name, st);
		set_result(r, st, 0);
		return HV_HYPERCALL_DONE;
	}

	if (in.desc->rep_batch) {
		unsigned int end = in.rep_count - in.rep_start > HV_REP_BATCH_MAX ? in.rep_start + HV_REP_BATCH_MAX :
										     in.rep_count;

		st = in.desc->rep_batch(&hc, in.rep_start, end, &i);
	} else {
		for (i = in.rep_start, done = 0; i < in.rep_count && done < HV_REP_BATCH_MAX; i++, done++) {
			st = in.desc->rep_fn(&hc, i);
			if (st)
				break;
		}
	}
	write_output(p, vp, vtl, &cs, in.fast, (size_t)in.rep_start * in.desc->out_elem,
		     (size_t)i * in.desc->out_elem);
	hv_trace(p, "vp%u vtl%u hypercall %#x (%s) reps %u..%u of %u -> status %#x", vpi, vtl, in.code,
		 in.desc->name, in.rep_start, i, in.rep_count, st);
	if (st == HV_RETRY_AFTER_WAIT) {
		set_rep_start(r, control, i);
		return HV_HYPERCALL_RETRY;
	}
	if (!st && i < in.rep_count) {
		set_rep_start(r, control, i);
		return HV_HYPERCALL_CONTINUE;
	}
	set_result(r, st, i);
	return HV_HYPERCALL_DONE;
}
