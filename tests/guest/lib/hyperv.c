/* Hyper-V helpers for guest tests. */
#include "hyperv.h"

void *hv_hypercall_page;
volatile bool hv_hypercall_ud;
static volatile bool gp_seen;

static void gp_skip(struct irq_frame *f)
{
	gp_seen = true;
	f->rip += 2;	/* rdmsr and wrmsr are two bytes */
}

bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	gp_seen = false;
	set_irq_handler(13, gp_skip);
	__asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	set_irq_handler(13, 0);
	*val = lo | (uint64_t)hi << 32;
	return !gp_seen;
}

bool wrmsr_safe(uint32_t msr, uint64_t val)
{
	gp_seen = false;
	set_irq_handler(13, gp_skip);
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
	set_irq_handler(13, 0);
	return !gp_seen;
}

void *hv_enable_hypercalls(void)
{
	if (!hv_hypercall_page)
		hv_hypercall_page = alloc_pages(1);
	wrmsr(HV_X64_MSR_GUEST_OS_ID, HV_GUEST_OS_ID_KVSM_TESTS);
	wrmsr(HV_X64_MSR_HYPERCALL, (uint64_t)hv_hypercall_page | 1);
	return hv_hypercall_page;
}

/* #UD from the hypercall page: record it and return to the caller of the page. */
static void ud_return(struct irq_frame *f)
{
	hv_hypercall_ud = true;
	f->rip = *(uint64_t *)f->rsp;	/* the page was entered by a call */
	f->rsp += 8;
}

uint64_t hv_call_thunk(void *thunk, uint64_t rcx)
{
	uint64_t rax;

	hv_hypercall_ud = false;
	set_irq_handler(6, ud_return);
	__asm__ volatile("call *%[t]" : "=a"(rax), "+c"(rcx)
			 : [t] "r"(thunk) : "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
	set_irq_handler(6, 0);
	return rax;
}

/* The hypercall page of the running VTL (vsm.c knows about VTL1). */
void *__attribute__((weak)) hv_current_hypercall_page(void)
{
	return hv_hypercall_page;
}

uint64_t hv_hypercall(uint64_t control, uint64_t in_gpa, uint64_t out_gpa)
{
	void *page = hv_current_hypercall_page();
	uint64_t ret = 0xdead;	/* RAX must be overwritten by the call */

	hv_hypercall_ud = false;
	set_irq_handler(6, ud_return);
	/* Bind R8 only now: the call above may clobber it (GCC local register variables). */
	register uint64_t r8 __asm__("r8") = out_gpa;
	__asm__ volatile("call *%[page]"
			 : "+a"(ret), "+c"(control), "+d"(in_gpa), "+r"(r8)
			 : [page] "r"(page)
			 : "memory", "r9", "r10", "r11");
	set_irq_handler(6, 0);
	return ret;
}

uint64_t hv_hypercall_xmm(uint64_t control, uint64_t rdx, uint64_t r8v, const void *xmm_in, void *xmm_out)
{
	uint64_t ret = 0xdead;
	static uint8_t zero[96];
	void *page = hv_current_hypercall_page();

	hv_hypercall_ud = false;
	set_irq_handler(6, ud_return);
	register uint64_t r8 __asm__("r8") = r8v;
	__asm__ volatile("movdqu 0(%[in]), %%xmm0\n\tmovdqu 16(%[in]), %%xmm1\n\tmovdqu 32(%[in]), %%xmm2\n\t"
			 "movdqu 48(%[in]), %%xmm3\n\tmovdqu 64(%[in]), %%xmm4\n\tmovdqu 80(%[in]), %%xmm5\n\t"
			 "call *%[page]\n\t"
			 "movdqu %%xmm0, 0(%[out])\n\tmovdqu %%xmm1, 16(%[out])\n\tmovdqu %%xmm2, 32(%[out])\n\t"
			 "movdqu %%xmm3, 48(%[out])\n\tmovdqu %%xmm4, 64(%[out])\n\tmovdqu %%xmm5, 80(%[out])"
			 : "+a"(ret), "+c"(control), "+d"(rdx), "+r"(r8)
			 : [page] "r"(page), [in] "r"(xmm_in ? xmm_in : zero),
			   [out] "r"(xmm_out)
			 /* no XMM clobbers: guest code is built with -mgeneral-regs-only */
			 : "memory", "r9", "r10", "r11");
	set_irq_handler(6, 0);
	return ret;
}

void hv_message_free(struct hv_message *m)
{
	/* TLFS 11.10.3: clear MessageType, then EOM if the hypervisor left a message pending. */
	__atomic_store_n(&m->message_type, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&m->message_flags, __ATOMIC_SEQ_CST) & HV_MESSAGE_FLAG_PENDING)
		wrmsr(HV_X64_MSR_EOM, 0);
}

void hv_synic_enable(void *simp, void *siefp)
{
	wrmsr(HV_X64_MSR_SIMP, (uint64_t)simp | 1);
	wrmsr(HV_X64_MSR_SIEFP, (uint64_t)siefp | 1);
	wrmsr(HV_X64_MSR_SCONTROL, 1);
}
