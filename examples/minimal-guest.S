/*
 * The guest minimal-host.c runs: 32-bit protected mode, paging off, flat
 * segments the host loads with KVM_SET_SREGS (there is no GDT or IDT, so any
 * exception ends the guest). Assembled into the host's .rodata and copied to
 * GUEST_CODE_GPA, so every absolute address goes through GPA().
 *
 * VTL0 enables hypercalls, VTL1 on the partition and on the VP, and calls
 * VTL1; VTL1 turns VTL protections on, makes SECRET_GPA read-only for VTL0
 * and returns; VTL0 reads the page and then writes it, which the host must
 * stop. Each step is printed on DEBUG_PORT; a failed check prints FAILED and
 * writes 1 to FAIL_PORT.
 *
 * Hypercalls use the TLFS 32-bit convention: control in EDX:EAX, input GPA
 * in EBX:ECX, output GPA in EDI:ESI, result in EDX:EAX.
 */
#include "minimal-layout.h"

#define GPA(x)		((x) - guest_start + GUEST_CODE_GPA)
#define PARTITION_SELF	0xFFFFFFFF	/* HV_PARTITION_ID_SELF, both halves */

	.section .rodata
	.globl guest_start, guest_end
	.code32

/* Print a string literal on DEBUG_PORT (strings go to subsection 1, after the code). */
.macro PUTS str:req
	.subsection 1
9:	.asciz "\str"
	.subsection 0
	mov $GPA(9b), %esi
	call puts
.endm

/* Call hypercall `code` with `reps` repetitions; parameters in the page at `in`, results at `out`. */
.macro HYPERCALL code:req, reps:req, in:req, out:req
	mov $\code, %eax
	mov $\reps, %edx
	xor %ebx, %ebx
	mov $\in, %ecx
	xor %edi, %edi
	mov $\out, %esi
	mov $HYPERCALL_GPA, %ebp
	call *%ebp
.endm

/* Print "<what>: status 0x<AX>" and stop unless it is `expected` (HV_STATUS_SUCCESS). */
.macro CHECK_STATUS what:req, expected=0
	push %eax
	PUTS "\what: status 0x"
	pop %eax
	mov $\expected, %bx
	call status_or_fail
.endm

/* Zero the hypercall input page at `page` and write HV_PARTITION_ID_SELF at its start. */
.macro INPUT_HEADER page:req
	mov $\page, %edi
	mov $(PAGE_SIZE / 4), %ecx
	xor %eax, %eax
	rep stosl
	movl $PARTITION_SELF, \page
	movl $PARTITION_SELF, \page + 4
.endm

/* Write the hypercall MSRs: a guest OS ID (open source, Linux), then the hypercall page. */
.macro ENABLE_HYPERCALLS vtl:req
	mov $HV_X64_MSR_GUEST_OS_ID, %ecx
	xor %eax, %eax
	mov $0x81000000, %edx
	wrmsr
	mov $HV_X64_MSR_HYPERCALL, %ecx
	mov $(HYPERCALL_GPA | HV_X64_MSR_HYPERCALL_ENABLE), %eax
	xor %edx, %edx
	wrmsr
	cmpb $0x90, HYPERCALL_GPA	/* the page this VTL now sees there starts with the call's nop */
	jne fail
	PUTS "vtl\vtl: hypercall page at 0x8000\n"
.endm

guest_start:
/* ---- VTL0 ---- */
	mov $VTL0_STACK_TOP, %esp
	mov $0x40000001, %eax		/* the hypervisor interface: "Hv#1" */
	cpuid
	cmp $0x31237648, %eax
	jne fail
	PUTS "vtl0: cpuid 0x40000001: Hv#1\n"
	ENABLE_HYPERCALLS 0

	INPUT_HEADER VTL0_IN_GPA
	movb $1, VTL0_IN_GPA + 8	/* TargetVtl */
	HYPERCALL HVCALL_ENABLE_PARTITION_VTL, 0, VTL0_IN_GPA, VTL0_OUT_GPA
	CHECK_STATUS "vtl0: HvCallEnablePartitionVtl"

	/* VpIndex, TargetVtl, then VTL1's HV_INITIAL_VP_CONTEXT. */
	INPUT_HEADER VTL0_IN_GPA
	movl $HV_VP_INDEX_SELF, VTL0_IN_GPA + 8
	movb $1, VTL0_IN_GPA + 12
	mov $GPA(vtl1_context), %esi
	mov $(VTL0_IN_GPA + 16), %edi
	mov $HV_INITIAL_VP_CONTEXT_SIZE, %ecx
	rep movsb
	/* First with CR0.PG but not PE, which the host's KVM refuses: VTL1 stays disabled. */
	movl $0x80000010, VTL0_IN_GPA + 16 + (vtl1_context_cr0 - vtl1_context)
	HYPERCALL HVCALL_ENABLE_VP_VTL, 0, VTL0_IN_GPA, VTL0_OUT_GPA
	CHECK_STATUS "vtl0: HvCallEnableVpVtl(CR0.PG without PE)", HV_STATUS_INVALID_PARAMETER
	movl $0x11, VTL0_IN_GPA + 16 + (vtl1_context_cr0 - vtl1_context)
	HYPERCALL HVCALL_ENABLE_VP_VTL, 0, VTL0_IN_GPA, VTL0_OUT_GPA
	CHECK_STATUS "vtl0: HvCallEnableVpVtl"

	PUTS "vtl0: HvCallVtlCall\n"
	mov $VTL0_EBX, %ebx
	xor %eax, %eax			/* the thunk's control input (it moves EAX to ECX): 0 */
	xor %edx, %edx			/* the upper half of the control word the thunk puts in EAX */
	mov $(HYPERCALL_GPA + HV_VTL_CALL_OFFSET32), %ebp
	call *%ebp

	/* Back from VTL1: ESP and EIP are VTL0's own, EBX is what VTL1 left in it. */
	push %ebx
	PUTS "vtl0: back in vtl0, ebx 0x"
	pop %eax
	call puthex_nl
	cmp $VTL1_EBX, %eax
	jne fail

	PUTS "vtl0: read 0x30000: 0x"
	mov SECRET_GPA, %eax
	call puthex_nl
	cmp $SECRET_VALUE, %eax
	jne fail

	/* VTL0 cannot give itself the access back: its own masks are not its to set. */
	INPUT_HEADER VTL0_IN_GPA
	movl $0xF, VTL0_IN_GPA + 8	/* MapFlags: R, W, KX, UX */
	movl $(SECRET_GPA / PAGE_SIZE), VTL0_IN_GPA + 16
	HYPERCALL HVCALL_MODIFY_VTL_PROTECTION_MASK, 1, VTL0_IN_GPA, VTL0_OUT_GPA
	CHECK_STATUS "vtl0: HvCallModifyVtlProtectionMask", HV_STATUS_INVALID_PARAMETER

	PUTS "vtl0: write 0x30000\n"
	mov $SECRET_GPA, %edi		/* the host reads the target from EDI: it decodes no instructions */
	movl $0xBAD, (%edi)
	PUTS "vtl0: the write landed\n"
	jmp fail

/* ---- VTL1, entered through the initial context below ---- */
vtl1_entry:
	push %ebx
	PUTS "vtl1: entered, ebx 0x"
	pop %eax
	call puthex_nl
	cmp $VTL0_EBX, %eax
	jne fail
	cmpb $0, HYPERCALL_GPA		/* VTL0's hypercall page is VTL0's only: here is RAM */
	jne fail
	PUTS "vtl1: RAM at 0x8000\n"
	ENABLE_HYPERCALLS 1

	/* VsmPartitionConfig = EnableVtlProtection, DefaultVtlProtectionMask RWX. */
	INPUT_HEADER VTL1_IN_GPA
	movl $HV_VP_INDEX_SELF, VTL1_IN_GPA + 8
	movl $HV_REGISTER_VSM_PARTITION_CONFIG, VTL1_IN_GPA + 16
	movl $(1 | 0xF << 1), VTL1_IN_GPA + 32
	HYPERCALL HVCALL_SET_VP_REGISTERS, 1, VTL1_IN_GPA, VTL1_OUT_GPA
	CHECK_STATUS "vtl1: HvCallSetVpRegisters(VsmPartitionConfig)"

	/* Take write access to SECRET_GPA away from VTL0: one GPA page number. */
	INPUT_HEADER VTL1_IN_GPA
	movl $(HV_MAP_GPA_READABLE | HV_MAP_GPA_KERNEL_EXECUTABLE | HV_MAP_GPA_USER_EXECUTABLE), VTL1_IN_GPA + 8
	movl $(SECRET_GPA / PAGE_SIZE), VTL1_IN_GPA + 16
	HYPERCALL HVCALL_MODIFY_VTL_PROTECTION_MASK, 1, VTL1_IN_GPA, VTL1_OUT_GPA
	CHECK_STATUS "vtl1: HvCallModifyVtlProtectionMask"
	movl $SECRET_VALUE, SECRET_GPA	/* VTL1's own view keeps write access */

	PUTS "vtl1: HvCallVtlReturn\n"
	mov $VTL1_EBX, %ebx
	xor %eax, %eax			/* not a fast return */
	xor %edx, %edx			/* as for the call */
	mov $(HYPERCALL_GPA + HV_VTL_RETURN_OFFSET32), %ebp
	call *%ebp
	PUTS "vtl1: called again\n"	/* VTL0 never calls twice */
	jmp fail

/* ---- helpers ---- */

/* Print the NUL-terminated string at ESI. */
puts:
	push %eax
1:	lodsb
	test %al, %al
	jz 2f
	outb %al, $DEBUG_PORT
	jmp 1b
2:	pop %eax
	ret

/* Print EAX as 8 hex digits and a newline. */
puthex_nl:
	push %ecx
	mov $8, %ecx
	call puthex
	pop %ecx
	ret

/* Print AX as 4 hex digits and a newline; go to fail unless AX equals BX. */
status_or_fail:
	push %ecx
	mov $4, %ecx
	rol $16, %eax
	call puthex
	rol $16, %eax
	pop %ecx
	cmp %bx, %ax
	jne fail
	ret

/* Print the top ECX nibbles of EAX and a newline; registers are kept. */
puthex:
	push %eax
	push %ebx
	push %ecx
	mov %eax, %ebx
1:	rol $4, %ebx
	mov %ebx, %eax
	and $0xF, %eax
	movb GPA(hex_digits)(%eax), %al
	outb %al, $DEBUG_PORT
	loop 1b
	mov $10, %al
	outb %al, $DEBUG_PORT
	pop %ecx
	pop %ebx
	pop %eax
	ret

fail:
	PUTS "FAILED\n"
	mov $1, %al
	outb %al, $FAIL_PORT
	hlt
	jmp fail

hex_digits:
	.ascii "0123456789abcdef"

/*
 * VTL1's HV_INITIAL_VP_CONTEXT: RIP, RSP, RFLAGS, the segments CS, DS, ES,
 * FS, GS, SS, TR, LDTR (base, limit, selector, attributes), IDTR and GDTR
 * (limit, base), EFER, CR0, CR3, CR4, PAT.
 */
.macro SEGMENT selector:req, attributes:req
	.quad 0
	.long 0xFFFFFFFF
	.word \selector, \attributes
.endm
	.balign 8
vtl1_context:
	.quad GPA(vtl1_entry), VTL1_STACK_TOP, 0x2
	SEGMENT 0x08, 0xC09B		/* CS: 32-bit code, present, G */
	SEGMENT 0x10, 0xC093		/* DS, ES, FS, GS, SS: read/write data */
	SEGMENT 0x10, 0xC093
	SEGMENT 0x10, 0xC093
	SEGMENT 0x10, 0xC093
	SEGMENT 0x10, 0xC093
	.quad 0				/* TR: a busy 32-bit TSS, as VM entry wants */
	.long 0x67
	.word 0x18, 0x008B
	.quad 0, 0			/* LDTR: unusable */
	.quad 0, 0			/* IDTR, GDTR: empty */
	.quad 0, 0
	.quad 0				/* EFER */
vtl1_context_cr0:
	.quad 0x11			/* CR0: PE, ET */
	.quad 0, 0			/* CR3, CR4 */
	.quad 0x0007040600070406	/* PAT: its reset value */
vtl1_context_end:
	.if vtl1_context_end - vtl1_context - HV_INITIAL_VP_CONTEXT_SIZE
	.error "HV_INITIAL_VP_CONTEXT is 224 bytes"
	.endif

	.subsection 2
guest_end:

	.section .note.GNU-stack, "", @progbits
