/* The DNS forwarder's UDP side: queries on a local address answered
 * through the tunnel, or by a dns-direct rule's name server. */
#ifndef PROXY_CLIENT_DNS_FORWARD_H
#define PROXY_CLIENT_DNS_FORWARD_H

#include <ev.h>

#include "client.h"
#include "router.h"

struct dns_forward;

/* DNS over UDP on listen, answered through the tunnel by server (the
 * server's own resolver when it is 0.0.0.0:53), or directly by the name
 * server of the router's dns-direct rule for the name; a query not
 * answered within timeout (connect-timeout) gets SERVFAIL. */
struct dns_forward *dns_forward_new(struct ev_loop *loop,
				    const struct addr *listen,
				    const struct addr *server,
				    struct client *client,
				    struct router *router, double timeout);
void dns_forward_free(struct dns_forward *d);

#endif
