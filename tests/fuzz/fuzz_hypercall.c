/*
 * libFuzzer target for the hypercall path: arbitrary input values, parameter
 * GPAs, register and XMM contents and guest memory go through hv_hypercall()
 * (decoding, validation, input copy, every handler including the VSM ones,
 * output write). Built with
 * ASan and UBSan by `make fuzz`; any crash or out-of-bounds access is a bug.
 */
#include "../unit/fake_overlays.h"
#include "hv/hv_internal.h"

#include <stdlib.h>
#include <string.h>

#define RAM_SIZE (64 * 1024)
#define NR_VPS 130

static uint8_t ram[RAM_SIZE];
static uint64_t xmm_regs[6][2];
static uint64_t fake_tsc = 1000000;

static void *f_guest_access(void *host, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

static void f_raise_irq(void *h, unsigned int vp, unsigned int vtl, uint8_t v, bool a) { }
static void f_flush_tlb(void *h, unsigned int caller, const uint64_t *mask) { }
static uint64_t f_guest_tsc(void *h) { return fake_tsc; }
static uint64_t f_vp_runtime(void *h, unsigned int vp) { return 0; }
static bool f_apic_msr(void *h, unsigned int vp, unsigned int vtl, uint32_t m, bool w, uint64_t *v) { return false; }
static uint16_t f_get_vp_register(void *h, unsigned int vp, unsigned int vtl, unsigned int caller_vtl, uint32_t name,
				  uint64_t v[2])
{
	v[0] = name, v[1] = vp;
	return name & 1 ? 0 : HV_STATUS_INVALID_PARAMETER;
}
static uint16_t f_set_vp_register(void *h, unsigned int vp, unsigned int vtl, unsigned int caller_vtl, uint32_t name,
				  const uint64_t v[2])
{
	return name & 1 ? 0 : HV_STATUS_INVALID_PARAMETER;
}
static uint16_t f_set_initial_context(void *h, unsigned int vp, unsigned int vtl, const uint8_t c[224])
{
	return c[0] & 1 ? HV_STATUS_INVALID_PARAMETER : 0;
}
static uint16_t f_start_vp(void *h, unsigned int vp, unsigned int vtl, const uint8_t c[224])
{
	return HV_STATUS_INVALID_VP_STATE;
}
static void f_get_xmm(void *h, unsigned int vp, uint64_t x[6][2]) { memcpy(x, xmm_regs, sizeof(xmm_regs)); }
static void f_set_xmm(void *h, unsigned int vp, const uint64_t x[6][2]) { memcpy(xmm_regs, x, sizeof(xmm_regs)); }

static const struct hv_host_ops ops = {
	.guest_access = f_guest_access, .map_overlay = fake_map_overlay, .unmap_overlay = fake_unmap_overlay, .raise_irq = f_raise_irq, .flush_tlb = f_flush_tlb,
	.guest_tsc = f_guest_tsc, .vp_runtime = f_vp_runtime, .apic_msr = f_apic_msr,
	.get_xmm = f_get_xmm, .set_xmm = f_set_xmm,
	.get_vp_register = f_get_vp_register, .set_vp_register = f_set_vp_register,
	.set_initial_context = f_set_initial_context, .start_vp = f_start_vp,
};

static struct hv_partition *partition(void)
{
	static struct hv_partition *p;
	struct hv_config cfg = {
		.nr_vps = NR_VPS, .tsc_hz = 1000000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE,
		.gpa_limit = 1ull << 52, .ops = &ops, .max_vtl = 2,
	};

	if (!p) {
		p = hv_partition_create(&cfg);
		/* A SynIC to deliver into, and connections for PostMessage/SignalEvent. */
		hv_msr_write(p, 1, 0, HV_X64_MSR_SIMP, 0x1000 | 1);
		hv_msr_write(p, 1, 0, HV_X64_MSR_SIEFP, 0x2000 | 1);
		hv_msr_write(p, 1, 0, HV_X64_MSR_SCONTROL, 1);
		hv_msr_write(p, 1, 0, HV_X64_MSR_SINT0 + 2, 0x40);
		hv_connection_create_message(p, 1, 1, 0, 2);
		hv_connection_create_event(p, 2, 1, 0, 2);
	}
	return p;
}

struct fuzz_header {
	uint64_t control, in_gpa, out_gpa, rbx, rsi, rdi;
	uint8_t flags;		/* bit 0: long mode; bits 1-2: VP */
	uint8_t pad[7];
	uint64_t xmm[6][2];
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_partition *p = partition();
	struct fuzz_header h = { 0 };
	struct hv_hypercall_regs r;
	size_t n = size < sizeof(h) ? size : sizeof(h);

	memcpy(&h, data, n);
	memset(ram + 0x3000, 0, RAM_SIZE - 0x3000);
	if (size > sizeof(h))	/* the rest is guest memory for parameter blocks */
		memcpy(ram + 0x3000, data + sizeof(h),
		       size - sizeof(h) < RAM_SIZE - 0x3000 ? size - sizeof(h) : RAM_SIZE - 0x3000);
	memcpy(xmm_regs, h.xmm, sizeof(xmm_regs));
	r = (struct hv_hypercall_regs){
		.rax = h.control, .rbx = h.rbx, .rcx = h.control, .rdx = h.in_gpa, .rsi = h.rsi, .rdi = h.rdi,
		.r8 = h.out_gpa, .long_mode = h.flags & 1,
	};
	/* Run a call to completion the way a guest re-executes continued rep calls. */
	/* The VP and the VTL it calls from (VSM state persists between inputs, like a long-running guest). */
	unsigned int vp = (h.flags >> 1) & 3, vtl = hv_vp_active_vtl(p, vp);

	for (int i = 0; i < 16 && hv_hypercall(p, vp, vtl, &r) == HV_HYPERCALL_CONTINUE; i++)
		;
	fake_tsc += 1000;
	return 0;
}
