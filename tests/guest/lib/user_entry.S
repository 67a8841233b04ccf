/*
 * void user_enter(void (*fn)(void), uint64_t user_rsp, uint64_t rflags, uint64_t *resume_rsp):
 * iretq to fn at CPL 3. The #GP handler in user.c comes back to
 * user_return_to_kernel on the saved kernel stack, which returns to the caller.
 */
	.text
	.globl user_enter, user_return_to_kernel
user_enter:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rcx)
	pushq $0x2b			/* SS: user data */
	push %rsi			/* RSP */
	push %rdx			/* RFLAGS */
	pushq $0x23			/* CS: user code */
	push %rdi			/* RIP */
	iretq
user_return_to_kernel:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/* fn returns here, at CPL 3: HLT faults (#GP), which user.c turns into the way back. */
	.globl user_exit_hlt
user_exit_hlt:
	hlt

	.section .note.GNU-stack, "", @progbits
