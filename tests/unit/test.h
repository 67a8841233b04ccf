/* A very small unit-test harness: one "ok NAME" / "FAIL NAME" line per test function. */
#ifndef KVSM_TEST_H
#define KVSM_TEST_H

#include <stdio.h>
#include <string.h>

static int t_failed, t_total_failed;

#define EXPECT(cond) do { \
	if (!(cond)) { \
		printf("  %s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
		t_failed = 1; \
	} \
} while (0)

#define EXPECT_EQ(a, b) do { \
	unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
	if (_a != _b) { \
		printf("  %s:%d: %s == 0x%llx, expected 0x%llx\n", __FILE__, __LINE__, #a, _a, _b); \
		t_failed = 1; \
	} \
} while (0)

#define EXPECT_STR_CONTAINS(s, sub) do { \
	if (!strstr((s), (sub))) { \
		printf("  %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, (s), (sub)); \
		t_failed = 1; \
	} \
} while (0)

#define EXPECT_STR_EQ(s, want) do { \
	if (strcmp((s), (want))) { \
		printf("  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #s, (s), (want)); \
		t_failed = 1; \
	} \
} while (0)

#define RUN_TEST(fn) do { \
	t_failed = 0; \
	fn(); \
	printf("%s %s\n", t_failed ? "FAIL" : "ok", #fn); \
	t_total_failed += t_failed; \
} while (0)

#define TEST_EXIT() (t_total_failed ? 1 : 0)

#endif
