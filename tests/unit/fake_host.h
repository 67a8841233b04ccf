/*
 * The fake VMM behind struct hv_host_ops that the core's unit tests and the
 * hypercall fuzzer share. Guest RAM is one buffer that every VTL sees
 * through its protections (overlays only counted); each operation records what the core
 * asked, in the struct fake_host its host pointer names. Header-only: each
 * test is one translation unit.
 */
#ifndef KVSM_TEST_FAKE_HOST_H
#define KVSM_TEST_FAKE_HOST_H

#include "kvsm/hv.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FAKE_MAX_CALLS 512
#define FAKE_MAX_PAGES 1024	/* protections are tracked for the first 4 MiB */

struct fake_irq { unsigned int vp, vtl; uint8_t vector; bool auto_eoi; };
/* A register access (name, val) or a context load (ctx) the core asked for. */
struct fake_call { unsigned int vp, vtl; uint32_t name; uint64_t val[2]; struct hv_initial_vp_context ctx; };

/* The port the tests' partitions give their hypercall pages. */
#define FAKE_HYPERCALL_PORT 0xE8

/*
 * A context the core accepts for any VTL: 64-bit long mode with paging, flat
 * code and data segments, a busy 64-bit TSS. seed varies RIP, RSP, CR3, the
 * descriptor-table bases and PAT, which the core passes on as they are.
 */
static inline void fake_context(struct hv_initial_vp_context *c, uint8_t seed)
{
	const struct hv_x64_segment_register data = { .limit = 0xffffffff, .selector = 0x10, .attributes = 0xc093 };

	*c = (struct hv_initial_vp_context){
		.rip = 0xffffffff81000000ull + seed * 0x10ull, .rsp = 0x200000 + seed * 0x100ull, .rflags = 0x2,
		.cs = { .limit = 0xffffffff, .selector = 0x08, .attributes = 0xa09b },
		.ds = data, .es = data, .fs = data, .gs = data, .ss = data,
		.tr = { .base = 0x3000, .limit = 0x67, .selector = 0x18, .attributes = 0x8b },
		.idtr = { .limit = 0xfff, .base = 0x5000 + seed },
		.gdtr = { .limit = 0x27, .base = 0x4000 + seed },
		.efer = 0x500, .cr0 = 0x80050033, .cr3 = 0x100000 + seed * 0x1000ull, .cr4 = 0x20,
		.msr_cr_pat = 0x0007040600070406ull ^ seed,
	};
}

struct fake_host {
	uint8_t *ram;
	uint64_t ram_size;
	unsigned int nr_vps;			/* for the width of flush masks */
	uint64_t tsc;				/* what guest_tsc returns (atomic) */
	unsigned int tsc_reads;			/* (atomic) */
	pthread_mutex_t irq_lock;		/* raise_irq may come from the timer thread */
	struct fake_irq irq[FAKE_MAX_CALLS];
	unsigned int nirqs;
	unsigned int flushes, flush_caller, flush_vtl;
	unsigned int unlocks;			/* tlb_unlocked calls */
	uint64_t flush_mask[64];
	uint64_t xmm[6][2];			/* the calling VP's XMM0-5 */
	unsigned int xmm_gets, xmm_sets, xmm_vp, xmm_vtl;
	struct fake_call ctx[FAKE_MAX_CALLS], start[FAKE_MAX_CALLS], get[FAKE_MAX_CALLS], set[FAKE_MAX_CALLS];
	unsigned int nctx, nstart, nget, nset;
	uint16_t ctx_status, start_status, reg_status;	/* what those operations return */
	void (*during_ctx_load)(void);		/* run once during the next context load (a racing VP) */
	int overlays_live;			/* overlay maps minus unmaps */
	/* VTL protections: per VTL and page, the HV_MAP_GPA access the core applied (0xF until then). */
	uint8_t access[3][FAKE_MAX_PAGES];
	unsigned int protects;			/* protect calls */
	uint64_t hole_gpn;			/* one page that is not RAM (0: none) */
	int protect_fail_after;			/* > 0: the protect call after that many fails */
	/* Optional: a VTL's view refuses gpa (for write, or any access) where this says so. */
	bool (*denies)(unsigned int vtl, uint64_t gpa, bool write);
	/* msr_intercepts_changed calls, and the VTL of the last. */
	unsigned int msr_filter_changes, msr_filter_vtl;
	uint16_t untrappable_port;		/* an I/O port that never reaches the host (0: none) */
	/* The timer hook: the last deadline asked for and how many times (atomic: any thread may ask). */
	uint64_t timer_deadline;
	unsigned int timer_arms;
	/* The log hook: lines said, and the last one. */
	unsigned int log_lines;
	enum hv_log_level log_level;
	char log_last[512];
	/* Optional: register values; false falls back to the pattern of fake_get_vp_register. */
	bool (*reg_value)(unsigned int vp, unsigned int vtl, uint32_t name, uint64_t v[2]);
};

static void *fake_guest_access(void *host, unsigned int vtl, uint64_t gpa, size_t len, bool write)
{
	struct fake_host *f = host;
	uint8_t a;

	if (gpa >= f->ram_size || len > f->ram_size - gpa)
		return NULL;
	if (f->denies && f->denies(vtl, gpa, write))
		return NULL;
	a = gpa / 4096 < FAKE_MAX_PAGES ? f->access[vtl][gpa / 4096] : 0xf;
	return a & (write ? 2 : 1) ? f->ram + gpa : NULL;
}

static bool fake_is_ram(void *host, uint64_t gpa)
{
	struct fake_host *f = host;

	return gpa < f->ram_size && (!f->hole_gpn || gpa / 4096 != f->hole_gpn);
}

static bool fake_protect(void *host, unsigned int vtl, uint64_t gpa, uint64_t npages, uint8_t access)
{
	struct fake_host *f = host;

	if (f->protect_fail_after > 0 && --f->protect_fail_after == 0)
		return false;
	f->protects++;
	for (uint64_t i = gpa / 4096; i < gpa / 4096 + npages && i < FAKE_MAX_PAGES; i++)
		if (fake_is_ram(host, i * 4096))
			f->access[vtl][i] = access;
	return true;
}

static bool fake_map_overlay(void *host, unsigned int vtl, uint64_t gpa)
{
	__atomic_add_fetch(&((struct fake_host *)host)->overlays_live, 1, __ATOMIC_RELAXED);
	return true;
}

static void fake_unmap_overlay(void *host, unsigned int vtl, uint64_t gpa)
{
	__atomic_sub_fetch(&((struct fake_host *)host)->overlays_live, 1, __ATOMIC_RELAXED);
}

static void fake_raise_irq(void *host, unsigned int vp, unsigned int vtl, uint8_t vector, bool auto_eoi)
{
	struct fake_host *f = host;

	pthread_mutex_lock(&f->irq_lock);
	if (f->nirqs < FAKE_MAX_CALLS)
		f->irq[f->nirqs] = (struct fake_irq){ vp, vtl, vector, auto_eoi };
	f->nirqs++;
	pthread_mutex_unlock(&f->irq_lock);
}

static void fake_flush_tlb(void *host, unsigned int caller_vp, unsigned int vtl, const uint64_t *mask)
{
	struct fake_host *f = host;

	f->flushes++;
	f->flush_caller = caller_vp;
	f->flush_vtl = vtl;
	memcpy(f->flush_mask, mask, (f->nr_vps + 63) / 64 * sizeof(*mask));
}

static void fake_tlb_unlocked(void *host)
{
	((struct fake_host *)host)->unlocks++;
}

static uint64_t fake_guest_tsc(void *host)
{
	struct fake_host *f = host;

	__atomic_fetch_add(&f->tsc_reads, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&f->tsc, __ATOMIC_SEQ_CST);
}

static uint64_t fake_vp_runtime(void *host, unsigned int vp)
{
	return 0;
}

static bool fake_apic_msr(void *host, unsigned int vp, unsigned int vtl, uint32_t msr, bool write, uint64_t *val)
{
	return false;
}

static void fake_get_xmm(void *host, unsigned int vp, unsigned int vtl, uint64_t xmm[6][2])
{
	struct fake_host *f = host;

	f->xmm_gets++;
	f->xmm_vp = vp;
	f->xmm_vtl = vtl;
	memcpy(xmm, f->xmm, sizeof(f->xmm));
}

static void fake_set_xmm(void *host, unsigned int vp, unsigned int vtl, const uint64_t xmm[6][2])
{
	struct fake_host *f = host;

	f->xmm_sets++;
	f->xmm_vp = vp;
	f->xmm_vtl = vtl;
	memcpy(f->xmm, xmm, sizeof(f->xmm));
}

static void fake_record(struct fake_call *calls, unsigned int *n, unsigned int vp, unsigned int vtl, uint32_t name,
			const uint64_t val[2], const struct hv_initial_vp_context *ctx)
{
	if (*n < FAKE_MAX_CALLS) {
		calls[*n] = (struct fake_call){ .vp = vp, .vtl = vtl, .name = name };
		if (val)
			memcpy(calls[*n].val, val, sizeof(calls[*n].val));
		if (ctx)
			calls[*n].ctx = *ctx;
	}
	(*n)++;
}

/* Reads give what reg_value says, else 0x1000000 + name and (vp << 8 | vtl). */
static uint16_t fake_get_vp_register(void *host, unsigned int vp, unsigned int vtl, unsigned int caller_vtl,
				     uint32_t name, uint64_t v[2])
{
	struct fake_host *f = host;

	fake_record(f->get, &f->nget, vp, vtl, name, NULL, NULL);
	if (f->reg_value && f->reg_value(vp, vtl, name, v))
		return f->reg_status;
	v[0] = 0x1000000ull + name;
	v[1] = (uint64_t)vp << 8 | vtl;
	return f->reg_status;
}

static uint16_t fake_set_vp_register(void *host, unsigned int vp, unsigned int vtl, unsigned int caller_vtl,
				     uint32_t name, const uint64_t v[2])
{
	struct fake_host *f = host;

	fake_record(f->set, &f->nset, vp, vtl, name, v, NULL);
	return f->reg_status;
}

static uint16_t fake_set_initial_context(void *host, unsigned int vp, unsigned int vtl,
					 const struct hv_initial_vp_context *ctx)
{
	struct fake_host *f = host;
	void (*race)(void) = f->during_ctx_load;

	f->during_ctx_load = NULL;
	if (race)
		race();
	fake_record(f->ctx, &f->nctx, vp, vtl, 0, NULL, ctx);
	return f->ctx_status;
}

static uint16_t fake_start_vp(void *host, unsigned int vp, unsigned int vtl, const struct hv_initial_vp_context *ctx)
{
	struct fake_host *f = host;

	fake_record(f->start, &f->nstart, vp, vtl, 0, NULL, ctx);
	return f->start_status;
}

static void fake_msr_intercepts_changed(void *host, unsigned int vtl)
{
	struct fake_host *f = host;

	f->msr_filter_changes++;
	f->msr_filter_vtl = vtl;
}

static bool fake_io_port_trappable(void *host, unsigned int vtl, uint16_t port)
{
	struct fake_host *f = host;

	return !f->untrappable_port || port != f->untrappable_port;
}

static void fake_timer_arm(void *host, uint64_t deadline)
{
	struct fake_host *f = host;

	__atomic_store_n(&f->timer_deadline, deadline, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->timer_arms, 1, __ATOMIC_RELAXED);
}

static void fake_log(void *host, enum hv_log_level level, const char *msg)
{
	struct fake_host *f = host;

	f->log_lines++;
	f->log_level = level;
	strncpy(f->log_last, msg, sizeof(f->log_last) - 1);
}

static const struct hv_host_ops fake_host_ops = {
	.guest_access = fake_guest_access, .map_overlay = fake_map_overlay, .unmap_overlay = fake_unmap_overlay,
	.raise_irq = fake_raise_irq, .flush_tlb = fake_flush_tlb,
	.tlb_unlocked = fake_tlb_unlocked, .guest_tsc = fake_guest_tsc,
	.vp_runtime = fake_vp_runtime, .apic_msr = fake_apic_msr,
	.get_vp_register = fake_get_vp_register, .set_vp_register = fake_set_vp_register,
	.set_initial_context = fake_set_initial_context, .start_vp = fake_start_vp,
	.get_xmm = fake_get_xmm, .set_xmm = fake_set_xmm, .is_ram = fake_is_ram, .protect = fake_protect,
	.msr_intercepts_changed = fake_msr_intercepts_changed, .io_port_trappable = fake_io_port_trappable,
	.timer_arm = fake_timer_arm, .log = fake_log,
};

/* Back to a fresh host over ram (keeps nothing of earlier calls). */
static void fake_reset(struct fake_host *f, uint8_t *ram, uint64_t ram_size, unsigned int nr_vps, uint64_t tsc)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->irq_lock, NULL);
	f->ram = ram;
	f->ram_size = ram_size;
	f->nr_vps = nr_vps;
	f->tsc = tsc;
	memset(f->access, 0xf, sizeof(f->access));
}

#endif
