/* Unit tests for proxy-client/relay.c, over real socket pairs in a real
 * event loop: the early bytes go first, both directions carry data
 * intact, EOF one way is passed on as a half-close while the other way
 * still runs, both EOFs end it with "done" and the byte counts, a
 * destination that stops reading makes the relay stop reading too (its
 * buffer stays capped, the application's writes back up) and everything
 * arrives once it reads again, idleness ends it, and relay_stop() ends
 * it without calling done(). */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../proxy-client/relay.h"
#include "test.h"

static struct ev_loop *loop;
static int done_calls;
static char done_why[64];

static void on_done(struct relay *r, const char *why)
{
	done_calls++;
	snprintf(done_why, sizeof(done_why), "%s", why);
}

/* fds[0] the test's end, fds[1] the relay's; both non-blocking. */
static void pair(int fds[2])
{
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
}

/* Runs the loop until cond() or about secs seconds. */
static int run_until(int (*cond)(void *), void *arg, double secs)
{
	for (int i = 0; i < (int)(secs * 1000); i++) {
		ev_run(loop, EVRUN_NOWAIT);
		if (cond(arg))
			return 1;
		usleep(1000);
	}
	return cond(arg);
}

struct reader {
	int fd;
	uint8_t *got;
	size_t len, cap;
	int eof;
};

/* Reads what fd has (non-blocking) into r. */
static void drain(struct reader *r)
{
	for (;;) {
		ssize_t n;

		if (r->len == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 4096;
			r->got = realloc(r->got, r->cap);
		}
		n = read(r->fd, r->got + r->len, r->cap - r->len);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0)
			r->eof = 1;
		return;
	}
}

struct want {
	struct reader *r;
	size_t len;
};

static int got_len(void *arg)
{
	struct want *w = arg;

	drain(w->r);
	return w->r->len >= w->len;
}

static int got_eof(void *arg)
{
	struct reader *r = arg;

	drain(r);
	return r->eof;
}

static int is_done(void *arg)
{
	return done_calls > 0;
}

static void test_both_ways(void)
{
	int app[2], dst[2];
	struct relay r;
	struct reader at_dst = { 0 }, at_app = { 0 };
	struct want w;

	pair(app);
	pair(dst);
	done_calls = 0;
	relay_start(&r, loop, app[1], dst[1], "EARLY", 5, 0, on_done);
	CHECK_EQ(done_calls, 0);
	CHECK_EQ(write(app[0], "hello", 5), 5);
	at_dst.fd = dst[0];
	w = (struct want){ &at_dst, 10 };
	CHECK(run_until(got_len, &w, 2));
	CHECK_EQ(at_dst.len, 10);
	CHECK(at_dst.len == 10 && !memcmp(at_dst.got, "EARLYhello", 10));
	CHECK_EQ(write(dst[0], "world!", 6), 6);
	at_app.fd = app[0];
	w = (struct want){ &at_app, 6 };
	CHECK(run_until(got_len, &w, 2));
	CHECK(at_app.len == 6 && !memcmp(at_app.got, "world!", 6));
	/* the application is done sending: the destination sees EOF, and
	 * can still answer */
	CHECK_EQ(shutdown(app[0], SHUT_WR), 0);
	CHECK(run_until(got_eof, &at_dst, 2));
	CHECK_EQ(done_calls, 0);
	CHECK_EQ(write(dst[0], "late", 4), 4);
	w = (struct want){ &at_app, 10 };
	CHECK(run_until(got_len, &w, 2));
	CHECK(at_app.len == 10 && !memcmp(at_app.got + 6, "late", 4));
	/* and when it is done too, the relay is over, cleanly */
	CHECK_EQ(shutdown(dst[0], SHUT_WR), 0);
	CHECK(run_until(is_done, NULL, 2));
	CHECK_EQ(done_calls, 1);
	CHECK_STR(done_why, "done");
	CHECK_EQ(r.up.bytes, 10);
	CHECK_EQ(r.down.bytes, 10);
	CHECK(run_until(got_eof, &at_app, 2));
	close(app[0]);
	close(dst[0]);
	free(at_dst.got);
	free(at_app.got);
}

/* A destination that does not read: the relay reads no more than its
 * buffer holds; all of it arrives, in order, once it reads. */
static void test_backpressure(void)
{
	int app[2], dst[2];
	struct relay r;
	struct reader at_dst = { 0 };
	struct want w;
	size_t sent = 0, cap_seen = 0;
	uint8_t block[65536];

	pair(app);
	pair(dst);
	done_calls = 0;
	relay_start(&r, loop, app[1], dst[1], NULL, 0, 0, on_done);
	/* a pattern, to check order and integrity */
	for (int round = 0; round < 400; round++) {
		ssize_t n;

		for (size_t i = 0; i < sizeof(block); i++)
			block[i] = (uint8_t)((sent + i) * 7 +
					     ((sent + i) >> 16));
		n = write(app[0], block, sizeof(block));
		if (n > 0)
			sent += (size_t)n;
		ev_run(loop, EVRUN_NOWAIT);
		if (buf_len(&r.up.b) > cap_seen)
			cap_seen = buf_len(&r.up.b);
		if (n < 0)
			break;
	}
	/* stuck: the application's socket is full, the buffer capped */
	CHECK(sent < 400 * sizeof(block));
	CHECK(cap_seen > 0);
	CHECK(cap_seen <= 256u << 10);
	CHECK_EQ(done_calls, 0);
	at_dst.fd = dst[0];
	w = (struct want){ &at_dst, sent };
	CHECK(run_until(got_len, &w, 5));
	CHECK_EQ(at_dst.len, sent);
	for (size_t i = 0; i < at_dst.len; i++)
		if (at_dst.got[i] != (uint8_t)(i * 7 + (i >> 16))) {
			CHECK(!"byte differs");
			break;
		}
	/* and writing goes on after the drain */
	CHECK_EQ(write(app[0], "more", 4), 4);
	w = (struct want){ &at_dst, sent + 4 };
	CHECK(run_until(got_len, &w, 2));
	relay_stop(&r);
	CHECK_EQ(done_calls, 0);
	close(app[0]);
	close(dst[0]);
	free(at_dst.got);
}

static void test_idle(void)
{
	int app[2], dst[2];
	struct relay r;
	struct reader at_app = { 0 };
	ev_tstamp t0;

	pair(app);
	pair(dst);
	done_calls = 0;
	ev_now_update(loop);
	t0 = ev_now(loop);
	relay_start(&r, loop, app[1], dst[1], NULL, 0, 0.2, on_done);
	CHECK(run_until(is_done, NULL, 3));
	CHECK_STR(done_why, "idle timeout");
	CHECK(ev_now(loop) - t0 >= 0.19);
	/* both of the relay's sockets are closed: the ends see EOF (or a
	 * reset) */
	at_app.fd = app[0];
	CHECK(run_until(got_eof, &at_app, 1) || errno == ECONNRESET);
	close(app[0]);
	close(dst[0]);
	free(at_app.got);
}

static void test_stop(void)
{
	int app[2], dst[2];
	struct relay r;

	pair(app);
	pair(dst);
	done_calls = 0;
	relay_start(&r, loop, app[1], dst[1], "x", 1, 0, on_done);
	relay_stop(&r);
	ev_run(loop, EVRUN_NOWAIT);
	CHECK_EQ(done_calls, 0);
	/* the relay's ends are closed */
	CHECK_EQ(fcntl(app[1], F_GETFD), -1);
	CHECK_EQ(fcntl(dst[1], F_GETFD), -1);
	close(app[0]);
	close(dst[0]);
}

int main(void)
{
	loop = ev_default_loop(0);
	test_both_ways();
	test_backpressure();
	test_idle();
	test_stop();
	return test_summary("test_relay");
}
