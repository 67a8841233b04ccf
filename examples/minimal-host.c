/*
 * minimal-host: a small VMM on libkvsm, built against the installed library
 * only:
 *
 *	cc -o minimal-host minimal-host.c minimal-guest.S $(pkg-config --cflags --libs kvsm)
 *
 * It boots minimal-guest.S on KVM with one VP and two VTLs the way kvsm
 * does: one KVM VM and one vCPU per VTL over one memfd of guest RAM, each VM
 * mapping its own view of it (so a VTL protection is an mprotect of that
 * VTL's view, and an overlay page a private page mapped over it). The VP
 * changes VTL by moving the shared registers to the other VTL's vCPU and
 * running that one. libkvsm does the Hyper-V part: CPUID leaves, synthetic
 * MSRs, hypercalls and their VSM rules. See docs/libkvsm.md, "The example".
 */
#define _GNU_SOURCE	/* memfd_create */
#include <kvsm/hv.h>

#include "minimal-layout.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

/* TLFS names the host needs (HV_STATUS, HV_REGISTER_NAME); one day from the public header. */
#define HV_STATUS_SUCCESS		0x0000
#define HV_STATUS_ACCESS_DENIED		0x0006
#define HV_STATUS_INSUFFICIENT_MEMORY	0x000B
#define HV_STATUS_INVALID_VP_STATE	0x0015
#define HV_X64_REGISTER_RSP		0x00020004
#define HV_X64_REGISTER_RIP		0x00020010
#define HV_X64_REGISTER_RFLAGS		0x00020011
#define HV_X64_REGISTER_CR0		0x00040000
#define HV_X64_REGISTER_CR3		0x00040002
#define HV_X64_REGISTER_CR4		0x00040003
#define HV_X64_REGISTER_SS		0x00060002
#define HV_X64_REGISTER_EFER		0x00080001
/* kvsm's hypercall page calls out with `nop; out 0xE8, al` (docs/libkvsm.md). */
#define HV_HYPERCALL_PORT		0xE8

#define NR_VTLS		2
#define RAM_PAGES	(RAM_SIZE / PAGE_SIZE)
#define OUT_IMM8_LEN	2		/* `out imm8, al` */
#define CR0_PE		1ull
#define CR4_PGE		(1ull << 7)
#define EFER_LMA	(1ull << 10)
#define RFLAGS_VM	(1ull << 17)
#define MSR_IA32_CR_PAT	0x277
#define MAX_CPUID	256

extern const uint8_t guest_start[], guest_end[];	/* minimal-guest.S */

/* One VTL of the one VP: its own KVM VM and vCPU, and its own view of guest RAM. */
struct vtl_cpu {
	int vm_fd, fd;
	struct kvm_run *run;		/* with the registers synced on every exit (KVM_CAP_SYNC_REGS) */
	uint8_t *view;			/* this VM's memslot: guest RAM as this VTL may access it */
	uint8_t prot[RAM_PAGES];	/* PROT_READ/PROT_WRITE of each page of the view */
	unsigned int overlay_users[RAM_PAGES];	/* >0: a private overlay page sits over the view */
};

static struct {
	int kvm_fd, memfd;
	uint8_t *ram;			/* the host's own mapping, which VTL protections never change */
	struct vtl_cpu vtl[NR_VTLS];
	unsigned int active;		/* the VTL the VP runs */
	struct hv_partition *hv;
	uint64_t tsc_offset;		/* guest TSC - host TSC, the same for both vCPUs */
	pthread_t vp_thread;
	pthread_mutex_t lock;		/* views, overlays and prot[] against the core's timer thread */
	pthread_cond_t tlb_cond;
	unsigned int tlb_unlocks;
} host = { .lock = PTHREAD_MUTEX_INITIALIZER, .tlb_cond = PTHREAD_COND_INITIALIZER };

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "minimal-host: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	if (ioctl(fd, req, arg) < 0)
		die("%s: %s", what, strerror(errno));
}

/* ---- guest memory: one memfd, the host's mapping and one view per VTL ---- */

static uint8_t *map_ram(void)
{
	void *p = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, host.memfd, 0);

	if (p == MAP_FAILED)
		die("mmap of guest RAM: %s", strerror(errno));
	return p;
}

static void *guest_access(void *h, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	uint64_t pn = gpa / PAGE_SIZE;
	void *p = NULL;

	if (gpa >= RAM_SIZE || vtl >= NR_VTLS)
		return NULL;
	pthread_mutex_lock(&host.lock);
	if (host.vtl[vtl].overlay_users[pn])	/* overlays are the VTL's own, never protected */
		p = host.vtl[vtl].view + gpa;
	else if (host.vtl[vtl].prot[pn] & (write ? PROT_WRITE : PROT_READ))
		p = host.ram + gpa;
	pthread_mutex_unlock(&host.lock);
	return p;
}

static bool is_ram(void *h, uint64_t gpa)
{
	return gpa < RAM_SIZE;
}

/*
 * A VTL protection: reads and writes follow PROT_READ/PROT_WRITE of the
 * VTL's view, which KVM's MMU honours (a denied write fails KVM_RUN with
 * EFAULT). A memslot cannot take execute away from a readable page, so the
 * partition runs under HV_POLICY_PERMISSIVE, where the core adds execute to
 * such masks; an executable page that is not readable cannot be expressed.
 */
static bool protect(void *h, unsigned int vtl, uint64_t gpa, uint64_t npages, uint8_t access)
{
	struct vtl_cpu *c = &host.vtl[vtl];
	int prot = (access & HV_MAP_GPA_READABLE ? PROT_READ : 0) | (access & HV_MAP_GPA_WRITABLE ? PROT_WRITE : 0);
	bool ok = true;

	if ((access & HV_MAP_GPA_KERNEL_EXECUTABLE) && !(access & HV_MAP_GPA_READABLE))
		return false;
	printf("host: protect vtl%u gpa %#" PRIx64 " pages %" PRIu64 " access %#x\n", vtl, gpa, npages, access);
	pthread_mutex_lock(&host.lock);
	for (uint64_t pn = gpa / PAGE_SIZE; ok && pn < gpa / PAGE_SIZE + npages && pn < RAM_PAGES; pn++) {
		/* An overlay keeps its access; unmap_overlay puts the RAM back with prot[]. */
		if (!c->overlay_users[pn])
			ok = mprotect(c->view + pn * PAGE_SIZE, PAGE_SIZE, prot) == 0;
		if (ok)
			c->prot[pn] = (uint8_t)prot;
	}
	pthread_mutex_unlock(&host.lock);
	return ok;
}

/* A zero-filled private page over gpa's page of this VTL's view; KVM's MMU notifier drops the old one. */
static bool map_overlay(void *h, unsigned int vtl, uint64_t gpa)
{
	struct vtl_cpu *c = &host.vtl[vtl];
	uint64_t pn = gpa / PAGE_SIZE;
	bool ok = true;

	if (gpa >= RAM_SIZE)
		return false;
	pthread_mutex_lock(&host.lock);
	if (!c->overlay_users[pn])
		ok = mmap(c->view + pn * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED;
	if (ok)
		c->overlay_users[pn]++;
	pthread_mutex_unlock(&host.lock);
	return ok;
}

static void unmap_overlay(void *h, unsigned int vtl, uint64_t gpa)
{
	struct vtl_cpu *c = &host.vtl[vtl];
	uint64_t pn = gpa / PAGE_SIZE;

	pthread_mutex_lock(&host.lock);
	if (!--c->overlay_users[pn] && mmap(c->view + pn * PAGE_SIZE, PAGE_SIZE, c->prot[pn],
					    MAP_SHARED | MAP_FIXED, host.memfd, (off_t)(pn * PAGE_SIZE)) == MAP_FAILED)
		die("mapping RAM back under an overlay: %s", strerror(errno));
	pthread_mutex_unlock(&host.lock);
}

/* ---- VTL switches ---- */

/*
 * The VP leaves VTL `from` for `to`: the TLFS shares RAX, RBX, RCX, RDX,
 * RSI, RDI, RBP and R8-R15 between VTLs (RSP, RIP, RFLAGS and the control and
 * segment registers are per VTL and stay in each vCPU). Also shared, and not
 * carried here: CR2, DR0-DR3 and DR6, the x87/SSE/AVX state and XCR0, and
 * the MTRRs. The guest takes no page faults, sets no breakpoints, uses no
 * floating point or vector registers and leaves the MTRRs alone, so the two
 * vCPUs' copies never differ. (kvsm's src/vtl.c carries them all.)
 */
static void enter_vtl(unsigned int to, enum hv_vtl_entry reason)
{
	struct kvm_regs *a = &host.vtl[host.active].run->s.regs.regs, *b = &host.vtl[to].run->s.regs.regs;

	hv_vtl_entered(host.hv, 0, to, reason);
	b->rax = a->rax, b->rbx = a->rbx, b->rcx = a->rcx, b->rdx = a->rdx;
	b->rsi = a->rsi, b->rdi = a->rdi, b->rbp = a->rbp;
	b->r8 = a->r8, b->r9 = a->r9, b->r10 = a->r10, b->r11 = a->r11;
	b->r12 = a->r12, b->r13 = a->r13, b->r14 = a->r14, b->r15 = a->r15;
	host.vtl[to].run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	printf("host: vp0 enters vtl%u (%s)\n", to, reason == HV_VTL_ENTRY_VTL_CALL ? "VTL call" : "VTL return");
	host.active = to;
}

/* ---- registers and initial contexts ---- */

static void seg_to_hv(const struct kvm_segment *s, uint64_t val[2])
{
	uint16_t attr = (uint16_t)(s->type | s->s << 4 | s->dpl << 5 | (s->present && !s->unusable) << 7 |
				   s->avl << 12 | s->l << 13 | s->db << 14 | s->g << 15);

	val[0] = s->base;
	val[1] = s->limit | (uint64_t)s->selector << 32 | (uint64_t)attr << 48;
}

static struct kvm_segment seg_from_hv(const uint8_t hv[16])
{
	uint64_t base, rest;
	uint16_t attr;

	memcpy(&base, hv, 8);
	memcpy(&rest, hv + 8, 8);
	attr = (uint16_t)(rest >> 48);
	return (struct kvm_segment){
		.base = base, .limit = (uint32_t)rest, .selector = (uint16_t)(rest >> 32), .type = attr & 0xF,
		.s = attr >> 4 & 1, .dpl = attr >> 5 & 3, .present = attr >> 7 & 1, .avl = attr >> 12 & 1,
		.l = attr >> 13 & 1, .db = attr >> 14 & 1, .g = attr >> 15 & 1, .unusable = !(attr >> 7 & 1),
	};
}

/*
 * The registers the core reads or writes by name: the paging state
 * HvCallTranslateVirtualAddress walks with, and RIP/RSP/RFLAGS. All are
 * private to the VTL, so they live in that VTL's vCPU. The VP runs on this
 * thread only, so the check that vp does not run a VTL above the caller
 * cannot race with a switch. Other names are refused with INVALID_PARAMETER.
 */
static uint16_t vp_register(unsigned int vp, unsigned int vtl, unsigned int caller_vtl, uint32_t name,
			    uint64_t val[2], bool write)
{
	struct kvm_run *run = host.vtl[vtl].run;
	struct kvm_regs *r = &run->s.regs.regs;
	struct kvm_sregs s = run->s.regs.sregs;
	uint64_t *reg = NULL, *sreg = NULL;

	if (host.active > caller_vtl)
		return HV_STATUS_ACCESS_DENIED;
	switch (name) {
	case HV_X64_REGISTER_RIP: reg = (uint64_t *)&r->rip; break;
	case HV_X64_REGISTER_RSP: reg = (uint64_t *)&r->rsp; break;
	case HV_X64_REGISTER_RFLAGS: reg = (uint64_t *)&r->rflags; break;
	case HV_X64_REGISTER_CR0: sreg = (uint64_t *)&s.cr0; break;
	case HV_X64_REGISTER_CR3: sreg = (uint64_t *)&s.cr3; break;
	case HV_X64_REGISTER_CR4: sreg = (uint64_t *)&s.cr4; break;
	case HV_X64_REGISTER_EFER: sreg = (uint64_t *)&s.efer; break;
	case HV_X64_REGISTER_SS:
		if (write)
			return HV_STATUS_INVALID_PARAMETER;
		seg_to_hv(&s.ss, val);
		return HV_STATUS_SUCCESS;
	default:
		return HV_STATUS_INVALID_PARAMETER;
	}
	if (!write) {
		val[0] = reg ? *reg : *sreg;
		val[1] = 0;
		return HV_STATUS_SUCCESS;
	}
	if (reg) {
		*reg = val[0];
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return HV_STATUS_SUCCESS;
	}
	/* Control registers through the ioctl, so that KVM's refusal of an invalid value is a status. */
	*sreg = val[0];
	if (ioctl(host.vtl[vtl].fd, KVM_SET_SREGS, &s) < 0)
		return HV_STATUS_INVALID_PARAMETER;
	run->s.regs.sregs = s;
	return HV_STATUS_SUCCESS;
}

static uint16_t get_vp_register(void *h, unsigned int vp, unsigned int vtl, unsigned int caller_vtl, uint32_t name,
				uint64_t val[2])
{
	return vp_register(vp, vtl, caller_vtl, name, val, false);
}

static uint16_t set_vp_register(void *h, unsigned int vp, unsigned int vtl, unsigned int caller_vtl, uint32_t name,
				const uint64_t val[2])
{
	uint64_t v[2] = { val[0], val[1] };

	return vp_register(vp, vtl, caller_vtl, name, v, true);
}

/*
 * HV_INITIAL_VP_CONTEXT: RIP, RSP, RFLAGS, eight segments (CS, DS, ES, FS,
 * GS, SS, TR, LDTR) of 16 bytes, IDTR and GDTR (limit at +6, base at +8),
 * EFER, CR0, CR3, CR4, PAT.
 */
enum {
	CTX_RIP = 0, CTX_RSP = 8, CTX_RFLAGS = 16, CTX_SEGMENTS = 24, CTX_IDTR = 152, CTX_GDTR = 168,
	CTX_EFER = 184, CTX_CR0 = 192, CTX_CR3 = 200, CTX_CR4 = 208, CTX_PAT = 216,
};

/*
 * Load an initial context into the vCPU of vtl (not the running one). KVM
 * refuses inconsistent control registers (INVALID_PARAMETER); a state it
 * takes but VM entry would not is not checked here (kvsm's src/vtl.c does).
 */
static uint16_t load_initial_context(unsigned int vtl, const uint8_t ctx[HV_INITIAL_VP_CONTEXT_SIZE])
{
	struct vtl_cpu *c = &host.vtl[vtl];
	struct kvm_sregs s = c->run->s.regs.sregs;
	struct kvm_segment *segs[] = { &s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt };
	struct kvm_regs *r = &c->run->s.regs.regs;
	struct kvm_msrs *pat = calloc(1, sizeof(*pat) + sizeof(pat->entries[0]));
	bool ok;

	for (unsigned int i = 0; i < 8; i++)
		*segs[i] = seg_from_hv(ctx + CTX_SEGMENTS + 16 * i);
	s.idt.limit = (uint16_t)(ctx[CTX_IDTR + 6] | ctx[CTX_IDTR + 7] << 8);
	memcpy(&s.idt.base, ctx + CTX_IDTR + 8, 8);
	s.gdt.limit = (uint16_t)(ctx[CTX_GDTR + 6] | ctx[CTX_GDTR + 7] << 8);
	memcpy(&s.gdt.base, ctx + CTX_GDTR + 8, 8);
	memcpy(&s.efer, ctx + CTX_EFER, 8);
	memcpy(&s.cr0, ctx + CTX_CR0, 8);
	memcpy(&s.cr3, ctx + CTX_CR3, 8);
	memcpy(&s.cr4, ctx + CTX_CR4, 8);
	if (!pat)
		return HV_STATUS_INSUFFICIENT_MEMORY;
	pat->nmsrs = 1;
	pat->entries[0].index = MSR_IA32_CR_PAT;
	memcpy(&pat->entries[0].data, ctx + CTX_PAT, 8);
	ok = ioctl(c->fd, KVM_SET_SREGS, &s) == 0 && ioctl(c->fd, KVM_SET_MSRS, pat) == 1;
	free(pat);
	if (!ok) {
		printf("host: vtl%u initial context refused by KVM (cr0 %#llx)\n", vtl, (unsigned long long)s.cr0);
		return HV_STATUS_INVALID_PARAMETER;
	}
	c->run->s.regs.sregs = s;
	memcpy(&r->rip, ctx + CTX_RIP, 8);
	memcpy(&r->rsp, ctx + CTX_RSP, 8);
	memcpy(&r->rflags, ctx + CTX_RFLAGS, 8);
	c->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	printf("host: vtl%u initial context: rip %#llx rsp %#llx cr0 %#llx\n", vtl, (unsigned long long)r->rip,
	       (unsigned long long)r->rsp, (unsigned long long)s.cr0);
	return HV_STATUS_SUCCESS;
}

static uint16_t set_initial_context(void *h, unsigned int vp, unsigned int vtl, const uint8_t ctx[224])
{
	if (vtl == host.active)		/* the core enables a VTL only above the caller's */
		return HV_STATUS_INVALID_VP_STATE;
	return load_initial_context(vtl, ctx);
}

/* The one VP runs from the start: HvCallStartVirtualProcessor has nothing to start. */
static uint16_t start_vp(void *h, unsigned int vp, unsigned int vtl, const uint8_t ctx[224])
{
	return HV_STATUS_INVALID_VP_STATE;
}

/* XMM0-5 (fast hypercalls with XMM input or output) of the vCPU that runs the caller's VTL. */
static void get_xmm(void *h, unsigned int vp, unsigned int vtl, uint64_t xmm[6][2])
{
	struct kvm_fpu fpu;

	xioctl(host.vtl[vtl].fd, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
	memcpy(xmm, fpu.xmm, 6 * 16);
}

static void set_xmm(void *h, unsigned int vp, unsigned int vtl, const uint64_t xmm[6][2])
{
	struct kvm_fpu fpu;

	xioctl(host.vtl[vtl].fd, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
	memcpy(fpu.xmm, xmm, 6 * 16);
	xioctl(host.vtl[vtl].fd, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}

/* ---- time, TLBs, interrupts ---- */

/* Without TSC scaling the guest TSC is the host's plus the offset both vCPUs were given. */
static uint64_t guest_tsc(void *h)
{
	return __rdtsc() + host.tsc_offset;
}

/* The VP's run time: the CPU time of the thread that runs it, in 100 ns units. */
static uint64_t vp_runtime(void *h, unsigned int vp)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(host.vp_thread, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100;
}

/*
 * Flush the caller's VTL TLB (the only VP is the caller). KVM has no ioctl
 * for it, but changing CR4.PGE through KVM_SET_SREGS resets the vCPU's MMU
 * context, as toggling PGE does on hardware.
 */
static void flush_tlb(void *h, unsigned int caller_vp, unsigned int vtl, const uint64_t *mask)
{
	struct kvm_sregs s = host.vtl[vtl].run->s.regs.sregs;

	s.cr4 ^= CR4_PGE;
	xioctl(host.vtl[vtl].fd, KVM_SET_SREGS, &s, "KVM_SET_SREGS (TLB flush)");
	s.cr4 ^= CR4_PGE;
	xioctl(host.vtl[vtl].fd, KVM_SET_SREGS, &s, "KVM_SET_SREGS (TLB flush)");
}

/* Ends the wait of a call that got HV_HYPERCALL_RETRY (see run_hypercall). */
static void tlb_unlocked(void *h)
{
	pthread_mutex_lock(&host.lock);
	host.tlb_unlocks++;
	pthread_cond_broadcast(&host.tlb_cond);
	pthread_mutex_unlock(&host.lock);
}

/*
 * This VMM has no interrupt controller (no local APIC in either VM): it
 * cannot deliver the SynIC, timer or IPI interrupts a guest could set up.
 * Its guest sets up none; one that did is told so and the run fails.
 */
static void raise_irq(void *h, unsigned int vp, unsigned int vtl, uint8_t vector, bool auto_eoi)
{
	die("vtl%u interrupt %#x: this host has no interrupt controller", vtl, vector);
}

/* The synthetic EOI/ICR/TPR MSRs alias APIC registers this host does not have: #GP. */
static bool apic_msr(void *h, unsigned int vp, unsigned int vtl, uint32_t msr, bool write, uint64_t *val)
{
	return false;
}

static const struct hv_host_ops ops = {
	.guest_access = guest_access, .map_overlay = map_overlay, .unmap_overlay = unmap_overlay,
	.raise_irq = raise_irq, .flush_tlb = flush_tlb, .tlb_unlocked = tlb_unlocked, .guest_tsc = guest_tsc,
	.vp_runtime = vp_runtime, .apic_msr = apic_msr, .get_vp_register = get_vp_register,
	.set_vp_register = set_vp_register, .set_initial_context = set_initial_context, .start_vp = start_vp,
	.is_ram = is_ram, .protect = protect, .get_xmm = get_xmm, .set_xmm = set_xmm,
	/* msr_intercepts_changed, io_port_trappable: optional, for secure intercepts, which this host leaves out. */
};

/* ---- exits ---- */

static void inject_ud(struct vtl_cpu *c)
{
	struct kvm_vcpu_events ev;

	xioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS");
	ev.exception.injected = 1;
	ev.exception.nr = 6;
	ev.exception.has_error_code = 0;
	xioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
}

/*
 * The hypercall page's `nop; out`. KVM reports the exit with RIP still at
 * the out and skips it at the next KVM_RUN only if RIP is left unchanged, so
 * RIP is always set: past the out when the call is done, at the nop to issue
 * it again or fault there.
 */
static void run_hypercall(struct vtl_cpu *c)
{
	struct kvm_regs *r = &c->run->s.regs.regs;
	const struct kvm_sregs *s = &c->run->s.regs.sregs;
	uint64_t at_nop = r->rip - 1, past = r->rip + OUT_IMM8_LEN;
	struct hv_hypercall_regs hr = {
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi, .rdi = r->rdi, .r8 = r->r8,
		.long_mode = (s->efer & EFER_LMA) && s->cs.l,
	};
	enum hv_hypercall_outcome out;
	unsigned int unlocks;

	c->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	/* TLFS: #UD unless at CPL 0 in protected mode. */
	if (!(s->cr0 & CR0_PE) || (r->rflags & RFLAGS_VM) || s->ss.dpl) {
		r->rip = at_nop;
		inject_ud(c);
		return;
	}
	pthread_mutex_lock(&host.lock);
	unlocks = host.tlb_unlocks;	/* a release after this point ends a RETRY wait */
	pthread_mutex_unlock(&host.lock);
	out = hv_hypercall(host.hv, 0, host.active, &hr);
	/* 32-bit callers get the result in EDX:EAX, a continuation's input value too: the core set both. */
	r->rax = hr.rax, r->rcx = hr.rcx, r->rdx = hr.rdx;
	switch (out) {
	case HV_HYPERCALL_DONE:
		r->rip = past;
		break;
	case HV_HYPERCALL_CONTINUE:
		r->rip = at_nop;
		break;
	case HV_HYPERCALL_UD:
		r->rip = at_nop;
		inject_ud(c);
		break;
	case HV_HYPERCALL_SWITCH_VTL:
		/* The caller resumes past its call when it is entered again; the shared registers go along. */
		r->rip = past;
		enter_vtl(hr.target_vtl, hr.entry_reason);
		break;
	case HV_HYPERCALL_RETRY:
		r->rip = at_nop;
		pthread_mutex_lock(&host.lock);
		while (host.tlb_unlocks == unlocks)
			pthread_cond_wait(&host.tlb_cond, &host.lock);
		pthread_mutex_unlock(&host.lock);
		break;
	case HV_HYPERCALL_INTERCEPT:
		/* A parameter block in memory VTL1 protected: secure intercepts are left out, and this guest has none. */
		die("vtl%u hypercall: parameter block at %#llx is protected (intercepts are not implemented)",
		    host.active, (unsigned long long)hr.intercept_gpa);
	}
}

/* RDMSR/WRMSR of 0x40000000-0x400000FF, which the MSR filter sends here; error = #GP. */
static void run_msr(struct kvm_run *run)
{
	uint64_t val = 0;

	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		run->msr.error = hv_msr_read(host.hv, 0, host.active, run->msr.index, &val) != HV_MSR_OK;
		run->msr.data = val;
	} else {
		run->msr.error = hv_msr_write(host.hv, 0, host.active, run->msr.index, run->msr.data) != HV_MSR_OK;
	}
}

/*
 * KVM_RUN failed with EFAULT: KVM could not map a page of the VTL's view as
 * the access needed, which (in this guest) is a denied write. KVM does not
 * say which address; the guest's one protected write is `movl $0xBAD,
 * (%edi)`, so EDI names it. kvsm would decode the instruction and send a
 * GpaIntercept to VTL1; this host reports the protection holding and stops.
 */
static int protection_fault(void)
{
	uint64_t gpa = (uint32_t)host.vtl[host.active].run->s.regs.regs.rdi;
	uint32_t now;

	if (host.active != 0 || gpa >= RAM_SIZE || hv_vtl_prot_denier(host.hv, 0, gpa, HV_MAP_GPA_WRITABLE) != 1)
		die("KVM_RUN of vtl%u: EFAULT at rip %#llx, not a write VTL1 denied", host.active,
		    (unsigned long long)host.vtl[host.active].run->s.regs.regs.rip);
	memcpy(&now, host.ram + gpa, 4);
	printf("host: vtl0 write to %#" PRIx64 " stopped (KVM_RUN: EFAULT), denied by vtl1; the page holds %#x\n",
	       gpa, now);
	return now == SECRET_VALUE ? 0 : 1;
}

/* Run the VP until the guest ends: 0 when the protection held. */
static int run_vp(void)
{
	for (;;) {
		struct vtl_cpu *c = &host.vtl[host.active];
		struct kvm_run *run = c->run;

		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == EFAULT)
				return protection_fault();
			die("KVM_RUN of vtl%u: %s", host.active, strerror(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == HV_HYPERCALL_PORT &&
			    run->io.size == 1 && run->io.count == 1 && hv_hypercall_enabled(host.hv, 0, host.active)) {
				run_hypercall(c);
			} else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == DEBUG_PORT) {
				fwrite((uint8_t *)run + run->io.data_offset, run->io.size, run->io.count, stdout);
			} else if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == FAIL_PORT) {
				printf("host: the guest failed in vtl%u\n", host.active);
				return 1;
			} else {
				printf("host: vtl%u: unexpected I/O port %#x\n", host.active, run->io.port);
				return 1;
			}
			break;
		case KVM_EXIT_X86_RDMSR:
		case KVM_EXIT_X86_WRMSR:
			run_msr(run);
			break;
		default:
			printf("host: vtl%u: unexpected exit %u at rip %#llx\n", host.active, run->exit_reason,
			       (unsigned long long)run->s.regs.regs.rip);
			return 1;
		}
	}
}

/* ---- setup ---- */

/* The CPUID KVM supports, without its own leaves 0x40000000-0x400000FF; the guest's MAXPHYADDR. */
static struct kvm_cpuid2 *supported_cpuid(unsigned int *phys_bits)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + MAX_CPUID * sizeof(cpuid->entries[0]));
	unsigned int n = 0;

	if (!cpuid)
		die("calloc: %s", strerror(errno));
	cpuid->nent = MAX_CPUID;
	xioctl(host.kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid, "KVM_GET_SUPPORTED_CPUID");
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		if (cpuid->entries[i].function - 0x40000000u < 0x100)
			continue;
		if (cpuid->entries[i].function == 0x80000008)
			*phys_bits = cpuid->entries[i].eax & 0xFF;
		cpuid->entries[n++] = cpuid->entries[i];
	}
	cpuid->nent = n;
	return cpuid;
}

/* Add libkvsm's Hyper-V leaves and give the result to both vCPUs. */
static void set_cpuid(struct kvm_cpuid2 *cpuid)
{
	uint32_t hv[4], top;

	hv_cpuid(host.hv, 0x40000000, hv);
	top = hv[0];
	for (uint32_t leaf = 0x40000000; leaf <= top && cpuid->nent < MAX_CPUID; leaf++) {
		hv_cpuid(host.hv, leaf, hv);
		cpuid->entries[cpuid->nent++] = (struct kvm_cpuid_entry2){
			.function = leaf, .eax = hv[0], .ebx = hv[1], .ecx = hv[2], .edx = hv[3],
		};
	}
	for (unsigned int vtl = 0; vtl < NR_VTLS; vtl++)
		xioctl(host.vtl[vtl].fd, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
}

/* A VM for VTL vtl: its view of RAM as memslot 0, the synthetic MSRs sent to user space, one vCPU. */
static void create_vtl(unsigned int vtl)
{
	static uint8_t deny[0x100 / 8];	/* all zero: every MSR of the range exits */
	struct vtl_cpu *c = &host.vtl[vtl];
	struct kvm_userspace_memory_region slot = { .slot = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE };
	struct kvm_enable_cap msr_exits = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args[0] = KVM_MSR_EXIT_REASON_FILTER };
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = { .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, .nmsrs = 0x100,
			       .base = HV_X64_MSR_GUEST_OS_ID, .bitmap = deny },
	};
	int run_size;

	c->vm_fd = ioctl(host.kvm_fd, KVM_CREATE_VM, 0);
	if (c->vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	c->view = map_ram();
	memset(c->prot, PROT_READ | PROT_WRITE, sizeof(c->prot));
	slot.userspace_addr = (uintptr_t)c->view;
	xioctl(c->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot, "KVM_SET_USER_MEMORY_REGION");
	xioctl(c->vm_fd, KVM_ENABLE_CAP, &msr_exits, "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)");
	xioctl(c->vm_fd, KVM_X86_SET_MSR_FILTER, &filter, "KVM_X86_SET_MSR_FILTER");
	c->fd = ioctl(c->vm_fd, KVM_CREATE_VCPU, 0);
	run_size = ioctl(host.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (c->fd < 0 || run_size < 0)
		die("KVM_CREATE_VCPU: %s", strerror(errno));
	c->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED)
		die("mmap of kvm_run: %s", strerror(errno));
	/* The synced copies start as the vCPU's reset state. */
	c->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	xioctl(c->fd, KVM_GET_REGS, &c->run->s.regs.regs, "KVM_GET_REGS");
	xioctl(c->fd, KVM_GET_SREGS, &c->run->s.regs.sregs, "KVM_GET_SREGS");
}

/* VTL0 starts at GUEST_CODE_GPA in 32-bit protected mode, flat, paging off: what VTL1's context asks for too. */
static void boot_vtl0(void)
{
	struct vtl_cpu *c = &host.vtl[0];
	struct kvm_sregs *s = &c->run->s.regs.sregs;
	struct kvm_segment code = { .limit = 0xFFFFFFFF, .selector = 0x08, .type = 0xB, .present = 1, .s = 1,
				    .db = 1, .g = 1 };
	struct kvm_segment data = code;

	data.selector = 0x10, data.type = 0x3;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct kvm_segment){ .limit = 0x67, .selector = 0x18, .type = 0xB, .present = 1 };
	s->cr0 = 0x11;	/* PE, ET */
	xioctl(c->fd, KVM_SET_SREGS, s, "KVM_SET_SREGS");
	c->run->s.regs.regs = (struct kvm_regs){ .rip = GUEST_CODE_GPA, .rflags = 2 };
	c->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/* Both vCPUs get VTL0's TSC offset: each VM would otherwise start a TSC of its own. */
static void sync_tsc(void)
{
	struct kvm_device_attr attr = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
					.addr = (uintptr_t)&host.tsc_offset };

	xioctl(host.vtl[0].fd, KVM_GET_DEVICE_ATTR, &attr, "KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)");
	xioctl(host.vtl[1].fd, KVM_SET_DEVICE_ATTR, &attr, "KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)");
}

int main(void)
{
	struct hv_config cfg = {
		.nr_vps = 1, .ram_size = RAM_SIZE, .ram_end = RAM_SIZE, .max_vtl = 1,
		.apic_hz = 1000000000,	/* KVM's APIC timer rate; no APIC here, but the core reports it */
		.policy = HV_POLICY_PERMISSIVE, .ops = &ops, .host = &host,
	};
	unsigned int phys_bits = 36;
	struct kvm_cpuid2 *cpuid;
	int tsc_khz, rc;

	host.vp_thread = pthread_self();
	host.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (host.kvm_fd < 0)
		die("/dev/kvm: %s", strerror(errno));
	if (ioctl(host.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) <= 0 ||
	    ioctl(host.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0)
		die("KVM lacks KVM_CAP_SYNC_REGS or KVM_CAP_X86_MSR_FILTER");
	host.memfd = memfd_create("minimal-host-ram", MFD_CLOEXEC);
	if (host.memfd < 0 || ftruncate(host.memfd, RAM_SIZE))
		die("memfd for guest RAM: %s", strerror(errno));
	host.ram = map_ram();
	if (guest_end - guest_start > HYPERCALL_GPA - GUEST_CODE_GPA)
		die("minimal-guest.S runs into the hypercall page");
	memcpy(host.ram + GUEST_CODE_GPA, guest_start, (size_t)(guest_end - guest_start));
	for (unsigned int vtl = 0; vtl < NR_VTLS; vtl++)
		create_vtl(vtl);
	sync_tsc();
	tsc_khz = ioctl(host.vtl[0].fd, KVM_GET_TSC_KHZ, 0);
	if (tsc_khz <= 0)
		die("KVM_GET_TSC_KHZ: %s", strerror(errno));
	cfg.tsc_hz = (uint64_t)tsc_khz * 1000;
	cpuid = supported_cpuid(&phys_bits);
	cfg.gpa_limit = 1ull << phys_bits;
	host.hv = hv_partition_create(&cfg);
	if (!host.hv)
		die("hv_partition_create");
	set_cpuid(cpuid);
	free(cpuid);
	boot_vtl0();
	printf("host: vtl0 and vtl1: a KVM VM and vCPU each over %u KiB of memfd RAM; vtl0 starts at %#x\n",
	       RAM_SIZE / 1024, GUEST_CODE_GPA);
	rc = run_vp();
	hv_partition_destroy(host.hv);
	printf("minimal-host: %s\n", rc ? "FAILED" : "ok");
	return rc;
}
