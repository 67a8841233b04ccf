/*
 * The guest tests/cli/gdb.sh debugs (--vtls 2 --gdb PORT -- gdb=1). VTL0
 * enables VTL1 and calls it: VTL1 sets its own FS base, takes gdb_secret
 * away from VTL0 (no access) and, with gdb=1, says "gdb: vtl1 waits" and
 * loops on the one instruction at gdb_vtl1_mark with R13 = 0x5ec0de0013
 * until the debugger moves its RIP to gdb_vtl1_done. VTL0 then (gdb=1:
 * after its own "gdb: vtl0 waits" loop at gdb_vtl0_spin, left the same
 * way) calls VTL1 again from gdb_call_insn, the instruction the debugger
 * steps over. Without gdb=1 it simply runs its checks.
 */
#include "lib/vsm.h"

#define FS_BASE		0xc0000100
#define VTL0_FS_BASE	0xf0f0f000ull
#define VTL1_FS_BASE	0xf1f1f000ull
#define SECRET		0x5ec2e75ec2e75ec2ull

uint8_t gdb_secret[4096] __attribute__((aligned(4096)));
volatile uint64_t gdb_vtl1_calls;
static volatile uint64_t status;

/*
 * VtlCall from VTL0 with a symbol on the call instruction and one after it;
 * callee-saved GPRs kept. wait != 0: first loop at gdb_vtl0_spin until the
 * debugger moves RIP on.
 */
void gdb_vtl0_call(int wait);
__asm__(".text\n"
	".globl gdb_vtl0_call\n"
	"gdb_vtl0_call:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	mov hv_hypercall_page(%rip), %rax\n"
	"	add $0x0f, %rax\n"		/* the 64-bit VTL call thunk */
	"	xor %ecx, %ecx\n"
	"	test %edi, %edi\n"
	"	jz gdb_call_insn\n"
	".globl gdb_vtl0_spin\n"
	"gdb_vtl0_spin:\n"
	"	jmp gdb_vtl0_spin\n"
	".globl gdb_call_insn\n"
	"gdb_call_insn:\n"
	"	call *%rax\n"
	".globl gdb_after_call\n"
	"gdb_after_call:\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n");

/* VTL1 loops at gdb_vtl1_mark, R13 = 0x5ec0de0013, until the debugger sets RIP to gdb_vtl1_done. */
void gdb_vtl1_wait(void);
__asm__(".text\n"
	".globl gdb_vtl1_wait\n"
	"gdb_vtl1_wait:\n"
	"	push %r13\n"
	"	movabs $0x5ec0de0013, %r13\n"
	".globl gdb_vtl1_mark\n"
	"gdb_vtl1_mark:\n"
	"	jmp gdb_vtl1_mark\n"
	".globl gdb_vtl1_done\n"
	"gdb_vtl1_done:\n"
	"	pop %r13\n"
	"	ret\n");

static bool wait_for_gdb;

static uint64_t protect(uint64_t gpa, uint32_t mask)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask;			/* TargetVtl 0 */
	in[2] = gpa >> 12;
	return hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(1), (uint64_t)in, 0);
}

static void __attribute__((noinline)) vtl1_first(void)
{
	wrmsr(FS_BASE, VTL1_FS_BASE);
	/* EnableVtlProtection, DefaultVtlProtectionMask RWX; then gdb_secret: no access for VTL0. */
	vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 1 | 0xf << 1);
	status = protect((uint64_t)gdb_secret, 0);
	if (wait_for_gdb) {
		printf("gdb: vtl1 waits\n");
		gdb_vtl1_wait();
	}
	gdb_vtl1_calls++;
}

static void vtl1_second(void)
{
	gdb_vtl1_calls++;
}

/* The third VTL call's VTL1 code: gdb.sh puts a breakpoint on it. */
void __attribute__((noinline)) gdb_vtl1_third(void)
{
	gdb_vtl1_calls++;
}

void test_main(const struct mb_info *mbi)
{
	wait_for_gdb = cmdline_u64(mbi, "gdb", 0);
	hv_enable_hypercalls();
	*(volatile uint64_t *)gdb_secret = SECRET;
	wrmsr(FS_BASE, VTL0_FS_BASE);
	CHECK_EQ(vsm_enable_partition_vtl1(), 0);
	CHECK_EQ(vsm_enable_vp_vtl1(0), 0);
	vsm_call(vtl1_first, 0, 0);
	CHECK_EQ(status, 1ull << 32);
	CHECK_EQ(gdb_vtl1_calls, 1);
	vsm_set_call_fn(vtl1_second);
	if (wait_for_gdb)
		printf("gdb: vtl0 waits\n");
	gdb_vtl0_call(wait_for_gdb);
	CHECK_EQ(gdb_vtl1_calls, 2);
	vsm_call(gdb_vtl1_third, 0, 0);
	CHECK_EQ(gdb_vtl1_calls, 3);
	CHECK_EQ(rdmsr(FS_BASE), VTL0_FS_BASE);
}
