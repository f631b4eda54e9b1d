/* Unit tests for common/ring.c: bytes in and out in order across the
 * wrap, storage that never moves while the flow of bytes stays within
 * it, growth that keeps the order (also when wrapped), the hard cap,
 * release, and a long stream against a model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/ring.h"
#include "test.h"

/* Byte i of the stream: a pattern that shows any reordering. */
static uint8_t at(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 8));
}

static void fill(uint8_t *p, uint64_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = at(from + i);
}

/* The ring holds exactly the stream's bytes [from, from + len). */
static int holds(const struct ring *r, uint64_t from, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	int ok = ring_len(r) == len;

	ring_copy(r, 0, p, len);
	for (size_t i = 0; ok && i < len; i++)
		ok = p[i] == at(from + i);
	free(p);
	return ok;
}

static void test_init(void)
{
	struct ring r;

	memset(&r, 0xa5, sizeof(r));
	ring_init(&r, 1000);
	CHECK(r.data == NULL);
	CHECK_EQ(ring_len(&r), 0);
	CHECK_EQ(ring_room(&r), 1000);
	CHECK_EQ(ring_put(&r, "x", 0), 0);
	CHECK(r.data == NULL);
	ring_release(&r);
	CHECK_EQ(ring_room(&r), 1000);
}

/* A few bytes take the first block; the stream wraps round it without
 * moving a byte; growth while wrapped keeps the order. */
static void test_wrap_and_grow(void)
{
	struct ring r;
	uint8_t p[512], q[200];
	const uint8_t *block;

	ring_init(&r, 4096);
	fill(p, 0, 10);
	CHECK_EQ(ring_put(&r, p, 10), 0);
	CHECK_EQ(r.size, 256);
	fill(p, 10, 190);
	CHECK_EQ(ring_put(&r, p, 190), 0);
	ring_consume(&r, 150);
	CHECK(holds(&r, 150, 50));
	block = r.data;
	/* 150 more: 56 at the back, 94 at the front */
	fill(p, 200, 150);
	CHECK_EQ(ring_put(&r, p, 150), 0);
	CHECK(r.data == block);
	CHECK_EQ(r.size, 256);
	CHECK_EQ(r.head, 150);
	CHECK(holds(&r, 150, 200));
	/* a copy from the middle, across the wrap */
	ring_copy(&r, 40, q, 100);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(q[i], at(190 + (uint64_t)i));
	/* past the block while wrapped: in order at the front of a bigger
	 * one */
	fill(p, 350, 100);
	CHECK_EQ(ring_put(&r, p, 100), 0);
	CHECK_EQ(r.size, 512);
	CHECK_EQ(r.head, 0);
	CHECK(holds(&r, 150, 300));
	/* emptied: the next byte goes to the front */
	ring_consume(&r, 300);
	CHECK_EQ(ring_len(&r), 0);
	CHECK_EQ(r.head, 0);
	ring_release(&r);
	CHECK(r.data == NULL);
	/* one big put into an empty ring: one block that fits it */
	fill(p, 0, 300);
	CHECK_EQ(ring_put(&r, p, 300), 0);
	CHECK_EQ(r.size, 512);
	CHECK(holds(&r, 0, 300));
	ring_release(&r);
}

static void test_cap(void)
{
	struct ring r;
	uint8_t p[700];

	ring_init(&r, 600);
	fill(p, 0, 700);
	CHECK_EQ(ring_put(&r, p, 601), -1);
	CHECK_EQ(ring_len(&r), 0);
	CHECK_EQ(ring_put(&r, p, 500), 0);
	CHECK_EQ(ring_put(&r, p + 500, 101), -1);
	CHECK(holds(&r, 0, 500));
	CHECK_EQ(ring_put(&r, p + 500, 100), 0);
	CHECK_EQ(r.size, 600); /* grown to the cap, not past it */
	CHECK(holds(&r, 0, 600));
	CHECK_EQ(ring_room(&r), 0);
	ring_consume(&r, 250);
	fill(p, 600, 251);
	CHECK_EQ(ring_put(&r, p, 251), -1);
	CHECK_EQ(ring_put(&r, p, 250), 0); /* wraps at the cap */
	CHECK_EQ(r.size, 600);
	CHECK(holds(&r, 250, 600));
	ring_release(&r);
}

/* As a flow uses it: frames of up to 16 KiB in, acknowledgements of
 * about half a window out. Past the first window the storage is never
 * reallocated, and every byte comes out as it went in. */
static void test_stream(void)
{
	enum { WIN = 256 << 10 };
	struct ring r;
	static uint8_t p[16384];
	uint64_t sent = 0, acked = 0;
	const uint8_t *block = NULL;
	uint64_t last_move = 0; /* sent when the storage last changed */
	size_t size = 0;
	unsigned seed = 7;

	ring_init(&r, UINT32_MAX / 2);
	for (int i = 0; i < 20000; i++) {
		size_t n = 1 + (size_t)rand_r(&seed) % sizeof(p);

		if (sent - acked + n <= WIN) {
			fill(p, sent, n);
			CHECK_EQ(ring_put(&r, p, n), 0);
			sent += n;
		} else {
			size_t a = (size_t)(sent - acked) / 2 +
				   (size_t)rand_r(&seed) % 1024;

			a = a > sent - acked ? (size_t)(sent - acked) : a;
			ring_consume(&r, a);
			acked += a;
		}
		if (r.data != block || r.size != size) {
			last_move = sent;
			block = r.data;
			size = r.size;
		}
		if (i % 997 == 0) {
			uint8_t q[64];
			size_t len = (size_t)(sent - acked);
			size_t off = len > 64 ? (size_t)rand_r(&seed) %
							(len - 64) :
						0;
			size_t m = len < 64 ? len : 64;

			ring_copy(&r, off, q, m);
			for (size_t k = 0; k < m; k++)
				CHECK_EQ(q[k], at(acked + off + k));
		}
	}
	CHECK(holds(&r, acked, (size_t)(sent - acked)));
	CHECK(sent > 100 * (uint64_t)WIN);
	/* the first block doubled up to the window, then never again */
	CHECK(last_move <= WIN);
	CHECK_EQ(r.size, WIN);
	ring_release(&r);
}

int main(void)
{
	test_init();
	test_wrap_and_grow();
	test_cap();
	test_stream();
	return test_summary("ring");
}
