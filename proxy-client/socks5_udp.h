/* SOCKS5 UDP ASSOCIATE: the UDP half of the SOCKS5 front-end. It knows
 * nothing of the control connection; the TCP half (socks5.c) lends it
 * what it needs through struct socks_udp_host and ends it with
 * socks_udp_free() when the control connection ends. */
#ifndef PROXY_CLIENT_SOCKS5_UDP_H
#define PROXY_CLIENT_SOCKS5_UDP_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/addr.h"
#include "client.h"
#include "direct.h"
#include "router.h"

struct buf;
struct dgram_batch;
struct socks_udp;

/* Why a datagram from an application was dropped. Each association
 * logs the first of each kind (at info, with the reason) and counts
 * them all; `status` shows the totals. */
enum socks_udp_drop {
	UDP_DROP_TOO_LONG,  /* address and payload over a frame's 16,376 */
	UDP_DROP_NO_HEADER, /* no SOCKS UDP header (RSV RSV FRAG ATYP...) */
	UDP_DROP_FRAGMENT,  /* FRAG != 0: fragments are not supported */
	UDP_DROP_NO_TUNNEL, /* none up, or its UDP queue full */
	UDP_DROP_KINDS
};

struct socks_udp_drops {
	uint64_t n[UDP_DROP_KINDS];
};

/* What the SOCKS5 server lends its associations; conn is the control
 * connection given to socks_udp_open(). */
struct socks_udp_host {
	struct ev_loop *loop;
	struct client *client;  /* its tunnel: to open again after idle */
	struct dgram_batch *in; /* from socks_udp_batch_new() */
	struct router *router;  /* each datagram: direct, proxy, block */
	struct socks_udp_drops *drops; /* every association's, added up */
	const struct direct_params *direct;
	/* The server answered the first UDP_OPEN: the SOCKS reply (bound
	 * is NULL on failure; ended() follows a failure). */
	void (*reply)(void *conn, uint8_t rep, const struct addr *bound);
	/* The association is over, so is its control connection: the
	 * owner calls socks_udp_free() now or later. */
	void (*ended)(void *conn);
};

/* The batch datagrams from applications are read into, with room for
 * the frame header in front. */
struct dgram_batch *socks_udp_batch_new(void);
/* A UDP socket on the local address of the control connection ctl_fd
 * (so the reply never names 0.0.0.0), for the application at peer, and
 * the association on t; the reply follows the server's RESULT. NULL (a
 * socket error logged) when there is no socket. */
struct socks_udp *socks_udp_open(const struct socks_udp_host *h, void *conn,
				 int ctl_fd,
				 const struct sockaddr_storage *peer,
				 struct tunnel *t);
/* Ends the association (RST to the server if it is open) and frees it. */
void socks_udp_free(struct socks_udp *u);
/* The drop counters: a line of the status table, or a JSON object. */
void socks_udp_drops_status(const struct socks_udp_drops *d, struct buf *b,
			    int json);

#endif
