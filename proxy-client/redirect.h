/* The transparent TCP front-end (Linux): connections redirected by
 * iptables/nft REDIRECT end in the same flow_open() as SOCKS5. */
#ifndef PROXY_CLIENT_REDIRECT_H
#define PROXY_CLIENT_REDIRECT_H

#include <ev.h>

#include "client.h"
#include "client_conf.h"

struct redirect;

/* fixed NULL: each connection goes where the kernel says it was going
 * (REDIRECT); else every connection goes to *fixed (a port forward, as
 * the DNS forwarder's TCP side uses). listen NULL: no listener, the
 * connections come from redirect_take(). */
struct redirect *redirect_new(struct ev_loop *loop, const struct addr *listen,
			      const struct client_conf *conf,
			      struct client *client, const struct addr *fixed);
/* An accepted connection, and the n bytes already read from it (they go
 * first). */
void redirect_take(struct redirect *r, int fd, const void *early, size_t n);
void redirect_free(struct redirect *r);

#endif
