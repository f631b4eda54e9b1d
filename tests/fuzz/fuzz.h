/* Shared bits of the libFuzzer targets (tests/fuzz/fuzz_*.c): an assert
 * that survives -DNDEBUG and names the broken invariant, and exact-size
 * heap copies so AddressSanitizer sees any read or write past the bytes
 * a function was given. */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

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

#endif
