/*
 * The x87/MMX/SSE registers of HvCallGet/SetVpRegisters in KVM's XSAVE image
 * (legacy area only; AVX and wider components go back unchanged), and XCR0.
 * Choices where the TLFS is silent:
 *  - FpControlStatus: FpTag is the abridged tag byte, the reserved byte must
 *    be 0, LastFpRip is the 64-bit FIP. XmmControlStatus: LastFpRdp is the
 *    64-bit FDP; XmmStatusControlMask (MXCSR_MASK) is read-only and ignored
 *    on set; MXCSR bits outside it are refused. FpMmx: bits 127:80 must be 0.
 */
#include "vtl_fpu.h"
#include "vtl_regs.h"
#include "util.h"
#include "kvsm/tlfs.h"
#include "x86/arch.h"
#include "x86/guest_caps.h"

#include <string.h>
#include <sys/ioctl.h>

/*
 * The guest's XSAVE image (standard format, legacy area first). 4 KiB is
 * enough: KVM_SET_XSAVE reads more only for guests granted AMX state
 * (arch_prctl ARCH_REQ_XCOMP_GUEST_PERM), which kvsm does not request.
 */
static bool xsave_read(int fd, struct kvm_xsave *x)
{
	return ioctl(fd, KVM_GET_XSAVE, x) == 0;
}

static bool xsave_write(int fd, struct kvm_xsave *x, uint64_t components)
{
	uint8_t *b = (uint8_t *)x->region;

	/* A component marked in its init state would be loaded as init, not from the buffer. */
	st64(b + XSAVE_XSTATE_BV, ld64(b + XSAVE_XSTATE_BV) | components);
	return ioctl(fd, KVM_SET_XSAVE, x) == 0;
}

static uint32_t mxcsr_mask(const uint8_t *b)
{
	uint32_t m;

	memcpy(&m, b + FX_MXCSR_MASK, 4);
	return m ? m : 0xffbf;	/* SDM: a zero MXCSR_MASK means 0xFFBF */
}

uint16_t vtl_fpu_get(int fd, uint32_t name, uint64_t val[2])
{
	struct kvm_xsave x;
	const uint8_t *b = (const uint8_t *)x.region;

	if (!xsave_read(fd, &x))
		return HV_STATUS_INVALID_PARAMETER;
	if (name <= HV_X64_REGISTER_XMM0 + 15) {
		memcpy(val, b + FX_XMM0 + 16 * (name - HV_X64_REGISTER_XMM0), 16);
	} else if (name <= HV_X64_REGISTER_FP_MMX0 + 7) {
		const uint8_t *p = b + FX_ST0 + 16 * (name - HV_X64_REGISTER_FP_MMX0);

		val[0] = ld64(p);
		val[1] = (uint64_t)p[8] | (uint64_t)p[9] << 8;	/* 80 bits; 127:80 reserved */
	} else if (name == HV_X64_REGISTER_FP_CONTROL_STATUS) {
		uint16_t fcw, fsw, fop;

		memcpy(&fcw, b + FX_FCW, 2);
		memcpy(&fsw, b + FX_FSW, 2);
		memcpy(&fop, b + FX_FOP, 2);
		val[0] = fcw | (uint64_t)fsw << 16 | (uint64_t)b[FX_FTW] << 32 | (uint64_t)fop << 48;
		val[1] = ld64(b + FX_FIP);
	} else {
		uint32_t mxcsr;

		memcpy(&mxcsr, b + FX_MXCSR, 4);
		val[0] = ld64(b + FX_FDP);
		val[1] = mxcsr | (uint64_t)mxcsr_mask(b) << 32;
	}
	return HV_STATUS_SUCCESS;
}

uint16_t vtl_fpu_set(int fd, uint32_t name, const uint64_t val[2])
{
	struct kvm_xsave x;
	uint8_t *b = (uint8_t *)x.region;
	uint64_t comp;

	if (!xsave_read(fd, &x))
		return HV_STATUS_INVALID_PARAMETER;
	if (name <= HV_X64_REGISTER_XMM0 + 15) {
		memcpy(b + FX_XMM0 + 16 * (name - HV_X64_REGISTER_XMM0), val, 16);
		comp = XFEATURE_SSE;
	} else if (name <= HV_X64_REGISTER_FP_MMX0 + 7) {
		uint8_t *p = b + FX_ST0 + 16 * (name - HV_X64_REGISTER_FP_MMX0);

		if (val[1] >> 16)
			return HV_STATUS_INVALID_PARAMETER;
		st64(p, val[0]);
		p[8] = (uint8_t)val[1];
		p[9] = (uint8_t)(val[1] >> 8);
		comp = XFEATURE_FP;
	} else if (name == HV_X64_REGISTER_FP_CONTROL_STATUS) {
		uint16_t fcw = (uint16_t)val[0], fsw = (uint16_t)(val[0] >> 16), fop = (uint16_t)(val[0] >> 48);

		if ((val[0] >> 40) & 0xff)	/* reserved byte after FpTag */
			return HV_STATUS_INVALID_PARAMETER;
		memcpy(b + FX_FCW, &fcw, 2);
		memcpy(b + FX_FSW, &fsw, 2);
		b[FX_FTW] = (uint8_t)(val[0] >> 32);
		memcpy(b + FX_FOP, &fop, 2);
		st64(b + FX_FIP, val[1]);
		comp = XFEATURE_FP;
	} else {
		uint32_t mxcsr = (uint32_t)val[1];

		/* XmmStatusControlMask (bits 127:96) is read-only and ignored. */
		if (mxcsr & ~mxcsr_mask(b))
			return HV_STATUS_INVALID_PARAMETER;
		st64(b + FX_FDP, val[0]);
		memcpy(b + FX_MXCSR, &mxcsr, 4);
		comp = XFEATURE_FP | XFEATURE_SSE;
	}
	return xsave_write(fd, &x, comp) ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER;
}

bool vtl_xcr0_read(int fd, uint64_t *v)
{
	struct kvm_xcrs x;

	if (ioctl(fd, KVM_GET_XCRS, &x))
		return false;
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0) {
			*v = x.xcrs[i].value;
			return true;
		}
	return false;
}

/* __kvm_set_xcr() */
bool guest_xcr0_ok(const struct gcaps *g, uint64_t v)
{
	if (!(v & XFEATURE_FP) || ((v & XFEATURE_YMM) && !(v & XFEATURE_SSE)) || (v & ~g->xcr0_ok))
		return false;
	if (!(v & XFEATURE_BNDREGS) != !(v & XFEATURE_BNDCSR))
		return false;
	if ((v & XFEATURE_AVX512) && (!(v & XFEATURE_YMM) || (v & XFEATURE_AVX512) != XFEATURE_AVX512))
		return false;
	if ((v & XFEATURE_XTILE) && (v & XFEATURE_XTILE) != XFEATURE_XTILE)
		return false;
	return true;
}
