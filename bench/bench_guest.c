/*
 * The guest `kvsm bench` runs (embedded in the kvsm binary). Each measured
 * loop runs BENCH_ITERS times between two writes to the marker port; each is
 * followed by a twin loop with the same guest instructions but no exit, whose
 * time the host subtracts (guest kernel code may be emulated).
 */
#include "../tests/guest/lib/vsm.h"

#define ITERS 20000
#define MARKER_PORT 0xf5

void bench_vtl1_entry(void);
void bench_io(unsigned int n);
void bench_io_twin(unsigned int n);
void bench_hypercall(unsigned int n, void *page);
void bench_hypercall_twin(unsigned int n, void *page);
void bench_vtl_call(unsigned int n, void *page);
void bench_vtl_call_twin(unsigned int n, void *page);
void *bench_vtl1_page;

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
	vsm_enable_partition_vtl1();
	*(uint64_t *)ctx_in = ~0ull;
	*(uint32_t *)(ctx_in + 8) = 0;
	ctx_in[12] = 1;
	vsm_build_context((struct hv_initial_vp_context *)(ctx_in + 16), (uint64_t)bench_vtl1_entry,
			  (uint64_t)alloc_zeroed(8192) + 8192);
	hv_hypercall(HVCALL_ENABLE_VP_VTL, (uint64_t)ctx_in, 0);
	bench_vtl_call(1, page);	/* first entry: VTL1 enables its hypercall page */
	marker(); bench_vtl_call(ITERS, page); marker();
	marker(); bench_vtl_call_twin(ITERS, page); marker();
	get_vp_registers(ITERS / 4);
	debug_exit(0);
}
