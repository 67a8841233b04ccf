/* The core's only output: lines handed to the embedder's log hook (host op `log`). */
#include "hv_internal.h"

#include <stdarg.h>
#include <stdio.h>

/* Longer lines are cut: a log line is for a person, and no formatted line comes near. */
#define HV_LOG_LINE_MAX 512

void hv_log(const struct hv_partition *p, enum hv_log_level level, const char *fmt, ...)
{
	char line[HV_LOG_LINE_MAX];
	va_list ap;

	if (!p->ops->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->ops->log(p->host, level, line);
}
