/* VSM helpers for guest tests (see vsm.h). */
#include "vsm.h"

struct vtl1_vp vtl1_vps[MAX_CPUS], vtl2_vps[MAX_CPUS];
uint8_t *vtl1_hypercall_page, *vtl2_hypercall_page;
uint8_t *vtl1_stacks[MAX_CPUS], *vtl2_stacks[MAX_CPUS];
/* What VTL v runs on VP i at its next VTL-call entry (VTL0 never is called). */
static void (*volatile vtl_fn[3][MAX_CPUS])(void);
extern char vtl1_entry[], vtl2_entry[];

_Static_assert(sizeof(struct hv_initial_vp_context) == 224, "HV_INITIAL_VP_CONTEXT");
_Static_assert(sizeof(struct vtl1_vp) == 264, "layout used by vsm_entry.S");

/*
 * Padding in hypercall headers is left as garbage, as guests that build them
 * on the stack do: kvsm ignores it where OpenVMM does (docs/hyperv.md).
 */
#define PADDING_GARBAGE 0xa5a5a5a5a5a5ull

uint64_t vsm_call_regs(struct vsm_gprs *in, struct vsm_gprs *out, void *thunk);

static uint64_t read_cr(int n)
{
	uint64_t v = 0;

	switch (n) {
	case 0: __asm__ volatile("mov %%cr0, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("mov %%cr3, %0" : "=r"(v)); break;
	case 4: __asm__ volatile("mov %%cr4, %0" : "=r"(v)); break;
	}
	return v;
}

void vsm_build_context(struct hv_initial_vp_context *c, uint64_t rip, uint64_t rsp)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdt, idt;

	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt), "=m"(idt));
	memset(c, 0, sizeof(*c));
	c->rip = rip;
	c->rsp = rsp;
	c->rflags = 0x2;
	c->cs.sel = 0x08, c->cs.limit = 0xffffffff, c->cs.attr = 0xa09b;	/* 64-bit code */
	c->ds.sel = 0x10, c->ds.limit = 0xffffffff, c->ds.attr = 0xc093;	/* flat data */
	c->es = c->ss = c->fs = c->gs = c->ds;
	c->tr.limit = 0x67, c->tr.attr = 0x8b;				/* busy 64-bit TSS */
	c->gdtr.limit = gdt.limit, c->gdtr.base = gdt.base;
	c->idtr.limit = idt.limit, c->idtr.base = idt.base;
	c->efer = rdmsr(0xc0000080);
	c->cr0 = read_cr(0);
	c->cr3 = read_cr(3);
	c->cr4 = read_cr(4);
	c->pat = 0x0007040600070406ull;
}

uint64_t vsm_enable_partition_vtl(unsigned int vtl)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = ~0ull;		/* self */
	in[1] = vtl | PADDING_GARBAGE << 16;	/* target VTL, no flags, then 6 padding bytes */
	return hv_hypercall(HVCALL_ENABLE_PARTITION_VTL, (uint64_t)in, 0);
}

uint64_t vsm_enable_partition_vtl1(void)
{
	return vsm_enable_partition_vtl(1);
}

uint64_t vsm_enable_vp_vtl(unsigned int vp, unsigned int vtl)
{
	uint8_t **stacks = vtl == 2 ? vtl2_stacks : vtl1_stacks;
	uint8_t *in = alloc_zeroed(4096);

	if (vp < MAX_CPUS && !stacks[vp])
		stacks[vp] = alloc_zeroed(VSM_STACK_SIZE);
	*(uint64_t *)in = ~0ull;
	*(uint32_t *)(in + 8) = vp;
	in[12] = (uint8_t)vtl;
	memset(in + 13, 0xa5, 3);	/* padding */
	vsm_build_context((struct hv_initial_vp_context *)(in + 16), (uint64_t)(vtl == 2 ? vtl2_entry : vtl1_entry),
			  vp < MAX_CPUS ? (uint64_t)stacks[vp] + VSM_STACK_SIZE : 0);
	return hv_hypercall(HVCALL_ENABLE_VP_VTL, (uint64_t)in, 0);
}

uint64_t vsm_enable_vp_vtl1(unsigned int vp)
{
	return vsm_enable_vp_vtl(vp, 1);
}

extern char ap_entry64[];

uint64_t vsm_start_vp(unsigned int vp, unsigned int vtl)
{
	uint8_t *in = alloc_zeroed(4096);

	*(uint64_t *)in = ~0ull;
	*(uint32_t *)(in + 8) = vp;
	in[12] = (uint8_t)vtl;
	memset(in + 13, 0xa5, 3);	/* padding */
	vsm_build_context((struct hv_initial_vp_context *)(in + 16), (uint64_t)ap_entry64, 0);
	return hv_hypercall(HVCALL_START_VIRTUAL_PROCESSOR, (uint64_t)in, 0);
}

/*
 * VTL1 or VTL2 (vtl), each entry: first-time set-up of its pages on this VP
 * (GUEST_OS_ID and the hypercall page are per VTL, set once), then the
 * requested work.
 */
void vtl_dispatch(struct vtl1_vp *me, unsigned int vtl)
{
	uint8_t **hc_page = vtl == 2 ? &vtl2_hypercall_page : &vtl1_hypercall_page;
	unsigned int vp = (unsigned int)(me - (vtl == 2 ? vtl2_vps : vtl1_vps));
	void (*fn)(void);

	if (!me->assist) {
		if (!*hc_page) {
			uint8_t *page = alloc_pages(1);

			wrmsr(HV_X64_MSR_GUEST_OS_ID, HV_GUEST_OS_ID_KVSM_TESTS + vtl);
			wrmsr(HV_X64_MSR_HYPERCALL, (uint64_t)page | 1);
			*hc_page = page;
		}
		me->assist = alloc_pages(1);
		wrmsr(HV_X64_MSR_VP_ASSIST_PAGE, (uint64_t)me->assist | 1);
		me->last_entry_reason = 1;	/* the first entry is always a VTL call */
	} else {
		me->last_entry_reason = *(volatile uint32_t *)(me->assist + 8);
	}
	me->entries++;
	me->exit = me->entry;	/* by default leave the shared registers as found */
	fn = vtl_fn[vtl][vp];
	if (me->last_entry_reason == 1 && fn)
		fn();
	if (me->last_entry_reason == 3 && vsm_intercept_fn[vtl])
		vsm_intercept_fn[vtl](me);
}

void (*vsm_intercept_fn[3])(struct vtl1_vp *me);

void vsm_take_intercepts(struct hv_message *simp, uint8_t vector)
{
	apic_enable();
	hv_synic_enable(simp, alloc_zeroed(4096));
	wrmsr(HV_X64_MSR_SINT(0), vector);
}

void vsm_set_call_fn(void (*fn)(void))
{
	vtl_fn[vsm_current_vtl() + 1][apic_id_any()] = fn;
}

uint64_t vsm_call(void (*fn)(void), struct vsm_gprs *regs_in, struct vsm_gprs *regs_out)
{
	struct vsm_gprs in = { 0 }, out;

	vsm_set_call_fn(fn);
	return vsm_call_regs(regs_in ? regs_in : &in, regs_out ? regs_out : &out,
			     (uint8_t *)hv_current_hypercall_page() + 0x0f);
}

unsigned int vsm_current_vtl(void)
{
	/* GUEST_OS_ID is private to each VTL, and VTL1 and VTL2 set their own. */
	uint64_t id = rdmsr(HV_X64_MSR_GUEST_OS_ID);

	return id == HV_GUEST_OS_ID_KVSM_TESTS + 1 ? 1 : id == HV_GUEST_OS_ID_KVSM_TESTS + 2 ? 2 : 0;
}

void *hv_current_hypercall_page(void)
{
	unsigned int vtl;

	if (!vtl1_hypercall_page)	/* no VTL above VTL0 set up yet (and CPL 3 cannot RDMSR) */
		return hv_hypercall_page;
	vtl = vsm_current_vtl();

	return vtl == 2 ? vtl2_hypercall_page : vtl == 1 ? vtl1_hypercall_page : hv_hypercall_page;
}

static uint64_t raw_thunk(unsigned int off, uint64_t control_input)
{
	return hv_call_thunk((uint8_t *)hv_current_hypercall_page() + off, control_input);
}

uint64_t vsm_raw_vtl_call(uint64_t control_input)
{
	return raw_thunk(0x0f, control_input);
}

uint64_t vsm_raw_vtl_return(uint64_t control_input)
{
	return raw_thunk(0x26, control_input);
}

/* One input/output page pair per (VP, VTL): a VTL1 entry may interrupt VTL0 between filling and calling. */
static uint8_t *hc_buf(void)
{
	static uint8_t *bufs[MAX_CPUS][3];
	uint8_t **b = &bufs[apic_id_any()][vsm_current_vtl()];

	if (!*b)
		*b = alloc_zeroed(8192);
	return *b;
}

uint64_t vsm_get_reg(uint32_t vp, uint8_t input_vtl, uint32_t name, uint64_t *val)
{
	uint8_t *in = hc_buf(), *out = in + 4096;
	uint64_t r;

	*(uint64_t *)in = ~0ull;
	*(uint32_t *)(in + 8) = vp;
	in[12] = input_vtl;
	memset(in + 13, 0xa5, 3);	/* padding */
	*(uint32_t *)(in + 16) = name;
	r = hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in, (uint64_t)out);
	*val = *(uint64_t *)out;
	return r;
}

uint64_t vsm_set_reg(uint32_t vp, uint8_t input_vtl, uint32_t name, uint64_t val)
{
	uint8_t *in = hc_buf();

	memset(in, 0, 48);
	*(uint64_t *)in = ~0ull;
	*(uint32_t *)(in + 8) = vp;
	in[12] = input_vtl;
	memset(in + 13, 0xa5, 3);	/* padding */
	*(uint32_t *)(in + 16) = name;
	memset(in + 20, 0xa5, 12);	/* padding */
	*(uint64_t *)(in + 32) = val;
	return hv_hypercall(HVCALL_SET_VP_REGISTERS | HV_REP(1), (uint64_t)in, 0);
}

void vsm_intercept_resume(const struct hv_message *m, uint64_t rip, uint64_t rax)
{
	unsigned int vp = apic_id_any(), lower = *(const uint16_t *)(m->payload + 6) >> 7 & 0xf;
	uint8_t *assist = (vsm_current_vtl() == 2 ? vtl2_vps : vtl1_vps)[vp].assist;

	vsm_set_reg(~1u, HV_INPUT_VTL(lower), HV_REG_RIP, rip);
	*(uint64_t *)(assist + 0x10) = rax;				/* VtlReturnX64Rax */
	*(uint64_t *)(assist + 0x18) = *(const uint64_t *)(m->payload + 120);	/* Rcx, as intercepted */
}

void vsm_intercept_skip(const struct hv_message *m, uint64_t rax)
{
	vsm_intercept_resume(m, *(const uint64_t *)(m->payload + 24) + (m->payload[4] & 0xf), rax);
}
