/* A tiny assert harness for the unit tests: CHECK() records a failure
 * with file:line and goes on; each test binary ends with test_summary(),
 * which prints "name: N checks, M failed" and returns the exit status. */
#ifndef TESTS_UNIT_TEST_H
#define TESTS_UNIT_TEST_H

#include <stdio.h>
#include <string.h>

static int test_checks, test_failures;

#define CHECK(cond) \
	do { \
		test_checks++; \
		if (!(cond)) { \
			test_failures++; \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond); \
		} \
	} while (0)

#define CHECK_EQ(a, b) \
	do { \
		long long _a = (long long)(a), _b = (long long)(b); \
		test_checks++; \
		if (_a != _b) { \
			test_failures++; \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
				__FILE__, __LINE__, #a, _a, #b, _b); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *_a = (a), *_b = (b); \
		test_checks++; \
		if (!_a || !_b || strcmp(_a, _b)) { \
			test_failures++; \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a, _a ? _a : "(null)", \
				_b ? _b : "(null)"); \
		} \
	} while (0)

static inline int test_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
	return test_failures ? 1 : 0;
}

#endif
