/*
 * `kvsm bench`, the VTL switch's floor: what any design with one KVM VM per
 * VTL must do on stock KVM, with none of kvsm's logic.
 *
 * On each switch the VP's shared state (TLFS 15.x, spec 4.3) must reach the
 * vCPU entered. GPRs and CR2 travel in the synced registers of kvm_run
 * (KVM_CAP_SYNC_REGS): no ioctl, but the entered vCPU loads its GPRs at entry
 * (KVM_SYNC_X86_REGS dirty); CR2 only when it differs. The rest KVM keeps
 * per vCPU and changes without an exit to user space (FPU/SSE/AVX
 * instructions, XSETBV, MOV to DR0-3), so the vCPU left must be read every
 * time: KVM_GET_XSAVE, KVM_GET_XCRS, KVM_GET_DEBUGREGS. Writing the target is
 * needed only when the values differ from what it holds, which the VMM knows
 * from its last read: when nothing changed, no write.
 *
 * The floor exit (BENCH_FLOOR_PORT) does exactly that on the vCPU that
 * exited, and the host loops time the reads alone and the old XSAVE-only
 * transfer, next to kvsm's own copy.
 */
#include "builtin-bench.h"
#include "../bench/bench_spans.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"

#include <sys/ioctl.h>

static struct kvm_xsave xsave;
static struct kvm_xcrs xcrs;
static struct kvm_debugregs dregs;

/* The three reads a switch forces on the vCPU it leaves, in vtl.c's order (the first after an exit costs more). */
static void forced_reads(int fd)
{
	if (ioctl(fd, KVM_GET_DEBUGREGS, &dregs) || ioctl(fd, KVM_GET_XCRS, &xcrs) || ioctl(fd, KVM_GET_XSAVE, &xsave))
		die_errno(KVSM_EXIT_HOST, "bench (floor): KVM_GET_DEBUGREGS/XCRS/XSAVE");
}

static void floor_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	(void)dev, (void)port, (void)size;
	if (!write) {
		*val = 0xffffffffu;
		return;
	}
	forced_reads(cpu->fd);
	cpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;	/* the GPR load of the vCPU entered */
}

void bench_floor_init(struct vm *vm)
{
	ioport_register(&vm->io, BENCH_FLOOR_PORT, 1, floor_io, NULL);
}

double bench_forced_reads_us(struct vcpu *cpu, unsigned int n)
{
	uint64_t t0 = monotonic_ns();

	for (unsigned int i = 0; i < n; i++)
		forced_reads(cpu->v[i & 1].fd);
	return (double)(monotonic_ns() - t0) / 1e3 / n;
}

double bench_state_copy_us(struct vcpu *cpu, unsigned int n)
{
	uint64_t t0 = monotonic_ns();

	for (unsigned int i = 0; i < n; i++)
		vtl_copy_extended_state(&cpu->v[i & 1], &cpu->v[!(i & 1)]);
	return (double)(monotonic_ns() - t0) / 1e3 / n;
}

double bench_xsave_transfer_us(struct vcpu *cpu, unsigned int n)
{
	uint64_t t0 = monotonic_ns();

	for (unsigned int i = 0; i < n; i++)
		if (ioctl(cpu->v[i & 1].fd, KVM_GET_XSAVE, &xsave) || ioctl(cpu->v[!(i & 1)].fd, KVM_SET_XSAVE, &xsave))
			die_errno(KVSM_EXIT_HOST, "bench: KVM_GET/SET_XSAVE");
	return (double)(monotonic_ns() - t0) / 1e3 / n;
}
