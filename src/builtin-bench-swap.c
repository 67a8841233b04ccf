/*
 * `kvsm bench`, the design kvsm did not take: one vCPU per VP whose
 * VTL-private state is swapped out and in on every VTL switch (DESIGN.md
 * section 2). It runs on VP 0's VTL0 vCPU, for the same guest loop as kvsm's
 * VTL call + return, whose thunks the guest points at BENCH_SWAP_PORT.
 *
 * Swapped, as KVM would force it: RIP, RSP and RFLAGS, all special registers
 * but CR2, pending events (those three through the synced registers, like
 * kvsm's own), the private MSRs (those of vtl_regs.c that are neither
 * read-only nor MTRRs: MTRRs are shared), DR6/DR7 (DR0-3 are shared), and the
 * local APIC (KVM_GET/SET_LAPIC on VTL0's in-kernel APIC). The shared state
 * (GPRs, XSAVE, XCR0, DR0-3, CR2) simply stays in the one vCPU: that is the
 * design's advantage. Not measured, in its favour: the per-VTL memory view
 * (one VM has one) and Hyper-V's VTL bookkeeping (no hypercall dispatch here).
 */
#include "builtin-bench.h"
#include "../bench/bench_spans.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#include <string.h>
#include <sys/ioctl.h>

static const uint32_t private_msrs[] = {
	0xC0000102, 0x277, 0x174, 0x176, 0x175, 0xC0000081, 0xC0000082, 0xC0000083, 0xC0000084, 0xC0000103,
	0x1D9, 0x48, 0xDA0, 0x1A0,
};

struct msr_list {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[ARRAY_SIZE(private_msrs)];
};

struct swap_vtl {
	uint64_t rip, rsp, rflags;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	uint64_t dr6, dr7;
	struct msr_list msrs;
	struct kvm_lapic_state lapic;
};

static struct {
	unsigned int vtl;	/* which VTL the vCPU holds */
	struct swap_vtl s[2];
	struct msr_list list;	/* the private MSRs both of VP 0's vCPUs take */
} sw;

static void xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	if (ioctl(fd, req, arg) < 0)
		die_errno(KVSM_EXIT_HOST, "bench (state swap): %s", what);
}

static void get_msrs(int fd, struct msr_list *m)
{
	*m = sw.list;
	if (ioctl(fd, KVM_GET_MSRS, m) != (int)m->hdr.nmsrs)
		die(KVSM_EXIT_HOST, "bench (state swap): KVM_GET_MSRS");
}

/* VTL1's state as the swap design starts it: VTL1's vCPU's, at the guest's entry point. */
static void init_vtl1(struct vcpu *cpu, uint64_t rip)
{
	struct vcpu_vtl *v0 = &cpu->v[0], *v1 = &cpu->v[1];
	struct kvm_sync_regs *r1 = &v1->run->s.regs;
	struct swap_vtl *s = &sw.s[1];
	struct kvm_debugregs d;

	/* The MSRs of the list that both VTLs' vCPUs have (KVM refuses those the guest's CPUID lacks). */
	for (unsigned int i = 0; i < ARRAY_SIZE(private_msrs); i++) {
		uint64_t val, val1;

		if (kvm_vcpu_get_msr(v0->fd, private_msrs[i], &val) && kvm_vcpu_get_msr(v1->fd, private_msrs[i], &val1) &&
		    kvm_vcpu_set_msr(v0->fd, private_msrs[i], val))
			sw.list.e[sw.list.hdr.nmsrs++].index = private_msrs[i];
	}
	s->rip = rip;
	s->rsp = r1->regs.rsp;
	s->rflags = r1->regs.rflags;
	s->sregs = r1->sregs;
	s->sregs.apic_base = v0->run->s.regs.sregs.apic_base;	/* one in-kernel APIC: its base */
	memset(s->sregs.interrupt_bitmap, 0, sizeof(s->sregs.interrupt_bitmap));
	s->events = v0->run->s.regs.events;	/* the same flags KVM gave VTL0's; nothing pending in either */
	xioctl(v1->fd, KVM_GET_DEBUGREGS, &d, "KVM_GET_DEBUGREGS");
	s->dr6 = d.dr6;
	s->dr7 = d.dr7;
	get_msrs(v1->fd, &s->msrs);
	xioctl(v0->fd, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC");	/* VTL1's APIC is kvsm's: start from VTL0's */
	sw.vtl = 0;
}

/* A VTL call or return at the `out` of a thunk: save the running VTL's private state, load the other's. */
static void swap(struct vcpu *cpu)
{
	struct kvm_sync_regs *r = &cpu->run->s.regs;
	struct swap_vtl *from = &sw.s[sw.vtl], *to = &sw.s[!sw.vtl];
	uint64_t cr2 = r->sregs.cr2;
	struct kvm_debugregs d;

	from->rip = r->regs.rip + 2;		/* past out imm8, al: KVM skips it only if RIP is unchanged */
	from->rsp = r->regs.rsp;
	from->rflags = r->regs.rflags;
	from->sregs = r->sregs;
	from->events = r->events;
	get_msrs(cpu->fd, &from->msrs);
	xioctl(cpu->fd, KVM_GET_DEBUGREGS, &d, "KVM_GET_DEBUGREGS");
	from->dr6 = d.dr6;
	from->dr7 = d.dr7;
	xioctl(cpu->fd, KVM_GET_LAPIC, &from->lapic, "KVM_GET_LAPIC");

	r->regs.rip = to->rip;
	r->regs.rsp = to->rsp;
	r->regs.rflags = to->rflags;
	r->sregs = to->sregs;
	r->sregs.cr2 = cr2;
	r->events = to->events;
	cpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
	if (ioctl(cpu->fd, KVM_SET_MSRS, &to->msrs) != (int)to->msrs.hdr.nmsrs)
		die(KVSM_EXIT_HOST, "bench (state swap): KVM_SET_MSRS");
	d.dr6 = to->dr6;
	d.dr7 = to->dr7;
	xioctl(cpu->fd, KVM_SET_DEBUGREGS, &d, "KVM_SET_DEBUGREGS");
	xioctl(cpu->fd, KVM_SET_LAPIC, &to->lapic, "KVM_SET_LAPIC");
	sw.vtl = !sw.vtl;
}

static void swap_io(void *dev, struct vcpu *cpu, uint16_t port, unsigned int size, bool write, uint32_t *val)
{
	(void)dev, (void)port;
	if (!write)
		*val = 0xffffffffu;
	else if (size == 4)
		init_vtl1(cpu, *val);
	else
		swap(cpu);
}

void bench_swap_init(struct vm *vm)
{
	ioport_register(&vm->io, BENCH_SWAP_PORT, 1, swap_io, NULL);
}
