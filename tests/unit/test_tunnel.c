/* Unit tests for the tunnel's output scheduler (common/tunnel_out.c),
 * over a real client and server tunnel (tunnel_pair.h), with bare
 * streams that count what reaches the peer: control and UDP frames go
 * ahead of queued DATA, a stream woken from the wait for room gets its
 * frame in, streams waiting for room get their turns in order, UDP is
 * refused past its queue limit, a control queue past its cap closes the
 * tunnel (from its io callback), max-buffer names the stream holding
 * the most, and so does a pool shared by both tunnels
 * (max-buffer-total) for a tunnel holding at least its share. */
#include <string.h>

#include "../../common/frame.h"
#include "../../common/log.h"
#include "../../common/util.h"
#include "test.h"
#include "tunnel_pair.h"

#define WIN (256u << 10)
/* More than any UDP queue limit may be: the queue is bounded. */
#define UDP_BOUND (1u << 20)
/* A bound for filling the DATA queue, should it take without end. */
#define FILL_BOUND (8u << 20)
/* Twice the control queue's cap (tunnel_out.c). */
#define CTL_BOUND (8u << 20)

static struct tunnel_pair tp;

/* A stream that records what arrives for it. */
struct rstream {
	struct stream s;
	uint64_t data;     /* DATA payload bytes */
	uint8_t head[256]; /* the first of them */
	int frames[16];    /* by type */
	int writable;      /* writable() calls */
	size_t buffered;   /* what info() reports */
	/* when its first non-DATA frame came: what watch had received */
	const struct rstream *watch;
	int64_t watch_seen;
	void (*on_writable)(struct rstream *r);
};

static struct rstream *of(struct stream *s)
{
	return container_of(s, struct rstream, s);
}

static void r_frame(struct stream *s, const struct frame *f)
{
	struct rstream *r = of(s);

	if (f->type == FRAME_DATA) {
		if (r->data < sizeof(r->head))
			memcpy(r->head + r->data, f->payload,
			       MIN(f->len, sizeof(r->head) - r->data));
		r->data += f->len;
	} else if (r->watch && r->watch_seen < 0) {
		r->watch_seen = (int64_t)r->watch->data;
	}
	r->frames[f->type & 15]++;
}

static void r_abort(struct stream *s)
{
}

static void r_writable(struct stream *s)
{
	struct rstream *r = of(s);

	r->writable++;
	if (r->on_writable)
		r->on_writable(r);
}

static void r_info(struct stream *s, struct stream_info *i)
{
	i->kind = "TEST";
	i->buffered = of(s)->buffered;
}

static void r_overflow(struct stream *s)
{
}

static const struct stream_ops r_ops = {
	.frame = r_frame,
	.abort = r_abort,
	.writable = r_writable,
	.info = r_info,
	.overflow = r_overflow,
};

/* The same without an overflow op: never the one max-buffer names. */
static const struct stream_ops r_ops_keep = {
	.frame = r_frame,
	.abort = r_abort,
	.writable = r_writable,
	.info = r_info,
};

static void r_init(struct rstream *r)
{
	memset(r, 0, sizeof(*r));
	r->watch_seen = -1;
}

/* One stream id on both tunnels: c sends, s receives. */
static void attach2(struct rstream *c, struct rstream *s)
{
	uint32_t id = tunnel_next_id(tp.cli);

	r_init(c);
	r_init(s);
	tunnel_attach(tp.cli, &c->s, id, &r_ops);
	tunnel_attach(tp.srv, &s->s, id, &r_ops);
}

static int start(void)
{
	struct tunnel_params cp, sp;

	tp_params(&cp, 0, WIN);
	tp_params(&sp, 1, WIN);
	sp.max_buffer = 1000;
	if (tp_start(&tp, &cp, &sp) == 0)
		return 0;
	CHECK(!"tunnels up");
	return -1;
}

/* Full DATA frames for r until the tunnel has no room for it; returns
 * the payload bytes queued. */
static size_t fill(struct rstream *r)
{
	size_t total = 0;
	uint8_t *p;
	int k, i;

	while (total < FILL_BOUND) {
		k = 4;
		p = tunnel_data_room(tp.cli, &r->s, &k);
		if (!p)
			break;
		for (i = 0; i < k; i++)
			memset(p + (size_t)i * FRAME_MAX_LEN + FRAME_HDR_LEN,
			       'x', FRAME_MAX_PAYLOAD);
		tunnel_data_commit(tp.cli, r->s.id,
				   (size_t)k * FRAME_MAX_PAYLOAD);
		total += (size_t)k * FRAME_MAX_PAYLOAD;
	}
	return total;
}

static int udp_frame(uint8_t *b, size_t cap, uint32_t id, size_t len)
{
	struct addr peer;
	int n;

	addr_parse("192.0.2.7:5353", 0, &peer);
	n = frame_udp_hdr(b, cap, id, &peer, len);
	memset(b + n, 'u', len);
	return n + (int)len;
}

struct arrived {
	const struct rstream *r;
	uint64_t data;
	int type, frames;
};

static int both_down(void *arg)
{
	const struct tunnel_pair *p = arg;

	return p->down == 2;
}

static int has_arrived(void *arg)
{
	const struct arrived *a = arg;

	return a->r->data >= a->data && a->r->frames[a->type] >= a->frames;
}

/* A frame queued after as much bulk as the queue takes goes out ahead
 * of it: the peer sees it before any of that DATA. */
static void test_ahead_of_bulk(int udp)
{
	struct rstream cx, sx, cy, sy;
	struct arrived x = { &sx, 0, FRAME_DATA, 0 };
	struct arrived y = { &sy, 0, udp ? FRAME_UDP_DATA : FRAME_WINDOW, 1 };
	uint8_t b[FRAME_HDR_LEN + 64];
	int n;

	if (start())
		return;
	attach2(&cx, &sx);
	attach2(&cy, &sy);
	sy.watch = &sx;
	x.data = fill(&cx);
	CHECK(x.data >= 2 * FRAME_MAX_PAYLOAD);
	if (udp) {
		n = udp_frame(b, sizeof(b), cy.s.id, 20);
		CHECK_EQ(tunnel_send_udp(tp.cli, b, (size_t)n, 0), 0);
	} else {
		n = frame_window(b, sizeof(b), cy.s.id, 1234);
		tunnel_send(tp.cli, b, (size_t)n);
	}
	CHECK_EQ(tp_run(&tp, has_arrived, &y, 5), 0);
	CHECK_EQ(tp_run(&tp, has_arrived, &x, 5), 0);
	CHECK_EQ(sx.data, x.data);
	CHECK_EQ(sy.watch_seen, 0);
	tp_stop(&tp);
}

/* Woken from the wait for room, y finds x has filled the queue again
 * in between (x was not waiting, so it gets nothing more: neither does
 * z, which never waited): y's frame goes in all the same. */
static struct rstream *wx, *wz;
static int wx_refilled, wz_refused, wy_frames;

static void y_woken(struct rstream *y)
{
	uint8_t *p;
	int k = 4;

	wx_refilled = fill(wx) > 0;
	wz_refused = tunnel_data_room(tp.cli, &wz->s, &k) == NULL;
	k = 4;
	p = tunnel_data_room(tp.cli, &y->s, &k);
	if (!p)
		return;
	wy_frames = k;
	memcpy(p + FRAME_HDR_LEN, "woken", 5);
	tunnel_data_commit(tp.cli, y->s.id, 5);
}

static void test_woken(void)
{
	struct rstream cx, sx, cy, sy, cz, sz;
	struct arrived y = { &sy, 5, FRAME_DATA, 1 };
	int k = 1;

	if (start())
		return;
	attach2(&cx, &sx);
	attach2(&cy, &sy);
	attach2(&cz, &sz);
	wx = &cx;
	wz = &cz;
	wx_refilled = wz_refused = wy_frames = 0;
	CHECK(fill(&cx) > 0);
	CHECK(tunnel_data_room(tp.cli, &cy.s, &k) == NULL);
	tunnel_wait_room(&cy.s);
	cy.on_writable = y_woken;
	CHECK_EQ(tp_run(&tp, has_arrived, &y, 5), 0);
	CHECK_EQ(cy.writable, 1);
	CHECK(wx_refilled);
	CHECK(wz_refused);
	CHECK(wy_frames >= 1);
	CHECK_EQ(sy.data, 5);
	CHECK(!memcmp(sy.head, "woken", 5));
	tp_stop(&tp);
}

/* UDP queued faster than it can leave is refused past a bound; a
 * control frame never is. What was taken arrives, nothing else, and
 * once the queue drained UDP is taken again. */
static void test_udp_limit(void)
{
	struct rstream cu, su, cy, sy;
	struct arrived u = { &su, 0, FRAME_UDP_DATA, 0 };
	struct arrived y = { &sy, 0, FRAME_WINDOW, 1 };
	uint8_t b[FRAME_HDR_LEN + 1100];
	size_t queued = 0;
	int n, taken = 0, refused = 0;

	if (start())
		return;
	attach2(&cu, &su);
	attach2(&cy, &sy);
	n = udp_frame(b, sizeof(b), cu.s.id, 1000);
	while (queued < UDP_BOUND && !refused) {
		if (tunnel_send_udp(tp.cli, b, (size_t)n, 0))
			refused = 1;
		else
			queued += (size_t)n, taken++;
	}
	CHECK(refused);
	CHECK(taken > 0);
	n = frame_window(b, sizeof(b), cy.s.id, 1);
	tunnel_send(tp.cli, b, (size_t)n);
	u.frames = taken;
	CHECK_EQ(tp_run(&tp, has_arrived, &u, 5), 0);
	CHECK_EQ(tp_run(&tp, has_arrived, &y, 5), 0);
	tp_wait(&tp, 0.1);
	CHECK_EQ(su.frames[FRAME_UDP_DATA], taken);
	n = udp_frame(b, sizeof(b), cu.s.id, 1000);
	CHECK_EQ(tunnel_send_udp(tp.cli, b, (size_t)n, 0), 0);
	u.frames = taken + 1;
	CHECK_EQ(tp_run(&tp, has_arrived, &u, 5), 0);
	tp_stop(&tp);
}

/* Past max-buffer (1000 bytes on the server) the stream holding the
 * most is named, among those that can be reset; at the limit, or with
 * no limit (the client), none is. */
static void test_max_buffer(void)
{
	struct rstream a, b, c;
	enum log_level lvl = log_get_level();

	if (start())
		return;
	log_set_level(LOG_ERROR); /* the warning each time is expected */
	r_init(&a);
	r_init(&b);
	r_init(&c);
	tunnel_attach(tp.srv, &a.s, 100, &r_ops);
	tunnel_attach(tp.srv, &b.s, 101, &r_ops);
	tunnel_attach(tp.srv, &c.s, 102, &r_ops_keep);
	a.buffered = 100;
	b.buffered = 500;
	c.buffered = 900;
	CHECK(tunnel_buffered(tp.srv, 600) == NULL);
	CHECK(tunnel_buffered(tp.srv, 400) == NULL); /* at, not past */
	CHECK(tunnel_buffered(tp.srv, 1) == &b.s);
	CHECK(tunnel_buffered(tp.srv, -1) == NULL);
	a.buffered = 700;
	CHECK(tunnel_buffered(tp.srv, 10) == &a.s);
	CHECK(tunnel_buffered(tp.srv, -10) == NULL);
	tunnel_detach(&a.s);
	tunnel_detach(&b.s);
	CHECK(tunnel_buffered(tp.srv, 10) == NULL); /* only c is left */
	CHECK(tunnel_buffered(tp.srv, -1010) == NULL);

	tunnel_attach(tp.cli, &a.s, 100, &r_ops);
	CHECK(tunnel_buffered(tp.cli, 1 << 30) == NULL);
	CHECK(tunnel_buffered(tp.cli, -(1 << 30)) == NULL);
	log_set_level(lvl);
	tp_stop(&tp);
}

/* Both tunnels share a pool of 1000 bytes: a share of 500 each. Past
 * the pool, the tunnel that grows resets its largest stream only while
 * it holds its share or more; a closed tunnel gives back what it held. */
static void test_pool(void)
{
	struct tunnel_pool pool = { .max = 1000 };
	struct tunnel_params cp, sp;
	struct rstream a, b;
	enum log_level lvl = log_get_level();

	tp_params(&cp, 0, WIN);
	tp_params(&sp, 1, WIN);
	cp.pool = sp.pool = &pool;
	if (tp_start(&tp, &cp, &sp)) {
		CHECK(!"tunnels up");
		return;
	}
	CHECK_EQ(pool.tunnels, 2);
	log_set_level(LOG_ERROR); /* the warning is expected */
	r_init(&a);
	r_init(&b);
	tunnel_attach(tp.srv, &a.s, 100, &r_ops);
	tunnel_attach(tp.cli, &b.s, 100, &r_ops);
	a.buffered = 300;
	CHECK(tunnel_buffered(tp.srv, 300) == NULL);
	b.buffered = 400;
	CHECK(tunnel_buffered(tp.cli, 400) == NULL);
	a.buffered = 400;
	CHECK(tunnel_buffered(tp.srv, 100) == NULL);
	CHECK_EQ(pool.buffered, 800);
	b.buffered = 700; /* pool 1100: the client holds 700 of a 500 share */
	CHECK(tunnel_buffered(tp.cli, 300) == &b.s);
	CHECK_EQ(pool.resets, 1);
	a.buffered = 450; /* pool 1150, but the server holds under its share */
	CHECK(tunnel_buffered(tp.srv, 50) == NULL);
	CHECK_EQ(pool.resets, 1);
	CHECK_EQ(pool.buffered, 1150);
	log_set_level(lvl);
	tp_stop(&tp); /* the streams are aborted, nothing reported back */
	CHECK_EQ(pool.tunnels, 0);
	CHECK_EQ(pool.buffered, 0);
}

/* Streams waiting for room get their turn in the order they began to
 * wait, once each however often they asked; one that left meanwhile
 * (detached) gets none. */
static uint32_t turns[8];
static int nturns;

static void note_turn(struct rstream *r)
{
	if (nturns < (int)ARRAY_SIZE(turns))
		turns[nturns++] = r->s.id;
}

static int two_turns(void *arg)
{
	return nturns >= 2;
}

static void test_wait_order(void)
{
	struct rstream cx, sx, ca, sa, cb, sb, cc, sc;
	struct rstream *waiters[] = { &cc, &ca, &cb };
	size_t i;

	if (start())
		return;
	attach2(&cx, &sx);
	attach2(&ca, &sa);
	attach2(&cb, &sb);
	attach2(&cc, &sc);
	nturns = 0;
	CHECK(fill(&cx) > 0);
	for (i = 0; i < ARRAY_SIZE(waiters); i++) {
		waiters[i]->on_writable = note_turn;
		tunnel_wait_room(&waiters[i]->s);
	}
	tunnel_wait_room(&ca.s); /* already waiting: no second turn */
	tunnel_detach(&cb.s);
	CHECK_EQ(tp_run(&tp, two_turns, NULL, 5), 0);
	tp_wait(&tp, 0.1); /* and no more */
	CHECK_EQ(nturns, 2);
	CHECK_EQ(turns[0], cc.s.id);
	CHECK_EQ(turns[1], ca.s.id);
	CHECK_EQ(ca.writable, 1);
	CHECK_EQ(cb.writable, 0);
	tp_stop(&tp);
}

/* A peer that stops reading while we owe it control frames: past the
 * control queue's cap the tunnel stops sending and closes, but from its
 * io callback, never inside the call that queued the frame (whose
 * caller still holds the tunnel); then the peer sees it go too. */
static void test_ctl_overflow(void)
{
	struct tunnel_info info;
	uint8_t b[FRAME_HDR_LEN + 4];
	enum log_level lvl = log_get_level();
	size_t queued = 0;
	int n;

	if (start())
		return;
	log_set_level(LOG_ERROR); /* the warning is expected */
	/* WINDOW frames of a stream the server does not know: dropped */
	n = frame_window(b, sizeof(b), 777, 1);
	do {
		tunnel_send(tp.cli, b, (size_t)n);
		queued += (size_t)n;
		tunnel_get_info(tp.cli, &info);
	} while (info.up && queued < CTL_BOUND);
	CHECK(!info.up);
	CHECK_EQ(tp.down, 0);
	CHECK_EQ(tp_run(&tp, both_down, &tp, 5), 0);
	log_set_level(lvl);
	tp_stop(&tp);
}

int main(void)
{
	test_ahead_of_bulk(0);
	test_ahead_of_bulk(1);
	test_woken();
	test_udp_limit();
	test_max_buffer();
	test_pool();
	test_wait_order();
	test_ctl_overflow();
	return test_summary("tunnel");
}
