/*
 * The hypercall page (TLFS 3.13, spec section 2.3): the TLFS layout with the
 * VTL call/return thunks at their published offsets, but with VMCALL replaced
 * by `nop; out imm8, al` (also 3 bytes) to the VMM's cfg.hypercall_port:
 * stock KVM handles VMCALL
 * in the kernel, while a port write always reaches kvsm and clobbers nothing.
 * The nop comes first so that a call can be issued again (a rep
 * continuation, a #UD at the call) by resuming at the nop: resuming at the
 * out itself would not do, since hardware-virtualized KVM skips an OUT it
 * exited for when the guest is re-entered at the same RIP.
 */
#include "hypercall_page.h"
#include "hv_internal.h"

#include <string.h>

#define HC	0x90, 0xE6, 0x00	/* nop; out imm8, al: the port is written in per partition */
#define RET	0xC3

static const uint8_t thunks[] = {
	/* 0x00: hypercall */
	HC, RET,
	/* 0x04: 32-bit VTL call: mov ecx, eax; mov eax, 0x11 */
	0x89, 0xC1, 0xB8, 0x11, 0x00, 0x00, 0x00, HC, RET,
	/* 0x0F: 64-bit VTL call: mov rax, rcx; mov ecx, 0x11 */
	0x48, 0x89, 0xC8, 0xB9, 0x11, 0x00, 0x00, 0x00, HC, RET,
	/* 0x1B: 32-bit VTL return */
	0x89, 0xC1, 0xB8, 0x12, 0x00, 0x00, 0x00, HC, RET,
	/* 0x26: 64-bit VTL return */
	0x48, 0x89, 0xC8, 0xB9, 0x12, 0x00, 0x00, 0x00, HC, RET,
};

_Static_assert(sizeof(thunks) == 0x32, "thunk offsets follow the TLFS layout");

/* Where each HC's port byte lies: after the thunk's own instructions (0, 7, 8, 7, 8 bytes) and `nop; 0xE6`. */
static const uint8_t port_at[] = { 0x02, 0x04 + 7 + 2, 0x0F + 8 + 2, 0x1B + 7 + 2, 0x26 + 8 + 2 };

bool hv_hypercall_page_fill(const struct hv_partition *p, unsigned int vtl, uint64_t gpa)
{
	uint8_t page[HV_PAGE_SIZE];

	memcpy(page, thunks, sizeof(thunks));
	for (unsigned int i = 0; i < sizeof(port_at); i++)
		page[port_at[i]] = p->cfg.hypercall_port;
	memset(page + sizeof(thunks), 0xCC, HV_PAGE_SIZE - sizeof(thunks));	/* int3: catch stray jumps */
	return hv_write_guest(p, vtl, gpa, page, sizeof(page));
}
