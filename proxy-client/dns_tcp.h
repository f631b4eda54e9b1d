/* The DNS forwarder's TCP side: DNS over TCP on dns-listen. While the
 * rules have dns-direct lines, the first query of each connection is
 * read to learn its name: a name a dns-direct rule covers sends the
 * whole connection straight to that rule's name server (direct.h),
 * anything else goes through the tunnel to dns-server (redirect.h's
 * port forward), the query read first in both cases. */
#ifndef PROXY_CLIENT_DNS_TCP_H
#define PROXY_CLIENT_DNS_TCP_H

#include <ev.h>

#include "client.h"
#include "client_conf.h"
#include "router.h"

struct dns_tcp;

struct dns_tcp *dns_tcp_new(struct ev_loop *loop,
			    const struct client_conf *conf,
			    struct client *client, struct router *router);
/* No-op on NULL. */
void dns_tcp_free(struct dns_tcp *t);

#endif
