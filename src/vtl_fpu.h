/* x87/MMX/SSE registers and XCR0 of one vCPU by HV_REGISTER_NAME (see vtl_fpu.c). */
#ifndef KVSM_VTL_FPU_H
#define KVSM_VTL_FPU_H

#include <stdbool.h>
#include <stdint.h>

struct gcaps;

/* Xmm0-15, FpMmx0-7, FpControlStatus, XmmControlStatus of vCPU fd; an HV_STATUS. */
uint16_t vtl_fpu_get(int fd, uint32_t name, uint64_t val[2]);
uint16_t vtl_fpu_set(int fd, uint32_t name, const uint64_t val[2]);
bool vtl_xcr0_read(int fd, uint64_t *v);
/* Whether v is an XCR0 the guest may set (__kvm_set_xcr's rules). */
bool guest_xcr0_ok(const struct gcaps *g, uint64_t v);

#endif
