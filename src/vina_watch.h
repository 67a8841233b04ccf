/* VINA for VTL0's in-kernel interrupt sources while a higher VTL runs (see vina_watch.c). */
#ifndef KVSM_VINA_WATCH_H
#define KVSM_VINA_WATCH_H

#include <stdint.h>

struct vcpu;

/* What one VP watches of its VTL0 APIC; its own thread only. */
struct vina_watch {
	uint64_t next_poll_ns;	/* monotonic time of the next IRR look; 0: not watching */
	uint64_t timer_ns;	/* VTL0's next APIC timer interrupt as of the last look; 0: none */
};

/* The VP left VTL0 for a higher VTL. */
void vina_watch_start(struct vcpu *cpu);
/*
 * Before each run of a higher VTL (and while it halts): look if due, assert
 * VINA on what it finds. *now_ns: the monotonic time, or 0 if not read yet
 * (read here, and stored, only if VINA is wanted).
 */
void vina_watch_poll(struct vcpu *cpu, uint64_t *now_ns);
/* When the next look is due (monotonic ns), or 0: for the VP's host timer. */
uint64_t vina_watch_next(const struct vcpu *cpu);

#endif
