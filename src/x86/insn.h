/*
 * x86 instruction memory accesses, forward and backward (docs/insn.md).
 *
 * KVM-free: the VMM reads the registers and supplies guest memory through
 * callbacks. Built on Zydis 4.
 *
 * insn_decode: the instruction at RIP has not run yet (KVM_RUN failed with
 * EFAULT, or a fetch fault); list every memory access it will make.
 *
 * insn_reconstruct_write: KVM's emulator already ran the instruction and
 * exits with its write (KVM_EXIT_MMIO); find the instruction from the
 * post-instruction registers and roll its register effects back, so that
 * the guest can be left suspended at it.
 */
#ifndef KVSM_X86_INSN_H
#define KVSM_X86_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSN_MAX_LEN	15
#define INSN_MAX_ACC	6

enum { INSN_ES, INSN_CS, INSN_SS, INSN_DS, INSN_FS, INSN_GS };

/* The guest's state, as the VMM read it. */
struct insn_cpu {
	uint64_t gpr[16];	/* RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15 (encoding order) */
	uint64_t rip, rflags;
	uint64_t seg_base[6];	/* INSN_ES..INSN_GS: hidden bases; only FS and GS count in 64-bit mode */
	unsigned int mode;	/* code size 16, 32 or 64 (CS.L / CS.D under CR0.PE, EFER.LMA) */
	unsigned int stack_size;	/* 16, 32 (SS.B) or 64 (long mode) */
};

struct insn_access {
	uint64_t la;		/* linear address (segment base included) */
	unsigned int size;	/* bytes */
	bool read, write;	/* write: also conditional writes (cmpxchg) */
	bool fetch;		/* the instruction fetch itself: always acc[0] */
};

struct insn_decoded {
	unsigned int len;
	uint8_t bytes[INSN_MAX_LEN];
	const char *mnemonic;	/* static string, for logs */
	unsigned int n;		/* acc[0..n) */
	struct insn_access acc[INSN_MAX_ACC];
};

/*
 * Decode the instruction at cpu->rip whose bytes are b[0..n) (n may be short
 * of 15 when the next page is unreadable) and list its accesses: the fetch,
 * explicit memory operands, implicit stack slots (push, pop, call, ret,
 * enter, leave, pushf, iret...) and string elements (none for a rep prefix
 * with a zero count). Returns 0, or -1 if the bytes do not decode (or run
 * out) or the accesses cannot be known (gathers/scatters, MPX). Interrupt
 * and system-call instructions list no stack accesses.
 */
int insn_decode(const struct insn_cpu *cpu, const uint8_t *b, size_t n, struct insn_decoded *out);

/* Guest memory, for insn_reconstruct_write. */
struct insn_mem {
	/* The guest-physical address of linear address la; false if unmapped. */
	bool (*translate)(void *opaque, uint64_t la, uint64_t *gpa);
	/* Copy guest bytes at linear la; returns how many were readable from la on. */
	size_t (*read)(void *opaque, uint64_t la, uint8_t *buf, size_t n);
	void *opaque;
};

enum insn_back_result {
	INSN_BACK_UNIQUE,	/* one instruction fits the write */
	INSN_BACK_SAME_EFFECT,	/* several fit (different starts), all with one effect: the longest */
	INSN_BACK_AMBIGUOUS,	/* several fit with different effects: the longest, a guess */
	INSN_BACK_NONE,		/* none fits, or it cannot be rolled back: out->rolled = *after */
};

struct insn_back {
	struct insn_cpu rolled;	/* the state before the instruction (RIP at it) */
	struct insn_decoded insn;	/* the instruction, decoded with rolled */
	unsigned int decoded;	/* start offsets that decode to a memory writer (counting) */
	unsigned int matched;	/* of those, the ones consistent with the exit */
};

/*
 * KVM emulated an instruction whose write of data[0..size) to gpa exited to
 * the VMM; after is the state after that instruction (RIP past it, or still
 * at a rep stos/movs with a count left). Find the instruction: it must write
 * through a linear address that translates to gpa, with the exit's size
 * (KVM splits a write at page boundaries and into 8-byte exits), and data
 * consistent with its source where that is known. Arithmetic flags are not
 * rolled back: they stay as the instruction left them, and re-execution
 * recomputes them.
 */
enum insn_back_result insn_reconstruct_write(const struct insn_cpu *after, uint64_t gpa,
					     unsigned int size, const uint8_t *data,
					     const struct insn_mem *mem, struct insn_back *out);

const char *insn_back_result_name(enum insn_back_result r);

#endif
