/* `kvsm info`: what this host's KVM offers kvsm, and what that means for guests. */
#include "builtin.h"
#include "kvm.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int cmd_info(int argc, char *argv[])
{
	struct kvm_host h;
	int err, missing_required = 0;

	(void)argv;
	if (argc > 0)
		die(KVSM_EXIT_USAGE, "info takes no arguments");
	err = kvm_host_try_open(&h);
	if (err) {
		printf("/dev/kvm: unavailable (%s)\n", strerror(err));
		printf("kvsm cannot run guests on this host.\n");
		return KVSM_EXIT_HOST;
	}
	printf("/dev/kvm: KVM API version %d, up to %d vCPUs per VM\n", h.api_version, h.max_vcpus);
	printf("capabilities:\n");
	for (unsigned int i = 0; i < kvm_nr_caps; i++) {
		const struct kvm_cap_info *c = &kvm_caps[i];
		bool present = kvm_check_cap(&h, c->cap) > 0;

		printf("  %-28s %-8s %s%s\n", c->name, present ? "present" : "missing",
		       c->required ? "[required] " : "", c->use);
		missing_required += c->required && !present;
	}
	if (missing_required) {
		printf("kvsm cannot run guests: %d required capabilities are missing.\n", missing_required);
		return KVSM_EXIT_HOST;
	}
	printf("guests: VTL0-VTL2 (--vtls 1..3), one KVM VM per VTL.\n"
	       "VTL protections: every mask, with GPA intercepts (mprotect on the lower VTL's view;\n"
	       "        readable but not executable pages leave its memslots and each data access\n"
	       "        to them exits: --policy permissive leaves them executable instead). No MBEC.\n"
	       "register intercepts (HvX64RegisterCrInterceptControl): MSR reads and writes (IA32_MISC_ENABLE\n"
	       "        with its mask, LSTAR, STAR, CSTAR, APIC_BASE, EFER, SYSENTER_*, SFMASK, TSC_AUX, XSS,\n"
	       "        CET MSRs) through KVM's MSR filter, as MsrIntercept messages. CR0, CR4, XCR0, GDTR,\n"
	       "        IDTR, LDTR and TR writes never leave KVM: --policy strict refuses those bits with\n"
	       "        OPERATION_DENIED, --policy permissive records them (--stats) and enforces nothing.\n"
	       "I/O port intercepts (HvCallInstallIntercept): IN, OUT and OUTS of the lower VTL, except\n"
	       "        ports KVM serves in the kernel (PIC, PIT) and INS (not intercepted, counted).\n");
	return 0;
}
