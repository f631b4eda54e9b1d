/* Inside of the tunnel, shared by its files and by nothing else:
 * tunnel.c (states, streams, handshake, HELLO, keepalive and the close
 * path), tunnel_in.c (frame input and dispatch), tunnel_ping.c (PINGs
 * and stall detection), tunnel_out.c (the send queues and the output
 * scheduler), tunnel_rate.c (the rate caps) and tunnel_resume.c
 * (resume). Front-ends use tunnel.h. */
#ifndef COMMON_TUNNEL_INT_H
#define COMMON_TUNNEL_INT_H

#include "buf.h"
#include "idmap.h"
#include "tcp_path.h"
#include "rtt.h"
#include "stall.h"
#include "tunnel.h"

/* Changed only by tunnel_set_state(), which allows
 *
 *   HANDSHAKE -> HELLO -> UP
 *   HANDSHAKE, HELLO, UP, CLOSING -> CLOSED
 *   HELLO, UP -> CLOSING
 *
 * and nothing else. */
enum tunnel_state {
	T_HANDSHAKE, /* TLS handshake running */
	T_HELLO,     /* TLS up, our HELLO sent, waiting for the peer's */
	T_UP,        /* streams may run */
	T_CLOSING,   /* the control queue overflowed: nothing more is sent
		       * or read, and the io callback closes the tunnel
		       * (queued there so no caller sees it vanish) */
	T_CLOSED,    /* watchers stopped, socket closed, streams aborted */
};

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
	ev_timer timer;  /* handshake deadline, then keepalive */
	ev_prepare prep; /* flushes queued frames before the loop sleeps */
	ev_idle more;    /* reads on after a poll once a budget ran out */
	ev_tstamp last_rx;
	struct rtt rtt;
	struct tcp_path path; /* the kernel on our TCP path (loss, budget) */
	uint32_t lowat;       /* TCP_NOTSENT_LOWAT set now */
	uint32_t last_sender; /* the flow of the last DATA frame queued */
	ev_tstamp mixed_at;   /* when another flow's, or a datagram, came */
	ev_tstamp ping_sent;  /* our last PING's value */
	uint64_t ping_mark;   /* tx_bytes + rx_bytes when it was sent */
	int train_left;       /* pings still to send in this train */
	struct stall stall;   /* client: waiting for an answer, silent? */
	ev_timer stall_tm;    /* stall check, or a probe held back */
	int probe_due;        /* a frame went out with no PING after it */

	uint8_t *rx;
	size_t rx_len;
	int read_wants_write; /* TLS needs to write to complete a read */
	int write_wants_read;

	struct buf ctl;    /* control and UDP frames */
	size_t udp_queued; /* UDP bytes in ctl (approximate) */
	struct buf data;   /* DATA and FIN frames */
	size_t data_cut;   /* bytes left of a DATA frame half written */
	struct buf *wpend; /* buffer of an unfinished TLS write */
	size_t wpend_len;
	int goaway_sent;
	int freeing;
	/* Inside frame dispatch the owner's callbacks may close the tunnel;
	 * down() (which may free it) then waits until dispatch is over. */
	int dispatching;
	int down_pending;
	char down_why[160];

	uint32_t peer_window;
	uint8_t peer_flags; /* HELLO_F_*, from the peer's HELLO */
	/* resume (tunnel_resume.c) */
	struct kept *keep;               /* where streams go when it is lost */
	uint8_t token[RESUME_TOKEN_LEN]; /* client: from SESSION */
	unsigned resumes : 1;            /* both HELLOs set HELLO_F_RESUME */
	unsigned token_ok : 1;      /* client: token resumes what runs here */
	unsigned resume_sent : 1;   /* client: RESUME sent, RESUMED not in */
	unsigned resume_seen : 1;   /* server: RESUME came (once, first) */
	unsigned resume_failed : 1; /* server: its SYNCs are ignored */
	unsigned opened : 1;        /* server: a stream was opened */
	unsigned goaway_rcvd : 1;   /* the peer said its streams are over */
	uint32_t sync_left;         /* server: SYNCs still due after RESUME */
	struct meter *meter;        /* the owner's byte counts, or NULL */
	/* rate caps, or NULL (tunnel_rate.c); the timer: one has room
	 * again; in_held: streams hold back credit for the in cap */
	struct bucket *rate_out, *rate_in;
	ev_timer rate_tm;
	int in_held;
	struct dpath *dp; /* the datagram path, or NULL */
	uint32_t next_id;
	ev_tstamp since;
	uint64_t tx_bytes, rx_bytes;
	size_t buffered; /* in the flows' receive buffers */
	struct idmap streams;
	struct stream *wait_head, **wait_tail;
	struct stream *out_head; /* streams to deliver after this read */
};

/* Plaintext read buffer: a few records, so one callback can take what
 * OpenSSL's read-ahead already holds. */
#define RX_SIZE (4 * FRAME_MAX_LEN)

/* GOAWAY codes (docs/PROTOCOL.md section 3.3); GOAWAY_NONE: send none. */
enum goaway_code {
	GOAWAY_NONE = -1,
	GOAWAY_SHUTDOWN = 0,
	GOAWAY_PROTOCOL = 1,
	GOAWAY_VERSION = 2,
};

/* tunnel.c */

/* The one close: tunnel_close, tunnel_free and tunnel_release all end
 * here, and frame input closes with the GOAWAY code it chose. */
void tunnel_close_with(struct tunnel *t, const char *why,
		       enum goaway_code code);

/* An illegal transition is a bug in this code, not something a peer can
 * cause: it is logged and the process aborts (a core to debug beats a
 * tunnel in a state nobody planned for). Legal ones are logged at debug
 * level. */
void tunnel_set_state(struct tunnel *t, enum tunnel_state to);

/* CLOSING or CLOSED: nothing more goes out. */
static inline int tunnel_ending(const struct tunnel *t)
{
	return t->state == T_CLOSING || t->state == T_CLOSED;
}

/* Closes with GOAWAY 1. */
void tunnel_protocol_error(struct tunnel *t);

/* tunnel_in.c */

/* The idle watcher that resumes reading once a budget ran out. */
void in_init(struct tunnel *t);
/* Reads and dispatches what TLS has, up to a budget. Returns -1 when
 * the tunnel closed (t may be gone once dispatch is over), else 0. */
int in_read(struct tunnel *t);

/* tunnel_ping.c */

/* The stall timer's callback. */
void ping_init(struct tunnel *t);
/* Queues a PING or (answering one) a PONG with that opaque value. */
void ping_send(struct tunnel *t, uint8_t type, const uint8_t op[8]);
/* Starts a train of PINGs (round-trip samples). */
void ping_train(struct tunnel *t);
/* A PONG came: an RTT sample, the next PING of a train, stall news. */
void ping_got_pong(struct tunnel *t, const struct frame *f);
/* Bytes came in; answered: among them the PONG of our latest PING. */
void stall_hears(struct tunnel *t, int answered);
/* A frame that needs an answer was queued: make sure a PING follows it
 * (at most one per quarter stall-timeout), so that silence is noticed. */
void stall_probe(struct tunnel *t);

/* tunnel_resume.c */

/* SESSION, RESUME, RESUMED and SYNC; -1 when it closed the tunnel. */
int resume_dispatch(struct tunnel *t, const struct frame *f);
/* From the close path, with the stream detached: 1 when it went into
 * t->keep, 0 when it must be aborted. */
int resume_park(struct tunnel *t, struct stream *s);
/* Whether the close path parks streams: the peer did not say they are
 * over, and the close is no protocol error. */
int resume_parks(const struct tunnel *t, int protocol_error);
/* A parked stream that ends leaves its kept set. */
void kept_forget(struct stream *s);

/* tunnel_out.c */

/* Queues a control frame (tunnel_send() without the stall probe). */
void out_queue_ctl(struct tunnel *t, const uint8_t *frame, size_t len);

/* Send buffers, socket options and the flush-before-sleep watcher. */
void out_init(struct tunnel *t);
/* Every stream waiting for room gets a turn, if the data queue has
 * room. */
void out_wake(struct tunnel *t);
/* Sends what is queued, as far as TLS takes it. Returns -1 when that
 * closed the tunnel (t may be gone), else 0. */
int out_flush(struct tunnel *t);
/* Recomputes the io watcher's events from what we want and TLS needs. */
void out_update_events(struct tunnel *t);
/* The stream no longer waits for room. */
void out_unwait(struct tunnel *t, struct stream *s);
/* Gives back the send buffers that are empty (keepalive tick). */
void out_trim(struct tunnel *t);
/* Closing: queues GOAWAY with that code (none if negative) and makes
 * one best-effort write of the control queue. */
void out_last_words(struct tunnel *t, int goaway_code);
/* Closing: frees the send buffers. */
void out_release(struct tunnel *t);

/* tunnel_rate.c */

void rate_init(struct tunnel *t);
void rate_stop(struct tunnel *t);
/* 1 when the out cap is overdrawn (the timer is armed to wake the
 * streams waiting for room). */
int rate_out_held(struct tunnel *t);
void rate_out_count(struct tunnel *t, size_t n);

#endif
