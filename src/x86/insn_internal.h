/* Shared by insn.c (forward) and insn_back.c (backward); not for the rest of kvsm. */
#ifndef KVSM_X86_INSN_INTERNAL_H
#define KVSM_X86_INSN_INTERNAL_H

#include "x86/insn.h"

#include <Zydis/Zydis.h>

#define INSN_RSP	4
#define INSN_RBP	5
#define INSN_RSI	6
#define INSN_RDI	7
#define INSN_DF		(1ull << 10)
#define INSN_ZF		(1ull << 6)

struct insn_zy {
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
};

static inline uint64_t insn_mask(unsigned int bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

/* Replace the low bits of *reg, as a 16- or 32-bit stack or string address update does. */
static inline void insn_set_masked(uint64_t *reg, uint64_t val, unsigned int bits)
{
	*reg = (*reg & ~insn_mask(bits)) | (val & insn_mask(bits));
}

int insn_zydis(const struct insn_cpu *cpu, const uint8_t *b, size_t n, struct insn_zy *z);
int insn_accesses(const struct insn_cpu *cpu, const struct insn_zy *z, struct insn_decoded *out);
bool insn_reg_get(const struct insn_cpu *cpu, ZydisRegister r, uint64_t *v);
bool insn_reg_set(struct insn_cpu *cpu, ZydisRegister r, uint64_t v);
uint64_t insn_fetch_la(const struct insn_cpu *cpu, uint64_t rip);
unsigned int insn_slot(const struct insn_zy *z);
bool insn_is_rep(const struct insn_zy *z);

#endif
