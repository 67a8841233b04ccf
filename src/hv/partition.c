/* Partition and VP creation: what kvsm offers the guest (privileges, features, recommendations). */
#include "hv_internal.h"

#include <stdlib.h>
#include <string.h>

/*
 * Everything set here is implemented; nothing else is advertised
 * (docs/hyperv.md lists each bit and why).
 */
static const uint64_t kvsm_privileges =
	HV_ACCESS_VP_RUNTIME | HV_ACCESS_PARTITION_REF_COUNTER | HV_ACCESS_SYNIC_REGS |
	HV_ACCESS_SYNTHETIC_TIMER_REGS | HV_ACCESS_INTR_CTRL_REGS | HV_ACCESS_HYPERCALL_MSRS |
	HV_ACCESS_VP_INDEX | HV_ACCESS_PARTITION_REF_TSC | HV_ACCESS_FREQUENCY_REGS |
	HV_POST_MESSAGES | HV_SIGNAL_EVENTS;

/* With VTLs above VTL0 (--vtls > 1): the VSM hypercalls and registers (TLFS: all three needed). */
static const uint64_t kvsm_vsm_privileges = HV_ACCESS_VSM | HV_ACCESS_VP_REGISTERS | HV_START_VIRTUAL_PROCESSOR;

static const uint32_t kvsm_features_edx =
	HV_FEATURE_XMM_HYPERCALL_INPUT | HV_FEATURE_FREQUENCY_MSRS | HV_FEATURE_XMM_HYPERCALL_OUTPUT |
	HV_FEATURE_DIRECT_SYNTHETIC_TIMERS;

static const uint32_t kvsm_recommendations =
	HV_REC_LOCAL_TLB_FLUSH | HV_REC_REMOTE_TLB_FLUSH | HV_REC_DEPRECATE_AUTO_EOI | HV_REC_CLUSTER_IPI |
	HV_REC_EX_PROCESSOR_MASKS;

struct hv_partition *hv_partition_create(const struct hv_config *cfg)
{
	struct hv_partition *p;

	/* The reference TSC scale (10^7 * 2^64 / tsc_hz) must fit 64 bits: TSCs above 10 MHz only. */
	if (cfg->tsc_hz <= 10000000u || !cfg->nr_vps || cfg->max_vtl >= HV_MAX_VTLS)
		return NULL;
	/* Synthetic timers expire through the host's timer hook; the hypercall page needs a port to call out. */
	if (!cfg->ops || !cfg->ops->timer_arm || !cfg->hypercall_port)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->ops = cfg->ops;
	p->host = cfg->host;
	p->privileges = kvsm_privileges | (cfg->max_vtl ? kvsm_vsm_privileges : 0);
	p->enabled_vtls = 1;	/* VTL0 */
	p->features_edx = kvsm_features_edx;
	p->recommendations = kvsm_recommendations;
	pthread_mutex_init(&p->partition_lock, NULL);
	pthread_mutex_init(&p->conn_lock, NULL);
	pthread_mutex_init(&p->timer_lock, NULL);

	p->vps = calloc(cfg->nr_vps, sizeof(*p->vps));
	if (!p->vps) {
		free(p);
		return NULL;
	}
	for (unsigned int i = 0; i < cfg->nr_vps; i++) {
		struct hv_vp *vp = &p->vps[i];

		vp->p = p;
		vp->index = i;
		vp->vsm.enabled_vtls = 1;
		pthread_mutex_init(&vp->lock, NULL);
		for (unsigned int v = 0; v < HV_MAX_VTLS; v++)
			hv_synic_init(&vp->vtl[v].synic);
	}
	hv_reftime_init(p);
	hv_vtl_prot_init(p);
	return p;
}

void hv_partition_destroy(struct hv_partition *p)
{
	if (!p)
		return;
	hv_vtl_prot_destroy(p);
	free(p->vps);
	free(p);
}
