/* vsnprintf for guests: %d %i %u %x %X %p %s %c %%, with l/ll/z modifiers, width and zero padding. */
#include "guest.h"

struct out {
	char *buf;
	size_t n, len;
};

static void emit(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void emit_num(struct out *o, uint64_t v, unsigned int base, bool upper, bool neg, int width, char pad)
{
	char tmp[24];
	int i = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		tmp[i++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[i++] = '-';
	for (int w = i; w < width; w++)
		emit(o, pad);
	while (i)
		emit(o, tmp[--i]);
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = { buf, n, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			emit(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

			emit_num(&o, v < 0 ? (uint64_t)-v : (uint64_t)v, 10, false, v < 0, width, pad);
			break;
		}
		case 'u':
			emit_num(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 10, false, false, width, pad);
			break;
		case 'x':
		case 'X':
			emit_num(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 16, *fmt == 'X', false,
				 width, pad);
			break;
		case 'p':
			emit(&o, '0');
			emit(&o, 'x');
			emit_num(&o, (uint64_t)va_arg(ap, void *), 16, false, false, width, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			for (size_t l = strlen(s); (int)l < width; l++)
				emit(&o, ' ');
			while (*s)
				emit(&o, *s++);
			break;
		}
		case 'c':
			emit(&o, (char)va_arg(ap, int));
			break;
		case '%':
			emit(&o, '%');
			break;
		default:
			emit(&o, '?');
			if (!*fmt)
				fmt--;
			break;
		}
	}
	if (n)
		buf[o.len < n ? o.len : n - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
