/*
 * The Hyper-V Top-Level Functional Specification's numbers and layouts that
 * libkvsm implements, named as in the TLFS (and Linux's hyperv-tlfs.h):
 * CPUID leaves and bits, synthetic MSRs, hypercall codes and statuses,
 * register names, SynIC messages, the initial VP context. The guest-visible
 * ABI, nothing of any one VMM; the core itself uses these definitions.
 */
#ifndef KVSM_TLFS_H
#define KVSM_TLFS_H

#include <stdint.h>

/* ---- CPUID ---- */
#define HV_CPUID_VENDOR_AND_MAX		0x40000000
#define HV_CPUID_INTERFACE		0x40000001
#define HV_CPUID_VERSION		0x40000002
#define HV_CPUID_FEATURES		0x40000003
#define HV_CPUID_ENLIGHTENMENT_INFO	0x40000004
#define HV_CPUID_IMPLEMENTATION_LIMITS	0x40000005
#define HV_CPUID_HARDWARE_FEATURES	0x40000006
#define HV_CPUID_MAX			0x4000000A
#define HV_CPUID_SIGNATURE_EAX		0x31237648u	/* "Hv#1" */

/* Partition privilege mask (CPUID 0x40000003 EAX = bits 31:0, EBX = bits 63:32). */
#define HV_ACCESS_VP_RUNTIME		(1ull << 0)
#define HV_ACCESS_PARTITION_REF_COUNTER	(1ull << 1)
#define HV_ACCESS_SYNIC_REGS		(1ull << 2)
#define HV_ACCESS_SYNTHETIC_TIMER_REGS	(1ull << 3)
#define HV_ACCESS_INTR_CTRL_REGS	(1ull << 4)
#define HV_ACCESS_HYPERCALL_MSRS	(1ull << 5)
#define HV_ACCESS_VP_INDEX		(1ull << 6)
#define HV_ACCESS_RESET_REG		(1ull << 7)
#define HV_ACCESS_PARTITION_REF_TSC	(1ull << 9)
#define HV_ACCESS_FREQUENCY_REGS	(1ull << 11)
#define HV_POST_MESSAGES		(1ull << 36)
#define HV_SIGNAL_EVENTS		(1ull << 37)
#define HV_ACCESS_VSM			(1ull << 48)
#define HV_ACCESS_VP_REGISTERS		(1ull << 49)
#define HV_START_VIRTUAL_PROCESSOR	(1ull << 53)

/* CPUID 0x40000003 EDX */
#define HV_FEATURE_XMM_HYPERCALL_INPUT		(1u << 4)
#define HV_FEATURE_FREQUENCY_MSRS		(1u << 8)
#define HV_FEATURE_XMM_HYPERCALL_OUTPUT		(1u << 15)
#define HV_FEATURE_DIRECT_SYNTHETIC_TIMERS	(1u << 19)

/* CPUID 0x40000004 EAX (recommendations) */
#define HV_REC_LOCAL_TLB_FLUSH		(1u << 1)
#define HV_REC_REMOTE_TLB_FLUSH		(1u << 2)
#define HV_REC_DEPRECATE_AUTO_EOI	(1u << 9)
#define HV_REC_CLUSTER_IPI		(1u << 10)
#define HV_REC_EX_PROCESSOR_MASKS	(1u << 11)

/* ---- synthetic MSRs ---- */
#define HV_X64_MSR_GUEST_OS_ID		0x40000000
#define HV_X64_MSR_HYPERCALL		0x40000001
#define HV_X64_MSR_VP_INDEX		0x40000002
#define HV_X64_MSR_RESET		0x40000003
#define HV_X64_MSR_VP_RUNTIME		0x40000010
#define HV_X64_MSR_TIME_REF_COUNT	0x40000020
#define HV_X64_MSR_REFERENCE_TSC	0x40000021
#define HV_X64_MSR_TSC_FREQUENCY	0x40000022
#define HV_X64_MSR_APIC_FREQUENCY	0x40000023
#define HV_X64_MSR_EOI			0x40000070
#define HV_X64_MSR_ICR			0x40000071
#define HV_X64_MSR_TPR			0x40000072
#define HV_X64_MSR_VP_ASSIST_PAGE	0x40000073
#define HV_X64_MSR_SCONTROL		0x40000080
#define HV_X64_MSR_SVERSION		0x40000081
#define HV_X64_MSR_SIEFP		0x40000082
#define HV_X64_MSR_SIMP			0x40000083
#define HV_X64_MSR_EOM			0x40000084
#define HV_X64_MSR_SIRBP		0x40000085
#define HV_X64_MSR_SINT0		0x40000090
#define HV_X64_MSR_SINT15		0x4000009F
#define HV_X64_MSR_STIMER0_CONFIG	0x400000B0
#define HV_X64_MSR_STIMER3_COUNT	0x400000B7

#define HV_MSR_HYPERCALL_ENABLE		(1ull << 0)
#define HV_MSR_HYPERCALL_LOCKED		(1ull << 1)
#define HV_MSR_PAGE_ENABLE		(1ull << 0)	/* SIMP, SIEFP, VP assist, reference TSC */
#define HV_MSR_PAGE_RSVDP		0xffeull	/* bits 11:1 preserved */
#define HV_SINT_VECTOR_MASK		0xffull
#define HV_SINT_MASKED			(1ull << 16)
#define HV_SINT_AUTO_EOI		(1ull << 17)
#define HV_SINT_POLLING			(1ull << 18)
#define HV_SYNIC_VERSION		1
#define HV_SYNIC_SINT_COUNT		16
#define HV_SYNIC_STIMER_COUNT		4

#define HV_STIMER_ENABLE		(1ull << 0)
#define HV_STIMER_PERIODIC		(1ull << 1)
#define HV_STIMER_LAZY			(1ull << 2)
#define HV_STIMER_AUTO_ENABLE		(1ull << 3)
#define HV_STIMER_APIC_VECTOR(c)	(((c) >> 4) & 0xff)
#define HV_STIMER_DIRECT		(1ull << 12)
#define HV_STIMER_SINT(c)		(((c) >> 16) & 0xf)
#define HV_STIMER_RSVDZ			(~0xf1fffull)

/* ---- hypercalls ---- */
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE	0x0002
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST	0x0003
#define HVCALL_NOTIFY_LONG_SPIN_WAIT		0x0008
#define HVCALL_SEND_SYNTHETIC_CLUSTER_IPI	0x000B
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX	0x0013
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX	0x0014
#define HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX	0x0015
#define HVCALL_POST_MESSAGE			0x005C
#define HVCALL_SIGNAL_EVENT			0x005D
#define HVCALL_GET_VP_INDEX_FROM_APIC_ID	0x009A
#define HVCALL_MODIFY_VTL_PROTECTION_MASK	0x000C
#define HVCALL_INSTALL_INTERCEPT		0x004D
#define HVCALL_ENABLE_PARTITION_VTL		0x000D
#define HVCALL_ENABLE_VP_VTL			0x000F
#define HVCALL_VTL_CALL				0x0011
#define HVCALL_VTL_RETURN			0x0012
#define HVCALL_GET_VP_REGISTERS			0x0050
#define HVCALL_SET_VP_REGISTERS			0x0051
#define HVCALL_START_VIRTUAL_PROCESSOR		0x0099
#define HVCALL_TRANSLATE_VIRTUAL_ADDRESS	0x0052
#define HVCALL_TRANSLATE_VIRTUAL_ADDRESS_EX	0x00AC

/*
 * Architectural registers (HV_REGISTER_NAME) of HvCallGet/SetVpRegisters.
 * The core answers the VSM and intercept registers below itself and passes
 * these to the host ops get_vp_register/set_vp_register.
 */
#define HV_REGISTER_PENDING_INTERRUPTION	0x00010002
#define HV_REGISTER_INTERRUPT_STATE		0x00010003
#define HV_REGISTER_PENDING_EVENT0		0x00010004
#define HV_X64_REGISTER_RAX		0x00020000	/* RAX RCX RDX RBX RSP RBP RSI RDI R8..R15: +0..+15 */
#define HV_X64_REGISTER_RSP		0x00020004
#define HV_X64_REGISTER_R15		0x0002000F
#define HV_X64_REGISTER_RIP		0x00020010
#define HV_X64_REGISTER_RFLAGS		0x00020011
#define HV_X64_REGISTER_XMM0		0x00030000	/* ..XMM15 0x3000F */
#define HV_X64_REGISTER_FP_MMX0		0x00030010	/* ..FP_MMX7 0x30017 */
#define HV_X64_REGISTER_FP_CONTROL_STATUS	0x00030018
#define HV_X64_REGISTER_XMM_CONTROL_STATUS	0x00030019
#define HV_X64_REGISTER_CR0		0x00040000
#define HV_X64_REGISTER_CR2		0x00040001
#define HV_X64_REGISTER_CR3		0x00040002
#define HV_X64_REGISTER_CR4		0x00040003
#define HV_X64_REGISTER_CR8		0x00040004
#define HV_X64_REGISTER_XFEM		0x00040005	/* XCR0 */
#define HV_X64_REGISTER_DR0		0x00050000	/* ..DR3 0x50003 */
#define HV_X64_REGISTER_DR6		0x00050004
#define HV_X64_REGISTER_DR7		0x00050005
#define HV_X64_REGISTER_ES		0x00060000	/* ES CS SS DS FS GS LDTR TR */
#define HV_X64_REGISTER_CS		0x00060001
#define HV_X64_REGISTER_SS		0x00060002
#define HV_X64_REGISTER_DS		0x00060003
#define HV_X64_REGISTER_FS		0x00060004
#define HV_X64_REGISTER_GS		0x00060005
#define HV_X64_REGISTER_LDTR		0x00060006
#define HV_X64_REGISTER_TR		0x00060007
#define HV_X64_REGISTER_IDTR		0x00070000
#define HV_X64_REGISTER_GDTR		0x00070001
#define HV_X64_REGISTER_TSC		0x00080000
#define HV_X64_REGISTER_EFER		0x00080001
#define HV_X64_REGISTER_KERNEL_GS_BASE	0x00080002
#define HV_X64_REGISTER_APIC_BASE	0x00080003
#define HV_X64_REGISTER_PAT		0x00080004
#define HV_X64_REGISTER_SYSENTER_CS	0x00080005
#define HV_X64_REGISTER_SYSENTER_EIP	0x00080006
#define HV_X64_REGISTER_SYSENTER_ESP	0x00080007
#define HV_X64_REGISTER_STAR		0x00080008
#define HV_X64_REGISTER_LSTAR		0x00080009
#define HV_X64_REGISTER_CSTAR		0x0008000A
#define HV_X64_REGISTER_SFMASK		0x0008000B
#define HV_X64_REGISTER_INITIAL_APIC_ID	0x0008000C
#define HV_X64_REGISTER_MSR_MTRR_CAP		0x0008000D
#define HV_X64_REGISTER_MSR_MTRR_DEF_TYPE	0x0008000E
#define HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0	0x00080010	/* ..F 0x8001F */
#define HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0	0x00080040	/* ..F 0x8004F */
#define HV_X64_REGISTER_MSR_MTRR_FIX64K_00000	0x00080070
#define HV_X64_REGISTER_MSR_MTRR_FIX16K_80000	0x00080071
#define HV_X64_REGISTER_MSR_MTRR_FIX16K_A0000	0x00080072
#define HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000	0x00080073	/* ..F8000 0x8007A */
#define HV_X64_REGISTER_TSC_AUX		0x0008007B
#define HV_X64_REGISTER_DEBUG_CTL	0x0008007D
#define HV_X64_REGISTER_SPEC_CTRL	0x00080084
#define HV_X64_REGISTER_XSS		0x0008008B
#define HV_X64_REGISTER_TSC_ADJUST	0x00080096
#define HV_X64_REGISTER_MSR_IA32_MISC_ENABLE	0x000800A0

/* VSM registers (HV_REGISTER_NAME) */
#define HV_REGISTER_VSM_CODE_PAGE_OFFSETS	0x000D0002
#define HV_REGISTER_VSM_VP_STATUS		0x000D0003
#define HV_REGISTER_VSM_PARTITION_STATUS	0x000D0004
#define HV_REGISTER_VSM_VINA			0x000D0005
#define HV_REGISTER_VSM_CAPABILITIES		0x000D0006
#define HV_REGISTER_VSM_PARTITION_CONFIG	0x000D0007
#define HV_REGISTER_VSM_VP_SECURE_CONFIG_VTL0	0x000D0010
#define HV_REGISTER_VSM_VP_WAIT_FOR_TLB_LOCK	0x000D0020

/* HvRegisterVsmVpSecureConfigVtlN bits */
#define HV_VSM_VP_SECURE_CONFIG_MBEC_ENABLED	(1ull << 0)
#define HV_VSM_VP_SECURE_CONFIG_TLB_LOCKED	(1ull << 1)

/* Secure register intercepts (spec 4.7), one instance per VTL >= 1 for the VTL below it. */
#define HV_X64_REGISTER_CR_INTERCEPT_CONTROL		0x000E0000
#define HV_X64_REGISTER_CR_INTERCEPT_CR0_MASK		0x000E0001
#define HV_X64_REGISTER_CR_INTERCEPT_CR4_MASK		0x000E0002
#define HV_X64_REGISTER_CR_INTERCEPT_IA32_MISC_ENABLE_MASK	0x000E0003

/* HvRegisterVsmPartitionConfig bits */
#define HV_VSM_CONFIG_ENABLE_VTL_PROTECTION	(1ull << 0)
#define HV_VSM_CONFIG_DEFAULT_MASK_SHIFT	1
#define HV_VSM_CONFIG_DEFAULT_MASK		(0xfull << 1)
#define HV_VSM_CONFIG_ZERO_MEMORY_ON_RESET	(1ull << 5)
#define HV_VSM_CONFIG_DENY_LOWER_VTL_STARTUP	(1ull << 6)
#define HV_VSM_CONFIG_INTERCEPT_PAGE		(1ull << 12)
/* HV_INPUT_VTL (TLFS 15.x): TargetVtl 3:0, UseTargetVtl 4, RsvdZ 7:5 */
#define HV_INPUT_VTL_TARGET_MASK	0x0fu
#define HV_INPUT_VTL_USE_TARGET		0x10u
#define HV_INPUT_VTL_RSVDZ		0xe0u
/* HV_MAP_GPA_* protection flags (spec 4.5) */
#define HV_MAP_GPA_READABLE		(1ull << 0)
#define HV_MAP_GPA_WRITABLE		(1ull << 1)
#define HV_MAP_GPA_KERNEL_EXECUTABLE	(1ull << 2)
#define HV_MAP_GPA_USER_EXECUTABLE	(1ull << 3)
#define HV_MAP_GPA_RWX			0xfull
/* HvRegisterVsmCapabilities */
#define HV_VSM_CAP_DENY_LOWER_VTL_STARTUP	(1ull << 17)
#define HV_VSM_CAP_INTERCEPT_PAGE_AVAILABLE	(1ull << 27)
/* HvRegisterVsmVina */
#define HV_VINA_VECTOR_MASK		0xffull
#define HV_VINA_ENABLED			(1ull << 8)
#define HV_VINA_AUTO_RESET		(1ull << 9)
#define HV_VINA_AUTO_EOI		(1ull << 10)

/* VP assist page offsets (spec 4.2) */
#define HV_VP_ASSIST_ENTRY_REASON	0x08
#define HV_VP_ASSIST_VINA_STATUS	0x0C
#define HV_VP_ASSIST_RETURN_RAX		0x10
#define HV_VP_ASSIST_RETURN_RCX		0x18
#define HV_VP_ASSIST_INTERCEPT_MESSAGE	0x70

/* HV_X64_SEGMENT_REGISTER: Attributes are the descriptor's type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15. */
struct hv_x64_segment_register {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attributes;
};
#define HV_X64_SEGMENT_TYPE(a)		((a) & 0xfu)
#define HV_X64_SEGMENT_NON_SYSTEM	(1u << 4)	/* S: code or data */
#define HV_X64_SEGMENT_DPL(a)		(((a) >> 5) & 3u)
#define HV_X64_SEGMENT_PRESENT		(1u << 7)
#define HV_X64_SEGMENT_RSVD		0x0f00u
#define HV_X64_SEGMENT_AVAILABLE	(1u << 12)
#define HV_X64_SEGMENT_LONG		(1u << 13)
#define HV_X64_SEGMENT_DEFAULT_BIG	(1u << 14)
#define HV_X64_SEGMENT_GRANULARITY	(1u << 15)

/* HV_X64_TABLE_REGISTER (GDTR, IDTR); Pad is ignored. */
struct hv_x64_table_register {
	uint16_t pad[3];
	uint16_t limit;
	uint64_t base;
};

/*
 * HV_INITIAL_VP_CONTEXT: the state HvCallEnableVpVtl and
 * HvCallStartVirtualProcessor give a VTL to start in, 224 bytes in this
 * order in the hypercall input. The core decodes and checks it (see
 * set_initial_context in hv.h); the host ops get it with every field named.
 */
struct hv_initial_vp_context {
	uint64_t rip, rsp, rflags;
	struct hv_x64_segment_register cs, ds, es, fs, gs, ss, tr, ldtr;
	struct hv_x64_table_register idtr, gdtr;
	uint64_t efer, cr0, cr3, cr4;
	uint64_t msr_cr_pat;
};
#define HV_INITIAL_VP_CONTEXT_SIZE	224
_Static_assert(sizeof(struct hv_initial_vp_context) == HV_INITIAL_VP_CONTEXT_SIZE, "HV_INITIAL_VP_CONTEXT");

/* Hypercall input value (RCX). */
#define HV_HYPERCALL_FAST		(1ull << 16)
#define HV_HYPERCALL_VARHEAD_SHIFT	17
#define HV_HYPERCALL_VARHEAD_MASK	(0x3ffull << 17)
#define HV_HYPERCALL_RSVD0		(0x1full << 27)	/* 31:27 incl. IsNested, RsvdZ here */
#define HV_HYPERCALL_REP_COUNT_SHIFT	32
#define HV_HYPERCALL_REP_COUNT_MASK	(0xfffull << 32)
#define HV_HYPERCALL_RSVD1		(0xfull << 44)
#define HV_HYPERCALL_REP_START_SHIFT	48
#define HV_HYPERCALL_REP_START_MASK	(0xfffull << 48)
#define HV_HYPERCALL_RSVD2		(0xfull << 60)
#define HV_HYPERCALL_REP_COMP_SHIFT	32	/* in the result value */

/* HV_STATUS */
#define HV_STATUS_SUCCESS			0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE	0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT	0x0003
#define HV_STATUS_INVALID_ALIGNMENT		0x0004
#define HV_STATUS_INVALID_PARAMETER		0x0005
#define HV_STATUS_ACCESS_DENIED			0x0006
#define HV_STATUS_INVALID_PARTITION_STATE	0x0007
#define HV_STATUS_OPERATION_DENIED		0x0008
#define HV_STATUS_INSUFFICIENT_MEMORY		0x000B
#define HV_STATUS_INVALID_PARTITION_ID		0x000D
#define HV_STATUS_INVALID_VP_INDEX		0x000E
#define HV_STATUS_INVALID_PORT_ID		0x0011
#define HV_STATUS_INVALID_CONNECTION_ID		0x0012
#define HV_STATUS_INSUFFICIENT_BUFFERS		0x0013
#define HV_STATUS_INVALID_VP_STATE		0x0015
#define HV_STATUS_INVALID_SYNIC_STATE		0x0018
#define HV_STATUS_INVALID_REGISTER_VALUE	0x0050
#define HV_STATUS_INVALID_VTL_STATE		0x0051
#define HV_STATUS_VTL_ALREADY_ENABLED		0x0086

/* HV_CACHE_TYPE */
#define HV_CACHE_TYPE_UNCACHED		0
#define HV_CACHE_TYPE_WRITE_BACK	6

#define HV_PARTITION_ID_SELF	(~0ull)
#define HV_VP_INDEX_SELF	0xfffffffeu
#define HV_ANY_VP		0xffffffffu

/* HV_FLUSH flags */
#define HV_FLUSH_ALL_PROCESSORS			(1ull << 0)
#define HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES	(1ull << 1)
#define HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY	(1ull << 2)
#define HV_FLUSH_USE_EXTENDED_RANGE_FORMAT	(1ull << 3)

/* HV_VP_SET formats */
#define HV_GENERIC_SET_SPARSE_4K	0
#define HV_GENERIC_SET_ALL		1

/* ---- SynIC messages ---- */
#define HV_MESSAGE_SIZE			256
#define HV_MESSAGE_PAYLOAD_BYTES	240
#define HV_MESSAGE_FLAG_PENDING		0x01
#define HVMSG_NONE			0x00000000u
#define HVMSG_TIMER_EXPIRED		0x80000010u
#define HVMSG_GPA_INTERCEPT		0x80000001u
#define HVMSG_X64_IO_PORT_INTERCEPT	0x80010000u
#define HVMSG_MSR_INTERCEPT		0x80010001u
#define HV_SYNIC_INTERCEPTION_SINT	0	/* secure intercepts arrive on SINT0 (spec 4.6) */
#define HV_EVENT_FLAGS_PER_SINT		2048

/* HvInterceptTypeX64IoPort (HvCallInstallIntercept) and its access mask bits. */
#define HV_INTERCEPT_TYPE_X64_IO_PORT	0
#define HV_INTERCEPT_ACCESS_MASK_READ	1u
#define HV_INTERCEPT_ACCESS_MASK_WRITE	2u

struct hv_message {
	uint32_t message_type;
	uint8_t payload_size;
	uint8_t message_flags;
	uint16_t reserved;
	uint64_t origination_id;
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTES];
};
_Static_assert(sizeof(struct hv_message) == HV_MESSAGE_SIZE, "HV_MESSAGE is 256 bytes");

/* The payload of an HVMSG_TIMER_EXPIRED message (HV_TIMER_MESSAGE_PAYLOAD). */
struct hv_timer_message_payload {
	uint32_t timer_index;
	uint32_t reserved;
	uint64_t expiration_time;
	uint64_t delivery_time;
};
_Static_assert(sizeof(struct hv_timer_message_payload) == 24, "timer payload is 24 bytes");

/* Reference TSC page (TLFS 12.7). */
struct hv_reference_tsc_page {
	uint32_t tsc_sequence;
	uint32_t reserved1;
	uint64_t tsc_scale;
	int64_t tsc_offset;
};

#endif
