/* `kvsm bench`: samples, their median and spread, the table and the JSON. */
#include "builtin-bench.h"

#include <stdlib.h>
#include <string.h>

void bench_fig_add(struct bench_fig *f, double us, double floor_us)
{
	if (f->n == BENCH_MAX_REPS)
		return;
	f->us[f->n] = us;
	f->ratio[f->n] = f->floor && floor_us > 0 ? us / floor_us : 0;
	f->n++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_summary(const double *v, unsigned int n, double *med, double *min, double *max)
{
	double s[BENCH_MAX_REPS];

	*med = *min = *max = 0;
	if (!n)
		return;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	*med = n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	*min = s[0];
	*max = s[n - 1];
}

void bench_fig_print(const struct bench_fig *f)
{
	double m, lo, hi;

	bench_summary(f->us, f->n, &m, &lo, &hi);
	printf("  %-50s %9.2f us [%8.2f-%8.2f]", f->what, m, lo, hi);
	if (f->floor) {
		bench_summary(f->ratio, f->n, &m, &lo, &hi);
		printf("  %6.3fx [%.3f-%.3f] %s", m, lo, hi, f->floor);
	}
	printf("\n");
}

static void json_array(FILE *out, const double *v, unsigned int n)
{
	fputc('[', out);
	for (unsigned int i = 0; i < n; i++)
		fprintf(out, "%s%.4f", i ? ", " : "", v[i]);
	fputc(']', out);
}

void bench_fig_json(FILE *out, const struct bench_fig *f)
{
	double m, lo, hi;

	bench_summary(f->us, f->n, &m, &lo, &hi);
	fprintf(out, "{\"key\": \"%s\", \"what\": \"%s\", \"unit\": \"us\", \"median\": %.4f, \"min\": %.4f, "
		"\"max\": %.4f, \"samples\": ", f->key, f->what, m, lo, hi);
	json_array(out, f->us, f->n);
	if (f->floor) {
		bench_summary(f->ratio, f->n, &m, &lo, &hi);
		fprintf(out, ", \"floor\": \"%s\", \"ratio_median\": %.4f, \"ratio_min\": %.4f, \"ratio_max\": %.4f, "
			"\"ratio_samples\": ", f->floor, m, lo, hi);
		json_array(out, f->ratio, f->n);
	}
	fputc('}', out);
}
