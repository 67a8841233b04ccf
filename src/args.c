#include "args.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* "--opt VALUE" or "--opt=VALUE": returns the value or NULL when missing. */
static const char *opt_value(const char *name, int argc, char *const argv[], int *i)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		return "";
	return argv[++*i];
}

static bool is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(a, name, n) && (a[n] == '\0' || a[n] == '=');
}

static bool join_cmdline(int argc, char *const argv[], int first, struct run_opts *o)
{
	size_t len = 0;

	for (int i = first; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (len + n + (len ? 1 : 0) >= sizeof(o->cmdline))
			return false;
		if (len)
			o->cmdline[len++] = ' ';
		memcpy(o->cmdline + len, argv[i], n);
		len += n;
	}
	o->cmdline[len] = '\0';
	return true;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return false; } while (0)

bool args_parse_run(int argc, char *const argv[], struct run_opts *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->smp = 1;
	o->mem = KVSM_DEFAULT_MEM;
	o->vtls = 1;
	o->policy = KVSM_POLICY_STRICT;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v;

		if (!strcmp(a, "--")) {
			if (!o->kernel)
				FAIL("'--' before KERNEL");
			if (!join_cmdline(argc, argv, i + 1, o))
				FAIL("guest command line longer than %d bytes", KVSM_MAX_CMDLINE - 1);
			return true;
		}
		if (o->kernel)
			FAIL("unexpected argument '%s' after KERNEL (guest arguments go after '--')", a);
		if (is_opt(a, "--smp")) {
			v = opt_value("--smp", argc, argv, &i);
			if (!parse_uint(v, 1u << 20, &o->smp) || o->smp == 0)
				FAIL("--smp needs a vCPU count of at least 1, got '%s'", v);
		} else if (is_opt(a, "--mem")) {
			v = opt_value("--mem", argc, argv, &i);
			if (!parse_size(v, &o->mem))
				FAIL("--mem needs a size such as 256M or 2G, got '%s'", v);
			if (o->mem < KVSM_MIN_MEM || o->mem > KVSM_MAX_MEM)
				FAIL("--mem %s is outside the supported range 4M..64G", v);
			if (o->mem & 0xfff)
				FAIL("--mem %s is not a multiple of 4K", v);
		} else if (is_opt(a, "--vtls")) {
			v = opt_value("--vtls", argc, argv, &i);
			if (!parse_uint(v, 3, &o->vtls) || o->vtls == 0)
				FAIL("--vtls needs 1, 2 or 3, got '%s'", v);
		} else if (is_opt(a, "--policy")) {
			v = opt_value("--policy", argc, argv, &i);
			if (!strcmp(v, "strict"))
				o->policy = KVSM_POLICY_STRICT;
			else if (!strcmp(v, "permissive"))
				o->policy = KVSM_POLICY_PERMISSIVE;
			else
				FAIL("--policy needs 'strict' or 'permissive', got '%s'", v);
		} else if (!strcmp(a, "--trace")) {
			o->trace = true;
		} else if (!strcmp(a, "--stats")) {
			o->stats = true;
		} else if (is_opt(a, "--timeline")) {
			v = opt_value("--timeline", argc, argv, &i);
			if (!*v)
				FAIL("--timeline needs a FILE to write");
			o->timeline = v;
		} else if (is_opt(a, "--gdb")) {
			v = opt_value("--gdb", argc, argv, &i);
			if (!parse_uint(v, 65535, &o->gdb_port) || o->gdb_port == 0)
				FAIL("--gdb needs a TCP port of 1-65535, got '%s'", v);
		} else if (!strcmp(a, "--testdev")) {
			o->testdev = true;
		} else if (a[0] == '-' && a[1] != '\0') {
			FAIL("unknown option '%s'", a);
		} else {
			o->kernel = a;
		}
	}
	if (!o->kernel)
		FAIL("missing KERNEL");
	return true;
}
