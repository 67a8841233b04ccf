/*
 * SynIC, synthetic timers, HvCallPostMessage/HvCallSignalEvent and the
 * hyperv-testdev device, against a fake host: guest RAM is a static buffer,
 * raise_irq records its calls and the guest TSC is a settable value.
 */
#include "fake_host.h"
#include "test.h"
#include "hv/hv_internal.h"
#include "devices/hyperv_testdev.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#define RAM_SIZE 0x40000
/* Overlay pages: (VP0, VTL0), (VP0, VTL1), (VP1, VTL0). */
#define SIMP0 0x10000
#define SIEFP0 0x11000
#define SIMP0_VTL1 0x12000
#define SIEFP0_VTL1 0x13000
#define SIMP1 0x14000
#define SIEFP1 0x15000
#define VEC2 0x50	/* SINT2 */
#define VEC3 0x51	/* SINT3 */

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct fake_host fake;	/* fake_host.h */

/*
 * A 20 MHz guest TSC: 2 ticks per 100 ns reference-time unit. (10 MHz would
 * make reftime.c's TscScale exactly 2^64, which does not fit in 64 bits.)
 */
static void set_now(uint64_t ref)
{
	__atomic_store_n(&fake.tsc, ref * 2, __ATOMIC_SEQ_CST);
}

static unsigned int irq_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&fake.irq_lock);
	n = fake.nirqs;
	pthread_mutex_unlock(&fake.irq_lock);
	return n;
}

#define EXPECT_IRQ(i, vp_, vtl_, vec_) do { \
	EXPECT((i) < irq_count()); \
	EXPECT_EQ(fake.irq[i].vp, vp_); \
	EXPECT_EQ(fake.irq[i].vtl, vtl_); \
	EXPECT_EQ(fake.irq[i].vector, vec_); \
} while (0)

static struct hv_partition *new_partition(unsigned int nr_vps)
{
	struct hv_config cfg = {
		.nr_vps = nr_vps, .tsc_hz = 20000000, .apic_hz = 1000000000, .ram_size = RAM_SIZE,
		.gpa_limit = 1ull << 36,
		.hypercall_port = FAKE_HYPERCALL_PORT, .ops = &fake_host_ops, .host = &fake,
	};
	struct hv_partition *p;

	memset(ram, 0, sizeof(ram));
	fake_reset(&fake, ram, RAM_SIZE, nr_vps, 0);
	p = hv_partition_create(&cfg);
	if (!p) {
		printf("hv_partition_create failed\n");
		_exit(1);
	}
	fake.nirqs = 0;
	return p;
}

static bool wr(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t val)
{
	if (msr >= HV_X64_MSR_STIMER0_CONFIG)
		return hv_stimer_msr_write(p, vp, vtl, msr, val);
	return hv_synic_msr_write(p, vp, vtl, msr, val);
}

static bool rd(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr, uint64_t *val)
{
	*val = 0xdeadbeef;
	if (msr >= HV_X64_MSR_STIMER0_CONFIG)
		return hv_stimer_msr_read(p, vp, vtl, msr, val);
	return hv_synic_msr_read(p, vp, vtl, msr, val);
}

static uint64_t rdv(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint32_t msr)
{
	uint64_t v;

	EXPECT(rd(p, vp, vtl, msr, &v));
	return v;
}

static void enable_synic(struct hv_partition *p, unsigned int vp, unsigned int vtl, uint64_t simp, uint64_t siefp)
{
	EXPECT(wr(p, vp, vtl, HV_X64_MSR_SIMP, simp | 1));
	EXPECT(wr(p, vp, vtl, HV_X64_MSR_SIEFP, siefp | 1));
	EXPECT(wr(p, vp, vtl, HV_X64_MSR_SCONTROL, 1));
	EXPECT(wr(p, vp, vtl, HV_X64_MSR_SINT0 + 2, VEC2));
	EXPECT(wr(p, vp, vtl, HV_X64_MSR_SINT0 + 3, VEC3));
}

/* Two VPs; SynIC on (VP0, VTL0), (VP0, VTL1), (VP1, VTL0) with SINT2/SINT3 unmasked. */
static struct hv_partition *setup(void)
{
	struct hv_partition *p = new_partition(2);

	enable_synic(p, 0, 0, SIMP0, SIEFP0);
	enable_synic(p, 0, 1, SIMP0_VTL1, SIEFP0_VTL1);
	enable_synic(p, 1, 0, SIMP1, SIEFP1);
	fake.nirqs = 0;
	return p;
}

static struct hv_message *slot_at(uint64_t simp, unsigned int sint)
{
	return (struct hv_message *)(ram + simp + sint * HV_MESSAGE_SIZE);
}

static struct hv_message *slot(unsigned int sint)
{
	return slot_at(SIMP0, sint);
}

static struct hv_message mkmsg(uint32_t type, uint8_t size, uint8_t seed)
{
	struct hv_message m;

	memset(&m, 0xee, sizeof(m));	/* garbage past PayloadSize must not reach the guest */
	m.message_type = type;
	m.payload_size = size;
	m.message_flags = 0;
	m.reserved = 0;
	m.origination_id = 0;
	for (unsigned int i = 0; i < size; i++)
		m.payload[i] = (uint8_t)(seed + i);
	return m;
}

static uint16_t post(struct hv_partition *p, unsigned int sint, uint32_t type)
{
	struct hv_message m = mkmsg(type, 4, (uint8_t)type);

	return hv_synic_post_message(p, 0, 0, sint, &m);
}

/* What the guest does after reading a message: clear MessageType, then EOM if MessagePending. */
static void guest_ack(struct hv_partition *p, unsigned int sint, bool eom)
{
	slot(sint)->message_type = HVMSG_NONE;
	if (eom)
		EXPECT(wr(p, 0, 0, HV_X64_MSR_EOM, 0));
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static uint64_t get64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, 8);
	return v;
}

/* Timer message in SINT sint's slot of simp: exact header and 24-byte payload. */
static void expect_timer_msg(uint64_t simp, unsigned int sint, uint32_t index, uint64_t exp, uint64_t delivery)
{
	const uint8_t *b = (const uint8_t *)slot_at(simp, sint);
	uint32_t v32;

	memcpy(&v32, b, 4);
	EXPECT_EQ(v32, HVMSG_TIMER_EXPIRED);
	EXPECT_EQ(b[4], 24);			/* PayloadSize */
	EXPECT_EQ(b[5], 0);			/* MessageFlags */
	EXPECT(all_zero(b + 6, 10));		/* Reserved, OriginationId */
	memcpy(&v32, b + 16, 4);
	EXPECT_EQ(v32, index);			/* TimerIndex */
	memcpy(&v32, b + 20, 4);
	EXPECT_EQ(v32, 0);
	EXPECT_EQ(get64(b + 24), exp);		/* ExpirationTime */
	EXPECT_EQ(get64(b + 32), delivery);	/* DeliveryTime */
	EXPECT(all_zero(b + 40, HV_MESSAGE_SIZE - 40));
}

/* ---- SynIC MSRs ---- */

static void test_synic_msrs(void)
{
	struct hv_partition *p = new_partition(1);
	uint64_t v;

	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SVERSION), 1);
	EXPECT(!wr(p, 0, 0, HV_X64_MSR_SVERSION, 1));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SCONTROL), 0);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_EOM, 0x1234));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_EOM), 0);
	/* SIRBP: not implemented, not advertised. */
	EXPECT(!rd(p, 0, 0, HV_X64_MSR_SIRBP, &v));
	EXPECT(!wr(p, 0, 0, HV_X64_MSR_SIRBP, 0));
	EXPECT(!rd(p, 0, 0, 0x40000086, &v));

	/* RsvdP bits are ignored on write and read back as stored (0). */
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SCONTROL, ~0ull));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SCONTROL), 1);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SCONTROL, 0xfffe));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SCONTROL), 0);

	/* Enabling SIMP zeroes the page; bits 11:1 are RsvdP. */
	memset(ram + SIMP0, 0xaa, HV_PAGE_SIZE);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, SIMP0 | 0xfff));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SIMP), SIMP0 | 1);
	EXPECT(all_zero(ram + SIMP0, HV_PAGE_SIZE));
	/* Rewriting the same enabled value does not wipe the page again. */
	ram[SIMP0 + 100] = 7;
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, SIMP0 | 1));
	EXPECT_EQ(ram[SIMP0 + 100], 7);
	/* Disabling keeps GPFN and leaves the page alone. */
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, SIMP0));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SIMP), SIMP0);
	EXPECT_EQ(ram[SIMP0 + 100], 7);

	memset(ram + SIEFP0, 0x55, HV_PAGE_SIZE);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIEFP, SIEFP0 | 0x7ff));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SIEFP), SIEFP0 | 1);
	EXPECT(all_zero(ram + SIEFP0, HV_PAGE_SIZE));

	/* A GPFN outside RAM is accepted; the page is simply inaccessible. */
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, 0xfff00001ull));
	EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SIMP), 0xfff00001ull);

	/* Per-VTL state. */
	EXPECT_EQ(rdv(p, 0, 1, HV_X64_MSR_SIEFP), 0);
	EXPECT_EQ(rdv(p, 0, 1, HV_X64_MSR_SCONTROL), 0);
	hv_partition_destroy(p);
}

static void test_sint_rules(void)
{
	struct hv_partition *p = new_partition(1);
	uint32_t s = HV_X64_MSR_SINT0 + 4;

	for (unsigned int i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		EXPECT_EQ(rdv(p, 0, 0, HV_X64_MSR_SINT0 + i), 0x10000);
		EXPECT_EQ(rdv(p, 0, 2, HV_X64_MSR_SINT0 + i), 0x10000);
	}
	/* Vector < 16 on an unmasked SINT #GPs and changes nothing, polling or not. */
	EXPECT(!wr(p, 0, 0, s, 0x0f));
	EXPECT(!wr(p, 0, 0, s, HV_SINT_POLLING | 0x08));
	EXPECT_EQ(rdv(p, 0, 0, s), 0x10000);
	/* Masked, it is accepted (nested Hyper-V writes the reset value 0x10000). */
	EXPECT(wr(p, 0, 0, s, 0x1000f));
	EXPECT_EQ(rdv(p, 0, 0, s), 0x1000f);
	EXPECT(wr(p, 0, 0, s, 0x10));
	EXPECT_EQ(rdv(p, 0, 0, s), 0x10);
	/* 15:8, AsIntercept (19), Proxy (20) and 63:21 are RsvdP; AutoEOI and Polling are stored. */
	EXPECT(wr(p, 0, 0, s, 0x20 | 0xff00 | (1ull << 19) | (1ull << 20) | (1ull << 63) | HV_SINT_AUTO_EOI |
				 HV_SINT_POLLING));
	EXPECT_EQ(rdv(p, 0, 0, s), 0x20 | HV_SINT_AUTO_EOI | HV_SINT_POLLING);
	/* Other VTLs untouched. */
	EXPECT_EQ(rdv(p, 0, 1, s), 0x10000);
	hv_partition_destroy(p);
}

/* ---- messages ---- */

static void test_post_exact_bytes(void)
{
	struct hv_partition *p = setup();
	struct hv_message m = mkmsg(0x1234, 8, 1);
	const uint8_t *b = (const uint8_t *)slot(2);
	static const uint8_t hdr[16] = { 0x34, 0x12, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	EXPECT_EQ(hv_synic_post_message(p, 0, 0, 2, &m), HV_STATUS_SUCCESS);
	EXPECT(!memcmp(b, hdr, sizeof(hdr)));
	for (unsigned int i = 0; i < 8; i++)
		EXPECT_EQ(b[16 + i], 1 + i);
	EXPECT(all_zero(b + 24, HV_MESSAGE_SIZE - 24));
	/* Other slots and the other VTL's and VP's pages untouched. */
	EXPECT(all_zero(ram + SIMP0, 2 * HV_MESSAGE_SIZE));
	EXPECT(all_zero(ram + SIMP0 + 3 * HV_MESSAGE_SIZE, 13 * HV_MESSAGE_SIZE));
	EXPECT(all_zero(ram + SIMP0_VTL1, HV_PAGE_SIZE));
	EXPECT(all_zero(ram + SIMP1, HV_PAGE_SIZE));
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC2);

	/* The same to VTL1 lands in VTL1's page and interrupts VTL1. */
	EXPECT_EQ(hv_synic_post_message(p, 0, 1, 3, &m), HV_STATUS_SUCCESS);
	EXPECT_EQ(slot_at(SIMP0_VTL1, 3)->message_type, 0x1234);
	EXPECT_EQ(irq_count(), 2);
	EXPECT_IRQ(1, 0, 1, VEC3);

	/* Bad targets. */
	EXPECT_EQ(hv_synic_post_message(p, 2, 0, 2, &m), HV_STATUS_INVALID_VP_INDEX);
	EXPECT_EQ(hv_synic_post_message(p, 0, 0, 16, &m), HV_STATUS_INVALID_PARAMETER);
	m.payload_size = 241;
	EXPECT_EQ(hv_synic_post_message(p, 0, 0, 2, &m), HV_STATUS_INVALID_PARAMETER);
	hv_partition_destroy(p);
}

static void test_post_queue_eom(void)
{
	struct hv_partition *p = setup();

	EXPECT_EQ(post(p, 2, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(post(p, 2, 2), HV_STATUS_SUCCESS);	/* queued: the sender still sees success */
	EXPECT_EQ(post(p, 2, 3), HV_STATUS_SUCCESS);
	EXPECT_EQ(slot(2)->message_type, 1);
	EXPECT_EQ(slot(2)->message_flags, HV_MESSAGE_FLAG_PENDING);
	EXPECT_EQ(irq_count(), 1);

	/* EOM while the slot is still full does nothing. */
	EXPECT(wr(p, 0, 0, HV_X64_MSR_EOM, 0));
	EXPECT_EQ(slot(2)->message_type, 1);
	EXPECT_EQ(irq_count(), 1);

	guest_ack(p, 2, true);
	EXPECT_EQ(slot(2)->message_type, 2);
	EXPECT_EQ(slot(2)->payload[0], 2);
	EXPECT_EQ(slot(2)->message_flags, HV_MESSAGE_FLAG_PENDING);	/* message 3 still waits */
	EXPECT_EQ(irq_count(), 2);

	guest_ack(p, 2, true);
	EXPECT_EQ(slot(2)->message_type, 3);
	EXPECT_EQ(slot(2)->payload[0], 3);
	EXPECT_EQ(slot(2)->message_flags, 0);
	EXPECT_EQ(irq_count(), 3);

	guest_ack(p, 2, true);	/* EOM with every queue empty */
	EXPECT_EQ(slot(2)->message_type, 0);
	EXPECT_EQ(irq_count(), 3);
	EXPECT_IRQ(2, 0, 0, VEC2);
	hv_partition_destroy(p);
}

static void test_post_insufficient_buffers(void)
{
	struct hv_partition *p = setup();

	EXPECT_EQ(post(p, 3, 100), HV_STATUS_SUCCESS);	/* in the slot */
	for (unsigned int i = 0; i < HV_MSG_QUEUE_LEN; i++)
		EXPECT_EQ(post(p, 3, 101 + i), HV_STATUS_SUCCESS);
	EXPECT_EQ(post(p, 3, 200), HV_STATUS_INSUFFICIENT_BUFFERS);
	/* Other SINTs have their own queues. */
	EXPECT_EQ(post(p, 2, 300), HV_STATUS_SUCCESS);

	guest_ack(p, 3, true);
	EXPECT_EQ(slot(3)->message_type, 101);
	EXPECT_EQ(post(p, 3, 117), HV_STATUS_SUCCESS);
	EXPECT_EQ(post(p, 3, 118), HV_STATUS_INSUFFICIENT_BUFFERS);
	/* Everything comes out in order. */
	for (unsigned int t = 102; t <= 117; t++) {
		guest_ack(p, 3, true);
		EXPECT_EQ(slot(3)->message_type, t);
	}
	EXPECT_EQ(slot(3)->message_flags, 0);
	hv_partition_destroy(p);
}

/* A new post is a redelivery trigger: queued messages go first, even without EOM. */
static void test_post_redelivers(void)
{
	struct hv_partition *p = setup();

	EXPECT_EQ(post(p, 2, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(post(p, 2, 2), HV_STATUS_SUCCESS);
	guest_ack(p, 2, false);
	EXPECT_EQ(post(p, 2, 3), HV_STATUS_SUCCESS);
	EXPECT_EQ(slot(2)->message_type, 2);
	EXPECT_EQ(slot(2)->message_flags, HV_MESSAGE_FLAG_PENDING);
	EXPECT_EQ(irq_count(), 2);
	guest_ack(p, 2, true);
	EXPECT_EQ(slot(2)->message_type, 3);
	EXPECT_EQ(irq_count(), 3);
	hv_partition_destroy(p);
}

static void test_post_masked_polling(void)
{
	struct hv_partition *p = setup();

	EXPECT(wr(p, 0, 0, HV_X64_MSR_SINT0 + 4, HV_SINT_MASKED | 0x60));
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SINT0 + 5, HV_SINT_POLLING | 0x61));
	EXPECT_EQ(post(p, 4, 44), HV_STATUS_SUCCESS);
	EXPECT_EQ(post(p, 5, 55), HV_STATUS_SUCCESS);
	EXPECT_EQ(slot(4)->message_type, 44);
	EXPECT_EQ(slot(5)->message_type, 55);
	EXPECT_EQ(irq_count(), 0);
	/* Events: a polled SINT gets the flag but no interrupt; a masked one refuses. */
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 5, 0), HV_STATUS_SUCCESS);
	EXPECT_EQ(ram[SIEFP0 + 5 * 256], 1);
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 4, 0), HV_STATUS_INVALID_SYNIC_STATE);
	EXPECT_EQ(ram[SIEFP0 + 4 * 256], 0);
	EXPECT_EQ(irq_count(), 0);
	hv_partition_destroy(p);
}

static void test_post_disabled(void)
{
	struct hv_partition *p = setup();

	EXPECT(wr(p, 0, 0, HV_X64_MSR_SCONTROL, 0));
	EXPECT_EQ(post(p, 2, 1), HV_STATUS_INVALID_SYNIC_STATE);
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 2, 0), HV_STATUS_INVALID_SYNIC_STATE);
	EXPECT_EQ(hv_synic_assert_sint(p, 0, 0, 2), HV_STATUS_INVALID_SYNIC_STATE);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SCONTROL, 1));
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, SIMP0));
	EXPECT_EQ(post(p, 2, 1), HV_STATUS_INVALID_SYNIC_STATE);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, 0x7ff000001ull));	/* not RAM */
	EXPECT_EQ(post(p, 2, 1), HV_STATUS_INVALID_SYNIC_STATE);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIEFP, SIEFP0));
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 2, 0), HV_STATUS_INVALID_SYNIC_STATE);
	EXPECT(all_zero(ram + SIMP0, HV_PAGE_SIZE));
	EXPECT(all_zero(ram + SIEFP0, HV_PAGE_SIZE));
	EXPECT_EQ(irq_count(), 0);
	hv_partition_destroy(p);
}

/* ---- events ---- */

static void test_event_flags(void)
{
	struct hv_partition *p = setup();
	uint8_t *f3 = ram + SIEFP0 + 3 * 256;

	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 3, 5), HV_STATUS_SUCCESS);
	EXPECT_EQ(f3[0], 0x20);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC3);
	/* Already set: success, no interrupt. */
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 3, 5), HV_STATUS_SUCCESS);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 3, 2047), HV_STATUS_SUCCESS);
	EXPECT_EQ(f3[255], 0x80);
	EXPECT_EQ(irq_count(), 2);
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 3, 2048), HV_STATUS_INVALID_PARAMETER);
	/* The guest clears the flag: the next signal interrupts again. */
	__atomic_and_fetch(&f3[0], (uint8_t)~0x20, __ATOMIC_SEQ_CST);
	EXPECT_EQ(hv_synic_signal_event(p, 0, 0, 3, 5), HV_STATUS_SUCCESS);
	EXPECT_EQ(irq_count(), 3);
	/* Only SINT3's 256 bytes changed. */
	EXPECT(all_zero(ram + SIEFP0, 3 * 256));
	EXPECT(all_zero(f3 + 1, 254));
	EXPECT(all_zero(f3 + 256, 12 * 256));
	/* VP1 has its own page. */
	EXPECT_EQ(hv_synic_signal_event(p, 1, 0, 2, 9), HV_STATUS_SUCCESS);
	EXPECT_EQ(ram[SIEFP1 + 2 * 256 + 1], 0x02);
	EXPECT_IRQ(3, 1, 0, VEC2);
	hv_partition_destroy(p);
}

/* ---- hypercalls and connections ---- */

static const struct hv_hypercall_desc *desc(uint16_t code)
{
	for (unsigned int i = 0; i < hv_hc_synic_n; i++)
		if (hv_hc_synic[i].code == code)
			return &hv_hc_synic[i];
	return NULL;
}

static uint16_t call(struct hv_partition *p, uint16_t code, const void *in)
{
	const struct hv_hypercall_desc *d = desc(code);
	struct hv_hypercall hc = { .p = p, .vp = &p->vps[0], .vtl = 0, .code = code, .in = in };

	if (!d || !d->simple)
		return 0xffff;
	return d->simple(&hc);
}

static uint16_t hc_post(struct hv_partition *p, uint32_t conn, uint32_t rsvd, uint32_t type, uint32_t size)
{
	uint8_t in[256];

	memset(in, 0, sizeof(in));
	memcpy(in, &conn, 4);
	memcpy(in + 4, &rsvd, 4);
	memcpy(in + 8, &type, 4);
	memcpy(in + 12, &size, 4);
	for (unsigned int i = 0; i < 240; i++)
		in[16 + i] = (uint8_t)(0x80 + i);
	return call(p, HVCALL_POST_MESSAGE, in);
}

static uint16_t hc_signal(struct hv_partition *p, uint32_t conn, uint16_t flag, uint16_t rsvd)
{
	uint8_t in[8];

	memcpy(in, &conn, 4);
	memcpy(in + 4, &flag, 2);
	memcpy(in + 6, &rsvd, 2);
	return call(p, HVCALL_SIGNAL_EVENT, in);
}

static void test_hc_descriptors(void)
{
	const struct hv_hypercall_desc *pm = desc(HVCALL_POST_MESSAGE), *se = desc(HVCALL_SIGNAL_EVENT);

	EXPECT_EQ(hv_hc_synic_n, 2);
	EXPECT(pm && se);
	if (!pm || !se)
		return;
	EXPECT(!pm->rep && !pm->var_header && pm->simple);
	EXPECT_EQ(pm->privilege, HV_POST_MESSAGES);
	EXPECT_EQ(pm->in_header, 256);
	EXPECT_EQ(pm->out_header, 0);
	EXPECT(!se->rep && !se->var_header && se->simple);
	EXPECT_EQ(se->privilege, HV_SIGNAL_EVENTS);
	EXPECT_EQ(se->in_header, 8);
	EXPECT_EQ(se->out_header, 0);
}

static void test_hc_post_message(void)
{
	struct hv_partition *p = setup();
	const struct hv_message *s = slot_at(SIMP1, 2);

	EXPECT_EQ(hv_connection_create_message(p, 0x10, 1, 0, 2), 0);
	EXPECT_EQ(hv_connection_create_event(p, 0x20, 0, 0, 3), 0);
	EXPECT_EQ(hv_connection_create_message(p, 0x30, 0, 1, 2), 0);

	EXPECT_EQ(hc_post(p, 0x10, 0, 0x12345678, 8), HV_STATUS_SUCCESS);
	EXPECT_EQ(s->message_type, 0x12345678);
	EXPECT_EQ(s->payload_size, 8);
	EXPECT_EQ(s->message_flags, 0);
	EXPECT_EQ(s->origination_id, 0);
	for (unsigned int i = 0; i < 8; i++)
		EXPECT_EQ(s->payload[i], 0x80 + i);
	EXPECT(all_zero(s->payload + 8, 232));
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 1, 0, VEC2);

	/* The full 240 bytes. */
	slot_at(SIMP1, 2)->message_type = 0;
	EXPECT_EQ(hc_post(p, 0x10, 0, 0x7fffffff, 240), HV_STATUS_SUCCESS);
	EXPECT_EQ(s->payload_size, 240);
	EXPECT_EQ(s->payload[239], (uint8_t)(0x80 + 239));

	/* A connection to VTL1 posts into VTL1's SynIC. */
	EXPECT_EQ(hc_post(p, 0x30, 0, 0x77, 1), HV_STATUS_SUCCESS);
	EXPECT_EQ(slot_at(SIMP0_VTL1, 2)->message_type, 0x77);
	EXPECT_IRQ(2, 0, 1, VEC2);

	EXPECT_EQ(hc_post(p, 0x11, 0, 1, 8), HV_STATUS_INVALID_CONNECTION_ID);
	EXPECT_EQ(hc_post(p, 0x20, 0, 1, 8), HV_STATUS_INVALID_PORT_ID);	/* an event port */
	EXPECT_EQ(hc_post(p, 0x10, 0, 0, 8), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(hc_post(p, 0x10, 0, 0x80000001u, 8), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(hc_post(p, 0x10, 0, 1, 241), HV_STATUS_INVALID_PARAMETER);
	/* ConnectionId is looked up whole (bits 31:24 name no connection); the padding is ignored (OpenVMM). */
	EXPECT_EQ(hc_post(p, 0x01000010, 0, 1, 8), HV_STATUS_INVALID_CONNECTION_ID);
	EXPECT_EQ(irq_count(), 3);
	slot_at(SIMP1, 2)->message_type = 0;
	EXPECT_EQ(hc_post(p, 0x10, 0xa5a5a5a5u, 1, 8), HV_STATUS_SUCCESS);
	EXPECT_EQ(s->message_type, 1);
	EXPECT_EQ(irq_count(), 4);
	slot_at(SIMP1, 2)->message_type = 0;

	/* The target's SynIC state is reported to the caller. */
	EXPECT(wr(p, 1, 0, HV_X64_MSR_SCONTROL, 0));
	EXPECT_EQ(hc_post(p, 0x10, 0, 1, 8), HV_STATUS_INVALID_SYNIC_STATE);
	hv_partition_destroy(p);
}

static void test_hc_signal_event(void)
{
	struct hv_partition *p = setup();
	uint8_t *f3 = ram + SIEFP0 + 3 * 256;

	EXPECT_EQ(hv_connection_create_event(p, 0x20, 0, 0, 3), 0);
	EXPECT_EQ(hv_connection_create_event_range(p, 0x21, 0, 0, 3, 0x21, 1), 0);
	EXPECT_EQ(hv_connection_create_message(p, 0x10, 0, 0, 2), 0);

	EXPECT_EQ(hc_signal(p, 0x20, 7, 0), HV_STATUS_SUCCESS);
	EXPECT_EQ(f3[0], 0x80);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC3);
	EXPECT_EQ(hc_signal(p, 0x20, 7, 0), HV_STATUS_SUCCESS);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_EQ(hc_signal(p, 0x20, 2047, 0), HV_STATUS_SUCCESS);
	EXPECT_EQ(f3[255], 0x80);
	EXPECT_EQ(hc_signal(p, 0x20, 2048, 0), HV_STATUS_INVALID_PARAMETER);

	/* A one-flag range at 0x21: FlagNumber 0 sets flag 0x21 (byte 4, bit 1). */
	EXPECT_EQ(hc_signal(p, 0x21, 0, 0), HV_STATUS_SUCCESS);
	EXPECT_EQ(f3[4], 0x02);
	EXPECT_EQ(hc_signal(p, 0x21, 1, 0), HV_STATUS_INVALID_PARAMETER);

	EXPECT_EQ(hc_signal(p, 0x10, 0, 0), HV_STATUS_INVALID_PORT_ID);	/* a message port */
	EXPECT_EQ(hc_signal(p, 0x1234, 0, 0), HV_STATUS_INVALID_CONNECTION_ID);
	EXPECT_EQ(hc_signal(p, 0xff000020u, 0, 0), HV_STATUS_INVALID_CONNECTION_ID);	/* looked up whole */
	EXPECT_EQ(irq_count(), 3);
	/* The u16 after FlagNumber is padding, ignored (OpenVMM): flag 0 is set and raised. */
	EXPECT_EQ(hc_signal(p, 0x20, 0, 0xa5a5), HV_STATUS_SUCCESS);
	EXPECT_EQ(f3[0], 0x81);
	EXPECT_EQ(irq_count(), 4);
	hv_partition_destroy(p);
}

static void test_connection_api(void)
{
	struct hv_partition *p = setup();

	EXPECT_EQ(hv_connection_create_message(p, 5, 0, 0, 2), 0);
	EXPECT_EQ(hv_connection_create_message(p, 5, 1, 0, 3), -EEXIST);
	EXPECT_EQ(hv_connection_create_event(p, 5, 0, 0, 3), 0);	/* the other kind may share the id */
	EXPECT_EQ(hv_connection_destroy(p, 5, false), 0);
	EXPECT_EQ(hv_connection_destroy(p, 5, false), -ENOENT);
	EXPECT_EQ(hc_post(p, 5, 0, 1, 8), HV_STATUS_INVALID_PORT_ID);
	EXPECT_EQ(hv_connection_destroy(p, 5, true), 0);
	EXPECT_EQ(hc_post(p, 5, 0, 1, 8), HV_STATUS_INVALID_CONNECTION_ID);
	EXPECT_EQ(hc_signal(p, 5, 0, 0), HV_STATUS_INVALID_CONNECTION_ID);

	EXPECT_EQ(hv_connection_create_message(p, 6, 2, 0, 2), -EINVAL);	/* no VP 2 */
	EXPECT_EQ(hv_connection_create_message(p, 6, 0, HV_MAX_VTLS, 2), -EINVAL);
	EXPECT_EQ(hv_connection_create_message(p, 6, 0, 0, 16), -EINVAL);
	EXPECT_EQ(hv_connection_create_message(p, 0x1000000, 0, 0, 2), -EINVAL);
	EXPECT_EQ(hv_connection_create_event_range(p, 6, 0, 0, 2, 2047, 2), -EINVAL);
	EXPECT_EQ(hv_connection_create_event_range(p, 6, 0, 0, 2, 0, 0), -EINVAL);

	for (unsigned int i = 0; i < HV_MAX_CONNECTIONS; i++)
		EXPECT_EQ(hv_connection_create_message(p, 100 + i, 0, 0, 2), 0);
	EXPECT_EQ(hv_connection_create_message(p, 99, 0, 0, 2), -ENOSPC);
	hv_partition_destroy(p);
}

static void test_assert_sint(void)
{
	struct hv_partition *p = setup();

	EXPECT_EQ(hv_synic_assert_sint(p, 0, 0, 2), HV_STATUS_SUCCESS);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC2);
	EXPECT_EQ(hv_synic_assert_sint(p, 0, 1, 3), HV_STATUS_SUCCESS);
	EXPECT_IRQ(1, 0, 1, VEC3);
	EXPECT_EQ(hv_synic_assert_sint(p, 0, 0, 6), HV_STATUS_INVALID_SYNIC_STATE);	/* masked */
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SINT0 + 7, HV_SINT_POLLING | 0x70));
	EXPECT_EQ(hv_synic_assert_sint(p, 0, 0, 7), HV_STATUS_SUCCESS);
	EXPECT_EQ(hv_synic_assert_sint(p, 5, 0, 2), HV_STATUS_INVALID_VP_INDEX);
	EXPECT_EQ(hv_synic_assert_sint(p, 0, 0, 16), HV_STATUS_INVALID_PARAMETER);
	EXPECT_EQ(irq_count(), 2);
	hv_partition_destroy(p);
}

/* ---- hyperv-testdev ---- */

static void tdev_out(struct hyperv_testdev *d, uint32_t v, unsigned int size)
{
	hyperv_testdev_io(d, NULL, HYPERV_TESTDEV_PORT, size, true, &v);
}

#define TDEV(conn, ctl, vp, sint) ((uint32_t)(conn) << 24 | (ctl) << 16 | (vp) << 8 | (sint))

static void test_testdev(void)
{
	struct hv_partition *p = setup();
	struct hyperv_testdev d;
	uint32_t v = 0x12345678;

	hyperv_testdev_init(&d, p);
	hyperv_testdev_io(&d, NULL, HYPERV_TESTDEV_PORT, 4, false, &v);
	EXPECT_EQ(v, 0);

	/* SINT routes. */
	tdev_out(&d, TDEV(0, 3, 0, 2), 4);	/* assert without a route: nothing */
	EXPECT_EQ(irq_count(), 0);
	tdev_out(&d, TDEV(0, 1, 0, 2), 4);
	tdev_out(&d, TDEV(0, 3, 0, 2), 2);	/* only 32-bit writes count */
	EXPECT_EQ(irq_count(), 0);
	tdev_out(&d, TDEV(0, 3, 0, 2), 4);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC2);
	tdev_out(&d, TDEV(0, 1, 1, 3), 4);
	tdev_out(&d, TDEV(0, 3, 1, 3), 4);
	EXPECT_IRQ(1, 1, 0, VEC3);
	tdev_out(&d, TDEV(0, 2, 0, 2), 4);
	tdev_out(&d, TDEV(0, 3, 0, 2), 4);
	EXPECT_EQ(irq_count(), 2);
	tdev_out(&d, TDEV(0, 2, 0, 9), 4);	/* unknown route, unknown ctl: ignored */
	tdev_out(&d, TDEV(0, 8, 0, 2), 4);
	tdev_out(&d, TDEV(0, 0, 0, 2), 4);
	EXPECT_EQ(irq_count(), 2);

	/* Message connection 0x11 -> (VP1, SINT2): PostMessage is re-posted there. */
	tdev_out(&d, TDEV(0x11, 4, 1, 2), 4);
	EXPECT_EQ(hc_post(p, 0x11, 0, 0x12345678, 8), HV_STATUS_SUCCESS);
	EXPECT_EQ(slot_at(SIMP1, 2)->message_type, 0x12345678);
	EXPECT_IRQ(2, 1, 0, VEC2);
	tdev_out(&d, TDEV(0x11, 5, 0, 0), 4);
	EXPECT_EQ(hc_post(p, 0x11, 0, 0x12345678, 8), HV_STATUS_INVALID_CONNECTION_ID);

	/* Event connection 0x22 -> (VP0, SINT3): SignalEvent sets flag 0x22, as QEMU does. */
	tdev_out(&d, TDEV(0x22, 6, 0, 3), 4);
	EXPECT_EQ(hc_signal(p, 0x22, 0, 0), HV_STATUS_SUCCESS);
	EXPECT_EQ(ram[SIEFP0 + 3 * 256 + 4], 0x04);
	EXPECT_IRQ(3, 0, 0, VEC3);
	EXPECT_EQ(hc_signal(p, 0x22, 1, 0), HV_STATUS_INVALID_PARAMETER);
	tdev_out(&d, TDEV(0x22, 7, 0, 0), 4);
	EXPECT_EQ(hc_signal(p, 0x22, 0, 0), HV_STATUS_INVALID_CONNECTION_ID);
	EXPECT_EQ(irq_count(), 4);

	hyperv_testdev_destroy(&d);
	hv_partition_destroy(p);
}

/* ---- synthetic timers ---- */

#define CFG(n) (HV_X64_MSR_STIMER0_CONFIG + 2 * (n))
#define CNT(n) (HV_X64_MSR_STIMER0_CONFIG + 2 * (n) + 1)
#define SINTX(x) ((uint64_t)(x) << 16)
#define APICVEC(v) ((uint64_t)(v) << 4)

static void test_stimer_config_gp(void)
{
	struct hv_partition *p = setup();
	static const unsigned int bad[] = { 13, 14, 15, 20, 31, 32, 63 };
	uint64_t v;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT(!wr(p, 0, 0, CFG(1), HV_STIMER_ENABLE | SINTX(2) | (1ull << bad[i])));
		EXPECT_EQ(rdv(p, 0, 0, CFG(1)), 0);
	}
	/* Every defined bit at once. */
	EXPECT(wr(p, 0, 0, CFG(3), 0xf1fff));
	EXPECT_EQ(rdv(p, 0, 0, CFG(3)), 0xf1fff);
	EXPECT_EQ(rdv(p, 0, 1, CFG(3)), 0);	/* per VTL */
	EXPECT(!rd(p, 0, 0, HV_X64_MSR_STIMER3_COUNT + 1, &v));
	EXPECT(!hv_stimer_msr_write(p, 0, 0, HV_X64_MSR_STIMER3_COUNT + 1, 0));
	EXPECT(!hv_stimer_msr_write(p, 0, 0, HV_X64_MSR_STIMER0_CONFIG - 1, 0));
	hv_partition_destroy(p);
}

static void test_stimer_sintx0(void)
{
	struct hv_partition *p = setup();

	EXPECT(wr(p, 0, 0, CNT(0), 1000));
	EXPECT(wr(p, 0, 0, CFG(0), HV_STIMER_ENABLE | HV_STIMER_PERIODIC));
	EXPECT_EQ(rdv(p, 0, 0, CFG(0)), HV_STIMER_PERIODIC);
	EXPECT_EQ(hv_stimer_run_expired(p, 0), 0);	/* nothing armed */
	/* Direct mode does not use SINTx. */
	EXPECT(wr(p, 0, 0, CFG(0), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT | APICVEC(0x40)));
	EXPECT_EQ(rdv(p, 0, 0, CFG(0)), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT | APICVEC(0x40));
	EXPECT_EQ(hv_stimer_run_expired(p, 0), 2000);	/* the 200 us floor */
	/* AutoEnable does not get around it either. */
	EXPECT(wr(p, 0, 0, CFG(1), HV_STIMER_AUTO_ENABLE));
	EXPECT(wr(p, 0, 0, CNT(1), 5000));
	EXPECT_EQ(rdv(p, 0, 0, CFG(1)), HV_STIMER_AUTO_ENABLE);
	hv_partition_destroy(p);
}

static void test_stimer_autoenable(void)
{
	struct hv_partition *p = setup();

	EXPECT(wr(p, 0, 0, CFG(2), HV_STIMER_AUTO_ENABLE | SINTX(2)));
	EXPECT_EQ(rdv(p, 0, 0, CFG(2)), HV_STIMER_AUTO_ENABLE | SINTX(2));
	EXPECT(wr(p, 0, 0, CNT(2), 1000));
	EXPECT_EQ(rdv(p, 0, 0, CNT(2)), 1000);
	EXPECT_EQ(rdv(p, 0, 0, CFG(2)), HV_STIMER_AUTO_ENABLE | SINTX(2) | HV_STIMER_ENABLE);
	EXPECT_EQ(hv_stimer_run_expired(p, 0), 1000);
	/* COUNT 0 disables. */
	EXPECT(wr(p, 0, 0, CNT(2), 0));
	EXPECT_EQ(rdv(p, 0, 0, CFG(2)), HV_STIMER_AUTO_ENABLE | SINTX(2));
	EXPECT_EQ(hv_stimer_run_expired(p, 5000), 0);
	/* Without AutoEnable a COUNT write does not enable. */
	EXPECT(wr(p, 0, 0, CFG(2), SINTX(2)));
	EXPECT(wr(p, 0, 0, CNT(2), 1000));
	EXPECT_EQ(rdv(p, 0, 0, CFG(2)), SINTX(2));
	EXPECT_EQ(hv_stimer_run_expired(p, 5000), 0);
	EXPECT_EQ(irq_count(), 0);
	hv_partition_destroy(p);
}

static void test_stimer_oneshot_past(void)
{
	struct hv_partition *p = setup();

	set_now(5000);
	EXPECT(wr(p, 0, 0, CFG(1), HV_STIMER_AUTO_ENABLE | SINTX(2)));
	EXPECT(wr(p, 0, 0, CNT(1), 4000));	/* in the past: fires at once */
	expect_timer_msg(SIMP0, 2, 1, 4000, 5000);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC2);
	EXPECT_EQ(rdv(p, 0, 0, CFG(1)), HV_STIMER_AUTO_ENABLE | SINTX(2));	/* Enabled cleared */
	EXPECT_EQ(hv_stimer_run_expired(p, 100000), 0);
	EXPECT_EQ(irq_count(), 1);
	hv_partition_destroy(p);
}

static void test_stimer_oneshot_future(void)
{
	struct hv_partition *p = setup();

	EXPECT(wr(p, 0, 0, CNT(0), 1000));
	EXPECT(wr(p, 0, 0, CFG(0), HV_STIMER_ENABLE | SINTX(3)));
	EXPECT_EQ(hv_stimer_run_expired(p, 999), 1000);
	EXPECT_EQ(slot(3)->message_type, 0);
	EXPECT_EQ(irq_count(), 0);
	EXPECT_EQ(hv_stimer_run_expired(p, 1003), 0);
	expect_timer_msg(SIMP0, 3, 0, 1000, 1003);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC3);
	EXPECT_EQ(rdv(p, 0, 0, CFG(0)), SINTX(3));
	/* CONFIG 0 on an armed timer disarms it. */
	EXPECT(wr(p, 0, 0, CNT(0), 2000));
	EXPECT(wr(p, 0, 0, CFG(0), HV_STIMER_ENABLE | SINTX(3)));
	EXPECT_EQ(hv_stimer_run_expired(p, 1500), 2000);
	EXPECT(wr(p, 0, 0, CFG(0), 0));
	EXPECT_EQ(hv_stimer_run_expired(p, 2500), 0);
	EXPECT_EQ(irq_count(), 1);
	hv_partition_destroy(p);
}

static void test_stimer_periodic(void)
{
	struct hv_partition *p = setup();

	set_now(1000);
	EXPECT(wr(p, 0, 0, CNT(2), 10000));
	EXPECT(wr(p, 0, 0, CFG(2), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | SINTX(3)));
	EXPECT_EQ(hv_stimer_run_expired(p, 10999), 11000);
	EXPECT_EQ(irq_count(), 0);
	EXPECT_EQ(hv_stimer_run_expired(p, 11000), 21000);
	expect_timer_msg(SIMP0, 3, 2, 11000, 11000);
	EXPECT_EQ(irq_count(), 1);

	/* The guest has not read it: the next expiry waits in the timer's buffer. */
	EXPECT_EQ(hv_stimer_run_expired(p, 21000), 31000);
	EXPECT_EQ(slot(3)->message_flags, HV_MESSAGE_FLAG_PENDING);
	EXPECT_EQ(irq_count(), 1);
	/* While it waits, later expiries are not queued. */
	EXPECT_EQ(hv_stimer_run_expired(p, 35000), 41000);
	EXPECT_EQ(irq_count(), 1);

	set_now(36000);
	slot(3)->message_type = 0;
	EXPECT(wr(p, 0, 0, HV_X64_MSR_EOM, 0));
	expect_timer_msg(SIMP0, 3, 2, 21000, 36000);
	EXPECT_EQ(irq_count(), 2);

	/* Missed periods are skipped: 41000 fires late, the next deadline is 81000, not 51000. */
	slot(3)->message_type = 0;
	EXPECT_EQ(hv_stimer_run_expired(p, 75000), 81000);
	expect_timer_msg(SIMP0, 3, 2, 41000, 75000);
	EXPECT_EQ(irq_count(), 3);
	EXPECT_EQ(rdv(p, 0, 0, CFG(2)), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | SINTX(3));
	hv_partition_destroy(p);
}

/*
 * Hostile COUNTs: a period near 2^64 saturates (the timer never fires; its
 * deadline does not wrap into the past), and a period below 200 us runs at
 * 200 us (2000 units), as KVM clamps its own periodic APIC timer.
 */
static void test_stimer_hostile_periods(void)
{
	struct hv_partition *p = setup();

	set_now(5000);
	EXPECT(wr(p, 0, 0, CNT(0), ~0ull));
	EXPECT(wr(p, 0, 0, CFG(0), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT | APICVEC(0x40)));
	EXPECT_EQ(hv_stimer_run_expired(p, 5000), UINT64_MAX);
	EXPECT_EQ(hv_stimer_run_expired(p, UINT64_MAX - 1), UINT64_MAX);
	EXPECT_EQ(irq_count(), 0);
	EXPECT_EQ(rdv(p, 0, 0, CNT(0)), ~0ull);		/* the guest's value reads back unchanged */

	EXPECT(wr(p, 0, 0, CNT(0), 1));
	EXPECT_EQ(hv_stimer_run_expired(p, 5000), 7000);
	EXPECT_EQ(hv_stimer_run_expired(p, 7000), 9000);
	EXPECT_EQ(irq_count(), 1);
	/* Late by a lot: one expiry, then the next 2000-unit boundary. */
	EXPECT_EQ(hv_stimer_run_expired(p, 1000000 + 500), 1001000);
	EXPECT_EQ(irq_count(), 2);
	EXPECT_EQ(rdv(p, 0, 0, CNT(0)), 1);

	/* A deadline that would pass 2^64 after a late expiry saturates too. */
	EXPECT(wr(p, 0, 0, CNT(0), ~0ull - 10));
	EXPECT_EQ(hv_stimer_run_expired(p, 5000), UINT64_MAX);
	EXPECT_EQ(irq_count(), 2);
	hv_partition_destroy(p);
}

static void test_stimer_direct(void)
{
	struct hv_partition *p = setup();

	EXPECT(wr(p, 0, 1, CNT(3), 5000));
	EXPECT(wr(p, 0, 1, CFG(3), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT | APICVEC(0x77)));
	EXPECT_EQ(hv_stimer_run_expired(p, 5000), 10000);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 1, 0x77);
	EXPECT(all_zero(ram + SIMP0_VTL1, HV_PAGE_SIZE));	/* no message */
	EXPECT_EQ(hv_stimer_run_expired(p, 10000), 15000);
	EXPECT_EQ(irq_count(), 2);
	/* A vector below 16 is not deliverable: the expiry is dropped. */
	EXPECT(wr(p, 0, 1, CFG(3), HV_STIMER_ENABLE | HV_STIMER_DIRECT | APICVEC(0x0f)));
	EXPECT(wr(p, 0, 1, CNT(3), 20000));
	EXPECT_EQ(hv_stimer_run_expired(p, 20000), 0);
	EXPECT_EQ(irq_count(), 2);
	hv_partition_destroy(p);
}

/* As kvm-unit-tests hyperv_stimer "one_shot_busy": the slot is busy when the timer fires. */
static void test_stimer_pending_eom(void)
{
	struct hv_partition *p = setup();

	slot(2)->message_type = HVMSG_TIMER_EXPIRED;
	set_now(100);
	EXPECT(wr(p, 0, 0, CFG(0), HV_STIMER_AUTO_ENABLE | SINTX(2)));
	EXPECT(wr(p, 0, 0, CNT(0), 100));
	EXPECT_EQ(slot(2)->message_flags, HV_MESSAGE_FLAG_PENDING);
	EXPECT_EQ(irq_count(), 0);
	EXPECT_EQ(rdv(p, 0, 0, CFG(0)), HV_STIMER_AUTO_ENABLE | SINTX(2));

	set_now(250);
	slot(2)->message_type = 0;
	EXPECT(wr(p, 0, 0, HV_X64_MSR_EOM, 0));
	expect_timer_msg(SIMP0, 2, 0, 100, 250);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, VEC2);

	/* A pending timer message also waits for a disabled SIMP and goes out once it is back. */
	slot(2)->message_type = 0;
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, SIMP0));
	EXPECT(wr(p, 0, 0, CNT(0), 300));
	EXPECT_EQ(hv_stimer_run_expired(p, 300), 0);
	EXPECT_EQ(irq_count(), 1);
	set_now(400);
	EXPECT(wr(p, 0, 0, HV_X64_MSR_SIMP, SIMP0 | 1));
	expect_timer_msg(SIMP0, 2, 0, 300, 400);
	EXPECT_EQ(irq_count(), 2);
	hv_partition_destroy(p);
}

/* The deadline the timer hook holds now, and how many times the core asked. */
static uint64_t hook_deadline(void)
{
	return __atomic_load_n(&fake.timer_deadline, __ATOMIC_SEQ_CST);
}

static unsigned int hook_arms(void)
{
	return __atomic_load_n(&fake.timer_arms, __ATOMIC_SEQ_CST);
}

/*
 * The timer hook contract: the core asks (timer_arm) for a call of
 * hv_timer_expired at the earliest deadline it knows of, again only when a
 * timer needs an earlier one; each call fires what is due at the reference
 * time then and asks for the next deadline, or for nothing when no timer is
 * left. An early call fires nothing and asks for the same deadline again.
 */
static void test_timer_hook(void)
{
	struct hv_partition *p = new_partition(1);

	enable_synic(p, 0, 0, SIMP0, SIEFP0);
	fake.nirqs = 0;
	set_now(1000);
	EXPECT_EQ(hook_arms(), 0);				/* nothing armed, nothing asked */
	EXPECT(wr(p, 0, 0, CNT(1), 21000));
	EXPECT(wr(p, 0, 0, CFG(1), HV_STIMER_ENABLE | SINTX(2)));
	EXPECT_EQ(hook_arms(), 1);
	EXPECT_EQ(hook_deadline(), 21000);
	/* A later deadline needs no new call; an earlier one does. */
	EXPECT(wr(p, 0, 0, CNT(2), 41000));
	EXPECT(wr(p, 0, 0, CFG(2), HV_STIMER_ENABLE | SINTX(3)));
	EXPECT_EQ(hook_arms(), 1);
	EXPECT(wr(p, 0, 0, CFG(3), HV_STIMER_ENABLE | HV_STIMER_PERIODIC | HV_STIMER_DIRECT | (0x40ull << 4)));
	EXPECT(wr(p, 0, 0, CNT(3), 10000));			/* periodic, direct: 1000 + 10000 */
	EXPECT_EQ(hook_arms(), 2);
	EXPECT_EQ(hook_deadline(), 11000);
	/* Called early: nothing fires, the same deadline is asked for again. */
	set_now(5000);
	hv_timer_expired(p);
	EXPECT_EQ(irq_count(), 0);
	EXPECT_EQ(hook_arms(), 3);
	EXPECT_EQ(hook_deadline(), 11000);
	/* At 11000 the periodic timer fires (direct: vector 0x40) and asks for its next period, 21000. */
	set_now(11000);
	hv_timer_expired(p);
	EXPECT_EQ(irq_count(), 1);
	EXPECT_IRQ(0, 0, 0, 0x40);
	EXPECT_EQ(hook_arms(), 4);
	EXPECT_EQ(hook_deadline(), 21000);
	/* Late, at 25000: timer 1 (due 21000) and the periodic one fire; next: 31000. */
	set_now(25000);
	hv_timer_expired(p);
	EXPECT_EQ(irq_count(), 3);
	expect_timer_msg(SIMP0, 2, 1, 21000, 25000);
	EXPECT_EQ(hook_deadline(), 31000);
	EXPECT_EQ(hook_arms(), 5);
	/* The periodic timer stopped: timer 2 (41000) is what is left. */
	EXPECT(wr(p, 0, 0, CFG(3), 0));
	EXPECT_EQ(hook_arms(), 5);				/* disarming asks nothing */
	set_now(31000);
	hv_timer_expired(p);
	EXPECT_EQ(irq_count(), 3);
	EXPECT_EQ(hook_deadline(), 41000);
	EXPECT_EQ(hook_arms(), 6);
	set_now(41000);
	hv_timer_expired(p);
	EXPECT_EQ(irq_count(), 4);
	expect_timer_msg(SIMP0, 3, 2, 41000, 41000);
	EXPECT_EQ(hook_arms(), 6);				/* nothing left: nothing asked */
	/* A one-shot already in the past fires at the write and asks nothing. */
	EXPECT(wr(p, 0, 0, CFG(0), HV_STIMER_ENABLE | HV_STIMER_DIRECT | (0x41ull << 4)));
	EXPECT(wr(p, 0, 0, CNT(0), 40000));
	EXPECT_EQ(irq_count(), 5);
	EXPECT_IRQ(4, 0, 0, 0x41);
	EXPECT_EQ(hook_arms(), 6);
	EXPECT(hv_reference_time(p) == 41000);
	hv_partition_destroy(p);
}

/* A partition needs the timer hook and a hypercall port. */
static void test_create_requires_hooks(void)
{
	struct hv_host_ops ops = fake_host_ops;
	struct hv_config cfg = {
		.nr_vps = 1, .tsc_hz = 20000000, .ram_size = RAM_SIZE, .gpa_limit = 1ull << 36,
		.hypercall_port = FAKE_HYPERCALL_PORT, .ops = &ops, .host = &fake,
	};
	struct hv_partition *p;

	fake_reset(&fake, ram, RAM_SIZE, 1, 0);
	p = hv_partition_create(&cfg);
	EXPECT(p != NULL);
	hv_partition_destroy(p);
	cfg.hypercall_port = 0;
	EXPECT(hv_partition_create(&cfg) == NULL);
	cfg.hypercall_port = FAKE_HYPERCALL_PORT;
	ops.timer_arm = NULL;
	EXPECT(hv_partition_create(&cfg) == NULL);
	ops = fake_host_ops;
	ops.log = NULL;					/* optional */
	p = hv_partition_create(&cfg);
	EXPECT(p != NULL);
	hv_partition_destroy(p);
}

/* Every overlay MSR keeps exactly one overlay per enabled page: moved, re-enabled, disabled, cleared. */
static void test_overlay_msrs(void)
{
	struct hv_partition *p = setup();
	int base = fake.overlays_live;

	EXPECT(wr(p, 1, 1, HV_X64_MSR_SIMP, 0x20000 | 1));
	EXPECT(wr(p, 1, 1, HV_X64_MSR_SIEFP, 0x21000 | 1));
	EXPECT_EQ(fake.overlays_live, base + 2);
	EXPECT(wr(p, 1, 1, HV_X64_MSR_SIMP, 0x22000 | 1));	/* moved */
	EXPECT(wr(p, 1, 1, HV_X64_MSR_SIMP, 0x22000 | 1));	/* unchanged */
	EXPECT_EQ(fake.overlays_live, base + 2);
	EXPECT(wr(p, 1, 1, HV_X64_MSR_SIMP, 0x22000));		/* disabled, GPA kept */
	EXPECT(wr(p, 1, 1, HV_X64_MSR_SIEFP, 0));
	EXPECT_EQ(fake.overlays_live, base);
	/* VP assist, reference TSC and hypercall pages, and GUEST_OS_ID = 0 disabling the last. */
	EXPECT_EQ(hv_msr_write(p, 1, 1, HV_X64_MSR_VP_ASSIST_PAGE, 0x23000 | 1), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 1, 1, HV_X64_MSR_REFERENCE_TSC, 0x24000 | 1), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 1, 1, HV_X64_MSR_GUEST_OS_ID, 0x8100000000000001ull), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 1, 1, HV_X64_MSR_HYPERCALL, 0x25000 | 1), HV_MSR_OK);
	EXPECT_EQ(fake.overlays_live, base + 3);
	EXPECT_EQ(hv_msr_write(p, 1, 1, HV_X64_MSR_GUEST_OS_ID, 0), HV_MSR_OK);
	EXPECT_EQ(fake.overlays_live, base + 2);
	EXPECT_EQ(hv_msr_write(p, 1, 1, HV_X64_MSR_VP_ASSIST_PAGE, 0), HV_MSR_OK);
	EXPECT_EQ(hv_msr_write(p, 1, 1, HV_X64_MSR_REFERENCE_TSC, 0x24000), HV_MSR_OK);
	EXPECT_EQ(fake.overlays_live, base);
	hv_partition_destroy(p);
}

int main(void)
{
	RUN_TEST(test_synic_msrs);
	RUN_TEST(test_sint_rules);
	RUN_TEST(test_post_exact_bytes);
	RUN_TEST(test_post_queue_eom);
	RUN_TEST(test_post_insufficient_buffers);
	RUN_TEST(test_post_redelivers);
	RUN_TEST(test_post_masked_polling);
	RUN_TEST(test_post_disabled);
	RUN_TEST(test_event_flags);
	RUN_TEST(test_hc_descriptors);
	RUN_TEST(test_hc_post_message);
	RUN_TEST(test_hc_signal_event);
	RUN_TEST(test_connection_api);
	RUN_TEST(test_assert_sint);
	RUN_TEST(test_testdev);
	RUN_TEST(test_stimer_config_gp);
	RUN_TEST(test_stimer_sintx0);
	RUN_TEST(test_stimer_autoenable);
	RUN_TEST(test_stimer_oneshot_past);
	RUN_TEST(test_stimer_oneshot_future);
	RUN_TEST(test_stimer_periodic);
	RUN_TEST(test_stimer_hostile_periods);
	RUN_TEST(test_stimer_direct);
	RUN_TEST(test_stimer_pending_eom);
	RUN_TEST(test_timer_hook);
	RUN_TEST(test_create_requires_hooks);
	RUN_TEST(test_overlay_msrs);
	return TEST_EXIT();
}
