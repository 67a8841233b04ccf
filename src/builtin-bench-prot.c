/*
 * `kvsm bench`, VTL protections: HvCallModifyVtlProtectionMask over 10^3,
 * 10^4 and 10^5 scattered pages (every other page, so each page is a run of
 * its own: one mprotect, two more VMAs), against the same pattern as KVM
 * memslots, the design kvsm did not take (DESIGN.md section 3).
 *
 * kvsm's path runs in-process once the bench guest has stopped: the real
 * dispatcher (hv_hypercall, as VTL1 of VP 0, which enabled protection) reads
 * each GPA list from guest RAM and applies the masks through the real host
 * operations to VTL0's view, whose KVM VM sees every mprotect. That is the
 * guests' calls without their exits (one per 256 pages, a bare exit each);
 * issuing them from the guest would also time its list building, emulated.
 * The pages are untouched RAM on both sides.
 */
#include "builtin.h"
#include "kvsm/hv.h"
#include "hv/tlfs.h"
#include "util.h"
#include "vm.h"

#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROT_GPA	(64ull << 20)		/* above everything the bench guest uses */
#define LIST_GPA	(PROT_GPA - 4096)
#define LIST_MAX	510			/* GPNs after the 16-byte header in one input page */
#define MAP_HEADROOM	64			/* VMAs left for everything else the process maps */

/* VTL1 gives VTL0 `mask` on n pages from PROT_GPA, every other one; ns, or 0 if a call failed (*st). */
static uint64_t modify(struct vm *vm, unsigned int n, uint32_t mask, uint16_t *st)
{
	uint64_t *in = guest_mem_priv(&vm->mem, LIST_GPA, 4096);
	uint64_t t0 = monotonic_ns();

	for (unsigned int i = 0; i < n; i += LIST_MAX) {
		unsigned int k = n - i < LIST_MAX ? n - i : LIST_MAX;
		struct hv_hypercall_regs r = {
			.rcx = HVCALL_MODIFY_VTL_PROTECTION_MASK | (uint64_t)k << 32, .rdx = LIST_GPA, .long_mode = true,
		};
		enum hv_hypercall_outcome out;

		in[0] = HV_PARTITION_ID_SELF;
		in[1] = mask;				/* TargetVtl 0: the caller's own masks */
		for (unsigned int j = 0; j < k; j++)
			in[2 + j] = PROT_GPA / 4096 + 2 * (i + j);
		while ((out = hv_hypercall(vm->hv, 0, 1, &r)) == HV_HYPERCALL_CONTINUE)
			;
		*st = (uint16_t)r.rax;
		if (out != HV_HYPERCALL_DONE || *st)
			return 0;
	}
	return monotonic_ns() - t0;
}

static unsigned long read_ulong(const char *path)
{
	unsigned long v = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static unsigned long vma_count(void)
{
	unsigned long n = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	int c;

	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void set_slot(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, uint8_t *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		die_errno(KVSM_EXIT_HOST, "bench: KVM_SET_USER_MEMORY_REGION (slot %u)", slot);
}

/*
 * The same protections as memslots, on a scratch VM: 2n + 1 pages of RAM
 * start as one slot; protecting splits it into one slot per page, the n
 * protected ones KVM_MEM_READONLY. Timed: removing the big slot and creating
 * the 2n + 1 small ones. ns.
 */
static uint64_t memslots(const struct kvm_host *h, unsigned int n)
{
	uint64_t pages = 2ull * n + 1, t0, t;
	uint8_t *ram = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	int vm_fd = ioctl(h->fd, KVM_CREATE_VM, 0);

	if (ram == MAP_FAILED || vm_fd < 0)
		die_errno(KVSM_EXIT_HOST, "bench: scratch VM");
	set_slot(vm_fd, 0, 0, 0, pages * 4096, ram);
	t0 = monotonic_ns();
	set_slot(vm_fd, 0, 0, 0, 0, ram);
	for (uint64_t i = 0; i < pages; i++)
		set_slot(vm_fd, (uint32_t)i, i & 1 ? KVM_MEM_READONLY : 0, i * 4096, 4096, ram + i * 4096);
	t = monotonic_ns() - t0;
	close(vm_fd);
	munmap(ram, pages * 4096);
	return t;
}

void bench_prot(struct vm *vm)
{
	static const unsigned int sizes[] = { 1000, 10000, 100000 };
	unsigned long max_map = read_ulong("/proc/sys/vm/max_map_count");
	int max_slots = kvm_check_cap(&vm->host, KVM_CAP_NR_MEMSLOTS);
	bool readonly = kvm_check_cap(&vm->host, KVM_CAP_READONLY_MEM) > 0;

	printf("  HvCallModifyVtlProtectionMask, scattered pages (every other page), per page;\n"
	       "  floor: the same protections as KVM memslots (KVM_CAP_NR_MEMSLOTS = %d, vm.max_map_count = %lu):\n",
	       max_slots, max_map);
	for (unsigned int s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned int n = sizes[s];
		uint64_t slots = 2ull * n + 1, prot, relax, ms;
		uint16_t st = 0;

		printf("  %7u pages", n);
		/* Each page splits VTL0's view: two more VMAs; past the limit mprotect fails (docs/vsm.md). */
		if (vma_count() + 2ull * n + MAP_HEADROOM > max_map) {
			printf("  kvsm: not measured, needs %llu more map areas than vm.max_map_count = %lu allows%s\n",
			       2ull * n, max_map, geteuid() ? "" : " (as root: sysctl -w vm.max_map_count=262144)");
			continue;
		}
		prot = modify(vm, n, HV_MAP_GPA_READABLE | HV_MAP_GPA_KERNEL_EXECUTABLE, &st);
		relax = prot ? modify(vm, n, HV_MAP_GPA_RWX, &st) : 0;
		if (!relax)
			die(KVSM_EXIT_HOST, "bench: HvCallModifyVtlProtectionMask failed (status %#x)", st);
		printf("  kvsm %7.2f us (relax %6.2f us)", prot / 1e3 / n, relax / 1e3 / n);
		if (!readonly || max_slots <= 0) {
			printf("  memslots: no KVM_MEM_READONLY\n");
			continue;
		}
		if (slots > (uint64_t)max_slots) {
			printf("  memslots: impossible, %llu slots > %d\n", (unsigned long long)slots, max_slots);
			continue;
		}
		ms = memslots(&vm->host, n);
		printf("  memslots %8.2f us (%llu slots)  kvsm %6.3fx memslots\n", ms / 1e3 / n,
		       (unsigned long long)slots, (double)prot / (double)ms);
	}
}
