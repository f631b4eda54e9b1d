/* A tiny assert harness for the unit tests: CHECK() records a failure
 * with file:line and goes on; each test binary ends with test_summary(),
 * which prints "name: N checks, M failed" and returns the exit status.
 * Also the helpers several tests share: hex bytes, address equality and
 * feeding glued messages to a parser split at every offset. */
#ifndef TESTS_UNIT_TEST_H
#define TESTS_UNIT_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/addr.h"

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
			fprintf(stderr, \
				"%s:%d: %s == %lld, expected %s == %lld\n", \
				__FILE__, __LINE__, #a, _a, #b, _b); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *_a = (a), *_b = (b); \
		test_checks++; \
		if (!_a || !_b || strcmp(_a, _b)) { \
			test_failures++; \
			fprintf(stderr, \
				"%s:%d: %s is \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a, _a ? _a : "(null)", \
				_b ? _b : "(null)"); \
		} \
	} while (0)

/* The bytes p[0..n) are those written in hex ("05 01 00", spaces
 * ignored, at most 512 bytes). */
#define CHECK_HEX(p, n, hex) \
	do { \
		uint8_t _want[512]; \
		size_t _wn = test_unhex(_want, (hex)); \
		size_t _n = (size_t)(n); \
		CHECK_EQ(_n, _wn); \
		CHECK(_n == _wn && !memcmp((p), _want, _wn)); \
	} while (0)

/* Hex digits to bytes (spaces skipped); returns the count. */
static inline size_t test_unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;
	unsigned int v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* Same type, port and address; a domain also NUL-terminated in both. */
static inline bool test_addr_eq(const struct addr *a, const struct addr *b)
{
	if (a->type != b->type || a->port != b->port)
		return false;
	switch (a->type) {
	case ADDR_IPV4:
		return !memcmp(a->u.v4, b->u.v4, 4);
	case ADDR_IPV6:
		return !memcmp(a->u.v6, b->u.v6, 16);
	case ADDR_DOMAIN:
		return a->len == b->len &&
		       !memcmp(a->u.domain, b->u.domain, a->len + 1) &&
		       a->u.domain[a->len] == '\0';
	default:
		return false;
	}
}

/* Parses message k of a sequence from in[0..len): its length when it
 * is complete, 0 when more bytes are needed, < 0 on an error. */
typedef int (*test_parse_fn)(void *arg, size_t k, const uint8_t *in,
			     size_t len);

/* A reader's receive loop over count messages glued together in all
 * (total bytes), which arrive in two pieces split at offset cut.
 * Returns how many came out in order with the lengths in lens, or -1. */
static inline int test_feed_split(test_parse_fn parse, void *arg,
				  const size_t *lens, size_t count,
				  const uint8_t *all, size_t total, size_t cut)
{
	size_t have, off = 0, got = 0;
	int n = 0, round;

	for (round = 0; round < 2; round++) {
		have = round ? total : cut;
		while (got < count &&
		       (n = parse(arg, got, all + off, have - off)) > 0) {
			if ((size_t)n != lens[got])
				return -1;
			off += (size_t)n;
			got++;
		}
		if (got < count && n < 0)
			return -1;
	}
	return off == total ? (int)got : -1;
}

/* One message of a parser test: up to a whole tunnel frame (16 KiB)
 * with room to spare. */
struct test_msg {
	uint8_t b[16384 + 16];
	size_t n;
};

/* Glues the messages and feeds them split at every byte offset; returns
 * at how many offsets they did not all come out whole (0 is right). */
static inline int test_feed_glued(test_parse_fn parse, void *arg,
				  const struct test_msg *const *ms,
				  size_t count)
{
	size_t i, total = 0, cut, lens[8];
	uint8_t *all;
	int bad = 0;

	if (count > 8)
		return -1;
	for (i = 0; i < count; i++)
		total += lens[i] = ms[i]->n;
	all = malloc(total ? total : 1);
	if (!all)
		return -1;
	for (total = 0, i = 0; i < count; i++) {
		memcpy(all + total, ms[i]->b, lens[i]);
		total += lens[i];
	}
	for (cut = 0; cut <= total; cut++)
		if (test_feed_split(parse, arg, lens, count, all, total, cut) !=
		    (int)count)
			bad++;
	free(all);
	return bad;
}

static inline int test_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
	return test_failures ? 1 : 0;
}

#endif
