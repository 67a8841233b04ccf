#include "boot.h"
#include "arch.h"
#include "../loader/multiboot.h"

#include <string.h>

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

static const uint64_t gdt[] = {
	0,
	0x00af9b000000ffffull,	/* 0x08: 64-bit code */
	0x00cf93000000ffffull,	/* 0x10: flat data */
	0x00cf9b000000ffffull,	/* 0x18: flat 32-bit code */
};

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, bool l, bool db)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
}

static void write_page_tables(struct guest_mem *gm)
{
	uint64_t *pml4 = guest_mem_priv(gm, BOOT_PML4_GPA, 4096);
	uint64_t *pdpt = guest_mem_priv(gm, BOOT_PDPT_GPA, 4096);
	uint64_t *pd = guest_mem_priv(gm, BOOT_PD_GPA, 4 * 4096);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_GPA | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}

void x86_boot_setup(struct guest_mem *gm, const struct kernel_image *img, struct kvm_regs *regs,
		    struct kvm_sregs *s)
{
	bool lm = img->kind == KERNEL_ELF64;
	struct kvm_segment data = flat_seg(BOOT_SEL_DATA, 3, false, true);

	memcpy(guest_mem_priv(gm, BOOT_GDT_GPA, sizeof(gdt)), gdt, sizeof(gdt));
	s->gdt.base = BOOT_GDT_GPA;
	s->gdt.limit = sizeof(gdt) - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cs = lm ? flat_seg(BOOT_SEL_CODE64, 11, true, false) : flat_seg(BOOT_SEL_CODE32, 11, false, true);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	/*
	 * TR and LDTR as the entry state promises them whatever KVM's reset
	 * state is (SVM resets TR to a 16-bit busy TSS, VMX to a 32-bit one):
	 * a busy 32/64-bit TSS and an unusable LDTR, both with selector 0.
	 */
	s->tr = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	s->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	s->cr0 = CR0_PE | CR0_ET;
	if (lm) {
		write_page_tables(gm);
		s->cr0 |= CR0_MP | CR0_NE | CR0_WP | CR0_PG;
		s->cr3 = BOOT_PML4_GPA;
		s->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		s->efer = EFER_LME | EFER_LMA | EFER_NXE;
	}

	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2;
	regs->rip = img->entry;
	regs->rax = MULTIBOOT_BOOTLOADER_MAGIC;
	regs->rbx = MBI_GPA;
	regs->rdi = MBI_GPA;	/* ELF64: first C argument */
}
