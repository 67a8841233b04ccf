/*
 * vtl_regs: the pure conversions (segments, table registers, the event
 * registers), then vtl_regs_get/set on real KVM vCPUs: VTL0 in a VM with the
 * in-kernel irqchip, VTL1 in one without (as kvsm creates them). Every set is
 * followed by a KVM_RUN with immediate_exit, which makes KVM apply the synced
 * registers (and fail with EINVAL if it refuses them) and store them back, so
 * the value is read again from KVM itself.
 */
#include "test.h"
#include "vcpu.h"
#include "vtl_regs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define INVALID 5

/* ------------------------------------------------------------------ */
/* Pure conversions                                                    */
/* ------------------------------------------------------------------ */

static void seg_rt(const struct kvm_segment *s, uint64_t base, uint32_t limit, uint16_t sel, uint16_t attr)
{
	uint64_t v[2];
	struct kvm_segment back;

	vtl_regs_seg_to_hv(s, v);
	EXPECT_EQ(v[0], base);
	EXPECT_EQ(v[1], limit | (uint64_t)sel << 32 | (uint64_t)attr << 48);
	EXPECT(vtl_regs_seg_from_hv(v, &back));
	EXPECT_EQ(back.base, s->base);
	EXPECT_EQ(back.limit, s->limit);
	EXPECT_EQ(back.selector, s->selector);
	EXPECT_EQ(back.type, s->type);
	EXPECT_EQ(back.s, s->s);
	EXPECT_EQ(back.dpl, s->dpl);
	EXPECT_EQ(back.avl, s->avl);
	EXPECT_EQ(back.l, s->l);
	EXPECT_EQ(back.db, s->db);
	EXPECT_EQ(back.g, s->g);
	EXPECT_EQ(back.present, s->present && !s->unusable);
	EXPECT_EQ(back.unusable, !s->present || s->unusable);
	EXPECT_EQ(back.padding, 0);
}

static void seg_code(void)
{
	/* 64-bit kernel code: type 0xB (execute/read, accessed), S, P, L, G */
	struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb, .s = 1,
				  .present = 1, .l = 1, .g = 1 };
	/* 32-bit user code, AVL set */
	struct kvm_segment cs32 = { .base = 0x1000, .limit = 0xfffff, .selector = 0x23, .type = 0xb, .s = 1,
				    .dpl = 3, .present = 1, .db = 1, .avl = 1 };

	seg_rt(&cs, 0, 0xffffffff, 0x10, 0xa09b);
	seg_rt(&cs32, 0x1000, 0xfffff, 0x23, 0x50fb);
}

static void seg_data(void)
{
	struct kvm_segment ds = { .base = 0, .limit = 0xffffffff, .selector = 0x2b, .type = 3, .s = 1, .dpl = 3,
				  .present = 1, .db = 1, .g = 1 };
	struct kvm_segment fs = { .base = 0xffff888000001000ull, .limit = 0xffff, .selector = 0, .type = 3,
				  .s = 1, .present = 1 };

	seg_rt(&ds, 0, 0xffffffff, 0x2b, 0xc0f3);
	seg_rt(&fs, 0xffff888000001000ull, 0xffff, 0, 0x0093);
}

static void seg_tss_ldt(void)
{
	struct kvm_segment tr = { .base = 0xfffffe0000003000ull, .limit = 0x67, .selector = 0x40, .type = 0xb,
				  .present = 1 };
	struct kvm_segment ldt = { .base = 0x2000, .limit = 0xfff, .selector = 0x50, .type = 2, .present = 1 };

	seg_rt(&tr, 0xfffffe0000003000ull, 0x67, 0x40, 0x008b);
	seg_rt(&ldt, 0x2000, 0xfff, 0x50, 0x0082);
}

static void seg_null_unusable(void)
{
	/* VMX reports an unusable segment with all attributes clear... */
	struct kvm_segment null = { .unusable = 1 };
	/* ...SVM keeps them (here a null SS that kept D/B and type) with P = 0. */
	struct kvm_segment svm = { .selector = 0, .type = 3, .s = 1, .db = 1, .present = 0, .unusable = 1 };
	/* present = 1 with unusable = 1 is unusable all the same. */
	struct kvm_segment odd = { .type = 3, .s = 1, .present = 1, .unusable = 1 };
	struct kvm_segment s;
	uint64_t v[2] = { 0, 0 };

	seg_rt(&null, 0, 0, 0, 0);
	seg_rt(&svm, 0, 0, 0, 0x4013);
	seg_rt(&odd, 0, 0, 0, 0x0013);
	/* Attributes 0 from Hyper-V: a null, unusable segment. */
	EXPECT(vtl_regs_seg_from_hv(v, &s));
	EXPECT_EQ(s.present, 0);
	EXPECT_EQ(s.unusable, 1);
	/* P = 1: usable. */
	v[1] = 0x93ull << 48;
	EXPECT(vtl_regs_seg_from_hv(v, &s));
	EXPECT_EQ(s.present, 1);
	EXPECT_EQ(s.unusable, 0);
}

static void seg_reserved_bits(void)
{
	struct kvm_segment s = { .selector = 0x1234 };

	for (unsigned int bit = 8; bit < 12; bit++) {
		uint64_t v[2] = { 0, (0x93ull | 1ull << bit) << 48 };

		EXPECT(!vtl_regs_seg_from_hv(v, &s));
		EXPECT_EQ(s.selector, 0x1234);	/* unchanged */
	}
}

static void table_regs(void)
{
	struct kvm_dtable t = { .base = 0xfffffe0000000000ull, .limit = 0xfff };
	uint64_t v[2];

	vtl_regs_table_to_hv(&t, v);
	EXPECT_EQ(v[0], 0x0fff000000000000ull);	/* Pad[3] = 0, Limit at +6 */
	EXPECT_EQ(v[1], 0xfffffe0000000000ull);
	v[0] |= 0xabcdef123456ull;		/* Pad is ignored */
	v[1] = 0x1000;
	vtl_regs_table_from_hv(v, &t);
	EXPECT_EQ(t.limit, 0xfff);
	EXPECT_EQ(t.base, 0x1000);
	EXPECT_EQ(t.padding[0] | t.padding[1] | t.padding[2], 0);
}

/* Event registers on a synthetic state. */
static struct vtl_event_state est(uint64_t rflags, uint64_t cr0)
{
	struct vtl_event_state st = { .rflags = rflags, .cr0 = cr0, .cr2 = 0x5555 };

	st.ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	return st;
}

static uint16_t eset(struct vtl_event_state *st, uint32_t name, uint64_t lo, uint64_t hi)
{
	uint64_t v[2] = { lo, hi };

	return vtl_regs_events_set(st, name, v);
}

static uint64_t eget(const struct vtl_event_state *st, uint32_t name, uint64_t *hi)
{
	uint64_t v[2] = { 1, 1 };

	EXPECT_EQ(vtl_regs_events_get(st, name, v), 0);
	if (hi)
		*hi = v[1];
	else
		EXPECT_EQ(v[1], 0);
	return v[0];
}

#define PROT 0x80000011ull	/* CR0 PE|ET|PG */
#define PI_EXC(vec, ec) (1ull | 3ull << 1 | 1ull << 4 | (uint64_t)(vec) << 16 | (uint64_t)(ec) << 32)

static void pending_interruption_get(void)
{
	struct vtl_event_state st = est(0x202, PROT);

	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0);
	st.ev.exception.injected = 1;
	st.ev.exception.nr = 13;
	st.ev.exception.has_error_code = 1;
	st.ev.exception.error_code = 0x18;
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), PI_EXC(13, 0x18));
	st.ev.exception.nr = 3;		/* #BP: software exception (type 6) */
	st.ev.exception.has_error_code = 0;
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x3000dull);
	st.ev.exception.injected = 0;
	st.ev.nmi.injected = 1;
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x20005ull);
	st.ev.nmi.injected = 0;
	st.ev.interrupt.injected = 1;
	st.ev.interrupt.nr = 0x30;
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x300001ull);
	st.ev.interrupt.soft = 1;	/* INT n: software interrupt (type 4) */
	st.ev.interrupt.nr = 0x80;
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x800009ull);
	/* A PendingEvent0 exception is not the interruption. */
	st = est(0x202, PROT);
	st.ev.exception.injected = 1;
	st.ev.exception.pending = 1;
	st.ev.exception.nr = 6;
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0);
}

static void pending_interruption_set(void)
{
	struct vtl_event_state st = est(0x202, PROT);

	/* external interrupt */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x410001, 0), 0);
	EXPECT_EQ(st.ev.interrupt.injected, 1);
	EXPECT_EQ(st.ev.interrupt.nr, 0x41);
	EXPECT_EQ(st.ev.interrupt.soft, 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x410001);
	/* replaced by an exception: one event at a time */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, PI_EXC(14, 2), 0), 0);
	EXPECT_EQ(st.ev.interrupt.injected, 0);
	EXPECT_EQ(st.ev.exception.injected, 1);
	EXPECT_EQ(st.ev.exception.pending, 0);
	EXPECT_EQ(st.ev.exception.nr, 14);
	EXPECT_EQ(st.ev.exception.has_error_code, 1);
	EXPECT_EQ(st.ev.exception.error_code, 2);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), PI_EXC(14, 2));
	/* NMI, vector 2 (0 accepted too) */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x20005, 0), 0);
	EXPECT_EQ(st.ev.nmi.injected, 1);
	EXPECT_EQ(st.ev.exception.injected, 0);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x5, 0), 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x20005);
	/* software interrupt, software exception #OF */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x800009, 0), 0);
	EXPECT_EQ(st.ev.nmi.injected, 0);
	EXPECT_EQ(st.ev.interrupt.soft, 1);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x4000d, 0), 0);
	EXPECT_EQ(st.ev.exception.nr, 4);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x4000d);
	/* InstructionLength is ignored */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x4000d | 2u << 5, 0), 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x4000d);
	/* #UD, no error code; #GP with one in real mode is fine (KVM drops it) */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x60007, 0), 0);
	st.cr0 = 0x10;
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0xd0007, 0), 0);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, PI_EXC(13, 0), 0), 0);
	st.cr0 = PROT;
	/* cancel */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0, 0), 0);
	EXPECT_EQ(st.ev.exception.injected | st.ev.nmi.injected | st.ev.interrupt.injected, 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0);
}

static void pending_interruption_invalid(void)
{
	static const uint64_t bad[] = {
		0x410001 | 1ull << 10,		/* reserved 15:10 */
		0x410001 | 1ull << 15,
		0x410001 | 1ull << 9,		/* NestedEvent */
		0x1000003,			/* external interrupt vector 256 */
		0x410011,			/* interrupt with DeliverErrorCode */
		0x410001 | 1ull << 32,		/* interrupt with an error code */
		0x20003,			/* type 1 */
		0x1000b,			/* type 5 (ICEBP) */
		0x2000f,			/* type 7 */
		0x30005,			/* NMI with vector 3 */
		0x200007,			/* exception vector 32 */
		0x20007,			/* exception vector 2 */
		0x60017,			/* #UD with an error code */
		0xd0007,			/* #GP without one (protected mode) */
		0x60007 | 1ull << 32,		/* error code without DeliverErrorCode */
		0x5000d,			/* software exception other than #BP/#OF */
		0x30007,			/* #BP as a hardware exception */
	};
	struct vtl_event_state st = est(0x202, PROT), before;

	st.ev.interrupt.injected = 1;
	st.ev.interrupt.nr = 0x99;
	before = st;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, bad[i], 0), INVALID);
		EXPECT(!memcmp(&st, &before, sizeof(st)));
	}
	/* VM-entry rules: external interrupt needs IF = 1 and no shadow; NMI no shadow */
	st = est(0x2, PROT);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x410001, 0), INVALID);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x800009, 0), 0);	/* INT n: fine */
	st = est(0x202, PROT);
	st.ev.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x410001, 0), INVALID);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x20005, 0), INVALID);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, PI_EXC(13, 0), 0), 0);
	/* A PendingEvent0 exception holds KVM's one exception slot. */
	st = est(0x202, PROT);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0x60001, 0), 0);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, PI_EXC(13, 0), 0), INVALID);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0x410001, 0), INVALID);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_INTERRUPTION, 0, 0), 0);		/* nothing to cancel */
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_EVENT0, &(uint64_t){ 0 }), 0x60001);
}

static void interrupt_state(void)
{
	struct vtl_event_state st = est(0x202, PROT);

	EXPECT_EQ(eget(&st, HV_REGISTER_INTERRUPT_STATE, NULL), 0);
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 1, 0), 0);
	EXPECT_EQ(st.ev.interrupt.shadow, KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI);
	EXPECT_EQ(eget(&st, HV_REGISTER_INTERRUPT_STATE, NULL), 1);
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 2, 0), 0);
	EXPECT_EQ(st.ev.interrupt.shadow, 0);
	EXPECT_EQ(st.ev.nmi.masked, 1);
	EXPECT_EQ(eget(&st, HV_REGISTER_INTERRUPT_STATE, NULL), 2);
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 3, 0), 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_INTERRUPT_STATE, NULL), 3);
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 0, 0), 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_INTERRUPT_STATE, NULL), 0);
	/* KVM's own shadow kind is kept */
	st.ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 1, 0), 0);
	EXPECT_EQ(st.ev.interrupt.shadow, KVM_X86_SHADOW_INT_STI);
	/* reserved bits; shadow with an injected interrupt */
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 4, 0), INVALID);
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 1ull << 63, 0), INVALID);
	st = est(0x202, PROT);
	st.ev.interrupt.injected = 1;
	st.ev.interrupt.nr = 0x40;
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 1, 0), INVALID);
	EXPECT_EQ(eset(&st, HV_REGISTER_INTERRUPT_STATE, 2, 0), 0);
}

static void pending_event0(void)
{
	struct vtl_event_state st = est(0x202, PROT);
	uint64_t hi;

	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_EVENT0, &hi), 0);
	EXPECT_EQ(hi, 0);
	/* #PF, error code 2, CR2 in ExceptionParameter */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0x2000e0101ull, 0xffff800012345000ull), 0);
	EXPECT_EQ(st.ev.exception.injected, 1);	/* what KVM delivers without the payload capability */
	EXPECT_EQ(st.ev.exception.pending, 1);	/* the PendingEvent0 marker */
	EXPECT_EQ(st.ev.exception.nr, 14);
	EXPECT_EQ(st.ev.exception.has_error_code, 1);
	EXPECT_EQ(st.ev.exception.error_code, 2);
	EXPECT_EQ(st.cr2, 0xffff800012345000ull);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_EVENT0, &hi), 0x2000e0101ull);
	EXPECT_EQ(hi, 0xffff800012345000ull);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0);
	/* replaced by #UD */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0x60001, 0), 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_EVENT0, &hi), 0x60001);
	EXPECT_EQ(hi, 0);
	EXPECT_EQ(st.cr2, 0xffff800012345000ull);
	/* cleared */
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0, 0), 0);
	EXPECT_EQ(st.ev.exception.injected | st.ev.exception.pending, 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_EVENT0, &hi), 0);
	/* with KVM_CAP_EXCEPTION_PAYLOAD: a KVM-pending exception with the #PF payload */
	st.ev.flags |= KVM_VCPUEVENT_VALID_PAYLOAD;
	st.cr2 = 0;
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0xe0101, 0x7000), 0);
	EXPECT_EQ(st.ev.exception.injected, 0);
	EXPECT_EQ(st.ev.exception.pending, 1);
	EXPECT_EQ(st.ev.exception_has_payload, 1);
	EXPECT_EQ(st.ev.exception_payload, 0x7000);
	EXPECT_EQ(st.cr2, 0);
	EXPECT_EQ(eget(&st, HV_REGISTER_PENDING_EVENT0, &hi), 0xe0101);
	EXPECT_EQ(hi, 0x7000);
}

static void pending_event0_invalid(void)
{
	static const uint64_t bad[][2] = {
		{ 0x60001 | 1ull << 4, 0 },	/* reserved 7:4 */
		{ 0x60001 | 1ull << 9, 0 },	/* reserved 15:9 */
		{ 0x60001 | 1ull << 15, 0 },
		{ 0x60003, 0 },			/* EventType 1 (memory intercept) */
		{ 0x6000b, 0 },			/* EventType 5 (ExtInt) */
		{ 0x200001, 0 },		/* vector 32 */
		{ 0x20001, 0 },			/* vector 2 */
		{ 0x60101, 0 },			/* #UD with DeliverErrorCode */
		{ 0xd0001, 0 },			/* #GP without it */
		{ 0x60001, 0x1000 },		/* ExceptionParameter for a vector other than #PF */
		{ 0x60001 | 1ull << 32, 0 },	/* error code without DeliverErrorCode */
		{ 0x30001, 0 },			/* #BP: a software exception (PendingInterruption) */
		{ 0x40001, 0 },			/* #OF */
	};
	struct vtl_event_state st = est(0x202, PROT), before = st;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, bad[i][0], bad[i][1]), INVALID);
		EXPECT(!memcmp(&st, &before, sizeof(st)));
	}
	/* the one exception slot holds an injected exception, or another event is in flight */
	st.ev.exception.injected = 1;
	st.ev.exception.nr = 6;
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0xd0101, 0), INVALID);
	st = est(0x202, PROT);
	st.ev.nmi.injected = 1;
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0xd0101, 0), INVALID);
	EXPECT_EQ(st.cr2, 0x5555);
	EXPECT_EQ(eset(&st, HV_REGISTER_PENDING_EVENT0, 0xe0101, 0x1234), INVALID);
	EXPECT_EQ(st.cr2, 0x5555);	/* not changed by a refused #PF */
}

static void rflags_rules(void)
{
	struct vtl_event_state st = est(0x202, PROT);

	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x246, 0), 0);
	EXPECT_EQ(st.rflags, 0x246);
	EXPECT_EQ(eget(&st, HV_X64_REGISTER_RFLAGS, NULL), 0x246);
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x244, 0), INVALID);		/* bit 1 clear */
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x24e, 0), INVALID);		/* bit 3 */
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x266, 0), INVALID);		/* bit 5 */
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x8246, 0), INVALID);	/* bit 15 */
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x400246, 0), INVALID);	/* bit 22 */
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x3f7fd7, 0), 0);		/* every defined flag */
	EXPECT_EQ(st.rflags, 0x3f7fd7);
	/* IF = 0 drops an STI-only shadow; refused with an injected external interrupt */
	st = est(0x202, PROT);
	st.ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x2, 0), 0);
	EXPECT_EQ(st.ev.interrupt.shadow, 0);
	st = est(0x202, PROT);
	st.ev.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x2, 0), 0);
	EXPECT_EQ(st.ev.interrupt.shadow, KVM_X86_SHADOW_INT_MOV_SS);
	st = est(0x202, PROT);
	st.ev.interrupt.injected = 1;
	st.ev.interrupt.nr = 0x33;
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x2, 0), INVALID);
	EXPECT_EQ(st.rflags, 0x202);
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RFLAGS, 0x206, 0), 0);
	/* names the event code does not handle */
	EXPECT_EQ(eset(&st, 0x10005, 1, 0), INVALID);
	EXPECT_EQ(eset(&st, HV_X64_REGISTER_RAX, 1, 0), INVALID);
}

static void handles(void)
{
	static const uint32_t yes[] = { 0x10002, 0x10003, 0x10004, 0x20000, 0x2000f, 0x20010, 0x20011, 0x30000,
					0x3000f, 0x30010, 0x30017, 0x30018, 0x30019, 0x40000, 0x40005, 0x50000,
					0x50005, 0x60000, 0x60007, 0x70000, 0x70001, 0x80000, 0x8000c, 0x8000d,
					0x8000e, 0x80010, 0x8001f, 0x80040, 0x8004f, 0x80070, 0x8007a, 0x8007b,
					0x8007d, 0x80084, 0x8008b, 0x80096, 0x800a0 };
	static const uint32_t no[] = { 0, 0x10005, 0x20012, 0x3001a, 0x40006, 0x50006, 0x60008, 0x70002,
				       0x8000f, 0x80020, 0x8003f, 0x80050, 0x8007c, 0x80080, 0x90000,
				       0xd0006 };

	for (unsigned int i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		EXPECT(vtl_regs_handles(yes[i]));
	for (unsigned int i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		EXPECT(!vtl_regs_handles(no[i]));
}

/* ------------------------------------------------------------------ */
/* On real vCPUs                                                       */
/* ------------------------------------------------------------------ */

static int kvm_fd = -1;
static int vm_fd[2] = { -1, -1 };
static struct vcpu tcpu;
static struct kvm_cpuid2 *cpuid;

static const struct kvm_cpuid_entry2 *find_leaf(uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; cpuid && i < cpuid->nent; i++)
		if (cpuid->entries[i].function == fn && cpuid->entries[i].index == idx)
			return &cpuid->entries[i];
	return NULL;
}

/* An AMD (or Hygon) host: KVM runs on SVM there, and the CPU saves less x87 state. */
static bool host_is_amd(void)
{
	const struct kvm_cpuid_entry2 *e = find_leaf(0, 0);

	return e && (e->ebx == 0x68747541 /* "Auth"enticAMD */ || e->ebx == 0x6f677948 /* "Hygo"nGenuine */);
}

static bool guest_has(uint32_t fn, uint32_t idx, int reg, unsigned int bit)
{
	const struct kvm_cpuid_entry2 *e = find_leaf(fn, idx);
	uint32_t r[4];

	if (!e)
		return false;
	r[0] = e->eax, r[1] = e->ebx, r[2] = e->ecx, r[3] = e->edx;
	return (r[reg] >> bit) & 1;
}
enum { EAX, EBX, ECX, EDX };

static uint64_t t_now_ns(void *ctx)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static const struct lapic_ops t_apic_ops = { .now_ns = t_now_ns };

/*
 * Create VTL0 (in-kernel irqchip) and VTL1 (no irqchip, kvsm's user-space
 * LAPIC) vCPUs as kvsm does; false if that fails.
 */
static bool kvm_setup(void)
{
	int mmap_size;

	mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (unsigned int n = 64; n <= 1024 && !cpuid; n *= 2) {
		cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
		cpuid->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid)) {
			free(cpuid);
			cpuid = NULL;
		}
	}
	if (!cpuid || mmap_size <= 0)
		return false;
	tcpu.index = 5;
	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		struct vcpu_vtl *v = &tcpu.v[vtl];
		struct kvm_run *run;

		vm_fd[vtl] = ioctl(kvm_fd, KVM_CREATE_VM, 0);
		if (vm_fd[vtl] < 0)
			return false;
		if (vtl == 0 && ioctl(vm_fd[0], KVM_CREATE_IRQCHIP, 0))
			return false;
		v->fd = ioctl(vm_fd[vtl], KVM_CREATE_VCPU, 0);
		if (v->fd < 0 || ioctl(v->fd, KVM_SET_CPUID2, cpuid))
			return false;
		run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (run == MAP_FAILED)
			return false;
		v->run = run;
		v->cpu = &tcpu;
		v->vtl = vtl;
		if (vtl > 0)
			lapic_init(&v->apic, tcpu.index, true, &t_apic_ops, v);
		/* vcpu.c's sync_regs_init() */
		run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
		if (ioctl(v->fd, KVM_GET_REGS, &run->s.regs.regs) || ioctl(v->fd, KVM_GET_SREGS, &run->s.regs.sregs) ||
		    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &run->s.regs.events))
			return false;
	}
	tcpu.fd = tcpu.v[0].fd;
	tcpu.run = tcpu.v[0].run;
	return true;
}

/* KVM_RUN that returns at once: KVM applies the dirty synced registers and stores them back. */
static bool kvm_sync(unsigned int vtl)
{
	struct kvm_run *run = tcpu.v[vtl].run;
	int r;

	run->immediate_exit = 1;
	r = ioctl(tcpu.v[vtl].fd, KVM_RUN, 0);
	run->immediate_exit = 0;
	if (r != -1 || errno != EINTR) {
		printf("  KVM_RUN (VTL%u): %d, %s\n", vtl, r, strerror(errno));
		return false;
	}
	return run->kvm_dirty_regs == 0;
}

static uint16_t kset(unsigned int vtl, uint32_t name, uint64_t lo, uint64_t hi)
{
	uint64_t v[2] = { lo, hi };

	return vtl_regs_set(&tcpu, vtl, name, v);
}

static uint64_t kget(unsigned int vtl, uint32_t name, uint64_t *hi)
{
	uint64_t v[2] = { 0, 0 };
	uint16_t s = vtl_regs_get(&tcpu, vtl, name, v);

	if (s) {
		printf("  get 0x%x (VTL%u) -> %u\n", name, vtl, s);
		t_failed = 1;
	}
	if (hi)
		*hi = v[1];
	return v[0];
}

/* set, get, KVM_RUN, get: the value must survive KVM. */
static void rt(unsigned int vtl, uint32_t name, uint64_t lo, uint64_t hi, int line)
{
	uint64_t g[2] = { 0, 0 };
	uint16_t s = kset(vtl, name, lo, hi);

	if (s) {
		printf("  line %d: set 0x%x (VTL%u) = 0x%llx:0x%llx -> %u\n", line, name, vtl, (unsigned long long)hi,
		       (unsigned long long)lo, s);
		t_failed = 1;
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (pass && !kvm_sync(vtl)) {
			printf("  line %d: KVM refused 0x%x (VTL%u)\n", line, name, vtl);
			t_failed = 1;
			return;
		}
		vtl_regs_get(&tcpu, vtl, name, g);
		if (g[0] != lo || g[1] != hi) {
			printf("  line %d: 0x%x (VTL%u) %s reads 0x%llx:0x%llx, set 0x%llx:0x%llx\n", line, name, vtl,
			       pass ? "after KVM_RUN" : "", (unsigned long long)g[1], (unsigned long long)g[0],
			       (unsigned long long)hi, (unsigned long long)lo);
			t_failed = 1;
		}
	}
}

/* A refused set changes nothing, and leaves nothing for KVM to refuse. */
static void bad(unsigned int vtl, uint32_t name, uint64_t lo, uint64_t hi, int line)
{
	uint64_t before[2] = { 0, 0 }, after[2] = { 0, 0 };
	bool readable = vtl_regs_get(&tcpu, vtl, name, before) == 0;
	uint16_t s = kset(vtl, name, lo, hi);

	if (s != INVALID) {
		printf("  line %d: set 0x%x (VTL%u) = 0x%llx:0x%llx -> %u, expected INVALID_PARAMETER\n", line, name,
		       vtl, (unsigned long long)hi, (unsigned long long)lo, s);
		t_failed = 1;
	}
	if (readable) {
		vtl_regs_get(&tcpu, vtl, name, after);
		if (memcmp(before, after, sizeof(before))) {
			printf("  line %d: refused set changed 0x%x\n", line, name);
			t_failed = 1;
		}
	}
	if (!kvm_sync(vtl)) {
		printf("  line %d: KVM_RUN failed after refused 0x%x\n", line, name);
		t_failed = 1;
	}
}

#define RT(vtl, name, lo, hi) rt(vtl, name, lo, hi, __LINE__)
#define BAD(vtl, name, lo, hi) bad(vtl, name, lo, hi, __LINE__)

static void kvm_gprs(void)
{
	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		struct kvm_regs *r = &tcpu.v[vtl].run->s.regs.regs;

		for (uint32_t i = 0; i < 16; i++)
			RT(vtl, HV_X64_REGISTER_RAX + i, 0x0101010101010101ull * (i + 1) + vtl, 0);
		RT(vtl, HV_X64_REGISTER_RIP, 0xfff0 + vtl, 0);
		/* TLFS order RAX RCX RDX RBX RSP RBP RSI RDI vs kvm_regs RAX RBX RCX RDX RSI RDI RSP RBP */
		EXPECT_EQ(r->rax, 0x0101010101010101ull + vtl);
		EXPECT_EQ(r->rcx, 0x0202020202020202ull + vtl);
		EXPECT_EQ(r->rdx, 0x0303030303030303ull + vtl);
		EXPECT_EQ(r->rbx, 0x0404040404040404ull + vtl);
		EXPECT_EQ(r->rsp, 0x0505050505050505ull + vtl);
		EXPECT_EQ(r->rbp, 0x0606060606060606ull + vtl);
		EXPECT_EQ(r->rsi, 0x0707070707070707ull + vtl);
		EXPECT_EQ(r->rdi, 0x0808080808080808ull + vtl);
		EXPECT_EQ(r->r8, 0x0909090909090909ull + vtl);
		EXPECT_EQ(r->r15, 0x1010101010101010ull + vtl);
		EXPECT_EQ(r->rip, 0xfff0 + vtl);
		RT(vtl, HV_X64_REGISTER_RFLAGS, 0x46, 0);
		RT(vtl, HV_X64_REGISTER_RFLAGS, 0x202, 0);
		BAD(vtl, HV_X64_REGISTER_RFLAGS, 0x200, 0);
		BAD(vtl, HV_X64_REGISTER_RFLAGS, 0x202 | 1ull << 40, 0);
	}
	/* the upper half of a 64-bit register's value is ignored */
	EXPECT_EQ(kset(0, HV_X64_REGISTER_RAX, 7, 0xffff), 0);
	EXPECT_EQ(kget(0, HV_X64_REGISTER_RAX, &(uint64_t){ 0 }), 7);
}

static void kvm_fp(void)
{
	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		struct kvm_xsave x;
		const struct kvm_cpuid_entry2 *ymm = find_leaf(0xd, 2);
		uint8_t *b = (uint8_t *)x.region;
		uint64_t hi;

		/* AVX upper halves survive an XMM write */
		if (ymm && ymm->eax >= 16 && ymm->ebx + 16 <= sizeof(x)) {
			EXPECT_EQ(ioctl(tcpu.v[vtl].fd, KVM_GET_XSAVE, &x), 0);
			memset(b + ymm->ebx, 0xa5, 16);
			b[512] |= 4;	/* XSTATE_BV.YMM */
			EXPECT_EQ(ioctl(tcpu.v[vtl].fd, KVM_SET_XSAVE, &x), 0);
		}
		for (uint32_t i = 0; i < 16; i++)
			RT(vtl, HV_X64_REGISTER_XMM0 + i, 0x1122334455667788ull + i, 0x99aabbccddeeff00ull + vtl);
		if (ymm && ymm->eax >= 16 && ymm->ebx + 16 <= sizeof(x)) {
			EXPECT_EQ(ioctl(tcpu.v[vtl].fd, KVM_GET_XSAVE, &x), 0);
			for (unsigned int i = 0; i < 16; i++)
				EXPECT_EQ(b[ymm->ebx + i], 0xa5);
		}
		for (uint32_t i = 0; i < 8; i++)
			RT(vtl, HV_X64_REGISTER_FP_MMX0 + i, 0x8000000000000000ull | i, 0x3fff + vtl);
		BAD(vtl, HV_X64_REGISTER_FP_MMX0, 0, 0x10000);
		BAD(vtl, HV_X64_REGISTER_FP_MMX0 + 7, 0, 1ull << 63);
		/*
		 * FCW, FSW, abridged FTW, FOP; FIP. AMD CPUs save FIP, FDP and FOP
		 * only while an x87 exception is pending, so after a guest run they
		 * read 0 there: those fields round-trip only on other hosts.
		 */
		RT(vtl, HV_X64_REGISTER_FP_CONTROL_STATUS, host_is_amd() ? 0x000000a53800027full : 0x07ff00a53800027full,
		   host_is_amd() ? 0 : 0x123456789aull);
		BAD(vtl, HV_X64_REGISTER_FP_CONTROL_STATUS, 0x07ff01a53800027full, 0);	/* reserved byte */
		/* FDP; MXCSR (with FZ), MXCSR_MASK read-only */
		kget(vtl, HV_X64_REGISTER_XMM_CONTROL_STATUS, &hi);
		EXPECT((hi >> 32) & 0xffff);
		RT(vtl, HV_X64_REGISTER_XMM_CONTROL_STATUS, host_is_amd() ? 0 : 0xabcdef01ull, 0x9f80 | (hi & ~0xffffffffull));
		EXPECT_EQ(kset(vtl, HV_X64_REGISTER_XMM_CONTROL_STATUS, 0x1234, 0x1f80), 0);	/* mask ignored */
		EXPECT_EQ(kget(vtl, HV_X64_REGISTER_XMM_CONTROL_STATUS, &hi), 0x1234);
		EXPECT_EQ((uint32_t)hi, 0x1f80);
		BAD(vtl, HV_X64_REGISTER_XMM_CONTROL_STATUS, 0, 0x1f80 | 1u << 31);
	}
	/* The two VTLs' FP state is separate here (sharing is the VSM core's business). */
	EXPECT_EQ(kget(0, HV_X64_REGISTER_XMM0 + 3, &(uint64_t){ 0 }), 0x1122334455667788ull + 3);
}

/* Real mode -> protected -> long mode, one register at a time, and what is refused on the way. */
static void kvm_control_regs(void)
{
	bool pcid = guest_has(1, 0, ECX, 17), nx = guest_has(0x80000001, 0, EDX, 20);
	bool smep = guest_has(7, 0, EBX, 7);
	unsigned int vtl = 0;
	struct kvm_segment cs64 = { .base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb, .s = 1,
				    .present = 1, .l = 1, .g = 1 };
	uint64_t v[2];

	for (vtl = 0; vtl < 2; vtl++) {
		RT(vtl, HV_X64_REGISTER_CR2, 0xdeadbeefcafe0000ull, 0);
		BAD(vtl, HV_X64_REGISTER_CR0, 0x80000010, 0);			/* PG without PE */
		BAD(vtl, HV_X64_REGISTER_CR0, 0x20000011, 0);			/* NW without CD */
		BAD(vtl, HV_X64_REGISTER_CR0, 0x11 | 1ull << 32, 0);		/* 63:32 */
		BAD(vtl, HV_X64_REGISTER_CR0, 0x11 | 1ull << 6, 0);		/* reserved 6 */
		BAD(vtl, HV_X64_REGISTER_CR0, 0x11 | 1ull << 17, 0);		/* reserved 17 */
		RT(vtl, HV_X64_REGISTER_CR0, 0x60000011, 0);			/* PE */
		RT(vtl, HV_X64_REGISTER_CR0, 0x00050033, 0);			/* PE MP NE WP AM */
		RT(vtl, HV_X64_REGISTER_CR3, 0x3000, 0);
		BAD(vtl, HV_X64_REGISTER_CR3, 1ull << 62, 0);			/* beyond MAXPHYADDR */
		BAD(vtl, HV_X64_REGISTER_CR4, 1ull << 14, 0);			/* SMXE */
		BAD(vtl, HV_X64_REGISTER_CR4, 1ull << 15, 0);			/* reserved */
		BAD(vtl, HV_X64_REGISTER_CR4, 1ull << 19, 0);			/* KL */
		BAD(vtl, HV_X64_REGISTER_CR4, 1ull << 63, 0);
		if (pcid)
			BAD(vtl, HV_X64_REGISTER_CR4, 0x20 | 1ull << 17, 0);	/* PCIDE outside long mode */
		RT(vtl, HV_X64_REGISTER_CR4, 0x6a0, 0);				/* PAE PGE OSFXSR OSXMMEXCPT */
		BAD(vtl, HV_X64_REGISTER_EFER, 0x500, 0);			/* LMA without paging */
		BAD(vtl, HV_X64_REGISTER_EFER, 1ull << 9, 0);			/* reserved */
		BAD(vtl, HV_X64_REGISTER_EFER, 1ull << 63, 0);
		RT(vtl, HV_X64_REGISTER_EFER, nx ? 0x901 : 0x101, 0);		/* SCE (NXE) LME: not active yet */
		RT(vtl, HV_X64_REGISTER_CR4, 0x680, 0);				/* PAE may go while PG = 0 */
		RT(vtl, HV_X64_REGISTER_CR4, 0x6a0, 0);
		BAD(vtl, HV_X64_REGISTER_CR0, 0x80050032, 0);			/* PG without PE */
		RT(vtl, HV_X64_REGISTER_CR0, 0x80050033, 0);			/* paging with LME: long mode */
		EXPECT_EQ(kget(vtl, HV_X64_REGISTER_EFER, NULL), nx ? 0xd01 : 0x501);	/* LMA set as by MOV CR0 */
		BAD(vtl, HV_X64_REGISTER_EFER, nx ? 0x901 : 0x101, 0);		/* LME and PG without LMA */
		RT(vtl, HV_X64_REGISTER_EFER, nx ? 0xd01 : 0x501, 0);
		BAD(vtl, HV_X64_REGISTER_CR4, 0x680, 0);			/* PAE off in long mode */
		if (pcid)
			RT(vtl, HV_X64_REGISTER_CR4, 0x206a0, 0);
		if (smep)
			RT(vtl, HV_X64_REGISTER_CR4, (pcid ? 0x206a0 : 0x6a0) | 1ull << 20, 0);
		vtl_regs_seg_to_hv(&cs64, v);
		RT(vtl, HV_X64_REGISTER_CS, v[0], v[1]);			/* 64-bit code segment */
		cs64.db = 1;
		vtl_regs_seg_to_hv(&cs64, v);
		BAD(vtl, HV_X64_REGISTER_CS, v[0], v[1]);			/* L and D */
		cs64.db = 0;
		BAD(vtl, HV_X64_REGISTER_EFER, 0x1, 0);				/* out of long mode with CS.L */
		BAD(vtl, HV_X64_REGISTER_CR0, 0x00050033, 0);			/* same (LMA would clear) */
		EXPECT_EQ(kget(vtl, HV_X64_REGISTER_EFER, NULL), nx ? 0xd01 : 0x501);
		RT(vtl, HV_X64_REGISTER_CR3, 0x0000000fffff5000ull, 0);
		BAD(vtl, HV_X64_REGISTER_CR3, 1ull << 63, 0);
		RT(vtl, HV_X64_REGISTER_CR8, 5, 0);
		RT(vtl, HV_X64_REGISTER_CR8, 0, 0);
		BAD(vtl, HV_X64_REGISTER_CR8, 16, 0);
		if (vtl == 1)
			EXPECT_EQ(tcpu.v[1].run->cr8, 0);
	}
	/* the whole-sregs check */
	{
		struct kvm_sregs s = tcpu.v[0].run->s.regs.sregs;

		s.tr.type = 11;		/* SVM resets TR to a 16-bit busy TSS, which long mode does not allow */
		EXPECT_EQ(vtl_regs_check_sregs(&tcpu, 0, &s), 0);
		s.efer &= ~0x400ull;
		EXPECT_EQ(vtl_regs_check_sregs(&tcpu, 0, &s), INVALID);
		s = tcpu.v[0].run->s.regs.sregs;
		s.tr.type = 9;
		EXPECT_EQ(vtl_regs_check_sregs(&tcpu, 0, &s), INVALID);
		EXPECT_EQ(vtl_regs_check_sregs(&tcpu, 2, &s), INVALID);
	}
}

static void kvm_xcr0(void)
{
	const struct kvm_cpuid_entry2 *d = find_leaf(0xd, 0);
	uint64_t sup = d ? d->eax | (uint64_t)d->edx << 32 : 1;

	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		RT(vtl, HV_X64_REGISTER_XFEM, 1, 0);
		if ((sup & 7) == 7)
			RT(vtl, HV_X64_REGISTER_XFEM, 7, 0);
		if ((sup & 0xe7) == 0xe7)
			RT(vtl, HV_X64_REGISTER_XFEM, 0xe7, 0);
		BAD(vtl, HV_X64_REGISTER_XFEM, 0, 0);		/* no x87 */
		BAD(vtl, HV_X64_REGISTER_XFEM, 2, 0);
		BAD(vtl, HV_X64_REGISTER_XFEM, 5, 0);		/* AVX without SSE */
		BAD(vtl, HV_X64_REGISTER_XFEM, 0x27, 0);	/* part of AVX-512 */
		BAD(vtl, HV_X64_REGISTER_XFEM, 0x83, 0);	/* AVX-512 without AVX */
		BAD(vtl, HV_X64_REGISTER_XFEM, 0x9, 0);		/* BNDREGS without BNDCSR */
		BAD(vtl, HV_X64_REGISTER_XFEM, 0x20003, 0);	/* XTILECFG without XTILEDATA */
		BAD(vtl, HV_X64_REGISTER_XFEM, 0x103, 0);	/* PT: supervisor state */
		BAD(vtl, HV_X64_REGISTER_XFEM, 1ull << 63 | 3, 0);
		RT(vtl, HV_X64_REGISTER_XFEM, 3, 0);
	}
}

static void kvm_debug_regs(void)
{
	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		for (uint32_t i = 0; i < 4; i++)
			RT(vtl, HV_X64_REGISTER_DR0 + i, 0xffffffff81000000ull + 0x10 * i + vtl, 0);
		RT(vtl, HV_X64_REGISTER_DR6, 0xffff4ff1, 0);
		RT(vtl, HV_X64_REGISTER_DR7, 0x00030403, 0);
		BAD(vtl, HV_X64_REGISTER_DR6, 0xffff0ff0 | 1ull << 32, 0);
		BAD(vtl, HV_X64_REGISTER_DR7, 0x400 | 1ull << 63, 0);
		RT(vtl, HV_X64_REGISTER_DR6, 0xffff0ff0, 0);
		RT(vtl, HV_X64_REGISTER_DR7, 0x400, 0);
	}
}

static void seg_val(uint64_t v[2], uint64_t base, uint32_t limit, uint16_t sel, uint16_t attr)
{
	v[0] = base;
	v[1] = limit | (uint64_t)sel << 32 | (uint64_t)attr << 48;
}

static void kvm_segments(void)
{
	uint64_t v[2];

	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		/* long mode from kvm_control_regs: CS is 64-bit */
		seg_val(v, 0, 0xffffffff, 0x18, 0xc093);
		RT(vtl, HV_X64_REGISTER_SS, v[0], v[1]);
		seg_val(v, 0, 0xffffffff, 0x2b, 0xc0f3);
		RT(vtl, HV_X64_REGISTER_DS, v[0], v[1]);
		RT(vtl, HV_X64_REGISTER_ES, v[0], v[1]);
		seg_val(v, 0xffff888000100000ull, 0xffffffff, 0x2b, 0xc0f3);
		RT(vtl, HV_X64_REGISTER_FS, v[0], v[1]);
		seg_val(v, 0x00007f0000001000ull, 0xffffffff, 0, 0xc0f3);
		RT(vtl, HV_X64_REGISTER_GS, v[0], v[1]);
		seg_val(v, 0xfffffe0000001000ull, 0x67, 0x40, 0x008b);
		RT(vtl, HV_X64_REGISTER_TR, v[0], v[1]);
		seg_val(v, 0xffff888000200000ull, 0xfff, 0x50, 0x0082);
		RT(vtl, HV_X64_REGISTER_LDTR, v[0], v[1]);
		seg_val(v, 0, 0, 0, 0);					/* null, unusable */
		RT(vtl, HV_X64_REGISTER_LDTR, v[0], v[1]);
		RT(vtl, HV_X64_REGISTER_ES, v[0], v[1]);
		/* refused */
		seg_val(v, 0, 0xffffffff, 0x2b, 0xc1f3);		/* reserved attribute bit */
		BAD(vtl, HV_X64_REGISTER_DS, v[0], v[1]);
		seg_val(v, 1ull << 32, 0xffffffff, 0x2b, 0xc0f3);	/* DS base 63:32 */
		BAD(vtl, HV_X64_REGISTER_DS, v[0], v[1]);
		seg_val(v, 0x0100000000000000ull, 0xffffffff, 0, 0xc0f3);	/* non-canonical FS (48 or 57 bits) */
		BAD(vtl, HV_X64_REGISTER_FS, v[0], v[1]);
		BAD(vtl, HV_X64_REGISTER_GS, v[0], v[1]);
		seg_val(v, 0, 0xfffff000, 0x2b, 0xc0f3);		/* G = 1, low limit bits not ones */
		BAD(vtl, HV_X64_REGISTER_DS, v[0], v[1]);
		seg_val(v, 0, 0x100000, 0x2b, 0x40f3);			/* G = 0, limit above 1 MiB */
		BAD(vtl, HV_X64_REGISTER_DS, v[0], v[1]);
		seg_val(v, 0, 0x100000, 0, 0xc073);			/* G = 1, low bits 0, unusable: not checked */
		RT(vtl, HV_X64_REGISTER_DS, v[0], v[1]);
		seg_val(v, 0xfffffe0000001000ull, 0x67, 0x40, 0x0089);	/* TR: available TSS */
		BAD(vtl, HV_X64_REGISTER_TR, v[0], v[1]);
		seg_val(v, 0xfffffe0000001000ull, 0x67, 0x40, 0x0083);	/* 16-bit TSS in long mode */
		BAD(vtl, HV_X64_REGISTER_TR, v[0], v[1]);
		seg_val(v, 0xfffffe0000001000ull, 0x67, 0x40, 0x009b);	/* S = 1 */
		BAD(vtl, HV_X64_REGISTER_TR, v[0], v[1]);
		seg_val(v, 0xfffffe0000001000ull, 0x67, 0x40, 0x000b);	/* not present */
		BAD(vtl, HV_X64_REGISTER_TR, v[0], v[1]);
		seg_val(v, 0x0100000000001000ull, 0x67, 0x40, 0x008b);	/* non-canonical base */
		BAD(vtl, HV_X64_REGISTER_TR, v[0], v[1]);
		seg_val(v, 0x2000, 0xfff, 0x50, 0x0083);		/* LDTR of type 3 */
		BAD(vtl, HV_X64_REGISTER_LDTR, v[0], v[1]);
		/* descriptor tables */
		RT(vtl, HV_X64_REGISTER_IDTR, 0x0fffull << 48, 0xfffffe0000000000ull);
		RT(vtl, HV_X64_REGISTER_GDTR, 0x007full << 48, 0xfffffe0000001000ull + vtl);
		BAD(vtl, HV_X64_REGISTER_IDTR, 0x0fffull << 48, 0x0100000000000000ull);
		BAD(vtl, HV_X64_REGISTER_GDTR, 0x7full << 48, 0x8000000000000000ull);
		/* Pad is ignored */
		EXPECT_EQ(kset(vtl, HV_X64_REGISTER_GDTR, 0x007f123456789abcull, 0x2000), 0);
		EXPECT_EQ(kget(vtl, HV_X64_REGISTER_GDTR, &v[1]), 0x007full << 48);
		EXPECT_EQ(v[1], 0x2000);
	}
}

static void msr_is(unsigned int vtl, uint32_t msr, uint64_t want, int line)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = msr };

	if (ioctl(tcpu.v[vtl].fd, KVM_GET_MSRS, &m) != 1 || m.e.data != want) {
		printf("  line %d: MSR 0x%x reads 0x%llx, expected 0x%llx\n", line, msr,
		       (unsigned long long)m.e.data, (unsigned long long)want);
		t_failed = 1;
	}
}
#define MSR_IS(vtl, msr, want) msr_is(vtl, msr, want, __LINE__)

static void kvm_msrs(void)
{
	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		uint64_t tsc, tsc2, cap;

		/* each name's MSR, checked directly */
		RT(vtl, HV_X64_REGISTER_KERNEL_GS_BASE, 0xffff888000300000ull, 0);
		MSR_IS(vtl, 0xC0000102, 0xffff888000300000ull);
		RT(vtl, HV_X64_REGISTER_SYSENTER_CS, 0x10, 0);
		MSR_IS(vtl, 0x174, 0x10);
		if (host_is_amd()) {	/* SVM keeps 63:32 only for Intel-compatible guests: refused, not cut */
			BAD(vtl, HV_X64_REGISTER_SYSENTER_EIP, 0xffffffff81001000ull, 0);
			RT(vtl, HV_X64_REGISTER_SYSENTER_EIP, 0x81001000ull, 0);
			MSR_IS(vtl, 0x176, 0x81001000ull);
			BAD(vtl, HV_X64_REGISTER_SYSENTER_ESP, 0xfffffe0000002000ull, 0);
			RT(vtl, HV_X64_REGISTER_SYSENTER_ESP, 0x2000ull, 0);
			MSR_IS(vtl, 0x175, 0x2000ull);
		} else {
			RT(vtl, HV_X64_REGISTER_SYSENTER_EIP, 0xffffffff81001000ull, 0);
			MSR_IS(vtl, 0x176, 0xffffffff81001000ull);
			RT(vtl, HV_X64_REGISTER_SYSENTER_ESP, 0xfffffe0000002000ull, 0);
			MSR_IS(vtl, 0x175, 0xfffffe0000002000ull);
		}
		RT(vtl, HV_X64_REGISTER_STAR, 0x0023001000000000ull, 0);
		MSR_IS(vtl, 0xC0000081, 0x0023001000000000ull);
		RT(vtl, HV_X64_REGISTER_LSTAR, 0xffffffff81002000ull, 0);
		MSR_IS(vtl, 0xC0000082, 0xffffffff81002000ull);
		RT(vtl, HV_X64_REGISTER_CSTAR, 0xffffffff81003000ull, 0);
		MSR_IS(vtl, 0xC0000083, 0xffffffff81003000ull);
		RT(vtl, HV_X64_REGISTER_SFMASK, 0x47700, 0);
		MSR_IS(vtl, 0xC0000084, 0x47700);
		RT(vtl, HV_X64_REGISTER_PAT, 0x0007010600070106ull, 0);
		MSR_IS(vtl, 0x277, 0x0007010600070106ull);
		RT(vtl, HV_X64_REGISTER_PAT, 0x0007040600070406ull, 0);
		RT(vtl, HV_X64_REGISTER_TSC_AUX, 0x12345, 0);
		MSR_IS(vtl, 0xC0000103, 0x12345);
		RT(vtl, HV_X64_REGISTER_DEBUG_CTL, 0, 0);
		/* refused values */
		BAD(vtl, HV_X64_REGISTER_KERNEL_GS_BASE, 0x0100000000000000ull, 0);	/* non-canonical, 48 or 57 bits */
		BAD(vtl, HV_X64_REGISTER_LSTAR, 0xfff0000000000000ull, 0);
		BAD(vtl, HV_X64_REGISTER_CSTAR, 0x8000000000000000ull, 0);
		BAD(vtl, HV_X64_REGISTER_SYSENTER_EIP, 0x0100000000000000ull, 0);
		BAD(vtl, HV_X64_REGISTER_SYSENTER_ESP, 0x0100000000000000ull, 0);
		BAD(vtl, HV_X64_REGISTER_SYSENTER_CS, 1ull << 32, 0);
		BAD(vtl, HV_X64_REGISTER_SFMASK, 1ull << 32, 0);
		BAD(vtl, HV_X64_REGISTER_TSC_AUX, 1ull << 32, 0);
		BAD(vtl, HV_X64_REGISTER_PAT, 0x0007040600070402ull, 0);	/* type 2 */
		BAD(vtl, HV_X64_REGISTER_PAT, 0x0807040600070406ull, 0);	/* type 8 */
		BAD(vtl, HV_X64_REGISTER_DEBUG_CTL, 1ull << 16, 0);
		/* Tsc and TscAdjust are read-only: the guest TSC is the reference clock's source. */
		tsc = kget(vtl, HV_X64_REGISTER_TSC, NULL);
		EXPECT_EQ(kset(vtl, HV_X64_REGISTER_TSC, tsc, 0), 5);	/* (BAD() would compare a running TSC) */
		BAD(vtl, HV_X64_REGISTER_TSC_ADJUST, 0, 0);
		tsc2 = kget(vtl, HV_X64_REGISTER_TSC, NULL);
		EXPECT(tsc2 >= tsc);
		/* read-only */
		EXPECT_EQ(kget(vtl, HV_X64_REGISTER_INITIAL_APIC_ID, NULL), 5);
		BAD(vtl, HV_X64_REGISTER_INITIAL_APIC_ID, 5, 0);
		cap = kget(vtl, HV_X64_REGISTER_MSR_MTRR_CAP, NULL);
		EXPECT(cap & 0xff);
		BAD(vtl, HV_X64_REGISTER_MSR_MTRR_CAP, cap, 0);
		/* MTRRs */
		RT(vtl, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 0xc06, 0);
		MSR_IS(vtl, 0x2FF, 0xc06);
		BAD(vtl, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 0xc02, 0);
		BAD(vtl, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 0xc06 | 1ull << 12, 0);
		RT(vtl, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 0, 0);
		for (unsigned int i = 0; i < 16; i++) {
			if (i < (cap & 0xff)) {
				RT(vtl, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 + i, 0x80000006ull + 0x1000 * i, 0);
				MSR_IS(vtl, 0x200 + 2 * i, 0x80000006ull + 0x1000 * i);
				RT(vtl, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 + i, 0xff80000800ull, 0);
				MSR_IS(vtl, 0x201 + 2 * i, 0xff80000800ull);
				BAD(vtl, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 + i, 0x80000002ull, 0);
				BAD(vtl, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 + i, 0x80000106ull, 0);
				RT(vtl, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 + i, 0, 0);
			} else {
				/* ranges KVM does not implement */
				EXPECT_EQ(kset(vtl, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 + i, 6, 0), INVALID);
				EXPECT_EQ(kset(vtl, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 + i, 0, 0), INVALID);
			}
		}
		RT(vtl, HV_X64_REGISTER_MSR_MTRR_FIX64K_00000, 0x0606060606060606ull, 0);
		MSR_IS(vtl, 0x250, 0x0606060606060606ull);
		RT(vtl, HV_X64_REGISTER_MSR_MTRR_FIX16K_80000, 0x0505050505050505ull, 0);
		MSR_IS(vtl, 0x258, 0x0505050505050505ull);
		RT(vtl, HV_X64_REGISTER_MSR_MTRR_FIX16K_A0000, 0x0000000001010101ull, 0);
		MSR_IS(vtl, 0x259, 0x0000000001010101ull);
		for (unsigned int i = 0; i < 8; i++) {
			uint64_t types = 0x0406050401000604ull ^ (uint64_t)(i & 1) << 9;	/* WB <-> WT */

			RT(vtl, HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + i, types, 0);
			MSR_IS(vtl, 0x268 + i, types);
		}
		BAD(vtl, HV_X64_REGISTER_MSR_MTRR_FIX64K_00000, 0x0606060606060602ull, 0);
		BAD(vtl, HV_X64_REGISTER_MSR_MTRR_FIX4K_C0000 + 7, 0x0706060606060606ull, 0);	/* UC- is PAT only */
		/* host-dependent MSRs: what KVM reports can be written back */
		static const uint32_t dep[] = { HV_X64_REGISTER_SPEC_CTRL, HV_X64_REGISTER_XSS,
						HV_X64_REGISTER_MSR_IA32_MISC_ENABLE };
		for (unsigned int i = 0; i < 3; i++) {
			uint64_t x[2] = { 0, 0 };

			if (vtl_regs_get(&tcpu, vtl, dep[i], x) != 0)
				printf("  note: this KVM refuses reading register 0x%x\n", dep[i]);
			else if (kset(vtl, dep[i], x[0], 0) != 0)
				printf("  note: this KVM refuses writing 0x%llx to register 0x%x\n",
				       (unsigned long long)x[0], dep[i]);
			else
				RT(vtl, dep[i], x[0], 0);
		}
		BAD(vtl, HV_X64_REGISTER_XSS, 1ull << 63, 0);
	}
}

/* VTL0: KVM's LAPIC (synced sregs); VTL1: kvsm's user-space LAPIC. Same rules. */
static void kvm_apic_base(void)
{
	bool x2apic = guest_has(1, 0, ECX, 21);

	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		uint64_t base = kget(vtl, HV_X64_REGISTER_APIC_BASE, NULL);

		EXPECT_EQ(base, 0xfee00900ull);		/* BSP, enabled */
		RT(vtl, HV_X64_REGISTER_APIC_BASE, base, 0);
		BAD(vtl, HV_X64_REGISTER_APIC_BASE, base | 1ull << 9, 0);	/* reserved */
		BAD(vtl, HV_X64_REGISTER_APIC_BASE, base | 1ull << 63, 0);	/* beyond MAXPHYADDR */
		BAD(vtl, HV_X64_REGISTER_APIC_BASE, 0xfee00500ull, 0);		/* x2APIC without enable */
		BAD(vtl, HV_X64_REGISTER_APIC_BASE, 0xfee00800ull, 0);		/* BSP changed */
		if (x2apic) {
			RT(vtl, HV_X64_REGISTER_APIC_BASE, 0xfee00d00ull, 0);	/* x2APIC */
			BAD(vtl, HV_X64_REGISTER_APIC_BASE, base, 0);		/* x2APIC -> xAPIC */
			RT(vtl, HV_X64_REGISTER_APIC_BASE, 0xfee00100ull, 0);	/* disabled */
			BAD(vtl, HV_X64_REGISTER_APIC_BASE, 0xfee00d00ull, 0);	/* disabled -> x2APIC */
		} else {
			BAD(vtl, HV_X64_REGISTER_APIC_BASE, 0xfee00d00ull, 0);
		}
		RT(vtl, HV_X64_REGISTER_APIC_BASE, base, 0);
		RT(vtl, HV_X64_REGISTER_APIC_BASE, 0xfed00900ull, 0);	/* moved */
		RT(vtl, HV_X64_REGISTER_APIC_BASE, base, 0);
	}
	/* CR8 of VTL1 is the user-space LAPIC's TPR */
	EXPECT_EQ(kset(1, HV_X64_REGISTER_CR8, 9, 0), 0);
	EXPECT_EQ(lapic_get_tpr(&tcpu.v[1].apic), 0x90);
	lapic_set_tpr(&tcpu.v[1].apic, 0x3f);
	EXPECT_EQ(kget(1, HV_X64_REGISTER_CR8, NULL), 3);
	EXPECT_EQ(kset(1, HV_X64_REGISTER_CR8, 0, 0), 0);
	EXPECT_EQ(lapic_get_tpr(&tcpu.v[1].apic), 0);
}

static void kvm_events(void)
{
	for (unsigned int vtl = 0; vtl < 2; vtl++) {
		uint64_t hi;

		/* state from kvm_control_regs: long mode, CR0.PE = 1 */
		RT(vtl, HV_X64_REGISTER_RFLAGS, 0x202, 0);
		RT(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0, 0);
		RT(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0x300001, 0);		/* external interrupt 0x30 */
		EXPECT(tcpu.v[vtl].run->s.regs.events.interrupt.injected);
		BAD(vtl, HV_X64_REGISTER_RFLAGS, 0x2, 0);				/* would clear IF under it */
		RT(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0, 0);
		RT(vtl, HV_REGISTER_PENDING_INTERRUPTION, PI_EXC(13, 0x18), 0);	/* #GP(0x18) */
		RT(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0x20005, 0);		/* NMI */
		/* #BP: KVM does not report injected software exceptions back (no instruction length) */
		EXPECT_EQ(kset(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0x3000d, 0), 0);
		EXPECT_EQ(kget(vtl, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0x3000d);
		EXPECT(kvm_sync(vtl));
		RT(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0, 0);
		BAD(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0x1000b, 0);
		BAD(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0xd0007, 0);
		RT(vtl, HV_REGISTER_INTERRUPT_STATE, 1, 0);
		BAD(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0x300001, 0);		/* under a shadow */
		RT(vtl, HV_REGISTER_INTERRUPT_STATE, 2, 0);
		RT(vtl, HV_REGISTER_INTERRUPT_STATE, 0, 0);
		BAD(vtl, HV_REGISTER_INTERRUPT_STATE, 4, 0);
		/* PendingEvent0 #PF: CR2 now; after KVM_RUN KVM holds it as an injected exception */
		EXPECT_EQ(kset(vtl, HV_REGISTER_PENDING_EVENT0, 0x2000e0101ull, 0xffff800000042000ull), 0);
		EXPECT_EQ(kget(vtl, HV_REGISTER_PENDING_EVENT0, &hi), 0x2000e0101ull);
		EXPECT_EQ(hi, 0xffff800000042000ull);
		EXPECT_EQ(kget(vtl, HV_X64_REGISTER_CR2, NULL), 0xffff800000042000ull);
		EXPECT_EQ(kget(vtl, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0);
		BAD(vtl, HV_REGISTER_PENDING_INTERRUPTION, PI_EXC(13, 0), 0);
		EXPECT(kvm_sync(vtl));
		EXPECT_EQ(kget(vtl, HV_REGISTER_PENDING_EVENT0, &hi), 0);
		EXPECT_EQ(kget(vtl, HV_REGISTER_PENDING_INTERRUPTION, NULL), PI_EXC(14, 2));
		EXPECT_EQ(kget(vtl, HV_X64_REGISTER_CR2, NULL), 0xffff800000042000ull);
		RT(vtl, HV_REGISTER_PENDING_INTERRUPTION, 0, 0);
		BAD(vtl, HV_REGISTER_PENDING_EVENT0, 0x60003, 0);
		BAD(vtl, HV_REGISTER_PENDING_EVENT0, 0x60001, 1);
		EXPECT_EQ(kset(vtl, HV_REGISTER_PENDING_EVENT0, 0, 0), 0);
		EXPECT(kvm_sync(vtl));
		EXPECT_EQ(kget(vtl, HV_REGISTER_PENDING_INTERRUPTION, NULL), 0);
	}
}

static void kvm_names(void)
{
	static const uint32_t unknown[] = { 0, 0x10005, 0x20012, 0x3001a, 0x40006, 0x50006, 0x60008, 0x70002,
					    0x8000f, 0x80020, 0x8007c, 0x90003, 0xd0006 };
	uint64_t v[2] = { 1, 1 };

	for (unsigned int i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		EXPECT_EQ(vtl_regs_get(&tcpu, 0, unknown[i], v), INVALID);
		EXPECT_EQ(v[0] | v[1], 0);
		EXPECT_EQ(kset(0, unknown[i], 0, 0), INVALID);
	}
	/* VTLs without a vCPU */
	EXPECT_EQ(vtl_regs_get(&tcpu, 2, HV_X64_REGISTER_RAX, v), INVALID);
	EXPECT_EQ(kset(2, HV_X64_REGISTER_RAX, 0, 0), INVALID);
	EXPECT_EQ(vtl_regs_get(&tcpu, 7, HV_X64_REGISTER_RAX, v), INVALID);
	EXPECT_EQ(kset(99, HV_X64_REGISTER_CR0, 0, 0), INVALID);
}

int main(void)
{
	RUN_TEST(seg_code);
	RUN_TEST(seg_data);
	RUN_TEST(seg_tss_ldt);
	RUN_TEST(seg_null_unusable);
	RUN_TEST(seg_reserved_bits);
	RUN_TEST(table_regs);
	RUN_TEST(pending_interruption_get);
	RUN_TEST(pending_interruption_set);
	RUN_TEST(pending_interruption_invalid);
	RUN_TEST(interrupt_state);
	RUN_TEST(pending_event0);
	RUN_TEST(pending_event0_invalid);
	RUN_TEST(rflags_rules);
	RUN_TEST(handles);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		static const char *const names[] = { "kvm_gprs", "kvm_fp", "kvm_control_regs", "kvm_xcr0",
						     "kvm_debug_regs", "kvm_segments", "kvm_msrs", "kvm_apic_base",
						     "kvm_events", "kvm_names" };

		for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			printf("skip %s: no /dev/kvm\n", names[i]);
		return TEST_EXIT();
	}
	if (!kvm_setup()) {
		printf("FAIL kvm_setup: %s\n", strerror(errno));
		return 1;
	}
	RUN_TEST(kvm_gprs);
	RUN_TEST(kvm_fp);
	RUN_TEST(kvm_control_regs);	/* leaves both vCPUs in long mode */
	RUN_TEST(kvm_xcr0);
	RUN_TEST(kvm_debug_regs);
	RUN_TEST(kvm_segments);
	RUN_TEST(kvm_msrs);
	RUN_TEST(kvm_apic_base);
	RUN_TEST(kvm_events);
	RUN_TEST(kvm_names);
	return TEST_EXIT();
}
