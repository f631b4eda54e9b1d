/* A TCP flow's relay (docs/ARCHITECTURE.md, "A TCP flow"): socket to
 * tunnel within the peer's credit, tunnel to socket through the flow's
 * buffer, half-close each way, reset, idle timeout, resume. When credit
 * goes back to the peer and how the window grows is flow_window.c. */
#include "flow.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "flow_window.h"
#include "log.h"
#include "meter.h"
#include "util.h"

static const struct stream_ops flow_stream_ops;

static struct flow *of_stream(struct stream *s)
{
	return container_of(s, struct flow, s);
}

static void send_rst(struct flow *f, uint8_t code)
{
	uint8_t b[FRAME_HDR_LEN + 1];

	if (f->s.t) {
		frame_code(b, sizeof(b), FRAME_RST, f->s.id, code);
		tunnel_send(f->s.t, b, sizeof(b));
	}
}

/* The one way a flow ends. linger0 turns the local close into a TCP RST
 * so the application sees an abort, not a clean end of data. */
static void flow_end(struct flow *f, int reason, const char *why, int linger0)
{
	ev_io_stop(f->loop, &f->rio);
	ev_io_stop(f->loop, &f->wio);
	ev_timer_stop(f->loop, &f->idle);
	if (f->s.t && buf_len(&f->out))
		tunnel_buffered(f->s.t, -(long)buf_len(&f->out));
	tunnel_detach(&f->s);
	buf_release(&f->out);
	ring_release(&f->unacked);
	if (f->fd >= 0) {
		if (linger0) {
			struct linger l = { 1, 0 };

			setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(f->fd);
		f->fd = -1;
	}
	f->ops->closed(f, reason, why);
}

void flow_cancel(struct flow *f, uint8_t code, const char *why)
{
	send_rst(f, code);
	flow_end(f, code, why, 0);
}

void flow_reset(struct flow *f, uint8_t code, const char *why)
{
	send_rst(f, code);
	flow_end(f, code ? code : PROTO_GENERAL_FAILURE, why, 1);
}

static void maybe_done(struct flow *f)
{
	if (f->rd_eof && f->wr_shut)
		flow_end(f, PROTO_OK, "done", 0);
}

static void shut_write(struct flow *f)
{
	/* past the end of input, close() right after sends the FIN */
	if (!f->rd_eof)
		shutdown(f->fd, SHUT_WR);
	f->wr_shut = 1;
	maybe_done(f);
}

/* ---- socket -> tunnel ---- */

/* A resuming flow keeps a copy of what it sends until the peer
 * acknowledges it: the payloads of the frames in room (laid out as
 * tunnel_data_room() gives them). -1 past the cap, which the peer's
 * window keeps us far from. */
static int retain(struct flow *f, const uint8_t *room, size_t n)
{
	if (n > ring_room(&f->unacked))
		return -1;
	for (size_t off = 0; off < n; off += FRAME_MAX_PAYLOAD)
		ring_put(&f->unacked,
			 room + off / FRAME_MAX_PAYLOAD * FRAME_MAX_LEN +
				 FRAME_HDR_LEN,
			 MIN(FRAME_MAX_PAYLOAD, n - off));
	return 0;
}

/* n bytes, read into the room tunnel_data_room() gave, become frames. */
static int data_sent(struct flow *f, const uint8_t *room, size_t n)
{
	if (f->resumable && retain(f, room, n)) {
		flow_reset(f, PROTO_GENERAL_FAILURE, "resume buffer full");
		return -1;
	}
	tunnel_data_commit(f->s.t, f->s.id, n);
	f->sent += n;
	f->credit -= (uint32_t)n;
	f->up_bytes += (uint64_t)n;
	meter_add(tunnel_meter(f->s.t),
		  f->server_side ? METER_TCP_DOWN : METER_TCP_UP, n);
	f->last_active = ev_now(f->loop);
	return 0;
}

/* Frames filled by one readv(): 64 KiB, a few TLS records, in one
 * system call; other flows get their turn after each. */
#define READ_FRAMES 4

static void rio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct flow *f = container_of(w, struct flow, rio);
	struct tunnel *t = f->s.t;
	struct iovec iov[READ_FRAMES];
	size_t want;
	uint8_t *p;
	ssize_t n;
	int k = READ_FRAMES, cnt;

	if (!f->credit) {
		ev_io_stop(loop, w); /* restarted by WINDOW */
		return;
	}
	p = tunnel_data_room(t, &f->s, &k);
	if (!p) {
		ev_io_stop(loop, w);
		tunnel_wait_room(&f->s);
		return;
	}
	want = MIN((size_t)k * FRAME_MAX_PAYLOAD, f->credit);
	for (cnt = 0; (size_t)cnt * FRAME_MAX_PAYLOAD < want; cnt++) {
		iov[cnt].iov_base = p + (size_t)cnt * FRAME_MAX_LEN +
				    FRAME_HDR_LEN;
		iov[cnt].iov_len = MIN(FRAME_MAX_PAYLOAD,
				       want - (size_t)cnt * FRAME_MAX_PAYLOAD);
	}
	n = readv(f->fd, iov, cnt);
	if (n > 0) {
		data_sent(f, p, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		flow_reset(f, PROTO_GENERAL_FAILURE, strerror(errno));
		return;
	}
	ev_io_stop(loop, w);
	f->rd_eof = 1;
	tunnel_data_fin(t, f->s.id);
	maybe_done(f);
}

static void resume_reading(struct flow *f)
{
	if (f->relaying && !f->rd_eof && f->credit && !f->s.waiting &&
	    !f->resend && !f->fin_pending && !f->syncing)
		ev_io_start(f->loop, &f->rio);
}

/* After a resume: what the peer lost goes again, from unacked, before
 * anything new is read (and without credit: it was paid for once). */
static void push_resend(struct flow *f)
{
	struct tunnel *t = f->s.t;

	while (f->resend) {
		size_t from;
		int k = READ_FRAMES;
		uint8_t *p = tunnel_data_room(t, &f->s, &k);
		size_t n, off;

		if (!p) {
			tunnel_wait_room(&f->s);
			return;
		}
		n = MIN((size_t)k * FRAME_MAX_PAYLOAD, f->resend);
		from = ring_len(&f->unacked) - f->resend;
		for (off = 0; off < n; off += FRAME_MAX_PAYLOAD)
			ring_copy(&f->unacked, from + off,
				  p + off / FRAME_MAX_PAYLOAD * FRAME_MAX_LEN +
					  FRAME_HDR_LEN,
				  MIN(FRAME_MAX_PAYLOAD, n - off));
		tunnel_data_commit(t, f->s.id, n);
		f->resend -= n;
	}
	if (f->fin_pending) {
		f->fin_pending = 0;
		tunnel_data_fin(t, f->s.id);
	}
	resume_reading(f);
}

static void stream_writable(struct stream *s)
{
	struct flow *f = of_stream(s);

	if (f->resend || f->fin_pending)
		push_resend(f);
	else
		resume_reading(f);
}

/* ---- tunnel -> socket ---- */

/* A small frame (an echo, a keystroke, a request) goes to the socket at
 * once. Bulk is copied to the flow's buffer and written when the
 * tunnel's reader got through its batch (and the UDP and control frames
 * in it): one write() for many frames, not one per 16 KiB. Only a
 * socket that cannot take it all is then polled for writability. */
#define DIRECT_WRITE_MAX 4096
/* One write() of megabytes to a local socket takes milliseconds, in
 * which no UDP or control frame is looked at. */
#define WRITE_MAX (256u << 10)

/* One write() of the buffer; polls for writability while some is left. */
static void write_out(struct flow *f)
{
	ssize_t n = write(f->fd, buf_peek(&f->out),
			  MIN(buf_len(&f->out), WRITE_MAX));

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			flow_reset(f, PROTO_GENERAL_FAILURE, strerror(errno));
			return;
		}
		n = 0;
	}
	buf_consume(&f->out, (size_t)n);
	tunnel_buffered(f->s.t, -(long)n);
	f->delivered += (uint32_t)n;
	f->down_bytes += (uint64_t)n;
	meter_add(tunnel_meter(f->s.t),
		  f->server_side ? METER_TCP_UP : METER_TCP_DOWN, (size_t)n);
	if (buf_len(&f->out)) {
		ev_io_start(f->loop, &f->wio);
	} else {
		ev_io_stop(f->loop, &f->wio);
		buf_release(&f->out); /* an idle flow holds no buffer */
		if (f->fin_rcvd) {
			shut_write(f);
			return;
		}
	}
	flow_maybe_window(f);
}

static void wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	write_out(container_of(w, struct flow, wio));
}

static void stream_deliver(struct stream *s)
{
	struct flow *f = of_stream(s);

	if (buf_len(&f->out) && !ev_is_active(&f->wio))
		write_out(f);
}

static void got_data(struct flow *f, const struct frame *fr)
{
	const uint8_t *p = fr->payload;
	size_t len = fr->len;
	ssize_t n = 0;

	if (f->fin_rcvd || len > f->rcv_avail ||
	    (!f->relaying && !f->server_side)) {
		flow_reset(f, PROTO_GENERAL_FAILURE,
			   "peer exceeded its window");
		return;
	}
	f->rcv_avail -= (uint32_t)len;
	f->rcvd += len;
	f->last_active = ev_now(f->loop);
	tunnel_in_count(f->s.t, len);
	/* Server: data that came with the OPEN (fast open) waits here
	 * until the outbound connection is up; the window bounds it. */
	if (f->relaying && !buf_len(&f->out) && len <= DIRECT_WRITE_MAX) {
		n = write(f->fd, p, len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				flow_reset(f, PROTO_GENERAL_FAILURE,
					   strerror(errno));
				return;
			}
			n = 0;
		}
		f->delivered += (uint32_t)n;
		f->down_bytes += (uint64_t)n;
		meter_add(tunnel_meter(f->s.t),
			  f->server_side ? METER_TCP_UP : METER_TCP_DOWN,
			  (size_t)n);
	}
	if ((size_t)n < len) {
		struct stream *over;

		/* bulk starts: room for a burst at once, not by doubling */
		if (!buf_len(&f->out))
			buf_reserve(&f->out, MIN(f->window / 2, WRITE_MAX));
		if (buf_put(&f->out, p + n, len - (size_t)n)) {
			flow_reset(f, PROTO_GENERAL_FAILURE,
				   "receive buffer full");
			return;
		}
		if (f->relaying && !ev_is_active(&f->wio))
			tunnel_deliver_later(&f->s);
		over = tunnel_buffered(f->s.t, (long)(len - (size_t)n));
		if (over == &f->s) {
			flow_reset(f, PROTO_GENERAL_FAILURE, "max-buffer");
			return;
		}
		if (over)
			over->ops->overflow(over);
	}
	flow_maybe_window(f);
}

/* The peer received everything up to the offset whose low 32 bits are
 * r: that much of unacked can go. */
static int got_ack(struct flow *f, uint32_t r)
{
	uint64_t acked = f->sent - ring_len(&f->unacked);
	uint32_t n = r - (uint32_t)acked;

	if (n > ring_len(&f->unacked) - f->resend)
		return -1;
	ring_consume(&f->unacked, n);
	return 0;
}

static void got_window(struct flow *f, const struct frame *fr)
{
	uint32_t incr = frame_get_window(fr), r;

	if (f->resumable && frame_get_window_ack(fr, &r) && got_ack(f, r)) {
		flow_reset(f, PROTO_GENERAL_FAILURE,
			   "peer acknowledged bytes never sent");
		return;
	}
	if (incr > UINT32_MAX / 2 - f->credit) {
		flow_reset(f, PROTO_GENERAL_FAILURE, "window overflow");
		return;
	}
	f->credit += incr;
	resume_reading(f);
}

static void got_sync(struct flow *f, const struct frame *fr);

static void stream_frame(struct stream *s, const struct frame *fr)
{
	struct flow *f = of_stream(s);
	struct addr bound;
	uint8_t code, reason;

	switch (fr->type) {
	case FRAME_RESULT:
		if (f->server_side || f->result_seen)
			break;
		f->result_seen = 1;
		frame_get_result(fr, &code, &reason, &bound);
		f->ops->result(f, code, reason, bound.type ? &bound : NULL);
		/* the server forgot the stream already; a fast-open flow
		 * was told "connected": reset it, the nearest to the truth */
		if (code != PROTO_OK)
			flow_end(f, code, "open failed", f->relaying);
		break;
	case FRAME_DATA:
		got_data(f, fr);
		break;
	case FRAME_WINDOW:
		got_window(f, fr);
		break;
	case FRAME_FIN:
		if (f->fin_rcvd)
			break;
		f->fin_rcvd = 1;
		if (!buf_len(&f->out) && f->relaying)
			shut_write(f);
		break;
	case FRAME_SYNC:
		got_sync(f, fr);
		break;
	case FRAME_RST:
		/* flow_end detaches, after it gave back what we buffered */
		flow_end(f, frame_get_code(fr), "reset by peer", 1);
		break;
	default:
		flow_reset(f, PROTO_GENERAL_FAILURE, "unexpected frame");
		break;
	}
}

/* The timer is not moved on every byte: when it fires, it checks when
 * the flow last moved data and sleeps for the rest of the interval. */
static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct flow *f = container_of(w, struct flow, idle);
	ev_tstamp left = f->last_active + w->repeat - ev_now(loop);

	if (left > 0.01) {
		ev_timer_stop(loop, w);
		ev_timer_set(w, left, w->repeat);
		ev_timer_start(loop, w);
		return;
	}
	flow_reset(f, PROTO_TTL_EXPIRED, "idle-timeout");
}

static void stream_abort(struct stream *s)
{
	struct flow *f = of_stream(s);

	/* Client, no RESULT yet: the front-end still owes its application
	 * an answer (a SOCKS reply); the destination was not reached. */
	if (!f->server_side && !f->result_seen) {
		f->result_seen = 1;
		f->ops->result(f, PROTO_HOST_UNREACHABLE, REASON_NONE, NULL);
		flow_end(f, PROTO_HOST_UNREACHABLE,
			 "tunnel lost before the server answered", f->relaying);
		return;
	}
	flow_end(f, PROTO_GENERAL_FAILURE, "tunnel closed", 1);
}

static void stream_info(struct stream *s, struct stream_info *i)
{
	struct flow *f = of_stream(s);

	i->kind = "TCP";
	f->ops->endpoints(f, &i->src, &i->dst);
	i->start = f->start;
	i->up = flow_bytes_up(f);
	i->down = flow_bytes_down(f);
	i->buffered = buf_len(&f->out);
	i->window = f->window;
	i->state = f->parked  ? "waiting to resume" :
		   f->syncing ? "resuming" :
		   !f->relaying || (!f->server_side && !f->result_seen) ?
				"opening" :
		   f->rd_eof && f->fin_rcvd   ? "closing" :
		   f->rd_eof || f->fin_rcvd   ? "half-closed" :
		   !f->credit || f->s.waiting ? "blocked" :
						"open";
}

uint64_t flow_bytes_up(const struct flow *f)
{
	return f->server_side ? f->down_bytes : f->up_bytes;
}

uint64_t flow_bytes_down(const struct flow *f)
{
	return f->server_side ? f->up_bytes : f->down_bytes;
}

void flow_log_end(const struct flow *f, const char *who, const struct addr *dst,
		  const char *why)
{
	enum log_level lvl = f->relaying ? LOG_INFO : LOG_DEBUG;
	char d[ADDR_STR_MAX];

	if (log_get_level() < lvl)
		return; /* the address is not even formatted */
	log_msg(lvl,
		"%s: flow %u to %s ended after %.1f s: %s (%llu bytes up, "
		"%llu down)",
		who, f->s.id, addr_str(dst, d, sizeof(d)),
		ev_now(f->loop) - f->start, why,
		(unsigned long long)flow_bytes_up(f),
		(unsigned long long)flow_bytes_down(f));
}

static void stream_overflow(struct stream *s)
{
	flow_reset(of_stream(s), PROTO_GENERAL_FAILURE, "max-buffer");
}

static void stream_unthrottled(struct stream *s)
{
	flow_maybe_window(of_stream(s));
}

/* ---- resume (docs/PROTOCOL.md section 16) ---- */

/* Only a flow both sides know to be established is kept: one still
 * opening ends as it did (the client's application gets its answer). */
static int stream_park(struct stream *s)
{
	struct flow *f = of_stream(s);

	if (!f->resumable || !f->relaying ||
	    (!f->server_side && !f->result_seen))
		return -1;
	ev_io_stop(f->loop, &f->rio);
	ev_io_stop(f->loop, &f->wio);
	ev_timer_stop(f->loop, &f->idle);
	f->parked = 1;
	f->syncing = 1;
	f->sync_sent = 0;
	f->resend = 0; /* worked out again from the next SYNC */
	f->fin_pending = 0;
	return 0;
}

/* A receiver acknowledges with its WINDOW frames, sent once half a
 * window was delivered: a flow that moves little would leave its peer
 * holding copies for long. Once a keepalive interval it returns what
 * it delivered since its last WINDOW (an acknowledgement and credit);
 * and a sender whose copies were all acknowledged gives back their
 * buffer (not at once: a busy flow would allocate it again and again). */
static void stream_tick(struct stream *s)
{
	struct flow *f = of_stream(s);
	uint8_t b[FRAME_HDR_LEN + 8];
	int n;

	if (!f->resumable || f->parked || f->syncing)
		return;
	if (!ring_len(&f->unacked))
		ring_release(&f->unacked);
	if (!f->delivered || f->fin_rcvd || !f->relaying)
		return;
	n = frame_window_ack(b, sizeof(b), f->s.id, f->delivered,
			     (uint32_t)f->rcvd);
	f->rcv_avail += f->delivered;
	f->delivered = 0;
	tunnel_send(s->t, b, (size_t)n);
}

static void send_sync(struct flow *f)
{
	struct sync y = {
		.flags = f->fin_rcvd ? SYNC_F_FIN : 0,
		.received = f->rcvd,
		.limit = f->rcvd + f->rcv_avail,
	};
	uint8_t b[FRAME_HDR_LEN + 17];
	int n = frame_sync(b, sizeof(b), f->s.id, &y);

	tunnel_send(f->s.t, b, (size_t)n);
	f->sync_sent = 1;
}

static void stream_adopt(struct stream *s)
{
	struct flow *f = of_stream(s);

	f->parked = 0;
	/* parked, no watcher of the flow runs: they may start on another
	 * loop (a server worker's that took the session over) */
	f->loop = tunnel_loop(s->t);
	f->resumable = tunnel_resumes(s->t);
	if (buf_len(&f->out))
		tunnel_buffered(s->t, (long)buf_len(&f->out));
	if (!f->server_side)
		send_sync(f);
}

/* The peer's SYNC: it received y.received of what we sent, and we may
 * send up to y.limit. What it lost goes again; the credit is what its
 * limit leaves (WINDOW frames may have been lost with the tunnel). */
static void got_sync(struct flow *f, const struct frame *fr)
{
	uint64_t acked = f->sent - ring_len(&f->unacked);
	struct sync y;

	frame_get_sync(fr, &y);
	if (!f->syncing) {
		flow_reset(f, PROTO_GENERAL_FAILURE, "unexpected SYNC");
		return;
	}
	if (!f->sync_sent)
		send_sync(f);
	if (y.received < acked || y.received > f->sent || y.limit < f->sent ||
	    y.limit - f->sent > UINT32_MAX / 2 ||
	    ((y.flags & SYNC_F_FIN) && !f->rd_eof)) {
		flow_reset(f, PROTO_GENERAL_FAILURE,
			   "resume: the peer's offsets do not match ours");
		return;
	}
	ring_consume(&f->unacked, (size_t)(y.received - acked));
	f->resend = (size_t)(f->sent - y.received);
	f->credit = (uint32_t)(y.limit - f->sent);
	f->fin_pending = f->rd_eof && !(y.flags & SYNC_F_FIN);
	f->syncing = 0;
	log_debug("flow %u: resumed: %zu bytes to send again%s", f->s.id,
		  f->resend, f->fin_pending ? ", and FIN" : "");
	if (f->s.t && tunnel_params(f->s.t)->idle_timeout > 0) {
		f->last_active = ev_now(f->loop);
		ev_timer_start(f->loop, &f->idle);
	}
	push_resend(f);
	if (!f->s.t)
		return;
	if (buf_len(&f->out))
		ev_io_start(f->loop, &f->wio);
	else if (f->fin_rcvd && !f->wr_shut)
		shut_write(f); /* may end the flow */
}

static const struct stream_ops flow_stream_ops = {
	.frame = stream_frame,
	.abort = stream_abort,
	.writable = stream_writable,
	.info = stream_info,
	.overflow = stream_overflow,
	.deliver = stream_deliver,
	.unthrottled = stream_unthrottled,
	.park = stream_park,
	.adopt = stream_adopt,
	.tick = stream_tick,
};

static void flow_init(struct flow *f, struct tunnel *t,
		      const struct flow_ops *ops, int fd)
{
	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->loop = tunnel_loop(t);
	f->fd = fd;
	buf_init(&f->out, tunnel_params(t)->max_window);
	/* the peer's credit keeps it at its window: the cap is a guard */
	ring_init(&f->unacked, UINT32_MAX / 2);
	f->resumable = tunnel_resumes(t);
	f->window = tunnel_params(t)->window;
	f->rcv_avail = f->window;
	f->credit = tunnel_peer_window(t);
	f->start = ev_now(f->loop);
	f->server_side = tunnel_params(t)->is_server;
	ev_init(&f->rio, rio_cb);
	ev_init(&f->wio, wio_cb);
	ev_init(&f->idle, idle_cb);
}

void flow_open(struct flow *f, struct tunnel *t, const struct flow_ops *ops,
	       int fd, const struct addr *dst)
{
	uint8_t b[FRAME_HDR_LEN + ADDR_WIRE_MAX];
	int n;

	flow_init(f, t, ops, fd);
	tunnel_attach(t, &f->s, tunnel_next_id(t), &flow_stream_ops);
	n = frame_open(b, sizeof(b), f->s.id, dst);
	tunnel_send(t, b, (size_t)n);
}

int flow_send_early(struct flow *f, const void *p, size_t n)
{
	struct tunnel *t = f->s.t;
	uint8_t *room;
	int k = 1;

	if (!n || !t)
		return 0;
	/* a few hundred bytes once: like a stream woken from the wait for
	 * room, it gets its one frame in even above the soft limit */
	f->s.woken = 1;
	room = tunnel_data_room(t, &f->s, &k);
	if (!room || n > f->credit || n > FRAME_MAX_PAYLOAD) {
		flow_reset(f, PROTO_GENERAL_FAILURE, "tunnel queue full");
		return -1;
	}
	memcpy(room + FRAME_HDR_LEN, p, n);
	return data_sent(f, room, n);
}

void flow_accept(struct flow *f, struct tunnel *t, const struct flow_ops *ops,
		 uint32_t id)
{
	flow_init(f, t, ops, -1);
	tunnel_attach(t, &f->s, id, &flow_stream_ops);
}

void flow_start(struct flow *f)
{
	f->relaying = 1;
	f->rate_since = f->last_active = ev_now(f->loop);
	if (f->s.t && tunnel_params(f->s.t)->idle_timeout > 0) {
		ev_tstamp idle = tunnel_params(f->s.t)->idle_timeout;

		ev_timer_set(&f->idle, idle, idle);
		ev_timer_start(f->loop, &f->idle);
	}
	ev_io_set(&f->rio, f->fd, EV_READ);
	ev_io_set(&f->wio, f->fd, EV_WRITE);
	if (buf_len(&f->out))
		ev_io_start(f->loop,
			    &f->wio); /* fast-open data; FIN after it */
	else if (f->fin_rcvd)
		shut_write(f);
	resume_reading(f);
}

void flow_result(struct flow *f, int fd, uint8_t code, uint8_t reason,
		 const struct addr *bound)
{
	f->fd = fd;
	if (f->s.t)
		tunnel_send_result(f->s.t, f->s.id, code, reason, bound);
	if (code != PROTO_OK) {
		flow_end(f, code, "open failed", 0);
		return;
	}
	flow_start(f);
}
