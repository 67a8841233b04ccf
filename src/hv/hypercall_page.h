/* Contents of the hypercall overlay page. */
#ifndef KVSM_HV_HYPERCALL_PAGE_H
#define KVSM_HV_HYPERCALL_PAGE_H

#include <stdbool.h>
#include <stdint.h>

struct hv_partition;

#define HV_VTL_CALL_OFFSET64	0x0F
#define HV_VTL_RETURN_OFFSET64	0x26
#define HV_VTL_CALL_OFFSET32	0x04
#define HV_VTL_RETURN_OFFSET32	0x1B

/* Write the page at gpa (page-aligned) as VTL vtl sees it; false if it is not RAM there. */
bool hv_hypercall_page_fill(const struct hv_partition *p, unsigned int vtl, uint64_t gpa);

#endif
