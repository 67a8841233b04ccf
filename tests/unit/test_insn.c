/*
 * x86/insn: forward decoding with exact linear addresses and sizes per
 * instruction class and mode; backward reconstruction of hand-made KVM
 * write exits; then every memory writer of a corpus of real code
 * (insn_corpus/) run through a simulated emulator exit and rolled back,
 * which also measures how often backward decoding is ambiguous.
 */
#include "test.h"
#include "x86/insn.h"

#include <Zydis/Zydis.h>
#include <stdlib.h>

#define RSP 4
#define RBP 5
#define RSI 6
#define RDI 7
#define DF (1ull << 10)
#define ZF (1ull << 6)

static struct insn_cpu cpu64(void)
{
	struct insn_cpu c = { .mode = 64, .stack_size = 64, .rflags = 0x202, .rip = 0x10010 };

	for (int i = 0; i < 16; i++)
		c.gpr[i] = 0x100000ull * (i + 1) + 0x40;
	c.gpr[RSP] = 0x7ff000;
	c.seg_base[INSN_FS] = 0x7f0000000000;
	c.seg_base[INSN_GS] = 0xffff888000000000;
	c.seg_base[INSN_DS] = 0x5000;	/* ignored in 64-bit mode */
	return c;
}

static struct insn_decoded dec(const struct insn_cpu *c, const char *hex)
{
	uint8_t b[INSN_MAX_LEN];
	size_t n = 0;
	struct insn_decoded d;
	unsigned int x;

	while (n < sizeof(b) && sscanf(hex + 3 * n, "%2x", &x) == 1)
		b[n++] = x;
	if (insn_decode(c, b, n, &d)) {
		printf("  %s does not decode\n", hex);
		t_failed = 1;
		memset(&d, 0, sizeof(d));
	}
	return d;
}

#define EXPECT_ACC(d, i, la_, size_, r, w) do { \
	EXPECT((d).n > (i)); \
	EXPECT_EQ((d).acc[i].la, la_); \
	EXPECT_EQ((d).acc[i].size, size_); \
	EXPECT_EQ((d).acc[i].read, r); \
	EXPECT_EQ((d).acc[i].write, w); \
} while (0)

static void fwd_plain(void)
{
	struct insn_cpu c = cpu64();
	struct insn_decoded d = dec(&c, "48 89 44 24 08");	/* mov [rsp+8], rax */

	EXPECT_EQ(d.len, 5);
	EXPECT_EQ(d.n, 2);
	EXPECT_STR_EQ(d.mnemonic, "mov");
	EXPECT_ACC(d, 0, 0x10010, 5, 1, 0);
	EXPECT(d.acc[0].fetch);
	EXPECT_ACC(d, 1, 0x7ff008, 8, 0, 1);
	d = dec(&c, "01 18");			/* add [rax], ebx */
	EXPECT_ACC(d, 1, 0x100040, 4, 1, 1);
	d = dec(&c, "8b 44 8b f0");		/* mov eax, [rbx+rcx*4-0x10] */
	EXPECT_ACC(d, 1, 0x400040 + 0x200040 * 4 - 0x10, 4, 1, 0);
	d = dec(&c, "48 8d 04 8b");		/* lea: no access */
	EXPECT_EQ(d.n, 1);
	d = dec(&c, "67 89 03");		/* mov [ebx], eax: 32-bit address */
	c.gpr[3] = 0x1234567800000010;
	d = dec(&c, "67 89 03");
	EXPECT_ACC(d, 1, 0x10, 4, 0, 1);
	d = dec(&c, "d7");			/* xlat: [rbx + al] */
	EXPECT_ACC(d, 1, 0x1234567800000010 + 0x40, 1, 1, 0);
	d = dec(&c, "0f b1 0b");		/* cmpxchg [rbx], ecx: conditional write */
	EXPECT_ACC(d, 1, 0x1234567800000010, 4, 1, 1);
	c.rip = 0x401000;
	d = dec(&c, "48 89 05 10 00 00 00");	/* mov [rip+0x10], rax */
	EXPECT_ACC(d, 1, 0x401000 + 7 + 0x10, 8, 0, 1);
	EXPECT_EQ(insn_decode(&c, (const uint8_t *)"\x48\x89", 2, &d), -1);
}

static void fwd_segments_vector(void)
{
	struct insn_cpu c = cpu64();
	struct insn_decoded d = dec(&c, "64 48 8b 04 25 28 00 00 00");	/* mov rax, fs:[0x28] */

	EXPECT_ACC(d, 1, 0x7f0000000028, 8, 1, 0);
	d = dec(&c, "65 48 89 18");		/* mov gs:[rax], rbx */
	EXPECT_ACC(d, 1, 0xffff888000000000 + 0x100040, 8, 0, 1);
	d = dec(&c, "3e 89 18");		/* ds: base ignored in 64-bit mode */
	EXPECT_ACC(d, 1, 0x100040, 4, 0, 1);
	d = dec(&c, "c5 fe 7f 07");		/* vmovdqu [rdi], ymm0 */
	EXPECT_ACC(d, 1, 0x800040, 32, 0, 1);
	d = dec(&c, "0f 11 47 10");		/* movups [rdi+16], xmm0 */
	EXPECT_ACC(d, 1, 0x800050, 16, 0, 1);
	d = dec(&c, "0f ae 07");		/* fxsave [rdi] */
	EXPECT_ACC(d, 1, 0x800040, 512, 0, 1);
}

static void fwd_stack(void)
{
	struct insn_cpu c = cpu64();
	struct insn_decoded d = dec(&c, "55");	/* push rbp */

	EXPECT_ACC(d, 1, 0x7feff8, 8, 0, 1);
	d = dec(&c, "66 50");			/* push ax */
	EXPECT_ACC(d, 1, 0x7feffe, 2, 0, 1);
	d = dec(&c, "6a ff");			/* push -1 */
	EXPECT_ACC(d, 1, 0x7feff8, 8, 0, 1);
	d = dec(&c, "ff 30");			/* push [rax] */
	EXPECT_EQ(d.n, 3);
	EXPECT_ACC(d, 1, 0x7feff8, 8, 0, 1);
	EXPECT_ACC(d, 2, 0x100040, 8, 1, 0);
	d = dec(&c, "9c");			/* pushfq */
	EXPECT_ACC(d, 1, 0x7feff8, 8, 0, 1);
	d = dec(&c, "e8 00 01 00 00");		/* call rel32 */
	EXPECT_ACC(d, 1, 0x7feff8, 8, 0, 1);
	d = dec(&c, "ff 10");			/* call [rax] */
	EXPECT_ACC(d, 1, 0x7feff8, 8, 0, 1);
	EXPECT_ACC(d, 2, 0x100040, 8, 1, 0);
	d = dec(&c, "c3");			/* ret */
	EXPECT_ACC(d, 1, 0x7ff000, 8, 1, 0);
	d = dec(&c, "c2 10 00");		/* ret 16 */
	EXPECT_ACC(d, 1, 0x7ff000, 8, 1, 0);
	d = dec(&c, "5d");			/* pop rbp */
	EXPECT_ACC(d, 1, 0x7ff000, 8, 1, 0);
	d = dec(&c, "8f 44 24 08");		/* pop [rsp+8]: address after the pop */
	EXPECT_ACC(d, 1, 0x7ff000, 8, 1, 0);
	EXPECT_ACC(d, 2, 0x7ff010, 8, 0, 1);
	d = dec(&c, "c9");			/* leave */
	EXPECT_EQ(d.n, 2);
	EXPECT_ACC(d, 1, 0x600040, 8, 1, 0);
	d = dec(&c, "c8 20 00 00");		/* enter 32, 0 */
	EXPECT_EQ(d.n, 2);
	EXPECT_ACC(d, 1, 0x7feff8, 8, 0, 1);
	d = dec(&c, "c8 20 00 03");		/* enter 32, 3: copies 2 frame pointers */
	EXPECT_ACC(d, 1, 0x600040 - 16, 16, 1, 0);
	EXPECT_ACC(d, 2, 0x7ff000 - 32, 32, 0, 1);
	d = dec(&c, "48 cf");			/* iretq: RIP, CS, RFLAGS, RSP, SS */
	EXPECT_ACC(d, 1, 0x7ff000, 40, 1, 0);
}

static void fwd_string(void)
{
	struct insn_cpu c = cpu64();
	struct insn_decoded d = dec(&c, "aa");	/* stosb */

	EXPECT_ACC(d, 1, 0x800040, 1, 0, 1);
	d = dec(&c, "a5");			/* movsd */
	EXPECT_EQ(d.n, 3);
	EXPECT_ACC(d, 1, 0x800040, 4, 0, 1);
	EXPECT_ACC(d, 2, 0x700040, 4, 1, 0);
	d = dec(&c, "64 a4");			/* movsb fs:[rsi] -> es:[rdi] */
	EXPECT_ACC(d, 2, 0x7f0000700040, 1, 1, 0);
	d = dec(&c, "f3 48 ab");		/* rep stosq */
	EXPECT_ACC(d, 1, 0x800040, 8, 0, 1);
	c.gpr[1] = 0;
	d = dec(&c, "f3 48 ab");		/* a zero count touches nothing */
	EXPECT_EQ(d.n, 1);
	c.gpr[1] = 0x100000000;
	d = dec(&c, "67 f3 aa");		/* ECX counts with a 32-bit address size */
	EXPECT_EQ(d.n, 1);
}

static void fwd_legacy(void)
{
	struct insn_cpu c = cpu64();
	struct insn_decoded d;

	c.mode = 32;
	c.stack_size = 32;
	c.rip = 0x1000;
	c.seg_base[INSN_CS] = 0x100000;
	c.seg_base[INSN_DS] = 0x1000;
	c.seg_base[INSN_SS] = 0x20000;
	c.seg_base[INSN_FS] = 0x30000;
	c.gpr[3] = 0xfffffff0;
	d = dec(&c, "89 03");			/* mov [ebx], eax: wraps at 4 GiB */
	EXPECT_ACC(d, 0, 0x101000, 2, 1, 0);
	EXPECT_ACC(d, 1, 0xff0, 4, 0, 1);
	d = dec(&c, "55");			/* push ebp */
	EXPECT_ACC(d, 1, 0x20000 + 0x7feffc, 4, 0, 1);
	d = dec(&c, "64 89 03");		/* mov fs:[ebx], eax */
	EXPECT_ACC(d, 1, 0x2fff0, 4, 0, 1);
	d = dec(&c, "60");			/* pushad */
	EXPECT_ACC(d, 1, 0x20000 + 0x7ff000 - 32, 32, 0, 1);
	d = dec(&c, "e8 00 00 00 00");		/* call: 4-byte slot */
	EXPECT_ACC(d, 1, 0x20000 + 0x7feffc, 4, 0, 1);

	c.mode = 16;
	c.stack_size = 16;
	c.gpr[RSP] = 0x10000;			/* SP = 0: a push wraps to 0xfffe */
	c.gpr[3] = 0x12340010;
	c.seg_base[INSN_DS] = 0x12340;
	d = dec(&c, "89 07");			/* mov [bx], ax */
	EXPECT_ACC(d, 1, 0x12350, 2, 0, 1);
	d = dec(&c, "66 89 07");		/* mov [bx], eax */
	EXPECT_ACC(d, 1, 0x12350, 4, 0, 1);
	d = dec(&c, "50");			/* push ax */
	EXPECT_ACC(d, 1, 0x20000 + 0xfffe, 2, 0, 1);
	d = dec(&c, "89 42 fe");		/* mov [bp+si-2], ax */
	EXPECT_ACC(d, 1, 0x20000 + ((0x600040 + 0x700040 - 2) & 0xffff), 2, 0, 1);	/* SS */
}

/* ------------------------------------------------------------------ */
/* Backward reconstruction, one exit at a time                         */
/* ------------------------------------------------------------------ */

#define CODE 0x10000ull

/* Guest memory: code at CODE, every linear address mapped 1:1 except one page. */
static struct {
	const uint8_t *code;
	size_t len;
	uint64_t base, remap_la, remap_gpa;
} g;
static uint8_t code[0x400];

static bool t_translate(void *o, uint64_t la, uint64_t *gpa)
{
	*gpa = (la & ~0xfffull) == g.remap_la ? g.remap_gpa | (la & 0xfff) : la;
	return true;
}

static size_t t_read(void *o, uint64_t la, uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n && la + i >= g.base && la + i < g.base + g.len; i++)
		buf[i] = g.code[la + i - g.base];
	return i;
}

static const struct insn_mem mem = { t_translate, t_read, NULL };

/* Fill the code with nops and put hex at la. */
static void place(uint64_t la, const char *hex)
{
	unsigned int x;

	memset(code, 0x90, sizeof(code));
	g.code = code;
	g.len = sizeof(code);
	g.base = CODE;
	g.remap_la = 1;
	for (size_t n = 0; sscanf(hex + 3 * n, "%2x", &x) == 1; n++)
		code[la - CODE + n] = x;
}

static enum insn_back_result back(const struct insn_cpu *after, uint64_t gpa, unsigned int size,
				  uint64_t data, struct insn_back *o)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = data >> (8 * i);
	return insn_reconstruct_write(after, gpa, size, b, &mem, o);
}

#define EXPECT_ROLLED(o, want) do { \
	for (int _i = 0; _i < 16; _i++) \
		EXPECT_EQ((o).rolled.gpr[_i], (want).gpr[_i]); \
	EXPECT_EQ((o).rolled.rip, (want).rip); \
} while (0)

static void back_push(void)
{
	struct insn_cpu b = cpu64(), a;
	struct insn_back o;

	place(0x10010, "41 54");		/* push r12 ... or push rsp after a stray 0x41 */
	a = b;
	a.rip += 2;
	a.gpr[RSP] -= 8;
	EXPECT_EQ(back(&a, 0x7feff8, 8, b.gpr[12], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	EXPECT_EQ(o.insn.len, 2);
	EXPECT_EQ(o.decoded, 2);
	EXPECT_EQ(o.matched, 1);
	EXPECT_EQ(back(&a, 0x7feff8, 8, 0x7ff000, &o), INSN_BACK_UNIQUE);	/* rsp's value: push rsp */
	EXPECT_EQ(o.rolled.rip, 0x10011);
	EXPECT_EQ(back(&a, 0x7feff8, 8, 1234, &o), INSN_BACK_NONE);
	EXPECT_EQ(o.rolled.rip, a.rip);
	EXPECT_EQ(back(&a, 0x7feff0, 8, b.gpr[12], &o), INSN_BACK_NONE);	/* wrong address */
	EXPECT_EQ(back(&a, 0x7feff8, 4, b.gpr[12], &o), INSN_BACK_NONE);	/* wrong size */
	a.gpr[12] = b.gpr[12] = 0x7ff000;	/* both push the same value: same effect, the longer */
	EXPECT_EQ(back(&a, 0x7feff8, 8, 0x7ff000, &o), INSN_BACK_SAME_EFFECT);
	EXPECT_EQ(o.rolled.rip, 0x10010);

	place(0x10010, "6a fb");		/* push -5 */
	a = b;
	a.rip += 2;
	a.gpr[RSP] -= 8;
	EXPECT_EQ(back(&a, 0x7feff8, 8, -5ull, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	place(0x10010, "9c");			/* pushfq */
	a.rip = b.rip + 1;
	a.rflags = b.rflags | 1ull << 16;	/* RF reads as 0 */
	EXPECT_EQ(back(&a, 0x7feff8, 8, 0x202, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	place(0x10010, "8f 00");		/* pop [rax] */
	a = b;
	a.rip += 2;
	a.gpr[RSP] += 8;
	EXPECT_EQ(back(&a, b.gpr[0], 8, 77, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
}

static void back_mov(void)
{
	struct insn_cpu b = cpu64(), a;
	struct insn_back o;

	place(0x10010, "48 89 18");		/* mov [rax], rbx */
	a = b;
	a.rip += 3;
	EXPECT_EQ(back(&a, b.gpr[0], 8, b.gpr[3], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	EXPECT_STR_EQ(o.insn.mnemonic, "mov");
	EXPECT_EQ(o.insn.bytes[0], 0x48);
	EXPECT_EQ(back(&a, b.gpr[0], 8, b.gpr[3] + 1, &o), INSN_BACK_NONE);

	place(0x10010, "64 48 89 18");		/* mov fs:[rax], rbx: not the one without fs */
	a.rip = b.rip + 4;
	EXPECT_EQ(back(&a, 0x7f0000000000 + b.gpr[0], 8, b.gpr[3], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	EXPECT_EQ(o.insn.len, 4);

	place(0x10010, "3e 01 18");		/* ds: add [rax], ebx: the same as without ds */
	a.rip = b.rip + 3;
	EXPECT_EQ(back(&a, b.gpr[0], 4, 0, &o), INSN_BACK_SAME_EFFECT);
	EXPECT_ROLLED(o, b);

	/* A write across a page boundary into a remapped page: each piece matches. */
	place(0x10010, "48 89 18");
	b.gpr[0] = 0x1ffc;
	a = b;
	a.rip += 3;
	g.remap_la = 0x2000;
	g.remap_gpa = 0x9000;
	EXPECT_EQ(back(&a, 0x9000, 4, b.gpr[3] >> 32, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	/* The first half is also what mov [rax], ebx would write: the longer is taken. */
	EXPECT_EQ(back(&a, 0x1ffc, 4, b.gpr[3], &o), INSN_BACK_AMBIGUOUS);
	EXPECT_ROLLED(o, b);
	EXPECT_EQ(back(&a, 0x2000, 4, b.gpr[3] >> 32, &o), INSN_BACK_NONE);	/* not where it maps */
	EXPECT_EQ(back(&a, 0x9000, 4, b.gpr[3], &o), INSN_BACK_NONE);	/* the wrong half */

	/* A 32-byte store exits in 8-byte chunks. */
	b = cpu64();
	place(0x10010, "d9 3f");			/* fnstcw [rdi]: no register changes */
	a = b;
	a.rip += 2;
	EXPECT_EQ(back(&a, b.gpr[RDI], 2, 0x37f, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	place(0x10010, "dd 1f");		/* fstp [rdi]: moves the x87 stack, cannot roll back */
	EXPECT_EQ(back(&a, b.gpr[RDI], 8, 0, &o), INSN_BACK_NONE);
	EXPECT_EQ(o.decoded, 1);

	place(0x10010, "c5 fe 7f 07");		/* vmovdqu [rdi], ymm0 */
	a = b;
	a.rip += 4;
	EXPECT_EQ(back(&a, b.gpr[RDI] + 8, 8, 0x1234, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	EXPECT_EQ(back(&a, b.gpr[RDI] + 4, 8, 0x1234, &o), INSN_BACK_NONE);
}

static void back_call(void)
{
	struct insn_cpu b = cpu64(), a;
	struct insn_back o;

	place(0x10010, "e8 eb 00 00 00");	/* call 0x10100 */
	a = b;
	a.rip = 0x10100;
	a.gpr[RSP] -= 8;
	EXPECT_EQ(back(&a, 0x7feff8, 8, 0x10015, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	EXPECT_STR_EQ(o.insn.mnemonic, "call");
	a.rip = 0x10104;			/* not where it calls */
	EXPECT_EQ(back(&a, 0x7feff8, 8, 0x10015, &o), INSN_BACK_NONE);

	place(0x10010, "41 ff d5");		/* call r13 */
	a.rip = b.gpr[13];
	EXPECT_EQ(back(&a, 0x7feff8, 8, 0x10013, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);

	place(0x10010, "e8 00 00 00 00");	/* call to the next instruction (32-bit PIC idiom) */
	a.rip = 0x10015;
	EXPECT_EQ(back(&a, 0x7feff8, 8, 0x10015, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
}

static void back_string(void)
{
	struct insn_cpu b = cpu64(), a;
	struct insn_back o;

	place(0x10010, "f3 48 ab");		/* rep stosq */
	b.gpr[1] = 3;
	a = b;
	a.gpr[1] = 2;
	a.gpr[RDI] += 8;			/* RIP stays: the count is not done */
	EXPECT_EQ(back(&a, b.gpr[RDI], 8, b.gpr[0], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	EXPECT_EQ(back(&a, b.gpr[RDI], 8, b.gpr[0] + 1, &o), INSN_BACK_NONE);
	b.gpr[1] = 1;				/* the last element: RIP moves on */
	b.rflags |= DF;
	a = b;
	a.gpr[1] = 0;
	a.gpr[RDI] -= 8;
	a.rip += 3;
	/* ...as a plain stosq after a stray 0xf3 also would, but with RCX untouched. */
	EXPECT_EQ(back(&a, b.gpr[RDI], 8, b.gpr[0], &o), INSN_BACK_AMBIGUOUS);
	EXPECT_ROLLED(o, b);

	place(0x10010, "a4");			/* movsb */
	b = cpu64();
	a = b;
	a.gpr[RSI]++;
	a.gpr[RDI]++;
	a.rip++;
	EXPECT_EQ(back(&a, b.gpr[RDI], 1, 0x55, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);

	place(0x10010, "67 f3 a5");		/* rep movsd, 32-bit addresses: ESI/EDI/ECX wrap */
	b.gpr[RSI] = 0x12345678fffffffc;
	b.gpr[RDI] = 0x00000001fffffffe;
	b.gpr[1] = 0x100000005;
	a = b;
	a.gpr[RSI] = 0x1234567800000000;
	a.gpr[RDI] = 0x0000000100000002;
	a.gpr[1] = 0x100000004;
	EXPECT_EQ(back(&a, 0xfffffffe, 2, 0, &o), INSN_BACK_UNIQUE);	/* the first page's part */
	EXPECT_ROLLED(o, b);
}

static void back_rmw(void)
{
	struct insn_cpu b = cpu64(), a;
	struct insn_back o;

	place(0x10010, "48 87 18");		/* xchg [rax], rbx */
	a = b;
	a.rip += 3;
	a.gpr[3] = 0x1111;			/* the old memory value */
	EXPECT_EQ(back(&a, b.gpr[0], 8, b.gpr[3], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);

	place(0x10010, "f0 0f c1 18");		/* lock xadd [rax], ebx */
	a = b;
	a.rip += 4;
	a.gpr[3] = 5;
	/* Without the lock prefix it does the same: the longer is taken. */
	EXPECT_EQ(back(&a, b.gpr[0], 4, 5 + b.gpr[3], &o), INSN_BACK_SAME_EFFECT);
	EXPECT_ROLLED(o, b);

	place(0x10010, "f0 48 0f b1 18");	/* lock cmpxchg [rax], rbx */
	b.rflags |= ZF;
	a = b;
	a.rip += 5;
	EXPECT_EQ(back(&a, b.gpr[0], 8, b.gpr[3], &o), INSN_BACK_SAME_EFFECT);
	EXPECT_ROLLED(o, b);
	a.rflags &= ~ZF;			/* failed: KVM rewrote the old value; RAX is lost */
	EXPECT_EQ(back(&a, b.gpr[0], 8, a.gpr[0], &o), INSN_BACK_NONE);

	place(0x10010, "48 0f c7 0f");		/* cmpxchg16b [rdi] */
	a = b;
	a.rip += 4;
	EXPECT_EQ(back(&a, b.gpr[RDI] + 8, 8, b.gpr[1], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);

	place(0x10010, "c8 20 00 00");		/* enter 32, 0 */
	a = b;
	a.rip += 4;
	a.gpr[RBP] = b.gpr[RSP] - 8;
	a.gpr[RSP] = a.gpr[RBP] - 32;
	EXPECT_EQ(back(&a, b.gpr[RSP] - 8, 8, b.gpr[RBP], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	a.gpr[RSP] -= 8;			/* not what enter 32 leaves */
	EXPECT_EQ(back(&a, b.gpr[RSP] - 8, 8, b.gpr[RBP], &o), INSN_BACK_NONE);
}

static void back_legacy(void)
{
	struct insn_cpu b = cpu64(), a;
	struct insn_back o;

	b.mode = 32;
	b.stack_size = 32;
	b.seg_base[INSN_SS] = 0x20000;
	b.seg_base[INSN_CS] = 0;
	place(0x10010, "55");			/* push ebp */
	a = b;
	a.rip++;
	a.gpr[RSP] -= 4;
	EXPECT_EQ(back(&a, 0x20000 + 0x7feffc, 4, b.gpr[RBP], &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
	place(0x10010, "e8 eb 00 00 00");	/* call: a 4-byte return address */
	a = b;
	a.rip = 0x10100;
	a.gpr[RSP] -= 4;
	EXPECT_EQ(back(&a, 0x20000 + 0x7feffc, 4, 0x10015, &o), INSN_BACK_UNIQUE);
	EXPECT_ROLLED(o, b);
}

/* ------------------------------------------------------------------ */
/* The corpus: every memory writer of real code, through an exit       */
/* ------------------------------------------------------------------ */

#define CORPUS_LA 0x400000ull

struct tally {
	unsigned int writers, unsupported, multi_decoded, multi_matched;
	unsigned int res[4], same_other_start, ambiguous_right, failed;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The test's own view of a GPR operand (independent of the module's). */
static uint64_t *gpr_of(struct insn_cpu *c, ZydisRegister r, unsigned int *bits, unsigned int *shift)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);

	*bits = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);
	*shift = r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH ? 8 : 0;
	if (*shift)
		return &c->gpr[r - ZYDIS_REGISTER_AH];
	return big >= ZYDIS_REGISTER_RAX && big <= ZYDIS_REGISTER_R15 ? &c->gpr[big - ZYDIS_REGISTER_RAX] : NULL;
}

static uint64_t mask(unsigned int bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static bool operand_value(struct insn_cpu *c, const ZydisDecodedOperand *o, uint64_t *v)
{
	unsigned int bits, shift;
	uint64_t *r;

	if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		*v = o->imm.value.u;
		return true;
	}
	if (o->type != ZYDIS_OPERAND_TYPE_REGISTER || !(r = gpr_of(c, o->reg.value, &bits, &shift)))
		return false;
	*v = (*r >> shift) & mask(bits);
	return true;
}

static void set_operand(struct insn_cpu *c, const ZydisDecodedOperand *o, uint64_t v)
{
	unsigned int bits, shift;
	uint64_t *r = gpr_of(c, o->reg.value, &bits, &shift);

	if (bits == 32)
		*r = v & mask(32);
	else
		*r = (*r & ~(mask(bits) << shift)) | (v & mask(bits)) << shift;
}

static bool writes_only_flags(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *op)
{
	for (int i = 0; i < zi->operand_count; i++)
		if (op[i].type == ZYDIS_OPERAND_TYPE_REGISTER && (op[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
		    op[i].reg.value != ZYDIS_REGISTER_RFLAGS && op[i].reg.value != ZYDIS_REGISTER_EFLAGS &&
		    op[i].reg.value != ZYDIS_REGISTER_FLAGS)
			return false;
	return true;
}

/*
 * What KVM's emulator leaves for the writer at b->rip: the state after it
 * (*a) and the bytes it writes (data, from the start of the write w).
 * b may be adjusted first (a rep count, a 32-bit register's upper half that
 * the instruction overwrites anyway). False for classes the module does not
 * roll back.
 */
static bool simulate(struct insn_cpu *b, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *op,
		     struct insn_cpu *a, uint8_t *data, struct insn_access *w)
{
	const uint8_t *bytes = g.code + (b->rip - g.base);
	unsigned int size = zi->operand_width / 8, bits, shift;
	uint64_t v = rng(), old = rng(), step;
	struct insn_decoded d;
	bool rep = zi->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
	const ZydisDecodedOperand *reg = NULL;

	for (int i = 0; i < zi->operand_count_visible; i++)
		if (op[i].type == ZYDIS_OPERAND_TYPE_REGISTER && !reg)
			reg = &op[i];
	if (zi->mnemonic == ZYDIS_MNEMONIC_XCHG || zi->mnemonic == ZYDIS_MNEMONIC_XADD)
		if (reg && gpr_of(b, reg->reg.value, &bits, &shift) && bits == 32)
			set_operand(b, reg, operand_value(b, reg, &v) ? v : 0);
	if (rep)
		b->gpr[1] = 3;
	if (insn_decode(b, bytes, zi->length, &d))
		return false;
	for (unsigned int i = 1; i < d.n; i++)
		if (d.acc[i].write) {
			*w = d.acc[i];
			break;
		}
	for (int i = 0; i < 64; i++)
		data[i] = rng();
	*a = *b;
	a->rip = b->rip + zi->length;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_PUSH:
		a->gpr[RSP] -= w->size;
		if (operand_value(b, &op[0], &v))
			memcpy(data, &v, 8);
		return true;
	case ZYDIS_MNEMONIC_PUSHFQ:
		a->gpr[RSP] -= 8;
		v = b->rflags;
		memcpy(data, &v, 8);
		return true;
	case ZYDIS_MNEMONIC_CALL:
		if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
			return false;
		a->gpr[RSP] -= 8;
		v = a->rip;
		memcpy(data, &v, 8);
		if (op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			a->rip += op[0].imm.value.u;
		else if (!operand_value(b, &op[0], &a->rip))
			a->rip = 0x7000000;	/* from memory */
		return true;
	case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
	case ZYDIS_MNEMONIC_STOSQ: case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW:
	case ZYDIS_MNEMONIC_MOVSD: case ZYDIS_MNEMONIC_MOVSQ:
		if (zi->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
			break;	/* SSE2 movsd */
		step = b->rflags & DF ? -(uint64_t)size : size;
		a->gpr[RDI] += step;
		if (zi->mnemonic >= ZYDIS_MNEMONIC_MOVSB && zi->mnemonic <= ZYDIS_MNEMONIC_MOVSW)
			a->gpr[RSI] += step;
		else
			memcpy(data, &b->gpr[0], 8);
		if (rep) {
			a->gpr[1]--;
			a->rip = b->rip;	/* 2 left */
		}
		return zi->address_width == 64;
	case ZYDIS_MNEMONIC_XCHG:
		if (!reg)
			return false;
		operand_value(b, reg, &v);
		memcpy(data, &v, 8);
		set_operand(a, reg, old);
		return true;
	case ZYDIS_MNEMONIC_XADD:
		operand_value(b, reg, &v);
		v += old;
		memcpy(data, &v, 8);
		set_operand(a, reg, old);
		return true;
	case ZYDIS_MNEMONIC_CMPXCHG:	/* b->rflags has ZF: success */
		operand_value(b, reg, &v);
		memcpy(data, &v, 8);
		return true;
	case ZYDIS_MNEMONIC_CMPXCHG8B:
	case ZYDIS_MNEMONIC_CMPXCHG16B:
		memcpy(data, &b->gpr[3], 8);
		memcpy(data + size / 2, &b->gpr[1], 8);
		return true;
	case ZYDIS_MNEMONIC_POP:
		a->gpr[RSP] += 8;
		return true;
	case ZYDIS_MNEMONIC_ENTER:
		if (op[1].imm.value.u)
			return false;
		memcpy(data, &b->gpr[RBP], 8);
		a->gpr[RBP] = b->gpr[RSP] - 8;
		a->gpr[RSP] = a->gpr[RBP] - op[0].imm.value.u;
		return true;
	default:
		break;
	}
	if (!writes_only_flags(zi, op))
		return false;
	if ((zi->mnemonic == ZYDIS_MNEMONIC_MOV || zi->mnemonic == ZYDIS_MNEMONIC_MOVNTI) &&
	    op[0].type == ZYDIS_OPERAND_TYPE_MEMORY && operand_value(b, &op[1], &v))
		memcpy(data, &v, 8);
	return true;
}

static bool writes_memory(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *op)
{
	for (int i = 0; i < zi->operand_count; i++)
		if (op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && op[i].mem.type == ZYDIS_MEMOP_TYPE_MEM &&
		    (op[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			return true;
	return false;
}

static void check_one(struct tally *t, struct insn_cpu *b, const ZydisDecodedInstruction *zi,
		      const ZydisDecodedOperand *op)
{
	struct insn_cpu a;
	struct insn_access w = { 0 };
	struct insn_back o;
	uint8_t data[64];
	unsigned int size;
	enum insn_back_result r;
	bool regs_ok;

	if (!simulate(b, zi, op, &a, data, &w) || !w.write) {
		t->unsupported++;
		return;
	}
	t->writers++;
	size = 0x1000 - (w.la & 0xfff);	/* KVM's first exit: up to 8 bytes, within the page */
	size = size < w.size ? size : w.size;
	r = insn_reconstruct_write(&a, w.la, size < 8 ? size : 8, data, &mem, &o);
	t->res[r]++;
	t->multi_decoded += o.decoded > 1;
	t->multi_matched += o.matched > 1;
	regs_ok = !memcmp(o.rolled.gpr, b->gpr, sizeof(b->gpr));
	if (r == INSN_BACK_SAME_EFFECT && regs_ok && o.rolled.rip != b->rip)
		t->same_other_start++;
	if (r == INSN_BACK_AMBIGUOUS && regs_ok && o.rolled.rip == b->rip)
		t->ambiguous_right++;
	if (r == INSN_BACK_AMBIGUOUS || (regs_ok && (o.rolled.rip == b->rip || r == INSN_BACK_SAME_EFFECT)))
		return;
	if (t->failed++ < 5) {
		char text[96];
		ZydisFormatter f;

		ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_INTEL);
		ZydisFormatterFormatInstruction(&f, zi, op, zi->operand_count_visible, text, sizeof(text),
						b->rip, NULL);
		printf("  %#llx %s: %s, rolled rip %#llx\n", (unsigned long long)b->rip, text,
		       insn_back_result_name(r), (unsigned long long)o.rolled.rip);
	}
}

static bool corpus_file(struct tally *t, const char *name)
{
	static uint8_t buf[256 * 1024];
	char path[128];
	FILE *f;
	size_t len;
	ZydisDecoder zd;

	snprintf(path, sizeof(path), "tests/unit/insn_corpus/%s", name);
	f = fopen(path, "rb");
	if (!f)
		return false;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	g.code = buf;
	g.len = len;
	g.base = CORPUS_LA;
	g.remap_la = 1;
	ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (size_t off = 0; off < len;) {
		ZydisDecodedInstruction zi;
		ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
		struct insn_cpu b = { .mode = 64, .stack_size = 64, .rip = CORPUS_LA + off };

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zd, buf + off, len - off, &zi, op))) {
			off++;
			continue;
		}
		off += zi.length;
		if (!writes_memory(&zi, op))
			continue;
		/* Pointer-like register values; ZF set (a cmpxchg that succeeded), DF at random. */
		for (int i = 0; i < 16; i++)
			b.gpr[i] = 0x7f0000000000 | (rng() & 0xfffffff8);
		b.rflags = 0x246 | (rng() & DF);
		b.seg_base[INSN_FS] = 0x7ff000000000;
		b.seg_base[INSN_GS] = 0x7fe000000000;
		check_one(t, &b, &zi, op);
	}
	return true;
}

static void corpus(void)
{
	static const char *const files[] = { "bash.bin", "libc-text.bin", "libc-string.bin" };
	struct tally t = { 0 };
	char line[400];

	for (unsigned int i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!corpus_file(&t, files[i])) {
			printf("skip insn_corpus: tests/unit/insn_corpus/%s missing (run from the tree)\n", files[i]);
			return;
		}
	}
	EXPECT_EQ(t.failed, 0);
	EXPECT(t.writers > 1000);
#define PCT(x) (100.0 * (x) / t.writers)
	snprintf(line, sizeof(line),
		 "%u writers rolled back (%u not supported): >1 start decodes to a writer %.1f%%, "
		 ">1 fits the exit %.1f%%; unique %.1f%%, same effect %.1f%% (%u at another start), "
		 "ambiguous %.2f%% (%u, %u guessed right), none %.2f%%",
		 t.writers, t.unsupported, PCT(t.multi_decoded), PCT(t.multi_matched),
		 PCT(t.res[INSN_BACK_UNIQUE]), PCT(t.res[INSN_BACK_SAME_EFFECT]), t.same_other_start,
		 PCT(t.res[INSN_BACK_AMBIGUOUS]), t.res[INSN_BACK_AMBIGUOUS], t.ambiguous_right, PCT(t.res[INSN_BACK_NONE]));
	printf("%s insn_corpus: %s\n", t_failed ? "FAIL" : "ok", line);
	t_total_failed += t_failed;
}

int main(void)
{
	RUN_TEST(fwd_plain);
	RUN_TEST(fwd_segments_vector);
	RUN_TEST(fwd_stack);
	RUN_TEST(fwd_string);
	RUN_TEST(fwd_legacy);
	RUN_TEST(back_push);
	RUN_TEST(back_mov);
	RUN_TEST(back_call);
	RUN_TEST(back_string);
	RUN_TEST(back_rmw);
	RUN_TEST(back_legacy);
	t_failed = 0;
	corpus();
	return TEST_EXIT();
}
