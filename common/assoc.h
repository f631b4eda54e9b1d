/* A UDP association (docs/PROTOCOL.md section 8): one tunnel stream that
 * carries datagrams, each framed with its peer's address, and no flow
 * control. What common/flow.c is for TCP: the same code runs on both
 * sides, the front-end (SOCKS5 UDP, TPROXY, the DNS forwarder, the
 * server's relay) embeds struct assoc in its own object, recovers it with
 * container_of and learns what happens through assoc_ops. */
#ifndef COMMON_ASSOC_H
#define COMMON_ASSOC_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "tunnel.h"

struct assoc;

struct assoc_ops {
	/* A datagram arrived. Client: peer is its source; server: its
	 * destination. Return 0 when it was delivered: its bytes count in
	 * what status shows. */
	int (*datagram)(struct assoc *a, const struct addr *peer,
			const uint8_t *data, size_t len);
	/* Client, optional: the server's answer to UDP_OPEN. When code is
	 * not PROTO_OK the association is over (detached) and ended() is
	 * not called: the owner frees or reopens it here. Without this op
	 * a refusal is reported through ended(). reason: enum
	 * proto_reason, from a server that sends them. */
	void (*result)(struct assoc *a, uint8_t code, uint8_t reason);
	/* The association ended without assoc_close(): the peer sent RST
	 * with code, or the tunnel went away (ASSOC_TUNNEL_LOST). It is
	 * detached: the owner frees it, or (client) opens it again later.
	 * Nothing of a is touched after this returns. */
	void (*ended)(struct assoc *a, uint8_t code);
	/* Optional: src, dst and state for status (kind, start and bytes
	 * are filled already; state defaults to "open"). */
	void (*info)(struct assoc *a, struct stream_info *i);
};

/* ended()'s code when the tunnel went away: no code came from the
 * peer. Not a SOCKS reply: a front-end that answers its application
 * maps it (host unreachable). */
#define ASSOC_TUNNEL_LOST 0xff

struct assoc {
	struct stream s; /* s.t is NULL while not open */
	const struct assoc_ops *ops;
	ev_tstamp start;   /* first opened */
	uint64_t up, down; /* datagram bytes toward destinations / back */
	unsigned server_side : 1;
	/* the peer knows the stream (client: its RESULT 00 came), so a
	 * datagram may take the datagram path, which can overtake the
	 * UDP_OPEN that goes inside TLS */
	unsigned known : 1;
};

/* Client: opens the association on t (UDP_OPEN on a new stream) unless
 * it is open already; datagrams may follow at once. -1 when it is not
 * open and t is NULL. Byte counts and start carry over a reopening. */
int assoc_open(struct assoc *a, struct tunnel *t, const struct assoc_ops *ops);
/* Server: takes the stream id the peer opened and answers RESULT 00. */
void assoc_accept(struct assoc *a, struct tunnel *t, uint32_t id,
		  const struct assoc_ops *ops);
/* Sends a datagram to (client) or from (server) peer. data has room in
 * front of it for the frame header and peer's address: FRAME_HDR_LEN +
 * ADDR_WIRE_MAX, or FRAME_UDP_HDR_IP_MAX for an IP address; the header
 * is written there, so the datagram is not copied. 0, or it was dropped:
 * -ENOTCONN (not open), -EMSGSIZE (too long for a frame), -ENOBUFS (the
 * tunnel's UDP queue is full). */
int assoc_send(struct assoc *a, const struct addr *peer, uint8_t *data,
	       size_t len);
/* Ends the association: RST with code to the peer, detach. Idempotent;
 * calls no op (the owner knows). */
void assoc_close(struct assoc *a, uint8_t code);

#endif
