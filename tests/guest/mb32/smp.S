/*
 * A multiboot v1 SMP kernel of the kind built elsewhere: reads the CPU count
 * from fw_cfg, starts every AP with INIT/SIPI through a real-mode trampoline
 * it copies to 0x7000, waits until all of them check in, prints the count and
 * writes it to isa-debug-exit (2 CPUs: exit status 5). On a mismatch or
 * timeout it writes 1 (status 3).
 */
#define APIC 0xfee00000
#define TRAMP 0x7000

	.code32
	.section .text
	.align 4
	.long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)

	.globl _start
_start:
	mov $stack_top, %esp
	/* fw_cfg: select FW_CFG_NB_CPUS (5), read a little-endian u16. */
	mov $5, %ax
	mov $0x510, %dx
	outw %ax, %dx
	mov $0x511, %dx
	inb %dx, %al
	mov %al, %bl
	inb %dx, %al
	mov %al, %bh
	movzwl %bx, %ebx
	mov %ebx, ncpus

	/* Copy the trampoline below 1 MiB, enable the local APIC. */
	mov $tramp, %esi
	mov $TRAMP, %edi
	mov $(tramp_end - tramp), %ecx
	rep movsb
	orl $0x1ff, APIC + 0xf0

	mov $1, %ecx			/* APIC IDs 1 .. ncpus-1 */
next_ap:
	cmp ncpus, %ecx
	jae wait_aps
	mov %ecx, %eax
	shl $24, %eax
	mov %eax, APIC + 0x310
	movl $0x4500, APIC + 0x300	/* INIT */
	mov %eax, APIC + 0x310
	movl $(0x4600 | (TRAMP >> 12)), APIC + 0x300	/* SIPI */
	inc %ecx
	jmp next_ap

wait_aps:
	mov $10000000, %ecx
1:	mov ncpus, %eax
	dec %eax
	cmp %eax, ap_count
	je done
	pause
	loop 1b
	mov $1, %al			/* timeout */
	jmp out
done:	mov ncpus, %eax
	add $'0', %al
	mov $0x3f8, %dx
	mov $msg, %esi
2:	lodsb
	test %al, %al
	jz 3f
	outb %al, %dx
	jmp 2b
3:	mov ncpus, %eax
	add $'0', %al
	outb %al, %dx
	mov $'\n', %al
	outb %al, %dx
	mov ncpus, %eax
out:	outb %al, $0xf4
4:	cli
	hlt
	jmp 4b

/* Real-mode trampoline, position-dependent on TRAMP; enters flat 32-bit mode. */
	.code16
tramp:
	cli
	xor %ax, %ax
	mov %ax, %ds
	lgdtl TRAMP + (gdt_ptr - tramp)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $ap_pm32
	.align 8
gdt:	.quad 0
	.quad 0x00cf9b000000ffff	/* 0x08 flat code */
	.quad 0x00cf93000000ffff	/* 0x10 flat data */
gdt_ptr: .word gdt_ptr - gdt - 1
	.long TRAMP + (gdt - tramp)
tramp_end:

	.code32
ap_pm32:
	mov $0x10, %ax
	mov %ax, %ds
	lock incl ap_count
5:	cli
	hlt
	jmp 5b

msg:	.asciz "multiboot SMP kernel: CPUs online: "
	.align 4
ncpus:	.long 0
ap_count: .long 0

	.section .bss
	.align 16
	.skip 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
