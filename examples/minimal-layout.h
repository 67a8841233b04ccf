/*
 * What minimal-host.c and minimal-guest.S agree on: the guest's memory
 * layout, its I/O ports, and the TLFS names the guest uses (kept here, in
 * one place, until the public header carries them). Plain #defines: the
 * assembler includes this file too.
 */
#ifndef MINIMAL_LAYOUT_H
#define MINIMAL_LAYOUT_H

/* Guest-physical memory: 1 MiB of RAM from GPA 0. */
#define PAGE_SIZE		0x1000
#define RAM_SIZE		0x100000
#define GUEST_CODE_GPA		0x1000	/* minimal-guest.S, VTL0 starts at its first byte */
#define HYPERCALL_GPA		0x8000	/* each VTL's hypercall page (an overlay per VTL) */
#define VTL0_IN_GPA		0x9000	/* hypercall input and output pages */
#define VTL0_OUT_GPA		0xA000
#define VTL1_IN_GPA		0xB000
#define VTL1_OUT_GPA		0xC000
#define VTL0_STACK_TOP		0x10000
#define VTL1_STACK_TOP		0x20000
#define SECRET_GPA		0x30000	/* the page VTL1 makes read-only for VTL0 */

/* I/O ports: the guest's transcript (one byte per OUT) and its failure exit. */
#define DEBUG_PORT		0xE9
#define FAIL_PORT		0xF4

/* Values the guest passes and checks. */
#define SECRET_VALUE		0x5EC12E7
#define VTL0_EBX		0x0000B0B0	/* shared registers travel with a VTL call ... */
#define VTL1_EBX		0x0000B1B1	/* ... and with the return */

/* TLFS names (hyperv-tlfs): MSRs, hypercall codes, VSM values. */
#define HV_X64_MSR_GUEST_OS_ID			0x40000000
#define HV_X64_MSR_HYPERCALL			0x40000001
#define HV_X64_MSR_HYPERCALL_ENABLE		1
#define HVCALL_MODIFY_VTL_PROTECTION_MASK	0x000C
#define HVCALL_ENABLE_PARTITION_VTL		0x000D
#define HVCALL_ENABLE_VP_VTL			0x000F
#define HVCALL_SET_VP_REGISTERS			0x0051
#define HV_VTL_CALL_OFFSET32			0x04	/* 32-bit VTL call / return thunks of the hypercall page */
#define HV_VTL_RETURN_OFFSET32			0x1B
#define HV_REGISTER_VSM_PARTITION_CONFIG	0x000D0007
#define HV_STATUS_INVALID_PARAMETER		0x0005
#define HV_VP_INDEX_SELF			0xFFFFFFFE
#define HV_MAP_GPA_READABLE			1
#define HV_MAP_GPA_WRITABLE			2
#define HV_MAP_GPA_KERNEL_EXECUTABLE		4
#define HV_MAP_GPA_USER_EXECUTABLE		8
#define HV_INITIAL_VP_CONTEXT_SIZE		224

#endif
