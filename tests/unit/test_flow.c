/* Unit tests for the TCP flow (common/flow.c), run over a real client
 * and server tunnel (tunnel_pair.h): half-close each way, credit and
 * WINDOW updates, reset with its code, the idle timeout, the rate caps
 * each way (a functional bound: 1 MiB at 2 MiB/s, starting empty,
 * takes between 0.3 and 1 s, and arrives intact), a peer that breaks
 * the flow's rules, and the buffer a reset gives back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/bucket.h"
#include "../../common/frame.h"
#include "test.h"
#include "tunnel_pair.h"

#define WIN (64u << 10)

static struct tunnel_pair tp;

struct two {
	struct tflow *a, *b;
};

static int reader_done(void *arg)
{
	struct treader *r = arg;

	return r->eof || r->err;
}

/* What r reads, up to the end of data, is want[0..n). */
static void expect_all(struct treader *r, const uint8_t *want, size_t n)
{
	CHECK_EQ(tp_run(&tp, reader_done, r, 5), 0);
	CHECK(r->eof && !r->err);
	CHECK_EQ(r->len, n);
	CHECK(r->len == n && !memcmp(r->p, want, n));
}

static int both_closed(void *arg)
{
	struct two *t = arg;

	return t->a->closed && t->b->closed;
}

static int credit_spent(void *arg)
{
	struct tflow *c = arg;

	return c->f.credit == 0;
}

/* Tunnels up and one flow relaying; idle is the server's idle timeout. */
static int start(struct tflow *c, struct tflow *s, double idle)
{
	struct tunnel_params cp, sp;
	int rc;

	tp_params(&cp, 0, WIN);
	tp_params(&sp, 1, WIN);
	sp.idle_timeout = idle;
	rc = tflow_start(&tp, &cp, &sp, c, s);
	CHECK_EQ(rc, 0); /* tunnels and flow up */
	return rc;
}

/* One side ends its data (a short request), the other still sends a
 * megabyte (many windows) and then ends too: the first end must not
 * close the flow. up: the client's application ends first. */
static void test_half_close(int up)
{
	static uint8_t first[1000], second[1 << 20];
	static uint8_t got1[sizeof(first)], got2[sizeof(second)];
	struct tflow c, s;
	struct two t = { &c, &s };
	struct twriter w1, w2;
	struct treader r1, r2;
	int ends, other;

	if (start(&c, &s, 0) == 0) {
		ends = up ? c.app : s.app;
		other = up ? s.app : c.app;
		fill_pattern(first, sizeof(first), 1);
		fill_pattern(second, sizeof(second), 2);
		tw_start(tp.loop, &w1, ends, first, sizeof(first), 1);
		tr_start(tp.loop, &r1, other, got1, sizeof(got1));
		expect_all(&r1, first, sizeof(first));
		CHECK(!c.closed && !s.closed); /* half-closed, not over */

		tw_start(tp.loop, &w2, other, second, sizeof(second), 1);
		tr_start(tp.loop, &r2, ends, got2, sizeof(got2));
		expect_all(&r2, second, sizeof(second));
		CHECK_EQ(tp_run(&tp, both_closed, &t, 5), 0);
		CHECK_EQ(c.reason, PROTO_OK);
		CHECK_EQ(s.reason, PROTO_OK);
	}
	tflow_stop(&tp, &c, &s);
}

/* The destination reads nothing (its socket takes a few KiB): the
 * client flow sends one window, then stops reading its socket. Once
 * the destination reads, WINDOW updates resume it, and all eight
 * windows' bytes arrive, complete and in order. */
static void test_credit(void)
{
	static uint8_t data[8 * WIN + 1234], got[sizeof(data)];
	struct tflow c, s;
	struct twriter w;
	struct treader r;
	int small = 4096;

	if (start(&c, &s, 0) == 0) {
		fill_pattern(data, sizeof(data), 3);
		setsockopt(s.f.fd, SOL_SOCKET, SO_SNDBUF, &small,
			   sizeof(small));
		tw_start(tp.loop, &w, c.app, data, sizeof(data), 1);
		CHECK_EQ(tp_run(&tp, credit_spent, &c, 5), 0);
		tp_wait(&tp, 0.2);
		CHECK_EQ(c.f.credit, 0);
		CHECK_EQ(c.f.up_bytes, WIN); /* not a byte past the window */
		CHECK(!ev_is_active(&c.f.rio));
		CHECK(!w.done); /* the rest waits in the application's socket */

		tr_start(tp.loop, &r, s.app, got, sizeof(got));
		expect_all(&r, data, sizeof(data));
		CHECK_EQ(c.f.up_bytes, sizeof(data));
	}
	tflow_stop(&tp, &c, &s);
}

/* A reset ends both ends with its code, and the peer's socket sees the
 * end too. */
static void test_reset(int from_client, uint8_t code)
{
	struct tflow c, s;
	struct tflow *by = from_client ? &c : &s, *peer = from_client ? &s : &c;
	struct treader r;
	uint8_t buf[16];

	if (start(&c, &s, 0) == 0) {
		flow_reset(&by->f, code, "test");
		CHECK(by->closed);
		CHECK_EQ(by->reason, code);
		tr_start(tp.loop, &r, peer->app, buf, sizeof(buf));
		CHECK_EQ(tp_run(&tp, reader_done, &r, 5), 0);
		CHECK(r.eof || r.err == ECONNRESET);
		CHECK(peer->closed);
		CHECK_EQ(peer->reason, code);
	}
	tflow_stop(&tp, &c, &s);
}

/* A flow that moves a byte now and then outlives the idle timeout; one
 * silent for longer is reset with TTL_EXPIRED on both sides. */
static void test_idle(void)
{
	struct tflow c, s;
	struct two t = { &c, &s };
	ev_tstamp since;
	int i;

	if (start(&c, &s, 0.3) == 0) {
		for (i = 0; i < 4; i++) {
			tp_wait(&tp, 0.15);
			CHECK_EQ(write(c.app, "x", 1), 1);
		}
		tp_wait(&tp, 0.05);
		CHECK(!c.closed && !s.closed);
		ev_now_update(tp.loop);
		since = ev_now(tp.loop);
		CHECK_EQ(tp_run(&tp, both_closed, &t, 3), 0);
		CHECK(ev_now(tp.loop) - since >= 0.2);
		CHECK_EQ(s.reason, PROTO_TTL_EXPIRED);
		CHECK_EQ(c.reason, PROTO_TTL_EXPIRED);
	}
	tflow_stop(&tp, &c, &s);
}

/* The server tunnel's caps at 2 MiB/s: 1 MiB sent down (the server's
 * application writes) or up (the client's) is paced by the bucket. */
static void test_rate(int up)
{
	static uint8_t data[1 << 20], got[sizeof(data)];
	struct bucket out, in;
	struct tflow c, s;
	struct twriter w;
	struct treader r;
	double t0, dt;

	memset(&out, 0, sizeof(out));
	memset(&in, 0, sizeof(in));
	if (start(&c, &s, 0) == 0) {
		t0 = ev_time();
		bucket_set(&out, 2 << 20, ev_now(tp.loop));
		bucket_set(&in, 2 << 20, ev_now(tp.loop));
		tunnel_set_rates(tp.srv, &out, &in);
		fill_pattern(data, sizeof(data), 5);
		tw_start(tp.loop, &w, up ? c.app : s.app, data, sizeof(data),
			 1);
		tr_start(tp.loop, &r, up ? s.app : c.app, got, sizeof(got));
		expect_all(&r, data, sizeof(data));
		dt = ev_time() - t0;
		printf("rate %s: 1 MiB in %.3f s at 2 MiB/s\n",
		       up ? "up" : "down", dt);
		CHECK(dt > 0.3 && dt < 1.0);
		tunnel_set_rates(tp.srv, NULL, NULL);
	}
	tflow_stop(&tp, &c, &s);
}

/* The client's receive window in test_peer_breaks. */
#define SMALL_WIN 4096u

enum breach { PAST_WINDOW, AFTER_FIN, CREDIT_OVERFLOW, NOT_TCP };

/* The server's tunnel sends the client's flow a frame a peer that keeps
 * the rules never would: DATA past the window (4 KiB) the client gave,
 * DATA after FIN, credit past 2^31, a frame no TCP stream takes. The
 * client resets the flow: GENERAL_FAILURE on both ends, and its
 * application sees the end. */
static void test_peer_breaks(enum breach how)
{
	static const char *const whys[] = {
		[PAST_WINDOW] = "peer exceeded its window",
		[AFTER_FIN] = "peer exceeded its window",
		[CREDIT_OVERFLOW] = "window overflow",
		[NOT_TCP] = "unexpected frame",
	};
	struct tunnel_params cp, sp;
	struct tflow c, s;
	struct two t = { &c, &s };
	struct treader r;
	struct addr peer;
	uint8_t b[FRAME_HDR_LEN + SMALL_WIN + 1], got[64];
	uint32_t id;
	int n;

	tp_params(&cp, 0, SMALL_WIN);
	cp.max_window = WIN; /* the buffer could take it: the window not */
	tp_params(&sp, 1, WIN);
	if (tflow_start(&tp, &cp, &sp, &c, &s)) {
		CHECK(!"tunnels and flow up");
		tflow_stop(&tp, &c, &s);
		return;
	}
	id = c.f.s.id;
	memset(b, 'x', sizeof(b));
	switch (how) {
	case PAST_WINDOW:
		frame_put_hdr(b, FRAME_DATA, SMALL_WIN + 1, id);
		n = FRAME_HDR_LEN + SMALL_WIN + 1;
		break;
	case AFTER_FIN:
		n = frame_simple(b, sizeof(b), FRAME_FIN, id);
		tunnel_send(tp.srv, b, (size_t)n);
		frame_put_hdr(b, FRAME_DATA, 1, id);
		n = FRAME_HDR_LEN + 1;
		break;
	case CREDIT_OVERFLOW:
		n = frame_window(b, sizeof(b), id, UINT32_MAX / 2);
		break;
	default:
		addr_parse("192.0.2.7:53", 0, &peer);
		n = frame_udp_hdr(b, sizeof(b), id, &peer, 1) + 1;
		break;
	}
	tunnel_send(tp.srv, b, (size_t)n);
	CHECK_EQ(tp_run(&tp, both_closed, &t, 5), 0);
	CHECK_STR(c.why, whys[how]);
	CHECK_EQ(c.reason, PROTO_GENERAL_FAILURE);
	CHECK_EQ(s.reason, PROTO_GENERAL_FAILURE);
	tr_start(tp.loop, &r, c.app, got, sizeof(got));
	CHECK_EQ(tp_run(&tp, reader_done, &r, 5), 0);
	CHECK(r.eof || r.err == ECONNRESET);
	CHECK_EQ(r.len, 0); /* nothing of what broke the rules */
	tflow_stop(&tp, &c, &s);
}

static int pool_holds(void *arg)
{
	const struct tunnel_pool *pool = arg;

	return pool->buffered >= WIN / 2;
}

/* What the client's application does not read waits in the flow's
 * buffer (its socket takes a few KiB) and counts in the tunnels' pool;
 * the flow reset by the peer gives it all back. */
static void test_reset_gives_back(void)
{
	static uint8_t data[WIN];
	struct tunnel_pool pool = { 0 };
	struct tunnel_params cp, sp;
	struct tflow c, s;
	struct two t = { &c, &s };
	struct twriter w;
	int small = 4096;

	tp_params(&cp, 0, WIN);
	tp_params(&sp, 1, WIN);
	cp.pool = sp.pool = &pool;
	if (tflow_start(&tp, &cp, &sp, &c, &s) == 0) {
		setsockopt(c.f.fd, SOL_SOCKET, SO_SNDBUF, &small,
			   sizeof(small));
		fill_pattern(data, sizeof(data), 6);
		tw_start(tp.loop, &w, s.app, data, sizeof(data), 0);
		CHECK_EQ(tp_run(&tp, pool_holds, &pool, 5), 0);
		CHECK(buf_len(&c.f.out) >= WIN / 2);
		flow_reset(&s.f, PROTO_GENERAL_FAILURE, "test");
		CHECK_EQ(tp_run(&tp, both_closed, &t, 5), 0);
		CHECK_EQ(c.reason, PROTO_GENERAL_FAILURE);
		CHECK_EQ(pool.buffered, 0);
	} else {
		CHECK(!"tunnels and flow up");
	}
	tflow_stop(&tp, &c, &s);
}

int main(void)
{
	test_half_close(1);
	test_half_close(0);
	test_credit();
	test_reset(1, PROTO_CONN_REFUSED);
	test_reset(0, PROTO_HOST_UNREACHABLE);
	test_idle();
	test_rate(0);
	test_rate(1);
	test_peer_breaks(PAST_WINDOW);
	test_peer_breaks(AFTER_FIN);
	test_peer_breaks(CREDIT_OVERFLOW);
	test_peer_breaks(NOT_TCP);
	test_reset_gives_back();
	return test_summary("flow");
}
