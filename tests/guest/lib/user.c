/*
 * CPL 3 support for guest tests: a GDT with user segments and a TSS (for
 * the stack switch when an exception arrives from CPL 3), user-accessible
 * page tables, and a way back: fn returns into a HLT, which faults (#GP) at
 * CPL 3, and the #GP handler resumes the kernel where user_run left it.
 */
#include "user.h"

void (*user_gp_hook)(struct irq_frame *f);

static uint64_t gdt[8] __attribute__((aligned(16)));
/* 64-bit TSS (104 bytes), then an I/O permission bitmap for ports 0-255 and its 0xff terminator. */
#define IOMAP 104
static uint8_t tss[IOMAP + 32 + 1] __attribute__((aligned(16)));
static uint8_t *user_stack, *kernel_stack;
static uint64_t resume_rsp;
extern char user_return_to_kernel[], user_exit_hlt[];
void user_enter(void (*fn)(void), uint64_t user_rsp, uint64_t rflags, uint64_t *resume_rsp);

static void gp_handler(struct irq_frame *f)
{
	if ((f->cs & 3) == 3 && f->rip == (uint64_t)user_exit_hlt) {	/* fn returned: back to the kernel */
		f->cs = 0x08;
		f->ss = 0x10;
		f->rip = (uint64_t)user_return_to_kernel;
		f->rsp = resume_rsp;
		f->rflags = 0x2;
		return;
	}
	if (user_gp_hook && (f->cs & 3) == 3) {
		user_gp_hook(f);
		return;
	}
	printf("FAIL: #GP at rip 0x%llx cs 0x%llx error 0x%llx\n", (unsigned long long)f->rip,
	       (unsigned long long)f->cs, (unsigned long long)f->error_code);
	debug_exit(1);
}

/* Set the U/S bit on every level of the boot identity map. */
static void make_user_accessible(void)
{
	uint64_t cr3, *pml4, *pdpt;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(cr3 & ~0xfffull);
	pml4[0] |= 4;
	pdpt = (uint64_t *)(pml4[0] & ~0xfffull);
	for (int i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(pdpt[i] & ~0xfffull);

		pdpt[i] |= 4;
		for (int j = 0; j < 512; j++)
			pd[j] |= 4;
	}
	__asm__ volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");
}

void user_setup(void)
{
	static bool ready;
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) p = { sizeof(gdt) - 1, (uint64_t)gdt };
	uint64_t t = (uint64_t)tss;

	if (ready)
		return;
	ready = true;

	user_stack = alloc_zeroed(16384);
	kernel_stack = alloc_zeroed(16384);
	gdt[1] = 0x00af9b000000ffffull;			/* 0x08 kernel code */
	gdt[2] = 0x00cf93000000ffffull;			/* 0x10 kernel data */
	gdt[3] = 0x00cf9b000000ffffull;			/* 0x18 32-bit code */
	gdt[4] = 0x00affb000000ffffull;			/* 0x23 user code (DPL 3) */
	gdt[5] = 0x00cff3000000ffffull;			/* 0x2b user data (DPL 3) */
	gdt[6] = (sizeof(tss) - 1) | (t & 0xffffff) << 16 | 0x89ull << 40 | ((t >> 24) & 0xff) << 56;
	gdt[7] = t >> 32;				/* 0x30: 64-bit TSS */
	uint64_t rsp0 = (uint64_t)kernel_stack + 16384;

	uint16_t iomap = IOMAP;

	memcpy(tss + 4, &rsp0, 8);			/* RSP0 */
	memcpy(tss + 102, &iomap, 2);
	memset(tss + IOMAP, 0xff, 33);			/* every port denied at CPL > IOPL */
	__asm__ volatile("lgdt %0; ltr %w1" :: "m"(p), "r"(0x30) : "memory");
	make_user_accessible();
	set_irq_handler(13, gp_handler);
}

void user_allow_port(uint8_t port, bool allow)
{
	if (allow)
		tss[IOMAP + port / 8] &= (uint8_t)~(1u << (port % 8));
	else
		tss[IOMAP + port / 8] |= (uint8_t)(1u << (port % 8));
}

void user_run(void (*fn)(void))
{
	uint64_t *sp;

	user_setup();
	sp = (uint64_t *)(user_stack + 16384);
	*--sp = 0;				/* keep the ABI's 16-byte alignment at fn's entry */
	*--sp = (uint64_t)user_exit_hlt;	/* fn's return address */
	user_enter(fn, (uint64_t)sp, 0x2, &resume_rsp);
}
