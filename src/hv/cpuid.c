/* Hyper-V CPUID leaves 0x40000000-0x4000000A (TLFS 2.4, spec section 1.1). */
#include "hv_internal.h"

#include <string.h>

bool hv_cpuid(const struct hv_partition *p, uint32_t leaf, uint32_t out[4])
{
	if (leaf < HV_CPUID_VENDOR_AND_MAX || leaf > 0x400000FF)
		return false;
	memset(out, 0, 4 * sizeof(out[0]));
	switch (leaf) {
	case HV_CPUID_VENDOR_AND_MAX:
		out[0] = HV_CPUID_MAX;
		memcpy(&out[1], "Microsoft Hv", 12);
		break;
	case HV_CPUID_INTERFACE:
		out[0] = HV_CPUID_SIGNATURE_EAX;
		break;
	case HV_CPUID_VERSION:
		out[0] = 14393;			/* build number */
		out[1] = 10u << 16;		/* version 10.0 */
		break;
	case HV_CPUID_FEATURES:
		out[0] = (uint32_t)p->privileges;
		out[1] = (uint32_t)(p->privileges >> 32);
		out[3] = p->features_edx;
		break;
	case HV_CPUID_ENLIGHTENMENT_INFO:
		out[0] = p->recommendations;
		out[1] = 0xffffffff;		/* never ask for long spin-wait notifications */
		break;
	case HV_CPUID_IMPLEMENTATION_LIMITS:
		out[0] = p->cfg.nr_vps;		/* maximum virtual processors */
		out[1] = p->cfg.nr_vps;		/* maximum logical processors */
		break;
	default:			/* hardware features, nesting, isolation: none in use */
		break;
	}
	return true;
}
