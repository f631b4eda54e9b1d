/* Unit tests for resume (docs/PROTOCOL.md section 16) over a real
 * client and server tunnel (tunnel_pair.h) whose link "breaks": both
 * tunnels close at once with bytes of both directions still on their
 * way, a new pair comes up and the client resumes. What the
 * applications read must be exactly what was written, and what a
 * sender keeps unacknowledged never exceeds the receiver's window. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/frame.h"
#include "test.h"
#include "tunnel_pair.h"

#define WIN (64u << 10)

static struct tunnel_pair tp;

static int start(struct tflow *c, struct tflow *s, int client_resumes)
{
	struct tunnel_params cp, sp;
	int rc;

	tp_params(&cp, 0, WIN);
	tp_params(&sp, 1, WIN);
	cp.resume_window = client_resumes ? 10 : 0;
	sp.resume_window = 10;
	rc = tflow_start(&tp, &cp, &sp, c, s);
	CHECK_EQ(rc, 0); /* tunnels and flow up */
	return rc;
}

struct watch {
	struct treader *r1, *r2;
	struct tflow *c, *s;
	size_t most;         /* the most either side held unacknowledged */
	size_t mark1, mark2; /* bytes_moving: read past these */
};

static int both_read(void *arg)
{
	struct watch *w = arg;
	size_t a = ring_len(&w->c->f.unacked), b = ring_len(&w->s->f.unacked);

	w->most = a > w->most ? a : w->most;
	w->most = b > w->most ? b : w->most;
	return (w->r1->eof || w->r1->err) && (w->r2->eof || w->r2->err);
}

static int reader_done(void *arg)
{
	struct treader *r = arg;

	return r->eof || r->err;
}

static int resumed(void *arg)
{
	struct watch *w = arg;

	return !w->c->f.syncing && !w->s->f.syncing;
}

static int bytes_moving(void *arg)
{
	struct watch *w = arg;

	both_read(w);
	return w->r1->len > w->mark1 && w->r2->len > w->mark2;
}

/* 2 MiB down and 1 MiB up, the link broken twice in the middle: both
 * arrive whole and in order, the flows end cleanly, and neither side
 * ever kept more than the window unacknowledged. */
static void test_bulk(void)
{
	static uint8_t down[2 << 20], up[1 << 20];
	static uint8_t got_down[sizeof(down)], got_up[sizeof(up)];
	struct tflow c, s;
	struct twriter wd, wu;
	struct treader rd, ru;
	struct watch w = { &rd, &ru, &c, &s, 0, 0, 0 };
	int lost = 0;

	if (start(&c, &s, 1))
		goto out;
	CHECK(tunnel_resumes(tp.cli) && tunnel_resumes(tp.srv));
	fill_pattern(down, sizeof(down), 11);
	fill_pattern(up, sizeof(up), 12);
	tw_start(tp.loop, &wd, s.app, down, sizeof(down), 1);
	tw_start(tp.loop, &wu, c.app, up, sizeof(up), 1);
	tr_start(tp.loop, &rd, c.app, got_down, sizeof(got_down));
	tr_start(tp.loop, &ru, s.app, got_up, sizeof(got_up));
	for (int i = 0; i < 2; i++) {
		w.mark1 = rd.len + 100000;
		w.mark2 = ru.len + 50000;
		CHECK_EQ(tp_run(&tp, bytes_moving, &w, 5), 0);
		/* sent but not received: lost with the tunnel, to resend */
		lost += s.f.sent > c.f.rcvd || c.f.sent > s.f.rcvd;
		CHECK_EQ(tp_break(&tp), 0);
		CHECK(!c.closed && !s.closed);
		CHECK_EQ(tp_run(&tp, resumed, &w, 5), 0);
	}
	CHECK(lost > 0);
	CHECK_EQ(tp_run(&tp, both_read, &w, 10), 0);
	CHECK(rd.eof && !rd.err && ru.eof && !ru.err);
	CHECK_EQ(rd.len, sizeof(down));
	CHECK_EQ(ru.len, sizeof(up));
	CHECK(!memcmp(got_down, down, sizeof(down)));
	CHECK(!memcmp(got_up, up, sizeof(up)));
	CHECK(w.most > 0 && w.most <= WIN);
	tp_wait(&tp, 0.1);
	CHECK(c.closed && s.closed);
	CHECK_EQ(c.reason, PROTO_OK);
	CHECK_EQ(s.reason, PROTO_OK);
out:
	tflow_stop(&tp, &c, &s);
}

/* The server answers the RESUME with "restarted": the client's flow
 * ends and its application sees the end; the server's copy stays kept
 * (its owner frees it at resume-window). */
static void test_refused(void)
{
	struct tflow c, s;
	struct treader r;
	uint8_t buf[64];

	if (start(&c, &s, 1))
		goto out;
	tp.resume_answer = RESUME_RESTARTED;
	CHECK_EQ(write(s.app, "hello", 5), 5);
	tp_wait(&tp, 0.05);
	CHECK_EQ(tp_break(&tp), 0);
	tr_start(tp.loop, &r, c.app, buf, sizeof(buf));
	tp_wait(&tp, 0.3);
	CHECK(c.closed);
	CHECK(c.reason != PROTO_OK);
	CHECK(r.eof || r.err == ECONNRESET);
	CHECK(!s.closed);
	CHECK_EQ(kept_count(&tp.skept), 1);
out:
	tflow_stop(&tp, &c, &s);
	CHECK(s.closed); /* tp_stop ended what was kept */
}

/* A client that does not resume (resume-window 0): nothing is kept on
 * either side, the flow ends with the tunnel as before. */
static void test_old_peer(void)
{
	struct tflow c, s;

	if (start(&c, &s, 0))
		goto out;
	CHECK(!tunnel_resumes(tp.cli) && !tunnel_resumes(tp.srv));
	CHECK_EQ(tp_break(&tp), 0);
	CHECK(c.closed && s.closed);
	CHECK_EQ(kept_count(&tp.ckept), 0);
	CHECK_EQ(kept_count(&tp.skept), 0);
out:
	tflow_stop(&tp, &c, &s);
}

static int acked(void *arg)
{
	struct tflow *c = arg;

	return !ring_len(&c->f.unacked) && !c->f.unacked.data;
}

/* A flow that sends a few bytes and falls quiet: far below half a
 * window, so no WINDOW comes for them; the keepalive tick acknowledges
 * them, and the sender's copy buffer is given back. */
static void test_quiet(void)
{
	struct tunnel_params cp, sp;
	struct tflow c, s;
	uint8_t buf[16];

	c.app = s.app = -1;
	tp_params(&cp, 0, WIN);
	tp_params(&sp, 1, WIN);
	cp.resume_window = sp.resume_window = 10;
	cp.keepalive = sp.keepalive = 0.2;
	if (tp_start(&tp, &cp, &sp) || tflow_pair(&tp, &c, &s)) {
		CHECK(!"tunnels and flow up");
		goto out;
	}
	CHECK_EQ(write(c.app, "0123456789", 10), 10);
	tp_wait(&tp, 0.05);
	CHECK_EQ(read(s.app, buf, sizeof(buf)), 10);
	CHECK_EQ(ring_len(&c.f.unacked), 10);
	CHECK_EQ(tp_run(&tp, acked, &c, 2), 0);
out:
	tflow_stop(&tp, &c, &s);
}

static int fin_queued(void *arg)
{
	struct tflow *c = arg;

	return c->f.rd_eof;
}

/* The link breaks right after the client's FIN was queued, before the
 * server saw it: the FIN goes again after the bytes the server lacks,
 * and the server's application reads them all, then the end. */
static void test_fin_in_flight(void)
{
	static uint8_t data[100000], got[sizeof(data)];
	struct tflow c, s;
	struct twriter w;
	struct treader r;

	if (start(&c, &s, 1))
		goto out;
	fill_pattern(data, sizeof(data), 5);
	tw_start(tp.loop, &w, c.app, data, sizeof(data), 1);
	CHECK_EQ(tp_run(&tp, fin_queued, &c, 5), 0);
	CHECK(!s.f.fin_rcvd);
	CHECK_EQ(tp_break(&tp), 0);
	tr_start(tp.loop, &r, s.app, got, sizeof(got));
	CHECK_EQ(tp_run(&tp, reader_done, &r, 5), 0);
	CHECK(r.eof && !r.err);
	CHECK_EQ(r.len, sizeof(data));
	CHECK(!memcmp(got, data, sizeof(data)));
	CHECK(s.f.fin_rcvd);
out:
	tflow_stop(&tp, &c, &s);
}

int main(void)
{
	test_fin_in_flight();
	test_quiet();
	test_bulk();
	test_refused();
	test_old_peer();
	return test_summary("resume");
}
