/* libFuzzer target: the SOCKS5 parsers (proxy-client/socks5_proto.c).
 *
 *  - Each parser (greeting, RFC 1929 user/password, request, UDP header)
 *    gets the whole input on its own.
 *  - The input is also read as one client connection would send it:
 *    greeting, then user/password when offered, then the request, each
 *    message consumed from what is left, as the SOCKS5 front-end does.
 *  - A message a parser accepts must "need more" at every shorter
 *    prefix; a message it refuses must need more or fail the same way
 *    (it is refused at its first wrong byte). Prefixes are checked with
 *    the bytes past them poisoned, so reading ahead is an ASan report.
 *  - What was parsed is written back with the encoders (a reply has the
 *    request's layout, the UDP header is the same both ways) and must
 *    give the input's bytes; the encoders get exact and too small room. */
#include "fuzz.h"

#include "../../proxy-client/socks5_proto.h"

enum msg { GREETING, USERPASS, REQUEST, UDP_HDR };

/* Longer than any message: VER ULEN UNAME[255] PLEN PASSWD[255]. */
#define MSG_MAX 520

union parsed {
	struct socks5_greeting g;
	struct socks5_userpass up;
	struct socks5_request r;
	struct socks5_udp_hdr u;
};

static int parse(enum msg m, const uint8_t *in, size_t len, union parsed *out)
{
	switch (m) {
	case GREETING:
		return socks5_parse_greeting(in, len, &out->g);
	case USERPASS:
		return socks5_parse_userpass(in, len, &out->up);
	case REQUEST:
		return socks5_parse_request(in, len, &out->r);
	case UDP_HDR:
		return socks5_parse_udp_hdr(in, len, &out->u);
	}
	return -100;
}

/* Encodes "b0 b1 0 addr" with exact room and one byte less; the bytes
 * must be in[0..n) (in[2] must be 0 where the caller compares it). */
static void check_with_addr(const uint8_t *in, size_t n, uint8_t rep,
			    const struct addr *a, int udp)
{
	uint8_t *out = malloc(n);
	int r;

	FUZZ_ASSERT(out != NULL);
	r = udp ? socks5_write_udp_hdr(out, n, a) :
		  socks5_write_reply(out, n, rep, a);
	FUZZ_ASSERT(r == (int)n);
	/* the UDP header's RSV and FRAG are not the parser's to keep */
	FUZZ_ASSERT(!memcmp(out + 3, in + 3, n - 3));
	if (!udp)
		FUZZ_ASSERT(!memcmp(out, in, 3));
	free(out);
	out = malloc(n - 1);
	FUZZ_ASSERT(out != NULL);
	r = udp ? socks5_write_udp_hdr(out, n - 1, a) :
		  socks5_write_reply(out, n - 1, rep, a);
	FUZZ_ASSERT(r == -1);
	free(out);
}

/* What an accepted message holds, against its bytes. */
static void check_parsed(enum msg m, const uint8_t *in, size_t n,
			 const union parsed *p)
{
	switch (m) {
	case GREETING:
		FUZZ_ASSERT(in[0] == SOCKS5_VERSION && p->g.nmethods > 0);
		FUZZ_ASSERT(n == 2 + (size_t)p->g.nmethods);
		FUZZ_ASSERT(!memcmp(p->g.methods, in + 2, p->g.nmethods));
		break;
	case USERPASS:
		FUZZ_ASSERT(in[0] == SOCKS5_AUTH_VERSION && p->up.ulen > 0);
		FUZZ_ASSERT(n == 3 + (size_t)p->up.ulen + p->up.plen);
		FUZZ_ASSERT(in[1] == p->up.ulen &&
			    in[2 + p->up.ulen] == p->up.plen);
		FUZZ_ASSERT(!memcmp(p->up.user, in + 2, p->up.ulen) &&
			    p->up.user[p->up.ulen] == '\0');
		FUZZ_ASSERT(!memcmp(p->up.pass, in + 3 + p->up.ulen,
				    p->up.plen) &&
			    p->up.pass[p->up.plen] == '\0');
		break;
	case REQUEST:
		FUZZ_ASSERT(in[0] == SOCKS5_VERSION && in[2] == 0);
		FUZZ_ASSERT(p->r.cmd == in[1]);
		fuzz_valid_addr(&p->r.dst);
		/* a reply is VER REP RSV ADDR: the request's own layout */
		check_with_addr(in, n, p->r.cmd, &p->r.dst, 0);
		break;
	case UDP_HDR:
		FUZZ_ASSERT(p->u.frag == in[2]);
		fuzz_valid_addr(&p->u.dst);
		check_with_addr(in, n, 0, &p->u.dst, 1);
		break;
	}
}

/* One parser over in[0..len): returns its result after checking it and
 * its prefixes. */
static int check_msg(enum msg m, const uint8_t *in, size_t len)
{
	uint8_t *buf = fuzz_dup(in, len);
	union parsed p, q;
	int r, rk;
	size_t k, n;

	memset(&p, 0, sizeof(p));
	r = parse(m, buf, len, &p);
	FUZZ_ASSERT(r <= (int)len);
	if (r < 0)
		FUZZ_ASSERT(strcmp(socks5_strerror(r), "unknown SOCKS5 error"));
	if (r > 0)
		check_parsed(m, buf, (size_t)r, &p);
	/* a datagram is whole: a short one is malformed, not incomplete */
	if (m == UDP_HDR)
		FUZZ_ASSERT(r != 0);
	/* the answer for len bytes holds for any longer input: check the
	 * shorter prefixes (of the message, or of what was refused; every
	 * message is refused within its longest length) */
	n = r > 0 ? (size_t)r : len;
	for (k = 0; m != UDP_HDR && k < n && k < MSG_MAX; k++) {
		fuzz_clip(buf, len, k);
		rk = parse(m, buf, k, &q);
		FUZZ_ASSERT(rk == 0 || (r < 0 && rk == r));
	}
	/* bytes after a whole message (a datagram's payload) change nothing */
	if (r > 0 && (size_t)r < len) {
		fuzz_clip(buf, len, (size_t)r);
		FUZZ_ASSERT(parse(m, buf, (size_t)r, &q) == r);
	}
	fuzz_clip(buf, len, len);
	free(buf);
	return r;
}

/* A connection's bytes: greeting, user/password if offered, request. */
static void check_session(const uint8_t *in, size_t len)
{
	struct socks5_greeting g;
	size_t off = 0;
	int n, userpass = 0, i;

	n = check_msg(GREETING, in, len);
	if (n <= 0)
		return;
	socks5_parse_greeting(in, len, &g);
	for (i = 0; i < g.nmethods; i++)
		if (g.methods[i] == SOCKS5_METHOD_USERPASS)
			userpass = 1;
	off += (size_t)n;
	if (userpass) {
		n = check_msg(USERPASS, in + off, len - off);
		if (n <= 0)
			return;
		off += (size_t)n;
	}
	check_msg(REQUEST, in + off, len - off);
}

/* The fixed-size answers: method choice, auth status, a reply with no
 * bound address (0.0.0.0:0), with exact and too little room. */
static void check_answers(uint8_t b)
{
	static const uint8_t none[10] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	uint8_t *out = malloc(10);

	FUZZ_ASSERT(out != NULL);
	FUZZ_ASSERT(socks5_write_method(out, 2, b) == 2 && out[0] == 5 &&
		    out[1] == b);
	FUZZ_ASSERT(socks5_write_auth_status(out, 2, b) == 2 && out[0] == 1 &&
		    out[1] == b);
	FUZZ_ASSERT(socks5_write_reply(out, 10, 0, NULL) == 10 &&
		    !memcmp(out, none, 10));
	free(out);
	out = malloc(1);
	FUZZ_ASSERT(out != NULL);
	FUZZ_ASSERT(socks5_write_method(out, 1, b) == -1);
	FUZZ_ASSERT(socks5_write_auth_status(out, 1, b) == -1);
	FUZZ_ASSERT(socks5_write_reply(out, 1, b, NULL) == -1);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size)
		check_answers(data[size - 1]);
	check_msg(GREETING, data, size);
	check_msg(USERPASS, data, size);
	check_msg(REQUEST, data, size);
	check_msg(UDP_HDR, data, size);
	check_session(data, size);
	return 0;
}
