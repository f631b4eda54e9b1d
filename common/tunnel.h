/* One TLS connection carrying many streams (docs/PROTOCOL.md): the TLS
 * handshake, the HELLO exchange, frame dispatch to streams, the output
 * scheduler (control and UDP frames ahead of bulk data), and keepalive.
 * Shared by client and server; the front-ends plug in through
 * tunnel_ops and stream_ops. (tunnel.c and tunnel_out.c implement it,
 * sharing tunnel_int.h.) */
#ifndef COMMON_TUNNEL_H
#define COMMON_TUNNEL_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "frame.h"
#include "idmap.h"

struct bucket;
struct meter;
struct tls;
struct tunnel;

struct stream;

/* What `status` shows of one stream. */
struct stream_info {
	const char *kind;     /* "TCP" or "UDP" */
	struct addr src, dst; /* type 0 when unknown */
	ev_tstamp start;
	uint64_t up, down; /* bytes toward the server / back */
	const char *state;
	size_t buffered; /* received, not yet taken by the socket */
	uint32_t window; /* TCP: our receive window now (0: none) */
};

struct stream_ops {
	/* A frame for this stream (not OPEN/UDP_OPEN). */
	void (*frame)(struct stream *s, const struct frame *f);
	/* The tunnel is gone: release everything, send nothing. Called
	 * with the stream still attached by tunnel_reset_streams(), which
	 * has sent the RST: then it detaches. */
	void (*abort)(struct stream *s);
	/* Optional, needed by streams that call tunnel_wait_room(): the
	 * data queue has room again. Streams that never wait (UDP, which
	 * drops instead) leave it NULL. */
	void (*writable)(struct stream *s);
	/* Fills what status shows. */
	void (*info)(struct stream *s, struct stream_info *i);
	/* Optional: the streams together buffer more than max-buffer and
	 * this one holds the most: reset it. */
	void (*overflow)(struct stream *s);
	/* Needed by streams that call tunnel_deliver_later(): once the
	 * frames of this read are dispatched, write what they brought. */
	void (*deliver)(struct stream *s);
	/* Optional, needed by streams that ask tunnel_in_held(): the
	 * input cap has room again (credit held back may go now). */
	void (*unthrottled)(struct stream *s);
	/* Optional (resume, docs/PROTOCOL.md section 16): the tunnel is
	 * lost but a new one may carry the stream on. Detached already:
	 * stop every watcher, keep the socket and the buffers, send
	 * nothing. 0: kept; -1: it cannot be (not established): abort()
	 * follows. Streams without it end with their tunnel. */
	int (*park)(struct stream *s);
	/* With park: attached again, to a tunnel that resumes it, under
	 * the same id. The client's stream sends its SYNC now, the server's
	 * in answer to the client's; SYNC frames come through frame(). */
	void (*adopt)(struct stream *s);
	/* Optional: once a keepalive interval, on a tunnel that resumes:
	 * a quiet stream acknowledges what it received and gives back the
	 * copies its peer acknowledged. */
	void (*tick)(struct stream *s);
};

struct stream {
	uint32_t id;
	struct tunnel *t;
	const struct stream_ops *ops;
	struct stream *wait_next; /* in the tunnel's wait-for-room list */
	struct stream *out_next;  /* in the tunnel's deliver-later list */
	int out_queued;
	int waiting;
	int woken;         /* was waiting: its next frame goes in regardless */
	int resuming;      /* adopted by a resuming tunnel, no SYNC yet */
	struct kept *kept; /* parked there (t is NULL), or NULL */
};

/* Streams kept while no tunnel carries them (resume), and the token a
 * new tunnel presents to have them back. The owner keeps one per
 * client (client: its own flows; server: one per session) and ends
 * them with kept_abort_all() when resume-window runs out. */
struct kept {
	struct idmap streams;
	uint8_t token[RESUME_TOKEN_LEN];
	int has_token;
};

struct tunnel_ops {
	/* The handshake and HELLO exchange are done. */
	void (*up)(struct tunnel *t);
	/* Server side: the peer asks for a stream (OPEN or UDP_OPEN). */
	void (*open)(struct tunnel *t, const struct frame *f);
	/* The tunnel closed (every stream was aborted first). The owner
	 * may tunnel_free() it here: the tunnel touches nothing after. */
	void (*down)(struct tunnel *t, const char *why);
	/* Client side: the server sent GOAWAY while streams are open; they
	 * may finish but no new ones go on this tunnel. Must not close it. */
	void (*goaway)(struct tunnel *t);
	/* Server side, optional: the TLS handshake finished without a
	 * client certificate. The owner takes the connection over with
	 * tunnel_release(); without this op such a peer is dropped. */
	void (*no_cert)(struct tunnel *t);
	/* Client side, optional (with stall_timeout set): suspect is 1 when
	 * the tunnel waited for an answer and heard nothing for
	 * stall-timeout, 0 when it is heard from again. Must not close it. */
	void (*stalled)(struct tunnel *t, int suspect);
	/* Server side, optional: the client asks for the streams of token
	 * back (RESUME; count SYNC frames follow). The owner answers with
	 * tunnel_resume_answer() before it returns. Without this op every
	 * RESUME is refused. */
	void (*resume)(struct tunnel *t, const uint8_t *token, uint32_t count);
};

/* stall_timeout: max(2 s, 4 x the smoothed round trip). */
#define TUNNEL_STALL_AUTO (-1.0)

/* Receive-buffer bytes shared by every tunnel whose params name it (the
 * server's max-buffer-total): past max, a tunnel that receives more and
 * holds at least its share (max / tunnels) resets its flow holding the
 * most. A tunnel holding less is never cut for what the others hold, so
 * the total stays under about twice max. */
struct tunnel_pool {
	size_t buffered;  /* in the flows of all its tunnels */
	size_t max;       /* 0: no cap */
	unsigned tunnels; /* tunnels that exist now */
	uint64_t resets;  /* flows reset for it */
};

/* udp-path: off; auto (the client uses the datagram path while the
 * connection is losing packets, dpath.h); always (whenever it is up). */
enum { UDP_PATH_OFF, UDP_PATH_AUTO, UDP_PATH_ALWAYS };

struct tunnel_params {
	int is_server;
	uint32_t window;     /* initial per-flow receive window */
	uint32_t max_window; /* auto-tuning ceiling */
	ev_tstamp keepalive; /* ping interval */
	ev_tstamp timeout;   /* silence that means dead */
	ev_tstamp handshake_timeout;
	/* Client: silence while waiting for an answer (a PONG; any frame
	 * that needs one is followed by a PING) after which the tunnel is
	 * suspect; TUNNEL_STALL_AUTO, or 0: never (the server). */
	ev_tstamp stall_timeout;
	ev_tstamp idle_timeout; /* a TCP flow silent this long is reset */
	size_t max_buffer;      /* all flows' receive buffers together */
	/* udp-path: our HELLO offers the datagram path (dpath.h); the
	 * owner attaches one with tunnel_set_dpath() once up.
	 * UDP_PATH_OFF, _AUTO or _ALWAYS. */
	int udp_path;
	/* How long streams of a lost tunnel are kept for a new one to
	 * resume them (HELLO_F_RESUME); 0: never, the flag is not sent. */
	ev_tstamp resume_window;
	struct tunnel_pool *pool; /* shared with other tunnels, or NULL */
};

/* Takes ownership of fd (connected, non-blocking) and tls. */
struct tunnel *tunnel_new(struct ev_loop *loop, int fd, struct tls *tls,
			  const struct tunnel_ops *ops,
			  const struct tunnel_params *p, void *owner);
/* Closes (idempotent): aborts streams, sends GOAWAY 0 (shutdown) if the
 * tunnel was up and had not sent one, calls ops->down. */
void tunnel_close(struct tunnel *t, const char *why);
/* Sends GOAWAY: the peer opens nothing new; what runs may finish. */
void tunnel_goaway(struct tunnel *t);
/* Flows report what their receive buffers hold (delta in bytes). Past
 * max-buffer, or past the pool's max (see struct tunnel_pool), the
 * stream holding the most is returned, for the caller to reset (its
 * overflow op when it is not the caller itself); else NULL. */
struct stream *tunnel_buffered(struct tunnel *t, long delta);
/* Streams attached right now. */
size_t tunnel_stream_count(const struct tunnel *t);
void tunnel_each_stream(struct tunnel *t,
			void (*fn)(const struct stream_info *i, void *arg),
			void *arg);

/* Ends every stream now (RST with code to the peer) and keeps the
 * tunnel: the server's answer to a client past its quota. Not from
 * inside a stream's callback. */
void tunnel_reset_streams(struct tunnel *t, uint8_t code);
/* Where the streams count their bytes (meter.h); NULL: nowhere. */
void tunnel_set_meter(struct tunnel *t, struct meter *m);
struct meter *tunnel_meter(const struct tunnel *t);
/* Rate caps (bucket.h), shared by the owner's tunnels, NULL for none:
 * out holds what the streams send (DATA by not giving room, UDP by
 * dropping), in what they take in (TCP by holding back the credit the
 * peer needs to send more, UDP by dropping). The server's per-client
 * `rate`. */
void tunnel_set_rates(struct tunnel *t, struct bucket *out, struct bucket *in);
/* n bytes a stream took in, against the in cap. */
void tunnel_in_count(struct tunnel *t, size_t n);
/* 1 while the in cap is overdrawn: the stream holds back, and its
 * unthrottled op is called once there is room again. */
int tunnel_in_held(struct tunnel *t);

/* What status shows of the tunnel itself. */
struct tunnel_info {
	int up;
	ev_tstamp since; /* when it came up */
	ev_tstamp srtt;
	uint64_t tx, rx;      /* TLS payload bytes each way */
	uint32_t send_budget; /* bytes the kernel may hold unsent now */
	char tls[96];         /* "TLSv1.3 TLS_AES_128_GCM_SHA256" */
};
void tunnel_get_info(const struct tunnel *t, struct tunnel_info *i);
const struct tls *tunnel_tls(const struct tunnel *t);
/* Closes the tunnel if still open, without calling down(), and frees
 * it. */
void tunnel_free(struct tunnel *t);
/* Hands the socket and its TLS session to the caller and frees the
 * tunnel (no streams exist yet; down() is not called). Only from the
 * no_cert op. */
void tunnel_release(struct tunnel *t, int *fd, struct tls **tls);

void *tunnel_owner(const struct tunnel *t);
struct ev_loop *tunnel_loop(const struct tunnel *t);
/* Log prefix, e.g. "tunnel alice" (server) or "tunnel" (client). */
const char *tunnel_name(const struct tunnel *t);
/* The peer certificate's name (user name on the server). */
const char *tunnel_peer(const struct tunnel *t);
const struct tunnel_params *tunnel_params(const struct tunnel *t);
/* The peer's initial window: the credit of a new flow. */
uint32_t tunnel_peer_window(const struct tunnel *t);
/* The lowest recent round-trip time: the path without queues. */
ev_tstamp tunnel_min_rtt(const struct tunnel *t);
/* 1 when what the peer sends us has lately been losing segments, so
 * that bytes wait behind holes for their retransmission (tcp_path.h). */
int tunnel_path_lossy(struct tunnel *t);
/* Seconds since the connection last lost a segment either way, or -1:
 * never seen (tcp_path.h). */
double tunnel_path_loss_age(struct tunnel *t);

/* The flags of the peer's HELLO (HELLO_F_*). */
uint8_t tunnel_peer_flags(const struct tunnel *t);
/* The address of the peer's end of the TCP connection. 0 or -1. */
int tunnel_peer_sockaddr(const struct tunnel *t, struct sockaddr_storage *ss,
			 socklen_t *len);

/* The datagram path (dpath.h): the tunnel owns it from here on, sends
 * its UDP_DATA frames over it while it takes them, and frees it when it
 * closes. Both HELLOs must have offered it. */
struct dpath;
void tunnel_set_dpath(struct tunnel *t, struct dpath *d);
struct dpath *tunnel_dpath(const struct tunnel *t);
/* A UDP_DATA frame that came by the datagram path: dispatched as if it
 * came inside TLS (a stream that is gone drops it). */
void tunnel_input_udp(struct tunnel *t, const struct frame *f);

/* ---- resume (docs/PROTOCOL.md section 16) ---- */

/* Both HELLOs set HELLO_F_RESUME. */
int tunnel_resumes(const struct tunnel *t);
/* Where the streams go when the tunnel is lost (not when the peer said
 * GOAWAY, nor on a protocol error): NULL, the default, ends them. */
void tunnel_keep_into(struct tunnel *t, struct kept *k);
/* Server: the token a new tunnel presents to resume this one's streams
 * (SESSION), once the tunnel is up. */
void tunnel_send_session(struct tunnel *t, const uint8_t *token);
/* Client, from the up op before any stream opens: RESUME with k's
 * token, and k's streams move onto t to wait for the server's SYNC.
 * -1 (nothing sent, k untouched) when t does not resume or k has no
 * token. */
int tunnel_resume_send(struct tunnel *t, struct kept *k);
/* Server, from the resume op: RESUMED with code; on RESUME_OK the
 * streams of k (may be NULL otherwise) move onto t, and those the
 * client's SYNCs do not name end without a word. */
void tunnel_resume_answer(struct tunnel *t, uint8_t code, struct kept *k);
size_t kept_count(const struct kept *k);
/* Ends every kept stream (abort op) and forgets the token. */
void kept_abort_all(struct kept *k);
void kept_each(struct kept *k,
	       void (*fn)(const struct stream_info *i, void *arg), void *arg);

/* Streams. Client: tunnel_next_id() gives a free id. */
uint32_t tunnel_next_id(struct tunnel *t);
void tunnel_attach(struct tunnel *t, struct stream *s, uint32_t id,
		   const struct stream_ops *ops);
/* Client: attaches s under a new id and opens a UDP association on it.
 * UDP_DATA may follow at once: the server handles frames in order. */
void tunnel_open_udp(struct tunnel *t, struct stream *s,
		     const struct stream_ops *ops);
/* Leaves the tunnel, or the kept set it is parked in. */
void tunnel_detach(struct stream *s);

/* Queues a control frame (OPEN, RESULT, WINDOW, RST): never dropped,
 * sent ahead of DATA. */
void tunnel_send(struct tunnel *t, const uint8_t *frame, size_t len);
/* RESULT for a stream; the reason goes only to a peer that asked for
 * reasons in its HELLO (an older one would take it for an address). */
void tunnel_send_result(struct tunnel *t, uint32_t stream, uint8_t code,
			uint8_t reason, const struct addr *bound);
/* Queues a UDP frame ahead of DATA; returns -1 (dropped) if too many
 * bytes of UDP are already waiting. With by_path set it goes by the
 * datagram path instead while that is up (only for a stream the peer
 * knows already: UDP may overtake what goes inside TLS). */
int tunnel_send_udp(struct tunnel *t, const uint8_t *frame, size_t len,
		    int by_path);

/* Bulk data, in order with FIN: a stream asks for room for up to
 * *nframes DATA frames and gets it for *nframes (at least one), back to
 * back: the payload of frame i goes at p + i * FRAME_MAX_LEN +
 * FRAME_HDR_LEN, FRAME_MAX_PAYLOAD bytes each, so one readv() fills
 * several. Commit the bytes read: they become frames in place. NULL
 * means the queue is full: tunnel_wait_room(). A stream woken from that
 * wait gets one frame in even if a busier flow filled the queue again
 * first, so a small flow is never starved. */
uint8_t *tunnel_data_room(struct tunnel *t, struct stream *s, int *nframes);
void tunnel_data_commit(struct tunnel *t, uint32_t id, size_t n);
void tunnel_data_fin(struct tunnel *t, uint32_t id);
void tunnel_wait_room(struct stream *s);

/* Bulk that arrived for a stream goes to its socket once the whole read
 * is dispatched: one write() for many frames, with no poll for
 * writability in between (the socket almost always has room). */
void tunnel_deliver_later(struct stream *s);

#endif
