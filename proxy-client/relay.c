/* Socket to socket relay for direct flows (relay.h). */
#include "relay.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/util.h"

/* Per direction: a few socket reads' worth, like a flow's buffer. */
#define RELAY_BUF (256u << 10)
#define READ_MAX (64u << 10)

static void close_all(struct relay *r, int linger0)
{
	struct relay_half *h[2] = { &r->up, &r->down };

	ev_timer_stop(r->loop, &r->idle);
	for (int i = 0; i < 2; i++) {
		ev_io_stop(r->loop, &h[i]->rio);
		ev_io_stop(r->loop, &h[i]->wio);
		buf_release(&h[i]->b);
	}
	/* up.from is the application, down.from the destination */
	for (int i = 0; i < 2; i++) {
		int fd = h[i]->from;

		if (fd < 0)
			continue;
		if (linger0) {
			struct linger l = { 1, 0 };

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(fd);
	}
	r->up.from = r->up.to = r->down.from = r->down.to = -1;
}

static void end(struct relay *r, const char *why, int linger0)
{
	close_all(r, linger0);
	r->done(r, why);
}

void relay_stop(struct relay *r)
{
	close_all(r, 1);
}

/* The half-close passed on; -1 when that ended the relay. */
static int half_eof_done(struct relay *r, struct relay_half *h)
{
	shutdown(h->to, SHUT_WR);
	h->shut = 1;
	if (!r->up.shut || !r->down.shut)
		return 0;
	end(r, "done", 0);
	return -1;
}

/* Writes what the buffer holds; 0, or -1 when the relay ended. */
static int half_write(struct relay *r, struct relay_half *h)
{
	while (buf_len(&h->b)) {
		ssize_t n = send(h->to, buf_peek(&h->b), buf_len(&h->b),
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				ev_io_start(r->loop, &h->wio);
				return 0;
			}
			end(r, strerror(errno), 1);
			return -1;
		}
		buf_consume(&h->b, (size_t)n);
		h->bytes += (uint64_t)n;
		r->last_active = ev_now(r->loop);
	}
	ev_io_stop(r->loop, &h->wio);
	buf_release(&h->b); /* an idle direction holds no memory */
	if (h->eof && !h->shut)
		return half_eof_done(r, h);
	if (!h->eof)
		ev_io_start(r->loop, &h->rio);
	return 0;
}

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_half *h = container_of(w, struct relay_half, rio);
	struct relay *r = w->data;
	size_t room = MIN(buf_room(&h->b), READ_MAX);
	uint8_t *p;
	ssize_t n;

	if (!room) {
		ev_io_stop(loop, w); /* restarted once the buffer drains */
		return;
	}
	p = buf_reserve(&h->b, room);
	n = read(h->from, p, room);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		end(r, strerror(errno), 1);
		return;
	}
	if (n == 0) {
		h->eof = 1;
		ev_io_stop(loop, w);
	} else {
		buf_commit(&h->b, (size_t)n);
		r->last_active = ev_now(loop);
	}
	half_write(r, h);
}

static void wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay_half *h = container_of(w, struct relay_half, wio);

	half_write(w->data, h);
}

/* Re-armed lazily: a busy relay costs no timer update per read. */
static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay *r = container_of(w, struct relay, idle);
	ev_tstamp left = r->last_active + r->idle_timeout - ev_now(loop);

	if (left > 0) {
		ev_timer_set(w, left, 0.);
		ev_timer_start(loop, w);
		return;
	}
	end(r, "idle timeout", 1);
}

static void half_init(struct relay *r, struct relay_half *h, int from, int to)
{
	memset(h, 0, sizeof(*h));
	h->from = from;
	h->to = to;
	buf_init(&h->b, RELAY_BUF);
	ev_io_init(&h->rio, rio_cb, from, EV_READ);
	ev_io_init(&h->wio, wio_cb, to, EV_WRITE);
	h->rio.data = h->wio.data = r;
}

void relay_start(struct relay *r, struct ev_loop *loop, int app, int dst,
		 const void *early, size_t n, double idle_timeout,
		 relay_done_cb done)
{
	r->loop = loop;
	r->done = done;
	r->idle_timeout = idle_timeout;
	r->start = r->last_active = ev_now(loop);
	half_init(r, &r->up, app, dst);
	half_init(r, &r->down, dst, app);
	ev_timer_init(&r->idle, idle_cb, idle_timeout, 0.);
	if (idle_timeout > 0)
		ev_timer_start(loop, &r->idle);
	ev_io_start(loop, &r->down.rio);
	/* written from the loop: done() never runs inside this call */
	if (n && !buf_put(&r->up.b, early, n))
		ev_io_start(loop, &r->up.wio);
	else
		ev_io_start(loop, &r->up.rio);
}
