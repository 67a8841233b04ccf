/*
 * --timeline recording: one bounded buffer per VP, filled by the VP's own
 * thread with no lock (timeline.h), and the file written at exit. Event
 * arguments, by kind:
 *   TL_VTL:       code = entry reason; a[0], a[1] = RIP of the old and the new VTL;
 *                 a[2..5] = the VP's exit counters then, two 32-bit counts per word
 *   TL_HYPERCALL: code = status, size = outcome; a[0] = control, a[1], a[2] = input
 *                 and output GPA (or fast parameters), a[3] = RIP
 *   TL_GPA:       code = access; a[0] = GPA, a[1] = GVA, a[2] = RIP
 *   TL_MSR:       code = MSR; a[0] = value written, a[1] = RIP
 *   TL_IO:        code = port, size = bytes; a[0] = RIP
 */
#include "timeline.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static struct timeline *open_tl;	/* the one timeline, for the atexit handler */
static atomic_bool finished;

struct timeline *timeline_open(const char *path, const char *name, unsigned int nr_vps, unsigned int cap)
{
	struct timeline *tl = xcalloc(1, sizeof(*tl));
	uint64_t t0 = monotonic_ns();

	tl->file = fopen(path, "w");
	if (!tl->file)
		die_errno(KVSM_EXIT_USAGE, "cannot create timeline '%s'", path);
	tl->path = path;
	tl->name = name;
	tl->nr_vps = nr_vps;
	tl->cap = cap;
	tl->vp = xcalloc(nr_vps, sizeof(*tl->vp));
	for (unsigned int i = 0; i < nr_vps; i++) {
		tl->vp[i].ev = xcalloc(cap, sizeof(struct tl_event));
		tl->vp[i].cap = cap;
		tl->vp[i].t0 = t0;
	}
	open_tl = tl;
	atexit(timeline_finish);
	return tl;
}

void timeline_finish(void)
{
	struct timeline *tl = open_tl;

	if (!tl || atomic_exchange(&finished, true))
		return;
	if (!timeline_write_json(tl, tl->file) | (fclose(tl->file) != 0))
		pr_warning("writing timeline '%s' failed: %m", tl->path);
}

/* The next free slot, or NULL (the event is dropped and counted) when the buffer is full. */
static struct tl_event *slot(struct timeline_vp *t, enum tl_kind kind)
{
	unsigned int n = atomic_load_explicit(&t->n, memory_order_relaxed);
	uint64_t ns = monotonic_ns() - t->t0;
	struct tl_event *e;

	if (n == t->cap) {
		if (atomic_load_explicit(&t->dropped, memory_order_relaxed) == 0)
			atomic_store_explicit(&t->full_ns, ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&t->dropped, 1, memory_order_release);
		return NULL;
	}
	e = &t->ev[n];
	*e = (struct tl_event){ .ns = ns, .kind = kind };
	return e;
}

/* Publish the event slot() handed out: the writer reads only below n. */
static void commit(struct timeline_vp *t)
{
	atomic_fetch_add_explicit(&t->n, 1, memory_order_release);
}

void timeline_start(struct timeline_vp *t)
{
	if (slot(t, TL_START))
		commit(t);
}

void timeline_exit(struct timeline_vp *t, enum tl_exit kind)
{
	/* Only this thread writes: a relaxed load and store, no locked add. */
	atomic_store_explicit(&t->exits[kind], atomic_load_explicit(&t->exits[kind], memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void timeline_vtl(struct timeline_vp *t, unsigned int to, enum hv_vtl_entry reason, uint64_t rip_from,
		  uint64_t rip_to)
{
	struct tl_event *e = slot(t, TL_VTL);

	if (!e)
		return;
	e->to = (uint8_t)to;
	e->code = reason;
	e->a[0] = rip_from;
	e->a[1] = rip_to;
	for (unsigned int i = 0; i < TL_EXIT_NR; i++)
		e->a[2 + i / 2] |= (uint64_t)atomic_load_explicit(&t->exits[i], memory_order_relaxed) << (32 * (i % 2));
	commit(t);
}

void timeline_hypercall(struct timeline_vp *t, const uint64_t args[3], bool long_mode, enum hv_hypercall_outcome out,
			uint64_t result, uint64_t rip)
{
	struct tl_event *e = slot(t, TL_HYPERCALL);

	if (!e)
		return;
	e->flags = long_mode ? TL_F_LONG : 0;
	e->size = (uint8_t)out;
	e->code = (uint16_t)result;
	memcpy(e->a, args, 3 * sizeof(e->a[0]));
	e->a[3] = rip;
	commit(t);
}

void timeline_gpa(struct timeline_vp *t, unsigned int to, const struct hv_gpa_access *a, uint64_t rip)
{
	struct tl_event *e = slot(t, TL_GPA);

	if (!e)
		return;
	e->to = (uint8_t)to;
	e->flags = a->gva_valid ? TL_F_GVA : 0;
	e->code = a->access;
	e->a[0] = a->gpa;
	e->a[1] = a->gva;
	e->a[2] = rip;
	commit(t);
}

void timeline_msr(struct timeline_vp *t, unsigned int to, uint32_t msr, bool write, uint64_t val, uint64_t rip)
{
	struct tl_event *e = slot(t, TL_MSR);

	if (!e)
		return;
	e->to = (uint8_t)to;
	e->flags = write ? TL_F_WRITE : 0;
	e->code = msr;
	e->a[0] = val;
	e->a[1] = rip;
	commit(t);
}

void timeline_io(struct timeline_vp *t, unsigned int to, const struct hv_io_access *a, uint64_t rip)
{
	struct tl_event *e = slot(t, TL_IO);

	if (!e)
		return;
	e->to = (uint8_t)to;
	e->flags = (a->write ? TL_F_WRITE : 0) | (a->string ? TL_F_STRING : 0) | (a->rep ? TL_F_REP : 0);
	e->size = a->size;
	e->code = a->port;
	e->a[0] = rip;
	commit(t);
}
