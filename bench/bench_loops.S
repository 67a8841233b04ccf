/* Hand-written loops for bench_guest.c: one exit per iteration, and exit-free twins. */
	.text
/* void bench_io(unsigned n): out to an unassigned port */
	.globl bench_io, bench_io_twin
bench_io:
1:	outb %al, $0x80
	dec %edi
	jnz 1b
	ret
/* void bench_floor(unsigned n): the same to the floor's port (its twin is bench_io_twin) */
	.globl bench_floor
bench_floor:
1:	outb %al, $0xf9
	dec %edi
	jnz 1b
	ret
bench_io_twin:
1:	nop
	dec %edi
	jnz 1b
	ret

/* void bench_hypercall(unsigned n, void *page): HvCallSignalEvent, fast, no connection */
	.globl bench_hypercall, bench_hypercall_twin
bench_hypercall:
	push %rbx
	mov %edi, %ebx
1:	mov $0x1005d, %ecx
	xor %edx, %edx
	call *%rsi
	dec %ebx
	jnz 1b
	pop %rbx
	ret
bench_hypercall_twin:
	push %rbx
	mov %edi, %ebx
1:	mov $0x1005d, %ecx
	xor %edx, %edx
	call twin_thunk			/* nop; nop; ret: the page's out; nop; ret */
	dec %ebx
	jnz 1b
	pop %rbx
	ret
twin_thunk:
	nop
	nop
	ret

/*
 * VTL call + return round trips. VTL0: call the VTL call thunk (page + 0x0f).
 * VTL1 (bench_vtl1_entry): on its first entry enable its hypercall page and
 * run bench_vtl1_setup, then loop on VtlReturn with interrupts enabled (an
 * intercept enters VTL1 for its SINT0 interrupt). Shared GPRs are clobbered
 * only where noted.
 */
	.globl bench_vtl_call, bench_vtl_call_twin, bench_vtl1_entry, bench_vtl1_loop, bench_swap_vtl1
bench_vtl_call:
	push %rbx
	push %rbp
	mov %edi, %ebx
	lea 0x0f(%rsi), %rbp
1:	xor %ecx, %ecx
	call *%rbp
	dec %ebx
	jnz 1b
	pop %rbp
	pop %rbx
	ret
bench_vtl_call_twin:			/* the same instructions as both VTLs execute, without the exits */
	push %rbx
	mov %edi, %ebx
1:	xor %ecx, %ecx
	call twin_vtl_thunk		/* VTL0's call thunk */
	mov bench_vtl1_ret(%rip), %rax
	xor %ecx, %ecx
	call twin_vtl_thunk		/* VTL1's return thunk */
	cmpb $0, bench_vtl1_cmd(%rip)	/* VTL1's check for work */
	jne 1b
	nop				/* VTL1's jmp */
	dec %ebx
	jnz 1b
	pop %rbx
	ret
twin_vtl_thunk:				/* mov rax, rcx; mov ecx, imm; out; nop; ret */
	mov %rcx, %rax
	mov $0x11, %ecx
	nop
	nop
	ret

bench_vtl1_entry:
	mov $0x40000000, %ecx		/* GUEST_OS_ID (VTL1's own) */
	mov $2, %eax
	xor %edx, %edx
	wrmsr
	mov $0x40000001, %ecx		/* HYPERCALL */
	mov bench_vtl1_page(%rip), %rax
	or $1, %eax
	xor %edx, %edx
	wrmsr
	mov bench_vtl1_page(%rip), %rax
	add $0x26, %rax			/* VTL return thunk (kept in memory: GPRs are shared) */
	mov %rax, bench_vtl1_ret(%rip)
	call bench_vtl1_setup
bench_vtl1_loop:			/* the APs' VTL1 starts here */
	sti
1:	mov bench_vtl1_ret(%rip), %rax
	xor %ecx, %ecx
	call *%rax
	cmpb $0, bench_vtl1_cmd(%rip)	/* VTL0 asks for work: VTL0 is in a C call, so C may run */
	jne 2f
	jmp 1b
2:	call bench_vtl1_work
	jmp 1b

/*
 * VTL1's loop in the state-swap design: the same instructions, its own return
 * thunk, and its own stack (it starts with VTL1's RSP, whose area below
 * kvsm's VTL1 uses when it runs C).
 */
bench_swap_vtl1:
	lea swap_stack_top(%rip), %rsp
1:	mov bench_swap_ret(%rip), %rax
	xor %ecx, %ecx
	call *%rax
	jmp 1b

/*
 * Intercept round trips. VTL0 (bench_intercept) writes to a page VTL1 made
 * read+execute: a GPA intercept enters VTL1 for SINT0, whose handler
 * (bench_sint0; AutoEOI, so no EOI) frees the message slot and points RBX, a
 * shared register, at bench_scratch; VTL1's loop returns, and VTL0 re-executes
 * the write, which now lands. No hypercall in the handler: what is measured
 * is fault -> message -> VTL1 interrupt -> VtlReturn.
 */
	.globl bench_intercept, bench_intercept_twin, bench_sint0
bench_intercept:
	push %rbx
1:	mov %rsi, %rbx
	movb $1, (%rbx)
	dec %edi
	jnz 1b
	pop %rbx
	ret
bench_intercept_twin:			/* both VTLs' instructions, no exit (page: writable) */
	push %rbx
1:	mov %rsi, %rbx
	movb $1, (%rbx)
	call twin_sint0			/* the handler, ending in ret instead of iretq */
	mov bench_vtl1_ret(%rip), %rax
	xor %ecx, %ecx
	call twin_vtl_thunk		/* VTL1's return thunk */
	nop				/* VTL1's jmp */
	dec %edi
	jnz 1b
	pop %rbx
	ret

	.macro sint0_body
	mov bench_simp(%rip), %rax
	xor %ecx, %ecx
	xchg %ecx, (%rax)		/* MessageType = 0, a full barrier before reading the flags */
	testb $1, 5(%rax)		/* MessagePending: EOM asks for the next message */
	jz 1f
	mov $0x40000084, %ecx
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
1:	mov bench_scratch(%rip), %rbx
	incl bench_intercepts(%rip)
	.endm
bench_sint0:				/* VTL1 only: RAX/RCX/RDX are reloaded by the code it interrupts */
	sint0_body
	iretq
twin_sint0:
	sint0_body
	ret

/*
 * VTL1's TSC-deadline timer interrupt, which preempts VTL0 spinning with
 * interrupts off: the TSC past the deadline first, then whether VTL0 was
 * spinning (else the sample does not count), then the EOI. Every GPR it uses
 * is saved: they may be VTL0's live values.
 */
	.globl bench_timer_irq
bench_timer_irq:
	push %rax
	push %rdx
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	sub bench_timer_deadline(%rip), %rax
	mov %rax, bench_timer_lat(%rip)
	movzbl bench_spinning(%rip), %eax
	mov %al, bench_timer_spun(%rip)
	movb $0, bench_timer_pending(%rip)
	mov $0xfee000b0, %eax		/* EOI to VTL1's APIC */
	movl $0, (%rax)
	pop %rdx
	pop %rax
	iretq

	.data
	.globl bench_vtl1_ret, bench_intercepts
bench_vtl1_ret: .quad 0
bench_intercepts: .long 0		/* handler runs: proof that each write faulted */

	.bss
	.balign 16
	.skip 4096
swap_stack_top:

	.section .note.GNU-stack, "", @progbits
