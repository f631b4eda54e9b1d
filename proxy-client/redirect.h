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

struct redirect *redirect_new(struct ev_loop *loop, const struct addr *listen,
			      const struct client_conf *conf,
			      struct client *client);
void redirect_free(struct redirect *r);

struct tproxy *tproxy_new(struct ev_loop *loop, const struct addr *listen,
			  struct client *client);
void tproxy_free(struct tproxy *t);

#endif
