/* Start-up, IDT, serial console, results and the small C runtime of guest tests. */
#include "guest.h"

extern char isr_table_start[], _end[];

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static irq_handler handlers[256];
static unsigned int checks_failed, checks_passed;

static void idt_load(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) p = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("lidt %0" :: "m"(p));
}

static void idt_init(void)
{
	for (int i = 0; i < 256; i++) {
		uint64_t a = (uint64_t)isr_table_start + 16 * (uint64_t)i;

		idt[i] = (struct idt_entry){ (uint16_t)a, 0x08, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
	}
	idt_load();
}

void set_irq_handler(uint8_t vector, irq_handler h)
{
	handlers[vector] = h;
}

void isr_dispatch(struct irq_frame *f)
{
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	printf("FAIL: unexpected exception/interrupt %llu, error 0x%llx, rip 0x%llx on CPU %u\n",
	       (unsigned long long)f->vector, (unsigned long long)f->error_code,
	       (unsigned long long)f->rip, apic_id());
	debug_exit(1);
}

void guest_start(uint32_t mbi)
{
	idt_init();
	test_main((const struct mb_info *)(uint64_t)mbi);
	test_done();
}

void ap_start(unsigned int id)
{
	idt_load();
	ap_main(id);
	for (;;)
		hlt();
}

void __attribute__((weak)) ap_main(unsigned int id)
{
	(void)id;
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
}

/* ---- serial ---- */
static volatile int console_lock;

void putc_serial(char c)
{
	while (!(inb(0x3f8 + 5) & 0x20))	/* LSR.THRE */
		pause();
	outb(0x3f8, (uint8_t)c);
}

void puts_serial(const char *s)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		pause();
	while (*s)
		putc_serial(*s++);
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

void printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	puts_serial(buf);
}

/* ---- results ---- */
void debug_exit(uint32_t v)
{
	outl(DEBUG_EXIT_PORT, v);
	for (;;) {
		cli();
		hlt();
	}
}

/* The first failed check, said again next to the summary: a report's tail then names it. */
static char first_failure[400];

void check(bool ok, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ok)
		__atomic_add_fetch(&checks_passed, 1, __ATOMIC_SEQ_CST);
	else if (__atomic_add_fetch(&checks_failed, 1, __ATOMIC_SEQ_CST) == 1)
		memcpy(first_failure, buf, sizeof(buf));
	printf("%s: %s\n", ok ? "pass" : "FAIL", buf);
}

void test_done(void)
{
	if (checks_failed)
		printf("first failed check (of %u): %s\n", checks_passed + checks_failed, first_failure);
	printf("checks: %u passed, %u failed\n", checks_passed, checks_failed);
	debug_exit(checks_failed ? 1 : 0);
}

/* ---- memory and strings ---- */
void *memset(void *d, int c, size_t n)
{
	void *r = d;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return r;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *r = d;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
	return r;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || !a[i])
			return (uint8_t)a[i] - (uint8_t)b[i];
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}

uint64_t cmdline_u64(const struct mb_info *mbi, const char *key, uint64_t dflt)
{
	const char *s = (const char *)(uint64_t)mbi->cmdline;
	size_t klen = strlen(key);

	for (; *s; s++) {
		uint64_t v = 0;

		if ((s == (const char *)(uint64_t)mbi->cmdline || s[-1] == ' ') && !strncmp(s, key, klen) &&
		    s[klen] == '=') {
			s += klen + 1;
			if (s[0] == '0' && s[1] == 'x')
				for (s += 2; (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'); s++)
					v = v * 16 + (uint64_t)(*s <= '9' ? *s - '0' : *s - 'a' + 10);
			else
				for (; *s >= '0' && *s <= '9'; s++)
					v = v * 10 + (uint64_t)(*s - '0');
			return v;
		}
	}
	return dflt;
}

static uint64_t heap_next;

void *alloc_pages(size_t n)
{
	uint64_t p;

	if (!heap_next)
		heap_next = ((uint64_t)_end + 4095) & ~4095ull;
	p = __atomic_fetch_add(&heap_next, n * 4096, __ATOMIC_SEQ_CST);
	return (void *)p;
}

void *alloc_zeroed(size_t bytes)
{
	size_t pages = (bytes + 4095) / 4096;

	return memset(alloc_pages(pages), 0, pages * 4096);
}

/* ---- fw_cfg ---- */
void fw_cfg_read(uint16_t key, void *buf, size_t len)
{
	uint8_t *b = buf;

	outw(0x510, key);
	for (size_t i = 0; i < len; i++)
		b[i] = inb(0x511);
}
