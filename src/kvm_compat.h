/* Constants newer than Debian 12's <linux/kvm.h> (Linux 6.1); capabilities are probed at run time. */
#ifndef KVSM_KVM_COMPAT_H
#define KVSM_KVM_COMPAT_H

#include <linux/kvm.h>

#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif

#endif
