/* The tunnel's input side: reading TLS into the plaintext buffer (a
 * budget per callback, so other sockets get polled), cutting it into
 * frames and dispatching each: the peer's HELLO, PING/PONG, GOAWAY,
 * UDP_PATH, OPEN, the resume frames, and every stream's own frames. A
 * file of its own because it is the one place a peer's bytes enter the
 * tunnel: what a frame may do in which state is decided here only
 * (docs/PROTOCOL.md sections 4 and 12). Moved out of tunnel.c as is. */
#include <string.h>

#include "dpath.h"
#include "log.h"
#include "tls.h"
#include "tunnel_int.h"
#include "util.h"

/* Bytes to read per callback before letting other watchers run. */
#define RX_BUDGET (256u << 10)

/* Closes the tunnel from frame input; returns -1 for dispatch. */
static int fail(struct tunnel *t, const char *why, enum goaway_code code)
{
	tunnel_close_with(t, why, code);
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
		ping_send(t, FRAME_PONG, f->payload);
		return 0;
	case FRAME_PONG:
		ping_got_pong(t, f);
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
			tunnel_close_with(t, "protocol error", GOAWAY_PROTOCOL);
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

int in_read(struct tunnel *t)
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

void in_init(struct tunnel *t)
{
	ev_idle_init(&t->more, more_cb);
}
