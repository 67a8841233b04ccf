/*
 * The demo guest of `make demo` (run with --vtls 2): Virtual Secure Mode in
 * a few seconds. Its VTL1 "secure kernel" takes a secret page away from VTL0,
 * makes VTL0's kernel text read+execute only and locks VTL0's LSTAR; then the
 * VTL0 "kernel" tries to read the secret, patch its text and hook the system
 * call entry. Each attempt stops at an intercept; VTL1 decides and VTL0 sees
 * the outcome. The story goes to the console; the exit status says whether
 * everything held (1 = it did, as for every guest test).
 */
#include "lib/vsm.h"

#define INTERCEPT_VEC	0xe7
#define MSR_LSTAR	0xc0000082
#define REG_CR_INTERCEPT_CONTROL 0xE0000
#define CTL_LSTAR_WRITE	(1ull << 6)
#define REG_PENDING_EVENT0 0x10004
#define PE0_GP		(1ull | 1ull << 8 | 13ull << 16)	/* pending #GP, error code 0 */
#define SECRET		0x5ec2e75ec2e75ec2ull

enum decision { SKIP, INJECT_GP };

extern const uint8_t _text_end[];	/* guest.ld */
static struct hv_message *simp1;
static uint8_t *secret;
static volatile enum decision decision;
static volatile unsigned int intercepts, gps;
static volatile unsigned int gp_skip;	/* bytes VTL0's #GP handler skips: the refused instruction */
static char story[160];			/* VTL1's last line, printed by VTL0 */
static bool failed;

/* ---- VTL1: the secure kernel ---- */

static uint64_t protect(uint64_t gpa, uint64_t pages, uint32_t mask)
{
	uint64_t *in = alloc_zeroed(4096);

	in[0] = HV_PARTITION_ID_SELF;
	in[1] = mask;
	for (uint64_t i = 0; i < pages; i++)
		in[2 + i] = (gpa >> 12) + i;
	return hv_hypercall(HVCALL_MODIFY_VTL_PROTECTION_MASK | HV_REP(pages), (uint64_t)in, 0);
}

static void on_intercept(struct irq_frame *f)
{
	const uint8_t *b = simp1->payload;
	uint8_t *assist = vtl1_vps[0].assist;
	uint64_t rip = *(const uint64_t *)(b + 24), rax = *(const uint64_t *)(b + 112);
	uint64_t rcx = *(const uint64_t *)(b + 120);
	static const char *const access[] = { "read", "write", "execute" };

	intercepts++;
	if (simp1->message_type == 0x80010001u) {	/* MsrIntercept */
		rax = *(const uint64_t *)(b + 56);
		rcx = *(const uint32_t *)(b + 40);
		snprintf(story, sizeof(story), "MSR intercept: VTL0 wrmsr 0x%x <- 0x%llx at RIP 0x%llx", (unsigned int)rcx,
			 (unsigned long long)(*(const uint64_t *)(b + 48) << 32 | (uint32_t)rax),
			 (unsigned long long)rip);
	} else {
		snprintf(story, sizeof(story), "GPA intercept: VTL0 %s of GPA 0x%llx at RIP 0x%llx",
			 access[b[5] < 3 ? b[5] : 0], (unsigned long long)*(const uint64_t *)(b + 56),
			 (unsigned long long)rip);
	}
	if (decision == SKIP) {
		vsm_set_reg(~1u, HV_INPUT_VTL(0), HV_REG_RIP, rip + (b[4] & 0xf));
		snprintf(story + strlen(story), sizeof(story) - strlen(story), "\n          VTL1: denied, the "
			 "instruction is skipped and nothing is read");
	} else {
		vsm_set_reg(~1u, HV_INPUT_VTL(0), REG_PENDING_EVENT0, PE0_GP);
		snprintf(story + strlen(story), sizeof(story) - strlen(story), "\n          VTL1: denied, #GP for VTL0");
	}
	*(uint64_t *)(assist + 0x10) = rax;	/* VTL0's RAX and RCX back (spec 4.2) */
	*(uint64_t *)(assist + 0x18) = rcx;
	hv_message_free(simp1);
	apic_eoi();
}

static void vtl1_boot(void)
{
	uint64_t text = 0x100000, text_pages = ((uint64_t)_text_end & ~0xfffull) / 4096 - text / 4096;

	vsm_take_intercepts(simp1, INTERCEPT_VEC);
	failed |= vsm_set_reg(~1u, 0, HV_REG_VSM_PARTITION_CONFIG, 1 | 0xf << 1) != 1ull << 32;
	failed |= protect((uint64_t)secret, 1, 0) != 1ull << 32;
	failed |= protect(text, text_pages, 0x5) != text_pages << 32;
	failed |= vsm_set_reg(~1u, 0, REG_CR_INTERCEPT_CONTROL, CTL_LSTAR_WRITE) != 1ull << 32;	/* its own, for VTL0 */
	snprintf(story, sizeof(story), "secret page at GPA 0x%llx: no access for VTL0\n"
		 "          VTL0 kernel text 0x%llx-0x%llx: read+execute only\n"
		 "          VTL0 LSTAR: writes intercepted", (unsigned long long)secret, (unsigned long long)text,
		 (unsigned long long)(text + text_pages * 4096 - 1));
}

/* ---- VTL0: the kernel under attack ---- */

static void on_gp(struct irq_frame *f)
{
	gps++;
	f->rip += gp_skip;
}

static uint64_t read_secret(void)
{
	uint64_t v = 0;

	__asm__ volatile("movq (%%rbx), %%rax" : "+a"(v) : "b"(secret) : "memory");
	return v;
}

static void patch_text(uint8_t *at)
{
	gp_skip = 3;
	__asm__ volatile("movb $0xc3, (%%rbx)" : : "b"(at) : "memory");	/* 3 bytes */
}

static void hook_syscall(uint64_t entry)
{
	gp_skip = 2;
	wrmsr(MSR_LSTAR, entry);	/* 2 bytes */
}

static void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *who, const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("  [%s] %s\n", who, buf);
}

void test_main(const struct mb_info *mbi)
{
	uint64_t got, lstar;
	uint8_t *target = (uint8_t *)hook_syscall, before = *target;

	printf("kvsm demo: Virtual Secure Mode on stock KVM\n");
	hv_enable_hypercalls();
	apic_enable();
	simp1 = alloc_zeroed(4096);
	secret = alloc_zeroed(4096);
	*(volatile uint64_t *)secret = SECRET;
	set_irq_handler(INTERCEPT_VEC, on_intercept);
	set_irq_handler(13, on_gp);
	wrmsr(MSR_LSTAR, 0xffffffff81000000ull);
	lstar = rdmsr(MSR_LSTAR);

	say("VTL0", "enabling VTL1 and calling the secure kernel");
	failed |= vsm_enable_partition_vtl1() != 0 || vsm_enable_vp_vtl1(0) != 0;
	vsm_call(vtl1_boot, 0, 0);
	say("VTL1", "%s", story);

	say("VTL0", "attack 1: read the secret");
	decision = SKIP;
	got = read_secret();
	say("VTL1", "%s", story);
	say("VTL0", "read 0x%llx: %s", (unsigned long long)got, got == SECRET ? "THE SECRET LEAKED" : "no secret");
	failed |= got == SECRET;

	say("VTL0", "attack 2: patch kernel text at %p", (void *)target);
	decision = INJECT_GP;
	patch_text(target);
	say("VTL1", "%s", story);
	say("VTL0", "#GP taken; kernel text %s", *target == before ? "intact" : "PATCHED");
	failed |= *target != before || gps != 1;

	say("VTL0", "attack 3: hook the system call entry (LSTAR)");
	hook_syscall(0xdeadbeef00000000ull);
	say("VTL1", "%s", story);
	say("VTL0", "#GP taken; LSTAR 0x%llx, %s", (unsigned long long)rdmsr(MSR_LSTAR),
	    rdmsr(MSR_LSTAR) == lstar ? "unchanged" : "HOOKED");
	failed |= rdmsr(MSR_LSTAR) != lstar || gps != 2;

	failed |= intercepts != 3;
	printf("kvsm demo: 3 attacks, %u intercepts: %s\n", intercepts,
	       failed ? "something got through" : "VTL1 held, the secret, the kernel text and LSTAR are intact");
	check(!failed, "the secure kernel held");
}
