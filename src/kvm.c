#include "kvm.h"
#include "kvm_compat.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

const struct kvm_cap_info kvm_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", true, "guest RAM from a host memfd" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", true, "in-kernel LAPIC/IOAPIC/PIC for VTL0" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", true, "in-kernel PIT for VTL0" },
	{ KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", true, "register access on exits without extra ioctls" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", true, "kicking a vCPU out of KVM_RUN without races" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", true, "per-vCPU CPUID (APIC IDs, hypervisor leaves)" },
	{ KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR", true, "synthetic Hyper-V MSRs in user space" },
	{ KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER", true, "routing synthetic, VTL1+ APIC and MTRR MSRs to user space" },
	{ KVM_CAP_XSAVE, "KVM_CAP_XSAVE", true, "moving x87/SSE/AVX state between VTLs; XMM fast hypercalls" },
	{ KVM_CAP_XCRS, "KVM_CAP_XCRS", true, "moving XCR0 between VTLs" },
	{ KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS", true, "moving DR0-DR3 between VTLs" },
	{ KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ", true, "TSC_FREQUENCY and the reference TSC page" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", false, "real-mode support on Intel VMX hosts" },
	{ KVM_CAP_EXIT_ON_EMULATION_FAILURE, "KVM_CAP_EXIT_ON_EMULATION_FAILURE", false, "user-mode fetches from non-executable pages become intercepts (else #UD)" },
	{ KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API", false, "32-bit MSI destinations: more than 255 VPs (else --smp <= 255)" },
	{ KVM_CAP_VCPU_ATTRIBUTES, "KVM_CAP_VCPU_ATTRIBUTES", false, "exact TSC offset for VTL1+ VMs (else set within one ioctl)" },
	{ KVM_CAP_HYPERV, "KVM_CAP_HYPERV", false, "not needed: kvsm implements Hyper-V in user space" },
};
const unsigned int kvm_nr_caps = ARRAY_SIZE(kvm_caps);

int kvm_host_try_open(struct kvm_host *h)
{
	h->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (h->fd < 0)
		return errno;
	h->api_version = ioctl(h->fd, KVM_GET_API_VERSION, 0);
	h->max_vcpus = ioctl(h->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (h->max_vcpus <= 0)
		h->max_vcpus = ioctl(h->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (h->max_vcpus <= 0)
		h->max_vcpus = 4;	/* KVM API doc: assume 4 when neither capability is reported */
	h->vcpu_mmap_size = ioctl(h->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	return 0;
}

void kvm_host_open(struct kvm_host *h)
{
	int err = kvm_host_try_open(h);

	if (err == ENOENT)
		die(KVSM_EXIT_HOST, "/dev/kvm does not exist: KVM is not available on this host");
	if (err == EACCES || err == EPERM)
		die(KVSM_EXIT_HOST, "no permission to open /dev/kvm (run as root or join the kvm group)");
	if (err) {
		errno = err;
		die_errno(KVSM_EXIT_HOST, "cannot open /dev/kvm");
	}
	if (h->api_version != KVM_API_VERSION)
		die(KVSM_EXIT_HOST, "KVM API version %d, kvsm needs %d", h->api_version, KVM_API_VERSION);
	if (h->vcpu_mmap_size < (int)sizeof(struct kvm_run))
		die(KVSM_EXIT_HOST, "KVM_GET_VCPU_MMAP_SIZE returned %d", h->vcpu_mmap_size);
}

int kvm_check_cap(const struct kvm_host *h, int cap)
{
	int r = ioctl(h->fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

struct one_msr {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e;
};

bool kvm_vcpu_get_msr(int vcpu_fd, uint32_t msr, uint64_t *val)
{
	struct one_msr m = { .hdr.nmsrs = 1, .e.index = msr };

	if (ioctl(vcpu_fd, KVM_GET_MSRS, &m) != 1)
		return false;
	*val = m.e.data;
	return true;
}

bool kvm_vcpu_set_msr(int vcpu_fd, uint32_t msr, uint64_t val)
{
	struct one_msr m = { .hdr.nmsrs = 1, .e = { .index = msr, .data = val } };

	return ioctl(vcpu_fd, KVM_SET_MSRS, &m) == 1;
}

void kvm_require_caps(const struct kvm_host *h)
{
	for (unsigned int i = 0; i < kvm_nr_caps; i++)
		if (kvm_caps[i].required && !kvm_check_cap(h, kvm_caps[i].cap))
			die(KVSM_EXIT_HOST, "KVM lacks %s (%s); see 'kvsm info'", kvm_caps[i].name,
			    kvm_caps[i].use);
}

bool kvm_io_exit_rip_at_insn(const struct kvm_host *h)
{
	static const uint8_t code[] = { 0xE6, 0x80, 0xF4 };	/* out 0x80, al; hlt */
	struct kvm_segment cs = { .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1, .db = 1, .s = 1,
				  .g = 1 };
	struct kvm_segment ds = cs;
	struct kvm_userspace_memory_region slot = { .memory_size = 4096 };
	struct kvm_regs regs = { .rflags = 2 };
	struct kvm_sregs sregs;
	struct kvm_run *run = MAP_FAILED;
	bool at_insn = true;		/* the documented VMX/SVM behaviour, if the probe cannot tell */
	int vm, cpu = -1;
	uint8_t *mem;

	vm = ioctl(h->fd, KVM_CREATE_VM, 0);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED)
		goto out;
	memcpy(mem, code, sizeof(code));
	slot.userspace_addr = (uintptr_t)mem;
	ds.type = 3;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) || (cpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		goto out;
	run = mmap(NULL, (size_t)h->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &sregs))
		goto out;
	sregs.cs = cs;					/* flat 32-bit protected mode, no paging */
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.cr0 |= 1;
	if (ioctl(cpu, KVM_SET_SREGS, &sregs) || ioctl(cpu, KVM_SET_REGS, &regs) || ioctl(cpu, KVM_RUN, 0) ||
	    run->exit_reason != KVM_EXIT_IO || ioctl(cpu, KVM_GET_REGS, &regs))
		goto out;
	at_insn = regs.rip == 0;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)h->vcpu_mmap_size);
	if (cpu >= 0)
		close(cpu);
	if (mem != MAP_FAILED)
		munmap(mem, 4096);
	if (vm >= 0)
		close(vm);
	return at_insn;
}
