/*
 * 32-bit callers (run with --vtls 2): hypercalls in the 32-bit register
 * convention (input value EDX:EAX, input GPA EBX:ECX, output GPA EDI:ESI,
 * result EDX:EAX), VsmCodePageOffsets for a 32-bit caller, and a VTL call and
 * non-fast return through the 32-bit thunks (+0x04, +0x1B) into a VTL1 that
 * runs in 32-bit protected mode. Each failed check exits with its number;
 * success writes 0x21 (exit status 67).
 */
#define HCPAGE0 0x200000
#define HCPAGE1 0x201000
#define IN 0x202000
#define OUT 0x203000
#define CTX_IN 0x204000
#define SHARED 0x205000
#define VTL1_STACK 0x207000
#define ASSIST1 0x208000

	.code32
	.section .text
	.align 4
	.long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)

	.globl _start
_start:
	mov $stack_top, %esp
	mov $0x40000000, %ecx		/* GUEST_OS_ID = 1 */
	mov $1, %eax
	xor %edx, %edx
	wrmsr
	mov $0x40000001, %ecx		/* HYPERCALL: page at HCPAGE0 */
	mov $(HCPAGE0 | 1), %eax
	wrmsr

	/* GetVpIndexFromApicId, 1 rep, memory form: APIC ID 0 -> VP 0. */
	movl $0xffffffff, IN
	movl $0xffffffff, IN + 4
	movl $0, IN + 8
	movl $0, IN + 12
	movl $0, IN + 16
	movl $0xeeeeeeee, OUT
	mov $1, %edx			/* rep count 1 (bits 43:32) */
	mov $0x9a, %eax
	xor %ebx, %ebx
	mov $IN, %ecx
	xor %edi, %edi
	mov $OUT, %esi
	call HCPAGE0
	mov $1, %bl			/* check 1: status 0, reps completed 1 */
	cmp $0, %eax
	jne fail
	cmp $1, %edx
	jne fail
	mov $2, %bl			/* check 2: VP index 0 written */
	cmpl $0, OUT
	jne fail

	/* GetVpRegisters(VsmCodePageOffsets) from a 32-bit caller: call 0x04, return 0x1B. */
	movl $0xfffffffe, IN + 8	/* VP index: self */
	movl $0xd0002, IN + 16
	mov $1, %edx
	mov $0x50, %eax
	xor %ebx, %ebx
	mov $IN, %ecx
	xor %edi, %edi
	mov $OUT, %esi
	call HCPAGE0
	mov $3, %bl
	cmp $0, %eax
	jne fail
	mov $4, %bl
	cmpl $(0x04 | 0x1b << 12), OUT
	jne fail

	/* EnablePartitionVtl(1). */
	movl $1, IN + 8
	movl $0, IN + 12
	xor %edx, %edx
	mov $0x0d, %eax
	xor %ebx, %ebx
	mov $IN, %ecx
	call HCPAGE0
	mov $5, %bl
	cmp $0, %eax
	jne fail

	/* EnableVpVtl(self, 1) with a 32-bit protected-mode context. */
	mov $CTX_IN, %edi
	mov $(256 / 4), %ecx
	xor %eax, %eax
	rep stosl
	movl $0xffffffff, CTX_IN
	movl $0xffffffff, CTX_IN + 4
	movl $0xfffffffe, CTX_IN + 8	/* VP: self */
	movb $1, CTX_IN + 12		/* VTL1 */
	movl $vtl1_entry, CTX_IN + 16 + 0	/* RIP */
	movl $VTL1_STACK, CTX_IN + 16 + 8	/* RSP */
	movl $2, CTX_IN + 16 + 16	/* RFLAGS */
	mov $(CTX_IN + 16 + 24), %edi	/* CS DS ES FS GS SS: flat 32-bit code, then flat data */
	movl $0xffffffff, 8(%edi)
	movw $0x18, 12(%edi)
	movw $0xc09b, 14(%edi)
	mov $5, %ecx
1:	add $16, %edi
	movl $0xffffffff, 8(%edi)
	movw $0x10, 12(%edi)
	movw $0xc093, 14(%edi)
	loop 1b
	movl $0x67, CTX_IN + 16 + 120 + 8	/* TR: busy 32-bit TSS */
	movw $0x8b, CTX_IN + 16 + 120 + 14
	sgdt CTX_IN + 16 + 168 + 6	/* GDTR: limit at +6, base at +8 */
	movl $0x11, CTX_IN + 16 + 192	/* CR0: PE, ET */
	movl $0x00070406, CTX_IN + 16 + 216	/* PAT */
	movl $0x00070406, CTX_IN + 16 + 220
	xor %edx, %edx
	mov $0x0f, %eax
	xor %ebx, %ebx
	mov $CTX_IN, %ecx
	call HCPAGE0
	mov $6, %bl
	cmp $0, %eax
	jne fail

	/* VTL call through the 32-bit thunk: control input in EAX. */
	xor %eax, %eax
	xor %edx, %edx
	mov $0x1234, %ebp		/* shared: VTL1 checks it */
	call HCPAGE0 + 0x04
	mov $7, %bl			/* non-fast return: EAX/ECX/EDX from VTL1's assist page */
	cmp $0xaaaa, %eax
	jne fail
	mov $8, %bl
	cmp $0xbbbb, %ecx
	jne fail
	mov $9, %bl
	cmp $0xcccc, %edx
	jne fail
	mov $10, %bl
	cmpl $0x1234, SHARED		/* VTL1 saw EBP, a shared register */
	jne fail
	mov $0x21, %al
	jmp out
fail:	mov %bl, %al
out:	outb %al, $0xf4
2:	cli
	hlt
	jmp 2b

/* VTL1, 32-bit: its own OS ID, hypercall page and assist page; return values; VtlReturn. */
vtl1_entry:
	mov $0x40000000, %ecx
	mov $2, %eax
	xor %edx, %edx
	wrmsr
	mov $0x40000001, %ecx
	mov $(HCPAGE1 | 1), %eax
	wrmsr
	mov $0x40000073, %ecx		/* VP assist page */
	mov $(ASSIST1 | 1), %eax
	wrmsr
	mov %ebp, SHARED
	movl $0xaaaa, ASSIST1 + 0x10	/* VtlReturn EAX */
	movl $0xbbbb, ASSIST1 + 0x14	/* ECX */
	movl $0xcccc, ASSIST1 + 0x18	/* EDX */
3:	xor %eax, %eax			/* non-fast return */
	xor %edx, %edx
	call HCPAGE1 + 0x1b
	jmp 3b

	.section .bss
	.align 16
	.skip 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
