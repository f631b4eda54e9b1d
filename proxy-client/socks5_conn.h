/* One SOCKS5 client connection (socks5.c); a UDP ASSOCIATE hangs a
 * socks_udp (socks5_udp.c) off it. Internal to proxy-client. */
#ifndef PROXY_CLIENT_SOCKS5_CONN_H
#define PROXY_CLIENT_SOCKS5_CONN_H

#include <ev.h>
#include <sys/socket.h>

#include "../common/acceptor.h"
#include "../common/addr.h"
#include "../common/buf.h"
#include "../common/flow.h"
#include "client.h"
#include "direct.h"
#include "router.h"
#include "socks5_udp.h"

enum socks_state {
	S_GREETING,
	S_AUTH,
	S_REQUEST,
	S_ROUTING,     /* CONNECT: the rules wait for the name's address */
	S_DIRECT,      /* CONNECT: the rules said direct (direct.c) */
	S_WAIT_TUNNEL, /* request parsed, tunnel not up yet */
	S_OPENING,     /* OPEN / UDP_OPEN sent, waiting for RESULT */
	S_RELAY,       /* CONNECT: bytes flow */
	S_UDP,         /* UDP ASSOCIATE: control connection held open */
};

struct socks_conn {
	struct flow flow; /* CONNECT; owns fd once opened */
	struct socks_server *srv;
	int fd;
	ev_io io;       /* handshake, then the UDP control connection */
	ev_timer timer; /* handshake and wait-for-tunnel deadline */
	struct buf in;  /* handshake bytes, released afterwards */
	enum socks_state state;
	uint8_t cmd;
	struct addr dst;
	struct sockaddr_storage peer;
	struct client_waiter waiter;
	struct socks_udp *udp;
	struct router_req *rq; /* S_ROUTING */
	struct route_tag tag;  /* the rule that decided a CONNECT */
	struct direct *direct; /* S_DIRECT; owns fd */
	struct socks_conn *next, **pprev;
};

struct socks_server {
	struct ev_loop *loop;
	const struct client_conf *conf;
	struct client *client;
	struct router *router;
	struct direct_params direct;
	struct acceptor acc;
	struct socks_conn *conns;
	struct socks_udp_host udp; /* what UDP associations borrow */
	struct socks_udp_drops drops;
};

/* Writes a SOCKS5 reply (bound may be NULL). */
void socks_reply(struct socks_conn *c, uint8_t rep, const struct addr *bound);
/* Ends the connection and everything hanging off it. */
void socks_conn_free(struct socks_conn *c);

#endif
