/* The local SOCKS5 service (RFC 1928, RFC 1929): CONNECT and UDP
 * ASSOCIATE over the client's tunnel. */
#ifndef PROXY_CLIENT_SOCKS5_H
#define PROXY_CLIENT_SOCKS5_H

#include <ev.h>

#include "client.h"
#include "client_conf.h"
#include "router.h"

struct buf;
struct socks_server;

/* Binds conf->socks; NULL (error logged) on failure. CONNECTs and
 * datagrams go where router's rules say. */
struct socks_server *socks_server_new(struct ev_loop *loop,
				      const struct client_conf *conf,
				      struct client *client,
				      struct router *router);
/* The datagrams UDP associations dropped, per reason (socks5_udp.h):
 * a line of the status table, or a JSON object. */
void socks_server_status(const struct socks_server *s, struct buf *b, int json);
/* Closes the listener and every SOCKS connection. */
void socks_server_free(struct socks_server *s);

#endif
