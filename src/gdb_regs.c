/*
 * The GDB register layout of a (VP, VTL) thread and its mapping onto
 * vtl_regs.c (HV_REGISTER_NAMEs): x86-64's GPRs, RIP, EFLAGS, the segment
 * selectors and FS/GS bases. A register vtl.c lists as shared
 * (vtl_is_shared_register) is read and written in the vCPU of the VTL the VP
 * runs, as HvCallGet/SetVpRegisters do (hv_host.c); the others in the
 * thread's own VTL. GDB's x86-64 core feature requires the x87 registers:
 * they are declared but reported unavailable, and SSE/AVX, control and
 * debug registers are not offered (docs/gdb.md).
 */
#include "gdb.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vtl.h"
#include "vtl_regs.h"

#include <stdio.h>
#include <string.h>

enum kind { R_VALUE, R_SELECTOR, R_BASE, R_UNAVAILABLE };

static const struct reg {
	const char *name, *type;
	uint8_t bytes;
	enum kind kind;
	uint32_t hv;			/* HV_REGISTER_NAME */
} regs[] = {
	{ "rax", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 0 },
	{ "rbx", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 3 },
	{ "rcx", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 1 },
	{ "rdx", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 2 },
	{ "rsi", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 6 },
	{ "rdi", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 7 },
	{ "rbp", "data_ptr", 8, R_VALUE, HV_X64_REGISTER_RAX + 5 },
	{ "rsp", "data_ptr", 8, R_VALUE, HV_X64_REGISTER_RSP },
	{ "r8", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 8 },
	{ "r9", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 9 },
	{ "r10", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 10 },
	{ "r11", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 11 },
	{ "r12", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 12 },
	{ "r13", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 13 },
	{ "r14", "int64", 8, R_VALUE, HV_X64_REGISTER_RAX + 14 },
	{ "r15", "int64", 8, R_VALUE, HV_X64_REGISTER_R15 },
	{ "rip", "code_ptr", 8, R_VALUE, HV_X64_REGISTER_RIP },
	{ "eflags", "i386_eflags", 4, R_VALUE, HV_X64_REGISTER_RFLAGS },
	{ "cs", "int32", 4, R_SELECTOR, HV_X64_REGISTER_CS },
	{ "ss", "int32", 4, R_SELECTOR, HV_X64_REGISTER_SS },
	{ "ds", "int32", 4, R_SELECTOR, HV_X64_REGISTER_DS },
	{ "es", "int32", 4, R_SELECTOR, HV_X64_REGISTER_ES },
	{ "fs", "int32", 4, R_SELECTOR, HV_X64_REGISTER_FS },
	{ "gs", "int32", 4, R_SELECTOR, HV_X64_REGISTER_GS },
	{ "st0", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "st1", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "st2", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "st3", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "st4", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "st5", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "st6", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "st7", "i387_ext", 10, R_UNAVAILABLE, 0 },
	{ "fctrl", "int", 4, R_UNAVAILABLE, 0 },
	{ "fstat", "int", 4, R_UNAVAILABLE, 0 },
	{ "ftag", "int", 4, R_UNAVAILABLE, 0 },
	{ "fiseg", "int", 4, R_UNAVAILABLE, 0 },
	{ "fioff", "int", 4, R_UNAVAILABLE, 0 },
	{ "foseg", "int", 4, R_UNAVAILABLE, 0 },
	{ "fooff", "int", 4, R_UNAVAILABLE, 0 },
	{ "fop", "int", 4, R_UNAVAILABLE, 0 },
	/* From here: the org.gnu.gdb.i386.segments feature. */
	{ "fs_base", "int", 8, R_BASE, HV_X64_REGISTER_FS },
	{ "gs_base", "int", 8, R_BASE, HV_X64_REGISTER_GS },
};
#define NR_REGS ARRAY_SIZE(regs)
#define FIRST_SEGMENTS_REG 40

static const char eflags_type[] =
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/></flags>";

const char *gdb_target_xml(size_t *len)
{
	static char xml[8192];
	size_t n;

	n = (size_t)snprintf(xml, sizeof(xml), "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
			     "<target version=\"1.0\"><architecture>i386:x86-64</architecture>"
			     "<feature name=\"org.gnu.gdb.i386.core\">%s", eflags_type);
	for (unsigned int i = 0; i < NR_REGS; i++) {
		if (i == FIRST_SEGMENTS_REG)
			n += (size_t)snprintf(xml + n, sizeof(xml) - n,
					      "</feature><feature name=\"org.gnu.gdb.i386.segments\">");
		n += (size_t)snprintf(xml + n, sizeof(xml) - n, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"%s/>",
				      regs[i].name, regs[i].bytes * 8u, regs[i].type, i,
				      regs[i].kind == R_UNAVAILABLE && i > 31 ? " group=\"float\"" : "");
	}
	n += (size_t)snprintf(xml + n, sizeof(xml) - n, "</feature></target>");
	if (n >= sizeof(xml))
		die(KVSM_EXIT_HOST, "gdb: target.xml does not fit its buffer");
	*len = n;
	return xml;
}

/* Where a register of thread vtl lives: shared ones in the vCPU of the VTL the VP runs. */
static unsigned int home_vtl(struct vcpu *cpu, unsigned int vtl, uint32_t name)
{
	return vtl_is_shared_register(name) ? vcpu_vtl(cpu) : vtl;
}

/* Register i's value as GDB sees it (little-endian, regs[i].bytes of it). */
static bool get_one(struct vcpu *cpu, unsigned int vtl, unsigned int i, uint64_t *out)
{
	uint64_t val[2] = { 0, 0 };
	const struct reg *r = &regs[i];

	if (vtl_regs_get(cpu, home_vtl(cpu, vtl, r->hv), r->hv, val))
		return false;
	*out = r->kind == R_SELECTOR ? (val[1] >> 32) & 0xffff : val[0];
	return true;
}

static bool set_one(struct vcpu *cpu, unsigned int vtl, unsigned int i, uint64_t v)
{
	const struct reg *r = &regs[i];
	unsigned int home = home_vtl(cpu, vtl, r->hv);
	uint64_t val[2] = { v, 0 };

	switch (r->kind) {
	case R_VALUE:
		return vtl_regs_set(cpu, home, r->hv, val) == 0;
	case R_BASE:		/* the segment with only its base changed */
		if (vtl_regs_get(cpu, home, r->hv, val))
			return false;
		val[0] = v;
		return vtl_regs_set(cpu, home, r->hv, val) == 0;
	case R_SELECTOR:	/* a selector alone says nothing of its descriptor: only its value stands */
		return get_one(cpu, vtl, i, val) && val[0] == v;
	case R_UNAVAILABLE:
		return false;
	}
	return false;
}

/* A job on the VP's thread: read or write registers [first, first + n). */
struct reg_job {
	unsigned int vtl, first, n;
	bool write;
	uint64_t v[NR_REGS];
	bool have[NR_REGS];		/* read: known; write: given */
	bool ok;
};

static void reg_job(struct vcpu *cpu, void *arg)
{
	struct reg_job *j = arg;

	j->ok = true;
	for (unsigned int i = j->first; i < j->first + j->n; i++) {
		if (regs[i].kind == R_UNAVAILABLE)
			continue;
		if (!j->write)
			j->have[i] = get_one(cpu, j->vtl, i, &j->v[i]);
		else if (j->have[i])
			j->ok &= set_one(cpu, j->vtl, i, j->v[i]);
	}
}

static size_t put_reg(char *hex, unsigned int i, const struct reg_job *j)
{
	uint8_t b[16];

	if (!j->have[i]) {
		memset(hex, 'x', regs[i].bytes * 2u);
	} else {
		memcpy(b, &j->v[i], 8);
		gdb_hex_put(hex, b, regs[i].bytes);
	}
	return regs[i].bytes * 2u;
}

bool gdb_regs_read_all(struct gdb *g, struct gdb_thread t, char *hex)
{
	struct reg_job j = { .vtl = t.vtl, .first = 0, .n = NR_REGS };
	size_t n = 0;

	if (!gdb_on_vp(g, t.vp, reg_job, &j))
		return false;
	for (unsigned int i = 0; i < NR_REGS; i++)
		n += put_reg(hex + n, i, &j);
	hex[n] = '\0';
	return true;
}

bool gdb_regs_read_one(struct gdb *g, struct gdb_thread t, unsigned int n, char *hex)
{
	struct reg_job j = { .vtl = t.vtl, .first = n, .n = 1 };

	if (n >= NR_REGS || !gdb_on_vp(g, t.vp, reg_job, &j))
		return false;
	hex[put_reg(hex, n, &j)] = '\0';
	return true;
}

/* Parse register i's hex (all 'x': not given); false if malformed. */
static bool take_reg(struct reg_job *j, unsigned int i, const char *hex)
{
	uint8_t b[16] = { 0 };
	size_t len = regs[i].bytes * 2u;

	if (strspn(hex, "x") >= len)
		return true;
	if (!gdb_hex_get(hex, b, regs[i].bytes))
		return false;
	if (regs[i].kind != R_UNAVAILABLE) {
		memcpy(&j->v[i], b, 8);
		if (regs[i].bytes == 4)
			j->v[i] &= 0xffffffffu;
		j->have[i] = true;
	}
	return true;
}

bool gdb_regs_write_one(struct gdb *g, struct gdb_thread t, unsigned int n, const char *hex, size_t len)
{
	struct reg_job j = { .vtl = t.vtl, .first = n, .n = 1, .write = true };

	if (n >= NR_REGS || len != regs[n].bytes * 2u || !take_reg(&j, n, hex))
		return false;
	if (regs[n].kind == R_UNAVAILABLE)
		return false;
	return gdb_on_vp(g, t.vp, reg_job, &j) && j.ok;
}

/*
 * G: every register. Values equal to the current ones are left alone (GDB
 * writes the whole set back when it changes one), so read first.
 */
bool gdb_regs_write_all(struct gdb *g, struct gdb_thread t, const char *hex, size_t len)
{
	struct reg_job cur = { .vtl = t.vtl, .first = 0, .n = NR_REGS };
	struct reg_job j = { .vtl = t.vtl, .first = 0, .n = NR_REGS, .write = true };
	size_t off = 0;

	for (unsigned int i = 0; i < NR_REGS; i++) {
		if (off + regs[i].bytes * 2u > len || !take_reg(&j, i, hex + off))
			return false;
		off += regs[i].bytes * 2u;
	}
	if (off != len || !gdb_on_vp(g, t.vp, reg_job, &cur))
		return false;
	for (unsigned int i = 0; i < NR_REGS; i++)
		if (j.have[i] && cur.have[i] && j.v[i] == cur.v[i])
			j.have[i] = false;
	return gdb_on_vp(g, t.vp, reg_job, &j) && j.ok;
}
