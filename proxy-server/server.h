/* The proxy-server daemon: listeners, TLS accept, one tunnel per
 * connected client, and the streams they open (outbound.c, udp_relay.c). */
#ifndef PROXY_SERVER_SERVER_H
#define PROXY_SERVER_SERVER_H

#include <ev.h>

#include "../common/buf.h"
#include "../common/tunnel.h"
#include "server_conf.h"

struct tls_ctx;
struct resolver;
struct ctl;

struct server {
	struct ev_loop *loop;
	struct server_conf *conf;
	struct tls_ctx *tls;
	struct resolver *resolver;
	struct listener *listeners;
	struct client_conn *clients; /* connected tunnels */
	int nclients;
	uint8_t *scratch;            /* one datagram + frame header */
	ev_signal sigterm, sigint, sighup;
	ev_timer crl_check;          /* notices a changed CRL by itself */
	ev_timer drain;              /* SIGTERM: waits for flows to finish */
	ev_tstamp drain_until;
	ev_tstamp last_limit_log;
	struct ctl *ctl;
	int stopping;
};

/* Binds, loads TLS, drops privileges; 0 or -1 (error already logged). */
int server_start(struct server *s, struct ev_loop *loop,
		 struct server_conf *conf);
/* Stops accepting, asks clients to go away, lets flows finish up to
 * shutdown-grace, then stops (the loop ends). */
void server_shutdown(struct server *s);
/* Closes everything now. */
void server_stop(struct server *s);
/* Connected clients, as a table or as JSON. */
void server_status(struct server *s, struct buf *out, int json);

/* Streams the peer opens; both report failures on the tunnel. */
void outbound_open(struct server *s, struct tunnel *t, const struct frame *f);
void udp_relay_open(struct server *s, struct tunnel *t, const struct frame *f);

/* A SOCKS5 REP code for an errno from connect(). */
uint8_t errno_to_code(int err);

#endif
