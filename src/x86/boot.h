/* Initial register state of the boot processor for each kernel format (docs/boot.md). */
#ifndef KVSM_X86_BOOT_H
#define KVSM_X86_BOOT_H

#include "../guest_mem.h"
#include "../loader/kernel.h"

#include <linux/kvm.h>

/* Boot data area layout (inside [BOOT_AREA_START, MBI_GPA)). */
#define BOOT_GDT_GPA	0x1000ull
#define BOOT_PML4_GPA	0x2000ull
#define BOOT_PDPT_GPA	0x3000ull
#define BOOT_PD_GPA	0x4000ull	/* four page directories: 0-4 GiB in 2 MiB pages */

#define BOOT_SEL_CODE64 0x08
#define BOOT_SEL_DATA	0x10
#define BOOT_SEL_CODE32 0x18

/*
 * Write the GDT (and for ELF64 the identity page tables) into guest RAM and
 * set regs/sregs for entry. sregs must hold KVM's reset state on input.
 */
void x86_boot_setup(struct guest_mem *gm, const struct kernel_image *img, struct kvm_regs *regs,
		    struct kvm_sregs *sregs);

#endif
