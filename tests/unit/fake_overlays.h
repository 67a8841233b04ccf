/*
 * Overlay host ops for the unit tests' fake hosts, whose guest memory is one
 * flat array shared by every VTL: they count the core's map/unmap calls (so
 * a test can check that overlay MSRs keep them balanced) and report RAM.
 */
#ifndef KVSM_TEST_FAKE_OVERLAYS_H
#define KVSM_TEST_FAKE_OVERLAYS_H

#include <stdbool.h>
#include <stdint.h>

static int fake_overlays_live;	/* maps minus unmaps */

static bool fake_map_overlay(void *host, unsigned int vtl, uint64_t gpa)
{
	__atomic_add_fetch(&fake_overlays_live, 1, __ATOMIC_RELAXED);
	return true;
}

static void fake_unmap_overlay(void *host, unsigned int vtl, uint64_t gpa)
{
	__atomic_sub_fetch(&fake_overlays_live, 1, __ATOMIC_RELAXED);
}

#endif
