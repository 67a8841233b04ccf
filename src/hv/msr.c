/*
 * Synthetic MSRs (TLFS chapter 2 and spec sections 1.5, 2.1, 2.2, 5.5, 5.6).
 * Access to an MSR whose privilege is not granted, to an unknown synthetic
 * MSR, a write to a read-only one or a malformed value raises #GP.
 */
#include "hv_internal.h"
#include "hypercall_page.h"

#include <stdio.h>
#include <string.h>

#define GPN_MASK (~(uint64_t)(HV_PAGE_SIZE - 1))
/* x2APIC MSRs the synthetic EOI/ICR/TPR MSRs alias (TLFS 10.x). */
#define X2APIC_TPR 0x808
#define X2APIC_EOI 0x80B
#define X2APIC_ICR 0x830

/* TLFS name of a synthetic MSR, for --trace. */
static const char *msr_name(uint32_t msr, char *buf, size_t len)
{
	static const struct { uint32_t msr; const char *name; } names[] = {
		{ HV_X64_MSR_GUEST_OS_ID, "GUEST_OS_ID" }, { HV_X64_MSR_HYPERCALL, "HYPERCALL" },
		{ HV_X64_MSR_VP_INDEX, "VP_INDEX" }, { HV_X64_MSR_RESET, "RESET" },
		{ HV_X64_MSR_VP_RUNTIME, "VP_RUNTIME" }, { HV_X64_MSR_TIME_REF_COUNT, "TIME_REF_COUNT" },
		{ HV_X64_MSR_REFERENCE_TSC, "REFERENCE_TSC" }, { HV_X64_MSR_TSC_FREQUENCY, "TSC_FREQUENCY" },
		{ HV_X64_MSR_APIC_FREQUENCY, "APIC_FREQUENCY" }, { HV_X64_MSR_EOI, "EOI" }, { HV_X64_MSR_ICR, "ICR" },
		{ HV_X64_MSR_TPR, "TPR" }, { HV_X64_MSR_VP_ASSIST_PAGE, "VP_ASSIST_PAGE" },
		{ HV_X64_MSR_SCONTROL, "SCONTROL" }, { HV_X64_MSR_SVERSION, "SVERSION" }, { HV_X64_MSR_SIEFP, "SIEFP" },
		{ HV_X64_MSR_SIMP, "SIMP" }, { HV_X64_MSR_EOM, "EOM" }, { HV_X64_MSR_SIRBP, "SIRBP" },
	};

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].msr == msr)
			return names[i].name;
	if (msr >= HV_X64_MSR_SINT0 && msr <= HV_X64_MSR_SINT15)
		snprintf(buf, len, "SINT%u", msr - HV_X64_MSR_SINT0);
	else if (msr >= HV_X64_MSR_STIMER0_CONFIG && msr <= HV_X64_MSR_STIMER3_COUNT)
		snprintf(buf, len, "STIMER%u_%s", (msr - HV_X64_MSR_STIMER0_CONFIG) / 2,
			 (msr - HV_X64_MSR_STIMER0_CONFIG) % 2 ? "COUNT" : "CONFIG");
	else
		snprintf(buf, len, "%#x", msr);
	return buf;
}

static void trace_msr(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, bool write,
		      uint64_t val, bool ok)
{
	char buf[24];

	hv_trace(p, "vp%u vtl%u %s HV_X64_MSR_%s %s %#llx%s", vp, vtl, write ? "wrmsr" : "rdmsr",
		 msr_name(msr, buf, sizeof(buf)), write ? "<-" : "->", (unsigned long long)val, ok ? "" : " #GP");
}

static bool gpa_in_space(const struct hv_partition *p, uint64_t val)
{
	return (val & GPN_MASK) < p->cfg.gpa_limit;
}

/* The privilege each synthetic MSR needs, or 0 for MSRs kvsm does not implement. */
static uint64_t msr_privilege(uint32_t msr)
{
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
	case HV_X64_MSR_HYPERCALL:
		return HV_ACCESS_HYPERCALL_MSRS;
	case HV_X64_MSR_VP_INDEX:
		return HV_ACCESS_VP_INDEX;
	case HV_X64_MSR_VP_RUNTIME:
		return HV_ACCESS_VP_RUNTIME;
	case HV_X64_MSR_TIME_REF_COUNT:
		return HV_ACCESS_PARTITION_REF_COUNTER;
	case HV_X64_MSR_REFERENCE_TSC:
		return HV_ACCESS_PARTITION_REF_TSC;
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		return HV_ACCESS_FREQUENCY_REGS;
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
	case HV_X64_MSR_VP_ASSIST_PAGE:
		return HV_ACCESS_INTR_CTRL_REGS;
	}
	if (msr >= HV_X64_MSR_SCONTROL && msr <= HV_X64_MSR_SINT15)
		return HV_ACCESS_SYNIC_REGS;
	if (msr >= HV_X64_MSR_STIMER0_CONFIG && msr <= HV_X64_MSR_STIMER3_COUNT)
		return HV_ACCESS_SYNTHETIC_TIMER_REGS;
	return 0;
}

static uint32_t apic_alias(uint32_t msr)
{
	return msr == HV_X64_MSR_EOI ? X2APIC_EOI : msr == HV_X64_MSR_ICR ? X2APIC_ICR : X2APIC_TPR;
}

enum hv_msr_result hv_msr_read(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr,
			       uint64_t *val)
{
	uint64_t priv = msr_privilege(msr);
	bool ok = true;

	if (!priv || !hv_has_privilege(p, priv) || vp >= p->cfg.nr_vps || vtl >= HV_MAX_VTLS) {
		if (p->cfg.trace)
			trace_msr(p, vp, vtl, msr, false, 0, false);
		return HV_MSR_GP;
	}
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		*val = p->vtl[vtl].guest_os_id;
		break;
	case HV_X64_MSR_HYPERCALL:
		*val = p->vtl[vtl].hypercall;
		break;
	case HV_X64_MSR_VP_INDEX:
		*val = vp;
		break;
	case HV_X64_MSR_VP_RUNTIME:
		*val = p->ops->vp_runtime(p->host, vp);
		break;
	case HV_X64_MSR_TIME_REF_COUNT:
		*val = hv_reference_time(p);
		break;
	case HV_X64_MSR_REFERENCE_TSC:
		*val = p->vtl[vtl].reference_tsc;
		break;
	case HV_X64_MSR_TSC_FREQUENCY:
		*val = p->cfg.tsc_hz;
		break;
	case HV_X64_MSR_APIC_FREQUENCY:
		*val = p->cfg.apic_hz;
		break;
	case HV_X64_MSR_VP_ASSIST_PAGE:
		*val = p->vps[vp].vtl[vtl].vp_assist;
		break;
	case HV_X64_MSR_EOI:
		return HV_MSR_GP;	/* write-only */
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
		ok = p->ops->apic_msr(p->host, vp, vtl, apic_alias(msr), false, val);
		break;
	default:
		if (priv == HV_ACCESS_SYNIC_REGS)
			ok = hv_synic_msr_read(p, vp, vtl, msr, val);
		else
			ok = hv_stimer_msr_read(p, vp, vtl, msr, val);
		break;
	}
	if (p->cfg.trace)
		trace_msr(p, vp, vtl, msr, false, ok ? *val : 0, ok);
	return ok ? HV_MSR_OK : HV_MSR_GP;
}

/* TLFS 3.13: enabling needs a non-zero guest OS ID; the page is (re)written on enable or move. */
static bool write_hypercall(struct hv_partition *p, unsigned int vtl, uint64_t val)
{
	uint64_t old = p->vtl[vtl].hypercall;

	if (old & HV_MSR_HYPERCALL_LOCKED)
		return false;
	if (!gpa_in_space(p, val))
		return false;
	val = (val & (GPN_MASK | HV_MSR_HYPERCALL_ENABLE | HV_MSR_HYPERCALL_LOCKED)) | (old & 0xffcull);
	if (!p->vtl[vtl].guest_os_id)
		val &= ~HV_MSR_HYPERCALL_ENABLE;
	/* An overlay page; a GPA that is not RAM leaves it inaccessible. */
	if (hv_overlay_update(p, vtl, old, val))
		hv_hypercall_page_fill(p, vtl, val & GPN_MASK);
	p->vtl[vtl].hypercall = val;
	return true;
}

/* VP assist page (spec 4.2): bits other than Enable and the GPN are reserved. */
static bool write_vp_assist(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint64_t val)
{
	uint64_t *reg = &p->vps[vp].vtl[vtl].vp_assist;

	if ((val & ~(GPN_MASK | HV_MSR_PAGE_ENABLE)) || !gpa_in_space(p, val))
		return false;
	if (hv_overlay_update(p, vtl, *reg, val))
		hv_guest_zero_page(p, vtl, val & GPN_MASK);	/* an overlay page, zeroed when enabled or moved */
	*reg = val;
	return true;
}

static bool write_reference_tsc(struct hv_partition *p, unsigned int vtl, uint64_t val)
{
	if (!gpa_in_space(p, val))
		return false;
	val = (val & (GPN_MASK | HV_MSR_PAGE_ENABLE)) | (p->vtl[vtl].reference_tsc & HV_MSR_PAGE_RSVDP);
	hv_overlay_update(p, vtl, p->vtl[vtl].reference_tsc, val);
	p->vtl[vtl].reference_tsc = val;
	hv_reftime_update_page(p, vtl, val);
	return true;
}

enum hv_msr_result hv_msr_write(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr,
				uint64_t val)
{
	uint64_t priv = msr_privilege(msr);
	bool ok;

	if (!priv || !hv_has_privilege(p, priv) || vp >= p->cfg.nr_vps || vtl >= HV_MAX_VTLS) {
		if (p->cfg.trace)
			trace_msr(p, vp, vtl, msr, true, val, false);
		return HV_MSR_GP;
	}
	pthread_mutex_lock(&p->partition_lock);
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		p->vtl[vtl].guest_os_id = val;
		if (!val) {	/* TLFS 3.13: clearing the ID disables the hypercall page */
			hv_overlay_update(p, vtl, p->vtl[vtl].hypercall,
					  p->vtl[vtl].hypercall & ~HV_MSR_HYPERCALL_ENABLE);
			p->vtl[vtl].hypercall &= ~HV_MSR_HYPERCALL_ENABLE;
		}
		ok = true;
		break;
	case HV_X64_MSR_HYPERCALL:
		ok = write_hypercall(p, vtl, val);
		break;
	case HV_X64_MSR_REFERENCE_TSC:
		ok = write_reference_tsc(p, vtl, val);
		break;
	case HV_X64_MSR_VP_ASSIST_PAGE:
		ok = write_vp_assist(p, vp, vtl, val);
		break;
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
		ok = p->ops->apic_msr(p->host, vp, vtl, apic_alias(msr), true, &val);
		break;
	case HV_X64_MSR_VP_INDEX:
	case HV_X64_MSR_VP_RUNTIME:
	case HV_X64_MSR_TIME_REF_COUNT:
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		ok = false;	/* read-only */
		break;
	default:
		pthread_mutex_unlock(&p->partition_lock);
		if (priv == HV_ACCESS_SYNIC_REGS)
			ok = hv_synic_msr_write(p, vp, vtl, msr, val);
		else
			ok = hv_stimer_msr_write(p, vp, vtl, msr, val);
		if (p->cfg.trace)
			trace_msr(p, vp, vtl, msr, true, val, ok);
		return ok ? HV_MSR_OK : HV_MSR_GP;
	}
	pthread_mutex_unlock(&p->partition_lock);
	if (p->cfg.trace)
		trace_msr(p, vp, vtl, msr, true, val, ok);
	return ok ? HV_MSR_OK : HV_MSR_GP;
}

bool hv_hypercall_enabled(const struct hv_partition *p, unsigned int vp, unsigned int vtl)
{
	(void)vp;
	return vtl < HV_MAX_VTLS &&
	       (__atomic_load_n(&p->vtl[vtl].hypercall, __ATOMIC_ACQUIRE) & HV_MSR_HYPERCALL_ENABLE);
}
