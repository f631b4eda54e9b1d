#include "tunnel.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "idmap.h"
#include "log.h"
#include "rtt.h"
#include "tls.h"
#include "util.h"

/* Plaintext read buffer: a few records, so one callback can take what
 * OpenSSL's read-ahead already holds. */
#define RX_SIZE (4 * FRAME_MAX_LEN)
/* Streams stop adding DATA once this much waits for TLS, so a control
 * or UDP frame never sits behind more than a few records of bulk. */
#define DATA_SOFT_LIMIT (4 * FRAME_MAX_LEN)
#define DATA_CAP (4u << 20)
#define CTL_CAP (4u << 20)
#define UDP_QUEUE_LIMIT (256u << 10)
/* Bytes of one TLS write: several records per call, fewer syscalls. */
#define WRITE_CHUNK (4 * FRAME_MAX_LEN)
/* Kernel bytes not yet sent below us: keeps priority frames fast. */
#define NOTSENT_LOWAT (64u << 10)
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

enum tunnel_state { T_HANDSHAKE, T_HELLO, T_UP, T_CLOSED };

struct tunnel {
	struct ev_loop *loop;
	int fd;
	struct tls *tls;
	const struct tunnel_ops *ops;
	struct tunnel_params p;
	void *owner;
	enum tunnel_state state;
	char name[300];

	ev_io io;
	int io_events;
	ev_timer timer;        /* handshake deadline, then keepalive */
	ev_prepare prep;       /* flushes queued frames before the loop sleeps */
	ev_idle more;          /* reads on after a poll once a budget ran out */
	ev_tstamp last_rx;
	struct rtt rtt;
	ev_tstamp ping_sent;   /* our last PING's value */
	uint64_t ping_mark;    /* tx_bytes + rx_bytes when it was sent */
	int train_left;        /* pings still to send in this train */

	uint8_t *rx;
	size_t rx_len;
	int read_wants_write;  /* TLS needs to write to complete a read */
	int write_wants_read;

	struct buf ctl;        /* control and UDP frames */
	size_t udp_queued;     /* UDP bytes in ctl (approximate) */
	struct buf data;       /* DATA and FIN frames */
	size_t data_cut;       /* bytes left of a DATA frame half written */
	struct buf *wpend;     /* buffer of an unfinished TLS write */
	size_t wpend_len;
	int goaway_sent;
	int freeing;
	/* Inside frame dispatch the owner's callbacks may close the tunnel;
	 * down() (which may free it) then waits until dispatch is over. */
	int dispatching;
	int down_pending;
	char down_why[160];

	uint32_t peer_window;
	uint32_t next_id;
	ev_tstamp since;
	uint64_t tx_bytes, rx_bytes;
	size_t buffered;       /* in the flows' receive buffers */
	struct idmap streams;
	struct stream *wait_head, **wait_tail;
	struct stream *out_head;   /* streams to deliver after this read */
};

static void update_events(struct tunnel *t);

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

ev_tstamp tunnel_min_rtt(const struct tunnel *t)
{
	return t->rtt.min;
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

static void wait_unlink(struct tunnel *t, struct stream *s)
{
	struct stream **pp;

	for (pp = &t->wait_head; *pp; pp = &(*pp)->wait_next) {
		if (*pp == s) {
			*pp = s->wait_next;
			break;
		}
	}
	t->wait_tail = &t->wait_head;
	while (*t->wait_tail)
		t->wait_tail = &(*t->wait_tail)->wait_next;
	s->waiting = 0;
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

static void out_unlink(struct tunnel *t, struct stream *s)
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

	if (!t)
		return;
	if (s->waiting)
		wait_unlink(t, s);
	if (s->out_queued)
		out_unlink(t, s);
	idmap_del(&t->streams, s->id);
	s->t = NULL;
}

void tunnel_wait_room(struct stream *s)
{
	struct tunnel *t = s->t;

	if (s->waiting)
		return;
	s->waiting = 1;
	s->wait_next = NULL;
	*t->wait_tail = s;
	t->wait_tail = &s->wait_next;
}

/* Room came back: every waiting stream gets one turn, in arrival order. */
static void wake_waiters(struct tunnel *t)
{
	struct stream *s = t->wait_head;

	t->wait_head = NULL;
	t->wait_tail = &t->wait_head;
	while (s) {
		struct stream *next = s->wait_next;

		s->waiting = 0;
		s->woken = 1;
		s->wait_next = NULL;
		s->ops->writable(s);
		s = next;
	}
}

/* ---- output ---- */

/* Frames queued by any callback of this loop iteration leave together,
 * just before the loop would sleep: one TLS write for many small frames,
 * and no waiting for a writable event the socket almost always has. */
static void want_write(struct tunnel *t)
{
	if (!ev_is_active(&t->prep) && t->state != T_HANDSHAKE)
		ev_prepare_start(t->loop, &t->prep);
}

static int flush(struct tunnel *t);

static void prep_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, prep);

	ev_prepare_stop(loop, w);
	if (t->state == T_CLOSED || flush(t))
		return;
	update_events(t); /* EV_WRITE only if the socket said "later" */
}

void tunnel_send(struct tunnel *t, const uint8_t *frame, size_t len)
{
	if (t->state == T_CLOSED)
		return;
	if (buf_put(&t->ctl, frame, len)) {
		/* The peer stopped reading while we owe it answers. */
		log_warn("%s: control queue full, dropping tunnel", t->name);
		t->state = T_CLOSED; /* closed for real from the io callback */
		ev_feed_event(t->loop, &t->io, EV_CUSTOM);
		return;
	}
	want_write(t);
}

int tunnel_send_udp(struct tunnel *t, const uint8_t *frame, size_t len)
{
	if (t->state != T_UP || t->udp_queued + len > UDP_QUEUE_LIMIT ||
	    buf_put(&t->ctl, frame, len))
		return -1;
	t->udp_queued += len;
	want_write(t);
	return 0;
}

uint8_t *tunnel_data_room(struct tunnel *t, struct stream *s, int *nframes)
{
	size_t len = buf_len(&t->data);
	int n = *nframes;
	uint8_t *p;

	if (t->state != T_UP || (len >= DATA_SOFT_LIMIT && !s->woken))
		return NULL;
	s->woken = 0;
	/* what fits below the soft limit, and one frame in any case */
	if (len + (size_t)n * FRAME_MAX_LEN > DATA_SOFT_LIMIT)
		n = len < DATA_SOFT_LIMIT ?
		    (int)((DATA_SOFT_LIMIT - len) / FRAME_MAX_LEN) : 0;
	n = MAX(n, 1);
	p = buf_reserve(&t->data, (size_t)n * FRAME_MAX_LEN);
	if (!p)
		return NULL;
	*nframes = n;
	return p;
}

void tunnel_data_commit(struct tunnel *t, uint32_t id, size_t n)
{
	uint8_t *p = t->data.data + t->data.tail;
	size_t used = 0;

	while (n) {
		size_t len = MIN(n, FRAME_MAX_PAYLOAD);

		frame_put_hdr(p + used, FRAME_DATA, (uint16_t)len, id);
		used += FRAME_HDR_LEN + len;
		n -= len;
	}
	buf_commit(&t->data, used);
	want_write(t);
}

void tunnel_data_fin(struct tunnel *t, uint32_t id)
{
	uint8_t f[FRAME_HDR_LEN];

	if (t->state != T_UP)
		return;
	frame_put_hdr(f, FRAME_FIN, 0, id);
	if (buf_put(&t->data, f, sizeof(f)))
		tunnel_send(t, f, sizeof(f)); /* cannot happen below DATA_CAP */
	want_write(t);
}

/* n bytes of data left: where is its head now, inside a frame? A frame
 * half written must be finished before a control frame may go. */
static void data_consumed(struct tunnel *t, size_t n)
{
	const uint8_t *p = buf_peek(&t->data);
	size_t pos = t->data_cut;

	while (pos < n)
		pos += FRAME_HDR_LEN + get_be16(p + pos + 2);
	t->data_cut = pos - n;
	buf_consume(&t->data, n);
}

/* Encrypts queued frames: an unfinished TLS write first (OpenSSL wants
 * the same bytes again), then control/UDP, then bulk; then hands all
 * the records to the kernel in one write(). Bulk is encrypted only once
 * the kernel took every record before it. With TCP_NOTSENT_LOWAT set,
 * the kernel takes no new segment while NOTSENT_LOWAT bytes wait unsent
 * (it would take megabytes otherwise), so a UDP or control frame queued
 * next waits behind that and one chunk at most, and no system call is
 * spent asking how full the socket is. 0 or -1 (the tunnel closed). */
static int flush(struct tunnel *t)
{
	int rc;

	for (;;) {
		struct buf *b;
		size_t len;
		ssize_t n;

		if (t->wpend) {
			b = t->wpend;
			len = t->wpend_len;
		} else if (t->data_cut) {
			b = &t->data; /* the rest of a frame goes first */
			len = t->data_cut;
		} else if (buf_len(&t->ctl)) {
			b = &t->ctl;
			len = MIN(buf_len(b), WRITE_CHUNK);
		} else if (buf_len(&t->data)) {
			if (tls_unsent(t->tls)) {
				rc = tls_flush(t->tls);
				if (rc == TLS_WANT_WRITE)
					break; /* EPOLLOUT comes when it drained */
				if (rc)
					goto fail;
			}
			b = &t->data;
			len = MIN(buf_len(b), WRITE_CHUNK);
		} else {
			break;
		}
		n = tls_write(t->tls, buf_peek(b), len);
		if (n > 0) {
			t->tx_bytes += (uint64_t)n;
			if (b == &t->data)
				data_consumed(t, (size_t)n);
			else
				buf_consume(b, (size_t)n);
			if (b == &t->ctl)
				t->udp_queued = buf_len(b) < t->udp_queued ?
						buf_len(b) : t->udp_queued;
			t->wpend = NULL;
			continue;
		}
		if (n == TLS_WANT_WRITE && tls_unsent(t->tls)) {
			/* the record queue is full: make room */
			rc = tls_flush(t->tls);
			if (!rc)
				continue;
			if (rc != TLS_WANT_WRITE)
				goto fail;
		}
		if (n == TLS_WANT_WRITE || n == TLS_WANT_READ) {
			t->wpend = b;
			t->wpend_len = len;
			t->write_wants_read = n == TLS_WANT_READ;
			break;
		}
		goto fail;
	}
	rc = tls_flush(t->tls);
	if (rc && rc != TLS_WANT_WRITE)
		goto fail;
	if (buf_len(&t->data) < DATA_SOFT_LIMIT && t->wait_head)
		wake_waiters(t);
	return 0;
fail:
	tunnel_close(t, tls_error(t->tls));
	return -1;
}

static void update_events(struct tunnel *t)
{
	int ev = 0;

	if (t->state == T_CLOSED)
		return;
	if (t->state == T_HANDSHAKE) {
		ev = t->io_events ? t->io_events : EV_READ | EV_WRITE;
	} else {
		int pending = t->wpend || buf_len(&t->ctl) ||
			      buf_len(&t->data) || tls_unsent(t->tls);

		ev = EV_READ;
		if ((pending && !t->write_wants_read) || t->read_wants_write)
			ev |= EV_WRITE;
	}
	if (ev == t->io_events && ev_is_active(&t->io))
		return;
	ev_io_stop(t->loop, &t->io);
	ev_io_set(&t->io, t->fd, ev);
	ev_io_start(t->loop, &t->io);
	t->io_events = ev;
}

/* ---- input ---- */

static void send_hello(struct tunnel *t)
{
	uint8_t f[FRAME_HDR_LEN + 12];
	int n = frame_hello(f, sizeof(f), t->p.window);

	tunnel_send(t, f, (size_t)n);
}

static void send_ping(struct tunnel *t, uint8_t type, const uint8_t op[8])
{
	uint8_t f[FRAME_HDR_LEN + 8];
	int n = frame_ping(f, sizeof(f), type, op);

	tunnel_send(t, f, (size_t)n);
}

static void ping(struct tunnel *t)
{
	uint8_t op[8];
	ev_tstamp now = ev_time();

	memcpy(op, &now, sizeof(op));
	t->ping_sent = now;
	t->ping_mark = t->tx_bytes + t->rx_bytes;
	send_ping(t, FRAME_PING, op);
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
	rtt_sample(&t->rtt, rtt, now, last &&
		   t->tx_bytes + t->rx_bytes - t->ping_mark <= QUIET_BYTES);
	if (last && t->train_left > 0) {
		t->train_left--;
		ping(t);
	}
}

static int got_hello(struct tunnel *t, const struct frame *f)
{
	struct hello h;
	uint8_t g[FRAME_HDR_LEN + 1];

	frame_get_hello(f, &h);
	if (h.version != PROTO_VERSION) {
		log_warn("%s: peer speaks protocol version %u, we speak %u",
			 t->name, h.version, PROTO_VERSION);
		frame_code(g, sizeof(g), FRAME_GOAWAY, 0, 2);
		tunnel_send(t, g, sizeof(g)); /* tunnel_close sends it */
		return -1;
	}
	t->peer_window = h.window;
	t->state = T_UP;
	t->since = ev_now(t->loop);
	ping_train(t); /* first RTT samples right away */
	t->ops->up(t);
	return 0;
}

/* Returns -1 when the tunnel must close (why is set). */
static int dispatch(struct tunnel *t, const struct frame *f, const char **why)
{
	struct stream *s;

	if (t->state == T_HELLO) {
		if (f->type != FRAME_HELLO) {
			*why = "peer did not start with HELLO";
			return -1;
		}
		if (got_hello(t, f)) {
			*why = "protocol version mismatch";
			return -1;
		}
		return 0;
	}
	switch (f->type) {
	case FRAME_HELLO:
		*why = "second HELLO";
		return -1;
	case FRAME_PING:
		send_ping(t, FRAME_PONG, f->payload);
		return 0;
	case FRAME_PONG:
		got_pong(t, f);
		return 0;
	case FRAME_GOAWAY:
		/* Open streams may finish; with none there is nothing to
		 * wait for. Closing is left to our caller, never to the op. */
		if (t->p.is_server || !t->ops->goaway ||
		    !idmap_count(&t->streams)) {
			*why = "peer is going away";
			return -1;
		}
		t->ops->goaway(t);
		return 0;
	case FRAME_OPEN:
	case FRAME_UDP_OPEN:
		if (!t->p.is_server) {
			*why = "server tried to open a stream";
			return -1;
		}
		if (idmap_get(&t->streams, f->stream)) {
			*why = "stream id already in use";
			return -1;
		}
		t->ops->open(t, f);
		return 0;
	default:
		s = idmap_get(&t->streams, f->stream);
		if (s) /* frames of streams already gone are dropped */
			s->ops->frame(s, f);
		return 0;
	}
}

static int parse_frames(struct tunnel *t)
{
	size_t off = 0;
	int n;

	while (t->state != T_CLOSED) {
		struct frame f;
		const char *why = NULL;

		n = frame_decode(t->rx + off, t->rx_len - off, &f);
		if (n == 0)
			break;
		if (n < 0) {
			log_warn("%s: bad frame: %s", t->name, frame_strerror(n));
			tunnel_close(t, "protocol error");
			return -1;
		}
		off += (size_t)n;
		if (dispatch(t, &f, &why)) {
			tunnel_close(t, why);
			return -1;
		}
	}
	if (t->state == T_CLOSED) {
		tunnel_close(t, "control queue full");
		return -1;
	}
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
		tunnel_close(t, n == TLS_EOF ? "closed by peer" : tls_error(t->tls));
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
	t->state = T_HELLO;
	t->last_rx = ev_now(t->loop);
	t->rx = xmalloc(RX_SIZE);
	ev_timer_stop(t->loop, &t->timer);
	ev_timer_set(&t->timer, t->p.keepalive, t->p.keepalive);
	ev_timer_start(t->loop, &t->timer);
	send_hello(t);
	if (flush(t))
		return;
	update_events(t);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, io);

	if (revents & EV_CUSTOM) {
		tunnel_close(t, "control queue full");
		return;
	}
	if (t->state == T_HANDSHAKE) {
		handshake(t);
		return;
	}
	if ((revents & EV_READ) || (t->read_wants_write && (revents & EV_WRITE))) {
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
	if (flush(t))
		return;
	update_events(t);
}

/* The send-side buffers stay while the tunnel is busy: giving them back
 * after every flush cost a malloc and a free of 128 KiB per message in
 * an exchange of small ones. Once a keepalive interval, those that are
 * empty go back. */
static void trim(struct tunnel *t)
{
	if (!buf_len(&t->ctl))
		buf_release(&t->ctl);
	if (!buf_len(&t->data) && !t->wait_head)
		buf_release(&t->data);
	tls_trim(t->tls);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, timer);
	ev_tstamp idle;

	if (t->state == T_HANDSHAKE) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		/* never connected at all: say so, it is a different fix */
		tunnel_close(t, !t->p.is_server &&
			     getpeername(t->fd, (struct sockaddr *)&ss, &len) ?
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
	trim(t);
}

struct tunnel *tunnel_new(struct ev_loop *loop, int fd, struct tls *tls,
			  const struct tunnel_ops *ops,
			  const struct tunnel_params *p, void *owner)
{
	struct tunnel *t = xcalloc(1, sizeof(*t));
	int one = 1;
	unsigned lowat = NOTSENT_LOWAT;

	t->loop = loop;
	t->fd = fd;
	t->tls = tls;
	t->ops = ops;
	t->p = *p;
	t->owner = owner;
	t->state = T_HANDSHAKE;
	snprintf(t->name, sizeof(t->name), "tunnel");
	buf_init(&t->ctl, CTL_CAP);
	buf_init(&t->data, DATA_CAP);
	t->wait_tail = &t->wait_head;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
	/* The handshake starts from the io callback, never from here, so
	 * a failure cannot free the tunnel before the caller has it. A
	 * client's socket may still be connecting: wait until writable. */
	ev_prepare_init(&t->prep, prep_cb);
	ev_idle_init(&t->more, more_cb);
	t->io_events = p->is_server ? EV_READ : EV_WRITE;
	ev_io_init(&t->io, io_cb, fd, t->io_events);
	ev_io_start(loop, &t->io);
	ev_timer_init(&t->timer, timer_cb, p->handshake_timeout, 0.);
	ev_timer_start(loop, &t->timer);
	return t;
}

static void abort_one(void *val, void *arg)
{
	struct stream **list = arg;
	struct stream *s = val;

	/* collect first: abort handlers detach, which edits the map */
	s->wait_next = *list;
	*list = s;
}

void tunnel_close(struct tunnel *t, const char *why)
{
	struct stream *list = NULL;

	int was_up;

	if (!t || t->fd < 0)
		return;
	was_up = t->state == T_UP;
	t->state = T_CLOSED;
	ev_prepare_stop(t->loop, &t->prep);
	ev_idle_stop(t->loop, &t->more);
	ev_io_stop(t->loop, &t->io);
	ev_timer_stop(t->loop, &t->timer);
	ev_clear_pending(t->loop, &t->io);
	t->wait_head = NULL;
	t->wait_tail = &t->wait_head;
	t->out_head = NULL;
	idmap_each(&t->streams, abort_one, &list);
	while (list) {
		struct stream *s = list;

		list = s->wait_next;
		s->waiting = 0;
		s->out_queued = 0;
		idmap_del(&t->streams, s->id);
		s->t = NULL;
		s->ops->abort(s);
	}
	idmap_free(&t->streams);
	if (was_up && !t->goaway_sent) {
		uint8_t g[FRAME_HDR_LEN + 1];

		frame_code(g, sizeof(g), FRAME_GOAWAY, 0, 0);
		buf_put(&t->ctl, g, sizeof(g));
	}
	/* A last GOAWAY or RST may still wait: one best-effort write. */
	if (buf_len(&t->ctl) && !t->wpend && !t->data_cut)
		tls_write(t->tls, buf_peek(&t->ctl), buf_len(&t->ctl));
	tls_shutdown(t->tls);
	close(t->fd);
	t->fd = -1;
	buf_release(&t->ctl);
	buf_release(&t->data);
	free(t->rx);
	t->rx = NULL;
	if (t->dispatching) {
		snprintf(t->down_why, sizeof(t->down_why), "%s", why);
		t->down_pending = 1;
	} else if (!t->freeing) {
		t->ops->down(t, why);
	}
}

void tunnel_goaway(struct tunnel *t)
{
	uint8_t g[FRAME_HDR_LEN + 1];

	if (t->state != T_UP || t->goaway_sent)
		return;
	frame_code(g, sizeof(g), FRAME_GOAWAY, 0, 0);
	tunnel_send(t, g, sizeof(g));
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

struct stream *tunnel_buffered(struct tunnel *t, long delta)
{
	struct largest_ctx c = { NULL, 0 };

	t->buffered += delta;
	if (delta <= 0 || !t->p.max_buffer || t->buffered <= t->p.max_buffer)
		return NULL;
	idmap_each(&t->streams, find_largest, &c);
	if (c.s)
		log_warn("%s: max-buffer reached (%zu bytes waiting for slow "
			 "readers): resetting the flow holding %zu", t->name,
			 t->buffered, c.most);
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
	ev_prepare_stop(t->loop, &t->prep);
	ev_idle_stop(t->loop, &t->more);
	ev_io_stop(t->loop, &t->io);
	ev_timer_stop(t->loop, &t->timer);
	ev_clear_pending(t->loop, &t->io);
	*fd = t->fd;
	*tls = t->tls;
	idmap_free(&t->streams);
	buf_release(&t->ctl);
	buf_release(&t->data);
	free(t->rx);
	free(t);
}

void tunnel_free(struct tunnel *t)
{
	if (!t)
		return;
	t->freeing = 1; /* closing from here does not call down() */
	tunnel_close(t, "freed");
	tls_free(t->tls);
	free(t);
}
