/* A TCP flow: one local socket relayed over one tunnel stream, with
 * per-direction half-close and credit-based flow control. The same code
 * runs on both sides: the client's local socket is the SOCKS (or
 * redirected) connection, the server's is the outbound connection. The
 * front-end embeds struct flow in its own connection object and learns
 * the outcome through flow_ops. */
#ifndef COMMON_FLOW_H
#define COMMON_FLOW_H

#include <ev.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "ring.h"
#include "tunnel.h"

struct flow;

struct flow_ops {
	/* Client: the server's answer to OPEN (code is a SOCKS5 REP); also
	 * PROTO_HOST_UNREACHABLE with f->s.t NULL when the tunnel was lost
	 * before the answer came.
	 * On success the front-end calls flow_start(); on failure the flow
	 * ends (closed() is called) right after this returns. */
	/* reason: enum proto_reason, from a server that sends them */
	void (*result)(struct flow *f, uint8_t code, uint8_t reason,
		       const struct addr *bound);
	/* The flow is over and detached; its fd is closed. The owner frees
	 * the container here. reason is PROTO_OK for a clean end. */
	void (*closed)(struct flow *f, int reason, const char *why);
	/* For status: where the flow comes from and goes to. */
	void (*endpoints)(struct flow *f, struct addr *src, struct addr *dst);
};

struct flow {
	struct stream s;
	const struct flow_ops *ops;
	struct ev_loop *loop;
	int fd;
	ev_io rio, wio;
	ev_timer idle; /* idle-timeout: re-armed lazily */
	ev_tstamp last_active;
	struct buf out;      /* from the tunnel, waiting for the socket */
	uint32_t credit;     /* DATA bytes we may still send */
	uint32_t window;     /* our receive window */
	uint32_t rcv_avail;  /* DATA bytes the peer may still send */
	uint32_t delivered;  /* written to the socket since last WINDOW */
	double rate;         /* bytes/s delivered (0: not measured yet) */
	uint64_t rate_bytes; /* delivered since rate_since */
	ev_tstamp rate_since;
	unsigned relaying : 1, rd_eof : 1, fin_rcvd : 1, wr_shut : 1;
	unsigned server_side : 1;
	unsigned result_seen : 1; /* client: the server answered the OPEN */
	/* Resume (docs/PROTOCOL.md section 16), on a tunnel that resumes:
	 * what we sent stays in unacked until the peer's WINDOW says it
	 * arrived (at most the peer's window for this flow); parked, the
	 * flow waits for a new tunnel; syncing, for the peer's SYNC. */
	unsigned resumable : 1, parked : 1, syncing : 1, sync_sent : 1;
	unsigned fin_pending : 1; /* FIN to send again after the resend */
	struct ring unacked;
	uint64_t sent, rcvd; /* DATA bytes sent (once each) / received */
	size_t resend;       /* the last bytes of unacked to send again */
	uint64_t up_bytes, down_bytes; /* socket->tunnel, tunnel->socket */
	ev_tstamp start;
};

/* Client: attach to a new stream of t and send OPEN for dst. */
void flow_open(struct flow *f, struct tunnel *t, const struct flow_ops *ops,
	       int fd, const struct addr *dst);
/* Client: bytes the application sent right behind its request, read
 * with the handshake (at most a few hundred): they follow the OPEN as
 * DATA, which the server holds until its connection is up. -1: the flow
 * could not take them and ended (closed() was called). */
int flow_send_early(struct flow *f, const void *p, size_t n);
/* Server: attach to the stream the peer opened (fd comes later). */
void flow_accept(struct flow *f, struct tunnel *t, const struct flow_ops *ops,
		 uint32_t id);
/* Server: answer the OPEN; PROTO_OK starts relaying fd, anything else
 * ends the flow (closed() is called). reason: enum proto_reason. */
void flow_result(struct flow *f, int fd, uint8_t code, uint8_t reason,
		 const struct addr *bound);
/* Start relaying: a client calls it after a successful result, or
 * right after flow_open (fast open: data follows the OPEN at once; the
 * server holds it until its connection is up, and a failed result then
 * resets the local socket). */
void flow_start(struct flow *f);
/* Client, before the RESULT, once the front-end answered its application
 * (a SOCKS reply): RST to the peer with code, the local socket closed
 * normally so that the answer is read, closed(). */
void flow_cancel(struct flow *f, uint8_t code, const char *why);
/* Abort: RST to the peer with code, reset the local socket, closed(). */
void flow_reset(struct flow *f, uint8_t code, const char *why);
/* The one log line of a flow that ended (info level if it carried
 * data): who ("tunnel alice", "socks"), destination, bytes, duration. */
void flow_log_end(const struct flow *f, const char *who, const struct addr *dst,
		  const char *why);
/* Bytes toward the destination and back, whichever side we are. */
uint64_t flow_bytes_up(const struct flow *f);
uint64_t flow_bytes_down(const struct flow *f);

#endif
