/*
 * libFuzzer target for the hypercall path: arbitrary input values, parameter
 * GPAs, register and XMM contents and guest memory go through hv_hypercall()
 * (decoding, validation, input copy, every handler including the VSM ones,
 * output write). Built with
 * ASan and UBSan by `make fuzz`; any crash or out-of-bounds access is a bug.
 */
#include "../unit/fake_host.h"
#include "hv/hv_internal.h"

#include <stdlib.h>
#include <string.h>

#define RAM_SIZE (64 * 1024)
#define NR_VPS 130

static uint8_t ram[RAM_SIZE];
static struct fake_host fake;	/* ../unit/fake_host.h; its statuses come from each input */

static struct hv_partition *partition(void)
{
	static struct hv_partition *p;
	struct hv_config cfg = {
		.nr_vps = NR_VPS, .tsc_hz = 1000000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE,
		.gpa_limit = 1ull << 52, .hypercall_port = FAKE_HYPERCALL_PORT, .ops = &fake_host_ops, .host = &fake,
		.max_vtl = 2,
	};

	if (!p) {
		fake_reset(&fake, ram, RAM_SIZE, NR_VPS, 1000000);
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
	uint8_t flags;		/* bit 0: long mode; bits 1-2: VP; 3: register access fails; 4: context load fails */
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
	memcpy(fake.xmm, h.xmm, sizeof(fake.xmm));
	fake.reg_status = h.flags & 8 ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	fake.ctx_status = h.flags & 16 ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	fake.start_status = HV_STATUS_INVALID_VP_STATE;
	r = (struct hv_hypercall_regs){
		.rax = h.control, .rbx = h.rbx, .rcx = h.control, .rdx = h.in_gpa, .rsi = h.rsi, .rdi = h.rdi,
		.r8 = h.out_gpa, .long_mode = h.flags & 1,
	};
	/* Run a call to completion the way a guest re-executes continued rep calls. */
	/* The VP and the VTL it calls from (VSM state persists between inputs, like a long-running guest). */
	unsigned int vp = (h.flags >> 1) & 3, vtl = hv_vp_active_vtl(p, vp);

	for (int i = 0; i < 16; i++) {
		enum hv_hypercall_outcome o = hv_hypercall(p, vp, vtl, &r);

		if (o == HV_HYPERCALL_SWITCH_VTL)	/* as a host does: the switch is made and recorded */
			hv_vtl_entered(p, vp, r.target_vtl, r.entry_reason);
		if (o != HV_HYPERCALL_CONTINUE)
			break;
	}
	fake.tsc += 1000;
	return 0;
}
