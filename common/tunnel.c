/* The tunnel's life: its state and the one function that changes it,
 * the streams attached to it, the TLS handshake, the HELLO exchange,
 * keepalive, reading and dispatching frames, and the one close path
 * (tunnel_close, tunnel_free and tunnel_release all end in it). The
 * send queues and the output scheduler are in tunnel_out.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpath.h"
#include "log.h"
#include "tls.h"
#include "tunnel_int.h"
#include "util.h"

/* Plaintext read buffer: a few records, so one callback can take what
 * OpenSSL's read-ahead already holds. */
#define RX_SIZE (4 * FRAME_MAX_LEN)
/* Bytes to read per callback before letting other watchers run. */
#define RX_BUDGET (256u << 10)
/* A ping whose round trip crossed more than this of other traffic in
 * either direction may have waited behind it: not a quiet sample. */
#define QUIET_BYTES (16u << 10)
/* Pings go in trains of this many, each sent when the last one's PONG
 * came: the first wakes both hosts' idle CPUs (on a short path that
 * can take several times the path's round trip), the rest see the path
 * with both ends awake, as the credit loop of a busy flow does. */
#define PING_TRAIN 4

/* GOAWAY codes (docs/PROTOCOL.md section 3.3); GOAWAY_NONE: send none. */
enum goaway_code {
	GOAWAY_NONE = -1,
	GOAWAY_SHUTDOWN = 0,
	GOAWAY_PROTOCOL = 1,
	GOAWAY_VERSION = 2,
};

static void close_with(struct tunnel *t, const char *why,
		       enum goaway_code code);

/* ---- state ---- */

static const char *const state_names[] = {
	[T_HANDSHAKE] = "handshake", [T_HELLO] = "hello",   [T_UP] = "up",
	[T_CLOSING] = "closing",     [T_CLOSED] = "closed",
};

static int transition_ok(enum tunnel_state from, enum tunnel_state to)
{
	switch (to) {
	case T_HELLO:
		return from == T_HANDSHAKE;
	case T_UP:
		return from == T_HELLO;
	case T_CLOSING:
		return from == T_HELLO || from == T_UP;
	case T_CLOSED:
		return from != T_CLOSED;
	default:
		return 0;
	}
}

void tunnel_set_state(struct tunnel *t, enum tunnel_state to)
{
	enum tunnel_state from = t->state;

	if (!transition_ok(from, to)) {
		log_error("%s: illegal state change %s -> %s", t->name,
			  state_names[from], state_names[to]);
		abort();
	}
	log_debug("%s: state %s -> %s", t->name, state_names[from],
		  state_names[to]);
	t->state = to;
}

void *tunnel_owner(const struct tunnel *t)
{
	return t->owner;
}

struct ev_loop *tunnel_loop(const struct tunnel *t)
{
	return t->loop;
}

const char *tunnel_name(const struct tunnel *t)
{
	return t->name;
}

const char *tunnel_peer(const struct tunnel *t)
{
	return tls_peer_name(t->tls);
}

const struct tunnel_params *tunnel_params(const struct tunnel *t)
{
	return &t->p;
}

uint32_t tunnel_peer_window(const struct tunnel *t)
{
	return t->peer_window;
}

void tunnel_set_meter(struct tunnel *t, struct meter *m)
{
	t->meter = m;
}

struct meter *tunnel_meter(const struct tunnel *t)
{
	return t ? t->meter : NULL;
}

ev_tstamp tunnel_min_rtt(const struct tunnel *t)
{
	return t->rtt.min;
}

int tunnel_path_lossy(struct tunnel *t)
{
	return tcp_path_lossy(&t->path, t->fd, ev_now(t->loop));
}

uint8_t tunnel_peer_flags(const struct tunnel *t)
{
	return t->peer_flags;
}

int tunnel_peer_sockaddr(const struct tunnel *t, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	*len = sizeof(*ss);
	return getpeername(t->fd, (struct sockaddr *)ss, len) ? -1 : 0;
}

void tunnel_set_dpath(struct tunnel *t, struct dpath *d)
{
	dpath_free(t->dp);
	t->dp = t->state == T_UP ? d : NULL;
	if (!t->dp)
		dpath_free(d);
}

struct dpath *tunnel_dpath(const struct tunnel *t)
{
	return t->dp;
}

/* ---- streams ---- */

uint32_t tunnel_next_id(struct tunnel *t)
{
	do {
		if (++t->next_id == 0)
			t->next_id = 1;
	} while (idmap_get(&t->streams, t->next_id));
	return t->next_id;
}

void tunnel_attach(struct tunnel *t, struct stream *s, uint32_t id,
		   const struct stream_ops *ops)
{
	s->id = id;
	s->t = t;
	s->ops = ops;
	s->waiting = 0;
	s->woken = 0;
	s->wait_next = NULL;
	s->out_next = NULL;
	s->out_queued = 0;
	s->resuming = 0;
	s->kept = NULL;
	idmap_put(&t->streams, id, s);
}

void tunnel_open_udp(struct tunnel *t, struct stream *s,
		     const struct stream_ops *ops)
{
	uint8_t b[FRAME_HDR_LEN];

	tunnel_attach(t, s, tunnel_next_id(t), ops);
	frame_simple(b, sizeof(b), FRAME_UDP_OPEN, s->id);
	tunnel_send(t, b, sizeof(b));
}

void tunnel_deliver_later(struct stream *s)
{
	struct tunnel *t = s->t;

	if (!t || s->out_queued)
		return;
	s->out_queued = 1;
	s->out_next = t->out_head;
	t->out_head = s;
}

static void deliver_unlink(struct tunnel *t, struct stream *s)
{
	struct stream **pp;

	for (pp = &t->out_head; *pp; pp = &(*pp)->out_next) {
		if (*pp == s) {
			*pp = s->out_next;
			break;
		}
	}
	s->out_queued = 0;
}

/* Each stream leaves the list before its callback, which may end it. */
static void deliver_all(struct tunnel *t)
{
	struct stream *s;

	while ((s = t->out_head) && t->state == T_UP) {
		t->out_head = s->out_next;
		s->out_queued = 0;
		s->ops->deliver(s);
	}
}

void tunnel_detach(struct stream *s)
{
	struct tunnel *t = s->t;

	if (!t) {
		kept_forget(s);
		return;
	}
	if (s->waiting)
		out_unwait(t, s);
	if (s->out_queued)
		deliver_unlink(t, s);
	idmap_del(&t->streams, s->id);
	s->t = NULL;
}

/* ---- input ---- */

static void send_hello(struct tunnel *t)
{
	uint8_t f[FRAME_HDR_LEN + 12];
	uint8_t flags = HELLO_F_REASONS;
	int n;

	if (t->p.udp_path)
		flags |= HELLO_F_UDP_PATH;
	if (t->p.resume_window > 0)
		flags |= HELLO_F_RESUME;
	n = frame_hello(f, sizeof(f), t->p.window, flags);

	out_queue_ctl(t, f, (size_t)n);
}

static void send_ping(struct tunnel *t, uint8_t type, const uint8_t op[8])
{
	uint8_t f[FRAME_HDR_LEN + 8];
	int n = frame_ping(f, sizeof(f), type, op);

	out_queue_ctl(t, f, (size_t)n);
}

/* ---- stall detection (client) ---- */

static ev_tstamp stall_limit(const struct tunnel *t)
{
	return stall_timeout(t->p.stall_timeout, t->rtt.srtt);
}

static void stall_arm(struct tunnel *t, ev_tstamp after)
{
	ev_timer_stop(t->loop, &t->stall_tm);
	ev_timer_set(&t->stall_tm, MAX(after, 0.001), 0.);
	ev_timer_start(t->loop, &t->stall_tm);
}

/* A PING went out: silence counts from now unless it already does. The
 * check is set for stall-timeout from when the silence began, whatever
 * the timer was set for before (a probe, or an older PING's check): a
 * check left for later let a full run see a stall 4 s into a silence
 * with a stall-timeout of 2 s. */
static void stall_waits(struct tunnel *t)
{
	int counting = t->stall.since != 0;

	if (!t->p.stall_timeout)
		return;
	stall_wait(&t->stall, ev_now(t->loop));
	if (!counting || !ev_is_active(&t->stall_tm))
		stall_arm(t, stall_left(&t->stall, ev_now(t->loop),
					stall_limit(t)));
}

/* Bytes came in; answered: among them the PONG of our latest PING. */
static void stall_hears(struct tunnel *t, int answered)
{
	if (!t->p.stall_timeout)
		return;
	if (stall_heard(&t->stall, ev_now(t->loop), answered)) {
		log_info("%s: heard from the server again", t->name);
		if (t->ops->stalled)
			t->ops->stalled(t, 0);
	}
	/* still waiting for the PONG: the silence counts from here on */
	if (stall_watching(&t->stall))
		stall_arm(t, stall_limit(t));
}

/* Held back probes go out a quarter stall-timeout after the last PING:
 * a busy tunnel costs a few PINGs a second at most, an idle one none
 * beyond keepalive. */
#define PROBE_SHARE 0.25

static void ping(struct tunnel *t);

void stall_probe(struct tunnel *t)
{
	ev_tstamp gap;

	if (!t->p.stall_timeout || t->state != T_UP || t->stall.since)
		return;
	gap = stall_limit(t) * PROBE_SHARE - (ev_now(t->loop) - t->ping_sent);
	if (gap <= 0) {
		ping(t);
		return;
	}
	if (t->probe_due)
		return; /* the timer fires for it within the gap already */
	t->probe_due = 1;
	/* the timer may be set for a later stall check of an answered
	 * PING: the probe must not wait for that */
	if (!ev_is_active(&t->stall_tm) ||
	    ev_timer_remaining(t->loop, &t->stall_tm) > gap)
		stall_arm(t, gap);
}

static void stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, stall_tm);
	ev_tstamp now = ev_now(loop), limit = stall_limit(t), left;

	if (t->state != T_UP)
		return;
	if (stall_check(&t->stall, now, limit)) {
		log_warn("%s: no answer from the server for %.1f s "
			 "(stall-timeout %.1f s): suspect",
			 t->name, now - t->stall.since, limit);
		if (t->ops->stalled)
			t->ops->stalled(t, 1);
		return; /* until heard from again */
	}
	if (stall_watching(&t->stall)) {
		stall_arm(t, stall_left(&t->stall, now, limit));
		return;
	}
	if (t->probe_due && !t->stall.suspect) {
		left = limit * PROBE_SHARE - (now - t->ping_sent);
		if (left > 0.001) {
			stall_arm(t, left);
			return;
		}
		t->probe_due = 0;
		ping(t);
	}
}

static void ping(struct tunnel *t)
{
	uint8_t op[8];
	ev_tstamp now = ev_time();

	memcpy(op, &now, sizeof(op));
	t->ping_sent = now;
	t->ping_mark = t->tx_bytes + t->rx_bytes;
	t->probe_due = 0; /* any PING is the probe */
	send_ping(t, FRAME_PING, op);
	stall_waits(t);
}

static void ping_train(struct tunnel *t)
{
	t->train_left = PING_TRAIN - 1;
	ping(t);
}

static void got_pong(struct tunnel *t, const struct frame *f)
{
	ev_tstamp sent, rtt, now = ev_time();
	int last; /* the answer to our latest PING */

	memcpy(&sent, f->payload, sizeof(sent));
	rtt = now - sent;
	if (rtt < 0 || rtt > 600)
		return; /* not one of ours */
	last = sent == t->ping_sent;
	if (last)
		stall_hears(t, 1);
	rtt_sample(&t->rtt, rtt, now,
		   last && t->tx_bytes + t->rx_bytes - t->ping_mark <=
				   QUIET_BYTES);
	if (last && t->train_left > 0) {
		t->train_left--;
		ping(t);
	}
}

/* Closes the tunnel from frame input; returns -1 for dispatch. */
static int fail(struct tunnel *t, const char *why, enum goaway_code code)
{
	close_with(t, why, code);
	return -1;
}

static int got_hello(struct tunnel *t, const struct frame *f)
{
	struct hello h;

	frame_get_hello(f, &h);
	if (h.version != PROTO_VERSION) {
		log_warn("%s: peer speaks protocol version %u, we speak %u",
			 t->name, h.version, PROTO_VERSION);
		return fail(t, "protocol version mismatch", GOAWAY_VERSION);
	}
	t->peer_window = h.window;
	t->peer_flags = h.flags;
	t->resumes = (h.flags & HELLO_F_RESUME) && t->p.resume_window > 0;
	tunnel_set_state(t, T_UP);
	t->since = ev_now(t->loop);
	ping_train(t); /* first RTT samples right away */
	t->ops->up(t);
	return 0;
}

/* Returns -1 when it closed the tunnel (docs/PROTOCOL.md section 12
 * says which GOAWAY goes first). */
static int dispatch(struct tunnel *t, const struct frame *f)
{
	struct stream *s;

	if (t->state == T_HELLO) {
		if (f->type != FRAME_HELLO)
			return fail(t, "peer did not start with HELLO",
				    GOAWAY_PROTOCOL);
		return got_hello(t, f);
	}
	switch (f->type) {
	case FRAME_HELLO:
		return fail(t, "second HELLO", GOAWAY_PROTOCOL);
	case FRAME_PING:
		send_ping(t, FRAME_PONG, f->payload);
		return 0;
	case FRAME_PONG:
		got_pong(t, f);
		return 0;
	case FRAME_GOAWAY:
		/* Open streams may finish; with none there is nothing to
		 * wait for. Closing is left to our caller, never to the op.
		 * Whatever runs is over with this tunnel: nothing is kept. */
		t->goaway_rcvd = 1;
		if (t->p.is_server || !t->ops->goaway ||
		    !idmap_count(&t->streams))
			return fail(t, "peer is going away", GOAWAY_SHUTDOWN);
		t->ops->goaway(t);
		return 0;
	case FRAME_UDP_PATH:
		/* only a server that offered the path hears it */
		if (!t->p.is_server || !t->p.udp_path)
			return fail(t, "unexpected UDP_PATH", GOAWAY_PROTOCOL);
		if (t->dp)
			dpath_peer_mode(t->dp, f->payload[0]);
		return 0;
	case FRAME_OPEN:
	case FRAME_UDP_OPEN:
		if (!t->p.is_server)
			return fail(t, "server tried to open a stream",
				    GOAWAY_PROTOCOL);
		if (idmap_get(&t->streams, f->stream))
			return fail(t, "stream id already in use",
				    GOAWAY_PROTOCOL);
		t->opened = 1;
		t->ops->open(t, f);
		return 0;
	case FRAME_SESSION:
	case FRAME_RESUME:
	case FRAME_RESUMED:
	case FRAME_SYNC:
		return resume_dispatch(t, f);
	default:
		s = idmap_get(&t->streams, f->stream);
		if (s) /* frames of streams already gone are dropped */
			s->ops->frame(s, f);
		return 0;
	}
}

void tunnel_input_udp(struct tunnel *t, const struct frame *f)
{
	struct stream *s;

	if (t->state != T_UP || !(s = idmap_get(&t->streams, f->stream)))
		return;
	/* as in io_cb: a close inside waits with down() until we are out */
	t->dispatching++;
	s->ops->frame(s, f);
	if (!--t->dispatching && t->down_pending) {
		t->down_pending = 0;
		if (!t->freeing)
			t->ops->down(t, t->down_why);
	}
}

static int parse_frames(struct tunnel *t)
{
	size_t off = 0;
	int n;

	while (!tunnel_ending(t)) {
		struct frame f;

		n = frame_decode(t->rx + off, t->rx_len - off, &f);
		if (n == 0)
			break;
		if (n < 0) {
			/* the decoder left the header for this line */
			log_warn("%s: bad frame: %s (%s, type 0x%02x, stream "
				 "%u, length %u)",
				 t->name, frame_strerror(n),
				 frame_type_name(f.type), f.type, f.stream,
				 f.len);
			close_with(t, "protocol error", GOAWAY_PROTOCOL);
			return -1;
		}
		off += (size_t)n;
		if (dispatch(t, &f))
			return -1;
	}
	/* A stream's callback closed the tunnel, or filled the control
	 * queue (then it closes here: we are its io callback). */
	if (t->state == T_CLOSING)
		tunnel_close(t, "control queue full");
	if (t->state == T_CLOSED)
		return -1;
	memmove(t->rx, t->rx + off, t->rx_len - off);
	t->rx_len -= off;
	return 0;
}

static int do_read(struct tunnel *t)
{
	size_t total = 0;

	t->read_wants_write = 0;
	while (total < RX_BUDGET) {
		ssize_t n = tls_read(t->tls, t->rx + t->rx_len,
				     RX_SIZE - t->rx_len);

		if (n > 0) {
			t->rx_bytes += (uint64_t)n;
			t->rx_len += (size_t)n;
			total += (size_t)n;
			t->last_rx = ev_now(t->loop);
			if (t->stall.since || t->stall.suspect)
				stall_hears(t, 0);
			if (parse_frames(t))
				return -1;
			continue;
		}
		if (n == TLS_WANT_READ)
			return 0;
		if (n == TLS_WANT_WRITE) {
			t->read_wants_write = 1;
			return 0;
		}
		tunnel_close(t, n == TLS_EOF ? "closed by peer" :
					       tls_error(t->tls));
		return -1;
	}
	/* Budget spent with data possibly left inside OpenSSL: come back
	 * even if the socket stays quiet, but only after the loop polled
	 * the other sockets. (An event fed from here would be run in the
	 * same pass: under a steady download the loop never polled again,
	 * and local sockets waiting to be written to were starved.) */
	ev_idle_start(t->loop, &t->more);
	return 0;
}

/* An active idle watcher makes the loop poll without sleeping; this
 * runs once that poll found nothing else to do. */
static void more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, more);

	ev_idle_stop(loop, w);
	ev_feed_event(loop, &t->io, EV_READ);
}

static void handshake(struct tunnel *t)
{
	int rc = tls_handshake(t->tls);
	char desc[128];

	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
		ev_io_stop(t->loop, &t->io);
		t->io_events = rc == TLS_WANT_READ ? EV_READ : EV_WRITE;
		ev_io_set(&t->io, t->fd, t->io_events);
		ev_io_start(t->loop, &t->io);
		return;
	}
	if (rc) {
		tunnel_close(t, tls_error(t->tls));
		return;
	}
	if (t->p.is_server && !tls_peer_has_cert(t->tls)) {
		if (t->ops->no_cert)
			t->ops->no_cert(t); /* releases t */
		else
			tunnel_close(t, "no client certificate");
		return;
	}
	if (t->p.is_server)
		snprintf(t->name, sizeof(t->name), "tunnel %s",
			 tls_peer_name(t->tls));
	log_debug("%s: TLS up (%s)", t->name,
		  tls_describe(t->tls, desc, sizeof(desc)));
	tunnel_set_state(t, T_HELLO);
	t->last_rx = ev_now(t->loop);
	t->rx = xmalloc(RX_SIZE);
	ev_timer_stop(t->loop, &t->timer);
	ev_timer_set(&t->timer, t->p.keepalive, t->p.keepalive);
	ev_timer_start(t->loop, &t->timer);
	send_hello(t);
	if (out_flush(t))
		return;
	out_update_events(t);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, io);

	if (t->state == T_CLOSING) { /* tunnel_send() fed us EV_CUSTOM */
		tunnel_close(t, "control queue full");
		return;
	}
	if (t->state == T_HANDSHAKE) {
		handshake(t);
		return;
	}
	if ((revents & EV_READ) ||
	    (t->read_wants_write && (revents & EV_WRITE))) {
		int rc;

		t->dispatching++;
		rc = do_read(t);
		if (!rc)
			deliver_all(t);
		if (!--t->dispatching && t->down_pending) {
			t->down_pending = 0;
			if (!t->freeing)
				t->ops->down(t, t->down_why);
			return; /* t may be gone */
		}
		if (rc)
			return;
	}
	if (t->write_wants_read && (revents & EV_READ))
		t->write_wants_read = 0;
	if (out_flush(t))
		return;
	out_update_events(t);
}

/* Acknowledgements of quiet streams (they may send frames; none ends). */
static void tick_one(void *val, void *arg)
{
	struct stream *s = val;

	if (s->ops->tick && !s->resuming)
		s->ops->tick(s);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, timer);
	ev_tstamp idle;

	if (t->state == T_HANDSHAKE) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		/* never connected at all: say so, it is a different fix */
		tunnel_close(
			t,
			!t->p.is_server && getpeername(t->fd,
						       (struct sockaddr *)&ss,
						       &len) ?
				"connect timed out (no answer from the server)" :
				"TLS handshake timed out");
		return;
	}
	idle = ev_now(loop) - t->last_rx;
	if (idle >= t->p.timeout) {
		char why[64];

		snprintf(why, sizeof(why), "nothing heard for %.0f s", idle);
		tunnel_close(t, why);
		return;
	}
	if (t->state == T_UP)
		ping_train(t);
	if (t->resumes)
		idmap_each(&t->streams, tick_one, NULL);
	out_trim(t);
}

struct tunnel *tunnel_new(struct ev_loop *loop, int fd, struct tls *tls,
			  const struct tunnel_ops *ops,
			  const struct tunnel_params *p, void *owner)
{
	struct tunnel *t = xcalloc(1, sizeof(*t));

	t->loop = loop;
	t->fd = fd;
	t->tls = tls;
	t->ops = ops;
	t->p = *p;
	if (p->pool)
		p->pool->tunnels++;
	t->owner = owner;
	t->state = T_HANDSHAKE; /* the first state; tunnel_set_state after */
	snprintf(t->name, sizeof(t->name), "tunnel");
	out_init(t);
	/* The handshake starts from the io callback, never from here, so
	 * a failure cannot free the tunnel before the caller has it. A
	 * client's socket may still be connecting: wait until writable. */
	ev_idle_init(&t->more, more_cb);
	t->io_events = p->is_server ? EV_READ : EV_WRITE;
	ev_io_init(&t->io, io_cb, fd, t->io_events);
	ev_io_start(loop, &t->io);
	ev_timer_init(&t->timer, timer_cb, p->handshake_timeout, 0.);
	ev_timer_start(loop, &t->timer);
	ev_init(&t->stall_tm, stall_cb);
	rate_init(t);
	return t;
}

/* ---- the close path ---- */

static void stop_watchers(struct tunnel *t)
{
	ev_prepare_stop(t->loop, &t->prep);
	ev_idle_stop(t->loop, &t->more);
	ev_io_stop(t->loop, &t->io);
	ev_timer_stop(t->loop, &t->timer);
	ev_timer_stop(t->loop, &t->stall_tm);
	rate_stop(t);
	ev_clear_pending(t->loop, &t->io);
}

static void abort_one(void *val, void *arg)
{
	struct stream **list = arg;
	struct stream *s = val;

	/* collect first: abort handlers detach, which edits the map */
	s->wait_next = *list;
	*list = s;
}

/* Each stream is parked for a resume when the close allows it and the
 * stream can be, else aborted. */
static void abort_streams(struct tunnel *t, int park)
{
	struct stream *list = NULL;
	size_t parked = 0;

	idmap_each(&t->streams, abort_one, &list);
	while (list) {
		struct stream *s = list;

		list = s->wait_next;
		s->waiting = 0;
		s->out_queued = 0;
		idmap_del(&t->streams, s->id);
		s->t = NULL;
		if (park && resume_park(t, s)) {
			parked++;
			continue;
		}
		s->ops->abort(s);
	}
	idmap_free(&t->streams);
	if (parked)
		log_info("%s: %zu flows kept for a new connection to resume "
			 "(resume-window %.0f s)",
			 t->name, parked, t->p.resume_window);
}

struct idlist {
	uint32_t *ids;
	size_t n;
};

static void collect_id(void *val, void *arg)
{
	struct idlist *l = arg;

	l->ids[l->n++] = ((struct stream *)val)->id;
}

/* By id, looked up again each time: ending one stream may end another
 * (and the wait lists use the streams' own links). */
void tunnel_reset_streams(struct tunnel *t, uint8_t code)
{
	struct idlist l;
	uint8_t b[FRAME_HDR_LEN + 1];

	l.ids = xcalloc(tunnel_stream_count(t) + 1, sizeof(*l.ids));
	l.n = 0;
	idmap_each(&t->streams, collect_id, &l);
	for (size_t i = 0; i < l.n; i++) {
		struct stream *s = idmap_get(&t->streams, l.ids[i]);

		if (!s)
			continue;
		frame_code(b, sizeof(b), FRAME_RST, s->id, code);
		tunnel_send(t, b, sizeof(b));
		s->ops->abort(s);
	}
	free(l.ids);
}

/* The GOAWAY a close in this state may send: none before TLS is up, nor
 * once the control queue overflowed (the peer is not reading); an
 * error code as soon as our HELLO is out (section 4 lets nothing else
 * go first); a shutdown only when up and not said already by
 * tunnel_goaway(). */
static enum goaway_code goaway_for(const struct tunnel *t,
				   enum goaway_code code)
{
	if (t->state != T_HELLO && t->state != T_UP)
		return GOAWAY_NONE;
	if (code == GOAWAY_SHUTDOWN && (t->state != T_UP || t->goaway_sent))
		return GOAWAY_NONE;
	return code;
}

/* The one close: tunnel_close, tunnel_free and tunnel_release all end
 * here. A released tunnel has no fd or TLS left (the caller took them)
 * and no streams (only a handshake can be released). */
static void close_with(struct tunnel *t, const char *why, enum goaway_code code)
{
	int park;

	if (!t || t->state == T_CLOSED)
		return;
	park = resume_parks(t,
			    code == GOAWAY_PROTOCOL || code == GOAWAY_VERSION);
	/* GOAWAY 0 would tell the peer that the streams are over */
	if (park && code == GOAWAY_SHUTDOWN)
		code = GOAWAY_NONE;
	code = goaway_for(t, code);
	tunnel_set_state(t, T_CLOSED);
	stop_watchers(t);
	dpath_free(t->dp);
	t->dp = NULL;
	t->wait_head = NULL;
	t->wait_tail = &t->wait_head;
	t->out_head = NULL;
	abort_streams(t, park);
	/* aborted flows no longer report to us: give back what they held */
	if (t->p.pool) {
		t->p.pool->buffered -= t->buffered;
		t->p.pool->tunnels--;
	}
	t->buffered = 0;
	if (t->tls) {
		out_last_words(t, code);
		tls_shutdown(t->tls);
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	out_release(t);
	free(t->rx);
	t->rx = NULL;
	if (t->dispatching) {
		snprintf(t->down_why, sizeof(t->down_why), "%s", why);
		t->down_pending = 1;
	} else if (!t->freeing) {
		t->ops->down(t, why);
	}
}

void tunnel_protocol_error(struct tunnel *t)
{
	close_with(t, "protocol error", GOAWAY_PROTOCOL);
}

void tunnel_close(struct tunnel *t, const char *why)
{
	close_with(t, why, GOAWAY_SHUTDOWN);
}

void tunnel_goaway(struct tunnel *t)
{
	uint8_t g[FRAME_HDR_LEN + 1];

	if (t->state != T_UP || t->goaway_sent)
		return;
	frame_code(g, sizeof(g), FRAME_GOAWAY, 0, GOAWAY_SHUTDOWN);
	out_queue_ctl(t, g, sizeof(g));
	t->goaway_sent = 1;
}

size_t tunnel_stream_count(const struct tunnel *t)
{
	return t->streams.count;
}

struct largest_ctx {
	struct stream *s;
	size_t most;
};

static void find_largest(void *val, void *arg)
{
	struct largest_ctx *c = arg;
	struct stream *s = val;
	struct stream_info i;

	memset(&i, 0, sizeof(i));
	s->ops->info(s, &i);
	if (i.buffered > c->most && s->ops->overflow) {
		c->most = i.buffered;
		c->s = s;
	}
}

/* The limit this tunnel is past, if any. Past the pool's, only a tunnel
 * holding at least its share pays. */
static const char *over_limit(const struct tunnel *t)
{
	const struct tunnel_pool *pl = t->p.pool;

	if (t->p.max_buffer && t->buffered > t->p.max_buffer)
		return "max-buffer";
	if (pl && pl->max && pl->buffered > pl->max &&
	    t->buffered >= pl->max / MAX(pl->tunnels, 1u))
		return "max-buffer-total";
	return NULL;
}

struct stream *tunnel_buffered(struct tunnel *t, long delta)
{
	struct largest_ctx c = { NULL, 0 };
	const char *limit;

	t->buffered += delta;
	if (t->p.pool)
		t->p.pool->buffered += delta;
	if (delta <= 0 || !(limit = over_limit(t)))
		return NULL;
	idmap_each(&t->streams, find_largest, &c);
	if (!c.s)
		return NULL;
	log_warn("%s: %s reached (%zu bytes waiting for slow readers here, "
		 "%zu in all tunnels): resetting the flow holding %zu",
		 t->name, limit, t->buffered,
		 t->p.pool ? t->p.pool->buffered : t->buffered, c.most);
	if (t->p.pool && strcmp(limit, "max-buffer"))
		t->p.pool->resets++;
	return c.s;
}

struct each_ctx {
	void (*fn)(const struct stream_info *i, void *arg);
	void *arg;
};

static void each_one(void *val, void *arg)
{
	struct stream *s = val;
	struct each_ctx *c = arg;
	struct stream_info i;

	memset(&i, 0, sizeof(i));
	s->ops->info(s, &i);
	c->fn(&i, c->arg);
}

void tunnel_each_stream(struct tunnel *t,
			void (*fn)(const struct stream_info *i, void *arg),
			void *arg)
{
	struct each_ctx c = { fn, arg };

	idmap_each(&t->streams, each_one, &c);
}

void tunnel_get_info(const struct tunnel *t, struct tunnel_info *i)
{
	memset(i, 0, sizeof(*i));
	i->up = t->state == T_UP;
	i->since = t->since;
	i->srtt = t->rtt.srtt;
	i->tx = t->tx_bytes;
	i->rx = t->rx_bytes;
	if (i->up)
		tls_describe(t->tls, i->tls, sizeof(i->tls));
}

const struct tls *tunnel_tls(const struct tunnel *t)
{
	return t->tls;
}

void tunnel_release(struct tunnel *t, int *fd, struct tls **tls)
{
	*fd = t->fd;
	*tls = t->tls;
	t->fd = -1;
	t->tls = NULL;
	tunnel_free(t);
}

void tunnel_free(struct tunnel *t)
{
	if (!t)
		return;
	t->freeing = 1; /* closing from here does not call down() */
	close_with(t, "freed", GOAWAY_SHUTDOWN);
	tls_free(t->tls);
	free(t);
}
