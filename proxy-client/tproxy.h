/* The transparent UDP front-end (Linux): datagrams taken by TPROXY
 * travel in the same tunnel UDP associations as SOCKS5's. */
#ifndef PROXY_CLIENT_TPROXY_H
#define PROXY_CLIENT_TPROXY_H

#include <ev.h>

#include "client.h"
#include "client_conf.h"

struct tproxy;

/* Associations and reply sockets are capped by conf's max-udp-assocs
 * and max-udp-peers: past them the least recently used one goes. */
struct tproxy *tproxy_new(struct ev_loop *loop, const struct addr *listen,
			  const struct client_conf *conf,
			  struct client *client);
void tproxy_free(struct tproxy *t);

#endif
