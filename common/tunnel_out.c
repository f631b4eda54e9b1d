/* The tunnel's output side: the send queues (control and UDP frames in
 * one, bulk DATA and FIN in another), the streams waiting for room in
 * the bulk queue, and the scheduler that encrypts control ahead of bulk
 * and hands TLS records to the kernel once per loop iteration. It also
 * computes the io watcher's events, since what we want to write is most
 * of that. States, input and the close path are in tunnel.c. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "log.h"
#include "tls.h"
#include "dpath.h"
#include "tunnel_int.h"
#include "util.h"

/* Streams stop adding DATA once this much waits for TLS, so a control
 * or UDP frame never sits behind more than a few records of bulk. */
#define DATA_SOFT_LIMIT (4 * FRAME_MAX_LEN)
#define DATA_CAP (4u << 20)
#define CTL_CAP (4u << 20)
#define UDP_QUEUE_LIMIT (256u << 10)
/* Bytes of one TLS write: several records per call, fewer syscalls. */
#define WRITE_CHUNK (4 * FRAME_MAX_LEN)
/* Kernel bytes not yet sent below us: keeps priority frames fast. On a
 * long path it grows with the path's delivery rate and round trip
 * (tcp_path.h), so the kernel does not run dry while we are not
 * scheduled. */
#define NOTSENT_LOWAT (64u << 10)
/* A flow that has sent alone this long may have a bigger send budget
 * (tcp_path_unsent): nothing waits behind it. */
#define ALONE_AFTER 1.0

/* ---- streams waiting for room ---- */

void out_unwait(struct tunnel *t, struct stream *s)
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

/* Room came back: every waiting stream gets one turn, in arrival order
 * (those without a writable op are only taken off the list). */
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
		if (s->ops->writable)
			s->ops->writable(s);
		s = next;
	}
}

void out_wake(struct tunnel *t)
{
	if (buf_len(&t->data) < DATA_SOFT_LIMIT && t->wait_head)
		wake_waiters(t);
}

/* ---- queues ---- */

/* Frames queued by any callback of this loop iteration leave together,
 * just before the loop would sleep: one TLS write for many small frames,
 * and no waiting for a writable event the socket almost always has. */
static void want_write(struct tunnel *t)
{
	if (!ev_is_active(&t->prep) && t->state != T_HANDSHAKE)
		ev_prepare_start(t->loop, &t->prep);
}

static void prep_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, prep);

	ev_prepare_stop(loop, w);
	if (tunnel_ending(t) || out_flush(t))
		return;
	out_update_events(t); /* EV_WRITE only if the socket said "later" */
}

void tunnel_send(struct tunnel *t, const uint8_t *frame, size_t len)
{
	out_queue_ctl(t, frame, len);
	stall_probe(t);
}

void out_queue_ctl(struct tunnel *t, const uint8_t *frame, size_t len)
{
	if (tunnel_ending(t))
		return;
	if (buf_put(&t->ctl, frame, len)) {
		/* The peer stopped reading while we owe it answers. Our
		 * caller may be deep in a stream's callback: the io
		 * callback closes the tunnel, not this call. */
		log_warn("%s: control queue full, dropping tunnel", t->name);
		tunnel_set_state(t, T_CLOSING);
		ev_feed_event(t->loop, &t->io, EV_CUSTOM);
		return;
	}
	want_write(t);
}

void tunnel_send_result(struct tunnel *t, uint32_t stream, uint8_t code,
			uint8_t reason, const struct addr *bound)
{
	uint8_t b[FRAME_HDR_LEN + 1 + ADDR_WIRE_MAX];
	int n;

	if (!(t->peer_flags & HELLO_F_REASONS))
		reason = REASON_NONE;
	n = frame_result(b, sizeof(b), stream, code, reason, bound);
	if (n > 0)
		tunnel_send(t, b, (size_t)n);
}

int tunnel_send_udp(struct tunnel *t, const uint8_t *frame, size_t len,
		    int by_path)
{
	/* the rate cap holds whichever way the datagram goes */
	if (t->rate_out && rate_out_held(t))
		return -1;
	if (by_path && t->dp && t->state == T_UP &&
	    !dpath_send(t->dp, frame, len)) {
		if (t->rate_out)
			rate_out_count(t, len);
		return 0;
	}
	if (t->state != T_UP || t->udp_queued + len > UDP_QUEUE_LIMIT ||
	    buf_put(&t->ctl, frame, len))
		return -1;
	t->udp_queued += len;
	t->mixed_at = ev_now(t->loop);
	if (t->rate_out)
		rate_out_count(t, len);
	want_write(t);
	stall_probe(t);
	return 0;
}

uint8_t *tunnel_data_room(struct tunnel *t, struct stream *s, int *nframes)
{
	size_t len = buf_len(&t->data);
	int n = *nframes;
	uint8_t *p;

	if (t->state != T_UP || (len >= DATA_SOFT_LIMIT && !s->woken) ||
	    (t->rate_out && rate_out_held(t)))
		return NULL;
	s->woken = 0;
	/* what fits below the soft limit, and one frame in any case */
	if (len + (size_t)n * FRAME_MAX_LEN > DATA_SOFT_LIMIT)
		n = len < DATA_SOFT_LIMIT ?
			    (int)((DATA_SOFT_LIMIT - len) / FRAME_MAX_LEN) :
			    0;
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

	if (t->rate_out) /* no call per DATA op without a cap */
		rate_out_count(t, n);
	while (n) {
		size_t len = MIN(n, FRAME_MAX_PAYLOAD);

		frame_put_hdr(p + used, FRAME_DATA, (uint16_t)len, id);
		used += FRAME_HDR_LEN + len;
		n -= len;
	}
	buf_commit(&t->data, used);
	if (id != t->last_sender) {
		t->last_sender = id;
		t->mixed_at = ev_now(t->loop);
	}
	want_write(t);
	stall_probe(t);
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
 * spent asking how full the socket is. */
/* The send budget follows the path (tcp_path.c reads it at most every
 * TCP_PATH_CHECK); a changed one is set before the next write. */
static void tune_lowat(struct tunnel *t)
{
	ev_tstamp now = ev_now(t->loop);
	uint32_t lowat = tcp_path_unsent(&t->path, t->fd, now, NOTSENT_LOWAT,
					 now - t->mixed_at > ALONE_AFTER);

	if (lowat == t->lowat)
		return;
	t->lowat = lowat;
	setsockopt(t->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
		   sizeof(lowat));
}

int out_flush(struct tunnel *t)
{
	int rc;

	tune_lowat(t);

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
							buf_len(b) :
							t->udp_queued;
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
	out_wake(t);
	return 0;
fail:
	tunnel_close(t, tls_error(t->tls));
	return -1;
}

void out_update_events(struct tunnel *t)
{
	int ev = 0;

	if (tunnel_ending(t))
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

void out_init(struct tunnel *t)
{
	int one = 1;
	unsigned lowat = NOTSENT_LOWAT;

	buf_init(&t->ctl, CTL_CAP);
	buf_init(&t->data, DATA_CAP);
	t->wait_tail = &t->wait_head;
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(t->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
		   sizeof(lowat));
	t->lowat = lowat;
	ev_prepare_init(&t->prep, prep_cb);
}

/* The send-side buffers stay while the tunnel is busy: giving them back
 * after every flush cost a malloc and a free of 128 KiB per message in
 * an exchange of small ones. Once a keepalive interval, those that are
 * empty go back. */
void out_trim(struct tunnel *t)
{
	if (!buf_len(&t->ctl))
		buf_release(&t->ctl);
	if (!buf_len(&t->data) && !t->wait_head)
		buf_release(&t->data);
	tls_trim(t->tls);
}

void out_last_words(struct tunnel *t, int goaway_code)
{
	if (goaway_code >= 0) {
		uint8_t g[FRAME_HDR_LEN + 1];

		frame_code(g, sizeof(g), FRAME_GOAWAY, 0, (uint8_t)goaway_code);
		buf_put(&t->ctl, g, sizeof(g));
	}
	/* A last GOAWAY or RST may still wait: one best-effort write,
	 * unless TLS wants other bytes again first or a DATA frame went
	 * out only in part (the peer would read ours as its rest). */
	if (buf_len(&t->ctl) && !t->wpend && !t->data_cut)
		tls_write(t->tls, buf_peek(&t->ctl), buf_len(&t->ctl));
}

void out_release(struct tunnel *t)
{
	buf_release(&t->ctl);
	buf_release(&t->data);
}
