#include "ring.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The first block holds what is asked, 256 bytes at least (an idle
 * flow's few bytes), and the storage doubles from there. */
#define RING_FIRST 256

void ring_init(struct ring *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap;
}

void ring_release(struct ring *r)
{
	free(r->data);
	r->data = NULL;
	r->head = r->len = r->size = 0;
}

/* Storage for at least want bytes, the held ones moved to the front. */
static void grow(struct ring *r, size_t want)
{
	size_t size = r->size ? r->size : RING_FIRST;
	uint8_t *d;

	while (size < want) /* want <= cap: ring_put checked */
		size = size > r->cap / 2 ? r->cap : size * 2;
	d = xmalloc(size);
	ring_copy(r, 0, d, r->len);
	free(r->data);
	r->data = d;
	r->head = 0;
	r->size = size;
}

int ring_put(struct ring *r, const void *p, size_t n)
{
	size_t at, first;

	if (n > r->cap - r->len)
		return -1;
	if (!n)
		return 0;
	if (r->len + n > r->size)
		grow(r, r->len + n);
	at = r->head + r->len;
	if (at >= r->size)
		at -= r->size;
	first = MIN(n, r->size - at);
	memcpy(r->data + at, p, first);
	memcpy(r->data, (const uint8_t *)p + first, n - first);
	r->len += n;
	return 0;
}

void ring_consume(struct ring *r, size_t n)
{
	r->len -= n;
	r->head = r->len ? (r->head + n) % r->size : 0;
}

void ring_copy(const struct ring *r, size_t off, void *dst, size_t n)
{
	size_t at, first;

	if (!n)
		return;
	at = (r->head + off) % r->size;
	first = MIN(n, r->size - at);
	memcpy(dst, r->data + at, first);
	memcpy((uint8_t *)dst + first, r->data, n - first);
}
