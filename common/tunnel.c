/* The tunnel's life: its state and the one function that changes it,
 * the streams attached to it, the TLS handshake, the HELLO we send,
 * the keepalive timer, and the one close path (tunnel_close,
 * tunnel_free and tunnel_release all end in it). Frame input and
 * dispatch are in tunnel_in.c, PINGs and stall detection in
 * tunnel_ping.c, the send queues and the output scheduler in
 * tunnel_out.c. */
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

double tunnel_path_loss_age(struct tunnel *t)
{
	return tcp_path_loss_age(&t->path, t->fd, ev_now(t->loop));
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

/* ---- HELLO, handshake, keepalive ---- */

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
		rc = in_read(t);
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
	in_init(t);
	t->io_events = p->is_server ? EV_READ : EV_WRITE;
	ev_io_init(&t->io, io_cb, fd, t->io_events);
	ev_io_start(loop, &t->io);
	ev_timer_init(&t->timer, timer_cb, p->handshake_timeout, 0.);
	ev_timer_start(loop, &t->timer);
	ping_init(t);
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
void tunnel_close_with(struct tunnel *t, const char *why, enum goaway_code code)
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
	tunnel_close_with(t, "protocol error", GOAWAY_PROTOCOL);
}

void tunnel_close(struct tunnel *t, const char *why)
{
	tunnel_close_with(t, why, GOAWAY_SHUTDOWN);
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
	i->send_budget = t->lowat;
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
	tunnel_close_with(t, "freed", GOAWAY_SHUTDOWN);
	tls_free(t->tls);
	free(t);
}
