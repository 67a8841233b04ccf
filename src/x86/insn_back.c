/*
 * Backward reconstruction of an instruction KVM's emulator already ran, from
 * its write exit and the post-instruction registers (docs/insn.md).
 *
 * Every start offset up to 15 bytes before RIP that decodes to an
 * instruction ending exactly at RIP is a candidate; so is a rep stos/movs
 * at RIP with a count left, and a near call ending at the return address
 * the write pushed (RIP is then the call's target). Each candidate is rolled
 * back, decoded forward again with the rolled state, and kept only if one of
 * its writes is where and as large as the exit says, with the data its
 * source implies where that is known.
 */
#include "x86/insn_internal.h"

#include <string.h>

#define PAGE_SIZE	4096ull
#define MMIO_CHUNK	8	/* KVM_EXIT_MMIO carries at most 8 bytes */

struct exit_write {
	const struct insn_cpu *after;
	uint64_t gpa;
	unsigned int size;
	const uint8_t *data;
	const struct insn_mem *mem;
};

struct cand {
	struct insn_zy z;
	struct insn_cpu rolled;
	struct insn_decoded d;
	uint8_t exp[16];	/* the bytes the write must carry, exp_len of them known */
	unsigned int exp_len;
	unsigned int full;	/* rollback used the data: the exit must hold all of these bytes */
};

/* What makes two candidates interchangeable: everything but where they start. */
struct effect {
	uint64_t gpr[16], rflags;
	const char *mnemonic;
	unsigned int opsize, n, nsrc;
	struct insn_access acc[INSN_MAX_ACC];
	uint64_t src[ZYDIS_MAX_OPERAND_COUNT];
};

/* Up to 15 readable bytes ending at linear address end, into buf[15 - n..15); returns n. */
static size_t read_before(const struct insn_mem *mem, uint64_t end, uint8_t *buf)
{
	uint64_t start = end - INSN_MAX_LEN, page = (end - 1) & ~(PAGE_SIZE - 1);
	size_t n = start >= page ? INSN_MAX_LEN : end - page;

	/* The page holding end - 1 first: the one before may be unmapped. */
	if (mem->read(mem->opaque, end - n, buf + INSN_MAX_LEN - n, n) != n)
		return 0;
	if (n < INSN_MAX_LEN &&
	    mem->read(mem->opaque, start, buf, INSN_MAX_LEN - n) == INSN_MAX_LEN - n)
		n = INSN_MAX_LEN;
	return n;
}

static void put_le(uint8_t *b, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		b[i] = v >> (8 * i);
}

static uint64_t get_le(const uint8_t *b, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = n; i--;)
		v = v << 8 | b[i];
	return v;
}

static unsigned int stack_bits(const struct insn_cpu *cpu)
{
	return cpu->mode == 64 ? 64 : cpu->stack_size;
}

/* The explicit memory operand, if any. */
static const ZydisDecodedOperand *mem_op(const struct insn_zy *z)
{
	for (unsigned int i = 0; i < z->zi.operand_count_visible; i++)
		if (z->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && z->op[i].mem.type == ZYDIS_MEMOP_TYPE_MEM)
			return &z->op[i];
	return NULL;
}

/* The explicit register operand, if any. */
static const ZydisDecodedOperand *reg_op(const struct insn_zy *z)
{
	for (unsigned int i = 0; i < z->zi.operand_count_visible; i++)
		if (z->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER)
			return &z->op[i];
	return NULL;
}

static bool writes_memory(const struct insn_zy *z)
{
	for (unsigned int i = 0; i < z->zi.operand_count; i++)
		if (z->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && z->op[i].mem.type == ZYDIS_MEMOP_TYPE_MEM &&
		    (z->op[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			return true;
	return false;
}

/* True if the instruction writes no register but the flags. */
static bool store_only(const struct insn_zy *z)
{
	/* Zydis counts the x87 status word as written by the x87 stores that leave it alone. */
	bool fpu_store = z->zi.mnemonic == ZYDIS_MNEMONIC_FNSTCW || z->zi.mnemonic == ZYDIS_MNEMONIC_FNSTSW;

	for (unsigned int i = 0; i < z->zi.operand_count; i++) {
		const ZydisDecodedOperand *o = &z->op[i];

		if (o->type != ZYDIS_OPERAND_TYPE_REGISTER || !(o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		if (o->reg.value != ZYDIS_REGISTER_RFLAGS && o->reg.value != ZYDIS_REGISTER_EFLAGS &&
		    o->reg.value != ZYDIS_REGISTER_FLAGS && !(fpu_store && o->reg.value == ZYDIS_REGISTER_X87STATUS))
			return false;
	}
	return true;
}

/* The value a register or immediate source operand holds in state cpu. */
static bool src_value(const struct insn_cpu *cpu, const ZydisDecodedOperand *o, uint64_t *v)
{
	if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		*v = o->imm.value.u;
		return true;
	}
	return o->type == ZYDIS_OPERAND_TYPE_REGISTER && insn_reg_get(cpu, o->reg.value, v);
}

static void expect(struct cand *c, uint64_t v, unsigned int n)
{
	put_le(c->exp, v, n);
	c->exp_len = n;
}

/* rep stos/movs: undo one element's RDI/RSI (and RCX) update. */
static void roll_string(struct cand *c, bool rep)
{
	struct insn_cpu *r = &c->rolled;
	unsigned int asz = c->z.zi.address_width;
	unsigned int size = c->z.zi.operand_width / 8;
	uint64_t step = r->rflags & INSN_DF ? -(uint64_t)size : size;

	insn_set_masked(&r->gpr[INSN_RDI], r->gpr[INSN_RDI] - step, asz);
	if (c->z.zi.mnemonic == ZYDIS_MNEMONIC_MOVSB || c->z.zi.mnemonic == ZYDIS_MNEMONIC_MOVSW ||
	    c->z.zi.mnemonic == ZYDIS_MNEMONIC_MOVSD || c->z.zi.mnemonic == ZYDIS_MNEMONIC_MOVSQ)
		insn_set_masked(&r->gpr[INSN_RSI], r->gpr[INSN_RSI] - step, asz);
	else
		expect(c, r->gpr[0], size);
	if (rep)
		insn_set_masked(&r->gpr[1], r->gpr[1] + 1, asz);
}

static bool is_string_store(const struct insn_zy *z)
{
	switch (z->zi.mnemonic) {
	case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_STOSQ: case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW:
	case ZYDIS_MNEMONIC_MOVSQ:
		return true;
	case ZYDIS_MNEMONIC_MOVSD:	/* also SSE2's scalar double move */
		return z->zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
	default:
		return false;
	}
}

/*
 * Roll c->rolled (a copy of the after state, RIP already set to the start)
 * back over the instruction's register effects. data is the exit's, assumed
 * to start at the operand where the rollback needs it (c->full). Returns
 * false if the instruction cannot be rolled back or contradicts the state.
 */
static bool roll_back(const struct exit_write *x, struct cand *c, bool at_rip)
{
	struct insn_cpu *r = &c->rolled;
	const ZydisDecodedOperand *m = mem_op(&c->z), *reg = reg_op(&c->z);
	unsigned int w = insn_slot(&c->z), opb = c->z.zi.operand_width / 8, sb = stack_bits(r);
	uint64_t v, cnt = r->gpr[1] & insn_mask(c->z.zi.address_width);

	if (is_string_store(&c->z)) {
		bool rep = insn_is_rep(&c->z);

		/* KVM leaves RIP at a rep string instruction until its count runs out. */
		if (rep && at_rip != (cnt != 0))
			return false;
		roll_string(c, rep);
		return true;
	}
	if (at_rip)
		return false;
	switch (c->z.zi.mnemonic) {
	case ZYDIS_MNEMONIC_PUSH:
		/* With rSP rolled back, push rsp's source reads as the value it pushed. */
		insn_set_masked(&r->gpr[INSN_RSP], r->gpr[INSN_RSP] + w, sb);
		if (src_value(r, &c->z.op[0], &v))
			expect(c, v, w);
		return true;
	case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_PUSHFD:
	case ZYDIS_MNEMONIC_PUSHFQ:
		insn_set_masked(&r->gpr[INSN_RSP], r->gpr[INSN_RSP] + w, sb);
		expect(c, r->rflags & ~(1ull << 16 | 1ull << 17), w);	/* RF and VM read as 0 */
		return true;
	case ZYDIS_MNEMONIC_PUSHA:
	case ZYDIS_MNEMONIC_PUSHAD:
		insn_set_masked(&r->gpr[INSN_RSP], r->gpr[INSN_RSP] + w, sb);	/* w: all eight */
		return true;
	case ZYDIS_MNEMONIC_POP:	/* pop [mem]: the value came from the stack */
		insn_set_masked(&r->gpr[INSN_RSP], r->gpr[INSN_RSP] - w, sb);
		return true;
	case ZYDIS_MNEMONIC_ENTER:	/* KVM emulates level 0 only: push rBP; rBP = rSP; rSP -= size */
		if ((c->z.op[1].imm.value.u & 31) ||
		    ((r->gpr[INSN_RBP] - c->z.op[0].imm.value.u) ^ r->gpr[INSN_RSP]) & insn_mask(sb))
			return false;
		insn_set_masked(&r->gpr[INSN_RSP], r->gpr[INSN_RBP] + w, sb);
		insn_set_masked(&r->gpr[INSN_RBP], get_le(x->data, w), w * 8);
		c->full = w;
		return true;
	case ZYDIS_MNEMONIC_XCHG:	/* the register got the old memory value; the data is the old register */
		if (!reg || !m)
			return false;
		insn_reg_set(r, reg->reg.value, get_le(x->data, opb));
		c->full = opb;
		return true;
	case ZYDIS_MNEMONIC_XADD:	/* register = old memory; data = old memory + old register */
		if (!reg || !m || !insn_reg_get(r, reg->reg.value, &v))
			return false;
		insn_reg_set(r, reg->reg.value, get_le(x->data, opb) - v);
		c->full = opb;
		return true;
	case ZYDIS_MNEMONIC_CMPXCHG:
		/* On failure KVM rewrote the old value and loaded it into rAX: rAX is lost. */
		if (!(r->rflags & INSN_ZF) || !reg || !insn_reg_get(r, reg->reg.value, &v))
			return false;
		expect(c, v, opb);
		return true;
	case ZYDIS_MNEMONIC_CMPXCHG8B:
	case ZYDIS_MNEMONIC_CMPXCHG16B:
		if (!(r->rflags & INSN_ZF))
			return false;
		opb = c->z.zi.mnemonic == ZYDIS_MNEMONIC_CMPXCHG8B ? 4 : 8;
		put_le(c->exp, r->gpr[3], opb);	/* rCX:rBX */
		put_le(c->exp + opb, r->gpr[1], opb);
		c->exp_len = 2 * opb;
		return true;
	default:
		break;
	}
	if (!store_only(&c->z))
		return false;
	if ((c->z.zi.mnemonic == ZYDIS_MNEMONIC_MOV || c->z.zi.mnemonic == ZYDIS_MNEMONIC_MOVNTI) &&
	    m == &c->z.op[0] && src_value(r, &c->z.op[1], &v))
		expect(c, v, m->size / 8);
	return true;
}

/*
 * Does one of the candidate's writes produce this exit? KVM splits a write at
 * linear page boundaries and exits with each piece in 8-byte chunks, so the
 * exit must start a chunk of a piece that translates to its page. *off: the
 * exit's offset within the write.
 */
static bool exit_matches(const struct exit_write *x, const struct cand *c, unsigned int *off)
{
	for (unsigned int i = 1; i < c->d.n; i++) {
		const struct insn_access *a = &c->d.acc[i];

		for (uint64_t done = 0, len; a->write && done < a->size; done += len) {
			uint64_t la = a->la + done, gpa;

			len = PAGE_SIZE - (la & (PAGE_SIZE - 1));
			if (len > a->size - done)
				len = a->size - done;
			if (!x->mem->translate(x->mem->opaque, la, &gpa) || x->gpa < gpa || x->gpa >= gpa + len)
				continue;
			if ((x->gpa - gpa) % MMIO_CHUNK ||
			    x->size != (gpa + len - x->gpa < MMIO_CHUNK ? gpa + len - x->gpa : MMIO_CHUNK))
				return false;
			*off = done + (x->gpa - gpa);
			return true;
		}
	}
	return false;
}

static bool data_matches(const struct exit_write *x, const struct cand *c, unsigned int off)
{
	if (c->full && (off || x->size < c->full))
		return false;
	for (unsigned int i = 0; i < x->size && off + i < c->exp_len; i++)
		if (x->data[i] != c->exp[off + i])
			return false;
	return true;
}

static void effect_of(const struct cand *c, struct effect *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->gpr, c->rolled.gpr, sizeof(e->gpr));
	e->rflags = c->rolled.rflags;
	e->mnemonic = c->d.mnemonic;
	e->opsize = c->z.zi.operand_width;
	e->n = c->d.n;
	memcpy(e->acc + 1, c->d.acc + 1, (c->d.n - 1) * sizeof(e->acc[0]));
	for (unsigned int i = 0; i < c->z.zi.operand_count_visible; i++) {
		const ZydisDecodedOperand *o = &c->z.op[i];

		/* Sources that are not GPRs (vector registers) count by name. */
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && !src_value(&c->rolled, o, &e->src[e->nsrc]))
			e->src[e->nsrc] = o->reg.value;
		else if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			e->src[e->nsrc] = o->imm.value.u;
		e->nsrc++;
	}
}

struct search {
	const struct exit_write *x;
	struct insn_back *out;
	struct cand best;	/* the longest match so far */
	struct effect first;	/* the first match's effect */
	bool differ;		/* a later match had another effect */
};

/* A near call: RIP is its target, the data its return address. */
static bool roll_call(const struct exit_write *x, struct cand *c)
{
	struct insn_cpu *r = &c->rolled;
	unsigned int w = insn_slot(&c->z);
	uint64_t ret = get_le(x->data, w), v;
	const ZydisDecodedOperand *t = &c->z.op[0];

	if (c->z.zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR || w > x->size)
		return false;
	insn_set_masked(&r->gpr[INSN_RSP], r->gpr[INSN_RSP] + w, stack_bits(r));
	if (t->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		v = ret + t->imm.value.u;
	else if (!src_value(r, t, &v))
		v = x->after->rip;	/* call [mem]: the pointer is not checked */
	if ((v ^ x->after->rip) & insn_mask(c->z.zi.operand_width))
		return false;
	expect(c, ret, w);
	return true;
}

/* Where a candidate comes from: it ends at RIP, starts at RIP, or ends at a return address. */
enum origin { ENDS_AT_RIP, AT_RIP, CALL };

/* Consider instruction bytes b[0..n) starting at rip (the rolled RIP). */
static void consider(struct search *s, const uint8_t *b, size_t n, uint64_t rip, enum origin from)
{
	struct cand c;
	struct effect e;
	unsigned int off;

	memset(&c, 0, sizeof(c));
	c.rolled = *s->x->after;
	insn_set_masked(&c.rolled.rip, rip, c.rolled.mode);
	if (insn_zydis(&c.rolled, b, n, &c.z) || (from != AT_RIP && c.z.zi.length != n) ||
	    !writes_memory(&c.z))
		return;
	if ((from == CALL) != (c.z.zi.mnemonic == ZYDIS_MNEMONIC_CALL) ||
	    (from == AT_RIP && !(is_string_store(&c.z) && insn_is_rep(&c.z))))
		return;
	s->out->decoded++;
	if (!(from == CALL ? roll_call(s->x, &c) : roll_back(s->x, &c, from == AT_RIP)))
		return;
	if (insn_accesses(&c.rolled, &c.z, &c.d) || !exit_matches(s->x, &c, &off) ||
	    !data_matches(s->x, &c, off))
		return;
	memcpy(c.d.bytes, b, c.d.len);
	effect_of(&c, &e);
	if (!s->out->matched++)
		memcpy(&s->first, &e, sizeof(e));
	else if (memcmp(&e, &s->first, sizeof(e)))
		s->differ = true;
	if (c.d.len > s->best.d.len)
		s->best = c;
}

static void back_call(struct search *s)
{
	const struct insn_cpu *a = s->x->after;
	uint8_t buf[INSN_MAX_LEN];

	for (unsigned int w = 2; w <= 8 && w <= s->x->size; w *= 2) {
		uint64_t ret = get_le(s->x->data, w);
		size_t nb;

		if ((w == 8) != (a->mode == 64))	/* near calls push 8 bytes in 64-bit mode, else 2 or 4 */
			continue;
		nb = read_before(s->x->mem, insn_fetch_la(a, ret), buf);
		for (size_t k = 1; k <= nb; k++)
			consider(s, buf + INSN_MAX_LEN - k, k, ret - k, CALL);
	}
}

enum insn_back_result insn_reconstruct_write(const struct insn_cpu *after, uint64_t gpa,
					     unsigned int size, const uint8_t *data,
					     const struct insn_mem *mem, struct insn_back *out)
{
	struct exit_write x = { .after = after, .gpa = gpa, .size = size, .data = data, .mem = mem };
	struct search s;
	uint8_t buf[INSN_MAX_LEN];
	size_t nb;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.x = &x;
	s.out = out;
	out->rolled = *after;
	if (!size || size > MMIO_CHUNK)
		return INSN_BACK_NONE;
	nb = read_before(mem, insn_fetch_la(after, after->rip), buf);
	for (size_t k = 1; k <= nb; k++)
		consider(&s, buf + INSN_MAX_LEN - k, k, after->rip - k, ENDS_AT_RIP);
	nb = mem->read(mem->opaque, insn_fetch_la(after, after->rip), buf, INSN_MAX_LEN);
	consider(&s, buf, nb, after->rip, AT_RIP);
	back_call(&s);
	if (!out->matched)
		return INSN_BACK_NONE;
	out->rolled = s.best.rolled;
	out->insn = s.best.d;
	if (out->matched == 1)
		return INSN_BACK_UNIQUE;
	return s.differ ? INSN_BACK_AMBIGUOUS : INSN_BACK_SAME_EFFECT;
}

const char *insn_back_result_name(enum insn_back_result r)
{
	static const char *const names[] = { "unique", "same-effect", "ambiguous", "none" };

	return r <= INSN_BACK_NONE ? names[r] : "?";
}
