/* Unit tests for common/assoc.c, the UDP association, on a tunnel that
 * never leaves its handshake (frames are fed to the stream directly):
 * opening (idempotent, none without a tunnel, start kept on a reopen),
 * UDP_DATA handed over with its peer and counted only when delivered,
 * RESULT to the client (accepted, refused through result() or, without
 * it, ended()), RST and a lost tunnel ending it with their code, DATA,
 * FIN and WINDOW ignored, the server side ignoring RESULT and counting
 * the other way, the frame header written in front of a sent datagram,
 * send errors, an idempotent close that calls no op, and status. */
#include <errno.h>
#include <ev.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/assoc.h"
#include "test.h"

struct owner {
	struct assoc a;
	int datagrams, results, ends;
	int refuse;     /* datagram() says not delivered */
	uint8_t code;   /* of the last result() or ended() */
	uint8_t reason; /* of the last result() */
	struct addr peer;
	uint8_t data[64];
	size_t len;
};

static struct owner *of(struct assoc *a)
{
	return (struct owner *)a;
}

static int datagram(struct assoc *a, const struct addr *peer,
		    const uint8_t *data, size_t len)
{
	struct owner *o = of(a);

	o->datagrams++;
	o->peer = *peer;
	o->len = len < sizeof(o->data) ? len : sizeof(o->data);
	memcpy(o->data, data, o->len);
	return o->refuse ? -1 : 0;
}

static void result(struct assoc *a, uint8_t code, uint8_t reason)
{
	of(a)->results++;
	of(a)->code = code;
	of(a)->reason = reason;
}

static void ended(struct assoc *a, uint8_t code)
{
	of(a)->ends++;
	of(a)->code = code;
}

static void info(struct assoc *a, struct stream_info *i)
{
	i->state = "mine";
}

static const struct assoc_ops with_result = {
	.datagram = datagram,
	.result = result,
	.ended = ended,
	.info = info,
};

static const struct assoc_ops without_result = {
	.datagram = datagram,
	.ended = ended,
};

/* Feeds one encoded frame to the association's stream. */
static void feed(struct assoc *a, const uint8_t *b, int n)
{
	struct frame f;

	CHECK(n > 0);
	CHECK_EQ(frame_decode(b, (size_t)n, &f), n);
	a->s.ops->frame(&a->s, &f);
}

static void feed_udp(struct assoc *a, const char *peer, const char *data)
{
	uint8_t b[128];
	struct addr p;
	size_t len = strlen(data);
	int hl;

	CHECK_EQ(addr_parse(peer, 0, &p), 0);
	hl = frame_udp_hdr(b, sizeof(b), a->s.id, &p, len);
	CHECK(hl > 0);
	memcpy(b + hl, data, len);
	feed(a, b, hl + (int)len);
}

static void feed_code(struct assoc *a, uint8_t type, uint8_t code)
{
	uint8_t b[FRAME_HDR_LEN + 1];

	feed(a, b, frame_code(b, sizeof(b), type, a->s.id, code));
}

static void feed_result(struct assoc *a, uint8_t code, uint8_t reason)
{
	uint8_t b[FRAME_HDR_LEN + 3];

	feed(a, b, frame_result(b, sizeof(b), a->s.id, code, reason, NULL));
}

static void test_open(struct tunnel *t)
{
	struct owner o;
	uint32_t id;

	memset(&o, 0, sizeof(o));
	CHECK_EQ(assoc_open(&o.a, NULL, &with_result), -1);
	CHECK(!o.a.s.t);
	CHECK_EQ(assoc_open(&o.a, t, &with_result), 0);
	CHECK(o.a.s.t == t);
	CHECK(o.a.start > 0);
	CHECK(!o.a.server_side);
	id = o.a.s.id;
	/* open already: no new stream, with or without a tunnel */
	CHECK_EQ(assoc_open(&o.a, NULL, &with_result), 0);
	CHECK_EQ(assoc_open(&o.a, t, &with_result), 0);
	CHECK_EQ(o.a.s.id, id);
	CHECK_EQ(tunnel_stream_count(t), 1);
	assoc_close(&o.a, PROTO_OK);
	CHECK(!o.a.s.t);
	CHECK_EQ(tunnel_stream_count(t), 0);
	assoc_close(&o.a, PROTO_OK); /* idempotent */
	CHECK_EQ(o.ends + o.results + o.datagrams, 0);
	/* reopened: a new stream, the same start */
	o.a.start = 42;
	CHECK_EQ(assoc_open(&o.a, t, &with_result), 0);
	CHECK(o.a.s.id != id);
	CHECK(o.a.start == 42);
	assoc_close(&o.a, PROTO_OK);
}

static void test_datagrams(struct tunnel *t)
{
	struct owner o;
	char p[ADDR_STR_MAX];

	memset(&o, 0, sizeof(o));
	assoc_open(&o.a, t, &with_result);
	feed_udp(&o.a, "192.0.2.7:5353", "hello");
	CHECK_EQ(o.datagrams, 1);
	CHECK_STR(addr_str(&o.peer, p, sizeof(p)), "192.0.2.7:5353");
	CHECK_EQ(o.len, 5);
	CHECK(!memcmp(o.data, "hello", 5));
	CHECK_EQ(o.a.down, 5);
	CHECK_EQ(o.a.up, 0);
	/* not delivered: not counted */
	o.refuse = 1;
	feed_udp(&o.a, "[2001:db8::1]:9", "abc");
	CHECK_EQ(o.datagrams, 2);
	CHECK_STR(addr_str(&o.peer, p, sizeof(p)), "[2001:db8::1]:9");
	CHECK_EQ(o.a.down, 5);
	/* meaningless on an association: dropped, nothing ends */
	{
		uint8_t b[FRAME_HDR_LEN + 4];

		feed(&o.a, b, frame_window(b, sizeof(b), o.a.s.id, 1000));
		feed(&o.a, b, frame_simple(b, sizeof(b), FRAME_FIN, o.a.s.id));
		frame_put_hdr(b, FRAME_DATA, 4, o.a.s.id);
		memcpy(b + FRAME_HDR_LEN, "data", 4);
		feed(&o.a, b, (int)sizeof(b));
	}
	CHECK(o.a.s.t == t);
	CHECK_EQ(o.ends + o.results, 0);
	CHECK_EQ(o.datagrams, 2);
	assoc_close(&o.a, PROTO_OK);
}

static void test_result(struct tunnel *t)
{
	struct owner o;

	memset(&o, 0, sizeof(o));
	assoc_open(&o.a, t, &with_result);
	feed_result(&o.a, PROTO_OK, REASON_NONE);
	CHECK_EQ(o.results, 1);
	CHECK_EQ(o.code, PROTO_OK);
	CHECK_EQ(o.reason, REASON_NONE);
	CHECK(o.a.s.t == t);
	/* refused: over before result() hears of it; no ended() */
	assoc_close(&o.a, PROTO_OK);
	assoc_open(&o.a, t, &with_result);
	feed_result(&o.a, PROTO_NOT_ALLOWED, REASON_POLICY);
	CHECK_EQ(o.results, 2);
	CHECK_EQ(o.code, PROTO_NOT_ALLOWED);
	CHECK_EQ(o.reason, REASON_POLICY);
	CHECK(!o.a.s.t);
	CHECK_EQ(o.ends, 0);
	CHECK_EQ(tunnel_stream_count(t), 0);

	/* without result(): an accept is silent, a refusal ends it */
	memset(&o, 0, sizeof(o));
	assoc_open(&o.a, t, &without_result);
	feed_result(&o.a, PROTO_OK, REASON_NONE);
	CHECK(o.a.s.t == t);
	CHECK_EQ(o.ends, 0);
	feed_result(&o.a, PROTO_HOST_UNREACHABLE, REASON_NO_NAME);
	CHECK(!o.a.s.t);
	CHECK_EQ(o.ends, 1);
	CHECK_EQ(o.code, PROTO_HOST_UNREACHABLE);
}

static void test_end(struct tunnel *t)
{
	struct owner o;

	memset(&o, 0, sizeof(o));
	assoc_open(&o.a, t, &with_result);
	feed_code(&o.a, FRAME_RST, PROTO_TTL_EXPIRED);
	CHECK(!o.a.s.t);
	CHECK_EQ(o.ends, 1);
	CHECK_EQ(o.code, PROTO_TTL_EXPIRED);
	CHECK_EQ(o.results, 0);
	CHECK_EQ(tunnel_stream_count(t), 0);

	/* the tunnel went away: it detaches the stream, then aborts it */
	assoc_open(&o.a, t, &with_result);
	tunnel_detach(&o.a.s);
	o.a.s.ops->abort(&o.a.s);
	CHECK_EQ(o.ends, 2);
	CHECK_EQ(o.code, ASSOC_TUNNEL_LOST);
	assoc_close(&o.a, PROTO_OK); /* nothing left to close */
	CHECK_EQ(o.ends, 2);
}

static void test_server_side(struct tunnel *t)
{
	struct owner o;

	memset(&o, 0, sizeof(o));
	assoc_accept(&o.a, t, 1000, &with_result);
	CHECK(o.a.server_side);
	CHECK_EQ(o.a.s.id, 1000);
	CHECK(o.a.start > 0);
	/* a client sends no RESULT: ignored */
	feed_result(&o.a, PROTO_GENERAL_FAILURE, REASON_NONE);
	CHECK_EQ(o.results + o.ends, 0);
	CHECK(o.a.s.t == t);
	/* what arrives goes toward the destination: up */
	feed_udp(&o.a, "example.com:53", "query");
	CHECK_EQ(o.peer.type, ADDR_DOMAIN);
	CHECK_EQ(o.a.up, 5);
	CHECK_EQ(o.a.down, 0);
	feed_code(&o.a, FRAME_RST, PROTO_OK);
	CHECK_EQ(o.ends, 1);
	CHECK_EQ(o.code, PROTO_OK);
	CHECK(!o.a.s.t);
}

static void test_send(struct tunnel *t)
{
	struct owner o;
	uint8_t b[FRAME_UDP_HDR_IP_MAX + FRAME_MAX_PAYLOAD];
	uint8_t *data = b + FRAME_UDP_HDR_IP_MAX;
	struct addr peer, got;
	const uint8_t *gd;
	size_t gl;
	struct frame f;
	int hl;

	memset(&o, 0, sizeof(o));
	addr_parse("198.51.100.1:4000", 0, &peer);
	memcpy(data, "ping", 4);
	CHECK_EQ(assoc_send(&o.a, &peer, data, 4), -ENOTCONN);
	assoc_open(&o.a, t, &with_result);
	/* the tunnel is not up: dropped, the header written in front */
	CHECK_EQ(assoc_send(&o.a, &peer, data, 4), -ENOBUFS);
	CHECK_EQ(o.a.up, 0);
	hl = FRAME_HDR_LEN + 1 + 4 + 2;
	CHECK_EQ(frame_decode(data - hl, (size_t)hl + 4, &f), hl + 4);
	CHECK_EQ(f.type, FRAME_UDP_DATA);
	CHECK_EQ(f.stream, o.a.s.id);
	frame_get_udp(&f, &got, &gd, &gl);
	CHECK_EQ(gl, 4);
	CHECK(gd == data);
	CHECK(got.port == 4000 && got.type == ADDR_IPV4);
	/* address and datagram must fit one frame */
	CHECK_EQ(assoc_send(&o.a, &peer, data, FRAME_MAX_PAYLOAD - 6),
		 -EMSGSIZE);
	assoc_close(&o.a, PROTO_OK);
}

static void collect(const struct stream_info *i, void *arg)
{
	*(struct stream_info *)arg = *i;
}

static void test_info(struct tunnel *t)
{
	struct owner o;
	struct stream_info i;

	memset(&o, 0, sizeof(o));
	assoc_open(&o.a, t, &with_result);
	o.a.up = 7;
	o.a.down = 9;
	memset(&i, 0, sizeof(i));
	tunnel_each_stream(t, collect, &i);
	CHECK_STR(i.kind, "UDP");
	CHECK(i.start == o.a.start);
	CHECK_EQ(i.up, 7);
	CHECK_EQ(i.down, 9);
	CHECK_STR(i.state, "mine");
	assoc_close(&o.a, PROTO_OK);

	memset(&o, 0, sizeof(o));
	assoc_open(&o.a, t, &without_result);
	memset(&i, 0, sizeof(i));
	tunnel_each_stream(t, collect, &i);
	CHECK_STR(i.state, "open");
	assoc_close(&o.a, PROTO_OK);
}

int main(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	static const struct tunnel_ops tops;
	struct tunnel_params p = { .handshake_timeout = 10 };
	struct tunnel *t;
	struct tls *tls;
	int sv[2], fd;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* never run: no TLS, the frames go in by hand */
	t = tunnel_new(loop, sv[0], NULL, &tops, &p, NULL);
	test_open(t);
	test_datagrams(t);
	test_result(t);
	test_end(t);
	test_server_side(t);
	test_send(t);
	test_info(t);
	CHECK_EQ(tunnel_stream_count(t), 0);
	tunnel_release(t, &fd, &tls);
	close(fd);
	close(sv[1]);
	ev_loop_destroy(loop);
	return test_summary("assoc");
}
