/*
 * `kvsm bench`: the chart, plain SVG. One panel per group of figures, one
 * horizontal bar per figure: its median, a whisker from min to max, and the
 * value. Each panel has its own scale, from 0 to its largest max.
 */
#include "builtin-bench.h"

enum { W = 760, LABEL = 300, BAR_H = 18, ROW = 26, TITLE = 34, PAD = 16 };

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static int panel(FILE *f, int y, const struct bench_svg_panel *p)
{
	double top = 0, med[BENCH_SVG_BARS], lo[BENCH_SVG_BARS], hi[BENCH_SVG_BARS];
	double span = W - LABEL - 2 * PAD - 90;

	for (unsigned int i = 0; i < p->n; i++) {
		const struct bench_fig *g = p->fig[i];

		bench_summary(p->ratio ? g->ratio : g->us, g->n, &med[i], &lo[i], &hi[i]);
		if (hi[i] > top)
			top = hi[i];
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", PAD, y + 20);
	esc(f, p->title);
	fprintf(f, "</text>\n");
	y += TITLE;
	for (unsigned int i = 0; i < p->n; i++, y += ROW) {
		double sc = top > 0 ? span / top : 0;
		int x0 = LABEL + PAD;

		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL, y + 13);
		esc(f, p->label[i]);
		fprintf(f, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", x0, y,
			med[i] * sc, BAR_H, p->color[i] ? p->color[i] : "#4878a8");
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>\n", x0 + lo[i] * sc,
			y + BAR_H / 2, x0 + hi[i] * sc, y + BAR_H / 2);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.*f%s</text>\n", x0 + hi[i] * sc + 6, y + 13,
			p->ratio ? 2 : 0, med[i], p->ratio ? "x" : " us");
	}
	return y + PAD / 2;
}

bool bench_svg(const char *path, const char *caption, const struct bench_svg_panel *p, unsigned int n)
{
	int h = PAD + 24;
	FILE *f;

	for (unsigned int i = 0; i < n; i++)
		h += TITLE + ROW * (int)p[i].n + PAD / 2;
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
		"font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n", W, h);
	h = PAD;
	for (unsigned int i = 0; i < n; i++)
		h = panel(f, h, &p[i]);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555\">", PAD, h + 12);
	esc(f, caption);
	fprintf(f, "</text>\n</svg>\n");
	return fclose(f) == 0;
}
