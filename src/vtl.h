/*
 * The VP side of VTLs on KVM: one vCPU per VTL, driven by the VP's thread.
 * A VTL switch moves the shared state (TLFS 15.x, spec 4.3) from the old
 * VTL's vCPU to the new one; private state simply stays in each vCPU.
 */
#ifndef KVSM_VTL_H
#define KVSM_VTL_H

#include "kvsm/hv.h"

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* The one place a VP changes VTL: continue it in `to`, entered for reason (own thread, between runs). */
void vtl_enter(struct vcpu *cpu, unsigned int to, enum hv_vtl_entry reason);
/* The shared state KVM keeps outside the synced registers: DR0-DR3, x87/SSE/AVX, XCR0. */
struct vcpu_vtl;
void vtl_copy_extended_state(struct vcpu_vtl *from, struct vcpu_vtl *to);
/* The shared registers by HV_REGISTER_NAME (spec 4.3): those the switch carries, and the MTRRs. */
bool vtl_is_shared_register(uint32_t name);
bool vtl_is_mtrr_register(uint32_t name);
/*
 * MTRRs are shared between VTLs, but KVM keeps them per vCPU: a write goes to
 * every VTL's vCPU of the VP, through set(cpu, vtl, arg), VTL `first` first
 * (false from it: refused, nothing written). Own thread.
 */
bool vtl_set_shared(struct vcpu *cpu, unsigned int first, bool (*set)(struct vcpu *, unsigned int, void *),
		    void *arg);
/* The same for an MTRR by MSR number (a guest WRMSR). */
bool vtl_is_mtrr(uint32_t msr);
bool vtl_write_shared_msr(struct vcpu *cpu, uint32_t msr, uint64_t val);
/* Load the core's decoded HV_INITIAL_VP_CONTEXT into the VP's vCPU of vtl (own thread). Returns an HV_STATUS. */
uint16_t vtl_load_initial_context(struct vcpu *cpu, unsigned int vtl, const struct hv_initial_vp_context *ctx);

#endif
