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
#include "builtin-bench.h"
#include "kvsm/hv.h"
#include "kvsm/tlfs.h"
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

/* One size: 2 figures (kvsm's protect against memslots, and its relax), or 0 if it cannot be measured. */
static unsigned int one_size(struct vm *vm, unsigned int s, unsigned int reps, struct bench_fig *out)
{
	static const unsigned int sizes[] = { 1000, 10000, 100000 };
	static const char *const keys[][2] = {
		{ "protect_1000", "relax_1000" }, { "protect_10000", "relax_10000" },
		{ "protect_100000", "relax_100000" },
	};
	static const char *const whats[][2] = {
		{ "ModifyVtlProtectionMask, 10^3 pages, per page", "  the same pages relaxed (RWX), per page" },
		{ "ModifyVtlProtectionMask, 10^4 pages, per page", "  the same pages relaxed (RWX), per page" },
		{ "ModifyVtlProtectionMask, 10^5 pages, per page", "  the same pages relaxed (RWX), per page" },
	};
	unsigned long max_map = read_ulong("/proc/sys/vm/max_map_count");
	int max_slots = kvm_check_cap(&vm->host, KVM_CAP_NR_MEMSLOTS);
	bool readonly = kvm_check_cap(&vm->host, KVM_CAP_READONLY_MEM) > 0;
	unsigned int n = sizes[s];
	uint64_t slots = 2ull * n + 1;
	bool floor = readonly && max_slots > 0 && slots <= (uint64_t)max_slots;

	/* Each page splits VTL0's view: two more VMAs; past the limit mprotect fails (docs/vsm.md). */
	if (vma_count() + 2ull * n + MAP_HEADROOM > max_map) {
		printf("  %u pages: not measured, needs %llu more map areas than vm.max_map_count = %lu allows%s\n", n,
		       2ull * n, max_map, geteuid() ? "" : " (as root: sysctl -w vm.max_map_count=262144)");
		return 0;
	}
	if (!floor)
		printf("  %u pages: no memslot floor: %s\n", n, readonly ? "more slots than KVM_CAP_NR_MEMSLOTS" :
		       "no KVM_MEM_READONLY");
	out[0] = (struct bench_fig){ .key = keys[s][0], .what = whats[s][0], .floor = floor ? "memslots" : NULL };
	out[1] = (struct bench_fig){ .key = keys[s][1], .what = whats[s][1] };
	for (unsigned int r = 0; r < reps; r++) {
		uint16_t st = 0;
		uint64_t prot = modify(vm, n, HV_MAP_GPA_READABLE | HV_MAP_GPA_KERNEL_EXECUTABLE, &st);
		uint64_t relax = prot ? modify(vm, n, HV_MAP_GPA_RWX, &st) : 0;

		if (!relax)
			die(KVSM_EXIT_HOST, "bench: HvCallModifyVtlProtectionMask failed (status %#x)", st);
		bench_fig_add(&out[0], prot / 1e3 / n, floor ? memslots(&vm->host, n) / 1e3 / n : 0);
		bench_fig_add(&out[1], relax / 1e3 / n, 0);
	}
	return 2;
}

unsigned int bench_prot(struct vm *vm, unsigned int reps, bool short_mode, struct bench_fig *out)
{
	unsigned int nr = 0;

	printf("  protections: scattered pages (every other page); floor: the same as KVM memslots "
	       "(KVM_CAP_NR_MEMSLOTS = %d, 2n + 1 slots; vm.max_map_count = %lu)\n",
	       kvm_check_cap(&vm->host, KVM_CAP_NR_MEMSLOTS), read_ulong("/proc/sys/vm/max_map_count"));
	for (unsigned int s = 0; s < (short_mode ? 1u : 3u); s++)
		nr += one_size(vm, s, reps, out + nr);
	return nr;
}
