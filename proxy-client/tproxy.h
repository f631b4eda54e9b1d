/* The transparent UDP front-end (Linux): datagrams taken by TPROXY
 * travel in the same tunnel UDP associations as SOCKS5's, or, as the
 * routing rules decide per datagram, leave from the client's own UDP
 * sockets (direct_udp.h), or are dropped (block). */
#ifndef PROXY_CLIENT_TPROXY_H
#define PROXY_CLIENT_TPROXY_H

#include <ev.h>

#include "client.h"
#include "client_conf.h"
#include "router.h"

struct tproxy;

/* Associations and reply sockets are capped by conf's max-udp-assocs
 * and max-udp-peers: past them the least recently used one goes. */
struct tproxy *tproxy_new(struct ev_loop *loop, const struct addr *listen,
			  const struct client_conf *conf, struct client *client,
			  struct router *router);
void tproxy_free(struct tproxy *t);

#endif
