/*
 * Writes a --timeline file without KVM, for tests/cli/timeline.sh: VP0 records
 * more events than its buffer holds (overflow), VP1 a VTL call and return.
 * usage: mktimeline FILE
 */
#include "timeline.h"

#include <stdio.h>

int main(int argc, char *argv[])
{
	struct kvm_regs call = { .rcx = 0x11, .rip = 0x1000 };
	struct hv_gpa_access gpa = { .access = HV_INTERCEPT_WRITE, .gpa = 0x5000, .gva = 0xffff5000, .gva_valid = true };
	struct hv_io_access io = { .port = 0x60, .size = 1, .write = true };
	struct timeline *tl;

	if (argc != 2) {
		fprintf(stderr, "usage: mktimeline FILE\n");
		return 2;
	}
	tl = timeline_open(argv[1], "synthetic \"guest\"", 2, 16);
	for (unsigned int vp = 0; vp < 2; vp++) {
		struct timeline_vp *t = &tl->vp[vp];

		timeline_start(t);
		for (unsigned int i = 0; i < (vp ? 1 : 10); i++) {
			timeline_exit(t, TL_EXIT_HYPERCALL);
			timeline_hypercall(t, &call, true, HV_HYPERCALL_SWITCH_VTL, 0, 0x1000);
			timeline_vtl(t, 1, HV_VTL_ENTRY_VTL_CALL, 0x1003, 0x200000);
			timeline_exit(t, TL_EXIT_IO);
			timeline_gpa(t, 1, &gpa, 0x1010);
			timeline_msr(t, 1, 0xc0000082, true, 0x1234, 0x1020);
			timeline_io(t, 1, &io, 0x1030);
			timeline_vtl(t, 0, HV_VTL_ENTRY_RETURN, 0x200010, 0x1003);
		}
	}
	return 0;
}
