/*
 * A minimal multiboot v1 kernel of the kind built elsewhere for QEMU -kernel:
 * checks the boot magic, prints a greeting and its command line on COM1, then
 * writes 0x2a to isa-debug-exit (expected exit status 0x55 = 85).
 */
	.code32
	.section .text
	.align 4
	.long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)

	.globl _start
_start:
	mov $stack_top, %esp
	cmp $0x2BADB002, %eax
	jne fail
	testl $4, (%ebx)		/* MBI flags: command line present */
	jz fail
	push 16(%ebx)			/* MBI cmdline */
	push $greeting
	call puts
	add $4, %esp
	call puts
	push $newline
	call puts
	mov $0x2a, %al
	jmp out
fail:	mov $1, %al
out:	outb %al, $0xf4
1:	cli
	hlt
	jmp 1b

/* puts(const char *s): write a NUL-terminated string to 0x3f8. */
puts:	mov 4(%esp), %esi
	mov $0x3f8, %dx
2:	lodsb
	test %al, %al
	jz 3f
	outb %al, %dx
	jmp 2b
3:	ret

greeting: .asciz "hello from a multiboot kernel, cmdline: "
newline: .asciz "\n"

	.section .bss
	.align 16
	.skip 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
