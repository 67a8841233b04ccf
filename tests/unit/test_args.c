/* args_parse_run (the options of `kvsm run`) and parse_size. */
#include "test.h"
#include "args.h"
#include "util.h"

#include <stdlib.h>

static struct run_opts o;
static char err[256];

/* Parse a NULL-terminated list of arguments (those after "run"). */
#define PARSE(...) parse_list((char *const[]){ __VA_ARGS__, NULL })

static bool parse_list(char *const *argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(err, 0, sizeof(err));
	return args_parse_run(argc, argv, &o, err, sizeof(err));
}

#define EXPECT_FAIL(call, msg) do { EXPECT(!(call)); EXPECT_STR_EQ(err, msg); } while (0)

static void defaults(void)
{
	EXPECT(PARSE("kernel.elf"));
	EXPECT_EQ(o.smp, 1);
	EXPECT_EQ(o.mem, 128ull << 20);
	EXPECT_EQ(o.vtls, 1);
	EXPECT_EQ(o.policy, KVSM_POLICY_STRICT);
	EXPECT(!o.trace);
	EXPECT(!o.stats);
	EXPECT(!o.timeline);
	EXPECT_EQ(o.gdb_port, 0);
	EXPECT_STR_EQ(o.kernel, "kernel.elf");
	EXPECT_STR_EQ(o.cmdline, "");
}

static void option_forms(void)
{
	EXPECT(PARSE("--smp", "4", "--mem", "512M", "--vtls", "2", "--policy", "permissive", "--trace",
		     "--stats", "k"));
	EXPECT_EQ(o.smp, 4);
	EXPECT_EQ(o.mem, 512ull << 20);
	EXPECT_EQ(o.vtls, 2);
	EXPECT_EQ(o.policy, KVSM_POLICY_PERMISSIVE);
	EXPECT(o.trace);
	EXPECT(o.stats);
	EXPECT_STR_EQ(o.kernel, "k");

	EXPECT(PARSE("--smp=3", "--mem=2G", "--vtls=3", "--policy=strict", "k"));
	EXPECT_EQ(o.smp, 3);
	EXPECT_EQ(o.mem, 2ull << 30);
	EXPECT_EQ(o.vtls, 3);
	EXPECT_EQ(o.policy, KVSM_POLICY_STRICT);
	EXPECT(!o.trace);
	EXPECT(!o.stats);

	EXPECT(PARSE("--timeline", "t.json", "k"));
	EXPECT_STR_EQ(o.timeline, "t.json");
	EXPECT(PARSE("--timeline=/tmp/t.json", "k"));
	EXPECT_STR_EQ(o.timeline, "/tmp/t.json");
	EXPECT(PARSE("--gdb", "1234", "k"));
	EXPECT_EQ(o.gdb_port, 1234);
	EXPECT(PARSE("--gdb=65535", "k"));
	EXPECT_EQ(o.gdb_port, 65535);

	EXPECT(PARSE("--policy", "permissive", "--policy=strict", "k"));	/* the last one wins */
	EXPECT_EQ(o.policy, KVSM_POLICY_STRICT);
	EXPECT(PARSE("--mem", "4M", "k"));
	EXPECT_EQ(o.mem, 4ull << 20);
	EXPECT(PARSE("--mem=64G", "k"));
	EXPECT_EQ(o.mem, 64ull << 30);
	EXPECT(PARSE("--mem", "1048576K", "k"));
	EXPECT_EQ(o.mem, 1ull << 30);
	EXPECT(PARSE("--smp", "1048576", "k"));
	EXPECT_EQ(o.smp, 1u << 20);
}

static void guest_arguments(void)
{
	EXPECT(PARSE("k", "--", "console=ttyS0", "two words", "x"));
	EXPECT_STR_EQ(o.kernel, "k");
	EXPECT_STR_EQ(o.cmdline, "console=ttyS0 two words x");
	EXPECT(PARSE("k", "--"));
	EXPECT_STR_EQ(o.cmdline, "");
	/* After "--" nothing is an option, not even a second "--". */
	EXPECT(PARSE("--smp", "2", "k", "--", "--smp", "8", "--", "--bogus"));
	EXPECT_EQ(o.smp, 2);
	EXPECT_STR_EQ(o.cmdline, "--smp 8 -- --bogus");
	EXPECT_FAIL(PARSE("--", "k"), "'--' before KERNEL");
}

static void cmdline_length_limit(void)
{
	static char a[KVSM_MAX_CMDLINE + 1], b[KVSM_MAX_CMDLINE];

	memset(a, 'a', KVSM_MAX_CMDLINE - 1);		/* 4095 bytes: fits with its NUL */
	EXPECT(PARSE("k", "--", a));
	EXPECT_EQ(strlen(o.cmdline), KVSM_MAX_CMDLINE - 1);
	a[KVSM_MAX_CMDLINE - 1] = 'a';			/* 4096 */
	EXPECT_FAIL(PARSE("k", "--", a), "guest command line longer than 4095 bytes");

	memset(a, 0, sizeof(a));
	memset(a, 'a', 2047);
	memset(b, 'b', 2047);				/* 2047 + space + 2047 = 4095 */
	EXPECT(PARSE("k", "--", a, b));
	EXPECT_EQ(strlen(o.cmdline), 4095);
	EXPECT_EQ(o.cmdline[2047], ' ');
	EXPECT_EQ(o.cmdline[2048], 'b');
	a[2047] = 'a';					/* 4096 */
	EXPECT_FAIL(PARSE("k", "--", a, b), "guest command line longer than 4095 bytes");
}

static void err_missing_kernel(void)
{
	EXPECT_FAIL(parse_list((char *const[]){ NULL }), "missing KERNEL");
	EXPECT_FAIL(PARSE("--smp", "2", "--trace"), "missing KERNEL");
	/* "--smp" swallows the next argument as its value. */
	EXPECT_FAIL(PARSE("--mem", "256M"), "missing KERNEL");
}

static void err_smp(void)
{
	const char *bad[] = { "0", "abc", "", "-1", "+1", " 1", "1x", "0x10", "1048577",
			      "4294967297", "99999999999999999999999" };
	char msg[128];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(msg, sizeof(msg), "--smp needs a vCPU count of at least 1, got '%s'", bad[i]);
		EXPECT_FAIL(PARSE("--smp", (char *)bad[i], "k"), msg);
	}
	EXPECT_FAIL(PARSE("--smp=0", "k"), "--smp needs a vCPU count of at least 1, got '0'");
	EXPECT_FAIL(PARSE("k", "--smp"), "unexpected argument '--smp' after KERNEL (guest arguments go after '--')");
	EXPECT_FAIL(PARSE("--smp"), "--smp needs a vCPU count of at least 1, got ''");
}

static void err_mem(void)
{
	EXPECT_FAIL(PARSE("--mem", "1M", "k"), "--mem 1M is outside the supported range 4M..64G");
	EXPECT_FAIL(PARSE("--mem", "4095K", "k"), "--mem 4095K is outside the supported range 4M..64G");
	EXPECT_FAIL(PARSE("--mem", "0", "k"), "--mem 0 is outside the supported range 4M..64G");
	EXPECT_FAIL(PARSE("--mem=65G", "k"), "--mem 65G is outside the supported range 4M..64G");
	EXPECT_FAIL(PARSE("--mem", "68719480832", "k"),	/* 64G + 4K */
		    "--mem 68719480832 is outside the supported range 4M..64G");
	EXPECT_FAIL(PARSE("--mem", "1T", "k"), "--mem 1T is outside the supported range 4M..64G");
	EXPECT_FAIL(PARSE("--mem", "4097K", "k"), "--mem 4097K is not a multiple of 4K");
	EXPECT_FAIL(PARSE("--mem", "4194305", "k"), "--mem 4194305 is not a multiple of 4K");
	EXPECT_FAIL(PARSE("--mem", "abc", "k"), "--mem needs a size such as 256M or 2G, got 'abc'");
	EXPECT_FAIL(PARSE("--mem", "12Q", "k"), "--mem needs a size such as 256M or 2G, got '12Q'");
	EXPECT_FAIL(PARSE("--mem", "-4M", "k"), "--mem needs a size such as 256M or 2G, got '-4M'");
	EXPECT_FAIL(PARSE("--mem", "1.5G", "k"), "--mem needs a size such as 256M or 2G, got '1.5G'");
	EXPECT_FAIL(PARSE("--mem", "99999999999999999999", "k"),
		    "--mem needs a size such as 256M or 2G, got '99999999999999999999'");
	EXPECT_FAIL(PARSE("--mem", "17179869184G", "k"),	/* 2^64 bytes */
		    "--mem needs a size such as 256M or 2G, got '17179869184G'");
	EXPECT_FAIL(PARSE("--mem="), "--mem needs a size such as 256M or 2G, got ''");
}

static void err_vtls(void)
{
	EXPECT_FAIL(PARSE("--vtls", "0", "k"), "--vtls needs 1, 2 or 3, got '0'");
	EXPECT_FAIL(PARSE("--vtls", "4", "k"), "--vtls needs 1, 2 or 3, got '4'");
	EXPECT_FAIL(PARSE("--vtls=two", "k"), "--vtls needs 1, 2 or 3, got 'two'");
	EXPECT(PARSE("--vtls", "1", "k"));
	EXPECT_EQ(o.vtls, 1);
}

static void err_policy(void)
{
	EXPECT_FAIL(PARSE("--policy", "lax", "k"), "--policy needs 'strict' or 'permissive', got 'lax'");
	EXPECT_FAIL(PARSE("--timeline=", "k"), "--timeline needs a FILE to write");
	EXPECT_FAIL(PARSE("--gdb", "0", "k"), "--gdb needs a TCP port of 1-65535, got '0'");
	EXPECT_FAIL(PARSE("--gdb", "65536", "k"), "--gdb needs a TCP port of 1-65535, got '65536'");
	EXPECT_FAIL(PARSE("--gdb=x", "k"), "--gdb needs a TCP port of 1-65535, got 'x'");
	EXPECT_FAIL(PARSE("--gdb"), "--gdb needs a TCP port of 1-65535, got ''");
	EXPECT_FAIL(PARSE("--policy", "Strict", "k"), "--policy needs 'strict' or 'permissive', got 'Strict'");
	EXPECT_FAIL(PARSE("--policy=", "k"), "--policy needs 'strict' or 'permissive', got ''");
}

static void err_unknown_option(void)
{
	EXPECT_FAIL(PARSE("--bogus", "k"), "unknown option '--bogus'");
	EXPECT_FAIL(PARSE("-x", "k"), "unknown option '-x'");
	EXPECT_FAIL(PARSE("--smpx=2", "k"), "unknown option '--smpx=2'");
	EXPECT_FAIL(PARSE("--trace=1", "k"), "unknown option '--trace=1'");
	EXPECT_FAIL(PARSE("--stats", "--memory", "1G", "k"), "unknown option '--memory'");
}

static void err_argument_after_kernel(void)
{
	EXPECT_FAIL(PARSE("k", "extra"),
		    "unexpected argument 'extra' after KERNEL (guest arguments go after '--')");
	EXPECT_FAIL(PARSE("k", "--trace"),
		    "unexpected argument '--trace' after KERNEL (guest arguments go after '--')");
}

static void err_message_truncated(void)
{
	char small[10];
	char *const argv[] = { NULL };

	memset(small, 'x', sizeof(small));
	EXPECT(!args_parse_run(0, argv, &o, small, sizeof(small)));
	EXPECT_STR_EQ(small, "missing K");
}

static void parse_size_values(void)
{
	const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "65536", 65536 }, { "1K", 1024 }, { "1k", 1024 }, { "64K", 64 << 10 },
		{ "512M", 512ull << 20 }, { "512m", 512ull << 20 }, { "2G", 2ull << 30 }, { "2g", 2ull << 30 },
		{ "3T", 3ull << 40 }, { "3t", 3ull << 40 }, { "1KiB", 1024 }, { "1MiB", 1ull << 20 },
		{ "1GiB", 1ull << 30 }, { "1TiB", 1ull << 40 }, { "1KB", 1024 }, { "1MB", 1ull << 20 },
		{ "1Mb", 1ull << 20 }, { "1gib", 1ull << 30 }, { "007M", 7ull << 20 },
		{ "18446744073709551615", UINT64_MAX }, { "16777215T", 16777215ull << 40 },
		{ "17179869183G", 17179869183ull << 30 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 0x5a5a;

		if (!parse_size(ok[i].s, &v) || v != ok[i].v) {
			printf("  parse_size(\"%s\") gave 0x%llx, expected 0x%llx\n", ok[i].s,
			       (unsigned long long)v, (unsigned long long)ok[i].v);
			t_failed = 1;
		}
	}
}

static void parse_size_rejects(void)
{
	const char *bad[] = {
		"", "K", "M", "-1", "+1", " 1", "1 ", "1.5", "1B", "1iB", "1X", "1KK", "1KiBx", "1KBB",
		"1iK", "0x10", "18446744073709551616", "99999999999999999999999",
		"16777216T", "17179869184G", "18014398509481984K",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 0x5a5a;

		if (parse_size(bad[i], &v) || v != 0x5a5a) {
			printf("  parse_size(\"%s\") accepted (0x%llx)\n", bad[i], (unsigned long long)v);
			t_failed = 1;
		}
	}
	EXPECT(!parse_size(NULL, &(uint64_t){ 0 }));
}

int main(void)
{
	RUN_TEST(defaults);
	RUN_TEST(option_forms);
	RUN_TEST(guest_arguments);
	RUN_TEST(cmdline_length_limit);
	RUN_TEST(err_missing_kernel);
	RUN_TEST(err_smp);
	RUN_TEST(err_mem);
	RUN_TEST(err_vtls);
	RUN_TEST(err_policy);
	RUN_TEST(err_unknown_option);
	RUN_TEST(err_argument_after_kernel);
	RUN_TEST(err_message_truncated);
	RUN_TEST(parse_size_values);
	RUN_TEST(parse_size_rejects);
	return TEST_EXIT();
}
