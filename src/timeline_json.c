/*
 * --timeline output: the recorded events as Chrome/Perfetto trace-event JSON
 * (docs/timeline.md). One thread track per VP: the running VTL as B/E spans,
 * everything else as thread-scoped instants; the VP's exit counters as a "C"
 * counter of the process. Events are written in each VP's recording order,
 * which is time order, so every track's ts never goes back.
 */
#include "timeline.h"
#include "util.h"
#include "kvsm/tlfs.h"

#include <unistd.h>

static const char *const exit_names[TL_EXIT_NR] = {
	[TL_EXIT_IO] = "io", [TL_EXIT_MMIO] = "mmio", [TL_EXIT_HYPERCALL] = "hypercall", [TL_EXIT_MSR] = "msr",
	[TL_EXIT_HLT] = "hlt", [TL_EXIT_KICK] = "kick", [TL_EXIT_FAULT] = "fault", [TL_EXIT_OTHER] = "other",
};

static const char *const outcomes[] = {
	[HV_HYPERCALL_DONE] = "done", [HV_HYPERCALL_CONTINUE] = "continue", [HV_HYPERCALL_UD] = "#UD",
	[HV_HYPERCALL_SWITCH_VTL] = "VTL switch", [HV_HYPERCALL_INTERCEPT] = "intercept",
	[HV_HYPERCALL_RETRY] = "retry (TLB locked)",
};

static const char *const accesses[] = { "read", "write", "execute" };

static const char *reason_name(uint32_t reason)
{
	switch (reason) {
	case HV_VTL_ENTRY_RETURN: return "VTL return";
	case HV_VTL_ENTRY_VTL_CALL: return "VTL call";
	case HV_VTL_ENTRY_INTERRUPT: return "interrupt entry";
	case HV_VTL_ENTRY_INTERCEPT: return "intercept entry";
	case HV_VTL_ENTRY_START: return "VP start";
	default: return "VTL entry";
	}
}

struct out {
	FILE *f;
	int pid;
	unsigned int tid;
	bool first;
};

/* Opens one event object; the caller adds fields and calls end(). */
static void begin(struct out *o, char ph, uint64_t ns, const char *name)
{
	fprintf(o->f, "%s\n{\"ph\":\"%c\",\"pid\":%d,\"tid\":%u,\"ts\":%llu.%03llu,\"name\":\"%s\"", o->first ? "" : ",",
		ph, o->pid, o->tid, (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000), name);
	o->first = false;
}

static void end(struct out *o)
{
	fputc('}', o->f);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void metadata(struct out *o, const char *what, const char *key, const char *name, unsigned int num)
{
	fprintf(o->f, "%s\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"name\":\"%s\",\"args\":{\"%s\":", o->first ? "" : ",",
		o->pid, o->tid, what, key);
	if (name)
		json_string(o->f, name);
	else
		fprintf(o->f, "%u", num);
	fputs("}}", o->f);
	o->first = false;
}

static void counters(struct out *o, uint64_t ns, unsigned int vp, const uint32_t *c)
{
	char name[32];

	snprintf(name, sizeof(name), "VP%u exits", vp);
	begin(o, 'C', ns, name);
	fputs(",\"args\":{", o->f);
	for (unsigned int i = 0; i < TL_EXIT_NR; i++)
		fprintf(o->f, "%s\"%s\":%u", i ? "," : "", exit_names[i], c[i]);
	fputc('}', o->f);
	end(o);
}

static void span(struct out *o, char ph, uint64_t ns, unsigned int vtl)
{
	char name[8];

	snprintf(name, sizeof(name), "VTL%u", vtl);
	begin(o, ph, ns, name);
	fputs(",\"cat\":\"vtl\"", o->f);
}

static void instant(struct out *o, uint64_t ns, const char *name, const char *cat)
{
	begin(o, 'i', ns, name);
	fprintf(o->f, ",\"s\":\"t\",\"cat\":\"%s\",\"args\":{", cat);
}

static void vtl_event(struct out *o, const struct tl_event *e, unsigned int vp, unsigned int from)
{
	uint32_t c[TL_EXIT_NR];

	instant(o, e->ns, reason_name(e->code), "vtl");
	fprintf(o->f, "\"from\":%u,\"to\":%u,\"rip_from\":\"0x%llx\",\"rip_to\":\"0x%llx\"}", from, e->to,
		(unsigned long long)e->a[0], (unsigned long long)e->a[1]);
	end(o);
	span(o, 'E', e->ns, from);
	end(o);
	span(o, 'B', e->ns, e->to);
	fprintf(o->f, ",\"args\":{\"entered_by\":\"%s\"}", reason_name(e->code));
	end(o);
	for (unsigned int i = 0; i < TL_EXIT_NR; i++)
		c[i] = (uint32_t)(e->a[2 + i / 2] >> (32 * (i % 2)));
	counters(o, e->ns, vp, c);
}

static void hypercall(struct out *o, const struct tl_event *e)
{
	uint16_t code = (uint16_t)e->a[0];
	const char *name = hv_hypercall_name(code);
	char unknown[24];
	bool fast = e->a[0] & HV_HYPERCALL_FAST;
	unsigned int reps = (unsigned int)((e->a[0] & HV_HYPERCALL_REP_COUNT_MASK) >> HV_HYPERCALL_REP_COUNT_SHIFT);
	unsigned int start = (unsigned int)((e->a[0] & HV_HYPERCALL_REP_START_MASK) >> HV_HYPERCALL_REP_START_SHIFT);

	if (!name) {
		snprintf(unknown, sizeof(unknown), "hypercall 0x%04x", code);
		name = unknown;
	}
	instant(o, e->ns, name, "hypercall");
	fprintf(o->f, "\"code\":\"0x%04x\",\"control\":\"0x%llx\",\"fast\":%s,\"outcome\":\"%s\"", code,
		(unsigned long long)e->a[0], fast ? "true" : "false",
		e->size < ARRAY_SIZE(outcomes) && outcomes[e->size] ? outcomes[e->size] : "?");
	if (e->size == HV_HYPERCALL_DONE || e->size == HV_HYPERCALL_CONTINUE)
		fprintf(o->f, ",\"status\":\"0x%04x\"", e->code);
	if (reps)
		fprintf(o->f, ",\"rep_count\":%u,\"rep_start\":%u", reps, start);
	fprintf(o->f, ",\"%s\":\"0x%llx\",\"%s\":\"0x%llx\",\"mode\":\"%s\",\"rip\":\"0x%llx\"}",
		fast ? "param0" : "input_gpa", (unsigned long long)e->a[1], fast ? "param1" : "output_gpa",
		(unsigned long long)e->a[2], e->flags & TL_F_LONG ? "64-bit" : "32-bit", (unsigned long long)e->a[3]);
	end(o);
}

static void intercept(struct out *o, const struct tl_event *e, unsigned int from)
{
	const char *rw = e->flags & TL_F_WRITE ? "write" : "read";

	switch (e->kind) {
	case TL_GPA:
		instant(o, e->ns, "GPA intercept", "intercept");
		fprintf(o->f, "\"access\":\"%s\",\"gpa\":\"0x%llx\",", e->code < 3 ? accesses[e->code] : "?",
			(unsigned long long)e->a[0]);
		if (e->flags & TL_F_GVA)
			fprintf(o->f, "\"gva\":\"0x%llx\",", (unsigned long long)e->a[1]);
		fprintf(o->f, "\"rip\":\"0x%llx\"", (unsigned long long)e->a[2]);
		break;
	case TL_MSR:
		instant(o, e->ns, "MSR intercept", "intercept");
		fprintf(o->f, "\"msr\":\"0x%x\",\"access\":\"%s\",", e->code, rw);
		if (e->flags & TL_F_WRITE)
			fprintf(o->f, "\"value\":\"0x%llx\",", (unsigned long long)e->a[0]);
		fprintf(o->f, "\"rip\":\"0x%llx\"", (unsigned long long)e->a[1]);
		break;
	default:
		instant(o, e->ns, "I/O intercept", "intercept");
		fprintf(o->f, "\"port\":\"0x%x\",\"size\":%u,\"access\":\"%s\",\"string\":%s,\"rep\":%s,\"rip\":\"0x%llx\"",
			e->code, e->size, e->flags & TL_F_WRITE ? "out" : "in", e->flags & TL_F_STRING ? "true" : "false",
			e->flags & TL_F_REP ? "true" : "false", (unsigned long long)e->a[0]);
		break;
	}
	fprintf(o->f, ",\"from\":%u,\"to\":%u}", from, e->to);
	end(o);
}

/* One VP's track; returns the events it lost. */
static uint64_t write_vp(struct out *o, const struct timeline_vp *t, unsigned int vp)
{
	/* n first: every event below it was recorded before `now`, so no track ends before its last event. */
	unsigned int n = atomic_load_explicit(&t->n, memory_order_acquire);
	uint64_t dropped = atomic_load_explicit(&t->dropped, memory_order_acquire);
	uint64_t now = monotonic_ns() - t->t0;
	uint64_t stop = dropped ? atomic_load_explicit(&t->full_ns, memory_order_relaxed) : now;
	static const uint32_t zero[TL_EXIT_NR];
	uint32_t c[TL_EXIT_NR];
	unsigned int vtl = 0;
	char name[16];

	o->tid = vp + 1;
	snprintf(name, sizeof(name), "VP%u", vp);
	metadata(o, "thread_name", "name", name, 0);
	metadata(o, "thread_sort_index", "sort_index", NULL, vp);
	if (!n)
		return dropped;
	span(o, 'B', t->ev[0].ns, vtl);
	end(o);
	counters(o, t->ev[0].ns, vp, zero);
	for (unsigned int i = 0; i < n; i++) {
		const struct tl_event *e = &t->ev[i];

		switch (e->kind) {
		case TL_VTL:
			vtl_event(o, e, vp, vtl);
			vtl = e->to;
			break;
		case TL_HYPERCALL:
			hypercall(o, e);
			break;
		case TL_GPA:
		case TL_MSR:
		case TL_IO:
			intercept(o, e, vtl);
			break;
		}
	}
	if (dropped) {
		instant(o, stop, "timeline full", "kvsm");
		fprintf(o->f, "\"dropped\":%llu}", (unsigned long long)dropped);
		end(o);
	}
	span(o, 'E', stop, vtl);
	end(o);
	for (unsigned int i = 0; i < TL_EXIT_NR; i++)
		c[i] = atomic_load_explicit(&t->exits[i], memory_order_relaxed);
	counters(o, now, vp, c);
	return dropped;
}

bool timeline_write_json(const struct timeline *tl, FILE *f)
{
	struct out o = { .f = f, .pid = getpid(), .first = true };
	uint64_t dropped = 0;

	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", f);
	metadata(&o, "process_name", "name", tl->name, 0);
	for (unsigned int i = 0; i < tl->nr_vps; i++)
		dropped += write_vp(&o, &tl->vp[i], i);
	fprintf(f, "\n],\"otherData\":{\"producer\":\"kvsm\",\"vps\":%u,\"events_per_vp\":%u,\"dropped\":%llu}}\n",
		tl->nr_vps, tl->cap, (unsigned long long)dropped);
	return !ferror(f);
}
