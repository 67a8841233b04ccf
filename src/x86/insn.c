/*
 * Forward decoding: the memory accesses of the instruction at RIP, for a
 * fault KVM reports before the instruction ran (docs/insn.md).
 *
 * Zydis gives every operand, hidden ones included, but its implicit stack
 * operand is always [rSP] with no displacement; where the slot really is
 * (below RSP for a push, at RBP for leave, two slots for far transfers)
 * is worked out here from the mnemonic.
 */
#include "x86/insn_internal.h"

#include <string.h>

int insn_zydis(const struct insn_cpu *cpu, const uint8_t *b, size_t n, struct insn_zy *z)
{
	ZydisDecoder dec;
	ZydisMachineMode mm = cpu->mode == 64 ? ZYDIS_MACHINE_MODE_LONG_64 :
			      cpu->mode == 32 ? ZYDIS_MACHINE_MODE_LEGACY_32 : ZYDIS_MACHINE_MODE_LEGACY_16;
	ZydisStackWidth sw = cpu->stack_size == 64 ? ZYDIS_STACK_WIDTH_64 :
			     cpu->stack_size == 32 ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16;

	if (cpu->mode == 64)	/* SS.B means nothing in long mode */
		sw = ZYDIS_STACK_WIDTH_64;
	if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, mm, sw)))
		return -1;
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, b, n > INSN_MAX_LEN ? INSN_MAX_LEN : n,
						 &z->zi, z->op)))
		return -1;
	return 0;
}

bool insn_reg_get(const struct insn_cpu *cpu, ZydisRegister r, uint64_t *v)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	unsigned int w = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);

	if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
		*v = (cpu->gpr[r - ZYDIS_REGISTER_AH] >> 8) & 0xff;
		return true;
	}
	if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15)
		return false;
	*v = cpu->gpr[big - ZYDIS_REGISTER_RAX] & insn_mask(w);
	return true;
}

/* Write a GPR the way an instruction does: 32-bit writes zero-extend, 8/16-bit ones merge. */
bool insn_reg_set(struct insn_cpu *cpu, ZydisRegister r, uint64_t v)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	unsigned int w = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);
	uint64_t *g;

	if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
		g = &cpu->gpr[r - ZYDIS_REGISTER_AH];
		*g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
		return true;
	}
	if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15)
		return false;
	g = &cpu->gpr[big - ZYDIS_REGISTER_RAX];
	if (w == 32)
		*g = v & 0xffffffff;
	else
		insn_set_masked(g, v, w);
	return true;
}

/* Outside 64-bit mode linear addresses wrap at 4 GiB. */
static uint64_t linear(const struct insn_cpu *cpu, unsigned int seg, uint64_t ea)
{
	if (cpu->mode == 64)
		return seg == INSN_FS || seg == INSN_GS ? cpu->seg_base[seg] + ea : ea;
	return (cpu->seg_base[seg] + ea) & 0xffffffff;
}

uint64_t insn_fetch_la(const struct insn_cpu *cpu, uint64_t rip)
{
	return linear(cpu, INSN_CS, rip & insn_mask(cpu->mode));
}

static int seg_index(ZydisRegister s)
{
	switch (s) {
	case ZYDIS_REGISTER_ES: return INSN_ES;
	case ZYDIS_REGISTER_CS: return INSN_CS;
	case ZYDIS_REGISTER_SS: return INSN_SS;
	case ZYDIS_REGISTER_DS: return INSN_DS;
	case ZYDIS_REGISTER_FS: return INSN_FS;
	case ZYDIS_REGISTER_GS: return INSN_GS;
	default: return -1;
	}
}

static bool is_sp(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_RSP || r == ZYDIS_REGISTER_ESP || r == ZYDIS_REGISTER_SP;
}

/* Bytes of Zydis's implicit stack operand: one slot, or all of them (pusha, far call, iretq). */
unsigned int insn_slot(const struct insn_zy *z)
{
	for (unsigned int i = 0; i < z->zi.operand_count; i++) {
		const ZydisDecodedOperand *o = &z->op[i];

		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
		    o->mem.segment == ZYDIS_REGISTER_SS)
			return o->size / 8;
	}
	return z->zi.operand_width / 8;
}

bool insn_is_rep(const struct insn_zy *z)
{
	return z->zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
}

static int add(struct insn_decoded *out, uint64_t la, unsigned int size, bool r, bool w)
{
	if (!size)
		return 0;
	if (out->n == INSN_MAX_ACC)
		return -1;
	out->acc[out->n++] = (struct insn_access){ .la = la, .size = size, .read = r, .write = w };
	return 0;
}

/* Linear address of sp + off (off may be negative), wrapped at the stack size. */
static uint64_t stack_la(const struct insn_cpu *cpu, uint64_t sp, int64_t off)
{
	unsigned int ss = cpu->mode == 64 ? 64 : cpu->stack_size;

	return linear(cpu, INSN_SS, (sp + off) & insn_mask(ss));
}

/* The stack slots of the instructions that have them; 1 if handled, 0 if none, -1 if unknown. */
static int stack_access(const struct insn_cpu *cpu, const struct insn_zy *z, struct insn_decoded *out)
{
	uint64_t sp = cpu->gpr[INSN_RSP], bp = cpu->gpr[INSN_RBP];
	unsigned int size = insn_slot(z), lvl, n;

	switch (z->zi.mnemonic) {
	case ZYDIS_MNEMONIC_PUSH:
	case ZYDIS_MNEMONIC_PUSHA:
	case ZYDIS_MNEMONIC_PUSHAD:
	case ZYDIS_MNEMONIC_PUSHF:
	case ZYDIS_MNEMONIC_PUSHFD:
	case ZYDIS_MNEMONIC_PUSHFQ:
	case ZYDIS_MNEMONIC_CALL:
		return add(out, stack_la(cpu, sp, -(int64_t)size), size, false, true) ?: 1;
	case ZYDIS_MNEMONIC_POP:
	case ZYDIS_MNEMONIC_POPA:
	case ZYDIS_MNEMONIC_POPAD:
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD:
	case ZYDIS_MNEMONIC_POPFQ:
	case ZYDIS_MNEMONIC_RET:
		return add(out, stack_la(cpu, sp, 0), size, true, false) ?: 1;
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
		/* Zydis counts SS:ESP too; outside 64-bit mode assume no privilege change. */
		if (cpu->mode != 64)
			size = 3 * z->zi.operand_width / 8;
		return add(out, stack_la(cpu, sp, 0), size, true, false) ?: 1;
	case ZYDIS_MNEMONIC_LEAVE:
		return add(out, stack_la(cpu, bp, 0), size, true, false) ?: 1;
	case ZYDIS_MNEMONIC_ENTER:
		/* Push rBP, copy level-1 frame pointers from below rBP, push the new frame pointer. */
		lvl = z->op[1].imm.value.u & 31;
		if (lvl > 1 && add(out, stack_la(cpu, bp, -(int64_t)((lvl - 1) * size)), (lvl - 1) * size,
				   true, false))
			return -1;
		n = lvl ? lvl + 1 : 1;
		return add(out, stack_la(cpu, sp, -(int64_t)(n * size)), n * size, false, true) ?: 1;
	default:
		break;
	}
	for (unsigned int i = 0; i < z->zi.operand_count; i++) {
		const ZydisDecodedOperand *o = &z->op[i];

		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
		    o->mem.segment == ZYDIS_REGISTER_SS && is_sp(o->mem.base))
			return -1;	/* int n, syscall-like: not modelled */
	}
	return 0;
}

/* Effective address of a memory operand; sp_adj is added to a rSP base (pop [rsp+x]). */
static int mem_ea(const struct insn_cpu *cpu, const struct insn_zy *z, const ZydisDecodedOperand *o,
		  uint64_t sp_adj, uint64_t *ea)
{
	uint64_t v = o->mem.disp.value, r;

	if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP) {
		v += cpu->rip + z->zi.length;
	} else if (o->mem.base != ZYDIS_REGISTER_NONE) {
		if (!insn_reg_get(cpu, o->mem.base, &r))
			return -1;
		v += r + (is_sp(o->mem.base) ? sp_adj : 0);
	}
	if (o->mem.index != ZYDIS_REGISTER_NONE) {
		if (!insn_reg_get(cpu, o->mem.index, &r))
			return -1;
		v += r * o->mem.scale;
	}
	if (z->zi.mnemonic == ZYDIS_MNEMONIC_XLAT)	/* Zydis leaves out the AL index */
		v += cpu->gpr[0] & 0xff;
	*ea = v & insn_mask(z->zi.address_width);
	return 0;
}

int insn_accesses(const struct insn_cpu *cpu, const struct insn_zy *z, struct insn_decoded *out)
{
	bool stack, no_elems;
	uint64_t sp_adj = 0, ea;
	int s;

	out->len = z->zi.length;
	out->mnemonic = ZydisMnemonicGetString(z->zi.mnemonic);
	out->n = 1;
	out->acc[0] = (struct insn_access){
		.la = insn_fetch_la(cpu, cpu->rip), .size = z->zi.length, .read = true, .fetch = true,
	};
	s = stack_access(cpu, z, out);
	if (s < 0)
		return -1;
	stack = s > 0;
	if (z->zi.mnemonic == ZYDIS_MNEMONIC_POP)
		sp_adj = insn_slot(z);
	/* A rep string instruction with a zero count touches no element. */
	no_elems = insn_is_rep(z) && !(cpu->gpr[1] & insn_mask(z->zi.address_width));
	for (unsigned int i = 0; i < z->zi.operand_count; i++) {
		const ZydisDecodedOperand *o = &z->op[i];

		if (o->type != ZYDIS_OPERAND_TYPE_MEMORY || o->mem.type == ZYDIS_MEMOP_TYPE_AGEN)
			continue;
		if (o->mem.type != ZYDIS_MEMOP_TYPE_MEM)
			return -1;	/* VSIB (per-element addresses) or MPX bound tables */
		if (o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN) {
			if (stack && o->mem.segment == ZYDIS_REGISTER_SS)
				continue;	/* done by stack_access */
			if (no_elems)
				continue;
		}
		s = seg_index(o->mem.segment);
		if (s < 0 || mem_ea(cpu, z, o, sp_adj, &ea))
			return -1;
		if (add(out, linear(cpu, s, ea), (o->size + 7) / 8, o->actions & ZYDIS_OPERAND_ACTION_MASK_READ,
			o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			return -1;
	}
	return 0;
}

int insn_decode(const struct insn_cpu *cpu, const uint8_t *b, size_t n, struct insn_decoded *out)
{
	struct insn_zy z;

	memset(out, 0, sizeof(*out));
	if (insn_zydis(cpu, b, n, &z) || insn_accesses(cpu, &z, out))
		return -1;
	memcpy(out->bytes, b, out->len);
	return 0;
}
