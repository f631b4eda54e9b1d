/* Unit tests for the tunnel frame codec (common/frame.c). */
#include <stdlib.h>
#include <string.h>

#include "../../common/frame.h"
#include "../../common/util.h"
#include "test.h"

static struct addr a4, a6, adom, along;

static void setup_addrs(void)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	memset(&a4, 0, sizeof(a4));
	a4.type = ADDR_IPV4;
	memcpy(a4.u.v4, "\xc0\x00\x02\x01", 4); /* 192.0.2.1 */
	a4.port = 80;

	memset(&a6, 0, sizeof(a6));
	a6.type = ADDR_IPV6;
	memcpy(a6.u.v6, v6, 16); /* 2001:db8::1 */
	a6.port = 53;

	memset(&adom, 0, sizeof(adom));
	adom.type = ADDR_DOMAIN;
	adom.len = 11;
	strcpy(adom.u.domain, "example.com");
	adom.port = 443;

	memset(&along, 0, sizeof(along));
	along.type = ADDR_DOMAIN;
	along.len = ADDR_DOMAIN_MAX;
	memset(along.u.domain, 'a', ADDR_DOMAIN_MAX);
	along.port = 65535;
}

/* Decodes from a heap copy of exactly n bytes, so ASan sees overreads. */
static int decode_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	struct frame f;
	int r;

	memcpy(c, p, n);
	r = frame_decode(c, n, &f);
	free(c);
	return r;
}

/* A valid frame: every strict prefix needs more, the whole is consumed,
 * and f is left holding the decoded frame (pointing into m). */
static void check_whole(const struct test_msg *m, struct frame *f)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (decode_exact(m->b, i) != 0)
			bad++;
	CHECK_EQ(bad, 0);
	CHECK_EQ(decode_exact(m->b, m->n), m->n);
	CHECK_EQ(frame_decode(m->b, m->n, f), m->n);
}

static void check_same(const struct frame *f, const struct test_msg *m)
{
	CHECK_EQ(f->type, m->b[0]);
	CHECK_EQ(f->flags, 0);
	CHECK_EQ(f->len, m->n - FRAME_HDR_LEN);
	CHECK_EQ(f->stream, get_be32(m->b + 4));
	CHECK(!memcmp(f->payload, m->b + FRAME_HDR_LEN, f->len));
}

/* A reader's decoder: each frame must be the k-th message, byte for
 * byte. */
static int parse_frame(void *arg, size_t k, const uint8_t *in, size_t len)
{
	const struct test_msg **ms = arg;
	struct frame f;
	int n = frame_decode(in, len, &f);

	if (n > 0 && ((size_t)n != ms[k]->n || memcmp(in, ms[k]->b, n)))
		return -1;
	return n;
}

/* Glues the messages and feeds them split at every byte offset. */
static void check_glued(const struct test_msg **ms, size_t count)
{
	CHECK_EQ(test_feed_glued(parse_frame, (void *)ms, ms, count), 0);
}

static void check_glued2(const struct test_msg *x, const struct test_msg *y)
{
	const struct test_msg *ms[2] = { x, y };

	check_glued(ms, 2);
}

static void check_glued3(const struct test_msg *x, const struct test_msg *y,
			 const struct test_msg *z)
{
	const struct test_msg *ms[3] = { x, y, z };

	check_glued(ms, 3);
}

/* A raw frame: any header and payload, for the error paths. */
static void mk(struct test_msg *m, uint8_t type, uint8_t flags, uint16_t len,
	       uint32_t stream, const void *payload, size_t plen)
{
	frame_put_hdr(m->b, type, len, stream);
	m->b[1] = flags;
	if (plen)
		memcpy(m->b + FRAME_HDR_LEN, payload, plen);
	m->n = FRAME_HDR_LEN + plen;
}

static void mkp(struct test_msg *m, uint8_t type, uint32_t stream,
		const void *payload, size_t plen)
{
	mk(m, type, 0, (uint16_t)plen, stream, payload, plen);
}

static void hex_eq(const struct test_msg *m, const char *hex)
{
	CHECK_HEX(m->b, m->n, hex);
}

/* Known answers: the wire bytes are pinned independently of the encoder,
 * including the worked example of docs/PROTOCOL.md. */
static void test_known_answers(void)
{
	static const uint8_t op[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct addr bound;
	struct test_msg m;

	m.n = frame_hello(m.b, sizeof(m.b), 262144, 0);
	hex_eq(&m, "01 00 000c 00000000 50585431 01 00 0000 00040000");
	m.n = frame_open(m.b, sizeof(m.b), 1, &adom);
	hex_eq(&m, "02 00 000f 00000001 03 0b 6578616d706c652e636f6d 01bb");

	memset(&bound, 0, sizeof(bound));
	bound.type = ADDR_IPV4;
	memcpy(bound.u.v4, "\xcb\x00\x71\x05", 4); /* 203.0.113.5 */
	bound.port = 41234;
	m.n = frame_hello(m.b, sizeof(m.b), 262144, HELLO_F_REASONS);
	hex_eq(&m, "01 00 000c 00000000 50585431 01 01 0000 00040000");
	m.n = frame_result(m.b, sizeof(m.b), 1, PROTO_OK, REASON_NONE, &bound);
	hex_eq(&m, "03 00 0008 00000001 00 01 cb007105 a112");
	m.n = frame_result(m.b, sizeof(m.b), 3, PROTO_CONN_REFUSED, REASON_NONE,
			   NULL);
	hex_eq(&m, "03 00 0001 00000003 05");
	/* a reason takes the address's place; success has none */
	m.n = frame_result(m.b, sizeof(m.b), 3, PROTO_NOT_ALLOWED,
			   REASON_POLICY, &bound);
	hex_eq(&m, "03 00 0003 00000003 02 00 01");
	m.n = frame_result(m.b, sizeof(m.b), 3, PROTO_OK, REASON_POLICY,
			   &bound);
	hex_eq(&m, "03 00 0008 00000003 00 01 cb007105 a112");
	m.n = frame_open(m.b, sizeof(m.b), 0x01020304, &a6);
	hex_eq(&m, "02 00 0013 01020304 04 20010db8000000000000000000000001 "
		   "0035");
	m.n = frame_simple(m.b, sizeof(m.b), FRAME_FIN, 7);
	hex_eq(&m, "05 00 0000 00000007");
	m.n = frame_code(m.b, sizeof(m.b), FRAME_RST, 7, PROTO_GENERAL_FAILURE);
	hex_eq(&m, "06 00 0001 00000007 01");
	m.n = frame_window(m.b, sizeof(m.b), 7, 0x10000);
	hex_eq(&m, "07 00 0004 00000007 00010000");
	m.n = frame_simple(m.b, sizeof(m.b), FRAME_UDP_OPEN, 9);
	hex_eq(&m, "08 00 0000 00000009");
	m.n = frame_udp_hdr(m.b, sizeof(m.b), 9, &a4, 3);
	memcpy(m.b + m.n, "abc", 3);
	m.n += 3;
	hex_eq(&m, "09 00 000a 00000009 01 c0000201 0050 616263");
	m.n = frame_ping(m.b, sizeof(m.b), FRAME_PING, op);
	hex_eq(&m, "0a 00 0008 00000000 0102030405060708");
	m.n = frame_ping(m.b, sizeof(m.b), FRAME_PONG, op);
	hex_eq(&m, "0b 00 0008 00000000 0102030405060708");
	m.n = frame_code(m.b, sizeof(m.b), FRAME_GOAWAY, 0, 2);
	hex_eq(&m, "0c 00 0001 00000000 02");
	m.n = frame_code(m.b, sizeof(m.b), FRAME_UDP_PATH, 0, 1);
	hex_eq(&m, "0d 00 0001 00000000 01");
	{
		struct frame f;

		CHECK(frame_decode(m.b, m.n, &f) == (int)m.n &&
		      f.payload[0] == 1);
	}
}

static struct test_msg hello, open4, open6, opendom, openlong, res0, resr, res4,
	res6, resdom, data1, datamax, fin, rst, win, udpopen, udp4, udp6,
	udpdom, udpempty, ping, pong, goaway;

static void build_messages(void)
{
	static const uint8_t op[8] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3 };
	size_t i;

	hello.n = frame_hello(hello.b, sizeof(hello.b), 65536, HELLO_F_REASONS);
	open4.n = frame_open(open4.b, sizeof(open4.b), 1, &a4);
	open6.n = frame_open(open6.b, sizeof(open6.b), 2, &a6);
	opendom.n = frame_open(opendom.b, sizeof(opendom.b), 3, &adom);
	openlong.n = frame_open(openlong.b, sizeof(openlong.b), ~0u, &along);
	res0.n = frame_result(res0.b, sizeof(res0.b), 1, PROTO_CONN_REFUSED,
			      REASON_NONE, NULL);
	resr.n = frame_result(resr.b, sizeof(resr.b), 1, PROTO_HOST_UNREACHABLE,
			      REASON_NO_NAME, NULL);
	res4.n = frame_result(res4.b, sizeof(res4.b), 1, PROTO_OK, REASON_NONE,
			      &a4);
	res6.n = frame_result(res6.b, sizeof(res6.b), 2, PROTO_OK, REASON_NONE,
			      &a6);
	resdom.n = frame_result(resdom.b, sizeof(resdom.b), 3, PROTO_OK,
				REASON_NONE, &adom);

	frame_put_hdr(data1.b, FRAME_DATA, 1, 5);
	data1.b[FRAME_HDR_LEN] = 'x';
	data1.n = FRAME_HDR_LEN + 1;
	frame_put_hdr(datamax.b, FRAME_DATA, FRAME_MAX_PAYLOAD, 5);
	for (i = 0; i < FRAME_MAX_PAYLOAD; i++)
		datamax.b[FRAME_HDR_LEN + i] = (uint8_t)(i * 7);
	datamax.n = FRAME_MAX_LEN;

	fin.n = frame_simple(fin.b, sizeof(fin.b), FRAME_FIN, 5);
	rst.n = frame_code(rst.b, sizeof(rst.b), FRAME_RST, 5,
			   PROTO_TTL_EXPIRED);
	win.n = frame_window(win.b, sizeof(win.b), 5, 0xffffffffu);
	udpopen.n = frame_simple(udpopen.b, sizeof(udpopen.b), FRAME_UDP_OPEN,
				 6);
	udp4.n = frame_udp_hdr(udp4.b, sizeof(udp4.b), 6, &a4, 5);
	memcpy(udp4.b + udp4.n, "hello", 5);
	udp4.n += 5;
	udp6.n = frame_udp_hdr(udp6.b, sizeof(udp6.b), 6, &a6, 1);
	udp6.b[udp6.n++] = 0;
	udpdom.n = frame_udp_hdr(udpdom.b, sizeof(udpdom.b), 6, &adom, 2);
	memcpy(udpdom.b + udpdom.n, "hi", 2);
	udpdom.n += 2;
	udpempty.n = frame_udp_hdr(udpempty.b, sizeof(udpempty.b), 6, &a4, 0);
	ping.n = frame_ping(ping.b, sizeof(ping.b), FRAME_PING, op);
	pong.n = frame_ping(pong.b, sizeof(pong.b), FRAME_PONG, op);
	goaway.n = frame_code(goaway.b, sizeof(goaway.b), FRAME_GOAWAY, 0, 0);
}

/* Every valid message decoded whole and split, with its accessor. */
static void test_valid(void)
{
	const struct test_msg *all[] = {
		&hello,    &open4, &open6,   &opendom, &openlong, &res0,
		&res4,     &res6,  &resdom,  &data1,   &datamax,  &fin,
		&rst,      &win,   &udpopen, &udp4,    &udp6,     &udpdom,
		&udpempty, &ping,  &pong,    &goaway,
	};
	struct frame f;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all); i++) {
		memset(&f, 0, sizeof(f));
		check_whole(all[i], &f);
		check_same(&f, all[i]);
	}
	CHECK_EQ(datamax.n, FRAME_MAX_LEN);
}

static void test_round_trips(void)
{
	const uint8_t *data;
	struct addr a, b;
	struct hello h;
	size_t dlen;
	struct frame f;
	uint8_t code, reason;

	check_whole(&hello, &f);
	frame_get_hello(&f, &h);
	CHECK_EQ(f.type, FRAME_HELLO);
	CHECK_EQ(f.stream, 0);
	CHECK_EQ(h.version, PROTO_VERSION);
	CHECK_EQ(h.window, 65536);

	check_whole(&open4, &f);
	frame_get_addr(&f, &a);
	CHECK(test_addr_eq(&a, &a4));
	CHECK_EQ(f.stream, 1);
	check_whole(&open6, &f);
	frame_get_addr(&f, &a);
	CHECK(test_addr_eq(&a, &a6));
	check_whole(&opendom, &f);
	frame_get_addr(&f, &a);
	CHECK(test_addr_eq(&a, &adom));
	CHECK_STR(a.u.domain, "example.com");
	check_whole(&openlong, &f);
	frame_get_addr(&f, &a);
	CHECK(test_addr_eq(&a, &along));
	CHECK_EQ(f.stream, 0xffffffffu);

	check_whole(&res0, &f);
	frame_get_result(&f, &code, &reason, &b);
	CHECK_EQ(code, PROTO_CONN_REFUSED);
	CHECK_EQ(reason, REASON_NONE);
	CHECK_EQ(b.type, 0);
	CHECK_EQ(frame_get_code(&f), PROTO_CONN_REFUSED);
	frame_get_addr(&f, &a);
	CHECK_EQ(a.type, 0);
	check_whole(&resr, &f);
	frame_get_result(&f, &code, &reason, &b);
	CHECK_EQ(code, PROTO_HOST_UNREACHABLE);
	CHECK_EQ(reason, REASON_NO_NAME);
	CHECK_EQ(b.type, 0);
	frame_get_addr(&f, &a);
	CHECK_EQ(a.type, 0);
	CHECK_STR(proto_refusal_text(code, reason),
		  "the server found no address for the name");
	CHECK_STR(proto_refusal_text(PROTO_CONN_REFUSED, REASON_NONE),
		  "connection refused");
	CHECK_STR(proto_refusal_text(PROTO_CONN_REFUSED, 200),
		  "connection refused"); /* a newer server's reason */
	CHECK_STR(proto_refusal_text(99, REASON_NONE), "general failure");
	check_whole(&res4, &f);
	frame_get_result(&f, &code, &reason, &b);
	CHECK_EQ(code, PROTO_OK);
	CHECK(test_addr_eq(&b, &a4));
	frame_get_addr(&f, &a);
	CHECK(test_addr_eq(&a, &a4));
	check_whole(&res6, &f);
	frame_get_result(&f, &code, &reason, &b);
	CHECK(test_addr_eq(&b, &a6));
	check_whole(&resdom, &f);
	frame_get_result(&f, &code, &reason, &b);
	CHECK(test_addr_eq(&b, &adom));

	check_whole(&fin, &f);
	CHECK_EQ(f.type, FRAME_FIN);
	CHECK_EQ(f.stream, 5);
	check_whole(&rst, &f);
	CHECK_EQ(frame_get_code(&f), PROTO_TTL_EXPIRED);
	check_whole(&win, &f);
	CHECK_EQ(frame_get_window(&f), 0xffffffffu);
	check_whole(&udpopen, &f);
	CHECK_EQ(f.type, FRAME_UDP_OPEN);
	CHECK_EQ(f.len, 0);

	check_whole(&udp4, &f);
	frame_get_udp(&f, &a, &data, &dlen);
	CHECK(test_addr_eq(&a, &a4));
	CHECK(dlen == 5 && !memcmp(data, "hello", 5));
	frame_get_addr(&f, &b);
	CHECK(test_addr_eq(&b, &a4));
	check_whole(&udp6, &f);
	frame_get_udp(&f, &a, &data, &dlen);
	CHECK(test_addr_eq(&a, &a6));
	CHECK(dlen == 1 && data[0] == 0);
	check_whole(&udpdom, &f);
	frame_get_udp(&f, &a, &data, &dlen);
	CHECK(test_addr_eq(&a, &adom));
	CHECK(dlen == 2 && !memcmp(data, "hi", 2));
	check_whole(&udpempty, &f);
	frame_get_udp(&f, &a, &data, &dlen);
	CHECK(test_addr_eq(&a, &a4));
	CHECK_EQ(dlen, 0);
	CHECK(data == f.payload + f.len);

	check_whole(&ping, &f);
	CHECK_EQ(f.type, FRAME_PING);
	CHECK(!memcmp(f.payload, "\xde\xad\xbe\xef\0\1\2\3", 8));
	check_whole(&pong, &f);
	CHECK_EQ(f.type, FRAME_PONG);
	CHECK(!memcmp(f.payload, "\xde\xad\xbe\xef\0\1\2\3", 8));
	check_whole(&goaway, &f);
	CHECK_EQ(frame_get_code(&f), 0);

	check_whole(&datamax, &f);
	CHECK_EQ(f.len, FRAME_MAX_PAYLOAD);
	CHECK(f.payload == datamax.b + FRAME_HDR_LEN);
}

static void test_glued(void)
{
	check_glued3(&hello, &open4, &data1);
	check_glued3(&res4, &datamax, &fin);
	check_glued3(&udpopen, &udpempty, &udp6);
	check_glued3(&ping, &pong, &goaway);
	check_glued3(&opendom, &resdom, &win);
	check_glued3(&rst, &udpdom, &open6);
	check_glued2(&res0, &udp4);
	check_glued2(&openlong, &res6);
}

/* An invalid frame: the error comes with the whole frame. When hdr_only
 * is set, the header alone is enough to refuse it. */
static void expect_err(const struct test_msg *m, int err, int hdr_only)
{
	int bad = 0;
	size_t i;

	CHECK_EQ(decode_exact(m->b, m->n), err);
	for (i = 0; i < m->n; i++) {
		int want = (hdr_only && i >= FRAME_HDR_LEN) ? err : 0;

		if (decode_exact(m->b, i) != want)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

static void test_header_errors(void)
{
	static const uint8_t big[FRAME_MAX_PAYLOAD + 1];
	static const uint8_t types[] = { 0x00, 0x12, 0x20, 0x7f, 0x80, 0xff };
	struct test_msg m;
	struct frame f;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		mkp(&m, types[i], 1, "x", 1);
		expect_err(&m, FRAME_ERR_TYPE, 1);
		mkp(&m, types[i], 0, NULL, 0);
		expect_err(&m, FRAME_ERR_TYPE, 1);
	}
	/* the header is reported even on an error */
	mkp(&m, 0x42, 99, NULL, 0);
	CHECK_EQ(frame_decode(m.b, m.n, &f), FRAME_ERR_TYPE);
	CHECK_EQ(f.type, 0x42);
	CHECK_EQ(f.stream, 99);

	mk(&m, FRAME_DATA, 0x01, 1, 5, "x", 1);
	expect_err(&m, FRAME_ERR_VALUE, 1);
	mk(&m, FRAME_FIN, 0x80, 0, 5, NULL, 0);
	expect_err(&m, FRAME_ERR_VALUE, 1);

	/* one over the maximum, with and without its payload */
	mk(&m, FRAME_DATA, 0, FRAME_MAX_PAYLOAD + 1, 5, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_DATA, 5, big, sizeof(big));
	CHECK_EQ(m.n, FRAME_MAX_LEN + 1);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mk(&m, FRAME_DATA, 0, 0xffff, 5, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mk(&m, FRAME_UDP_DATA, 0, FRAME_MAX_PAYLOAD + 1, 5, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
}

static void test_hello_errors(void)
{
	static const uint8_t ok[12] = "PXT1\x01\0\0\0\0\0\x10\0";
	uint8_t p[13];
	struct test_msg m;

	mkp(&m, FRAME_HELLO, 0, ok, 12);
	check_whole(&m, &(struct frame){ 0 });
	mkp(&m, FRAME_HELLO, 1, ok, 12);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_HELLO, 0, ok, 11);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	memcpy(p, ok, 12);
	p[12] = 0;
	mkp(&m, FRAME_HELLO, 0, p, 13);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_HELLO, 0, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);

	memcpy(p, ok, 12);
	p[3] = '2';
	mkp(&m, FRAME_HELLO, 0, p, 12);
	expect_err(&m, FRAME_ERR_VALUE, 0);
	memcpy(p, "GET / HTTP/1", 12);
	mkp(&m, FRAME_HELLO, 0, p, 12);
	expect_err(&m, FRAME_ERR_VALUE, 0);
	memcpy(p, ok, 12);
	memset(p + 8, 0, 4);
	mkp(&m, FRAME_HELLO, 0, p, 12);
	expect_err(&m, FRAME_ERR_VALUE, 0);

	/* the version is the tunnel layer's business, not the decoder's */
	memcpy(p, ok, 12);
	p[4] = 2;
	mkp(&m, FRAME_HELLO, 0, p, 12);
	{
		struct frame f;
		struct hello h;

		check_whole(&m, &f);
		frame_get_hello(&f, &h);
		CHECK_EQ(h.version, 2);
		CHECK_EQ(h.window, 0x1000);
	}
}

static void test_addr_errors(void)
{
	static const uint8_t v4[7] = { 1, 10, 0, 0, 1, 0, 80 };
	static const uint8_t v4x[8] = { 1, 10, 0, 0, 1, 0, 80, 0 };
	static const uint8_t dom0[4] = { 3, 0, 0, 80 };
	static const uint8_t domshort[5] = { 3, 3, 'a', 'b', 0 };
	static const uint8_t atyp2[7] = { 2, 10, 0, 0, 1, 0, 80 };
	static const uint8_t atyp5[7] = { 5, 10, 0, 0, 1, 0, 80 };
	static const uint8_t v6short[18] = { 4 };
	uint8_t p[16];
	struct test_msg m;

	/* OPEN */
	mkp(&m, FRAME_OPEN, 0, v4, 7);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_OPEN, 1, v4x, 8);
	expect_err(&m, FRAME_ERR_LENGTH, 0);
	mkp(&m, FRAME_OPEN, 1, v4, 6);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_OPEN, 1, NULL, 0);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_OPEN, 1, dom0, 4);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_OPEN, 1, domshort, 5);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_OPEN, 1, atyp2, 7);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_OPEN, 1, atyp5, 7);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_OPEN, 1, v6short, 18);
	expect_err(&m, FRAME_ERR_ADDR, 0);

	/* RESULT: code, then nothing or exactly one address */
	mkp(&m, FRAME_RESULT, 0, "\0", 1);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_RESULT, 1, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	p[0] = 0;
	memcpy(p + 1, v4x, 8);
	mkp(&m, FRAME_RESULT, 1, p, 9);
	expect_err(&m, FRAME_ERR_LENGTH, 0);
	mkp(&m, FRAME_RESULT, 1, p, 7);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_RESULT, 1, p, 2);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	memcpy(p + 1, dom0, 4);
	mkp(&m, FRAME_RESULT, 1, p, 5);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	memcpy(p + 1, atyp5, 7);
	mkp(&m, FRAME_RESULT, 1, p, 8);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	/* or 00 and a failure's reason: three bytes, never with OK or 0 */
	mkp(&m, FRAME_RESULT, 1, "\x02\x00", 2);
	expect_err(&m, FRAME_ERR_LENGTH, 0);
	mkp(&m, FRAME_RESULT, 1, "\x02\x00\x01\x00", 4);
	expect_err(&m, FRAME_ERR_LENGTH, 0);
	mkp(&m, FRAME_RESULT, 1, "\x00\x00\x01", 3);
	expect_err(&m, FRAME_ERR_VALUE, 0);
	mkp(&m, FRAME_RESULT, 1, "\x02\x00\x00", 3);
	expect_err(&m, FRAME_ERR_VALUE, 0);
	mkp(&m, FRAME_RESULT, 1, "\x02\x00\xc8", 3); /* a future reason */
	check_whole(&m, &(struct frame){ 0 });

	/* UDP_DATA: an address, then the datagram */
	mkp(&m, FRAME_UDP_DATA, 0, v4, 7);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_UDP_DATA, 6, NULL, 0);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_UDP_DATA, 6, v4, 5);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_UDP_DATA, 6, atyp2, 7);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_UDP_DATA, 6, dom0, 4);
	expect_err(&m, FRAME_ERR_ADDR, 0);
	mkp(&m, FRAME_UDP_DATA, 6, v6short, 18);
	expect_err(&m, FRAME_ERR_ADDR, 0);
}

static void test_fixed_errors(void)
{
	static const uint8_t z[16];
	struct test_msg m;

	/* DATA */
	mkp(&m, FRAME_DATA, 0, "x", 1);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_DATA, 5, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	/* FIN */
	mkp(&m, FRAME_FIN, 0, NULL, 0);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_FIN, 5, z, 1);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	/* RST */
	mkp(&m, FRAME_RST, 0, z, 1);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_RST, 5, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_RST, 5, z, 2);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	/* WINDOW */
	mkp(&m, FRAME_WINDOW, 0, "\0\0\0\1", 4);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_WINDOW, 5, "\0\0\1", 3);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_WINDOW, 5, "\0\0\0\1\0", 5);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_WINDOW, 5, z, 4);
	expect_err(&m, FRAME_ERR_VALUE, 0);
	/* UDP_OPEN */
	mkp(&m, FRAME_UDP_OPEN, 0, NULL, 0);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_UDP_OPEN, 6, z, 1);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	/* PING, PONG */
	mkp(&m, FRAME_PING, 1, z, 8);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_PING, 0, z, 7);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_PING, 0, z, 9);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_PONG, 1, z, 8);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_PONG, 0, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	/* GOAWAY */
	mkp(&m, FRAME_GOAWAY, 1, z, 1);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_GOAWAY, 0, NULL, 0);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_GOAWAY, 0, z, 2);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	/* UDP_PATH: stream 0, one byte, 0 or 1 */
	mkp(&m, FRAME_UDP_PATH, 1, z, 1);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_UDP_PATH, 0, z, 2);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_UDP_PATH, 0, (const uint8_t *)"\x02", 1);
	expect_err(&m, FRAME_ERR_VALUE, 0);
}

/* Encoders fail with -1 one byte short and never write past cap. */
static void check_cap(int (*enc)(uint8_t *, size_t, int), int arg)
{
	static uint8_t out[FRAME_MAX_LEN + 16];
	int need = enc(out, sizeof(out), arg);
	int bad = 0, i, j;

	CHECK(need >= FRAME_HDR_LEN);
	for (i = 0; i < need; i++) {
		memset(out, 0xaa, sizeof(out));
		if (enc(out, (size_t)i, arg) != -1)
			bad++;
		for (j = i; j <= need; j++)
			if (out[j] != 0xaa)
				bad++;
	}
	CHECK_EQ(bad, 0);
	memset(out, 0xaa, sizeof(out));
	CHECK_EQ(enc(out, (size_t)need, arg), need);
	CHECK_EQ(out[need], 0xaa);
}

static const struct addr *pick(int i)
{
	const struct addr *as[] = { &a4, &a6, &adom, &along };

	return as[i];
}

static int enc_hello(uint8_t *o, size_t c, int i)
{
	(void)i;
	return frame_hello(o, c, 1, 0);
}

static int enc_open(uint8_t *o, size_t c, int i)
{
	return frame_open(o, c, 1, pick(i));
}

static int enc_result(uint8_t *o, size_t c, int i)
{
	return frame_result(o, c, 1, 0, 0, i < 0 ? NULL : pick(i));
}

static int enc_simple(uint8_t *o, size_t c, int i)
{
	(void)i;
	return frame_simple(o, c, FRAME_FIN, 1);
}

static int enc_code(uint8_t *o, size_t c, int i)
{
	(void)i;
	return frame_code(o, c, FRAME_RST, 1, 1);
}

static int enc_window(uint8_t *o, size_t c, int i)
{
	(void)i;
	return frame_window(o, c, 1, 1);
}

static int enc_ping(uint8_t *o, size_t c, int i)
{
	(void)i;
	return frame_ping(o, c, FRAME_PING, (const uint8_t *)"12345678");
}

static int enc_udp(uint8_t *o, size_t c, int i)
{
	return frame_udp_hdr(o, c, 1, pick(i), 100);
}

static void test_encoder_caps(void)
{
	int i;

	check_cap(enc_hello, 0);
	check_cap(enc_simple, 0);
	check_cap(enc_code, 0);
	check_cap(enc_window, 0);
	check_cap(enc_ping, 0);
	check_cap(enc_result, -1);
	for (i = 0; i < 4; i++) {
		check_cap(enc_open, i);
		check_cap(enc_result, i);
		check_cap(enc_udp, i);
	}
}

static void test_udp_limits(void)
{
	static uint8_t out[FRAME_MAX_LEN];
	size_t room4 = FRAME_MAX_PAYLOAD - 7;
	size_t room6 = FRAME_MAX_PAYLOAD - 19;
	struct frame f;
	int n;

	n = frame_udp_hdr(out, sizeof(out), 1, &a4, room4);
	CHECK_EQ(n, FRAME_HDR_LEN + 7);
	CHECK_EQ(get_be16(out + 2), FRAME_MAX_PAYLOAD);
	memset(out + n, 'u', room4);
	CHECK_EQ(frame_decode(out, sizeof(out), &f), FRAME_MAX_LEN);
	CHECK_EQ(frame_udp_hdr(out, sizeof(out), 1, &a4, room4 + 1), -1);
	CHECK_EQ(frame_udp_hdr(out, sizeof(out), 1, &a6, room6), 27);
	CHECK_EQ(frame_udp_hdr(out, sizeof(out), 1, &a6, room6 + 1), -1);
	CHECK_EQ(frame_udp_hdr(out, sizeof(out), 1, &a4, (size_t)-1), -1);
	CHECK_EQ(frame_udp_hdr(out, sizeof(out), 1, &a4, 65536 + 10), -1);
}

static void test_strings(void)
{
	static const char *const names[] = {
		[FRAME_HELLO] = "HELLO",       [FRAME_OPEN] = "OPEN",
		[FRAME_RESULT] = "RESULT",     [FRAME_DATA] = "DATA",
		[FRAME_FIN] = "FIN",           [FRAME_RST] = "RST",
		[FRAME_WINDOW] = "WINDOW",     [FRAME_UDP_OPEN] = "UDP_OPEN",
		[FRAME_UDP_DATA] = "UDP_DATA", [FRAME_PING] = "PING",
		[FRAME_PONG] = "PONG",         [FRAME_GOAWAY] = "GOAWAY",
		[FRAME_UDP_PATH] = "UDP_PATH",
	};
	size_t i;
	int e;

	for (i = FRAME_HELLO; i < ARRAY_SIZE(names); i++)
		CHECK_STR(frame_type_name((uint8_t)i), names[i]);
	CHECK_STR(frame_type_name(0), "unknown");
	CHECK_STR(frame_type_name(0x12), "unknown");
	CHECK_STR(frame_type_name(0xff), "unknown");

	CHECK_STR(frame_strerror(FRAME_ERR_TYPE), "unknown frame type");
	for (e = FRAME_ERR_VALUE; e <= FRAME_ERR_TYPE; e++) {
		CHECK(frame_strerror(e) != NULL);
		CHECK(strcmp(frame_strerror(e), frame_strerror(e - 1)) != 0);
	}
	CHECK(frame_strerror(-99) != NULL);
}

/* Resume frames (section 15): known answers, every prefix incomplete,
 * the fields back, and the layouts they break. */
static void test_resume_frames(void)
{
	static const uint8_t z[32];
	uint8_t tok[RESUME_TOKEN_LEN];
	struct sync y = { SYNC_F_FIN, 0x0102030405060708ull,
			  0x0102030405060708ull + 65536 },
		    y2;
	struct test_msg m;
	struct frame f;
	uint32_t r = 0;

	for (size_t i = 0; i < sizeof(tok); i++)
		tok[i] = (uint8_t)i;
	m.n = frame_window_ack(m.b, sizeof(m.b), 7, 0x10000, 0xdeadbeef);
	hex_eq(&m, "07 00 0008 00000007 00010000 deadbeef");
	check_whole(&m, &f);
	CHECK_EQ(frame_get_window(&f), 0x10000);
	CHECK(frame_get_window_ack(&f, &r) && r == 0xdeadbeef);
	m.n = frame_window(m.b, sizeof(m.b), 7, 1);
	check_whole(&m, &f);
	CHECK(!frame_get_window_ack(&f, &r));
	m.n = frame_session(m.b, sizeof(m.b), tok);
	hex_eq(&m, "0e 00 0018 00000000 000102030405060708090a0b0c0d0e0f"
		   "1011121314151617");
	check_whole(&m, &f);
	CHECK(!memcmp(frame_get_token(&f), tok, sizeof(tok)));
	m.n = frame_resume(m.b, sizeof(m.b), tok, 3);
	hex_eq(&m, "0f 00 001c 00000000 000102030405060708090a0b0c0d0e0f"
		   "1011121314151617 00000003");
	check_whole(&m, &f);
	CHECK(!memcmp(frame_get_token(&f), tok, sizeof(tok)));
	CHECK_EQ(frame_get_resume_count(&f), 3);
	m.n = frame_code(m.b, sizeof(m.b), FRAME_RESUMED, 0, RESUME_RESTARTED);
	hex_eq(&m, "10 00 0001 00000000 02");
	check_whole(&m, &f);
	m.n = frame_sync(m.b, sizeof(m.b), 5, &y);
	hex_eq(&m, "11 00 0011 00000005 01 0102030405060708 0102030405070708");
	check_whole(&m, &f);
	frame_get_sync(&f, &y2);
	CHECK(y2.flags == y.flags && y2.received == y.received &&
	      y2.limit == y.limit);

	/* WINDOW is 4 or 8 bytes, nothing between */
	mkp(&m, FRAME_WINDOW, 5, "\0\0\0\1\0\0", 6);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_WINDOW, 5, "\0\0\0\1\0\0\0\0\0", 9);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_SESSION, 1, tok, sizeof(tok));
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_SESSION, 0, tok, sizeof(tok) - 1);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_RESUME, 0, z, RESUME_TOKEN_LEN);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_RESUMED, 0, z, 2);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	mkp(&m, FRAME_SYNC, 0, z, 17);
	expect_err(&m, FRAME_ERR_STREAM, 1);
	mkp(&m, FRAME_SYNC, 1, z, 16);
	expect_err(&m, FRAME_ERR_LENGTH, 1);
	/* a limit below what was received */
	y.limit = y.received - 1;
	m.n = frame_sync(m.b, sizeof(m.b), 5, &y);
	expect_err(&m, FRAME_ERR_VALUE, 0);
	CHECK_STR(frame_type_name(FRAME_SYNC), "SYNC");
	CHECK_STR(resume_code_text(RESUME_OK), "resumed");
}

int main(void)
{
	setup_addrs();
	build_messages();
	test_known_answers();
	test_valid();
	test_round_trips();
	test_glued();
	test_header_errors();
	test_hello_errors();
	test_addr_errors();
	test_fixed_errors();
	test_encoder_caps();
	test_udp_limits();
	test_strings();
	test_resume_frames();
	return test_summary("test_frame");
}
