/* The proxy-server daemon: listeners, TLS accept and one tunnel per
 * connected client; the streams they open are outbound.c's and
 * udp_relay.c's. */
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
struct dpath_srv;
struct fallback;
struct tls_ctx;
struct resolver;
struct ctl;
struct accounts;

struct server {
	struct ev_loop *loop;
	struct server_conf *conf;
	struct tls_ctx *tls;
	struct resolver *resolver;
	struct listener *listeners;
	struct client_conn *clients; /* connected tunnels */
	int nclients;
	struct dgram_batch *udp_in; /* replies read by the UDP relays, with
				      * FRAME_UDP_HDR_IP_MAX bytes in front */
	ev_signal sigterm, sigint, sighup;
	ev_timer crl_check; /* notices a changed CRL by itself */
	ev_timer drain;     /* SIGTERM: waits for flows to finish */
	ev_tstamp drain_until;
	ev_tstamp last_limit_log;
	struct ctl *ctl;
	struct addr resolver_addr; /* what 0.0.0.0:53 stands for; type 0 if
				      * unknown */
	struct fallback *fallback; /* probe resistance; NULL when off */
	struct dpath_srv *dps;     /* the datagram path's sockets, or NULL */
	struct preauth preauth;    /* connections not authenticated yet */
	struct budget budget;      /* descriptors and buffers of all users */
	struct accounts *accts;    /* per-client counts; NULL: off */
	struct sessions sessions;  /* resume tokens, flows of lost tunnels */
	unsigned nup;              /* authenticated tunnels */
	int stopping;
};

/* Whether the certificates, key and CRL make a TLS context together
 * (what -t checks beyond the file's syntax). */
int server_check_tls(const struct server_conf *conf, char *err, size_t n);
/* Binds, loads TLS, drops privileges; 0 or -1 (error already logged). */
int server_start(struct server *s, struct ev_loop *loop,
		 struct server_conf *conf);
/* Stops accepting, asks clients to go away, lets flows finish up to
 * shutdown-grace, then stops (the loop ends). */
void server_shutdown(struct server *s);
/* Closes everything now. */
void server_stop(struct server *s);

/* A warning about a limit, unless one was logged less than a second
 * ago; 1 when it was logged. */
int server_log_limit(struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
