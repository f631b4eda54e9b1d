#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void buf_init(struct buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->head = b->tail = b->size = 0;
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
	size_t len = buf_len(b), want;

	if (n > b->cap - len)
		return NULL;
	if (b->data && b->size - b->tail >= n)
		return b->data + b->tail;
	/* Moving the unread bytes to the front costs their length: done
	 * once at least as many were consumed since the last move (a byte
	 * then moves once on average), or when growing would pass the cap.
	 * A buffer filled at one end while a slow socket drains the other
	 * would otherwise move nearly all of itself for every frame added. */
	if (b->head && (b->head >= len || b->tail + n > b->cap)) {
		memmove(b->data, b->data + b->head, len);
		b->head = 0;
		b->tail = len;
		if (b->size - len >= n)
			return b->data + b->tail;
	}
	/* grow geometrically, but never past the cap; the first block fits
	 * what is asked (one allocation whatever its size): an idle flow's
	 * few bytes kept for a resume take 256, not 4 KiB */
	want = b->size ? b->size : 256;
	while (want < b->tail + n && want < b->cap)
		want *= 2;
	if (want > b->cap)
		want = b->cap;
	b->data = xrealloc(b->data, want);
	b->size = want;
	return b->data + b->tail;
}

void buf_commit(struct buf *b, size_t n)
{
	b->tail += n;
}

void buf_consume(struct buf *b, size_t n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

int buf_put(struct buf *b, const void *p, size_t n)
{
	uint8_t *d;

	if (!n)
		return 0;
	d = buf_reserve(b, n);
	if (!d)
		return -1;
	memcpy(d, p, n);
	buf_commit(b, n);
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int buf_get(struct buf *b, void *p, size_t n)
{
	if (buf_len(b) < n)
		return -1;
	if (!n)
		return 0;
	memcpy(p, buf_peek(b), n);
	buf_consume(b, n);
	return 0;
}
