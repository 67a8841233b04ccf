/*
 * Secure register intercepts (spec 4.7): HvX64RegisterCrInterceptControl
 * and its three masks, which VTL n >= 1 writes for the VTL below it on the
 * same VP, and the MsrIntercept messages (spec 4.6) they cause.
 *
 * Rules where the TLFS is silent, as OpenVMM has them: the registers are
 * reached only by naming the holding VTL itself (or no target VTL), else
 * ACCESS_DENIED, for reads and writes alike; bits the implementation does
 * not offer are INVALID_REGISTER_VALUE; the masks take any value. kvsm
 * also offers the MSR read intercepts OpenVMM refuses, since KVM traps
 * reads as easily as writes. CR0/CR4/XCR0 and descriptor-table writes never
 * leave KVM, so those bits follow --policy: OPERATION_DENIED and a log line
 * (strict), or accepted, recorded and counted but not enforced (permissive).
 */
#include "hv_internal.h"

#include <string.h>

enum { CTL, CR0_MASK, CR4_MASK, MISC_ENABLE_MASK };

/* HV_X64_REGISTER_CR_INTERCEPT_CONTROL bits KVM cannot trap (writes of CR0, CR4, XCR0, GDTR, IDTR, LDTR, TR). */
#define UNENFORCEABLE (0x7ull | 0xfull << 15)
/* Bit 24 (SGX launch control) is not offered, as in OpenVMM; 29-63 are reserved. */
#define SUPPORTED ((0x1ffffffull & ~(1ull << 24)) | 0xfull << 25)

#define MSR_IA32_MISC_ENABLE 0x1a0

/* The control bits that intercept reads and writes of each MSR (-1: none). */
static const struct {
	uint32_t msr;
	int8_t read, write;
} msr_bits[] = {
	{ MSR_IA32_MISC_ENABLE, 3, 4 },
	{ 0xc0000082, 5, 6 },		/* LSTAR */
	{ 0xc0000081, 7, 8 },		/* STAR */
	{ 0xc0000083, 9, 10 },		/* CSTAR */
	{ 0x1b, 11, 12 },		/* APIC_BASE */
	{ 0xc0000080, 13, 14 },		/* EFER */
	{ 0x174, -1, 19 },		/* SYSENTER_CS */
	{ 0x176, -1, 20 },		/* SYSENTER_EIP */
	{ 0x175, -1, 21 },		/* SYSENTER_ESP */
	{ 0xc0000084, -1, 22 },		/* SFMASK */
	{ 0xc0000103, -1, 23 },		/* TSC_AUX */
	{ 0xda0, -1, 25 },		/* XSS */
	{ 0x6a2, -1, 26 },		/* S_CET */
	{ 0x6a4, -1, 27 },		/* PL0_SSP .. PL3_SSP */
	{ 0x6a5, -1, 27 },
	{ 0x6a6, -1, 27 },
	{ 0x6a7, -1, 27 },
	{ 0x6a8, -1, 28 },		/* INTERRUPT_SSP_TABLE_ADDR */
};

/* The control bit for an access to msr, or 0 when no bit intercepts it. */
static uint64_t msr_bit(uint32_t msr, bool write)
{
	for (size_t i = 0; i < sizeof(msr_bits) / sizeof(msr_bits[0]); i++)
		if (msr_bits[i].msr == msr) {
			int b = write ? msr_bits[i].write : msr_bits[i].read;

			return b < 0 ? 0 : 1ull << b;
		}
	return 0;
}

bool hv_regint_is_register(uint32_t name)
{
	return name >= HV_X64_REGISTER_CR_INTERCEPT_CONTROL &&
	       name <= HV_X64_REGISTER_CR_INTERCEPT_IA32_MISC_ENABLE_MASK;
}

/* Held by VTL >= 1 and reached by naming that VTL itself (OpenVMM: the target must be the holder). */
static uint16_t check_access(unsigned int caller, unsigned int vtl)
{
	return vtl == 0 || vtl != caller ? HV_STATUS_ACCESS_DENIED : HV_STATUS_SUCCESS;
}

uint16_t hv_regint_get(struct hv_partition *p, unsigned int vp, unsigned int caller, unsigned int vtl,
		       uint32_t name, uint64_t *val)
{
	uint16_t st = check_access(caller, vtl);

	if (st)
		return st;
	*val = __atomic_load_n(&p->vps[vp].vsm.cr_intercept[vtl][name - HV_X64_REGISTER_CR_INTERCEPT_CONTROL],
			       __ATOMIC_ACQUIRE);
	return HV_STATUS_SUCCESS;
}

/* Bits KVM cannot trap: an HV status under --policy strict, counted and accepted under permissive. */
static uint16_t check_enforceable(struct hv_partition *p, unsigned int vtl, uint64_t val)
{
	if (!(val & UNENFORCEABLE))
		return HV_STATUS_SUCCESS;
	if (p->cfg.policy == HV_POLICY_PERMISSIVE) {
		__atomic_fetch_add(&p->regint_unenforced, 1, __ATOMIC_RELAXED);
		return HV_STATUS_SUCCESS;
	}
	if (!__atomic_exchange_n(&p->regint_refusal_said, true, __ATOMIC_RELAXED))
		hv_log(p, HV_LOG_WARNING, "VTL%u asked for register intercepts %#llx (CR0/CR4/XCR0/descriptor-table "
		       "writes), which stock KVM cannot trap; refused with OPERATION_DENIED (HV_POLICY_STRICT; "
		       "see docs/vsm.md)", vtl, (unsigned long long)(val & UNENFORCEABLE));
	return HV_STATUS_OPERATION_DENIED;
}

uint16_t hv_regint_set(struct hv_partition *p, unsigned int vp, unsigned int caller, unsigned int vtl,
		       uint32_t name, uint64_t val)
{
	uint64_t *r = p->vps[vp].vsm.cr_intercept[vtl];
	unsigned int i = name - HV_X64_REGISTER_CR_INTERCEPT_CONTROL;
	uint16_t st = check_access(caller, vtl);

	if (st)
		return st;
	if (i != CTL) {
		__atomic_store_n(&r[i], val, __ATOMIC_RELEASE);
		return HV_STATUS_SUCCESS;
	}
	if (val & ~SUPPORTED)
		return HV_STATUS_INVALID_REGISTER_VALUE;
	st = check_enforceable(p, vtl, val);
	if (st)
		return st;
	/* Serialised so that the host's view of which MSRs to trap follows the last change. */
	pthread_mutex_lock(&p->partition_lock);
	__atomic_store_n(&r[CTL], val, __ATOMIC_RELEASE);
	if (p->ops->msr_intercepts_changed)
		p->ops->msr_intercepts_changed(p->host, vtl - 1);
	pthread_mutex_unlock(&p->partition_lock);
	return HV_STATUS_SUCCESS;
}

bool hv_msr_interceptable(uint32_t msr)
{
	return msr_bit(msr, false) | msr_bit(msr, true);
}

bool hv_msr_intercept_armed(const struct hv_partition *p, unsigned int vtl, uint32_t msr)
{
	uint64_t bits = msr_bit(msr, false) | msr_bit(msr, true);

	if (!bits || vtl + 1 >= HV_MAX_VTLS)
		return false;
	for (unsigned int vp = 0; vp < p->cfg.nr_vps; vp++)
		if (__atomic_load_n(&p->vps[vp].vsm.cr_intercept[vtl + 1][CTL], __ATOMIC_ACQUIRE) & bits)
			return true;
	return false;
}

/* HV_X64_MSR_INTERCEPT_MESSAGE: header, MsrNumber, reserved, Rdx, Rax. */
enum { MSR_NUMBER = 40, MSR_RDX = 48, MSR_RAX = 56, MSR_SIZE = 64 };
#define RDMSR_WRMSR_LEN 2

void hv_msr_intercept_message(struct hv_message *m, unsigned int vp, unsigned int vtl,
			      const struct hv_intercept_state *st, uint32_t msr, bool write)
{
	memset(m, 0, sizeof(*m));
	m->message_type = HVMSG_MSR_INTERCEPT;
	m->payload_size = MSR_SIZE;
	hv_intercept_header(m->payload, vp, vtl, st, RDMSR_WRMSR_LEN, write ? HV_INTERCEPT_WRITE : HV_INTERCEPT_READ);
	memcpy(m->payload + MSR_NUMBER, &msr, 4);
	memcpy(m->payload + MSR_RDX, &st->gpr[2], 8);
	memcpy(m->payload + MSR_RAX, &st->gpr[0], 8);
}

int hv_msr_intercept(struct hv_partition *p, unsigned int vp, unsigned int vtl, const struct hv_intercept_state *st,
		     uint32_t msr, bool write, uint64_t old, enum hv_vtl_entry *reason)
{
	const uint64_t *r;
	struct hv_message m;
	unsigned int to = vtl + 1;

	if (to >= HV_MAX_VTLS || !(hv_vp_enabled_vtls(p, vp) & 1u << to))
		return -1;
	r = p->vps[vp].vsm.cr_intercept[to];
	if (!(__atomic_load_n(&r[CTL], __ATOMIC_ACQUIRE) & msr_bit(msr, write)))
		return -1;
	/* A MISC_ENABLE write intercepts only if it changes a masked bit (spec 4.7, as for CR0/CR4). */
	if (write && msr == MSR_IA32_MISC_ENABLE) {
		uint64_t val = (st->gpr[2] & 0xffffffff) << 32 | (st->gpr[0] & 0xffffffff);

		if (!((old ^ val) & __atomic_load_n(&r[MISC_ENABLE_MASK], __ATOMIC_ACQUIRE)))
			return -1;
	}
	hv_msr_intercept_message(&m, vp, vtl, st, msr, write);
	*reason = hv_intercept_deliver(p, vp, to, &m);	/* SINT0 or the intercept page, as for GPA intercepts */
	hv_trace(p, "vp%u vtl%u %s of MSR %#x at RIP %#llx: intercept to vtl%u", vp, vtl,
		 write ? "write" : "read", msr, (unsigned long long)st->rip, to);
	return (int)to;
}
