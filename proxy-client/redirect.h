/* The transparent TCP front-end (Linux): connections redirected by
 * iptables/nft REDIRECT are decided by the routing rules as SOCKS5
 * CONNECTs to an address are, and end in the same flow_open(), or in
 * direct.c, or refused. */
#ifndef PROXY_CLIENT_REDIRECT_H
#define PROXY_CLIENT_REDIRECT_H

#include <ev.h>

#include "client.h"
#include "client_conf.h"
#include "router.h"

struct redirect;

/* fixed NULL: each connection goes where the kernel says it was going
 * (REDIRECT), the way router decides; else every connection goes to
 * *fixed through the tunnel (a port forward, as the DNS forwarder's TCP
 * side uses; router NULL). listen NULL: no listener, the connections
 * come from redirect_take(). */
struct redirect *redirect_new(struct ev_loop *loop, const struct addr *listen,
			      const struct client_conf *conf,
			      struct client *client, struct router *router,
			      const struct addr *fixed);
/* An accepted connection, and the n bytes already read from it (they go
 * first). */
void redirect_take(struct redirect *r, int fd, const void *early, size_t n);
void redirect_free(struct redirect *r);

#endif
