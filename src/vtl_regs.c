/*
 * Architectural registers of one VTL's vCPU by HV_REGISTER_NAME.
 *
 * Where each register lives:
 *  - RAX..R15, RIP, RFLAGS: the synced run->s.regs.regs (KVM_SYNC_X86_REGS).
 *  - CR0/2/3/4/8, EFER, APIC base, segments, IDTR/GDTR: run->s.regs.sregs
 *    (KVM_SYNC_X86_SREGS). In VTLs >= 1 (no in-kernel LAPIC) Cr8 and
 *    ApicBase are kvsm's user-space LAPIC's (cpu->v[vtl].apic): its TPR, which
 *    vtl_irq.c loads into run->cr8 before each run, and its IA32_APIC_BASE.
 *  - PendingInterruption, InterruptState, PendingEvent0: run->s.regs.events
 *    (KVM_SYNC_X86_EVENTS).
 *  - x87/MMX/SSE: KVM_GET_XSAVE/KVM_SET_XSAVE (legacy area only; AVX and
 *    wider components go back unchanged), XCR0: KVM_GET/SET_XCRS, DR0-3/6/7:
 *    KVM_GET/SET_DEBUGREGS, MSRs: KVM_GET/SET_MSRS (an MSR KVM refuses or
 *    does not know is INVALID_PARAMETER, also on get).
 * Changes to the synced areas take effect at the next KVM_RUN, which fails
 * with EINVAL on a state KVM refuses: hence the checks here, which copy KVM's
 * own (kvm_is_valid_sregs, kvm_apic_set_base, set_vcpu_events, __kvm_set_xcr)
 * and add the SDM/VM-entry rules KVM leaves to the hardware.
 *
 * Choices where the TLFS says nothing:
 *  - Segments: KVM's `unusable` is Attributes.P = 0 both ways (VMX and SVM
 *    both treat a not-present segment as unusable). The other attribute bits
 *    are kept as given. Limit is the byte-granular limit KVM stores; a usable
 *    segment must have G consistent with it (G=1: low 12 bits all ones; G=0:
 *    at most 0xFFFFF).
 *  - PendingInterruption (the event being delivered): an injected exception
 *    is type 3 (hardware exception), or 6 (software exception) for #BP/#OF,
 *    which KVM always injects as software exceptions; an injected interrupt
 *    is type 0, or 4 when KVM marks it soft (INT n); an injected NMI is type 2,
 *    vector 2. Type 6 is required for #BP/#OF and refused for others (KVM
 *    injects exactly those as software exceptions of the instruction at RIP,
 *    and does not report them back after a KVM_RUN). InstructionLength is
 *    reported as 0 and ignored on set (KVM keeps its own); NestedEvent = 1
 *    and type 5 (ICEBP, which KVM cannot represent) are refused. Set with InterruptionPending = 0 cancels the
 *    injected event.
 *  - PendingEvent0 (an exception not yet delivered): only EventType 0
 *    (exception). KVM_CAP_EXCEPTION_PAYLOAD is off in kvsm, so KVM holds one
 *    exception and cannot keep a pending one apart from an injected one: the
 *    exception is written as injected, with events.exception.pending = 1 as
 *    a marker that KVM ignores without KVM_VCPUEVENT_VALID_PAYLOAD. Until the
 *    next KVM_RUN it reads back as PendingEvent0; after it, KVM reports what
 *    it still holds as an injected exception (PendingInterruption). For #PF
 *    ExceptionParameter is written to CR2 now; it must be 0 for other
 *    vectors. #BP/#OF are refused (use PendingInterruption type 6). With
 *    the capability on (KVM_VCPUEVENT_VALID_PAYLOAD in the synced flags) the
 *    exception is KVM-pending with the #PF payload.
 *  - One event at a time: KVM re-injects one event per entry and drops the
 *    others, so a PendingInterruption and a PendingEvent0 exception cannot
 *    coexist (INVALID_PARAMETER on the second). Error codes follow the VMX
 *    rule: DeliverErrorCode must be set exactly for #DF #TS #NP #SS #GP #PF
 *    #AC #CP in protected mode (KVM drops it in real mode itself); ErrorCode
 *    must be 0 without it.
 *  - InterruptShadow = 1 keeps KVM's existing shadow kind, else sets
 *    MOV_SS|STI; an injected external interrupt or NMI cannot be combined
 *    with a shadow, and an injected external interrupt needs RFLAGS.IF = 1
 *    (VM-entry rules). Writing RFLAGS with IF = 0 drops an STI-only shadow.
 *  - FpControlStatus: FpTag is the abridged tag byte, the reserved byte must
 *    be 0, LastFpRip is the 64-bit FIP. XmmControlStatus: LastFpRdp is the
 *    64-bit FDP; XmmStatusControlMask (MXCSR_MASK) is read-only and ignored
 *    on set; MXCSR bits outside it are refused. FpMmx: bits 127:80 must be 0.
 *  - 64-bit canonical checks use 57 bits when the guest CPUID has LA57, else
 *    48 (KVM's width for MSR writes). Guest features (CR4, EFER, XCR0, x2APIC,
 *    MAXPHYADDR) come from the vCPU's CPUID (KVM_GET_CPUID2), as KVM's do.
 *  - Rules that tie several registers (EFER.LMA vs LME & PG, CS.L, CR4.PAE)
 *    are checked on each single write against the current others. A Cr0
 *    write sets EFER.LMA = LME && PG as MOV to CR0 does (KVM accepts no other
 *    pair, and some hosts keep no 32-bit paging to pass through); an Efer
 *    write must itself give the LMA that matches. So long mode is entered
 *    with CR4.PAE, EFER.LME, CR0.PG|PE, then CS.L, and left in the reverse
 *    order. vtl_regs_check_sregs checks a whole kvm_sregs at once.
 *  - Tsc is MSR 0x10 written the way KVM takes a host write: a value of 0, or
 *    one within a second of the VM's last written TSC, synchronizes with it.
 *  - SysenterCs, Sfmask, TscAux: bits 63:32 refused (Intel reserves them; KVM
 *    would drop them on some hosts). SysenterEip/Esp, KernelGsBase, Lstar,
 *    Cstar must be canonical. DebugCtl bits 63:16 are refused.
 *  - MTRRs: KVM implements 8 variable ranges; MtrrPhysBase/Mask8-F are refused.
 *  - ApicBase: besides KVM's reserved bits, the WRMSR rules (no x2APIC ->
 *    xAPIC, no disabled -> x2APIC) and BSP unchanged, in every VTL.
 *  - An MSR write KVM refuses still succeeds when the MSR already holds the
 *    value (get-then-set round trips of e.g. Xss = 0 where KVM refuses writes).
 */
#include "vtl_regs.h"
#include "kvm.h"
#include "vcpu.h"
#include "hv/tlfs.h"
#include "x86/arch.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* PE MP EM TS ET NE, WP, AM, NW, CD, PG */
#define CR0_VALID	(0x3full | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
/* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT: no CPUID gate in KVM. */
#define CR4_ALWAYS	0x7ffull

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

/* ---- small helpers ---- */

static struct vcpu_vtl *vtl_of(struct vcpu *cpu, unsigned int vtl)
{
	if (vtl >= KVSM_MAX_VTLS || !cpu->v[vtl].run)
		return NULL;
	return &cpu->v[vtl];
}

/* VTLs >= 1 have kvsm's local APIC (vtl_irq.c): it owns the TPR (CR8) and IA32_APIC_BASE. */
static struct lapic *user_lapic(struct vcpu *cpu, struct vcpu_vtl *v)
{
	return v != &cpu->v[0] && v->apic.ops ? &v->apic : NULL;
}

static bool canonical(uint64_t a, unsigned int bits)
{
	unsigned int s = 64 - bits;

	return (uint64_t)((int64_t)(a << s) >> s) == a;
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* ---- guest features, from the vCPU's CPUID as KVM sees it ---- */

struct gcaps {
	unsigned int maxphyaddr;
	unsigned int vaddr_bits;	/* canonical width */
	uint64_t cr4_ok, efer_ok, xcr0_ok;
	bool x2apic, lam;
};

static const struct kvm_cpuid_entry2 *cpuid_leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == fn && (e->index == idx || !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return e;
	}
	return NULL;
}

#define HAS(e, reg, bit) ((e) && (((e)->reg >> (bit)) & 1))

static void guest_caps(int fd, struct gcaps *g)
{
	const uint32_t max = 256;	/* KVM_MAX_CPUID_ENTRIES */
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	struct kvm_cpuid2 none = { .nent = 0 };
	const struct kvm_cpuid_entry2 *l1, *l7, *l71, *ld, *e0, *e1, *e8, *e21;

	if (c) {
		c->nent = max;
		if (ioctl(fd, KVM_GET_CPUID2, c))
			c->nent = 0;	/* no CPUID set: KVM sees no optional feature either */
	}
	const struct kvm_cpuid2 *t = c ? c : &none;

	l1 = cpuid_leaf(t, 1, 0);
	l7 = cpuid_leaf(t, 7, 0);
	l71 = cpuid_leaf(t, 7, 1);
	ld = cpuid_leaf(t, 0xd, 0);
	e0 = cpuid_leaf(t, 0x80000000, 0);
	e1 = cpuid_leaf(t, 0x80000001, 0);
	e8 = cpuid_leaf(t, 0x80000008, 0);
	e21 = cpuid_leaf(t, 0x80000021, 0);

	/* cpuid_query_maxphyaddr(): 36 without leaf 0x80000008. */
	g->maxphyaddr = e0 && e0->eax >= 0x80000008 && e8 ? (e8->eax & 0xff) : 36;
	if (g->maxphyaddr < 32 || g->maxphyaddr > 52)
		g->maxphyaddr = g->maxphyaddr < 32 ? 32 : 52;
	g->vaddr_bits = HAS(l7, ecx, 16) ? 57 : 48;
	g->x2apic = HAS(l1, ecx, 21);
	g->lam = HAS(l71, eax, 26);

	/* __cr4_reserved_bits(): the CPUID-gated CR4 bits. */
	g->cr4_ok = CR4_ALWAYS;
	if (HAS(l7, ecx, 2))
		g->cr4_ok |= 1ull << 11;	/* UMIP */
	if (HAS(l7, ecx, 16))
		g->cr4_ok |= 1ull << 12;	/* LA57 */
	if (HAS(l1, ecx, 5))
		g->cr4_ok |= 1ull << 13;	/* VMXE */
	if (HAS(l7, ebx, 0))
		g->cr4_ok |= 1ull << 16;	/* FSGSBASE */
	if (HAS(l1, ecx, 17))
		g->cr4_ok |= CR4_PCIDE;
	if (HAS(l1, ecx, 26))
		g->cr4_ok |= 1ull << 18;	/* OSXSAVE */
	if (HAS(l7, ebx, 7))
		g->cr4_ok |= 1ull << 20;	/* SMEP */
	if (HAS(l7, ebx, 20))
		g->cr4_ok |= 1ull << 21;	/* SMAP */
	if (HAS(l7, ecx, 3))
		g->cr4_ok |= 1ull << 22;	/* PKE */
	if (HAS(l7, ecx, 7) || HAS(l7, edx, 20))
		g->cr4_ok |= CR4_CET;		/* SHSTK or IBT */
	if (HAS(l7, ecx, 31))
		g->cr4_ok |= 1ull << 24;	/* PKS */
	if (g->lam)
		g->cr4_ok |= 1ull << 28;	/* LAM_SUP */
	if (HAS(l71, eax, 17))
		g->cr4_ok |= 1ull << 32;	/* FRED */

	g->efer_ok = EFER_SCE;
	if (HAS(e1, edx, 29))
		g->efer_ok |= EFER_LME | EFER_LMA;
	if (HAS(e1, edx, 20))
		g->efer_ok |= 1ull << 11;	/* NXE */
	if (HAS(e1, ecx, 2))
		g->efer_ok |= 1ull << 12;	/* SVME */
	if (HAS(e1, edx, 25))
		g->efer_ok |= 1ull << 14;	/* FFXSR */
	if (HAS(e1, ecx, 17))
		g->efer_ok |= 1ull << 15;	/* TCE */
	if (HAS(e21, eax, 8))
		g->efer_ok |= 1ull << 21;	/* AUTOIBRS */

	g->xcr0_ok = XFEATURE_FP | (ld ? ld->eax | (uint64_t)ld->edx << 32 : 0);
	free(c);
}

static uint64_t phys_rsvd(const struct gcaps *g)
{
	return ~0ull << g->maxphyaddr;
}

/* ---- pure conversions ---- */

void vtl_regs_seg_to_hv(const struct kvm_segment *s, uint64_t val[2])
{
	uint16_t attr = (uint16_t)((s->type & 0xf) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
				   (s->present && !s->unusable) << 7 | (s->avl & 1) << 12 | (s->l & 1) << 13 |
				   (s->db & 1) << 14 | (s->g & 1) << 15);

	val[0] = s->base;
	val[1] = s->limit | (uint64_t)s->selector << 32 | (uint64_t)attr << 48;
}

bool vtl_regs_seg_from_hv(const uint64_t val[2], struct kvm_segment *s)
{
	uint16_t attr = (uint16_t)(val[1] >> 48);

	if (attr & 0x0f00)
		return false;
	*s = (struct kvm_segment){
		.base = val[0],
		.limit = (uint32_t)val[1],
		.selector = (uint16_t)(val[1] >> 32),
		.type = attr & 0xf,
		.s = (attr >> 4) & 1,
		.dpl = (attr >> 5) & 3,
		.present = (attr >> 7) & 1,
		.avl = (attr >> 12) & 1,
		.l = (attr >> 13) & 1,
		.db = (attr >> 14) & 1,
		.g = (attr >> 15) & 1,
		.unusable = !((attr >> 7) & 1),
	};
	return true;
}

void vtl_regs_table_to_hv(const struct kvm_dtable *t, uint64_t val[2])
{
	val[0] = (uint64_t)t->limit << 48;
	val[1] = t->base;
}

void vtl_regs_table_from_hv(const uint64_t val[2], struct kvm_dtable *t)
{
	*t = (struct kvm_dtable){ .base = val[1], .limit = (uint16_t)(val[0] >> 48) };
}

/* ---- event registers (pure) ---- */

#define PI_PENDING	(1ull << 0)
#define PI_DELIVER_EC	(1ull << 4)
#define PI_NESTED	(1ull << 9)
#define PI_RSVD		(0x3full << 10)

#define PE_PENDING	(1ull << 0)
#define PE_DELIVER_EC	(1ull << 8)
#define PE_RSVD		((0xfull << 4) | (0x7full << 9))

/* Exceptions that push an error code (x86_exception_has_error_code()). */
static bool has_error_code(unsigned int vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21;
}

/* An exception KVM accepts and VM entry does not fail on. */
static bool exception_ok(unsigned int vec, bool deliver, uint32_t ec, uint64_t cr0)
{
	if (vec > 31 || vec == 2)
		return false;
	if (!deliver)
		return ec == 0 && !(has_error_code(vec) && (cr0 & CR0_PE));
	return has_error_code(vec);
}

static void clear_exception(struct kvm_vcpu_events *ev)
{
	memset(&ev->exception, 0, sizeof(ev->exception));
	ev->exception_has_payload = 0;
	ev->exception_payload = 0;
}

/* A PendingEvent0 exception: KVM-pending, or our marker on an injected one (see the top comment). */
static bool pe0_present(const struct kvm_vcpu_events *ev)
{
	return ev->exception.pending;
}

static bool pi_exception(const struct kvm_vcpu_events *ev)
{
	return ev->exception.injected && !ev->exception.pending;
}

/* Rules for a changed event state (an unchanged one is left to KVM: it made it). */
static bool events_ok(const struct kvm_vcpu_events *old, const struct kvm_vcpu_events *ev, uint64_t rflags)
{
	unsigned int n = (ev->exception.injected || ev->exception.pending) + !!ev->nmi.injected +
			 !!ev->interrupt.injected;
	uint8_t sh = ev->interrupt.shadow;

	if (!memcmp(old, ev, sizeof(*ev)))
		return true;
	if (n > 1)
		return false;
	if ((ev->exception.injected || ev->exception.pending) && (ev->exception.nr > 31 || ev->exception.nr == 2))
		return false;
	if ((ev->nmi.injected || ev->interrupt.injected) && sh)
		return false;
	if (ev->interrupt.injected && !ev->interrupt.soft && !(rflags & RFLAGS_IF))
		return false;
	if ((sh & KVM_X86_SHADOW_INT_STI) && !(sh & KVM_X86_SHADOW_INT_MOV_SS) && !(rflags & RFLAGS_IF))
		return false;
	return true;
}

uint16_t vtl_regs_events_get(const struct vtl_event_state *st, uint32_t name, uint64_t val[2])
{
	const struct kvm_vcpu_events *ev = &st->ev;

	val[0] = val[1] = 0;
	switch (name) {
	case VTL_REG_PENDING_INTERRUPTION:
		if (pi_exception(ev)) {
			unsigned int nr = ev->exception.nr;

			val[0] = PI_PENDING | (uint64_t)(nr == 3 || nr == 4 ? 6 : 3) << 1 | (uint64_t)nr << 16;
			if (ev->exception.has_error_code)
				val[0] |= PI_DELIVER_EC | (uint64_t)ev->exception.error_code << 32;
		} else if (ev->nmi.injected) {
			val[0] = PI_PENDING | 2u << 1 | 2u << 16;
		} else if (ev->interrupt.injected) {
			val[0] = PI_PENDING | (uint64_t)(ev->interrupt.soft ? 4 : 0) << 1 |
				 (uint64_t)ev->interrupt.nr << 16;
		}
		return HV_STATUS_SUCCESS;
	case VTL_REG_INTERRUPT_STATE:
		val[0] = (ev->interrupt.shadow ? 1 : 0) | (ev->nmi.masked ? 2 : 0);
		return HV_STATUS_SUCCESS;
	case VTL_REG_PENDING_EVENT0:
		if (!pe0_present(ev))
			return HV_STATUS_SUCCESS;
		val[0] = PE_PENDING | (uint64_t)ev->exception.nr << 16;	/* EventType 0: exception */
		if (ev->exception.has_error_code)
			val[0] |= PE_DELIVER_EC | (uint64_t)ev->exception.error_code << 32;
		if (ev->flags & KVM_VCPUEVENT_VALID_PAYLOAD)
			val[1] = ev->exception_has_payload ? ev->exception_payload : 0;
		else
			val[1] = ev->exception.nr == 14 ? st->cr2 : 0;
		return HV_STATUS_SUCCESS;
	case VTL_REG_RFLAGS:
		val[0] = st->rflags;
		return HV_STATUS_SUCCESS;
	}
	return HV_STATUS_INVALID_PARAMETER;
}

static uint16_t set_pending_interruption(struct vtl_event_state *st, uint64_t v, struct kvm_vcpu_events *ev)
{
	unsigned int type = (v >> 1) & 7, vec = (v >> 16) & 0xffff;
	bool deliver = v & PI_DELIVER_EC;
	uint32_t ec = (uint32_t)(v >> 32);

	if (v & (PI_RSVD | PI_NESTED))
		return HV_STATUS_INVALID_PARAMETER;
	/* Cancel the event in flight; a PendingEvent0 exception stays. */
	if (pi_exception(ev))
		clear_exception(ev);
	ev->interrupt.injected = 0;
	ev->interrupt.nr = 0;
	ev->interrupt.soft = 0;
	ev->nmi.injected = 0;
	if (!(v & PI_PENDING))
		return HV_STATUS_SUCCESS;
	switch (type) {
	case 0:	/* external interrupt */
	case 4:	/* software interrupt (INT n) */
		if (vec > 255 || deliver || ec)
			return HV_STATUS_INVALID_PARAMETER;
		ev->interrupt.injected = 1;
		ev->interrupt.nr = (uint8_t)vec;
		ev->interrupt.soft = type == 4;
		return HV_STATUS_SUCCESS;
	case 2:	/* NMI */
		if ((vec != 2 && vec != 0) || deliver || ec)
			return HV_STATUS_INVALID_PARAMETER;
		ev->nmi.injected = 1;
		return HV_STATUS_SUCCESS;
	case 3:	/* hardware exception */
	case 6:	/* software exception: KVM injects #BP and #OF as such */
		/* KVM injects #BP and #OF, and only them, as software exceptions of the instruction at RIP. */
		if (!exception_ok(vec, deliver, ec, st->cr0) || (type == 6) != (vec == 3 || vec == 4))
			return HV_STATUS_INVALID_PARAMETER;
		if (pe0_present(ev))
			return HV_STATUS_INVALID_PARAMETER;	/* KVM has one exception slot, PendingEvent0 holds it */
		ev->exception.injected = 1;
		ev->exception.nr = (uint8_t)vec;
		ev->exception.has_error_code = deliver;
		ev->exception.error_code = ec;
		return HV_STATUS_SUCCESS;
	default:	/* 5: privileged software exception (ICEBP); 1, 7: undefined */
		return HV_STATUS_INVALID_PARAMETER;
	}
}

static uint16_t set_pending_event0(struct vtl_event_state *st, const uint64_t val[2], struct kvm_vcpu_events *ev)
{
	uint64_t v = val[0], param = val[1];
	unsigned int vec = (v >> 16) & 0xffff;
	bool deliver = v & PE_DELIVER_EC;
	uint32_t ec = (uint32_t)(v >> 32);

	if (v & PE_RSVD)
		return HV_STATUS_INVALID_PARAMETER;
	if (!(v & PE_PENDING)) {
		if (pe0_present(ev))
			clear_exception(ev);
		return HV_STATUS_SUCCESS;
	}
	if (((v >> 1) & 7) != 0)	/* only HV_X64_PENDING_EVENT_EXCEPTION */
		return HV_STATUS_INVALID_PARAMETER;
	/* #BP/#OF would be a software exception of the instruction at RIP: PendingInterruption type 6. */
	if (!exception_ok(vec, deliver, ec, st->cr0) || vec == 3 || vec == 4 || (param && vec != 14))
		return HV_STATUS_INVALID_PARAMETER;
	if (pi_exception(ev))
		return HV_STATUS_INVALID_PARAMETER;	/* the one exception slot is in use */
	clear_exception(ev);
	ev->exception.pending = 1;
	ev->exception.nr = (uint8_t)vec;
	ev->exception.has_error_code = deliver;
	ev->exception.error_code = ec;
	if (ev->flags & KVM_VCPUEVENT_VALID_PAYLOAD) {
		ev->exception_has_payload = vec == 14;
		ev->exception_payload = vec == 14 ? param : 0;
	} else {
		ev->exception.injected = 1;	/* what KVM will deliver; `pending` is our marker */
		if (vec == 14)
			st->cr2 = param;
	}
	return HV_STATUS_SUCCESS;
}

uint16_t vtl_regs_events_set(struct vtl_event_state *st, uint32_t name, const uint64_t val[2])
{
	struct kvm_vcpu_events ev = st->ev;
	uint64_t rflags = st->rflags, cr2 = st->cr2, v = val[0];
	uint16_t r = HV_STATUS_SUCCESS;

	switch (name) {
	case VTL_REG_PENDING_INTERRUPTION:
		r = set_pending_interruption(st, v, &ev);
		break;
	case VTL_REG_INTERRUPT_STATE:
		if (v & ~3ull)
			return HV_STATUS_INVALID_PARAMETER;
		if (!(v & 1))
			ev.interrupt.shadow = 0;
		else if (!ev.interrupt.shadow)
			ev.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI;
		ev.nmi.masked = (v >> 1) & 1;
		if (ev.interrupt.shadow != st->ev.interrupt.shadow)
			ev.flags |= KVM_VCPUEVENT_VALID_SHADOW;
		break;
	case VTL_REG_PENDING_EVENT0:
		r = set_pending_event0(st, val, &ev);
		break;
	case VTL_REG_RFLAGS:
		if (!(v & RFLAGS_FIXED1) || (v & RFLAGS_RSVD))
			return HV_STATUS_INVALID_PARAMETER;
		rflags = v;
		/* With IF = 0 an STI shadow blocks nothing more; VM entry refuses the pair. */
		if (!(v & RFLAGS_IF) && ev.interrupt.shadow == KVM_X86_SHADOW_INT_STI)
			ev.interrupt.shadow = 0;
		if (ev.interrupt.injected && !ev.interrupt.soft && !(v & RFLAGS_IF))
			return HV_STATUS_INVALID_PARAMETER;
		break;
	default:
		return HV_STATUS_INVALID_PARAMETER;
	}
	if (r != HV_STATUS_SUCCESS)
		return r;
	if (!events_ok(&st->ev, &ev, rflags)) {
		st->cr2 = cr2;
		return HV_STATUS_INVALID_PARAMETER;
	}
	st->ev = ev;
	st->rflags = rflags;
	return HV_STATUS_SUCCESS;
}

/* ---- sregs rules ---- */

static struct kvm_segment *seg_of(struct kvm_sregs *s, unsigned int i)
{
	struct kvm_segment *t[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldt, &s->tr };

	return t[i];
}

static bool seg_ok(const struct gcaps *g, struct kvm_sregs *n, unsigned int i)
{
	const struct kvm_segment *s = seg_of(n, i);
	bool usable = s->present && !s->unusable;

	if (usable && (s->g ? (s->limit & 0xfff) != 0xfff : s->limit > 0xfffff))
		return false;
	switch (i) {
	case SEG_ES:
	case SEG_CS:
	case SEG_SS:
	case SEG_DS:
		return !usable || !(s->base >> 32);
	case SEG_FS:
	case SEG_GS:
		return canonical(s->base, g->vaddr_bits);
	case SEG_LDTR:
		return !usable || (canonical(s->base, g->vaddr_bits) && !s->s && s->type == 2);
	case SEG_TR:	/* a busy TSS, 32/64-bit in long mode */
		return usable && canonical(s->base, g->vaddr_bits) && !s->s && (s->type == 11 ||
			(s->type == 3 && !(n->efer & EFER_LMA)));
	}
	return false;
}

/*
 * IA32_APIC_BASE: kvm_apic_set_base()'s reserved bits and invalid state, the
 * mode transitions a guest WRMSR may not make (x2APIC -> xAPIC, disabled ->
 * x2APIC; the user-space LAPIC refuses them too), and BSP kept as it is.
 */
static bool apic_base_ok(const struct gcaps *g, uint64_t v, uint64_t old)
{
	uint64_t rsvd = phys_rsvd(g) | 0x2ff | (g->x2apic ? 0 : APIC_BASE_EXTD);
	uint64_t mode = v & (APIC_BASE_EN | APIC_BASE_EXTD), old_mode = old & (APIC_BASE_EN | APIC_BASE_EXTD);

	if ((v & rsvd) || mode == APIC_BASE_EXTD || ((v ^ old) & LAPIC_BASE_BSP))
		return false;
	if (old_mode == (APIC_BASE_EN | APIC_BASE_EXTD) && mode == APIC_BASE_EN)
		return false;
	return !(old_mode == 0 && mode == (APIC_BASE_EN | APIC_BASE_EXTD));
}

static bool ctrl_ok(const struct gcaps *g, const struct kvm_sregs *n, const struct kvm_sregs *old)
{
	bool lma = n->efer & EFER_LMA;
	uint64_t cr3_rsvd = phys_rsvd(g);

	if ((n->cr0 & ~CR0_VALID) || ((n->cr0 & CR0_NW) && !(n->cr0 & CR0_CD)) ||
	    ((n->cr0 & CR0_PG) && !(n->cr0 & CR0_PE)))
		return false;
	if ((n->cr4 & ~g->cr4_ok) || (n->efer & ~g->efer_ok))
		return false;
	/* kvm_is_valid_sregs() */
	if ((n->efer & EFER_LME) && (n->cr0 & CR0_PG)) {
		if (!(n->cr4 & CR4_PAE) || !lma)
			return false;
	} else if (lma || n->cs.l) {
		return false;
	}
	if (lma && g->lam)
		cr3_rsvd &= ~(3ull << 61);	/* LAM_U57/U48 */
	if (n->cr3 & cr3_rsvd)
		return false;
	if (((n->cr4 & CR4_PCIDE) && !lma) || ((n->cr4 & CR4_CET) && !(n->cr0 & CR0_WP)))
		return false;
	if (lma && n->cs.l && n->cs.db)
		return false;
	if (n->cr8 > 15)
		return false;
	if (!canonical(n->idt.base, g->vaddr_bits) || !canonical(n->gdt.base, g->vaddr_bits))
		return false;
	/* kvm_apic_set_base() accepts an unchanged value as it is. */
	if (n->apic_base != old->apic_base && !apic_base_ok(g, n->apic_base, old->apic_base))
		return false;
	return true;
}

uint16_t vtl_regs_check_sregs(struct vcpu *cpu, unsigned int vtl, const struct kvm_sregs *s)
{
	struct vcpu_vtl *v = vtl_of(cpu, vtl);
	struct kvm_sregs n = *s;
	struct gcaps g;

	if (!v)
		return HV_STATUS_INVALID_PARAMETER;
	guest_caps(v->fd, &g);
	for (unsigned int i = SEG_ES; i <= SEG_TR; i++)
		if (!seg_ok(&g, &n, i))
			return HV_STATUS_INVALID_PARAMETER;
	return ctrl_ok(&g, &n, &v->run->s.regs.sregs) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

/*
 * A context a higher VTL can start in (HvCallEnableVpVtl, StartVirtualProcessor
 * into VTL >= 1), beyond what KVM would load: protected or long mode (spec
 * 4.1: no real mode above VTL0, and so no virtual-8086 mode either), a usable
 * code segment in CS and a writable data segment in SS (64-bit mode may leave
 * SS null), and a RIP the first fetch can use: canonical in 64-bit mode,
 * within CS's limit otherwise.
 */
uint16_t vtl_regs_check_start_context(struct vcpu *cpu, unsigned int vtl, const struct kvm_sregs *s, uint64_t rip,
				      uint64_t rflags)
{
	struct vcpu_vtl *v = vtl_of(cpu, vtl);
	bool long64 = (s->efer & EFER_LMA) && s->cs.l;
	struct gcaps g;

	if (!v || !(s->cr0 & CR0_PE) || (rflags & RFLAGS_VM))
		return HV_STATUS_INVALID_PARAMETER;
	if (!s->cs.present || s->cs.unusable || !s->cs.s || !(s->cs.type & SEG_TYPE_CODE))
		return HV_STATUS_INVALID_PARAMETER;
	if ((!long64 || (s->ss.present && !s->ss.unusable)) &&
	    (!s->ss.present || s->ss.unusable || !s->ss.s || (s->ss.type & SEG_TYPE_CODE) ||
	     !(s->ss.type & SEG_TYPE_WRITABLE_DATA)))
		return HV_STATUS_INVALID_PARAMETER;
	guest_caps(v->fd, &g);
	if (long64)
		return canonical(rip, g.vaddr_bits) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	return rip <= s->cs.limit ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

/* Write sregs back to the synced area; KVM_RUN applies them. */
static void commit_sregs(struct vcpu *cpu, struct vcpu_vtl *v, const struct kvm_sregs *n)
{
	struct kvm_sync_regs *r = &v->run->s.regs;
	struct lapic *apic = user_lapic(cpu, v);

	r->sregs = *n;
	/*
	 * KVM_SET_SREGS re-queues the external interrupt of interrupt_bitmap;
	 * keep it what the events say (they are applied after the sregs anyway).
	 */
	memset(r->sregs.interrupt_bitmap, 0, sizeof(r->sregs.interrupt_bitmap));
	if (r->events.interrupt.injected && !r->events.interrupt.soft)
		r->sregs.interrupt_bitmap[r->events.interrupt.nr / 64] |= 1ull << (r->events.interrupt.nr % 64);
	/*
	 * Without an in-kernel LAPIC, KVM_RUN loads run->cr8 into CR8 after the
	 * synced sregs; kvsm's LAPIC sets run->cr8 from its TPR before each run.
	 */
	if (apic)
		r->sregs.cr8 = lapic_get_cr8(apic);
	else
		v->run->cr8 = n->cr8;
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
}

/* Check and commit a changed sregs; seg is the segment that changed, or -1. */
static uint16_t update_sregs(struct vcpu *cpu, struct vcpu_vtl *v, struct kvm_sregs *n, int seg)
{
	struct gcaps g;

	guest_caps(v->fd, &g);
	if ((seg >= 0 && !seg_ok(&g, n, (unsigned int)seg)) || !ctrl_ok(&g, n, &v->run->s.regs.sregs))
		return HV_STATUS_INVALID_PARAMETER;
	commit_sregs(cpu, v, n);
	return HV_STATUS_SUCCESS;
}

/* ---- KVM state through ioctls ---- */

/*
 * The guest's XSAVE image (standard format, legacy area first). 4 KiB is
 * enough: KVM_SET_XSAVE reads more only for guests granted AMX state
 * (arch_prctl ARCH_REQ_XCOMP_GUEST_PERM), which kvsm does not request.
 */
static bool xsave_read(int fd, struct kvm_xsave *x)
{
	return ioctl(fd, KVM_GET_XSAVE, x) == 0;
}

static bool xsave_write(int fd, struct kvm_xsave *x, uint64_t components)
{
	uint8_t *b = (uint8_t *)x->region;

	/* A component marked in its init state would be loaded as init, not from the buffer. */
	st64(b + XSAVE_XSTATE_BV, ld64(b + XSAVE_XSTATE_BV) | components);
	return ioctl(fd, KVM_SET_XSAVE, x) == 0;
}

static uint32_t mxcsr_mask(const uint8_t *b)
{
	uint32_t m;

	memcpy(&m, b + FX_MXCSR_MASK, 4);
	return m ? m : 0xffbf;	/* SDM: a zero MXCSR_MASK means 0xFFBF */
}

static uint16_t fp_get(int fd, uint32_t name, uint64_t val[2])
{
	struct kvm_xsave x;
	const uint8_t *b = (const uint8_t *)x.region;

	if (!xsave_read(fd, &x))
		return HV_STATUS_INVALID_PARAMETER;
	if (name <= VTL_REG_XMM0 + 15) {
		memcpy(val, b + FX_XMM0 + 16 * (name - VTL_REG_XMM0), 16);
	} else if (name <= VTL_REG_FPMMX0 + 7) {
		const uint8_t *p = b + FX_ST0 + 16 * (name - VTL_REG_FPMMX0);

		val[0] = ld64(p);
		val[1] = (uint64_t)p[8] | (uint64_t)p[9] << 8;	/* 80 bits; 127:80 reserved */
	} else if (name == VTL_REG_FP_CONTROL_STATUS) {
		uint16_t fcw, fsw, fop;

		memcpy(&fcw, b + FX_FCW, 2);
		memcpy(&fsw, b + FX_FSW, 2);
		memcpy(&fop, b + FX_FOP, 2);
		val[0] = fcw | (uint64_t)fsw << 16 | (uint64_t)b[FX_FTW] << 32 | (uint64_t)fop << 48;
		val[1] = ld64(b + FX_FIP);
	} else {
		uint32_t mxcsr;

		memcpy(&mxcsr, b + FX_MXCSR, 4);
		val[0] = ld64(b + FX_FDP);
		val[1] = mxcsr | (uint64_t)mxcsr_mask(b) << 32;
	}
	return HV_STATUS_SUCCESS;
}

static uint16_t fp_set(int fd, uint32_t name, const uint64_t val[2])
{
	struct kvm_xsave x;
	uint8_t *b = (uint8_t *)x.region;
	uint64_t comp;

	if (!xsave_read(fd, &x))
		return HV_STATUS_INVALID_PARAMETER;
	if (name <= VTL_REG_XMM0 + 15) {
		memcpy(b + FX_XMM0 + 16 * (name - VTL_REG_XMM0), val, 16);
		comp = XFEATURE_SSE;
	} else if (name <= VTL_REG_FPMMX0 + 7) {
		uint8_t *p = b + FX_ST0 + 16 * (name - VTL_REG_FPMMX0);

		if (val[1] >> 16)
			return HV_STATUS_INVALID_PARAMETER;
		st64(p, val[0]);
		p[8] = (uint8_t)val[1];
		p[9] = (uint8_t)(val[1] >> 8);
		comp = XFEATURE_FP;
	} else if (name == VTL_REG_FP_CONTROL_STATUS) {
		uint16_t fcw = (uint16_t)val[0], fsw = (uint16_t)(val[0] >> 16), fop = (uint16_t)(val[0] >> 48);

		if ((val[0] >> 40) & 0xff)	/* reserved byte after FpTag */
			return HV_STATUS_INVALID_PARAMETER;
		memcpy(b + FX_FCW, &fcw, 2);
		memcpy(b + FX_FSW, &fsw, 2);
		b[FX_FTW] = (uint8_t)(val[0] >> 32);
		memcpy(b + FX_FOP, &fop, 2);
		st64(b + FX_FIP, val[1]);
		comp = XFEATURE_FP;
	} else {
		uint32_t mxcsr = (uint32_t)val[1];

		/* XmmStatusControlMask (bits 127:96) is read-only and ignored. */
		if (mxcsr & ~mxcsr_mask(b))
			return HV_STATUS_INVALID_PARAMETER;
		st64(b + FX_FDP, val[0]);
		memcpy(b + FX_MXCSR, &mxcsr, 4);
		comp = XFEATURE_FP | XFEATURE_SSE;
	}
	return xsave_write(fd, &x, comp) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

static bool xcr0_read(int fd, uint64_t *v)
{
	struct kvm_xcrs x;

	if (ioctl(fd, KVM_GET_XCRS, &x))
		return false;
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0) {
			*v = x.xcrs[i].value;
			return true;
		}
	return false;
}

/* __kvm_set_xcr() */
static bool xcr0_ok(const struct gcaps *g, uint64_t v)
{
	if (!(v & XFEATURE_FP) || ((v & XFEATURE_YMM) && !(v & XFEATURE_SSE)) || (v & ~g->xcr0_ok))
		return false;
	if (!(v & XFEATURE_BNDREGS) != !(v & XFEATURE_BNDCSR))
		return false;
	if ((v & XFEATURE_AVX512) && (!(v & XFEATURE_YMM) || (v & XFEATURE_AVX512) != XFEATURE_AVX512))
		return false;
	if ((v & XFEATURE_XTILE) && (v & XFEATURE_XTILE) != XFEATURE_XTILE)
		return false;
	return true;
}

/* ---- MSR-backed registers ---- */

enum { M_RO = 1, M_CANON = 2, M_LOW32 = 4, M_PAT = 8, M_MTRR_TYPES = 16, M_DEFTYPE = 32, M_VARBASE = 64,
       M_DEBUGCTL = 128 };

static const struct {
	uint32_t name, msr;
	uint8_t flags;
} msr_regs[] = {
	/* The guest TSC is the partition's reference clock (docs/hyperv.md): kvsm never moves it. */
	{ VTL_REG_TSC, 0x10, M_RO },
	{ VTL_REG_KERNEL_GS_BASE, 0xC0000102, M_CANON },
	{ VTL_REG_PAT, 0x277, M_PAT },
	{ VTL_REG_SYSENTER_CS, 0x174, M_LOW32 },
	{ VTL_REG_SYSENTER_EIP, 0x176, M_CANON },
	{ VTL_REG_SYSENTER_ESP, 0x175, M_CANON },
	{ VTL_REG_STAR, 0xC0000081, 0 },
	{ VTL_REG_LSTAR, 0xC0000082, M_CANON },
	{ VTL_REG_CSTAR, 0xC0000083, M_CANON },
	{ VTL_REG_SFMASK, 0xC0000084, M_LOW32 },
	{ VTL_REG_MTRR_CAP, 0xFE, M_RO },
	{ VTL_REG_MTRR_DEF_TYPE, 0x2FF, M_DEFTYPE },
	{ VTL_REG_MTRR_FIX64K_00000, 0x250, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX16K_80000, 0x258, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX16K_A0000, 0x259, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 0, 0x268, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 1, 0x269, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 2, 0x26A, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 3, 0x26B, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 4, 0x26C, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 5, 0x26D, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 6, 0x26E, M_MTRR_TYPES },
	{ VTL_REG_MTRR_FIX4K_C0000 + 7, 0x26F, M_MTRR_TYPES },
	{ VTL_REG_TSC_AUX, 0xC0000103, M_LOW32 },
	{ VTL_REG_DEBUG_CTL, 0x1D9, M_DEBUGCTL },
	{ VTL_REG_SPEC_CTRL, 0x48, 0 },
	{ VTL_REG_XSS, 0xDA0, 0 },
	{ VTL_REG_TSC_ADJUST, 0x3B, M_RO },
	{ VTL_REG_MISC_ENABLE, 0x1A0, 0 },
};

/* The MSR behind name, or false. */
static bool msr_of(uint32_t name, uint32_t *msr, uint8_t *flags)
{
	if (name >= VTL_REG_MTRR_PHYS_BASE0 && name <= VTL_REG_MTRR_PHYS_BASE0 + 15) {
		*msr = 0x200 + 2 * (name - VTL_REG_MTRR_PHYS_BASE0);
		*flags = M_VARBASE;
		return true;
	}
	if (name >= VTL_REG_MTRR_PHYS_MASK0 && name <= VTL_REG_MTRR_PHYS_MASK0 + 15) {
		*msr = 0x201 + 2 * (name - VTL_REG_MTRR_PHYS_MASK0);
		*flags = 0;
		return true;
	}
	for (unsigned int i = 0; i < sizeof(msr_regs) / sizeof(msr_regs[0]); i++)
		if (msr_regs[i].name == name) {
			*msr = msr_regs[i].msr;
			*flags = msr_regs[i].flags;
			return true;
		}
	return false;
}

/* UC WC WT WP WB (and UC- for the PAT). */
static bool mem_type_ok(unsigned int t, bool pat)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

static bool msr_value_ok(struct vcpu_vtl *v, uint8_t flags, uint64_t val)
{
	if (flags & M_RO)
		return false;
	if (flags & M_LOW32)
		return !(val >> 32);
	if (flags & M_DEBUGCTL)
		return !(val >> 16);
	if (flags & (M_PAT | M_MTRR_TYPES)) {
		for (unsigned int i = 0; i < 8; i++)
			if (!mem_type_ok((val >> (8 * i)) & 0xff, flags & M_PAT))
				return false;
		return true;
	}
	if (flags & M_DEFTYPE)	/* [7:0] type, 10 FE, 11 E */
		return !(val & ~0xcffull) && mem_type_ok(val & 0xff, false);
	if (flags & M_VARBASE)	/* reserved address bits: KVM checks them against MAXPHYADDR */
		return !(val & 0xf00) && mem_type_ok(val & 0xff, false);
	if (flags & M_CANON) {
		struct gcaps g;

		guest_caps(v->fd, &g);
		return canonical(val, g.vaddr_bits);
	}
	return true;
}

/* ---- general-purpose registers ---- */

static __u64 *gpr_of(struct kvm_regs *r, unsigned int i)
{
	switch (i) {
	case 0: return &r->rax;
	case 1: return &r->rcx;
	case 2: return &r->rdx;
	case 3: return &r->rbx;
	case 4: return &r->rsp;
	case 5: return &r->rbp;
	case 6: return &r->rsi;
	case 7: return &r->rdi;
	case 8: return &r->r8;
	case 9: return &r->r9;
	case 10: return &r->r10;
	case 11: return &r->r11;
	case 12: return &r->r12;
	case 13: return &r->r13;
	case 14: return &r->r14;
	case 15: return &r->r15;
	default: return &r->rip;
	}
}

static bool is_event_name(uint32_t name)
{
	return name == VTL_REG_PENDING_INTERRUPTION || name == VTL_REG_INTERRUPT_STATE ||
	       name == VTL_REG_PENDING_EVENT0;
}

bool vtl_regs_handles(uint32_t name)
{
	uint32_t msr;
	uint8_t flags;

	return is_event_name(name) || (name >= VTL_REG_RAX && name <= VTL_REG_RFLAGS) ||
	       (name >= VTL_REG_XMM0 && name <= VTL_REG_XMM_CONTROL_STATUS) ||
	       (name >= VTL_REG_CR0 && name <= VTL_REG_XFEM) || (name >= VTL_REG_DR0 && name <= VTL_REG_DR7) ||
	       (name >= VTL_REG_ES && name <= VTL_REG_TR) || name == VTL_REG_IDTR || name == VTL_REG_GDTR ||
	       name == VTL_REG_EFER || name == VTL_REG_APIC_BASE || name == VTL_REG_INITIAL_APIC_ID ||
	       msr_of(name, &msr, &flags);
}

static void event_state_load(const struct vcpu_vtl *v, struct vtl_event_state *st)
{
	const struct kvm_sync_regs *r = &v->run->s.regs;

	st->ev = r->events;
	st->rflags = r->regs.rflags;
	st->cr0 = r->sregs.cr0;
	st->cr2 = r->sregs.cr2;
}

/* ---- the API ---- */

uint16_t vtl_regs_get(struct vcpu *cpu, unsigned int vtl, uint32_t name, uint64_t val[2])
{
	struct vcpu_vtl *v = vtl_of(cpu, vtl);
	struct kvm_sync_regs *r;
	uint32_t msr;
	uint8_t flags;

	val[0] = val[1] = 0;
	if (!v)
		return HV_STATUS_INVALID_PARAMETER;
	r = &v->run->s.regs;
	if (is_event_name(name)) {
		struct vtl_event_state st;

		event_state_load(v, &st);
		return vtl_regs_events_get(&st, name, val);
	}
	if (name >= VTL_REG_RAX && name <= VTL_REG_RFLAGS) {
		val[0] = name == VTL_REG_RFLAGS ? r->regs.rflags : *gpr_of(&r->regs, name - VTL_REG_RAX);
		return HV_STATUS_SUCCESS;
	}
	if (name >= VTL_REG_XMM0 && name <= VTL_REG_XMM_CONTROL_STATUS)
		return fp_get(v->fd, name, val);
	if (name >= VTL_REG_ES && name <= VTL_REG_TR) {
		vtl_regs_seg_to_hv(seg_of(&r->sregs, name - VTL_REG_ES), val);
		return HV_STATUS_SUCCESS;
	}
	if (name >= VTL_REG_DR0 && name <= VTL_REG_DR7) {
		struct kvm_debugregs d;

		if (ioctl(v->fd, KVM_GET_DEBUGREGS, &d))
			return HV_STATUS_INVALID_PARAMETER;
		val[0] = name <= VTL_REG_DR0 + 3 ? d.db[name - VTL_REG_DR0] : name == VTL_REG_DR6 ? d.dr6 : d.dr7;
		return HV_STATUS_SUCCESS;
	}
	switch (name) {
	case VTL_REG_CR0: val[0] = r->sregs.cr0; return HV_STATUS_SUCCESS;
	case VTL_REG_CR2: val[0] = r->sregs.cr2; return HV_STATUS_SUCCESS;
	case VTL_REG_CR3: val[0] = r->sregs.cr3; return HV_STATUS_SUCCESS;
	case VTL_REG_CR4: val[0] = r->sregs.cr4; return HV_STATUS_SUCCESS;
	case VTL_REG_CR8:
		val[0] = user_lapic(cpu, v) ? lapic_get_cr8(user_lapic(cpu, v)) : r->sregs.cr8;
		return HV_STATUS_SUCCESS;
	case VTL_REG_EFER: val[0] = r->sregs.efer; return HV_STATUS_SUCCESS;
	case VTL_REG_APIC_BASE:
		if (user_lapic(cpu, v))
			return lapic_msr_read(user_lapic(cpu, v), LAPIC_MSR_APIC_BASE, &val[0]) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
		val[0] = r->sregs.apic_base;
		return HV_STATUS_SUCCESS;
	case VTL_REG_IDTR: vtl_regs_table_to_hv(&r->sregs.idt, val); return HV_STATUS_SUCCESS;
	case VTL_REG_GDTR: vtl_regs_table_to_hv(&r->sregs.gdt, val); return HV_STATUS_SUCCESS;
	case VTL_REG_INITIAL_APIC_ID: val[0] = cpu->index; return HV_STATUS_SUCCESS;
	case VTL_REG_XFEM: return xcr0_read(v->fd, &val[0]) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	}
	if (msr_of(name, &msr, &flags))
		return kvm_vcpu_get_msr(v->fd, msr, &val[0]) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	return HV_STATUS_INVALID_PARAMETER;
}

uint16_t vtl_regs_set(struct vcpu *cpu, unsigned int vtl, uint32_t name, const uint64_t val[2])
{
	struct vcpu_vtl *v = vtl_of(cpu, vtl);
	struct kvm_sync_regs *r;
	struct kvm_sregs n;
	uint64_t x = val[0];
	uint32_t msr;
	uint8_t flags;

	if (!v)
		return HV_STATUS_INVALID_PARAMETER;
	r = &v->run->s.regs;
	if (is_event_name(name) || name == VTL_REG_RFLAGS) {
		struct vtl_event_state st;
		uint16_t s;

		event_state_load(v, &st);
		s = vtl_regs_events_set(&st, name, val);
		if (s != HV_STATUS_SUCCESS)
			return s;
		if (memcmp(&st.ev, &r->events, sizeof(st.ev))) {
			r->events = st.ev;
			v->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
		}
		if (name == VTL_REG_RFLAGS) {
			r->regs.rflags = st.rflags;
			v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		}
		if (st.cr2 != r->sregs.cr2) {
			n = r->sregs;
			n.cr2 = st.cr2;
			commit_sregs(cpu, v, &n);
		}
		return HV_STATUS_SUCCESS;
	}
	if (name >= VTL_REG_RAX && name < VTL_REG_RFLAGS) {
		*gpr_of(&r->regs, name - VTL_REG_RAX) = x;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return HV_STATUS_SUCCESS;
	}
	if (name >= VTL_REG_XMM0 && name <= VTL_REG_XMM_CONTROL_STATUS)
	{
		v->shared_known = false;	/* vtl.c's copy of the FPU state is stale now */
		return fp_set(v->fd, name, val);
	}
	n = r->sregs;
	if (name >= VTL_REG_ES && name <= VTL_REG_TR) {
		if (!vtl_regs_seg_from_hv(val, seg_of(&n, name - VTL_REG_ES)))
			return HV_STATUS_INVALID_PARAMETER;
		return update_sregs(cpu, v, &n, (int)(name - VTL_REG_ES));
	}
	if (name >= VTL_REG_DR0 && name <= VTL_REG_DR7) {
		struct kvm_debugregs d;

		if (name >= VTL_REG_DR6 && (x >> 32))
			return HV_STATUS_INVALID_PARAMETER;
		if (ioctl(v->fd, KVM_GET_DEBUGREGS, &d))
			return HV_STATUS_INVALID_PARAMETER;
		if (name <= VTL_REG_DR0 + 3)
			d.db[name - VTL_REG_DR0] = x;
		else if (name == VTL_REG_DR6)
			d.dr6 = x;
		else
			d.dr7 = x;
		d.flags = 0;
		v->shared_known = false;	/* vtl.c's copy of DR0-3 is stale now */
		return ioctl(v->fd, KVM_SET_DEBUGREGS, &d) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	}
	switch (name) {
	case VTL_REG_CR0:
		/* As MOV to CR0 does: LMA = LME && PG (KVM accepts no other pair). */
		n.cr0 = x;
		n.efer = (n.efer & ~EFER_LMA) | ((n.efer & EFER_LME) && (x & CR0_PG) ? EFER_LMA : 0);
		return update_sregs(cpu, v, &n, -1);
	case VTL_REG_CR2: n.cr2 = x; commit_sregs(cpu, v, &n); return HV_STATUS_SUCCESS;
	case VTL_REG_CR3: n.cr3 = x; return update_sregs(cpu, v, &n, -1);
	case VTL_REG_CR4: n.cr4 = x; return update_sregs(cpu, v, &n, -1);
	case VTL_REG_CR8:
		if (user_lapic(cpu, v)) {
			if (x > 15)
				return HV_STATUS_INVALID_PARAMETER;
			/* MOV to CR8: TPR[7:4] = CR8, TPR[3:0] = 0 */
			lapic_set_tpr(user_lapic(cpu, v), (uint8_t)(x << 4));
			r->sregs.cr8 = x;	/* keep the synced copy in step (applied only with other sregs) */
			v->run->cr8 = x;
			return HV_STATUS_SUCCESS;
		}
		n.cr8 = x;
		return update_sregs(cpu, v, &n, -1);
	case VTL_REG_EFER: n.efer = x; return update_sregs(cpu, v, &n, -1);
	case VTL_REG_APIC_BASE:
		if (user_lapic(cpu, v)) {
			struct lapic *a = user_lapic(cpu, v);
			uint64_t old;
			struct gcaps g;

			guest_caps(v->fd, &g);
			if (!lapic_msr_read(a, LAPIC_MSR_APIC_BASE, &old) || !apic_base_ok(&g, x, old))
				return HV_STATUS_INVALID_PARAMETER;
			return lapic_msr_write(a, LAPIC_MSR_APIC_BASE, x) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
		}
		n.apic_base = x;
		return update_sregs(cpu, v, &n, -1);
	case VTL_REG_IDTR: vtl_regs_table_from_hv(val, &n.idt); return update_sregs(cpu, v, &n, -1);
	case VTL_REG_GDTR: vtl_regs_table_from_hv(val, &n.gdt); return update_sregs(cpu, v, &n, -1);
	case VTL_REG_INITIAL_APIC_ID: return HV_STATUS_INVALID_PARAMETER;	/* read-only */
	case VTL_REG_XFEM: {
		struct kvm_xcrs xc = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = x } };
		struct gcaps g;

		guest_caps(v->fd, &g);
		if (!xcr0_ok(&g, x))
			return HV_STATUS_INVALID_PARAMETER;
		v->shared_known = false;	/* vtl.c's copy of XCR0 is stale now */
		return ioctl(v->fd, KVM_SET_XCRS, &xc) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	}
	}
	if (msr_of(name, &msr, &flags)) {
		uint64_t cur;

		if (!msr_value_ok(v, flags, x))
			return HV_STATUS_INVALID_PARAMETER;
		if (kvm_vcpu_set_msr(v->fd, msr, x))
			return HV_STATUS_SUCCESS;
		/* Writing back the value it has is fine even where KVM refuses writes (e.g. XSS=0 without XSAVES). */
		return kvm_vcpu_get_msr(v->fd, msr, &cur) && cur == x ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
	}
	return HV_STATUS_INVALID_PARAMETER;
}
