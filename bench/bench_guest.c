/*
 * The guest `kvsm bench` runs (embedded in the kvsm binary). Each measured
 * loop runs BENCH_ITERS times between two writes to the marker port; each is
 * followed by a twin loop with the same guest instructions but no exit, whose
 * time the host subtracts (guest kernel code may be emulated). VTL1 also
 * enables protection, so the host can time HvCallModifyVtlProtectionMask
 * after the guest is done.
 */
#include "../tests/guest/lib/vsm.h"

#define ITERS 20000
#define MARKER_PORT 0xf5
#define INTERCEPT_ITERS (ITERS / 4)
#define INTERCEPT_VEC 0xe5

void bench_vtl1_entry(void);
void bench_io(unsigned int n);
void bench_io_twin(unsigned int n);
void bench_hypercall(unsigned int n, void *page);
void bench_hypercall_twin(unsigned int n, void *page);
void bench_vtl_call(unsigned int n, void *page);
void bench_vtl_call_twin(unsigned int n, void *page);
void bench_intercept(unsigned int n, void *page);
void bench_intercept_twin(unsigned int n, void *page);
void bench_sint0(void);
void *bench_vtl1_page;
struct hv_message *bench_simp;		/* VTL1's SIMP */
uint8_t *bench_scratch;			/* where VTL1's handler redirects VTL0's write */
extern volatile uint32_t bench_intercepts;
static uint8_t *rx_page;		/* read+execute for VTL0 */
static uint64_t *vtl1_in;
static volatile uint64_t vtl1_status[2];

static void marker(void)
{
	outb(MARKER_PORT, 0);
}

/* HvCallGetVpRegisters of one register (RIP), memory form, against the cheapest call through the same code. */
static void get_vp_registers(unsigned int n)
{
	uint8_t *in = alloc_zeroed(4096), *out = alloc_zeroed(4096);

	*(uint64_t *)in = ~0ull;
	*(uint32_t *)(in + 8) = ~1u;
	*(uint32_t *)(in + 16) = HV_REG_RIP;
	marker();
	for (unsigned int i = 0; i < n; i++)
		hv_hypercall(HVCALL_GET_VP_REGISTERS | HV_REP(1), (uint64_t)in, (uint64_t)out);
	marker();
	marker();
	for (unsigned int i = 0; i < n; i++)
		hv_hypercall(0x0005D | HV_FAST, 0, 0);	/* the same path, the cheapest call (SignalEvent, no connection) */
	marker();
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
 * EOI another exit), EnableVtlProtection, and rx_page read+execute for VTL0.
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

void test_main(const struct mb_info *mbi)
{
	uint8_t *ctx_in = alloc_zeroed(4096);
	void *page = hv_enable_hypercalls();

	marker(); bench_io(ITERS); marker();
	marker(); bench_io_twin(ITERS); marker();
	marker(); bench_hypercall(ITERS, page); marker();
	marker(); bench_hypercall_twin(ITERS, page); marker();

	/* VTL1 with a minimal entry loop: enable, then VTL call + return round trips. */
	bench_vtl1_page = alloc_pages(1);
	bench_simp = alloc_zeroed(4096);
	bench_scratch = alloc_zeroed(4096);
	rx_page = alloc_zeroed(4096);
	vtl1_in = alloc_zeroed(4096);
	set_raw_gate(INTERCEPT_VEC, bench_sint0);	/* VTL1 shares VTL0's IDT */
	vsm_enable_partition_vtl1();
	*(uint64_t *)ctx_in = ~0ull;
	*(uint32_t *)(ctx_in + 8) = 0;
	ctx_in[12] = 1;
	vsm_build_context((struct hv_initial_vp_context *)(ctx_in + 16), (uint64_t)bench_vtl1_entry,
			  (uint64_t)alloc_zeroed(8192) + 8192);
	hv_hypercall(HVCALL_ENABLE_VP_VTL, (uint64_t)ctx_in, 0);
	bench_vtl_call(1, page);	/* first entry: VTL1 enables its hypercall page, bench_vtl1_setup */
	if (vtl1_status[0] != 1ull << 32 || vtl1_status[1] != 1ull << 32)	/* success, one rep */
		debug_exit(2);
	marker(); bench_vtl_call(ITERS, page); marker();
	marker(); bench_vtl_call_twin(ITERS, page); marker();
	get_vp_registers(ITERS / 4);
	marker(); bench_intercept(INTERCEPT_ITERS, rx_page); marker();
	if (bench_intercepts != INTERCEPT_ITERS)
		debug_exit(3);
	marker(); bench_intercept_twin(INTERCEPT_ITERS, bench_scratch); marker();
	debug_exit(0);
}
