/* Hyper-V helpers for guest tests: MSRs with #GP detection, the hypercall page, fast and XMM calls. */
#ifndef GUEST_HYPERV_H
#define GUEST_HYPERV_H

#include "guest.h"

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
#define HV_X64_MSR_SINT0		0x40000090
#define HV_X64_MSR_STIMER0_CONFIG	0x400000B0
#define HV_X64_MSR_STIMER0_COUNT	0x400000B1

#define HV_GUEST_OS_ID_KVSM_TESTS	0x8100000000000001ull	/* open source, "Linux"-typed, build 1 */

/* HV_STATUS */
#define HV_STATUS_SUCCESS			0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE	0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT	0x0003
#define HV_STATUS_INVALID_ALIGNMENT		0x0004
#define HV_STATUS_INVALID_PARAMETER		0x0005
#define HV_STATUS_ACCESS_DENIED			0x0006
#define HV_STATUS_INVALID_PARTITION_ID		0x000D
#define HV_STATUS_INVALID_CONNECTION_ID		0x0012
#define HV_STATUS_INSUFFICIENT_BUFFERS		0x0013
#define HV_STATUS_INVALID_SYNIC_STATE		0x0018

#define HV_FAST		(1ull << 16)
#define HV_REP(n)	((uint64_t)(n) << 32)
#define HV_REP_START(n)	((uint64_t)(n) << 48)
#define HV_VARHEAD(n)	((uint64_t)(n) << 17)
#define HV_RESULT_STATUS(r)	((uint16_t)(r))
#define HV_RESULT_REPS(r)	((unsigned int)(((r) >> 32) & 0xfff))

/* RDMSR/WRMSR that report #GP instead of faulting (a #GP handler skips the 2-byte instruction). */
bool rdmsr_safe(uint32_t msr, uint64_t *val);
bool wrmsr_safe(uint32_t msr, uint64_t val);

/* Set GUEST_OS_ID and enable a hypercall page; returns the page. */
void *hv_enable_hypercalls(void);
extern void *hv_hypercall_page;
uint64_t hv_hypercall(uint64_t control, uint64_t in_gpa, uint64_t out_gpa);
/* Fast call: input in RDX/R8 and, with xmm_in, XMM0-5 (96 bytes); XMM0-5 copied back to xmm_out. */
uint64_t hv_hypercall_xmm(uint64_t control, uint64_t rdx, uint64_t r8, const void *xmm_in, void *xmm_out);
/* Whether the last hypercall faulted with #UD. */
extern volatile bool hv_hypercall_ud;

#endif
