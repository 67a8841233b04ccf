/*
 * minimal-host: a VMM of its own around libkvsm, built only against the
 * installed library (cc minimal-host.c $(pkg-config --cflags --libs kvsm)).
 *
 * The public API is the Hyper-V/VSM core, not a KVM machine, so this host
 * plays the guest itself: it owns one VP's guest memory, fills
 * hv_host_ops, and issues the hypercalls a two-VTL guest kernel would,
 * switching VTLs when the core says so (docs/libkvsm.md, "The example").
 */
#include <kvsm/hv.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The TLFS names come with kvsm/hv.h (kvsm/tlfs.h). */
#define HV_MAP_GPA_R				1
#define HV_MAP_GPA_W				2
#define HV_MAP_GPA_X				(4 | 8)	/* kernel and user execute move together */

#define PAGE 4096u
#define RAM_SIZE (64 * PAGE)
#define HYPERCALL_GPA (1 * PAGE)
#define IN_GPA (2 * PAGE)
#define OUT_GPA (3 * PAGE)
#define SECRET_GPA (16 * PAGE)	/* the page VTL1 takes write access to away from VTL0 */

struct host {
	uint8_t *ram;
	uint8_t access[HV_MAX_VTLS][RAM_SIZE / PAGE];	/* HV_MAP_GPA mask each VTL's view allows */
	uint8_t *overlay[HV_MAX_VTLS][RAM_SIZE / PAGE];	/* per-VTL overlay pages, NULL where RAM shows */
	unsigned int overlay_users[HV_MAX_VTLS][RAM_SIZE / PAGE];
	unsigned int vtl;				/* the VTL the one VP runs */
};

static void *guest_access(void *h, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	struct host *host = h;
	uint64_t pn = gpa / PAGE;

	if (gpa >= RAM_SIZE)
		return NULL;
	if (host->overlay[vtl][pn])
		return host->overlay[vtl][pn] + gpa % PAGE;
	return host->access[vtl][pn] & (write ? HV_MAP_GPA_W : HV_MAP_GPA_R) ? host->ram + gpa : NULL;
}

static bool map_overlay(void *h, unsigned int vtl, uint64_t gpa)
{
	struct host *host = h;
	uint64_t pn = gpa / PAGE;

	if (gpa >= RAM_SIZE)
		return false;
	if (!host->overlay[vtl][pn] && !(host->overlay[vtl][pn] = calloc(1, PAGE)))
		return false;
	host->overlay_users[vtl][pn]++;
	return true;
}

static void unmap_overlay(void *h, unsigned int vtl, uint64_t gpa)
{
	struct host *host = h;
	uint64_t pn = gpa / PAGE;

	if (--host->overlay_users[vtl][pn])
		return;
	free(host->overlay[vtl][pn]);
	host->overlay[vtl][pn] = NULL;
}

/* One VP and no interrupt controller: nothing here raises interrupts the example waits for. */
static void raise_irq(void *h, unsigned int vp, unsigned int vtl, uint8_t vector, bool auto_eoi)
{
	printf("irq vp%u vtl%u vector %#x\n", vp, vtl, vector);
}

/* The host keeps no TLB of guest translations, so a flush has nothing to drop. */
static void flush_tlb(void *h, unsigned int caller_vp, unsigned int vtl, const uint64_t *mask)
{
}

static void tlb_unlocked(void *h)
{
}

static uint64_t guest_tsc(void *h)
{
	return 0;
}

static uint64_t vp_runtime(void *h, unsigned int vp)
{
	return 0;
}

static bool apic_msr(void *h, unsigned int vp, unsigned int vtl, uint32_t msr, bool write, uint64_t *val)
{
	return false;
}

/* This host keeps no architectural registers: every such access is refused. */
static uint16_t get_vp_register(void *h, unsigned int vp, unsigned int vtl, unsigned int caller_vtl, uint32_t name,
				uint64_t val[2])
{
	return 0x0006;	/* HV_STATUS_ACCESS_DENIED */
}

static uint16_t set_vp_register(void *h, unsigned int vp, unsigned int vtl, unsigned int caller_vtl, uint32_t name,
				const uint64_t val[2])
{
	return 0x0006;
}

static uint16_t set_initial_context(void *h, unsigned int vp, unsigned int vtl, const struct hv_initial_vp_context *ctx)
{
	printf("initial context for vp%u vtl%u\n", vp, vtl);
	return 0;
}

static uint16_t start_vp(void *h, unsigned int vp, unsigned int vtl, const struct hv_initial_vp_context *ctx)
{
	return 0x0012;	/* HV_STATUS_INVALID_VP_STATE: the one VP already runs */
}

static bool is_ram(void *h, uint64_t gpa)
{
	return gpa < RAM_SIZE;
}

static bool protect(void *h, unsigned int vtl, uint64_t gpa, uint64_t npages, uint8_t access)
{
	struct host *host = h;

	printf("protect vtl%u gpa %#" PRIx64 " pages %" PRIu64 " access %#x\n", vtl, gpa, npages, access);
	for (uint64_t i = 0; i < npages && gpa / PAGE + i < RAM_SIZE / PAGE; i++)
		host->access[vtl][gpa / PAGE + i] = access;
	return true;
}

static void get_xmm(void *h, unsigned int vp, unsigned int vtl, uint64_t xmm[6][2])
{
	memset(xmm, 0, 6 * sizeof(xmm[0]));
}

static void set_xmm(void *h, unsigned int vp, unsigned int vtl, const uint64_t xmm[6][2])
{
}

/* No synthetic timer is ever armed here; a VMM with a guest wakes a thread of its own for hv_timer_expired(). */
static void timer_arm(void *h, uint64_t deadline)
{
}

static const struct hv_host_ops ops = {
	.guest_access = guest_access, .map_overlay = map_overlay, .unmap_overlay = unmap_overlay,
	.raise_irq = raise_irq, .flush_tlb = flush_tlb, .tlb_unlocked = tlb_unlocked, .guest_tsc = guest_tsc,
	.vp_runtime = vp_runtime, .apic_msr = apic_msr, .get_vp_register = get_vp_register,
	.set_vp_register = set_vp_register, .set_initial_context = set_initial_context, .start_vp = start_vp,
	.is_ram = is_ram, .protect = protect, .get_xmm = get_xmm, .set_xmm = set_xmm, .timer_arm = timer_arm,
};

static struct host host;

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(host.ram + gpa, &v, 8);
}

/*
 * What the hypercall exit handler of a VMM does: issue the call from the VTL
 * the VP runs and act on the outcome; a VTL switch is recorded with
 * hv_vtl_entered before the VP runs in its new VTL. Returns RAX's status.
 */
static uint16_t hypercall(struct hv_partition *p, uint64_t control, uint64_t rax)
{
	struct hv_hypercall_regs r = { .long_mode = true, .rcx = control, .rdx = IN_GPA, .r8 = OUT_GPA, .rax = rax };
	enum hv_hypercall_outcome o;

	if (!hv_hypercall_enabled(p, 0, host.vtl)) {
		printf("hypercall page not enabled in vtl%u\n", host.vtl);
		exit(1);
	}
	o = hv_hypercall(p, 0, host.vtl, &r);
	switch (o) {
	case HV_HYPERCALL_DONE:
		printf("vtl%u %s: status %#x\n", host.vtl, hv_hypercall_name(control & 0xffff), (uint16_t)r.rax);
		return (uint16_t)r.rax;
	case HV_HYPERCALL_SWITCH_VTL:
		printf("vtl%u %s: enter vtl%u\n", host.vtl, hv_hypercall_name(control & 0xffff), r.target_vtl);
		hv_vtl_entered(p, 0, r.target_vtl, r.entry_reason);
		host.vtl = r.target_vtl;
		return 0;
	default:
		printf("vtl%u call %#" PRIx64 ": unexpected outcome %d\n", host.vtl, control, o);
		exit(1);
	}
}

static void input_header(uint64_t partition_id)
{
	memset(host.ram + IN_GPA, 0, PAGE);
	put64(IN_GPA, partition_id);
}

/* The MSRs a guest writes before its first hypercall, from VTL vtl. */
static void enable_hypercalls(struct hv_partition *p, unsigned int vtl)
{
	if (hv_msr_write(p, 0, vtl, HV_X64_MSR_GUEST_OS_ID, 0x8100000000000000ull) != HV_MSR_OK ||
	    hv_msr_write(p, 0, vtl, HV_X64_MSR_HYPERCALL, HYPERCALL_GPA | 1) != HV_MSR_OK) {
		printf("vtl%u: hypercall MSRs refused\n", vtl);
		exit(1);
	}
}

int main(void)
{
	struct hv_config cfg = {
		.nr_vps = 1, .tsc_hz = 1000000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE, .ram_end = RAM_SIZE,
		.gpa_limit = 1ull << 36, .max_vtl = 1, .policy = HV_POLICY_STRICT, .hypercall_port = 0xE8, .ops = &ops,
		.host = &host,
	};
	/* VTL1 starts in 64-bit mode: flat code and data, a busy TSS, paging on. */
	const struct hv_x64_segment_register data = { .limit = 0xffffffff, .selector = 0x10, .attributes = 0xc093 };
	const struct hv_initial_vp_context vtl1_start = {
		.rip = 0x8000, .rsp = 0x9000, .rflags = 0x2,
		.cs = { .limit = 0xffffffff, .selector = 0x08, .attributes = 0xa09b },
		.ds = data, .es = data, .fs = data, .gs = data, .ss = data,
		.tr = { .limit = 0x67, .selector = 0x18, .attributes = 0x8b },
		.efer = 0x500, .cr0 = 0x80000011, .cr3 = 0x4000, .cr4 = 0x20,
	};
	struct hv_partition *p;
	uint32_t id[4];
	int ok;

	host.ram = calloc(1, RAM_SIZE);
	memset(host.access, HV_MAP_GPA_R | HV_MAP_GPA_W | HV_MAP_GPA_X, sizeof(host.access));
	if (!host.ram || !(p = hv_partition_create(&cfg)))
		return 1;
	hv_cpuid(p, 0x40000000, id);
	printf("cpuid 0x40000000: vendor %.4s%.4s%.4s\n", (char *)&id[1], (char *)&id[2], (char *)&id[3]);

	/* VTL0's boot: hypercalls, then VTL1 on the partition and on the VP. */
	enable_hypercalls(p, 0);
	input_header(HV_PARTITION_ID_SELF);
	host.ram[IN_GPA + 8] = 1;
	ok = hypercall(p, HVCALL_ENABLE_PARTITION_VTL, 0) == 0;
	input_header(HV_PARTITION_ID_SELF);
	memcpy(host.ram + IN_GPA + 8, &(uint32_t){ 0 }, 4);
	host.ram[IN_GPA + 12] = 1;
	memcpy(host.ram + IN_GPA + 16, &vtl1_start, sizeof(vtl1_start));
	ok &= hypercall(p, HVCALL_ENABLE_VP_VTL, 0) == 0;

	/* VTL0 calls VTL1, which sets its own hypercall page up and turns VTL protection on. */
	hypercall(p, HVCALL_VTL_CALL, 0);
	ok &= host.vtl == 1 && hv_vp_active_vtl(p, 0) == 1;
	enable_hypercalls(p, 1);
	input_header(HV_PARTITION_ID_SELF);
	memcpy(host.ram + IN_GPA + 8, &(uint32_t){ HV_VP_INDEX_SELF }, 4);
	put64(IN_GPA + 16, HV_REGISTER_VSM_PARTITION_CONFIG);
	put64(IN_GPA + 32, 1 | 0xf << 1);	/* EnableVtlProtection, default mask RWX */
	ok &= hypercall(p, HVCALL_SET_VP_REGISTERS | 1ull << 32, 0) == 0;

	/* VTL1 makes SECRET_GPA read-only for VTL0: one rep, the page's number. */
	input_header(HV_PARTITION_ID_SELF);
	memcpy(host.ram + IN_GPA + 8, &(uint32_t){ HV_MAP_GPA_R | HV_MAP_GPA_X }, 4);
	put64(IN_GPA + 16, SECRET_GPA / PAGE);
	ok &= hypercall(p, HVCALL_MODIFY_VTL_PROTECTION_MASK | 1ull << 32, 0) == 0;

	/* Back in VTL0, the core and this host agree: the page reads, but does not write. */
	hypercall(p, HVCALL_VTL_RETURN, 0);
	ok &= host.vtl == 0 && hv_vp_active_vtl(p, 0) == 0;
	printf("vtl0 effective access to %#x: %#x, denied write by vtl%d\n", SECRET_GPA,
	       hv_vtl_prot_effective(p, 0, SECRET_GPA), hv_vtl_prot_denier(p, 0, SECRET_GPA, HV_MAP_GPA_W));
	ok &= guest_access(&host, 0, SECRET_GPA, 8, false) && !guest_access(&host, 0, SECRET_GPA, 8, true) &&
	      guest_access(&host, 1, SECRET_GPA, 8, true);

	hv_partition_destroy(p);
	free(host.ram);
	printf("%s\n", ok ? "minimal-host: ok" : "minimal-host: FAILED");
	return !ok;
}
