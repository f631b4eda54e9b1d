/* Unit tests for the SOCKS5 wire format (proxy-client/socks5_proto.c). */
#include <stdlib.h>
#include <string.h>

#include "../../common/frame.h"
#include "../../common/util.h"
#include "../../proxy-client/socks5_proto.h"
#include "test.h"

/* The parser for each stage of a SOCKS5 conversation. */
enum stage { GREETING, USERPASS, REQUEST };

union parsed {
	struct socks5_greeting g;
	struct socks5_userpass up;
	struct socks5_request r;
};

static int parse(enum stage st, const uint8_t *in, size_t len,
		 union parsed *out)
{
	switch (st) {
	case GREETING:
		return socks5_parse_greeting(in, len, &out->g);
	case USERPASS:
		return socks5_parse_userpass(in, len, &out->up);
	default:
		return socks5_parse_request(in, len, &out->r);
	}
}

/* Parses from a heap copy of exactly n bytes, so ASan sees overreads. */
static int parse_exact(enum stage st, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	union parsed out;
	int r;

	memcpy(c, p, n);
	r = parse(st, c, n, &out);
	free(c);
	return r;
}

static void mkhex(struct test_msg *m, const char *hex)
{
	m->n = test_unhex(m->b, hex);
}

/* Every strict prefix needs more (and leaves out untouched), the whole
 * message is consumed. */
static void check_whole(enum stage st, const struct test_msg *m,
			union parsed *out)
{
	union parsed guard, scratch;
	int bad = 0;
	size_t i;

	for (i = 0; i < m->n; i++) {
		memset(&guard, 0x5a, sizeof(guard));
		scratch = guard;
		if (parse_exact(st, m->b, i) != 0)
			bad++;
		if (parse(st, m->b, i, &scratch) != 0 ||
		    memcmp(&scratch, &guard, sizeof(guard)))
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(parse_exact(st, m->b, m->n), m->n);
	CHECK_EQ(parse(st, m->b, m->n, out), m->n);
}

/* Each message of a conversation by its stage's parser. */
static int parse_stage(void *arg, size_t k, const uint8_t *in, size_t len)
{
	const enum stage *st = arg;
	union parsed out;

	return parse(st[k], in, len, &out);
}

/* A conversation's client messages glued together and delivered in two
 * pieces cut at every offset; each is parsed by its stage's parser. */
static void check_glued(const enum stage *st, const struct test_msg **ms,
			size_t count)
{
	CHECK_EQ(test_feed_glued(parse_stage, (void *)st, ms, count), 0);
}

static struct test_msg g_none, g_two, g_all, up_short, up_empty_pass, up_max,
	req_v4, req_v6, req_dom, req_udp0, req_bind, req_odd, req_long;

static void build_messages(void)
{
	size_t i;

	mkhex(&g_none, "05 01 00");
	mkhex(&g_two, "05 02 00 02");
	g_all.b[0] = 5;
	g_all.b[1] = 255;
	for (i = 0; i < 255; i++)
		g_all.b[2 + i] = (uint8_t)i;
	g_all.n = 257;

	mkhex(&up_short, "01 05 616c696365 06 736563726574"); /* alice secret */
	mkhex(&up_empty_pass, "01 01 62 00");
	up_max.b[0] = 1;
	up_max.b[1] = 255;
	memset(up_max.b + 2, 'u', 255);
	up_max.b[257] = 255;
	memset(up_max.b + 258, 'p', 255);
	up_max.n = 513;

	mkhex(&req_v4, "05 01 00 01 c0000201 0050");
	mkhex(&req_v6, "05 01 00 04 20010db8000000000000000000000001 01bb");
	mkhex(&req_dom, "05 01 00 03 0b 6578616d706c652e636f6d 01bb");
	mkhex(&req_udp0, "05 03 00 01 00000000 0000");
	mkhex(&req_bind, "05 02 00 01 7f000001 1f90");
	mkhex(&req_odd, "05 7f 00 01 0a000001 0001");
	req_long.b[0] = 5;
	req_long.b[1] = 1;
	req_long.b[2] = 0;
	req_long.b[3] = 3;
	req_long.b[4] = 255;
	memset(req_long.b + 5, 'd', 255);
	put_be16(req_long.b + 260, 65535);
	req_long.n = 262;
}

static void test_greeting(void)
{
	union parsed p;

	check_whole(GREETING, &g_none, &p);
	CHECK_EQ(p.g.nmethods, 1);
	CHECK_EQ(p.g.methods[0], SOCKS5_METHOD_NONE);
	check_whole(GREETING, &g_two, &p);
	CHECK_EQ(p.g.nmethods, 2);
	CHECK_EQ(p.g.methods[1], SOCKS5_METHOD_USERPASS);
	check_whole(GREETING, &g_all, &p);
	CHECK_EQ(p.g.nmethods, 255);
	CHECK_EQ(p.g.methods[0], 0);
	CHECK_EQ(p.g.methods[254], 254);
}

static void test_userpass(void)
{
	union parsed p;

	check_whole(USERPASS, &up_short, &p);
	CHECK_EQ(p.up.ulen, 5);
	CHECK_EQ(p.up.plen, 6);
	CHECK_STR(p.up.user, "alice");
	CHECK_STR(p.up.pass, "secret");

	memset(&p, 'x', sizeof(p));
	check_whole(USERPASS, &up_empty_pass, &p);
	CHECK_EQ(p.up.ulen, 1);
	CHECK_EQ(p.up.plen, 0);
	CHECK_STR(p.up.user, "b");
	CHECK_STR(p.up.pass, "");

	memset(&p, 'x', sizeof(p));
	check_whole(USERPASS, &up_max, &p);
	CHECK_EQ(p.up.ulen, 255);
	CHECK_EQ(p.up.plen, 255);
	CHECK_EQ(strlen(p.up.user), 255);
	CHECK_EQ(strlen(p.up.pass), 255);
	CHECK_EQ(p.up.user[254], 'u');
	CHECK_EQ(p.up.pass[254], 'p');
}

static void test_request(void)
{
	union parsed p;

	check_whole(REQUEST, &req_v4, &p);
	CHECK_EQ(p.r.cmd, SOCKS5_CMD_CONNECT);
	CHECK_EQ(p.r.dst.type, ADDR_IPV4);
	CHECK(!memcmp(p.r.dst.u.v4, "\xc0\x00\x02\x01", 4));
	CHECK_EQ(p.r.dst.port, 80);

	check_whole(REQUEST, &req_v6, &p);
	CHECK_EQ(p.r.dst.type, ADDR_IPV6);
	CHECK_EQ(p.r.dst.u.v6[0], 0x20);
	CHECK_EQ(p.r.dst.u.v6[15], 1);
	CHECK_EQ(p.r.dst.port, 443);

	check_whole(REQUEST, &req_dom, &p);
	CHECK_EQ(p.r.dst.type, ADDR_DOMAIN);
	CHECK_EQ(p.r.dst.len, 11);
	CHECK_STR(p.r.dst.u.domain, "example.com");
	CHECK_EQ(p.r.dst.port, 443);

	check_whole(REQUEST, &req_udp0, &p);
	CHECK_EQ(p.r.cmd, SOCKS5_CMD_UDP_ASSOCIATE);
	CHECK_EQ(p.r.dst.type, ADDR_IPV4);
	CHECK_EQ(p.r.dst.port, 0);

	check_whole(REQUEST, &req_bind, &p);
	CHECK_EQ(p.r.cmd, SOCKS5_CMD_BIND);
	CHECK_EQ(p.r.dst.port, 8080);

	check_whole(REQUEST, &req_odd, &p);
	CHECK_EQ(p.r.cmd, 0x7f);

	check_whole(REQUEST, &req_long, &p);
	CHECK_EQ(p.r.dst.len, 255);
	CHECK_EQ(strlen(p.r.dst.u.domain), 255);
	CHECK_EQ(p.r.dst.port, 65535);
}

static void test_glued(void)
{
	const enum stage gr[] = { GREETING, REQUEST };
	const enum stage gur[] = { GREETING, USERPASS, REQUEST };
	const enum stage rr[] = { REQUEST, REQUEST };
	const struct test_msg *a[] = { &g_none, &req_dom };
	const struct test_msg *b[] = { &g_two, &up_short, &req_v6 };
	const struct test_msg *c[] = { &g_all, &up_max, &req_long };
	const struct test_msg *d[] = { &g_two, &up_empty_pass, &req_udp0 };
	const struct test_msg *e[] = { &req_v4, &req_bind };

	check_glued(gr, a, 2);
	check_glued(gur, b, 3);
	check_glued(gur, c, 3);
	check_glued(gur, d, 3);
	check_glued(rr, e, 2);
}

/* An invalid message: the error is reported at the first bad byte
 * (first_bad is the prefix length from which it shows) and for the
 * whole message. */
static void expect_err(enum stage st, const char *hex, size_t first_bad,
		       int err)
{
	struct test_msg m;
	int bad = 0;
	size_t i;

	mkhex(&m, hex);
	for (i = 0; i <= m.n; i++) {
		int want = i >= first_bad ? err : 0;

		if (parse_exact(st, m.b, i) != want)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(parse_exact(st, m.b, m.n), err);
}

static void test_errors(void)
{
	expect_err(GREETING, "04 01 00", 1, SOCKS5_ERR_VERSION);
	expect_err(GREETING, "00", 1, SOCKS5_ERR_VERSION);
	/* an HTTP request sent to the SOCKS port */
	expect_err(GREETING, "47 45 54 20 2f", 1, SOCKS5_ERR_VERSION);
	expect_err(GREETING, "05 00", 2, SOCKS5_ERR_METHODS);
	expect_err(GREETING, "05 00 00 00", 2, SOCKS5_ERR_METHODS);

	expect_err(USERPASS, "05 01 61 01 62", 1, SOCKS5_ERR_VERSION);
	expect_err(USERPASS, "00 01 61 01 62", 1, SOCKS5_ERR_VERSION);
	expect_err(USERPASS, "01 00 01 62", 2, SOCKS5_ERR_AUTH);
	expect_err(USERPASS, "01 00 00", 2, SOCKS5_ERR_AUTH);

	expect_err(REQUEST, "04 01 00 01 7f000001 0050", 1, SOCKS5_ERR_VERSION);
	expect_err(REQUEST, "05 01 01 01 7f000001 0050", 3,
		   SOCKS5_ERR_RESERVED);
	expect_err(REQUEST, "05 01 ff 03 01 61 0050", 3, SOCKS5_ERR_RESERVED);
	expect_err(REQUEST, "05 01 00 02 7f000001 0050", 4, SOCKS5_ERR_ATYP);
	expect_err(REQUEST, "05 01 00 00 7f000001 0050", 4, SOCKS5_ERR_ATYP);
	expect_err(REQUEST, "05 01 00 05 7f000001 0050", 4, SOCKS5_ERR_ATYP);
	expect_err(REQUEST, "05 01 00 ff", 4, SOCKS5_ERR_ATYP);
	expect_err(REQUEST, "05 01 00 03 00 0050", 5, SOCKS5_ERR_ADDR);
	/* a NUL inside a domain name is malformed too */
	expect_err(REQUEST, "05 01 00 03 03 610062 0050", 10, SOCKS5_ERR_ADDR);
}

static void test_udp_hdr(void)
{
	static const char *const bad_short[] = {
		"",
		"00",
		"0000",
		"000000",
		"000000 01",
		"000000 01 7f0000",
		"000000 01 7f000001 00",
		"000000 04 00000000",
		"000000 03",
		"000000 03 05 6162",
		"000000 03 02 6162 00",
	};
	struct socks5_udp_hdr h;
	struct test_msg m;
	size_t i;

	mkhex(&m, "0000 00 01 0a000001 0035 c0ffee");
	CHECK_EQ(socks5_parse_udp_hdr(m.b, m.n, &h), 10);
	CHECK_EQ(h.frag, 0);
	CHECK_EQ(h.dst.type, ADDR_IPV4);
	CHECK_EQ(h.dst.port, 53);
	/* header only, empty datagram */
	CHECK_EQ(socks5_parse_udp_hdr(m.b, 10, &h), 10);

	mkhex(&m, "1234 02 04 20010db8000000000000000000000001 1f90 00");
	CHECK_EQ(socks5_parse_udp_hdr(m.b, m.n, &h), 22);
	CHECK_EQ(h.frag, 2);
	CHECK_EQ(h.dst.type, ADDR_IPV6);
	CHECK_EQ(h.dst.port, 8080);

	mkhex(&m, "0000 00 03 0b 6578616d706c652e636f6d 01bb 01 02");
	CHECK_EQ(socks5_parse_udp_hdr(m.b, m.n, &h), 18);
	CHECK_STR(h.dst.u.domain, "example.com");

	/* a datagram is never "incomplete": every short one is refused */
	for (i = 0; i < m.n; i++)
		CHECK_EQ(socks5_parse_udp_hdr(m.b, i, &h),
			 i < 18 ? SOCKS5_ERR_ADDR : 18);
	for (i = 0; i < ARRAY_SIZE(bad_short); i++) {
		m.n = test_unhex(m.b, bad_short[i]);
		CHECK_EQ(socks5_parse_udp_hdr(m.b, m.n, &h), SOCKS5_ERR_ADDR);
	}

	mkhex(&m, "0000 00 02 0a000001 0035");
	CHECK_EQ(socks5_parse_udp_hdr(m.b, m.n, &h), SOCKS5_ERR_ATYP);
	mkhex(&m, "0000 00 00");
	CHECK_EQ(socks5_parse_udp_hdr(m.b, m.n, &h), SOCKS5_ERR_ATYP);
	mkhex(&m, "0000 00 03 00 0035 aa");
	CHECK_EQ(socks5_parse_udp_hdr(m.b, m.n, &h), SOCKS5_ERR_ADDR);
}

static void check_bytes(const uint8_t *out, int n, const char *hex)
{
	CHECK_HEX(out, n, hex);
}

/* cap one short fails with -1 and writes nothing at or after cap. */
static void check_cap_reply(const struct addr *a, int udp)
{
	uint8_t out[300];
	int need, i, j, bad = 0;

	need = udp ? socks5_write_udp_hdr(out, sizeof(out), a) :
		     socks5_write_reply(out, sizeof(out), 0, a);
	CHECK(need >= 10);
	for (i = 0; i < need; i++) {
		memset(out, 0xaa, sizeof(out));
		if ((udp ? socks5_write_udp_hdr(out, i, a) :
			   socks5_write_reply(out, i, 0, a)) != -1)
			bad++;
		for (j = i; j <= need; j++)
			if (out[j] != 0xaa)
				bad++;
	}
	CHECK_EQ(bad, 0);
}

static void test_writers(void)
{
	struct socks5_udp_hdr h;
	struct addr a4, a6, ad;
	uint8_t out[300];
	int n;

	memset(&a4, 0, sizeof(a4));
	a4.type = ADDR_IPV4;
	memcpy(a4.u.v4, "\x0a\x00\x00\x02", 4);
	a4.port = 1080;
	memset(&a6, 0, sizeof(a6));
	a6.type = ADDR_IPV6;
	a6.u.v6[15] = 1;
	a6.port = 53;
	memset(&ad, 0, sizeof(ad));
	ad.type = ADDR_DOMAIN;
	ad.len = 3;
	memcpy(ad.u.domain, "a.b", 4);
	ad.port = 7;

	check_bytes(out, socks5_write_method(out, 2, SOCKS5_METHOD_USERPASS),
		    "05 02");
	check_bytes(out,
		    socks5_write_method(out, 9, SOCKS5_METHOD_UNACCEPTABLE),
		    "05 ff");
	CHECK_EQ(socks5_write_method(out, 1, 0), -1);
	check_bytes(out, socks5_write_auth_status(out, 2, 0), "01 00");
	check_bytes(out, socks5_write_auth_status(out, 2, 1), "01 01");
	CHECK_EQ(socks5_write_auth_status(out, 1, 0), -1);

	check_bytes(out, socks5_write_reply(out, sizeof(out), 0, NULL),
		    "05 00 00 01 00000000 0000");
	check_bytes(out,
		    socks5_write_reply(out, sizeof(out), PROTO_CONN_REFUSED,
				       NULL),
		    "05 05 00 01 00000000 0000");
	check_bytes(out, socks5_write_reply(out, sizeof(out), 0, &a4),
		    "05 00 00 01 0a000002 0438");
	check_bytes(out, socks5_write_reply(out, sizeof(out), 0, &a6),
		    "05 00 00 04 00000000000000000000000000000001 0035");
	check_bytes(out, socks5_write_reply(out, sizeof(out), 0, &ad),
		    "05 00 00 03 03 612e62 0007");
	check_cap_reply(NULL, 0);
	check_cap_reply(&a4, 0);
	check_cap_reply(&a6, 0);
	check_cap_reply(&ad, 0);

	check_bytes(out, socks5_write_udp_hdr(out, sizeof(out), &a4),
		    "0000 00 01 0a000002 0438");
	check_cap_reply(&a4, 1);
	check_cap_reply(&a6, 1);
	check_cap_reply(&ad, 1);

	/* the UDP header round trip */
	n = socks5_write_udp_hdr(out, sizeof(out), &a6);
	CHECK_EQ(socks5_parse_udp_hdr(out, n, &h), n);
	CHECK_EQ(h.frag, 0);
	CHECK(h.dst.type == ADDR_IPV6 && h.dst.port == 53 &&
	      !memcmp(h.dst.u.v6, a6.u.v6, 16));
	n = socks5_write_udp_hdr(out, sizeof(out), &ad);
	CHECK_EQ(socks5_parse_udp_hdr(out, n, &h), n);
	CHECK_STR(h.dst.u.domain, "a.b");
	CHECK_EQ(h.dst.port, 7);
}

static void test_strings(void)
{
	int e;

	for (e = SOCKS5_ERR_AUTH; e <= SOCKS5_ERR_VERSION; e++) {
		CHECK(socks5_strerror(e) != NULL);
		CHECK(strcmp(socks5_strerror(e), socks5_strerror(e - 1)) != 0);
	}
	CHECK_STR(socks5_strerror(SOCKS5_ERR_VERSION), "wrong SOCKS version");
	CHECK(socks5_strerror(-100) != NULL);
}

int main(void)
{
	build_messages();
	test_greeting();
	test_userpass();
	test_request();
	test_glued();
	test_errors();
	test_udp_hdr();
	test_writers();
	test_strings();
	return test_summary("test_socks5");
}
