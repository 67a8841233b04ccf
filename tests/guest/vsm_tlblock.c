/*
 * TLB locks (run with --vtls 2 --smp 2; spec 1.7.7, 3.10). VTL1 on VP1 locks
 * VP1's TLB for VTL0 with HvRegisterVsmVpSecureConfigVtl0.TlbLocked; VTL0 on
 * VP0 then flushes VP1's TLB and must not get its answer before VTL1 sets a
 * flag and releases the lock. A lock VTL1 leaves set goes when it returns: a
 * flush after that completes (if it did not, VP1's VTL0 would release the
 * lock through VTL1 after a timeout, and the test says so). Also: the
 * register's rules and TranslateVirtualAddress's TlbFlushInhibit.
 */
#include "lib/vsm.h"

#define TLB_FLUSH_INHIBIT	(1ull << 5)	/* HV_TRANSLATE_GVA_CONTROL_FLAGS */
#define SECURE_CONFIG_VTL0	HV_REG_VSM_VP_SECURE_CONFIG_VTL0
#define TLB_LOCKED		2
#define HOLD_US			20000		/* how long VTL1 keeps VP0's flush waiting */
#define WAIT_US			5000000		/* only reached when something is wrong */
#define OK			(1ull << 32)	/* one register set or read */

static uint64_t flush_in[3] __attribute__((aligned(32)));
static uint64_t translate_in[4] __attribute__((aligned(32)));
static uint64_t translate_out[2] __attribute__((aligned(16)));

static volatile uint64_t vp1[16];		/* what VTL1 on VP1 saw, in order */
static volatile bool vp1_locked, flush_issued, released, vp1_returned, flush2_done, rescued;
static volatile uint64_t released_seen_by_flush;

static void vtl1_enable_vp1(void)
{
	vp1[0] = vsm_enable_vp_vtl1(1);
}

/* VTL1 on VP1: the register's rules, then lock and hold until VP0's flush waits. */
static void vtl1_lock_and_hold(void)
{
	uint64_t v = ~0ull;

	vp1[1] = vsm_set_reg(~1u, 0, SECURE_CONFIG_VTL0, 1);		/* MbecEnabled: no MBEC */
	vp1[2] = vsm_set_reg(~1u, 0, SECURE_CONFIG_VTL0, 1ull << 4 | TLB_LOCKED);	/* reserved */
	vp1[3] = vsm_set_reg(0, 0, SECURE_CONFIG_VTL0, TLB_LOCKED);		/* VP0's: not its own */
	vp1[4] = vsm_get_reg(~1u, 0, HV_REGISTER_VSM_VP_WAIT_FOR_TLB_LOCK, &v);
	vp1[5] = vsm_set_reg(~1u, 0, SECURE_CONFIG_VTL0, TLB_LOCKED);
	vsm_get_reg(~1u, 0, SECURE_CONFIG_VTL0, &v);
	vp1[6] = v;
	vp1_locked = true;
	SPIN_UNTIL(flush_issued, WAIT_US);
	SPIN_UNTIL(false, HOLD_US);				/* VP0 is inside its flush now */
	released = true;
	vp1[7] = vsm_set_reg(~1u, 0, SECURE_CONFIG_VTL0, 0);
}

/* VTL1 on VP1: TlbFlushInhibit locks, then a lock left set on return. */
static void vtl1_lock_and_return(void)
{
	uint64_t v = ~0ull;

	translate_in[0] = ~0ull;				/* HV_PARTITION_ID_SELF */
	translate_in[1] = 0xfffffffeu;				/* HV_VP_INDEX_SELF */
	translate_in[2] = (uint64_t)HV_INPUT_VTL(0) << 56 | TLB_FLUSH_INHIBIT;
	translate_in[3] = (uint64_t)flush_in >> 12;
	vp1[8] = hv_hypercall(HVCALL_TRANSLATE_VIRTUAL_ADDRESS, (uint64_t)translate_in, (uint64_t)translate_out);
	vsm_get_reg(~1u, 0, SECURE_CONFIG_VTL0, &v);
	vp1[9] = v;
}

static void vtl1_read_lock(void)
{
	uint64_t v = ~0ull;

	vsm_get_reg(~1u, 0, SECURE_CONFIG_VTL0, &v);
	vp1[10] = v;
}

static void vtl1_rescue(void)
{
	vsm_set_reg(~1u, 0, SECURE_CONFIG_VTL0, 0);
	rescued = true;
}

static uint64_t flush_vp1(void)
{
	flush_in[0] = 0;
	flush_in[1] = 0;
	flush_in[2] = 1u << 1;					/* ProcessorMask: VP1 */
	return hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, (uint64_t)flush_in, 0);
}

void ap_main(unsigned int id)
{
	apic_enable();
	vsm_call(vtl1_lock_and_hold, 0, 0);
	vsm_call(vtl1_lock_and_return, 0, 0);
	vp1_returned = true;
	if (!WAIT_UNTIL(flush2_done, WAIT_US))
		vsm_call(vtl1_rescue, 0, 0);
	vsm_call(vtl1_read_lock, 0, 0);
	vp1_returned = false;
	cli();
}

static void test_stall_until_released(void)
{
	uint64_t st;

	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_enable_vp1, 0, 0);
	CHECK_EQ(vp1[0], 0);
	/* VTL0 holds no instance of the register. */
	CHECK_EQ(vsm_set_reg(~1u, 0, SECURE_CONFIG_VTL0, TLB_LOCKED), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vsm_start_vp(1, 0), 0);
	CHECK(WAIT_UNTIL(vp1_locked, WAIT_US));
	CHECK_EQ(vp1[1], HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vp1[2], HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vp1[3], HV_STATUS_ACCESS_DENIED);
	CHECK_EQ(vp1[4], HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(vp1[5], OK);
	CHECK_EQ(vp1[6], TLB_LOCKED);
	/* A flush that leaves VP1 out runs at once. */
	flush_in[0] = flush_in[1] = 0;
	flush_in[2] = 1;
	CHECK_EQ(hv_hypercall(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, (uint64_t)flush_in, 0), 0);
	CHECK(!released);
	flush_issued = true;
	st = flush_vp1();
	released_seen_by_flush = released;
	CHECK_EQ(st, 0);
	check(released_seen_by_flush, "the flush returned only after VTL1 released VP1's lock");
	CHECK_EQ(vp1[7], OK);
}

static void test_dropped_on_return(void)
{
	CHECK(WAIT_UNTIL(vp1_returned, WAIT_US));
	CHECK_EQ(vp1[8], 0);
	CHECK_EQ(vp1[9], TLB_LOCKED);				/* TlbFlushInhibit took the lock */
	CHECK_EQ(flush_vp1(), 0);
	flush2_done = true;
	check(!rescued, "the flush ran without VTL1 releasing the lock it returned with");
	CHECK(WAIT_UNTIL(!vp1_returned, WAIT_US));
	CHECK_EQ(vp1[10], 0);					/* gone with the return */
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	apic_enable();
	test_stall_until_released();
	test_dropped_on_return();
}
