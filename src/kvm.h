/* The host's /dev/kvm: API version, capabilities kvsm relies on, and VM creation. */
#ifndef KVSM_KVM_H
#define KVSM_KVM_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cap_info {
	int cap;
	const char *name;
	bool required;		/* kvsm cannot run without it */
	const char *use;	/* what kvsm uses it for / what is lost without it */
};

extern const struct kvm_cap_info kvm_caps[];
extern const unsigned int kvm_nr_caps;

struct kvm_host {
	int fd;
	int api_version;
	int max_vcpus;
	int vcpu_mmap_size;
};

/* Open /dev/kvm; exits with a one-line message if missing, not permitted or unusable. */
void kvm_host_open(struct kvm_host *h);
/* Non-exiting variant for `kvsm info`: returns the errno of the failure, 0 on success. */
int kvm_host_try_open(struct kvm_host *h);
int kvm_check_cap(const struct kvm_host *h, int cap);
/*
 * Where RIP points at a KVM_EXIT_IO for an OUT: at the instruction (VMX and
 * SVM: KVM skips it when the vCPU runs again at that RIP) or past it (some
 * software KVMs). Found once, with a throw-away VM that runs one OUT.
 */
bool kvm_io_exit_rip_at_insn(const struct kvm_host *h);
/* One MSR of a vCPU through KVM_GET_MSRS / KVM_SET_MSRS; false if KVM refuses it. */
bool kvm_vcpu_get_msr(int vcpu_fd, uint32_t msr, uint64_t *val);
bool kvm_vcpu_set_msr(int vcpu_fd, uint32_t msr, uint64_t val);
/* Exit with a message if a required capability is missing. */
void kvm_require_caps(const struct kvm_host *h);

#endif
