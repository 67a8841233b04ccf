/*
 * Freestanding library for kvsm's guest tests (64-bit, identity-mapped, as
 * kvsm's ELF64 boot protocol enters them; see docs/boot.md).
 *
 * A test defines `void test_main(const struct mb_info *mbi)`; it reports each
 * check over the serial port and ends through the debug-exit device: status
 * 1 (debug-exit value 0) when every check passed, 3 otherwise.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS 64
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- multiboot information (the part kvsm fills) ---- */
struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb_mmap_entry {
	uint32_t size;
	uint64_t base, len;
	uint32_t type;
} __attribute__((packed));

void test_main(const struct mb_info *mbi);
void ap_main(unsigned int apic_id);	/* weak default: halt */

/* ---- port I/O, MSRs, control ---- */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint64_t rdmsr(uint32_t m) { uint32_t lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m)); return lo | (uint64_t)hi << 32; }
static inline void wrmsr(uint32_t m, uint64_t v) { __asm__ volatile("wrmsr" :: "c"(m), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return lo | (uint64_t)hi << 32; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) { __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub)); }
/* MAXPHYADDR: the guest-physical address space is [0, 2^guest_phys_bits()). */
static inline unsigned int guest_phys_bits(void)
{
	uint32_t r[4];

	cpuid(0x80000000u, 0, r);
	if (r[0] < 0x80000008u)
		return 36;
	cpuid(0x80000008u, 0, r);
	return r[0] & 0xff;
}
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }

/* ---- serial console and formatting ---- */
void putc_serial(char c);
void puts_serial(const char *s);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- results ---- */
#define DEBUG_EXIT_PORT 0xf4
void __attribute__((noreturn)) debug_exit(uint32_t v);
/* Print the summary and exit: status 1 if all checks passed, else 3. */
void __attribute__((noreturn)) test_done(void);
void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define CHECK(cond) check((cond), "%s (%s:%d)", #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b) do { \
	uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b); \
	check(_a == _b, "%s == 0x%llx (expected 0x%llx, %s:%d)", #a, (unsigned long long)_a, \
	      (unsigned long long)_b, __FILE__, __LINE__); \
} while (0)

/* ---- strings, memory, command line ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Value of "key=value" in the multiboot command line as a number, or dflt. */
uint64_t cmdline_u64(const struct mb_info *mbi, const char *key, uint64_t dflt);

/* ---- tiny allocator: page-aligned bump allocation from the end of the image ---- */
void *alloc_pages(size_t n);
void *alloc_zeroed(size_t bytes);

/* ---- interrupts ---- */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code, rip, cs, rflags, rsp, ss;
};
typedef void (*irq_handler)(struct irq_frame *f);
void set_irq_handler(uint8_t vector, irq_handler h);
/* Handlers for #GP etc. may skip the faulting instruction by changing f->rip. */

/* ---- local APIC (xAPIC MMIO) ---- */
#define APIC_BASE 0xfee00000ull
enum {
	APIC_ID = 0x20, APIC_VERSION = 0x30, APIC_TPR = 0x80, APIC_EOI = 0xb0, APIC_LDR = 0xd0,
	APIC_SPIV = 0xf0, APIC_ISR = 0x100, APIC_IRR = 0x200, APIC_ICR_LO = 0x300, APIC_ICR_HI = 0x310,
	APIC_LVT_TIMER = 0x320, APIC_LVT_LINT0 = 0x350, APIC_LVT_LINT1 = 0x360, APIC_TIMER_INIT = 0x380,
	APIC_TIMER_CUR = 0x390, APIC_TIMER_DIV = 0x3e0,
};
static inline uint32_t apic_read(uint32_t reg) { return mmio_read32(APIC_BASE + reg); }
static inline void apic_write(uint32_t reg, uint32_t v) { mmio_write32(APIC_BASE + reg, v); }
static inline void apic_eoi(void) { apic_write(APIC_EOI, 0); }
unsigned int apic_id(void);
/* The initial APIC ID from CPUID (works whichever APIC, xAPIC or x2APIC, VTL0 or VTL1). */
unsigned int apic_id_any(void);
void apic_enable(void);	/* software-enable with spurious vector 0xff */
void apic_send_ipi(unsigned int dest, uint32_t icr_lo);
bool apic_isr_set(uint8_t vector);

/* ---- SMP ---- */
extern volatile unsigned int cpus_online;
/* Start every AP listed by fw_cfg with INIT-SIPI-SIPI; each runs ap_main(apic_id). Returns the AP count. */
unsigned int smp_start_aps(void);

/*
 * Running code on APs: an AP whose ap_main calls ap_idle() enables its APIC,
 * goes online and then sleeps (sti; hlt), running what on_cpu() hands it.
 * on_cpu() runs fn(arg) on that CPU (directly when it is the caller's) and
 * waits, halted, until it returns. Both wake the other side with a fixed IPI
 * at ON_CPU_VECTOR. The function runs with interrupts disabled.
 */
#define ON_CPU_VECTOR 0xfc
void __attribute__((noreturn)) ap_idle(unsigned int id);
void on_cpu(unsigned int cpu, void (*fn)(void *), void *arg);
static inline bool irqs_enabled(void) { uint64_t f; __asm__ volatile("pushfq; pop %0" : "=r"(f)); return f & 0x200; }

/*
 * Wake-up tick for bounded waits: the local APIC timer, periodic every
 * period_us microseconds (KVM's APIC timer runs at 1 GHz), vector TICK_VECTOR,
 * whose handler only EOIs. Lets a `sti; hlt` loop re-check a deadline.
 */
#define TICK_VECTOR 0xfd
void tick_start(unsigned int period_us);
void tick_stop(void);

/* ---- fw_cfg (QEMU traditional I/O interface) ---- */
void fw_cfg_read(uint16_t key, void *buf, size_t len);

#endif
