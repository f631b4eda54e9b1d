/* The proxy-server daemon: listeners, TLS accept, one tunnel per
 * connected client, and the streams they open (outbound.c, udp_relay.c). */
#ifndef PROXY_SERVER_SERVER_H
#define PROXY_SERVER_SERVER_H

#include <ev.h>

#include "../common/buf.h"
#include "../common/tunnel.h"
#include "server_conf.h"

struct dgram_batch;
struct tls;
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
	struct dgram_batch *udp_in;  /* replies read by the UDP relays, with
				      * FRAME_UDP_HDR_IP_MAX bytes in front */
	ev_signal sigterm, sigint, sighup;
	ev_timer crl_check;          /* notices a changed CRL by itself */
	ev_timer drain;              /* SIGTERM: waits for flows to finish */
	ev_tstamp drain_until;
	ev_tstamp last_limit_log;
	struct ctl *ctl;
	struct addr resolver_addr;   /* what 0.0.0.0:53 stands for; type 0 if
				      * unknown */
	struct sniff *sniffs;        /* fallback: first byte not seen yet */
	struct relay *relays;        /* fallback: visitors shown the site */
	int nfallback;
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

/* A TCP stream the peer opens; it reports failures on the tunnel. */
void outbound_open(struct server *s, struct tunnel *t, const struct frame *f);

/* A warning about a limit, unless one was logged less than a second
 * ago; 1 when it was logged. */
int server_log_limit(struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A TLS connection from peer: becomes a tunnel (or, with a fallback and
 * no client certificate, a visitor of the fallback site). */
void server_start_tunnel(struct server *s, int fd, const char *peer);
/* Probe resistance (fallback.c): look at the first byte, then TLS or
 * the fallback site; relay a visitor (tls NULL: raw bytes) to the site. */
void fallback_sniff(struct server *s, int fd, const char *peer);
void fallback_relay(struct server *s, int fd, struct tls *tls,
		    const char *peer);
void fallback_stop_all(struct server *s);

/* A SOCKS5 REP code for an errno from connect(). */
uint8_t errno_to_code(int err);

#endif
