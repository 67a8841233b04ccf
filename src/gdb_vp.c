/*
 * The guest side of the GDB stub: the whole guest stops and resumes as one.
 * A stop (a breakpoint or step on any VP, or the debugger's interrupt) sets
 * stop_req and kicks every VP (vcpu_kick); each VP's thread then stops right
 * before its next KVM_RUN, or inside its HLT sleep, and waits there, serving
 * other VPs' requests (vcpu_request.c) and the stub's jobs (register access
 * needs the VP's own thread) until the stub resumes the guest. Breakpoints
 * and single-steps are KVM_SET_GUEST_DEBUG on each VP's vCPUs, set by the
 * VP's own thread as it resumes. Memory goes through a VTL's paging
 * (hv_translate_gva) and its view (guest_mem_access), so VTL protections
 * bind the debugger as they bind the VTL.
 */
#include "gdb.h"
#include "hyperv.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#include "kvsm/hv.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BP_VECTOR 3
#define DB_VECTOR 1
#define INT3 0xCC

static void notify(struct gdb *g)
{
	uint64_t one = 1;

	if (write(g->evfd, &one, sizeof(one)) != sizeof(one))
		pr_warning("gdb: cannot signal the stub: %m");
}

/* Caller holds g->lock. */
static void request_stop_locked(struct gdb *g)
{
	if (g->stop_req)
		return;
	__atomic_store_n(&g->stop_req, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++)
		vcpu_kick(&g->vm->vcpus[i]);
}

/* A VP saw a reason to stop: the first reason is the one the debugger hears of. */
static void report(struct gdb *g, const struct gdb_event *ev)
{
	pthread_mutex_lock(&g->lock);
	if (!g->have_event) {
		g->ev = *ev;
		g->have_event = true;
	}
	request_stop_locked(g);
	pthread_mutex_unlock(&g->lock);
	notify(g);
}

/* ---- guest debug on the VP's vCPUs ---- */

/* DR7 for the debug register slots: G bits, RW and LEN fields (SDM vol. 3 17.2.4), GE and bit 10. */
static uint64_t dr7_of(const struct gdb *g)
{
	static const uint8_t rw[] = { [1] = 0, [2] = 1, [4] = 3 };
	uint64_t dr7 = 0x600;

	for (unsigned int i = 0; i < GDB_NR_HW_BPS; i++) {
		const struct gdb_hwbp *h = &g->hw[i];
		unsigned int len = h->len == 8 ? 2 : h->len == 4 ? 3 : h->len - 1;

		if (!h->type)
			continue;
		dr7 |= 2ull << (2 * i);
		dr7 |= (uint64_t)rw[h->type] << (16 + 4 * i);
		if (h->type != 1)
			dr7 |= (uint64_t)len << (18 + 4 * i);
	}
	return dr7;
}

/*
 * KVM sets the trap flag of a step only while RIP is where it was at
 * KVM_SET_GUEST_DEBUG: a RIP still waiting in the synced registers (a
 * debugger's write, a hypercall's completion) must reach KVM first.
 */
static void flush_regs(struct vcpu *cpu, unsigned int vtl)
{
	struct kvm_run *run = cpu->v[vtl].run;

	if (!(run->kvm_dirty_regs & KVM_SYNC_X86_REGS))
		return;
	if (ioctl(cpu->v[vtl].fd, KVM_SET_REGS, &run->s.regs.regs))
		vcpu_fatal_errno(cpu, "KVM_SET_REGS (VTL%u, before a step)", vtl);
	run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
}

/* Own thread, none of its vCPUs running: give each vCPU the debugger's current setup. */
static void apply_debug(struct gdb *g, struct vcpu *cpu)
{
	struct gdb_vp_state *p = &g->vps[cpu->index];
	bool attached = g->sock >= 0, any_hw = false;

	if (p->debug_gen == g->debug_gen)
		return;
	p->debug_gen = g->debug_gen;
	p->step_ran = false;
	for (unsigned int i = 0; i < GDB_NR_HW_BPS; i++)
		any_hw |= g->hw[i].type != 0;
	for (unsigned int vtl = 0; vtl < KVSM_MAX_VTLS; vtl++) {
		struct kvm_guest_debug d = { 0 };

		if (!vcpu_vtl_of(cpu, vtl))
			continue;
		if (attached) {
			d.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
			if (any_hw) {
				d.control |= KVM_GUESTDBG_USE_HW_BP;
				for (unsigned int i = 0; i < GDB_NR_HW_BPS; i++)
					d.arch.debugreg[i] = g->hw[i].addr;
				d.arch.debugreg[7] = dr7_of(g);
			}
			if (g->step && g->step_thread.vp == cpu->index && g->step_thread.vtl == vtl) {
				d.control |= KVM_GUESTDBG_SINGLESTEP | (g->blockirq ? KVM_GUESTDBG_BLOCKIRQ : 0);
				flush_regs(cpu, vtl);
			}
		}
		if (ioctl(cpu->v[vtl].fd, KVM_SET_GUEST_DEBUG, &d))
			vcpu_fatal_errno(cpu, "KVM_SET_GUEST_DEBUG (VTL%u)", vtl);
	}
}

/* Wait while the guest is stopped for the debugger, doing the stub's jobs for this VP. Own thread. */
static void park(struct gdb *g, struct vcpu *cpu)
{
	pthread_mutex_lock(&g->lock);
	g->parked++;
	pthread_cond_broadcast(&g->cond);
	while (g->stop_req && !vm_stopping(cpu->vm)) {
		unsigned int seq = vcpu_wait_seq(cpu);

		if (g->job_vp == (int)cpu->index) {
			void (*fn)(struct vcpu *, void *) = g->job_fn;
			void *arg = g->job_arg;

			g->job_vp = -2;		/* taken: the stub waits for it to end */
			pthread_mutex_unlock(&g->lock);
			fn(cpu, arg);
			pthread_mutex_lock(&g->lock);
			g->job_done = true;
			pthread_cond_broadcast(&g->cond);
			continue;
		}
		pthread_mutex_unlock(&g->lock);
		vcpu_service_requests(cpu);
		vcpu_answer_halt_round(cpu, false);	/* stopped, not dormant: the guest is not over */
		vcpu_wait_until(cpu, seq, 0);
		pthread_mutex_lock(&g->lock);
	}
	g->parked--;
	pthread_mutex_unlock(&g->lock);
	if (!vm_stopping(cpu->vm))
		apply_debug(g, cpu);
}

bool gdb_vp_hold(struct vcpu *cpu)
{
	struct gdb *g = cpu->vm->gdb;
	struct gdb_vp_state *p = &g->vps[cpu->index];
	unsigned int vtl = vcpu_vtl(cpu);

	if (g->step && g->step_thread.vp == cpu->index && g->step_thread.vtl == vtl) {
		/*
		 * kvsm completes a hypercall itself (RIP set past the `out`, see
		 * hyperv.c), so KVM never reports that step: the stepped VTL's
		 * instruction is over when that VTL is about to run again, after
		 * the call's own VTL call and return if it made one.
		 */
		if (p->step_ran && hyperv_is_hypercall(cpu))
			report(g, &(struct gdb_event){ .kind = GDB_STOP_STEP, .t = { cpu->index, vtl } });
		/* A KVM_RUN that a kick ends before entering leaves exit_reason as it was: forget it. */
		cpu->run->exit_reason = KVM_EXIT_UNKNOWN;
		p->step_ran = true;
	}
	if (!__atomic_load_n(&g->stop_req, __ATOMIC_ACQUIRE) || vm_stopping(cpu->vm))
		return false;
	park(g, cpu);
	return true;
}

void gdb_vp_poll(struct vcpu *cpu)
{
	struct gdb *g = cpu->vm->gdb;

	if (g && __atomic_load_n(&g->stop_req, __ATOMIC_ACQUIRE))
		park(g, cpu);
}

static bool translate(struct gdb *g, struct gdb_thread t, uint64_t gva, uint64_t *gpa)
{
	const struct kvm_sync_regs *s = &g->vm->vcpus[t.vp].v[t.vtl].run->s.regs;
	struct hv_paging_regs r = {
		.cr0 = s->sregs.cr0, .cr3 = s->sregs.cr3, .cr4 = s->sregs.cr4, .efer = s->sregs.efer,
		.rflags = s->regs.rflags, .cpl = s->sregs.ss.dpl,
	};

	/* A walk without access checks and without setting A/D bits: looking changes nothing. */
	return hv_translate_gva(g->vm->hv, t.vtl, &r, gva, HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT, gpa) ==
	       HV_TRANSLATE_GVA_SUCCESS;
}

static bool is_swbp(struct gdb *g, struct gdb_thread t, uint64_t pc)
{
	uint64_t gpa;

	if (!translate(g, t, pc, &gpa))
		return false;
	for (unsigned int i = 0; i < GDB_MAX_BPS; i++)
		if (g->sw[i].used && g->sw[i].gpa == gpa)
			return true;
	return false;
}

bool gdb_vp_debug_exit(struct vcpu *cpu)
{
	struct gdb *g = cpu->vm->gdb;
	const struct kvm_debug_exit_arch *d = &cpu->run->debug.arch;
	struct gdb_event ev = { .t = { cpu->index, vcpu_vtl(cpu) } };
	unsigned int hit = d->dr6 & 0xf;

	if (!g)
		return false;
	if (d->exception == BP_VECTOR) {
		/* RIP is at the int3; a breakpoint of the guest's own is delivered to it. */
		if (!is_swbp(g, ev.t, d->pc)) {
			vcpu_inject_exception(cpu, BP_VECTOR);	/* the guest's own */
			return true;
		}
		ev.kind = GDB_STOP_SWBREAK;
	} else if (d->exception == DB_VECTOR && hit && g->hw[__builtin_ctz(hit)].type) {
		const struct gdb_hwbp *h = &g->hw[__builtin_ctz(hit)];

		ev.kind = h->type == 1 ? GDB_STOP_HWBREAK : GDB_STOP_WATCH;
		ev.watch_type = h->type;
		ev.watch_addr = h->addr;
	} else if (d->exception == DB_VECTOR && g->step && g->step_thread.vp == ev.t.vp &&
		   g->step_thread.vtl == ev.t.vtl) {
		ev.kind = GDB_STOP_STEP;
	} else {
		vcpu_inject_exception(cpu, (uint8_t)d->exception);
		return true;
	}
	report(g, &ev);
	return true;
}

/* ---- the stub's side (its own thread) ---- */

void gdb_stop_all(struct gdb *g)
{
	pthread_mutex_lock(&g->lock);
	request_stop_locked(g);
	pthread_mutex_unlock(&g->lock);
}

static void wait_a_while(struct gdb *g)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += 100000000L;
	t.tv_sec += t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&g->cond, &g->lock, &t);
}

bool gdb_wait_stopped(struct gdb *g)
{
	bool ok;

	pthread_mutex_lock(&g->lock);
	while (g->parked < g->vm->nr_vcpus && !vm_stopping(g->vm))
		wait_a_while(g);
	ok = g->parked == g->vm->nr_vcpus && !vm_stopping(g->vm);
	pthread_mutex_unlock(&g->lock);
	return ok;
}

void gdb_resume(struct gdb *g, bool step, struct gdb_thread t)
{
	g->step = step;
	g->step_thread = t;
	g->debug_gen++;			/* every VP re-applies its debug setup (and a step's start) */
	pthread_mutex_lock(&g->lock);
	g->have_event = false;
	__atomic_store_n(&g->stop_req, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g->lock);
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++)
		vcpu_wake(&g->vm->vcpus[i]);
}

bool gdb_on_vp(struct gdb *g, unsigned int vp, void (*fn)(struct vcpu *, void *), void *arg)
{
	bool done;

	pthread_mutex_lock(&g->lock);
	g->job_fn = fn;
	g->job_arg = arg;
	g->job_vp = (int)vp;
	g->job_done = false;
	pthread_mutex_unlock(&g->lock);
	vcpu_wake(&g->vm->vcpus[vp]);
	pthread_mutex_lock(&g->lock);
	/* A job the VP took runs to its end (its arg lives on our stack); one it never took is withdrawn. */
	while (!g->job_done && !(vm_stopping(g->vm) && g->job_vp == (int)vp))
		wait_a_while(g);
	done = g->job_done;
	g->job_vp = -1;
	pthread_mutex_unlock(&g->lock);
	return done;
}

bool gdb_thread_exists(struct gdb *g, struct gdb_thread t)
{
	return t.vp < g->vm->nr_vcpus && t.vtl < g->vm->opts->vtls &&
	       (hv_vp_enabled_vtls(g->vm->hv, t.vp) & (1u << t.vtl));
}

/* kvsm's address of [gva, gva + n) (one page) as thread t's VTL reaches it, or NULL. */
static uint8_t *access_page(struct gdb *g, struct gdb_thread t, uint64_t gva, size_t n, bool write)
{
	uint64_t gpa;

	if (!translate(g, t, gva, &gpa))
		return NULL;
	return guest_mem_access(&g->vm->mem, t.vtl, gpa, n, write);
}

static bool mem_xfer(struct gdb *g, struct gdb_thread t, uint64_t gva, uint8_t *buf, size_t len, bool write)
{
	while (len) {
		size_t n = GUEST_PAGE_SIZE - (gva & (GUEST_PAGE_SIZE - 1));
		uint8_t *p;

		if (n > len)
			n = len;
		p = access_page(g, t, gva, n, write);
		if (!p)
			return false;
		if (write)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		gva += n, buf += n, len -= n;
	}
	return true;
}

bool gdb_mem_read(struct gdb *g, struct gdb_thread t, uint64_t gva, uint8_t *buf, size_t len)
{
	return mem_xfer(g, t, gva, buf, len, false);
}

bool gdb_mem_write(struct gdb *g, struct gdb_thread t, uint64_t gva, const uint8_t *buf, size_t len)
{
	return mem_xfer(g, t, gva, (uint8_t *)buf, len, true);
}

/* Another breakpoint slot at the same guest-physical byte (e.g. inserted from another VTL), or NULL. */
static struct gdb_swbp *sw_twin(struct gdb *g, const struct gdb_swbp *b)
{
	for (unsigned int i = 0; i < GDB_MAX_BPS; i++)
		if (g->sw[i].used && &g->sw[i] != b && g->sw[i].gpa == b->gpa)
			return &g->sw[i];
	return NULL;
}

static bool sw_insert(struct gdb *g, struct gdb_thread t, uint64_t addr)
{
	struct gdb_swbp *b = NULL, *twin;
	uint8_t *p;

	for (unsigned int i = 0; i < GDB_MAX_BPS && !b; i++)
		if (!g->sw[i].used)
			b = &g->sw[i];
	if (!b || !translate(g, t, addr, &b->gpa))
		return false;
	/* The int3 goes in through the VTL's view: a page that VTL may not write takes none. */
	p = guest_mem_access(&g->vm->mem, t.vtl, b->gpa, 1, true);
	if (!p || !guest_mem_access(&g->vm->mem, t.vtl, b->gpa, 1, false))
		return false;
	twin = sw_twin(g, b);
	b->orig = twin ? twin->orig : *p;
	*p = INT3;
	b->vtl = t.vtl;
	b->gva = addr;
	b->used = true;
	return true;
}

static bool sw_remove(struct gdb *g, struct gdb_thread t, uint64_t addr)
{
	struct gdb_swbp *b = NULL;
	uint8_t *p;

	/* The one this thread's VTL inserted, else one another VTL did at that address. */
	for (unsigned int i = 0; i < GDB_MAX_BPS; i++)
		if (g->sw[i].used && g->sw[i].gva == addr && (!b || g->sw[i].vtl == t.vtl))
			b = &g->sw[i];
	if (!b)
		return false;
	if (!sw_twin(g, b)) {
		/*
		 * Put back the byte the debugger itself replaced, even where a
		 * higher VTL has since taken write access away (leaving the int3
		 * would be worse); only if the int3 is still there.
		 */
		p = guest_mem_access(&g->vm->mem, b->vtl, b->gpa, 1, true);
		if (!p)
			p = guest_mem_priv(&g->vm->mem, b->gpa, 1);
		if (p && *p == INT3)
			*p = b->orig;
	}
	b->used = false;
	return true;
}

bool gdb_bp_insert(struct gdb *g, struct gdb_thread t, int type, uint64_t addr, unsigned int kind)
{
	if (type == 0)
		return kind == 1 && sw_insert(g, t, addr);
	/* Execute breakpoints are 1 byte; x86 has no read-only watchpoint (type 3). */
	if (type == 3 || (type == 1 && kind != 1) ||
	    (type != 1 && ((kind != 1 && kind != 2 && kind != 4 && kind != 8) || (addr & (kind - 1)))))
		return false;
	for (unsigned int i = 0; i < GDB_NR_HW_BPS; i++)
		if (!g->hw[i].type) {
			g->hw[i] = (struct gdb_hwbp){ .type = type, .addr = addr, .len = kind };
			g->debug_gen++;
			return true;
		}
	return false;
}

bool gdb_bp_remove(struct gdb *g, struct gdb_thread t, int type, uint64_t addr, unsigned int kind)
{
	if (type == 0)
		return sw_remove(g, t, addr);
	for (unsigned int i = 0; i < GDB_NR_HW_BPS; i++)
		if (g->hw[i].type == type && g->hw[i].addr == addr && g->hw[i].len == kind) {
			g->hw[i].type = 0;
			g->debug_gen++;
			return true;
		}
	return false;
}

void gdb_bp_clear(struct gdb *g)
{
	for (unsigned int i = 0; i < GDB_MAX_BPS; i++)
		if (g->sw[i].used)
			sw_remove(g, (struct gdb_thread){ 0, g->sw[i].vtl }, g->sw[i].gva);
	memset(g->hw, 0, sizeof(g->hw));
	g->debug_gen++;
}
