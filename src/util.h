/* Small helpers shared by the whole VMM: error reporting and exit codes. */
#ifndef KVSM_UTIL_H
#define KVSM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Exit status of `kvsm`. A guest debug-exit write v gives (v << 1) | 1, which
 * is always odd, so every status the VMM itself chooses is even.
 */
enum kvsm_exit {
	KVSM_EXIT_OK = 0,
	KVSM_EXIT_USAGE = 2,		/* bad command line or kernel image */
	KVSM_EXIT_HOST = 4,		/* /dev/kvm or another host resource failed */
	KVSM_EXIT_SHUTDOWN = 6,		/* guest triple fault / shutdown */
	KVSM_EXIT_HALTED = 8,		/* every vCPU halted with no way to wake */
	KVSM_EXIT_GUEST_ERROR = 10,	/* emulation failure or unhandled exit */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))

/* Print "kvsm: <msg>" on stderr and exit with the given status. */
void die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Same, appending ": strerror(errno)". */
void die_errno(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void pr_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a size such as "512M", "2G", "65536" or "64K" (binary units).
 * Returns false on a malformed value or overflow.
 */
bool parse_size(const char *s, uint64_t *out);

void *xcalloc(size_t n, size_t size);

/* Unaligned little-endian 64-bit loads and stores (guest structures, XSAVE images). */
static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);

#endif
