/* Contents of the hypercall overlay page. */
#ifndef KVSM_HV_HYPERCALL_PAGE_H
#define KVSM_HV_HYPERCALL_PAGE_H

#include <stdint.h>

#define HV_VTL_CALL_OFFSET64	0x0F
#define HV_VTL_RETURN_OFFSET64	0x26
#define HV_VTL_CALL_OFFSET32	0x04
#define HV_VTL_RETURN_OFFSET32	0x1B

void hv_hypercall_page_fill(uint8_t *page);

#endif
