/*
 * The GDB remote serial protocol over TCP on 127.0.0.1 (docs/gdb.md): one
 * debugger, accepted before the guest's first instruction; the listening
 * socket is closed then, so a second debugger is refused. The stub's thread
 * reads packets, acknowledges them, and answers each; while the guest runs
 * it waits for either the debugger (Ctrl-C) or a VP's stop (the eventfd).
 * Every malformed or unknown packet gets an error or the empty reply.
 */
#include "gdb.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define PACKET_MAX 16384	/* PacketSize in qSupported */
#define INTERRUPT 0x03

/* One buffered reader of the debugger's bytes. */
static struct {
	uint8_t buf[4096];
	size_t pos, len;
} in;

/* -1: connection gone. */
static int get_byte(struct gdb *g)
{
	ssize_t n;

	if (in.pos == in.len) {
		do
			n = read(g->sock, in.buf, sizeof(in.buf));
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return -1;
		in.pos = 0;
		in.len = (size_t)n;
	}
	return in.buf[in.pos++];
}

static bool send_all(struct gdb *g, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(g->sock, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w, n -= (size_t)w;
	}
	return true;
}

static const char hexdig[] = "0123456789abcdef";

void gdb_hex_put(char *out, const uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[bytes[i] >> 4];
		out[2 * i + 1] = hexdig[bytes[i] & 0xf];
	}
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool gdb_hex_get(const char *in_hex, uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(in_hex[2 * i]), lo = hi < 0 ? -1 : hexval(in_hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A hex number at *p, up to a character not a hex digit; false if none or too large. */
static bool parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	while (hexval(*s) >= 0) {
		if (*v >> 60)
			return false;
		*v = *v << 4 | (uint64_t)hexval(*s++);
	}
	if (s == *p)
		return false;
	*p = s;
	return true;
}

static char reply[2 * PACKET_MAX + 8];

/* $data#checksum. Acknowledgements from the debugger are read, and skipped, with the next packet. */
static bool put_packet(struct gdb *g, const char *data)
{
	size_t n = strlen(data);
	uint8_t sum = 0;
	char tail[4];

	for (size_t i = 0; i < n; i++)
		sum += (uint8_t)data[i];
	snprintf(tail, sizeof(tail), "#%02x", sum);
	return send_all(g, "$", 1) && send_all(g, data, n) && send_all(g, tail, 3);
}

static bool put_error(struct gdb *g, int e)
{
	char s[4];

	snprintf(s, sizeof(s), "E%02x", e & 0xff);
	return put_packet(g, s);
}

/* ---- threads ---- */

static unsigned int tid_of(struct gdb_thread t)
{
	return t.vp * KVSM_MAX_VTLS + t.vtl + 1;
}

/* A thread id: > 0 one thread (must exist), 0 any, -1 all (when all_ok). */
static bool parse_thread(struct gdb *g, const char *s, struct gdb_thread *t, bool *any)
{
	uint64_t v;

	*any = false;
	if (!strcmp(s, "-1") || !strcmp(s, "0")) {
		*any = true;
		return true;
	}
	if (!parse_hex(&s, &v) || *s || v == 0 || v > UINT32_MAX)
		return false;
	*t = (struct gdb_thread){ (unsigned int)((v - 1) / KVSM_MAX_VTLS), (unsigned int)((v - 1) % KVSM_MAX_VTLS) };
	return gdb_thread_exists(g, *t);
}

/* The thread a VP's running VTL is: where an interrupt stops. */
static struct gdb_thread running_thread(struct gdb *g, unsigned int vp)
{
	return (struct gdb_thread){ vp, vcpu_vtl(&g->vm->vcpus[vp]) };
}

/* ---- stop replies ---- */

static struct gdb_event last;	/* the last stop, for '?' */

static bool put_stop(struct gdb *g)
{
	char s[96];
	int sig = last.kind == GDB_STOP_INTERRUPT ? 2 : 5;	/* SIGINT, SIGTRAP */
	int n = snprintf(s, sizeof(s), "T%02xthread:%x;", sig, tid_of(last.t));

	if (last.kind == GDB_STOP_SWBREAK)
		snprintf(s + n, sizeof(s) - (size_t)n, "swbreak:;");
	else if (last.kind == GDB_STOP_HWBREAK)
		snprintf(s + n, sizeof(s) - (size_t)n, "hwbreak:;");
	else if (last.kind == GDB_STOP_WATCH)
		snprintf(s + n, sizeof(s) - (size_t)n, "%s:%" PRIx64 ";", last.watch_type == 2 ? "watch" : "awatch",
			 last.watch_addr);
	return put_packet(g, s);
}

/* Every VP has stopped: remember why and make that thread the current one. */
static void stopped(struct gdb *g)
{
	pthread_mutex_lock(&g->lock);
	last = g->have_event ? g->ev : (struct gdb_event){ .kind = GDB_STOP_INTERRUPT, .t = running_thread(g, 0) };
	g->have_event = false;
	pthread_mutex_unlock(&g->lock);
	g->g_thread = g->c_thread = last.t;
}

/*
 * The guest runs: wait for a VP's stop or the debugger's interrupt, then
 * for every VP to stop. false: the VM ended or the debugger left.
 */
static bool wait_for_stop(struct gdb *g, bool *gone)
{
	struct pollfd p[2] = { { .fd = g->sock, .events = POLLIN }, { .fd = g->evfd, .events = POLLIN } };
	uint64_t cnt;

	*gone = false;
	for (;;) {
		if (vm_stopping(g->vm))
			return false;
		if (in.pos < in.len) {		/* bytes already read: only an interrupt matters now */
			if (in.buf[in.pos++] != INTERRUPT)
				continue;
			gdb_stop_all(g);
			break;
		}
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die_errno(KVSM_EXIT_HOST, "gdb: poll");
		if (p[1].revents & POLLIN) {
			if (read(g->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				die_errno(KVSM_EXIT_HOST, "gdb: eventfd");
			if (vm_stopping(g->vm))
				return false;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int c = get_byte(g);

			if (c < 0) {
				*gone = true;
				return false;
			}
			if (c == INTERRUPT) {
				gdb_stop_all(g);
				break;
			}
		}
	}
	if (!gdb_wait_stopped(g))
		return false;
	stopped(g);
	return true;
}

/* ---- packets ---- */

/* m/M/X address,length: false if malformed. */
static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len, char end)
{
	if (!parse_hex(p, addr) || **p != ',')
		return false;
	(*p)++;
	if (!parse_hex(p, len) || **p != end)
		return false;
	if (end)
		(*p)++;
	return true;
}

static bool cmd_read_mem(struct gdb *g, const char *p)
{
	static uint8_t buf[PACKET_MAX / 2];
	uint64_t addr, len;

	if (!parse_addr_len(&p, &addr, &len, '\0') || len > sizeof(buf) || addr + len < addr)
		return put_error(g, 1);
	if (!gdb_mem_read(g, g->g_thread, addr, buf, len))
		return put_error(g, 14);	/* EFAULT: not mapped, or the VTL may not read it */
	gdb_hex_put(reply, buf, len);
	reply[2 * len] = '\0';
	return put_packet(g, reply);
}

/* M addr,len:hex or X addr,len:binary (escaped). */
static bool cmd_write_mem(struct gdb *g, const char *p, size_t n, bool binary)
{
	static uint8_t buf[PACKET_MAX];
	const char *end = p + n;
	uint64_t addr, len, i = 0;

	if (!parse_addr_len(&p, &addr, &len, ':') || len > sizeof(buf) || addr + len < addr)
		return put_error(g, 1);
	if (!binary) {
		if ((uint64_t)(end - p) != 2 * len || !gdb_hex_get(p, buf, len))
			return put_error(g, 1);
	} else {
		for (; p < end && i < len; i++) {
			uint8_t c = (uint8_t)*p++;

			if (c == '}') {
				if (p == end)
					return put_error(g, 1);
				c = (uint8_t)*p++ ^ 0x20;
			}
			buf[i] = c;
		}
		if (i != len || p != end)
			return put_error(g, 1);
	}
	if (len && !gdb_mem_write(g, g->g_thread, addr, buf, len))
		return put_error(g, 14);
	return put_packet(g, "OK");
}

/* qXfer:features:read:target.xml:offset,length */
static bool cmd_xfer(struct gdb *g, const char *p)
{
	const char *prefix = "qXfer:features:read:target.xml:";
	size_t xml_len, n;
	const char *xml = gdb_target_xml(&xml_len);
	uint64_t off, len;

	if (strncmp(p, prefix, strlen(prefix)))
		return put_packet(g, "");
	p += strlen(prefix);
	if (!parse_addr_len(&p, &off, &len, '\0'))
		return put_error(g, 1);
	if (off > xml_len)
		return put_error(g, 1);
	n = xml_len - off < len ? xml_len - off : len;
	if (n > PACKET_MAX - 2)
		n = PACKET_MAX - 2;
	reply[0] = off + n < xml_len ? 'm' : 'l';
	memcpy(reply + 1, xml + off, n);
	reply[n + 1] = '\0';
	return put_packet(g, reply);
}

static bool cmd_thread_list(struct gdb *g)
{
	size_t n = 0;

	reply[n++] = 'm';
	for (unsigned int vp = 0; vp < g->vm->nr_vcpus; vp++)
		for (unsigned int vtl = 0; vtl < g->vm->opts->vtls; vtl++) {
			struct gdb_thread t = { vp, vtl };

			if (gdb_thread_exists(g, t) && n < sizeof(reply) - 16)
				n += (size_t)snprintf(reply + n, sizeof(reply) - n, "%s%x", n > 1 ? "," : "", tid_of(t));
		}
	reply[n] = '\0';
	return put_packet(g, reply);
}

static bool cmd_query(struct gdb *g, const char *p)
{
	struct gdb_thread t;
	bool any;
	char s[64];

	if (!strncmp(p, "qSupported", 10))
		return put_packet(g, "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+");
	if (!strncmp(p, "qXfer:", 6))
		return cmd_xfer(g, p);
	if (!strcmp(p, "qAttached"))
		return put_packet(g, "1");	/* the guest ran before: detach on quit, never kill */
	if (!strcmp(p, "qC")) {
		snprintf(s, sizeof(s), "QC%x", tid_of(g->g_thread));
		return put_packet(g, s);
	}
	if (!strcmp(p, "qfThreadInfo"))
		return cmd_thread_list(g);
	if (!strcmp(p, "qsThreadInfo"))
		return put_packet(g, "l");
	if (!strncmp(p, "qThreadExtraInfo,", 17)) {
		char name[32];

		if (!parse_thread(g, p + 17, &t, &any) || any)
			return put_error(g, 1);
		snprintf(name, sizeof(name), "vp%u vtl%u", t.vp, t.vtl);
		gdb_hex_put(s, (const uint8_t *)name, strlen(name));
		s[2 * strlen(name)] = '\0';
		return put_packet(g, s);
	}
	return put_packet(g, "");
}

/* vCont;ACTION[:TID];...: a step names its thread; every other VP and VTL runs (the guest resumes as a whole). */
static bool parse_vcont(struct gdb *g, const char *p, bool *step, struct gdb_thread *t)
{
	*step = false;
	*t = g->c_thread;
	while (*p == ';') {
		char action = *++p;
		struct gdb_thread th = g->c_thread;
		bool any = true;
		char id[24];
		size_t n;

		if (action != 'c' && action != 's' && action != 'C' && action != 'S')
			return false;
		p++;
		if (action == 'C' || action == 'S') {	/* a signal number: nothing to deliver to a guest */
			uint64_t sig;

			if (!parse_hex(&p, &sig))
				return false;
		}
		if (*p == ':') {
			n = strcspn(++p, ";");
			if (n == 0 || n >= sizeof(id))
				return false;
			memcpy(id, p, n);
			id[n] = '\0';
			p += n;
			if (!parse_thread(g, id, &th, &any))
				return false;
		}
		if ((action == 's' || action == 'S') && !*step) {
			*step = true;
			*t = any ? g->c_thread : th;
		}
	}
	return *p == '\0';
}

static bool cmd_bp(struct gdb *g, const char *p, bool insert)
{
	uint64_t type, addr, kind;

	if (!parse_hex(&p, &type) || *p++ != ',' || !parse_addr_len(&p, &addr, &kind, '\0') ||
	    (*p && *p != ';'))
		return put_error(g, 1);
	if (type > 4)
		return put_packet(g, "");
	if (type == 3)		/* read watchpoints: x86 has none */
		return put_packet(g, "");
	if (!(insert ? gdb_bp_insert : gdb_bp_remove)(g, g->g_thread, (int)type, addr, (unsigned int)kind))
		return put_error(g, 14);
	return put_packet(g, "OK");
}

static bool cmd_set_thread(struct gdb *g, const char *p)
{
	struct gdb_thread t;
	bool any;

	if ((p[0] != 'g' && p[0] != 'c') || !parse_thread(g, p + 1, &t, &any))
		return put_error(g, 1);
	if (p[0] == 'g' && !any)
		g->g_thread = t;
	else if (p[0] == 'c')
		g->c_thread = any ? g->c_thread : t;
	return put_packet(g, "OK");
}

enum next { NEXT_PACKET, NEXT_RESUME, NEXT_DETACH, NEXT_KILL, NEXT_GONE };

/* Answer one packet while the guest is stopped. */
static enum next handle(struct gdb *g, char *p, size_t n, bool *step, struct gdb_thread *st)
{
	struct gdb_thread t;
	uint64_t v;
	bool any, ok;
	const char *q;

	switch (p[0]) {
	case '?':
		ok = put_stop(g);
		break;
	case 'q':
		ok = cmd_query(g, p);
		break;
	case 'Q':
		ok = put_packet(g, "");
		break;
	case 'H':
		ok = cmd_set_thread(g, p + 1);
		break;
	case 'T':
		ok = parse_thread(g, p + 1, &t, &any) && !any ? put_packet(g, "OK") : put_error(g, 1);
		break;
	case 'g':
		ok = n == 1 && gdb_regs_read_all(g, g->g_thread, reply) ? put_packet(g, reply) : put_error(g, 1);
		break;
	case 'G':
		ok = gdb_regs_write_all(g, g->g_thread, p + 1, n - 1) ? put_packet(g, "OK") : put_error(g, 1);
		break;
	case 'p':
		q = p + 1;
		ok = parse_hex(&q, &v) && !*q && v < 1024 && gdb_regs_read_one(g, g->g_thread, (unsigned int)v, reply)
			     ? put_packet(g, reply) : put_error(g, 1);
		break;
	case 'P':
		q = p + 1;
		ok = parse_hex(&q, &v) && *q == '=' && v < 1024 &&
				     gdb_regs_write_one(g, g->g_thread, (unsigned int)v, q + 1, strlen(q + 1))
			     ? put_packet(g, "OK") : put_error(g, 1);
		break;
	case 'm':
		ok = cmd_read_mem(g, p + 1);
		break;
	case 'M':
		ok = cmd_write_mem(g, p + 1, n - 1, false);
		break;
	case 'X':
		ok = cmd_write_mem(g, p + 1, n - 1, true);
		break;
	case 'Z':
	case 'z':
		ok = cmd_bp(g, p + 1, p[0] == 'Z');
		break;
	case 'c':
	case 's':
		/* A resume address is not supported: gdb never sends one for these. */
		if (n != 1)
			return put_error(g, 1) ? NEXT_PACKET : NEXT_GONE;
		*step = p[0] == 's';
		*st = g->c_thread;
		return NEXT_RESUME;
	case 'v':
		if (!strcmp(p, "vCont?")) {
			ok = put_packet(g, "vCont;c;C;s;S");
		} else if (!strncmp(p, "vCont;", 6)) {
			if (parse_vcont(g, p + 5, step, st))
				return NEXT_RESUME;
			ok = put_error(g, 1);
		} else {
			ok = put_packet(g, "");
		}
		break;
	case 'D':
		return put_packet(g, "OK") ? NEXT_DETACH : NEXT_GONE;
	case 'k':
		return NEXT_KILL;
	default:
		ok = put_packet(g, "");
	}
	return ok ? NEXT_PACKET : NEXT_GONE;
}

/*
 * Read one packet into buf (NUL-terminated); interrupts are ignored here
 * (the guest is stopped). 0: a packet; 1: dropped (bad checksum, too long;
 * a NAK or error was sent); -1: the connection is gone.
 */
static int get_packet(struct gdb *g, char *buf, size_t *len)
{
	int c;
	size_t n = 0;
	uint8_t sum = 0;
	bool too_long = false;
	char cs[2];

	do {
		c = get_byte(g);
		if (c < 0)
			return -1;
	} while (c != '$');
	for (;;) {
		c = get_byte(g);
		if (c < 0)
			return -1;
		if (c == '#')
			break;
		if (c == '$') {		/* a new start: the one before was cut */
			n = 0, sum = 0, too_long = false;
			continue;
		}
		sum += (uint8_t)c;
		if (n < PACKET_MAX)
			buf[n++] = (char)c;
		else
			too_long = true;
	}
	for (int i = 0; i < 2; i++) {
		c = get_byte(g);
		if (c < 0)
			return -1;
		cs[i] = (char)c;
	}
	buf[n] = '\0';
	if (hexval(cs[0]) < 0 || hexval(cs[1]) < 0 || (uint8_t)(hexval(cs[0]) << 4 | hexval(cs[1])) != sum)
		return send_all(g, "-", 1) ? 1 : -1;
	if (!send_all(g, "+", 1))
		return -1;
	if (too_long || n == 0)
		return put_error(g, 1) ? 1 : -1;
	*len = n;
	return 0;
}

/* The debugger left (D, or its connection closed): the guest runs on without it. */
static void detach(struct gdb *g)
{
	gdb_bp_clear(g);
	pthread_mutex_lock(&g->lock);
	close(g->sock);
	g->sock = -1;
	pthread_mutex_unlock(&g->lock);
	gdb_resume(g, false, g->c_thread);
}

static void *stub_thread(void *arg)
{
	static char buf[PACKET_MAX + 1];
	struct gdb *g = arg;
	bool gone = false;

	pthread_setname_np(pthread_self(), "kvsm-gdb");
	if (!gdb_wait_stopped(g))
		goto end;
	stopped(g);
	last.kind = GDB_STOP_ATTACH;
	for (;;) {
		bool step = false;
		struct gdb_thread st = g->c_thread;
		enum next next = NEXT_PACKET;
		size_t n;
		int r;

		while (next == NEXT_PACKET) {
			r = get_packet(g, buf, &n);
			if (r < 0)
				next = NEXT_GONE;
			else if (r == 0)
				next = handle(g, buf, n, &step, &st);
			if (vm_stopping(g->vm))
				goto end;
		}
		if (next == NEXT_GONE || next == NEXT_DETACH) {
			detach(g);
			goto end;
		}
		if (next == NEXT_KILL) {	/* the guest ends; kvsm exits with status 0 */
			vm_stop(g->vm, KVSM_EXIT_OK);
			goto end;
		}
		gdb_resume(g, step, st);
		if (!wait_for_stop(g, &gone)) {
			if (gone)
				detach(g);
			goto end;
		}
		if (!put_stop(g)) {
			detach(g);
			goto end;
		}
	}
end:
	return NULL;
}

struct gdb *gdb_start(struct vm *vm, unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct gdb *g = xcalloc(1, sizeof(*g));
	int one = 1, lfd, err;

	g->vm = vm;
	g->job_vp = -1;
	g->stop_req = true;		/* the guest starts stopped */
	g->debug_gen = 1;
	g->vps = xcalloc(vm->nr_vcpus, sizeof(*g->vps));
	g->blockirq = kvm_check_cap(&vm->host, KVM_CAP_SET_GUEST_DEBUG2) & KVM_GUESTDBG_BLOCKIRQ;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->evfd < 0)
		die_errno(KVSM_EXIT_HOST, "gdb: eventfd");

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die_errno(KVSM_EXIT_HOST, "gdb: socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1))
		die_errno(KVSM_EXIT_USAGE, "--gdb: cannot listen on 127.0.0.1:%u", port);
	fprintf(stderr, "kvsm: waiting for gdb on 127.0.0.1:%u (target remote 127.0.0.1:%u)\n", port, port);
	do
		g->sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (g->sock < 0 && errno == EINTR);
	if (g->sock < 0)
		die_errno(KVSM_EXIT_HOST, "gdb: accept");
	close(lfd);			/* one debugger: any other connection is refused from now on */
	setsockopt(g->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	vm->gdb = g;
	err = pthread_create(&g->thread, NULL, stub_thread, g);
	if (err) {
		errno = err;
		die_errno(KVSM_EXIT_HOST, "gdb: cannot create the stub's thread");
	}
	return g;
}

void gdb_end(struct gdb *g, int status)
{
	uint64_t one = 1;
	char s[8];

	/* Wake the stub's thread wherever it waits: the eventfd while the guest ran, its read otherwise. */
	if (write(g->evfd, &one, sizeof(one)) != sizeof(one))
		pr_warning("gdb: cannot signal the stub: %m");
	pthread_mutex_lock(&g->lock);
	if (g->sock >= 0)
		shutdown(g->sock, SHUT_RD);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	/* The guest is over: GDB hears kvsm's exit status as a process's (W, its low 8 bits). */
	if (g->sock >= 0) {
		snprintf(s, sizeof(s), "W%02x", status & 0xff);
		put_packet(g, s);
		close(g->sock);
		g->sock = -1;
	}
}
