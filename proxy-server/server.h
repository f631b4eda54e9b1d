/* One worker of the proxy-server daemon: an event loop with its own
 * listening sockets (SO_REUSEPORT when there are several), TLS
 * context, resolver and the client tunnels it accepted; the streams
 * they open are outbound.c's and udp_relay.c's. What all workers share
 * (accounts, the descriptor budget, the datagram path's sockets) is the
 * hub's (hub.h), each behind its own lock. */
#ifndef PROXY_SERVER_SERVER_H
#define PROXY_SERVER_SERVER_H

#include <ev.h>

#include "../common/buf.h"
#include "../common/tunnel.h"
#include "budget.h"
#include "preauth.h"
#include "server_conf.h"
#include "session.h"

struct dgram_batch;
struct fallback;
struct tls_ctx;
struct resolver;
struct hub;
struct workers;

struct server {
	struct ev_loop *loop;
	struct server_conf *conf;
	struct hub *hub;
	int index;               /* the worker's number, 0 on the main thread */
	struct workers *threads; /* NULL with one worker (workers_spawn) */
	struct tls_ctx *tls;
	struct resolver *resolver;
	struct listener *listeners;
	struct client_conn *clients; /* connected tunnels */
	int nclients;
	struct dgram_batch *udp_in; /* replies read by the UDP relays, with
				      * FRAME_UDP_HDR_IP_MAX bytes in front */
	ev_timer crl_check;         /* notices a changed CRL by itself */
	ev_tstamp last_limit_log;
	struct addr resolver_addr; /* what 0.0.0.0:53 stands for; type 0 if
				      * unknown */
	struct fallback *fallback; /* probe resistance; NULL when off */
	struct preauth preauth;    /* connections not authenticated yet */
	struct tunnel_pool pool;   /* this worker's share of max-buffer-total */
	struct sessions sessions;  /* resume tokens, flows of lost tunnels */
	int stopping;
};

/* Whether the certificates, key and CRL make a TLS context together
 * (what -t checks beyond the file's syntax). */
int server_check_tls(const struct server_conf *conf, char *err, size_t n);
/* A worker on loop: binds its listeners (SO_REUSEPORT when reuseport),
 * loads TLS, starts its resolver. 0 or -1 (logged). */
int server_open(struct server *s, struct hub *h, int index,
		struct ev_loop *loop, int reuseport);
/* After privileges were dropped: the CRL still readable. 0 or -1. */
int server_crl_readable(struct server *s);
/* The calls below come from the main thread while the worker is paused
 * (worker.h) or is the main thread's own. */
/* Stops accepting, sends GOAWAY to its tunnels. */
void server_goaway(struct server *s);
/* Flows still open (for shutdown-grace). */
size_t server_flows(const struct server *s);
/* Closes every connection and stops every watcher: its loop ends. */
void server_close(struct server *s);
/* Frees what is left once the loop has ended. */
void server_free(struct server *s);
/* A changed CRL (force_log: say so even when unchanged) ends revoked
 * tunnels. */
void server_check_crl(struct server *s, int force_log);
/* After a reload: each tunnel's rate caps again. */
void server_reapply_rates(struct server *s);
/* Ends the flows of tunnels whose account is past its quota. */
void server_end_over_quota(struct server *s);
/* status: one row (or JSON object) per tunnel; *first for the commas. */
void server_status(struct server *s, struct buf *b, int json, int *first);
/* Wakes from the hub (the datagram path's hand-over). */
void server_woken(struct server *s);

/* A warning about a limit, unless one was logged less than a second
 * ago; 1 when it was logged. */
int server_log_limit(struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
