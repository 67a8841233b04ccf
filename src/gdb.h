/*
 * `kvsm run --gdb PORT`: a GDB remote-serial-protocol stub (docs/gdb.md).
 * Every (VP, VTL) pair the partition has enabled is a GDB thread; its
 * registers are that VTL's (shared ones: those of the VTL the VP runs) and
 * its memory is that VTL's view, translated with that VTL's paging.
 *
 * gdb_stub.c: the socket and the packets; gdb_vp.c: stopping and resuming
 * the whole guest, guest debug (breakpoints, single-step) and memory;
 * gdb_regs.c: the register layout (target.xml) and its mapping onto
 * vtl_regs.c.
 */
#ifndef KVSM_GDB_H
#define KVSM_GDB_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;

/* ---- what the VMM calls ---- */

/*
 * Listen on 127.0.0.1:port, say so on stderr, accept one debugger and
 * start serving it; every VP stops before its first instruction until the
 * debugger resumes it. Exits with a message on failure.
 */
struct gdb *gdb_start(struct vm *vm, unsigned int port);
/* The VM has stopped with status: tell the debugger and end the stub. */
void gdb_end(struct gdb *g, int status);
/*
 * Called by a VP's thread right before KVM_RUN. true: the VP stopped for
 * the debugger (or a step ended) and must go round its loop again first.
 */
bool gdb_vp_hold(struct vcpu *cpu);
/* A KVM_EXIT_DEBUG of the VP's running vCPU; false: not ours (no stub). */
bool gdb_vp_debug_exit(struct vcpu *cpu);
/* A VP sleeping in HLT stops here when the debugger stops the guest. */
void gdb_vp_poll(struct vcpu *cpu);

/* ---- shared by the stub's files ---- */

#define GDB_MAX_BPS 64
#define GDB_NR_HW_BPS 4

/* A GDB thread: (vp, vtl), numbered vp * KVSM_MAX_VTLS + vtl + 1. */
struct gdb_thread {
	unsigned int vp, vtl;
};

enum gdb_stop_kind { GDB_STOP_ATTACH, GDB_STOP_INTERRUPT, GDB_STOP_STEP, GDB_STOP_SWBREAK, GDB_STOP_HWBREAK, GDB_STOP_WATCH };

struct gdb_event {
	enum gdb_stop_kind kind;
	struct gdb_thread t;
	int watch_type;			/* 2 write, 3 read, 4 access (Z2..Z4) */
	uint64_t watch_addr;
};

/* A software breakpoint: int3 written at gpa through VTL vtl's view; orig is the byte it replaced. */
struct gdb_swbp {
	bool used;
	unsigned int vtl;
	uint64_t gva, gpa;
	uint8_t orig;
};

/* A debug register slot: Z1 (type 1) or a watchpoint (2..4) of len 1, 2, 4 or 8. */
struct gdb_hwbp {
	int type;			/* 0 = free */
	uint64_t addr;
	unsigned int len;
};

struct gdb_vp_state {
	unsigned int debug_gen;		/* [T] the debug setup its vCPUs have */
	bool step_ran;			/* [T] the stepped vCPU entered KVM_RUN since the step began */
};

struct gdb {
	struct vm *vm;
	int sock;			/* the debugger's connection, -1 after it left */
	int evfd;			/* eventfd: a VP stopped the guest, or the VM ends */
	pthread_t thread;
	bool blockirq;			/* KVM_GUESTDBG_BLOCKIRQ is available */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* [lock], stop_req also read atomically by the VPs */
	bool stop_req;			/* every VP is to stop (or stays stopped) */
	unsigned int parked;		/* VPs stopped for the debugger */
	bool have_event;
	struct gdb_event ev;		/* why the guest stopped (the first reason) */
	/* A job for a stopped VP's thread (vCPU ioctls belong there). */
	void (*job_fn)(struct vcpu *cpu, void *arg);
	void *job_arg;
	int job_vp;			/* -1: none */
	bool job_done;

	/* Written by the stub's thread only while every VP is stopped; read by the VPs after. */
	unsigned int debug_gen;		/* bumped on every change below */
	bool step;
	struct gdb_thread step_thread;
	struct gdb_swbp sw[GDB_MAX_BPS];
	struct gdb_hwbp hw[GDB_NR_HW_BPS];
	struct gdb_vp_state *vps;	/* per VP */

	/* The stub's thread only. */
	struct gdb_thread g_thread;	/* Hg: registers and memory */
	struct gdb_thread c_thread;	/* Hc: s and c */
	bool c_any;			/* Hc-1 / Hc0 */
};

/* gdb_vp.c: the stub's side of stopping and resuming (stub thread). */
void gdb_stop_all(struct gdb *g);
/* Wait until every VP stopped; false if the VM ended first. */
bool gdb_wait_stopped(struct gdb *g);
/* Resume every VP; step: single-step thread t's VTL once (the rest run freely). */
void gdb_resume(struct gdb *g, bool step, struct gdb_thread t);
/* Run fn on VP vp's stopped thread and wait for it; false if the VM ended. */
bool gdb_on_vp(struct gdb *g, unsigned int vp, void (*fn)(struct vcpu *, void *), void *arg);
/* Whether thread t exists now (its VTL is enabled on its VP). */
bool gdb_thread_exists(struct gdb *g, struct gdb_thread t);
/* Guest memory through thread t's VTL: its paging and its view; false at the first byte it cannot access. */
bool gdb_mem_read(struct gdb *g, struct gdb_thread t, uint64_t gva, uint8_t *buf, size_t len);
bool gdb_mem_write(struct gdb *g, struct gdb_thread t, uint64_t gva, const uint8_t *buf, size_t len);
/* Z/z of type 0..4 at addr (kind: length); false: refused (no slot, no access, bad length). */
bool gdb_bp_insert(struct gdb *g, struct gdb_thread t, int type, uint64_t addr, unsigned int kind);
bool gdb_bp_remove(struct gdb *g, struct gdb_thread t, int type, uint64_t addr, unsigned int kind);
/* Take every breakpoint out (detach). */
void gdb_bp_clear(struct gdb *g);

/* gdb_regs.c */
/* qXfer:features:read:target.xml, made from the register table. */
const char *gdb_target_xml(size_t *len);
/* The g packet's registers of thread t as hex ('x' for those not provided); buf has room for GDB_REGS_HEX. */
#define GDB_REGS_HEX 1024
bool gdb_regs_read_all(struct gdb *g, struct gdb_thread t, char *hex);
/* One register n as hex; false: no such register. */
bool gdb_regs_read_one(struct gdb *g, struct gdb_thread t, unsigned int n, char *hex);
/* Write register n from hex (its full width); false: refused. */
bool gdb_regs_write_one(struct gdb *g, struct gdb_thread t, unsigned int n, const char *hex, size_t len);
/* The G packet; false: malformed or a register refused. */
bool gdb_regs_write_all(struct gdb *g, struct gdb_thread t, const char *hex, size_t len);

/* Hex helpers (gdb_stub.c). */
void gdb_hex_put(char *out, const uint8_t *bytes, size_t n);
bool gdb_hex_get(const char *in, uint8_t *bytes, size_t n);

#endif
