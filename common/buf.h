/* A byte buffer with a read head, a write tail and a hard cap.
 * Storage grows on demand up to the cap and can be released when empty,
 * so an idle flow holds no payload memory. A get consumes only on
 * success; puts fail (nothing written) when the cap would be exceeded.
 * The parsers read fields in place (buf_peek) and consume a message only
 * once all of it is there, so there are no per-field getters. */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t head; /* first unread byte */
	size_t tail; /* one past the last written byte */
	size_t size; /* bytes allocated at data */
	size_t cap;  /* never allocate more than this */
};

void buf_init(struct buf *b, size_t cap);
/* Frees the storage; the buffer stays usable and empty. */
void buf_release(struct buf *b);

static inline size_t buf_len(const struct buf *b)
{
	return b->tail - b->head;
}

static inline const uint8_t *buf_peek(const struct buf *b)
{
	return b->data ? b->data + b->head : NULL;
}

/* Room that buf_reserve could still provide. */
static inline size_t buf_room(const struct buf *b)
{
	return b->cap - buf_len(b);
}

/* Pointer to at least n writable bytes at the tail (grows/compacts), or
 * NULL if n bytes would exceed the cap. Commit with buf_commit. */
uint8_t *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/* Consume n bytes from the head; storage is reset (not freed) when empty. */
void buf_consume(struct buf *b, size_t n);

int buf_put(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);

/* Returns 0 and consumes n bytes, or -1 (nothing consumed) if too short. */
int buf_get(struct buf *b, void *p, size_t n);

#endif
