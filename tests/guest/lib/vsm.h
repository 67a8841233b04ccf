/*
 * VSM helpers for guest tests: enable VTL1 (and VTL2) and run C code in it.
 * The same image runs in every VTL (memory is shared); VTL1 and VTL2 each get
 * their own stack per VP, hypercall page and VP assist page, and a GUEST_OS_ID
 * of their own (HV_GUEST_OS_ID_KVSM_TESTS + vtl), which tells the VTLs apart.
 *
 * vsm_call(fn) calls the next higher VTL: from VTL0 VTL1 runs fn() and
 * returns, from VTL1 VTL2 does. An interrupt for VTL1 (VTL2) that preempts a
 * lower VTL runs that VTL's IDT handler, then it returns at once.
 */
#ifndef GUEST_VSM_H
#define GUEST_VSM_H

#include "hyperv.h"

#define HVCALL_ENABLE_PARTITION_VTL	0x000D
#define HVCALL_ENABLE_VP_VTL		0x000F
#define HVCALL_GET_VP_REGISTERS		0x0050
#define HVCALL_SET_VP_REGISTERS		0x0051
#define HVCALL_START_VIRTUAL_PROCESSOR	0x0099
#define HV_STATUS_INVALID_VP_INDEX	0x000E
#define HV_STATUS_INVALID_VP_STATE	0x0015
#define HV_STATUS_INVALID_VTL_STATE	0x0051
#define HV_STATUS_VTL_ALREADY_ENABLED	0x0086

#define HV_REG_RAX		0x20000
#define HV_REG_R12		0x2000C
#define HV_REG_R13		0x2000D
#define HV_REG_RIP		0x20010
#define HV_REG_RFLAGS		0x20011
#define HV_REG_CR0		0x40000
#define HV_REG_CR3		0x40002
#define HV_REG_CR4		0x40003
#define HV_REG_CS		0x60001
#define HV_REG_LSTAR		0x80009
#define HV_REG_GUEST_OS_ID	0x90002
#define HV_REG_VSM_CODE_PAGE_OFFSETS	0xD0002
#define HV_REG_VSM_VP_STATUS		0xD0003
#define HV_REG_VSM_PARTITION_STATUS	0xD0004
#define HV_REG_VSM_VINA			0xD0005
#define HV_REG_VSM_CAPABILITIES		0xD0006
#define HV_REG_VSM_PARTITION_CONFIG	0xD0007
#define HV_REG_VSM_VP_SECURE_CONFIG_VTL0 0xD0010

#define HV_INPUT_VTL(v)		(0x10 | (v))

struct hv_initial_vp_context {
	uint64_t rip, rsp, rflags;
	struct { uint64_t base; uint32_t limit; uint16_t sel, attr; } cs, ds, es, fs, gs, ss, tr, ldtr;
	struct { uint16_t pad[3], limit; uint64_t base; } idtr, gdtr;
	uint64_t efer, cr0, cr3, cr4, pat;
} __attribute__((packed));

/* Per-VP VTL1 state and the last VTL1 entry's registers (shared memory). */
struct vsm_gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
struct vtl1_vp {
	uint8_t *assist;		/* VTL1's VP assist page on this VP */
	struct vsm_gprs entry;		/* GPRs as VTL1 found them on its last entry */
	struct vsm_gprs exit;		/* GPRs VTL1 leaves for the return (all but RAX/RCX) */
	uint64_t return_control;	/* VtlReturn control input (bit 0: fast) */
	uint32_t last_entry_reason;
	unsigned int entries;
};
extern struct vtl1_vp vtl1_vps[MAX_CPUS];
extern uint8_t *vtl1_hypercall_page;
/* The same per-VP state for VTL2 (--vtls 3). */
extern struct vtl1_vp vtl2_vps[MAX_CPUS];
extern uint8_t *vtl2_hypercall_page;
/* Each VP's stack in VTL1 and VTL2: [stack, stack + VSM_STACK_SIZE). */
#define VSM_STACK_SIZE 16384
extern uint8_t *vtl1_stacks[MAX_CPUS], *vtl2_stacks[MAX_CPUS];

/* EnablePartitionVtl(1) and EnableVpVtl(vp, 1) with VTL1 starting in vtl1_entry. */
uint64_t vsm_enable_partition_vtl1(void);
uint64_t vsm_enable_vp_vtl1(unsigned int vp);
/* The same for VTL vtl (1 or 2); VTL2 starts in vtl2_entry. */
uint64_t vsm_enable_partition_vtl(unsigned int vtl);
uint64_t vsm_enable_vp_vtl(unsigned int vp, unsigned int vtl);
/* HvCallStartVirtualProcessor: VP vp starts in vtl at the library's AP entry (ap_main runs). */
uint64_t vsm_start_vp(unsigned int vp, unsigned int vtl);
void vsm_build_context(struct hv_initial_vp_context *c, uint64_t rip, uint64_t rsp);

/*
 * VtlCall from the current VTL: the next higher VTL runs fn (NULL: nothing)
 * and returns. regs: shared GPRs in/out (may be NULL). Returns RAX.
 */
uint64_t vsm_call(void (*fn)(void), struct vsm_gprs *regs_in, struct vsm_gprs *regs_out);
/*
 * What VTL v runs when it is entered for an intercept waiting in its VP
 * assist page (entry reason 3, VsmPartitionConfig.InterceptPage); me->entry
 * holds the shared GPRs as the intercepted VTL left them.
 */
extern void (*vsm_intercept_fn[3])(struct vtl1_vp *me);
/*
 * In the calling VTL on this VP: enable the APIC and the SynIC with its
 * message page at simp, and take secure intercepts (SINT0) on vector.
 */
void vsm_take_intercepts(struct hv_message *simp, uint8_t vector);
/*
 * In the VTL that took GPA intercept message m on this VP: the intercepted
 * lower VTL (ExecutionState.Vtl) resumes at rip with RAX = rax and RCX as
 * the message has it, loaded by the next non-fast VtlReturn from this VTL's
 * assist page. vsm_intercept_skip resumes it past the instruction.
 */
void vsm_intercept_resume(const struct hv_message *m, uint64_t rip, uint64_t rax);
void vsm_intercept_skip(const struct hv_message *m, uint64_t rax);
/* What the next higher VTL runs on this VP at its next VTL-call entry (for VtlCalls made by hand). */
void vsm_set_call_fn(void (*fn)(void));
/* Raw thunk calls through the current VTL's hypercall page (for #UD tests). */
uint64_t vsm_raw_vtl_call(uint64_t control_input);
uint64_t vsm_raw_vtl_return(uint64_t control_input);

/* Get/SetVpRegisters of one register (memory form). */
uint64_t vsm_get_reg(uint32_t vp, uint8_t input_vtl, uint32_t name, uint64_t *val);
uint64_t vsm_set_reg(uint32_t vp, uint8_t input_vtl, uint32_t name, uint64_t val);

/* The VTL the calling code runs in, from its GUEST_OS_ID. */
unsigned int vsm_current_vtl(void);

#endif
