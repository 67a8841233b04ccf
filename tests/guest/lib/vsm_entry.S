/*
 * VTL transitions for guest tests. VTL1 (VTL2) enters at vtl1_entry
 * (vtl2_entry) the first time, from its initial context, or resumes after its
 * VtlReturn; either way it saves the shared GPRs it found, runs
 * vtl_dispatch(), loads the GPRs it wants to leave and returns to the VTL
 * below.
 */
#define GPRS_RAX 0
#define VP_ENTRY 8
#define VP_EXIT (8 + 15 * 8)
#define VP_CONTROL (8 + 30 * 8)
#define VP_SIZE (8 + 30 * 8 + 8 + 8)

	.macro vtl_entry name, vtl, vps, hc_page
	.text
	.globl \name
\name:
	push %rax			/* CPUID clobbers these four; RSP is this VTL's own */
	push %rbx
	push %rcx
	push %rdx
	mov $1, %eax
	cpuid				/* EBX[31:24] = APIC ID = VP index */
	shr $24, %ebx
	imul $VP_SIZE, %rbx
	lea \vps(%rip), %rax
	add %rax, %rbx			/* rbx = &vps[vp] */
	pop %rax
	mov %rax, VP_ENTRY + 24(%rbx)
	pop %rax
	mov %rax, VP_ENTRY + 16(%rbx)
	pop %rax
	mov %rax, VP_ENTRY + 8(%rbx)
	pop %rax
	mov %rax, VP_ENTRY + 0(%rbx)
	mov %rsi, VP_ENTRY + 32(%rbx)
	mov %rdi, VP_ENTRY + 40(%rbx)
	mov %rbp, VP_ENTRY + 48(%rbx)
	mov %r8, VP_ENTRY + 56(%rbx)
	mov %r9, VP_ENTRY + 64(%rbx)
	mov %r10, VP_ENTRY + 72(%rbx)
	mov %r11, VP_ENTRY + 80(%rbx)
	mov %r12, VP_ENTRY + 88(%rbx)
	mov %r13, VP_ENTRY + 96(%rbx)
	mov %r14, VP_ENTRY + 104(%rbx)
	mov %r15, VP_ENTRY + 112(%rbx)
	push %rbx
	mov %rbx, %rdi
	mov $\vtl, %esi
	call vtl_dispatch
	pop %rbx
	sti				/* take interrupts when entered for them */
	mov VP_CONTROL(%rbx), %rcx
	mov VP_EXIT + 24(%rbx), %rdx
	mov VP_EXIT + 32(%rbx), %rsi
	mov VP_EXIT + 40(%rbx), %rdi
	mov VP_EXIT + 48(%rbx), %rbp
	mov VP_EXIT + 56(%rbx), %r8
	mov VP_EXIT + 64(%rbx), %r9
	mov VP_EXIT + 72(%rbx), %r10
	mov VP_EXIT + 80(%rbx), %r11
	mov VP_EXIT + 88(%rbx), %r12
	mov VP_EXIT + 96(%rbx), %r13
	mov VP_EXIT + 104(%rbx), %r14
	mov VP_EXIT + 112(%rbx), %r15
	mov VP_EXIT + 8(%rbx), %rbx
	mov \hc_page(%rip), %rax
	add $0x26, %rax
	call *%rax			/* VtlReturn; the next entry resumes here */
	cli
	jmp \name
	.endm

	vtl_entry vtl1_entry, 1, vtl1_vps, vtl1_hypercall_page
	vtl_entry vtl2_entry, 2, vtl2_vps, vtl2_hypercall_page

/* uint64_t vsm_call_regs(struct vsm_gprs *in, struct vsm_gprs *out, void *thunk) */
	.globl vsm_call_regs
vsm_call_regs:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %rsi			/* out */
	mov %rdx, %rax			/* thunk */
	push %rax
	mov 8(%rdi), %rbx
	mov 24(%rdi), %rdx
	mov 32(%rdi), %rsi
	mov 48(%rdi), %rbp
	mov 56(%rdi), %r8
	mov 64(%rdi), %r9
	mov 72(%rdi), %r10
	mov 80(%rdi), %r11
	mov 88(%rdi), %r12
	mov 96(%rdi), %r13
	mov 104(%rdi), %r14
	mov 112(%rdi), %r15
	mov 40(%rdi), %rdi
	pop %rax
	xor %ecx, %ecx			/* VtlCall control input: 0 */
	call *%rax
	push %rdi
	mov 8(%rsp), %rdi		/* out */
	mov %rax, 0(%rdi)
	mov %rbx, 8(%rdi)
	mov %rcx, 16(%rdi)
	mov %rdx, 24(%rdi)
	mov %rsi, 32(%rdi)
	pop %rsi
	mov %rsi, 40(%rdi)
	mov %rbp, 48(%rdi)
	mov %r8, 56(%rdi)
	mov %r9, 64(%rdi)
	mov %r10, 72(%rdi)
	mov %r11, 80(%rdi)
	mov %r12, 88(%rdi)
	mov %r13, 96(%rdi)
	mov %r14, 104(%rdi)
	mov %r15, 112(%rdi)
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.section .note.GNU-stack, "", @progbits
