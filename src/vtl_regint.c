/*
 * Secure MSR and I/O port intercepts on KVM: RDMSR/WRMSR exits of MSRs a
 * higher VTL intercepts (hyperv.c filters them while any VP wants them; the
 * core decides per VP, src/hv/intercept_reg.c), and port I/O exits of ports
 * it installed intercepts for (src/hv/intercept_io.c).
 *
 * An intercepted access must not retire. KVM completes an MSR or I/O exit
 * at the next KVM_RUN (documented: the operation finishes before
 * immediate_exit is honoured): it stores a read's data in EDX:EAX (AL/AX/EAX
 * for IN) and moves RIP past the instruction. kvsm lets it complete that way
 * with immediate_exit set, so the guest runs nothing further, then puts the
 * general registers saved at the exit back with RIP at the instruction: the
 * MSR is untouched (a filtered write never reaches it) and an OUT's data
 * went nowhere. OUTS comes with its element's register effects already
 * done, which are undone. INS is the exception: its completion stores into
 * guest memory, so it is not intercepted (counted in --stats, docs/vsm.md).
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
#include "timeline.h"
#include "util.h"
#include "x86/arch.h"
#include "x86/insn.h"

#include "kvsm/hv.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

/*
 * Complete the pending exit without effect and put the VP back to `at`, its
 * registers at the instruction. A rep OUTS may exit again for its next
 * elements before KVM looks at immediate_exit: those outputs go nowhere
 * either.
 */
static void leave_unretired(struct vcpu *cpu, const struct kvm_regs *at)
{
	struct kvm_run *run = cpu->run;
	int i;

	if (run->exit_reason != KVM_EXIT_IO)
		run->msr.error = 0;
	for (i = 0; i < 64; i++) {
		run->immediate_exit = 1;
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0)
			break;
		if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT)
			vcpu_fatal(cpu, "completing an intercepted access: unexpected exit %u", run->exit_reason);
	}
	run->immediate_exit = 0;
	if (i == 64 || errno != EINTR)
		vcpu_fatal_errno(cpu, "KVM_RUN to complete an intercepted access");
	run->s.regs.regs = *at;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

bool vtl_regint_msr(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct hv_intercept_state st = { 0 };
	bool write = run->exit_reason == KVM_EXIT_X86_WRMSR;
	unsigned int vtl = vcpu_vtl(cpu);
	struct kvm_regs at = run->s.regs.regs;
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
	if (cpu->tl)
		timeline_msr(cpu->tl, (unsigned int)to, run->msr.index, write, run->msr.data, at.rip);
	leave_unretired(cpu, &at);
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

static bool is_io(const struct insn_decoded *d, bool *string)
{
	*string = !strncmp(d->mnemonic, "ins", 3) || !strncmp(d->mnemonic, "outs", 4);
	return *string || !strcmp(d->mnemonic, "in") || !strcmp(d->mnemonic, "out");
}

static bool has_rep(const struct insn_decoded *d)
{
	for (unsigned int i = 0; i < d->len; i++)
		switch (d->bytes[i]) {
		case 0xf2: case 0xf3:
			return true;
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: case 0x66: case 0x67:
			continue;
		default:
			return false;
		}
	return false;
}

/*
 * The I/O instruction that exited and where it starts. IN and OUT exit with
 * RIP at them on hardware-virtualized KVM, while some software KVMs have
 * already moved past them (vm->io_exit_rip_at_insn): then the instruction
 * is the one of 1-4 bytes that ends at RIP and decodes as IN/OUT. OUTS
 * runs in KVM's emulator, which exits with RIP still at it but the
 * element's RSI/RCX effects done (measured on nested SVM KVM; undone by the
 * caller).
 */
static bool find_io_insn(struct vcpu *cpu, struct insn_decoded *d, uint64_t *start, bool *string)
{
	const struct kvm_regs *r = &cpu->run->s.regs.regs;

	if (vtl_fault_decode_at(cpu, r->rip, d) && is_io(d, string) && (*string || cpu->vm->io_exit_rip_at_insn)) {
		*start = r->rip;
		return true;
	}
	for (unsigned int len = 1; len <= 4; len++)
		if (!cpu->vm->io_exit_rip_at_insn && vtl_fault_decode_at(cpu, r->rip - len, d) && d->len == len &&
		    is_io(d, string) && !*string) {
			*start = r->rip - len;
			return true;
		}
	return false;
}

bool vtl_regint_io(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	struct kvm_regs at = run->s.regs.regs;
	struct hv_intercept_state st = { 0 };
	struct hv_io_access a = {
		.port = run->io.port, .size = run->io.size, .write = run->io.direction == KVM_EXIT_IO_OUT,
	};
	uint64_t bytes = (uint64_t)run->io.count * run->io.size;
	unsigned int vtl = vcpu_vtl(cpu);
	struct insn_decoded d;
	enum hv_vtl_entry reason;
	uint64_t start;
	int to;

	if (!hv_io_intercept_armed(cpu->vm->hv, vtl, a.port, a.write))
		return false;
	if (!find_io_insn(cpu, &d, &start, &a.string) || (a.string && !a.write)) {
		stat_inc(&cpu->vm->stats, STAT_IO_NOT_INTERCEPTED);
		return false;
	}
	at.rip = start;
	a.rep = a.string && has_rep(&d);
	if (a.string) {		/* undo the elements KVM's emulator already counted */
		at.rsi = at.rflags & RFLAGS_DF ? at.rsi + bytes : at.rsi - bytes;
		if (a.rep)
			at.rcx += run->io.count;
	}
	a.insn_len = (uint8_t)d.len;
	memcpy(a.insn, d.bytes, d.len < sizeof(a.insn) ? d.len : sizeof(a.insn));
	vtl_intercept_state(cpu, &st);
	st.rip = at.rip;
	st.gpr[1] = at.rcx;
	st.gpr[6] = at.rsi;
	to = hv_io_intercept(cpu->vm->hv, cpu->index, vtl, &st, &a, &reason);
	if (to < 0)
		return false;
	stat_inc(&cpu->vm->stats, STAT_IO_INTERCEPT);
	if (cpu->tl)
		timeline_io(cpu->tl, (unsigned int)to, &a, at.rip);
	leave_unretired(cpu, &at);
	vtl_enter(cpu, (unsigned int)to, reason);
	return true;
}
