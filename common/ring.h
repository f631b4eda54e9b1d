/* A byte FIFO whose bytes never move once written: storage used round
 * and round, so consuming at one end while adding at the other costs
 * nothing but the copy in. For a flow's copy of what it sent until the
 * peer acknowledged it (resume): acknowledgements take half a window at
 * a time from the front while the back fills, and a struct buf there
 * moved what was left to the front (up to once per byte sent; 0.31 in
 * an upload counted with callgrind, a quarter of what the copy cost).
 * Storage grows on demand (its bytes moved then, once) up to a hard cap
 * and can be released when empty. */
#ifndef COMMON_RING_H
#define COMMON_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *data;
	size_t head; /* offset of the first byte, below size */
	size_t len;  /* bytes held */
	size_t size; /* bytes allocated at data */
	size_t cap;  /* never hold more than this */
};

void ring_init(struct ring *r, size_t cap);
/* Frees the storage; the ring stays usable and empty. */
void ring_release(struct ring *r);

static inline size_t ring_len(const struct ring *r)
{
	return r->len;
}

/* Bytes ring_put could still take. */
static inline size_t ring_room(const struct ring *r)
{
	return r->cap - r->len;
}

/* Appends n bytes: 0, or -1 (nothing written) past the cap. */
int ring_put(struct ring *r, const void *p, size_t n);
/* Drops n (at most ring_len) bytes from the front. */
void ring_consume(struct ring *r, size_t n);
/* Copies n bytes from off bytes past the front (off + n <= ring_len). */
void ring_copy(const struct ring *r, size_t off, void *dst, size_t n);

#endif
