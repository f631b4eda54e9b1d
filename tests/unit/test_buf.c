/* Unit tests for common/buf.c: reserve/commit/consume, the hard cap,
 * growth and compaction, release, and get/put that consume or write
 * only on success. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/util.h"
#include "test.h"

static void test_init(void)
{
	struct buf b;

	memset(&b, 0xa5, sizeof(b));
	buf_init(&b, 1000);
	CHECK(b.data == NULL);
	CHECK_EQ(b.cap, 1000);
	CHECK_EQ(buf_len(&b), 0);
	CHECK_EQ(buf_room(&b), 1000);
	buf_release(&b);
	CHECK_EQ(buf_room(&b), 1000);
}

static void test_put_get(void)
{
	static const uint8_t wire[] = {
		0x7f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 'x', 'y', 'z',
	};
	struct buf b;
	uint8_t raw[6];

	buf_init(&b, 64);
	CHECK_EQ(buf_put_u8(&b, 0x7f), 0);
	CHECK_EQ(buf_put(&b, wire + 1, 6), 0);
	CHECK_EQ(buf_put(&b, "xyz", 3), 0);
	CHECK_EQ(buf_len(&b), sizeof(wire));
	CHECK_EQ(buf_room(&b), 64 - sizeof(wire));
	CHECK(!memcmp(buf_peek(&b), wire, sizeof(wire)));

	CHECK_EQ(buf_get(&b, raw, 1), 0);
	CHECK_EQ(raw[0], 0x7f);
	CHECK_EQ(buf_get(&b, raw, 6), 0);
	CHECK(!memcmp(raw, wire + 1, 6));
	CHECK_EQ(buf_get(&b, raw, 3), 0);
	CHECK(!memcmp(raw, "xyz", 3));
	CHECK_EQ(buf_len(&b), 0);
	/* an emptied buffer restarts at the front, storage kept */
	CHECK_EQ(b.head, 0);
	CHECK_EQ(b.tail, 0);
	CHECK(b.data != NULL);
	buf_release(&b);
	CHECK(b.data == NULL);
}

/* Gets on too little data fail and leave every byte in place. */
static void test_get_short(void)
{
	struct buf b;
	uint8_t raw[8];

	buf_init(&b, 64);
	memset(raw, 0x55, sizeof(raw));
	CHECK_EQ(buf_get(&b, raw, 1), -1);
	CHECK_EQ(buf_get(&b, raw, 2), -1);

	CHECK_EQ(buf_put(&b, "\x01\x02\x03", 3), 0);
	CHECK_EQ(buf_get(&b, raw, 4), -1);
	CHECK_EQ(buf_len(&b), 3);
	CHECK_EQ(raw[0], 0x55);
	CHECK_EQ(buf_get(&b, raw, 1), 0);
	CHECK_EQ(raw[0], 1);
	CHECK_EQ(buf_get(&b, raw + 1, 4), -1);
	CHECK_EQ(buf_get(&b, raw + 1, 2), 0);
	CHECK(!memcmp(raw, "\x01\x02\x03", 3));
	CHECK_EQ(buf_get(&b, raw + 3, 2), -1);
	CHECK_EQ(buf_get(&b, raw + 3, 1), -1);
	CHECK_EQ(raw[3], 0x55);
	buf_release(&b);
}

/* Puts that would pass the cap fail and write nothing. */
static void test_cap(void)
{
	struct buf b;
	uint8_t big[16], out[16];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	buf_init(&b, 10);
	CHECK_EQ(buf_put(&b, big, 11), -1);
	CHECK_EQ(buf_len(&b), 0);
	CHECK_EQ(buf_put(&b, big, 8), 0);
	CHECK_EQ(buf_put(&b, "\0\0\0\1", 4), -1);
	CHECK_EQ(buf_put(&b, "\x08\x09", 2), 0);
	CHECK_EQ(buf_len(&b), 10);
	CHECK_EQ(buf_room(&b), 0);
	CHECK_EQ(buf_put_u8(&b, 0), -1);
	CHECK_EQ(buf_put(&b, "\0\0", 2), -1);
	CHECK(buf_reserve(&b, 1) == NULL);
	CHECK(b.size <= b.cap);
	CHECK(!memcmp(buf_peek(&b), big, 10));

	/* consuming makes room again, bytes shift to the front */
	buf_consume(&b, 3);
	CHECK_EQ(buf_room(&b), 3);
	CHECK_EQ(buf_put(&b, "abc", 3), 0);
	CHECK(b.size <= b.cap);
	CHECK_EQ(buf_get(&b, out, 10), 0);
	CHECK(!memcmp(out, big + 3, 7));
	CHECK(!memcmp(out + 7, "abc", 3));
	buf_release(&b);

	/* a zero cap takes nothing */
	buf_init(&b, 0);
	CHECK_EQ(buf_put_u8(&b, 1), -1);
	CHECK(buf_reserve(&b, 1) == NULL);
	buf_release(&b);
}

static void test_reserve_commit(void)
{
	struct buf b;
	uint8_t *p;
	size_t i;

	buf_init(&b, 100000);
	p = buf_reserve(&b, 10);
	CHECK(p != NULL);
	CHECK(b.size >= 10 && b.size <= b.cap);
	CHECK_EQ(buf_len(&b), 0); /* reserving adds nothing */
	memcpy(p, "0123456789", 10);
	buf_commit(&b, 4); /* a read may fill less than reserved */
	CHECK_EQ(buf_len(&b), 4);
	CHECK(!memcmp(buf_peek(&b), "0123", 4));

	/* one large reservation grows past the first size */
	p = buf_reserve(&b, 70000);
	CHECK(p != NULL);
	CHECK(b.size >= 70004 && b.size <= b.cap);
	CHECK(!memcmp(buf_peek(&b), "0123", 4));
	for (i = 0; i < 70000; i++)
		p[i] = (uint8_t)(i * 7);
	buf_commit(&b, 70000);
	CHECK_EQ(buf_len(&b), 70004);
	buf_consume(&b, 4);
	for (i = 0; i < 70000; i++)
		if (buf_peek(&b)[i] != (uint8_t)(i * 7))
			break;
	CHECK_EQ(i, 70000);
	CHECK(buf_reserve(&b, 100000 - 70000 + 1) == NULL);
	CHECK(buf_reserve(&b, 100000 - 70000) != NULL);
	CHECK_EQ(b.size, b.cap); /* growth stops at the cap */
	CHECK_EQ(buf_len(&b), 70000);
	buf_consume(&b, 70000);
	CHECK_EQ(buf_len(&b), 0);
	CHECK_EQ(b.head, 0);

	/* released, then used again from nothing */
	buf_release(&b);
	CHECK(b.data == NULL);
	CHECK_EQ(b.cap, 100000);
	CHECK_EQ(buf_put(&b, "again", 5), 0);
	CHECK_EQ(buf_len(&b), 5);
	CHECK(!memcmp(buf_peek(&b), "again", 5));
	buf_release(&b);
}

/* When the tail is at the end of storage but the head has moved, a
 * reservation that fits compacts instead of growing. */
static void test_compact(void)
{
	struct buf b;
	uint8_t fill[4096];
	size_t size;

	memset(fill, 'f', sizeof(fill));
	buf_init(&b, 1 << 20);
	CHECK_EQ(buf_put(&b, fill, 4096), 0);
	size = b.size;
	CHECK_EQ(size, 4096);
	buf_consume(&b, 4000);
	CHECK_EQ(buf_put(&b, "tail", 4), 0);
	CHECK_EQ(b.size, size);
	CHECK_EQ(b.head, 0);
	CHECK_EQ(buf_len(&b), 100);
	CHECK(!memcmp(buf_peek(&b) + 96, "tail", 4));
	buf_release(&b);
}

/* A buffer drained a little at the head while filled at the tail (a
 * slow reader) grows instead of moving most of its bytes each time; it
 * moves them once as many were consumed, or when the cap says so. */
static void test_no_move_while_mostly_full(void)
{
	struct buf b;
	uint8_t fill[16384];

	memset(fill, 'f', sizeof(fill));
	buf_init(&b, 16384);
	CHECK_EQ(buf_put(&b, fill, 4096), 0);
	buf_consume(&b, 1000);
	CHECK_EQ(buf_put(&b, "more", 4), 0);
	CHECK_EQ(b.size, 8192); /* grew */
	CHECK_EQ(b.head, 1000); /* nothing moved */
	CHECK_EQ(buf_len(&b), 3100);
	CHECK(!memcmp(buf_peek(&b) + 3096, "more", 4));

	/* consumed at least what is left: the next growth moves instead */
	CHECK_EQ(buf_put(&b, fill, 8192 - 4100), 0); /* tail at the end */
	CHECK_EQ(b.tail, 8192);
	buf_consume(&b, 3600);
	CHECK_EQ(buf_put(&b, "x", 1), 0);
	CHECK_EQ(b.head, 0);
	CHECK_EQ(b.size, 8192);
	CHECK_EQ(buf_len(&b), 8192 - 4600 + 1);
	CHECK_EQ(buf_peek(&b)[buf_len(&b) - 1], 'x');

	/* at the cap, moving is the only way, however little was consumed */
	CHECK_EQ(buf_put(&b, fill, 16384 - b.tail), 0);
	CHECK_EQ(b.size, 16384);
	buf_consume(&b, 10);
	CHECK_EQ(buf_put(&b, "yz", 2), 0);
	CHECK_EQ(b.head, 0);
	CHECK_EQ(b.size, 16384);
	CHECK(!memcmp(buf_peek(&b) + buf_len(&b) - 2, "yz", 2));
	buf_release(&b);
}

/* A byte stream through a small buffer: writes and reads of changing
 * sizes (a cheap LCG), the cap never passed, order kept. */
static void test_stream(void)
{
	static const size_t caps[] = { 1, 7, 100, 4096, 5000, 65536 };
	size_t c;

	for (c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct buf b;
		uint32_t rng = 12345 + (uint32_t)c;
		uint8_t in = 0, out = 0, tmp[9000];
		size_t written = 0, read = 0, i, ok = 1;

		buf_init(&b, caps[c]);
		while (read < 200000) {
			size_t n;
			uint8_t *p;

			rng = rng * 1103515245 + 12345;
			n = (rng >> 16) % 9000 + 1;
			p = buf_reserve(&b, MIN(n, buf_room(&b)));
			if (p && buf_room(&b)) {
				n = MIN(n, buf_room(&b));
				for (i = 0; i < n; i++)
					p[i] = in++;
				buf_commit(&b, n);
				written += n;
			}
			if (b.size > b.cap || buf_len(&b) > b.cap)
				ok = 0;
			rng = rng * 1103515245 + 12345;
			n = MIN((rng >> 16) % 9000 + 1, buf_len(&b));
			if (buf_get(&b, tmp, n))
				ok = 0;
			for (i = 0; i < n; i++)
				if (tmp[i] != out++)
					ok = 0;
			read += n;
			if (!buf_len(&b) && (rng & 0x100))
				buf_release(&b);
		}
		CHECK(ok);
		CHECK_EQ(written - read, buf_len(&b));
		buf_release(&b);
	}
}

/* Zero-length operations are no-ops that succeed, even on a buffer that
 * has no storage yet. */
static void test_zero(void)
{
	struct buf b;
	uint8_t x = 9;

	buf_init(&b, 16);
	CHECK_EQ(buf_put(&b, &x, 0), 0);
	CHECK_EQ(buf_get(&b, &x, 0), 0);
	CHECK_EQ(buf_len(&b), 0);
	CHECK(buf_reserve(&b, 0) != NULL);
	CHECK_EQ(buf_put_u8(&b, 1), 0);
	CHECK_EQ(buf_put(&b, &x, 0), 0);
	CHECK_EQ(buf_get(&b, &x, 0), 0);
	CHECK_EQ(buf_len(&b), 1);
	buf_release(&b);
}

int main(void)
{
	test_init();
	test_put_get();
	test_get_short();
	test_cap();
	test_reserve_commit();
	test_compact();
	test_no_move_while_mostly_full();
	test_stream();
	test_zero();
	return test_summary("buf");
}
