/*
 * Secure MSR intercepts on KVM: RDMSR/WRMSR exits of MSRs a higher VTL
 * intercepts (hyperv.c filters them while any VP wants them; the core
 * decides per VP, src/hv/intercept_reg.c).
 *
 * An intercepted access must not retire. KVM completes an MSR exit at the
 * next KVM_RUN (documented: the operation finishes before immediate_exit is
 * honoured): with error = 0 it stores a read's data in EDX:EAX and moves RIP
 * past the instruction. kvsm lets it complete that way with immediate_exit
 * set, so the guest runs nothing further, then puts the general registers
 * saved at the exit back: RIP at the RDMSR/WRMSR, RAX and RDX unchanged,
 * and the MSR untouched (a filtered write never reaches it).
 *
 * An access the core declines (another VP's control, a read of a
 * write-only intercept, a MISC_ENABLE write outside the mask) is done as
 * KVM would with KVM_GET_MSRS/KVM_SET_MSRS on the vCPU, #GP where KVM
 * refuses. Those ioctls are host-initiated, so KVM applies its laxer host
 * checks there (docs/vsm.md).
 */
#include "vtl_regint.h"
#include "kvm.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"
#include "vtl_fault.h"
#include "util.h"
#include "x86/arch.h"

#include "kvsm/hv.h"

#include <errno.h>
#include <sys/ioctl.h>

/* Complete the pending MSR exit without effect, leaving the VP at the instruction. */
static void leave_unretired(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct kvm_regs saved = run->s.regs.regs;
	int r;

	run->msr.error = 0;
	run->immediate_exit = 1;
	r = ioctl(cpu->fd, KVM_RUN, 0);
	run->immediate_exit = 0;
	if (r == 0 || errno != EINTR)
		die_errno(KVSM_EXIT_HOST, "KVM_RUN to complete an intercepted MSR access");
	run->s.regs.regs = saved;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

bool vtl_regint_msr(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct hv_intercept_state st = { 0 };
	bool write = run->exit_reason == KVM_EXIT_X86_WRMSR;
	unsigned int vtl = vcpu_vtl(cpu);
	enum hv_vtl_entry reason;
	uint64_t old = 0;
	int to;

	if (!hv_msr_intercept_armed(cpu->vm->hv, vtl, run->msr.index))
		return false;
	if (write && run->msr.index == MSR_IA32_MISC_ENABLE && !kvm_vcpu_get_msr(cpu->fd, run->msr.index, &old))
		return false;
	vtl_intercept_state(cpu, &st);
	to = hv_msr_intercept(cpu->vm->hv, cpu->index, vtl, &st, run->msr.index, write, old, &reason);
	if (to < 0)
		return false;
	stat_inc(&cpu->vm->stats, STAT_MSR_INTERCEPT);
	leave_unretired(cpu);
	vtl_enter(cpu, (unsigned int)to, reason);
	return true;
}

bool vtl_regint_msr_native(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint64_t val;

	if (!hv_msr_interceptable(run->msr.index))
		return false;
	stat_inc(&cpu->vm->stats, STAT_MSR_NATIVE);
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		run->msr.error = !kvm_vcpu_get_msr(cpu->fd, run->msr.index, &val);
		run->msr.data = run->msr.error ? 0 : val;
		return true;
	}
	run->msr.error = !kvm_vcpu_set_msr(cpu->fd, run->msr.index, run->msr.data);
	/* Keep the synced copy current, should anything write the sregs back this exit. */
	if (!run->msr.error && run->msr.index == MSR_EFER && kvm_vcpu_get_msr(cpu->fd, MSR_EFER, &val))
		run->s.regs.sregs.efer = val;
	return true;
}
