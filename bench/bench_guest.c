/*
 * The guest `kvsm bench` runs (embedded in the kvsm binary). Each measured
 * loop runs between two writes of its span id to the marker port, as many
 * times as the host asks, and the whole set as many times again; most have a
 * twin loop with the same guest instructions but no exit, whose time the host
 * subtracts (guest kernel code may be emulated). VTL1 also enables
 * protection, so the host can time HvCallModifyVtlProtectionMask after the
 * guest is done.
 */
#include "../tests/guest/lib/vsm.h"
#include "bench_spans.h"

#define INTERCEPT_VEC 0xe5
#define TIMER_VEC 0xe6			/* VTL1's APIC timer */
#define SCALE_VEC 0x51			/* VTL0: wakes an AP for a scaling loop, and VP 0 when all are done */
#define MSR_TSC_DEADLINE 0x6e0
#define HC_SIGNAL_EVENT 0x0005D		/* the cheapest call: SignalEvent with no connection */

void bench_vtl1_entry(void);
void bench_swap_vtl1(void);
void bench_io(unsigned int n);
void bench_io_twin(unsigned int n);
void bench_floor(unsigned int n);
void bench_hypercall(unsigned int n, void *page);
void bench_hypercall_twin(unsigned int n, void *page);
void bench_vtl_call(unsigned int n, void *page);
void bench_vtl_call_twin(unsigned int n, void *page);
void bench_intercept(unsigned int n, void *page);
void bench_intercept_twin(unsigned int n, void *page);
void bench_sint0(void);
void bench_timer_irq(void);
void bench_vtl1_loop(void);
void *bench_vtl1_page;
void *bench_swap_ret;			/* the state-swap design's VTL return thunk */
struct hv_message *bench_simp;		/* VTL1's SIMP */
uint8_t *bench_scratch;			/* where VTL1's handler redirects VTL0's write */
extern volatile uint32_t bench_intercepts;
static uint8_t *rx_page;		/* read+execute for VTL0 */
static uint64_t *vtl1_in;
static volatile uint64_t vtl1_status[2];
static volatile unsigned int prot_calls;	/* one-page calls of prot_loops */
static volatile bool prot_failed;

/* What VTL0 asks of VTL1's loop at its next VTL call (0: nothing). */
enum { CMD_TIMER = 1, CMD_PROT = 2 };
volatile uint8_t bench_vtl1_cmd;
/* The timer latency loop; the handler (bench_timer_irq) writes the last three. */
volatile uint8_t bench_spinning, bench_timer_pending, bench_timer_spun;
volatile uint64_t bench_timer_deadline, bench_timer_lat;
static volatile uint64_t timer_delay = 1 << 20;	/* TSC cycles from arming to firing; doubled when too short */
static volatile bool timer_ok;			/* VTL1's CPUID has the TSC-deadline timer */

/* The scaling loops: VP 0 bumps an AP's generation and wakes it; the AP counts itself done. */
static volatile unsigned int scale_gen[BENCH_VPS], scale_done, scale_iters;
static void *vtl0_page;
static uint8_t *ap_ctx[BENCH_VPS];		/* HvCallEnableVpVtl input for each VP */
static volatile uint64_t ap_status[BENCH_VPS];

static void marker(enum bench_span s)
{
	outb(BENCH_MARKER_PORT, s);
}

/*
 * Hypercalls through the guest library's C entry points. Each loop's guest
 * work is nearly that of SPAN_HC_C (the cheapest call through the same
 * code), which the host subtracts: what remains is what the form adds.
 */
static void library_hypercalls(unsigned int n)
{
	static uint8_t *in1, *in16, *out;
	static uint64_t xin[12], xout[12];

	if (!in1) {
		in1 = alloc_zeroed(4096);
		in16 = alloc_zeroed(4096);
		out = alloc_zeroed(4096);
		for (uint8_t *in = in1; in; in = in == in1 ? in16 : NULL) {
			*(uint64_t *)in = ~0ull;	/* HV_PARTITION_ID_SELF */
			*(uint32_t *)(in + 8) = ~1u;	/* HV_VP_INDEX_SELF */
		}
		*(uint32_t *)(in1 + 16) = HV_REG_RIP;
		for (unsigned int i = 0; i < 16; i++)	/* RAX..R15 */
			*(uint32_t *)(in16 + 16 + 4 * i) = HV_REG_RAX + i;
		xin[0] = HV_REG_RIP;			/* XMM0: the name after {PartitionId, VpIndex+Vtl} */
	}
	marker(SPAN_HC_C);
	for (unsigned int i = 0; i < n; i++)
		hv_hypercall(HC_SIGNAL_EVENT | HV_FAST, 0, 0);
	marker(SPAN_HC_C);
	marker(SPAN_HC_MEM);
	for (unsigned int i = 0; i < n; i++)
		hv_hypercall(HC_SIGNAL_EVENT, (uint64_t)out, 0);
	marker(SPAN_HC_MEM);
	marker(SPAN_GETREG1);
	for (unsigned int i = 0; i < n; i++)
		hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in1, (uint64_t)out);
	marker(SPAN_GETREG1);
	marker(SPAN_GETREG16);
	for (unsigned int i = 0; i < n; i++)
		hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(16), (uint64_t)in16, (uint64_t)out);
	marker(SPAN_GETREG16);
	marker(SPAN_GETREG1_XMM);
	for (unsigned int i = 0; i < n; i++)
		hv_hypercall_xmm(HVCALL_GET_VP_REGISTERS | HV_FAST | HV_REP(1), ~0ull, ~1u, xin, xout);
	marker(SPAN_GETREG1_XMM);
}

/* A hypercall from VTL1 through its own page (the library's hv_hypercall would use VTL0's). */
static uint64_t vtl1_hypercall(uint64_t control, void *in)
{
	uint64_t ret;
	register uint64_t r8 __asm__("r8") = 0;

	__asm__ volatile("call *%[page]" : "=a"(ret), "+c"(control), "+d"(in), "+r"(r8)
			 : [page] "r"(bench_vtl1_page) : "memory", "r9", "r10", "r11");
	return ret;
}

/*
 * VTL1's first entry: SINT0 with AutoEOI (kvsm's APIC for VTL1 would make an
 * EOI another exit), EnableVtlProtection, rx_page read+execute for VTL0,
 * VTL1 on the APs, and its APIC timer in TSC-deadline mode.
 */
void bench_vtl1_setup(void)
{
	apic_enable();
	hv_synic_enable(bench_simp, alloc_zeroed(4096));
	wrmsr(HV_X64_MSR_SINT0, INTERCEPT_VEC | HV_SINT_AUTO_EOI);
	vtl1_in[0] = HV_PARTITION_ID_SELF;
	vtl1_in[1] = HV_VP_INDEX_SELF;
	vtl1_in[2] = HV_REG_VSM_PARTITION_CONFIG;
	vtl1_in[3] = 0;
	vtl1_in[4] = 1 | 0xf << 1;	/* EnableVtlProtection, default mask RWX */
	vtl1_status[0] = vtl1_hypercall(HVCALL_SET_VP_REGISTERS | HV_REP(1), vtl1_in);
	vtl1_in[1] = HV_MAP_GPA_READABLE | HV_MAP_GPA_KERNEL_EXECUTABLE;	/* TargetVtl 0: VTL1's own masks */
	vtl1_in[2] = (uint64_t)rx_page >> 12;
	vtl1_status[1] = vtl1_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), vtl1_in);
	for (unsigned int vp = 1; vp < BENCH_VPS; vp++)	/* only VTL1 may, now that it runs (spec 3.3) */
		ap_status[vp] = vtl1_hypercall(HVCALL_ENABLE_VP_VTL, ap_ctx[vp]);
	/* kvsm's APIC for VTL1 has TSC-deadline mode (its CPUID does not say so): take it if the mode sticks. */
	apic_write(APIC_LVT_TIMER, TIMER_VEC | 2u << 17);
	timer_ok = (apic_read(APIC_LVT_TIMER) >> 17 & 3) == 2;
}

/*
 * VTL1's HvCallModifyVtlProtectionMask of k pages for VTL0, every other page
 * from GPN first; call = false: the same guest work without the call (the
 * twin). Pages above everything else the guest uses, never touched.
 */
static void prot_call(uint32_t mask, uint64_t first, unsigned int k, bool call)
{
	static uint64_t *in;

	if (!in)
		in = alloc_zeroed(4096);
	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask;				/* TargetVtl 0: VTL1's own masks on VTL0 */
	for (unsigned int i = 0; i < k; i++)
		in[2 + i] = first + 2 * i;
	__asm__ volatile("" ::: "memory");
	if (call && vtl1_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(k), in) != (uint64_t)k << 32)
		prot_failed = true;
}

/*
 * VTL1 times its own protection calls: n one-page calls on n pages, then the
 * same pages relaxed (RWX) one call each; then m calls with 64-page lists.
 * Each set of pages is protected then relaxed, so the views end as they began.
 */
static void prot_loops(unsigned int n, unsigned int m)
{
	static const struct { enum bench_span prot, relax, twin; unsigned int k; } sets[] = {
		{ SPAN_PROT1, SPAN_RELAX1, SPAN_PROT1_TWIN, 1 }, { SPAN_PROT64, SPAN_RELAX64, SPAN_PROT64_TWIN, 64 },
	};
	const uint32_t rx = HV_MAP_GPA_READABLE | HV_MAP_GPA_KERNEL_EXECUTABLE;

	for (unsigned int s = 0; s < 2; s++) {
		unsigned int k = sets[s].k, calls = s ? m : n;
		uint64_t gpn = BENCH_PROT_GPA >> 12;

		marker(sets[s].prot);
		for (unsigned int i = 0; i < calls; i++)
			prot_call(rx, gpn + 2ull * k * i, k, true);
		marker(sets[s].prot);
		marker(sets[s].relax);
		for (unsigned int i = 0; i < calls; i++)
			prot_call(HV_MAP_GPA_RWX, gpn + 2ull * k * i, k, true);
		marker(sets[s].relax);
		marker(sets[s].twin);
		for (unsigned int i = 0; i < calls; i++)
			prot_call(rx, gpn + 2ull * k * i, k, false);
		marker(sets[s].twin);
	}
}

/* VTL1, at VTL0's request (bench_vtl1_cmd): arm the timer timer_delay cycles from now, or time protections. */
void bench_vtl1_work(void)
{
	if (bench_vtl1_cmd == CMD_PROT) {
		prot_loops(prot_calls, prot_calls / 16 ? prot_calls / 16 : 1);
	} else {
		bench_timer_deadline = rdtsc() + timer_delay;
		wrmsr(MSR_TSC_DEADLINE, bench_timer_deadline);
	}
	bench_vtl1_cmd = 0;
}

/*
 * Mean TSC cycles from VTL1's timer firing to its handler's first
 * instruction, over n firings that caught VTL0 spinning with IF = 0. One that
 * fired earlier (in VTL1, or before VTL0's cli) does not count and doubles
 * the delay.
 */
static uint32_t timer_latency(unsigned int n, void *page)
{
	uint64_t sum = 0;

	if (!timer_ok)
		return 0;
	for (unsigned int i = 0; i < n;) {
		uint64_t t0;

		bench_timer_pending = 1;
		bench_vtl1_cmd = CMD_TIMER;
		bench_vtl_call(1, page);
		cli();
		bench_spinning = 1;
		for (t0 = rdtsc(); bench_timer_pending;)
			if (rdtsc() - t0 > 1000 * timer_delay)
				debug_exit(4);
		bench_spinning = 0;
		sti();
		if (bench_timer_spun) {
			sum += bench_timer_lat;
			i++;
		} else {
			timer_delay *= 2;
		}
	}
	return (uint32_t)(sum / n);
}

static void wake_irq(struct irq_frame *f)
{
	(void)f;
	apic_eoi();
}

/* An AP: asleep until VP 0 bumps its generation, then one loop of VTL call + return. */
void ap_main(unsigned int id)
{
	unsigned int seen = 0;

	set_irq_handler(SCALE_VEC, wake_irq);
	apic_enable();
	for (;;) {
		cli();
		while (scale_gen[id] == seen)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		sti();
		seen = scale_gen[id];
		bench_vtl_call(scale_iters, vtl0_page);
		__atomic_add_fetch(&scale_done, 1, __ATOMIC_SEQ_CST);
		apic_send_ipi(0, SCALE_VEC);
	}
}

/* n VTL call + return round trips on each of VPs 0..vps-1 at once; VP 0 sleeps until the APs are done. */
static void scale_loop(enum bench_span s, unsigned int vps, unsigned int n)
{
	marker(s);
	scale_done = 0;
	scale_iters = n;
	for (unsigned int vp = 1; vp < vps; vp++) {
		scale_gen[vp]++;
		apic_send_ipi(vp, SCALE_VEC);
	}
	bench_vtl_call(n, vtl0_page);
	cli();
	while (scale_done != vps - 1)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	sti();
	marker(s);
}

/* An interrupt gate straight to an assembly handler: the library's C dispatch is not what is measured. */
static void set_raw_gate(uint8_t vec, void (*fn)(void))
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;
	uint64_t a = (uint64_t)fn;
	uint32_t *g;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	g = (uint32_t *)(idtr.base + 16 * vec);
	g[0] = 0x08 << 16 | (uint32_t)(a & 0xffff);
	g[1] = (uint32_t)(a & 0xffff0000) | 0x8e00;
	g[2] = (uint32_t)(a >> 32);
	g[3] = 0;
}

/* VTL0's hypercall page with its VTL call and return thunks sent to the state-swap design's port. */
static void *swap_page(const uint8_t *page)
{
	uint8_t *p = alloc_pages(1);

	memcpy(p, page, 4096);
	p[0x0f + 10] = BENCH_SWAP_PORT;		/* the out's imm8 after mov rax, rcx; mov ecx, imm; nop; out */
	p[0x26 + 10] = BENCH_SWAP_PORT;
	bench_swap_ret = p + 0x26;
	return p;
}

static void vtl_loops(unsigned int n, void *page, void *swap)
{
	marker(SPAN_VTL); bench_vtl_call(n, page); marker(SPAN_VTL);
	marker(SPAN_VTL_TWIN); bench_vtl_call_twin(n, page); marker(SPAN_VTL_TWIN);
	marker(SPAN_SWAP); bench_vtl_call(n, swap); marker(SPAN_SWAP);
	marker(SPAN_VTL_PROF); bench_vtl_call(n / 4, page); marker(SPAN_VTL_PROF);
	marker(SPAN_SWAP_PROF); bench_vtl_call(n / 4, swap); marker(SPAN_SWAP_PROF);
	marker(SPAN_FLOOR_PROF); bench_floor(n / 2); marker(SPAN_FLOOR_PROF);
}

void test_main(const struct mb_info *mbi)
{
	uint8_t *ctx_in = alloc_zeroed(4096);
	void *page = hv_enable_hypercalls(), *swap;
	unsigned int n = inl(BENCH_MARKER_PORT), reps = inl(BENCH_REPS_PORT), seen;

	/* VTL1 with a minimal entry loop: enable, then VTL call + return round trips. */
	bench_vtl1_page = alloc_pages(1);
	bench_simp = alloc_zeroed(4096);
	bench_scratch = alloc_zeroed(4096);
	rx_page = alloc_zeroed(4096);
	vtl1_in = alloc_zeroed(4096);
	set_raw_gate(INTERCEPT_VEC, bench_sint0);	/* VTL1 shares VTL0's IDT */
	set_raw_gate(TIMER_VEC, bench_timer_irq);
	set_irq_handler(SCALE_VEC, wake_irq);
	apic_enable();
	vsm_enable_partition_vtl1();
	/* VTL1's starting contexts: VP 0's sets up, the APs' only loop on VtlReturn. */
	for (unsigned int vp = 0; vp < BENCH_VPS; vp++) {
		uint8_t *in = vp ? alloc_zeroed(4096) : ctx_in;

		*(uint64_t *)in = ~0ull;
		*(uint32_t *)(in + 8) = vp;
		in[12] = 1;
		vsm_build_context((struct hv_initial_vp_context *)(in + 16),
				  (uint64_t)(vp ? bench_vtl1_loop : bench_vtl1_entry), (uint64_t)alloc_zeroed(8192) + 8192);
		ap_ctx[vp] = in;
	}
	hv_hypercall(HVCALL_ENABLE_VP_VTL, (uint64_t)ctx_in, 0);
	bench_vtl_call(1, page);	/* first entry: VTL1 enables its hypercall page, bench_vtl1_setup */
	if (vtl1_status[0] != 1ull << 32 || vtl1_status[1] != 1ull << 32)	/* success, one rep */
		debug_exit(2);
	for (unsigned int vp = 1; vp < BENCH_VPS; vp++)
		if (ap_status[vp])
			debug_exit(6);
	swap = swap_page(page);
	vtl0_page = page;
	for (unsigned int vp = 1; vp < BENCH_VPS; vp++)
		if (vsm_start_vp(vp, 0))
			debug_exit(6);
	outl(BENCH_SWAP_PORT, (uint32_t)(uintptr_t)bench_swap_vtl1);

	for (unsigned int r = 0; r < reps; r++) {
		marker(SPAN_IO); bench_io(n); marker(SPAN_IO);
		marker(SPAN_IO_TWIN); bench_io_twin(n); marker(SPAN_IO_TWIN);
		marker(SPAN_FLOOR); bench_floor(n); marker(SPAN_FLOOR);
		marker(SPAN_HC); bench_hypercall(n, page); marker(SPAN_HC);
		marker(SPAN_HC_TWIN); bench_hypercall_twin(n, page); marker(SPAN_HC_TWIN);
		library_hypercalls(n / 4);
		vtl_loops(n, page, swap);
		seen = bench_intercepts;
		marker(SPAN_ICPT); bench_intercept(n / 4, rx_page); marker(SPAN_ICPT);
		if (bench_intercepts - seen != n / 4)
			debug_exit(3);
		marker(SPAN_ICPT_TWIN); bench_intercept_twin(n / 4, bench_scratch); marker(SPAN_ICPT_TWIN);
		for (unsigned int i = 0; i < 4; i++)
			scale_loop(SPAN_SCALE1 + i, 1u << i, n / 16 ? n / 16 : 1);
		outl(BENCH_TIMER_PORT, timer_latency(n / 16 ? n / 16 : 1, page));
		prot_calls = n / 4;
		bench_vtl1_cmd = CMD_PROT;
		bench_vtl_call(1, page);
		if (prot_failed)
			debug_exit(8);
	}
	debug_exit(0);
}
