/* kvsm's struct hv_host_ops on KVM (hv_host.c). */
#ifndef KVSM_HV_HOST_H
#define KVSM_HV_HOST_H

#include "kvsm/hv.h"

extern const struct hv_host_ops kvm_hv_ops;

#endif
