/*
 * Hypercalls from CPL 3 (TLFS: only CPL 0 may call): when the I/O
 * permission bitmap lets CPL 3 use the hypercall port, the page's port write
 * reaches kvsm, which raises #UD as Hyper-V does for VMCALL; otherwise the
 * CPU's own I/O permission check raises #GP first. Either way the call does
 * nothing. (The bitmap, not IOPL: some software KVMs run guest CPL 3 with
 * IOPL forced to 0.)
 */
#include "lib/hyperv.h"
#include "lib/user.h"

static volatile bool gp_at_page;
static volatile uint64_t user_result;

/* #GP at the page's `out` (IOPL 0): skip it, as if the call returned. */
static void gp_in_page(struct irq_frame *f)
{
	if (f->rip >= (uint64_t)hv_hypercall_page && f->rip < (uint64_t)hv_hypercall_page + 4096) {
		gp_at_page = true;
		f->rip += 2;
	}
}

static void user_call(void)
{
	user_result = hv_hypercall(0x0008 | HV_FAST, 0, 0);	/* NotifyLongSpinWait: would succeed at CPL 0 */
}

void test_main(const struct mb_info *mbi)
{
	hv_enable_hypercalls();
	CHECK_EQ(hv_hypercall(0x0008 | HV_FAST, 0, 0), HV_STATUS_SUCCESS);

	user_setup();
	user_allow_port(0xe8, true);
	user_run(user_call);
	CHECK(hv_hypercall_ud);
	CHECK_EQ(user_result, 0xdead);		/* RAX untouched: no status */

	user_allow_port(0xe8, false);
	user_gp_hook = gp_in_page;
	user_run(user_call);
	CHECK(gp_at_page);
	CHECK(!hv_hypercall_ud);
	CHECK_EQ(user_result, 0xdead);
}
