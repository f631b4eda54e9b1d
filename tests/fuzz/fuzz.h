/* Shared bits of the libFuzzer targets (tests/fuzz/fuzz_*.c): an assert
 * that survives -DNDEBUG and names the broken invariant, exact-size
 * heap copies so AddressSanitizer sees any read or write past the bytes
 * a function was given, and the invariants of a decoded address. */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "../../common/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", \
				__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* n bytes of p in a heap block of exactly n bytes (malloc(0) included). */
static inline uint8_t *fuzz_dup(const void *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	FUZZ_ASSERT(q != NULL);
	if (n)
		memcpy(q, p, n);
	return q;
}

/* Only buf[0..k) of a heap block of size bytes may be read from now on:
 * AddressSanitizer reports any access to buf[k..size). Cheaper than a
 * copy per length; call fuzz_clip(buf, size, size) before free(). */
static inline void fuzz_clip(const uint8_t *buf, size_t size, size_t k)
{
	ASAN_UNPOISON_MEMORY_REGION(buf, size);
	if (k < size)
		ASAN_POISON_MEMORY_REGION(buf + k, size - k);
}

/* The bytes before the first NUL as a C string of its own. */
static inline char *fuzz_str(const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, 0, n);
	size_t len = nul ? (size_t)(nul - p) : n;
	char *s = malloc(len + 1);

	FUZZ_ASSERT(s != NULL);
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* Two addresses are the same: type, port and address. */
static inline void fuzz_same_addr(const struct addr *a, const struct addr *b)
{
	FUZZ_ASSERT(a->type == b->type && a->port == b->port);
	if (a->type == ADDR_IPV4)
		FUZZ_ASSERT(!memcmp(a->u.v4, b->u.v4, 4));
	else if (a->type == ADDR_IPV6)
		FUZZ_ASSERT(!memcmp(a->u.v6, b->u.v6, 16));
	else if (a->type == ADDR_DOMAIN)
		FUZZ_ASSERT(a->len == b->len &&
			    !memcmp(a->u.domain, b->u.domain, a->len));
}

/* A decoded address is one of the three types, a domain 1..255 bytes
 * with its NUL in place. */
static inline void fuzz_valid_addr(const struct addr *a)
{
	FUZZ_ASSERT(a->type == ADDR_IPV4 || a->type == ADDR_IPV6 ||
		    a->type == ADDR_DOMAIN);
	if (a->type == ADDR_DOMAIN)
		FUZZ_ASSERT(a->len > 0 && a->u.domain[a->len] == '\0' &&
			    memchr(a->u.domain, 0, a->len) == NULL);
}

#endif
