/*
 * Entry for kvsm's ELF64 boot protocol (docs/boot.md): long mode, identity
 * map, EBX = multiboot info. Also the interrupt stubs and the real-mode AP
 * trampoline that INIT/SIPI starts at 0x10000 (SIPI vector 0x10).
 */
#define STACK_SIZE 16384
#define MAX_CPUS 64

	.section .text.boot, "ax"
	.code64
	.globl _start
_start:
	cli
	lgdt gdt_ptr(%rip)
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	lea stacks + STACK_SIZE(%rip), %rsp
	pushq $0x08
	lea 1f(%rip), %rax
	push %rax
	lretq
1:	mov %cr3, %rax
	mov %eax, tramp_cr3
	mov %ebx, %edi
	call guest_start
2:	cli
	hlt
	jmp 2b

/* APs arrive here in long mode from the trampoline; the stack is chosen by APIC ID. */
	.globl ap_entry64
ap_entry64:
	lgdt gdt_ptr(%rip)
	mov $1, %eax
	cpuid
	shr $24, %ebx
	mov %ebx, %edi
	lea 1(%rbx), %rax
	imul $STACK_SIZE, %rax
	lea stacks(%rip), %rsp
	add %rax, %rsp
	call ap_start
	jmp 2b

/* Interrupt stubs: push a dummy error code where the CPU does not, then the vector. */
	.altmacro
	.macro isr n
	.align 16
isr\n:
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq $0
	.endif
	pushq $\n
	jmp isr_common
	.endm

	.align 16
	.globl isr_table_start
isr_table_start:
	.set i, 0
	.rept 256
	isr %i
	.set i, i + 1
	.endr

isr_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	cld
	call isr_dispatch
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

	.section .bss
	.align 4096
	.globl stacks
stacks:	.skip STACK_SIZE * (MAX_CPUS + 1)

/*
 * AP trampoline, linked and loaded at 0x10000. SIPI starts it in real mode
 * with CS = 0x1000, IP = 0.
 */
#define TR(x) ((x) - tramp_start)
	.section .trampoline, "awx"
	.code16
	.globl tramp_start
tramp_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl TR(gdt_ptr)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x18, $tramp_pm32

	.code32
tramp_pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov tramp_cr3, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x620, %eax		/* PAE, OSFXSR, OSXMMEXCPT */
	mov %eax, %cr4
	mov $0xc0000080, %ecx
	rdmsr
	or $0x900, %eax		/* EFER.LME, EFER.NXE */
	wrmsr
	mov %cr0, %eax
	or $0x80010022, %eax	/* PG, WP, NE, MP */
	mov %eax, %cr0
	ljmp $0x08, $tramp_lm64

	.code64
tramp_lm64:
	movabs $ap_entry64, %rax
	jmp *%rax

	.align 8
	.globl tramp_cr3
tramp_cr3: .long 0
	.align 8
gdt:	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08 64-bit code */
	.quad 0x00cf93000000ffff	/* 0x10 data */
	.quad 0x00cf9b000000ffff	/* 0x18 32-bit code */
gdt_end:
	.align 8
	.word 0, 0, 0
gdt_ptr: .word gdt_end - gdt - 1
	.quad gdt
	.section .note.GNU-stack, "", @progbits
