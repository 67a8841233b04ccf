/*
 * Hypercall handlers (flush, cluster IPI, misc) and hv_vp_set_parse, called
 * directly through their descriptors with a fake host; hypercall.c's
 * decoding is not involved.
 */
#include "fake_host.h"
#include "test.h"
#include "hv/hv_internal.h"

#include <stdlib.h>

#define RAM_SIZE (1u << 20)

/* Two partitions: 200 VPs (four mask words, the last partial) and 2 VPs (mask bits past nr_vps). */
static struct fake_host f200, f2;	/* fake_host.h */
static struct hv_partition *p200, *p2;

static struct hv_partition *make_partition(struct fake_host *f, unsigned int nr_vps)
{
	struct hv_config cfg = {
		.nr_vps = nr_vps, .tsc_hz = 20000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE,
		.gpa_limit = 1ull << 36,
		.hypercall_port = FAKE_HYPERCALL_PORT, .ops = &fake_host_ops, .host = f,
	};

	fake_reset(f, calloc(1, RAM_SIZE), RAM_SIZE, nr_vps, 123456789);
	return hv_partition_create(&cfg);
}

static void reset(struct fake_host *f)
{
	f->nirqs = 0;
	f->flushes = 0;
	f->flush_caller = ~0u;
	f->flush_vtl = ~0u;
	memset(f->flush_mask, 0, sizeof(f->flush_mask));
}

/* ---- building and running calls ---- */

static uint8_t in_buf[HV_PAGE_SIZE] __attribute__((aligned(16)));
static uint8_t out_buf[HV_PAGE_SIZE] __attribute__((aligned(16)));

static const struct hv_hypercall_desc *desc(uint16_t code)
{
	const struct { const struct hv_hypercall_desc *d; unsigned int n; } tabs[] = {
		{ hv_hc_flush, hv_hc_flush_n }, { hv_hc_ipi, hv_hc_ipi_n }, { hv_hc_misc, hv_hc_misc_n },
	};

	for (unsigned int t = 0; t < 3; t++)
		for (unsigned int i = 0; i < tabs[t].n; i++)
			if (tabs[t].d[i].code == code)
				return &tabs[t].d[i];
	printf("  no descriptor for %#x\n", code);
	exit(1);
}

static void put64(unsigned int off, uint64_t v) { memcpy(in_buf + off, &v, 8); }
static void put32(unsigned int off, uint32_t v) { memcpy(in_buf + off, &v, 4); }
static uint32_t out32(unsigned int off) { uint32_t v; memcpy(&v, out_buf + off, 4); return v; }

/* A call from VP vp at VTL vtl; the input header is filled afterwards through put64/put32. */
static struct hv_hypercall call(struct hv_partition *p, uint16_t code, unsigned int vp, unsigned int vtl,
				unsigned int var_qwords, unsigned int rep_count)
{
	struct hv_hypercall hc = {
		.p = p, .vp = &p->vps[vp], .vtl = vtl, .code = code, .long_mode = true,
		.var_qwords = var_qwords, .rep_count = rep_count, .in = in_buf, .out = out_buf,
	};

	memset(in_buf, 0, sizeof(in_buf));
	memset(out_buf, 0xcc, sizeof(out_buf));
	hc.reps = in_buf + desc(code)->in_header + var_qwords * 8;
	reset(p->host);
	return hc;
}

static uint16_t run_simple(struct hv_hypercall *hc)
{
	return desc(hc->code)->simple(hc);
}

/* Elements rep_start..end-1 as the dispatcher runs them; *done gets the reps completed. */
static uint16_t run_reps(struct hv_hypercall *hc, unsigned int end, unsigned int *done)
{
	unsigned int i;
	uint16_t st = HV_STATUS_SUCCESS;

	for (i = hc->rep_start; i < end; i++) {
		st = desc(hc->code)->rep_fn(hc, i);
		if (st != HV_STATUS_SUCCESS)
			break;
	}
	*done = i;
	return st;
}

static uint16_t run_all_reps(struct hv_hypercall *hc, unsigned int *done)
{
	return run_reps(hc, hc->rep_count, done);
}

/* ---- descriptors ---- */

static void test_descriptors(void)
{
	static const struct { uint16_t code; bool rep, var; uint16_t in_header, in_elem, out_header, out_elem; } want[] = {
		{ HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, false, false, 24, 0, 0, 0 },
		{ HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, true, false, 24, 8, 0, 0 },
		{ HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, false, true, 32, 0, 0, 0 },
		{ HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, true, true, 32, 8, 0, 0 },
		{ HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, false, false, 16, 0, 0, 0 },
		{ HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, false, true, 24, 0, 0, 0 },
		{ HVCALL_NOTIFY_LONG_SPIN_WAIT, false, false, 8, 0, 0, 0 },
		{ HVCALL_GET_VP_INDEX_FROM_APIC_ID, true, false, 16, 4, 0, 4 },
	};

	EXPECT_EQ(hv_hc_flush_n, 4);
	EXPECT_EQ(hv_hc_ipi_n, 2);
	EXPECT_EQ(hv_hc_misc_n, 2);
	for (unsigned int i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct hv_hypercall_desc *d = desc(want[i].code);

		EXPECT(d->name && !strncmp(d->name, "HvCall", 6));
		EXPECT_EQ(d->rep, want[i].rep);
		EXPECT_EQ(d->var_header, want[i].var);
		EXPECT_EQ(d->privilege, 0);
		EXPECT_EQ(d->in_header, want[i].in_header);
		EXPECT_EQ(d->in_elem, want[i].in_elem);
		EXPECT_EQ(d->out_header, want[i].out_header);
		EXPECT_EQ(d->out_elem, want[i].out_elem);
		EXPECT(d->rep ? d->rep_fn && !d->simple : d->simple && !d->rep_fn);
	}
}

/* ---- HV_VP_SET ---- */

static void test_vp_set_sparse(void)
{
	uint8_t b[16 + 8 * 8];
	uint64_t mask[4], v;
	size_t used;

	/* Banks 0, 1, 2: VP 0, VP 65, VP 130. */
	memset(mask, 0xff, sizeof(mask));	/* must be cleared by the parser */
	v = HV_GENERIC_SET_SPARSE_4K; memcpy(b, &v, 8);
	v = 0x7; memcpy(b + 8, &v, 8);
	v = 1ull << 0; memcpy(b + 16, &v, 8);
	v = 1ull << 1; memcpy(b + 24, &v, 8);
	v = 1ull << 2; memcpy(b + 32, &v, 8);
	EXPECT_EQ(hv_vp_set_parse(b, 40, 200, mask, &used), HV_STATUS_SUCCESS);
	EXPECT_EQ(used, 40);
	EXPECT_EQ(mask[0], 1);
	EXPECT_EQ(mask[1], 2);
	EXPECT_EQ(mask[2], 4);
	EXPECT_EQ(mask[3], 0);

	/* Banks 0 and 3 packed back to back; bank 3 is cut at VP 199; bank 5 (VPs 320+) is ignored. */
	v = (1ull << 0) | (1ull << 3) | (1ull << 5); memcpy(b + 8, &v, 8);
	v = 0x8000000000000001ull; memcpy(b + 16, &v, 8);
	v = ~0ull; memcpy(b + 24, &v, 8);
	v = ~0ull; memcpy(b + 32, &v, 8);
	EXPECT_EQ(hv_vp_set_parse(b, 40, 200, mask, &used), HV_STATUS_SUCCESS);
	EXPECT_EQ(used, 40);
	EXPECT_EQ(mask[0], 0x8000000000000001ull);
	EXPECT_EQ(mask[1], 0);
	EXPECT_EQ(mask[2], 0);
	EXPECT_EQ(mask[3], 0xff);

	/* Empty set. */
	v = 0; memcpy(b + 8, &v, 8);
	memset(mask, 0xff, sizeof(mask));
	EXPECT_EQ(hv_vp_set_parse(b, 16, 200, mask, &used), HV_STATUS_SUCCESS);
	EXPECT_EQ(used, 16);
	EXPECT_EQ(mask[0] | mask[1] | mask[2] | mask[3], 0);

	/* More banks than bytes: KVM's status. */
	v = 0x7; memcpy(b + 8, &v, 8);
	EXPECT_EQ(hv_vp_set_parse(b, 32, 200, mask, &used), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(hv_vp_set_parse(b, 8, 200, mask, &used), HV_STATUS_INVALID_HYPERCALL_INPUT);
	/* Extra bytes past the set are the caller's business. */
	EXPECT_EQ(hv_vp_set_parse(b, 48, 200, mask, &used), HV_STATUS_SUCCESS);
	EXPECT_EQ(used, 40);
}

static void test_vp_set_all_and_bad_format(void)
{
	uint8_t b[24] = { 0 };
	uint64_t mask[4], v;
	size_t used;

	v = HV_GENERIC_SET_ALL; memcpy(b, &v, 8);
	v = 0x5; memcpy(b + 8, &v, 8);		/* ignored for ALL */
	memset(mask, 0, sizeof(mask));
	EXPECT_EQ(hv_vp_set_parse(b, 16, 200, mask, &used), HV_STATUS_SUCCESS);
	EXPECT_EQ(used, 16);
	EXPECT_EQ(mask[0], ~0ull);
	EXPECT_EQ(mask[1], ~0ull);
	EXPECT_EQ(mask[2], ~0ull);
	EXPECT_EQ(mask[3], 0xff);
	EXPECT_EQ(hv_vp_set_parse(b, 16, 128, mask, &used), HV_STATUS_SUCCESS);
	EXPECT_EQ(mask[1], ~0ull);
	EXPECT_EQ(hv_vp_set_parse(b, 16, 2, mask, &used), HV_STATUS_SUCCESS);
	EXPECT_EQ(mask[0], 3);

	v = 2; memcpy(b, &v, 8);
	EXPECT_EQ(hv_vp_set_parse(b, 24, 200, mask, &used), HV_STATUS_INVALID_PARAMETER);
	v = ~0ull; memcpy(b, &v, 8);
	EXPECT_EQ(hv_vp_set_parse(b, 24, 200, mask, &used), HV_STATUS_INVALID_PARAMETER);
}

/* ---- flush ---- */

static void expect_flush_vtl(struct fake_host *f, unsigned int caller, unsigned int vtl, uint64_t m0, uint64_t m1,
			     uint64_t m2, uint64_t m3)
{
	EXPECT_EQ(f->flushes, 1);
	EXPECT_EQ(f->flush_caller, caller);
	EXPECT_EQ(f->flush_vtl, vtl);
	EXPECT_EQ(f->flush_mask[0], m0);
	EXPECT_EQ(f->flush_mask[1], m1);
	EXPECT_EQ(f->flush_mask[2], m2);
	EXPECT_EQ(f->flush_mask[3], m3);
}

static void expect_flush(struct fake_host *f, unsigned int caller, uint64_t m0, uint64_t m1, uint64_t m2, uint64_t m3)
{
	expect_flush_vtl(f, caller, 0, m0, m1, m2, m3);
}

static void test_flush_space(void)
{
	struct hv_hypercall hc;

	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 7, 0, 0, 0);
	put64(0, 0x1000);
	put64(16, 0x8000000000000005ull);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush(&f200, 7, 0x8000000000000005ull, 0, 0, 0);

	/* ALL_PROCESSORS ignores the mask. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 3, 0, 0, 0);
	put64(8, HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush(&f200, 3, ~0ull, ~0ull, ~0ull, 0xff);

	/* NON_GLOBAL_MAPPINGS_ONLY is fine here. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0, 0, 0);
	put64(8, HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY | HV_FLUSH_USE_EXTENDED_RANGE_FORMAT);
	put64(16, 2);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush(&f200, 0, 2, 0, 0, 0);

	/* The host is told the caller's VTL: the flush applies to that VTL only. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 4, 1, 0, 0);
	put64(16, 1);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush_vtl(&f200, 4, 1, 1, 0, 0, 0);

	/* Empty mask: success, nobody flushed. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0, 0, 0);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.flushes, 0);

	/* Undefined flag bits. */
	for (unsigned int bit = 4; bit < 64; bit += 5) {
		hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0, 0, 0);
		put64(8, 1ull << bit);
		put64(16, 1);
		EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
		EXPECT_EQ(f200.flushes, 0);
	}

	/* VPs past nr_vps in ProcessorMask are ignored; with none left, nothing is flushed. */
	hc = call(p2, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 1, 0, 0, 0);
	put64(16, 0xf2);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f2.flushes, 1);
	EXPECT_EQ(f2.flush_mask[0], 2);
	hc = call(p2, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 1, 0, 0, 0);
	put64(16, 0xf0);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f2.flushes, 0);
	hc = call(p2, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 0, 0, 0);
	put64(8, HV_FLUSH_ALL_PROCESSORS);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f2.flush_mask[0], 3);
}

static void test_flush_list(void)
{
	struct hv_hypercall hc;
	unsigned int done;

	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 5, 0, 0, 3);
	put64(8, HV_FLUSH_USE_EXTENDED_RANGE_FORMAT);
	put64(16, 0x30);
	put64(24, 0x7f0000001fffull);
	put64(32, ~0ull);	/* any element value is valid */
	put64(40, 0x1800ull);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	EXPECT_EQ(done, 3);
	expect_flush(&f200, 5, 0x30, 0, 0, 0);

	/* Yield after element 0, resume at 1: one flush, at the end. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 5, 0, 0, 3);
	put64(16, 1);
	EXPECT_EQ(run_reps(&hc, 1, &done), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.flushes, 0);
	hc.rep_start = 1;
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	EXPECT_EQ(done, 3);
	EXPECT_EQ(f200.flushes, 1);
	EXPECT_EQ(f200.flush_mask[0], 1);

	/* ALL_PROCESSORS. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 0, 0, 0, 1);
	put64(8, HV_FLUSH_ALL_PROCESSORS);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	expect_flush(&f200, 0, ~0ull, ~0ull, ~0ull, 0xff);

	/* Empty mask. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 0, 0, 0, 2);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	EXPECT_EQ(done, 2);
	EXPECT_EQ(f200.flushes, 0);

	/* NON_GLOBAL_MAPPINGS_ONLY and undefined bits are invalid. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 0, 0, 0, 2);
	put64(8, HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY);
	put64(16, 1);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(done, 0);
	EXPECT_EQ(f200.flushes, 0);
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 0, 0, 0, 2);
	put64(8, 1ull << 9);
	put64(16, 1);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(f200.flushes, 0);
}

/* Sparse set VP 0, 65, 130 at in_buf + off (Format, ValidBanksMask, 3 banks). */
static void put_sparse_0_65_130(unsigned int off)
{
	put64(off, HV_GENERIC_SET_SPARSE_4K);
	put64(off + 8, 0x7);
	put64(off + 16, 1ull << 0);
	put64(off + 24, 1ull << 1);
	put64(off + 32, 1ull << 2);
}

static void test_flush_space_ex(void)
{
	struct hv_hypercall hc;

	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 65, 0, 3, 0);
	put_sparse_0_65_130(16);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush(&f200, 65, 1, 2, 4, 0);

	/* ALL format, no banks. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 1, 0, 0, 0);
	put64(16, HV_GENERIC_SET_ALL);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush(&f200, 1, ~0ull, ~0ull, ~0ull, 0xff);

	/* ALL_PROCESSORS overrides a sparse set. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 1, 0, 3, 0);
	put64(8, HV_FLUSH_ALL_PROCESSORS);
	put_sparse_0_65_130(16);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush(&f200, 1, ~0ull, ~0ull, ~0ull, 0xff);

	/* Banks past nr_vps are ignored: bank 3 keeps VPs 192-199, bank 4 is dropped. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 2, 0);
	put64(24, (1ull << 3) | (1ull << 4));
	put64(32, ~0ull);
	put64(40, ~0ull);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	expect_flush(&f200, 0, 0, 0, 0, 0xff);
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 1, 0);
	put64(24, 1ull << 4);
	put64(32, ~0ull);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.flushes, 0);

	/* Empty sparse set. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 0, 0);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.flushes, 0);

	/* Bad format, bad flags. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 0, 0);
	put64(16, 2);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 3, 0);
	put64(8, 1ull << 4);
	put_sparse_0_65_130(16);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(f200.flushes, 0);

	/* Variable header shorter or longer than the banks, or banks after ALL. */
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 2, 0);
	put_sparse_0_65_130(16);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_HYPERCALL_INPUT);
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 4, 0);
	put_sparse_0_65_130(16);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_HYPERCALL_INPUT);
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0, 1, 0);
	put64(16, HV_GENERIC_SET_ALL);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(f200.flushes, 0);
}

static void test_flush_list_ex(void)
{
	struct hv_hypercall hc;
	unsigned int done;

	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, 130, 0, 3, 2);
	put64(8, HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES);
	put_sparse_0_65_130(16);
	EXPECT(hc.reps == in_buf + 56);
	put64(56, 0x1000);
	put64(64, 0x2000);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	EXPECT_EQ(done, 2);
	expect_flush(&f200, 130, 1, 2, 4, 0);

	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, 0, 0, 0, 1);
	put64(16, HV_GENERIC_SET_ALL);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	expect_flush(&f200, 0, ~0ull, ~0ull, ~0ull, 0xff);

	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, 0, 0, 3, 1);
	put64(8, HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY);
	put_sparse_0_65_130(16);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(done, 0);
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, 0, 0, 0, 1);
	put64(16, 7);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_PARAMETER);
	hc = call(p200, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, 0, 0, 1, 1);
	put_sparse_0_65_130(16);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_HYPERCALL_INPUT);
	EXPECT_EQ(f200.flushes, 0);
}

/* ---- cluster IPI ---- */

static void expect_irq(struct fake_host *f, unsigned int n, unsigned int vp, unsigned int vtl, uint8_t vector)
{
	EXPECT(n < f->nirqs);
	if (n >= f->nirqs)
		return;
	EXPECT_EQ(f->irq[n].vp, vp);
	EXPECT_EQ(f->irq[n].vtl, vtl);
	EXPECT_EQ(f->irq[n].vector, vector);
}

/* IPI header: Vector, TargetVtl, Flags, rsvd. */
static void put_ipi(uint32_t vector, uint8_t target_vtl, uint8_t flags, uint16_t rsvd)
{
	put32(0, vector);
	in_buf[4] = target_vtl;
	in_buf[5] = flags;
	memcpy(in_buf + 6, &rsvd, 2);
}

static void test_ipi(void)
{
	struct hv_hypercall hc;

	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 0, 0, 0, 0);
	put_ipi(0x30, 0, 0, 0);
	put64(8, (1ull << 1) | (1ull << 3) | (1ull << 63));
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 3);
	expect_irq(&f200, 0, 1, 0, 0x30);
	expect_irq(&f200, 1, 3, 0, 0x30);
	expect_irq(&f200, 2, 63, 0, 0x30);

	/* Vector bounds. */
	static const struct { uint32_t vector; uint16_t st; } vec[] = {
		{ 0x10, HV_STATUS_SUCCESS }, { 0xff, HV_STATUS_SUCCESS }, { 0x0f, HV_STATUS_INVALID_PARAMETER },
		{ 0, HV_STATUS_INVALID_PARAMETER }, { 0x100, HV_STATUS_INVALID_PARAMETER },
		{ 0x10000030, HV_STATUS_INVALID_PARAMETER },
	};
	for (unsigned int i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 0, 0, 0, 0);
		put_ipi(vec[i].vector, 0, 0, 0);
		put64(8, 1);
		EXPECT_EQ(run_simple(&hc), vec[i].st);
		EXPECT_EQ(f200.nirqs, vec[i].st == HV_STATUS_SUCCESS);
	}

	/* Flags is checked; the u16 after it is padding, ignored as OpenVMM does. */
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 0, 0, 0, 0);
	put_ipi(0x30, 0, 1, 0);
	put64(8, 1);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(f200.nirqs, 0);
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 0, 0, 0, 0);
	put_ipi(0x30, 0, 0, 0xa5a5);
	put64(8, 1);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 1);
	expect_irq(&f200, 0, 0, 0, 0x30);

	/* Empty mask; bits past nr_vps. */
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 0, 0, 0, 0);
	put_ipi(0x30, 0, 0, 0);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 0);
	hc = call(p2, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 0, 0, 0, 0);
	put_ipi(0x40, 0, 0, 0);
	put64(8, ~0ull);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f2.nirqs, 2);
	expect_irq(&f2, 0, 0, 0, 0x40);
	expect_irq(&f2, 1, 1, 0, 0x40);
}

static void test_ipi_target_vtl(void)
{
	static const struct {
		unsigned int caller; uint8_t input_vtl; uint16_t st; unsigned int vtl;
	} cases[] = {
		{ 0, 0x00, HV_STATUS_SUCCESS, 0 },
		{ 0, 0x10, HV_STATUS_SUCCESS, 0 },
		{ 0, 0x0f, HV_STATUS_SUCCESS, 0 },	/* TargetVtl ignored without UseTargetVtl */
		{ 1, 0x00, HV_STATUS_SUCCESS, 1 },	/* default: the caller's VTL */
		{ 1, 0x10, HV_STATUS_SUCCESS, 0 },
		{ 2, 0x11, HV_STATUS_SUCCESS, 1 },
		{ 0, 0x11, HV_STATUS_ACCESS_DENIED, 0 },
		{ 1, 0x12, HV_STATUS_ACCESS_DENIED, 0 },
		{ 2, 0x13, HV_STATUS_INVALID_PARAMETER, 0 },	/* no such VTL */
		{ 0, 0x1f, HV_STATUS_INVALID_PARAMETER, 0 },
		{ 0, 0x20, HV_STATUS_INVALID_PARAMETER, 0 },	/* RsvdZ */
		{ 2, 0x80, HV_STATUS_INVALID_PARAMETER, 0 },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hv_hypercall hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 4, cases[i].caller, 0, 0);

		put_ipi(0x50, cases[i].input_vtl, 0, 0);
		put64(8, 1ull << 9);
		EXPECT_EQ(run_simple(&hc), cases[i].st);
		if (cases[i].st == HV_STATUS_SUCCESS) {
			EXPECT_EQ(f200.nirqs, 1);
			expect_irq(&f200, 0, 9, cases[i].vtl, 0x50);
		} else {
			EXPECT_EQ(f200.nirqs, 0);
		}
	}

	/* Several errors at once: ACCESS_DENIED wins. */
	struct hv_hypercall hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI, 0, 0, 0, 0);
	put_ipi(0x5, 0x11, 1, 1);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_ACCESS_DENIED);
}

static void test_ipi_ex(void)
{
	struct hv_hypercall hc;

	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 1, 3, 0);
	put_ipi(0xef, 0x10, 0, 0);
	put_sparse_0_65_130(8);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 3);
	expect_irq(&f200, 0, 0, 0, 0xef);
	expect_irq(&f200, 1, 65, 0, 0xef);
	expect_irq(&f200, 2, 130, 0, 0xef);

	/* ALL: every VP once, in order. */
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 0, 0);
	put_ipi(0x31, 0, 0, 0);
	put64(8, HV_GENERIC_SET_ALL);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 200);
	for (unsigned int i = 0; i < 200; i++)
		if (f200.irq[i].vp != i || f200.irq[i].vtl != 0 || f200.irq[i].vector != 0x31)
			EXPECT(!"ALL delivers to VP i in order");

	/* Banks past nr_vps. */
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 2, 0);
	put_ipi(0x31, 0, 0, 0);
	put64(16, (1ull << 3) | (1ull << 63));
	put64(24, (1ull << 7) | (1ull << 8));	/* VP 199, VP 200 */
	put64(32, ~0ull);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 1);
	expect_irq(&f200, 0, 199, 0, 0x31);

	/* Empty set. */
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 0, 0);
	put_ipi(0x31, 0, 0, 0);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 0);

	/* Errors: format, bank count, vector, VTL, reserved. */
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 0, 0);
	put_ipi(0x31, 0, 0, 0);
	put64(8, 3);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 2, 0);
	put_ipi(0x31, 0, 0, 0);
	put_sparse_0_65_130(8);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_HYPERCALL_INPUT);
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 4, 0);
	put_ipi(0x31, 0, 0, 0);
	put_sparse_0_65_130(8);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_HYPERCALL_INPUT);
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 3, 0);
	put_ipi(0x3, 0, 0, 0);
	put_sparse_0_65_130(8);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 3, 0);
	put_ipi(0x30, 0x11, 0, 0);
	put_sparse_0_65_130(8);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_ACCESS_DENIED);
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 3, 0);
	put_ipi(0x30, 0x40, 0, 0);
	put_sparse_0_65_130(8);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
	hc = call(p200, HVCALL_SEND_SYNTHETIC_CLUSTER_IPI_EX, 0, 0, 3, 0);
	put_ipi(0x30, 0, 0x80, 0);
	put_sparse_0_65_130(8);
	EXPECT_EQ(run_simple(&hc), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(f200.nirqs, 0);
}

/* ---- misc ---- */

static void test_notify_long_spin_wait(void)
{
	struct hv_hypercall hc = call(p200, HVCALL_NOTIFY_LONG_SPIN_WAIT, 2, 0, 0, 0);

	put64(0, ~0ull);	/* SpinCount and even the RsvdZ half: the call cannot fail */
	EXPECT_EQ(run_simple(&hc), HV_STATUS_SUCCESS);
	EXPECT_EQ(f200.nirqs, 0);
	EXPECT_EQ(f200.flushes, 0);
}

static void test_get_vp_index_from_apic_id(void)
{
	struct hv_hypercall hc;
	unsigned int done;

	hc = call(p200, HVCALL_GET_VP_INDEX_FROM_APIC_ID, 0, 0, 0, 3);
	put64(0, HV_PARTITION_ID_SELF);
	EXPECT(hc.reps == in_buf + 16);
	put32(16, 0);
	put32(20, 77);
	put32(24, 199);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	EXPECT_EQ(done, 3);
	EXPECT_EQ(out32(0), 0);		/* packed u32 elements */
	EXPECT_EQ(out32(4), 77);
	EXPECT_EQ(out32(8), 199);
	EXPECT_EQ(out32(12), 0xcccccccc);

	/* Resumed at element 2: only that element is written. */
	memset(out_buf, 0xcc, 16);
	hc.rep_start = 2;
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_SUCCESS);
	EXPECT_EQ(out32(4), 0xcccccccc);
	EXPECT_EQ(out32(8), 199);

	/* Unknown APIC ID at element 1: reps completed 1, element 0 written. */
	hc = call(p200, HVCALL_GET_VP_INDEX_FROM_APIC_ID, 0, 0, 0, 3);
	put64(0, HV_PARTITION_ID_SELF);
	put32(16, 5);
	put32(20, 200);
	put32(24, 6);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(done, 1);
	EXPECT_EQ(out32(0), 5);
	hc = call(p200, HVCALL_GET_VP_INDEX_FROM_APIC_ID, 0, 0, 0, 1);
	put64(0, HV_PARTITION_ID_SELF);
	put32(16, 0xffffffff);
	EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(done, 0);

	/* Partition ID. */
	static const uint64_t bad_ids[] = { 0, 1, HV_PARTITION_ID_SELF - 1 };
	for (unsigned int i = 0; i < 3; i++) {
		hc = call(p200, HVCALL_GET_VP_INDEX_FROM_APIC_ID, 0, 0, 0, 1);
		put64(0, bad_ids[i]);
		EXPECT_EQ(run_all_reps(&hc, &done), HV_STATUS_INVALID_PARTITION_ID);
		EXPECT_EQ(done, 0);
	}

	/* TargetVtl, as HV_VTL (TLFS, OpenVMM) or HV_INPUT_VTL (Linux); the padding is ignored. */
	static const struct { unsigned int caller; uint8_t vtl; uint64_t padding; uint16_t st; } cases[] = {
		{ 0, 0x00, 0, HV_STATUS_SUCCESS },
		{ 0, 0x10, 0, HV_STATUS_SUCCESS },
		{ 0, 0x00, 0xffffffffffffff00ull, HV_STATUS_SUCCESS },
		{ 1, 0x01, 0, HV_STATUS_SUCCESS },
		{ 1, 0x11, 0, HV_STATUS_SUCCESS },
		{ 2, 0x02, 0, HV_STATUS_SUCCESS },
		{ 0, 0x01, 0, HV_STATUS_ACCESS_DENIED },
		{ 0, 0x11, 0, HV_STATUS_ACCESS_DENIED },
		{ 1, 0x12, 0, HV_STATUS_ACCESS_DENIED },
		{ 2, 0x03, 0, HV_STATUS_INVALID_PARAMETER },
		{ 2, 0x1f, 0, HV_STATUS_INVALID_PARAMETER },
		{ 0, 0x20, 0, HV_STATUS_INVALID_PARAMETER },
		{ 2, 0xe0, 0, HV_STATUS_INVALID_PARAMETER },
	};
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hc = call(p200, HVCALL_GET_VP_INDEX_FROM_APIC_ID, 0, cases[i].caller, 0, 1);
		put64(0, HV_PARTITION_ID_SELF);
		put64(8, cases[i].padding | cases[i].vtl);
		put32(16, 42);
		EXPECT_EQ(run_all_reps(&hc, &done), cases[i].st);
		if (cases[i].st == HV_STATUS_SUCCESS)
			EXPECT_EQ(out32(0), 42);
		else
			EXPECT_EQ(out32(0), 0xcccccccc);
	}
}

int main(void)
{
	p200 = make_partition(&f200, 200);
	p2 = make_partition(&f2, 2);
	if (!p200 || !p2) {
		printf("FAIL hv_partition_create\n");
		return 1;
	}

	RUN_TEST(test_descriptors);
	RUN_TEST(test_vp_set_sparse);
	RUN_TEST(test_vp_set_all_and_bad_format);
	RUN_TEST(test_flush_space);
	RUN_TEST(test_flush_list);
	RUN_TEST(test_flush_space_ex);
	RUN_TEST(test_flush_list_ex);
	RUN_TEST(test_ipi);
	RUN_TEST(test_ipi_target_vtl);
	RUN_TEST(test_ipi_ex);
	RUN_TEST(test_notify_long_spin_wait);
	RUN_TEST(test_get_vp_index_from_apic_id);

	hv_partition_destroy(p200);
	hv_partition_destroy(p2);
	free(f200.ram);
	free(f2.ram);
	return TEST_EXIT();
}
