/* The transparent front-ends (Linux): TCP connections redirected by
 * iptables/nft REDIRECT, and UDP taken by TPROXY. Both end in the same
 * tunnel calls as SOCKS5: flow_open() and UDP associations. */
#ifndef PROXY_CLIENT_REDIRECT_H
#define PROXY_CLIENT_REDIRECT_H

#include <ev.h>

#include "client.h"
#include "client_conf.h"

struct redirect;
struct tproxy;

/* fixed NULL: each connection goes where the kernel says it was going
 * (REDIRECT); else every connection goes to *fixed (a port forward, as
 * the DNS forwarder's TCP side uses). */
struct redirect *redirect_new(struct ev_loop *loop, const struct addr *listen,
			      const struct client_conf *conf,
			      struct client *client, const struct addr *fixed);
void redirect_free(struct redirect *r);

/* Associations and reply sockets are capped by conf's max-udp-assocs
 * and max-udp-peers: past them the least recently used one goes. */
struct tproxy *tproxy_new(struct ev_loop *loop, const struct addr *listen,
			  const struct client_conf *conf,
			  struct client *client);
void tproxy_free(struct tproxy *t);

/* DNS over UDP on listen, answered through the tunnel by server (the
 * server's own resolver when it is 0.0.0.0:53). */
struct dns_forward;
struct dns_forward *dns_forward_new(struct ev_loop *loop,
				    const struct addr *listen,
				    const struct addr *server,
				    struct client *client);
void dns_forward_free(struct dns_forward *d);

#endif
