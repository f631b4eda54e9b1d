/* The server's side of UDP associations (udp_relay.c): one UDP socket
 * per association, full cone. It knows the server only through
 * struct udp_relay_env. */
#ifndef PROXY_SERVER_UDP_RELAY_H
#define PROXY_SERVER_UDP_RELAY_H

#include <ev.h>

#include "../common/addr.h"
#include "../common/tunnel.h"
#include "budget.h"

struct dgram_batch;
struct resolver;
struct server_conf;

/* What the relays borrow of the server, which outlives them. */
struct udp_relay_env {
	struct ev_loop *loop;
	const struct server_conf *conf;   /* policy, limits, udp-timeout */
	struct resolver *resolver;        /* for names in datagrams */
	const struct addr *resolver_addr; /* what 0.0.0.0:53 stands for;
					   * type 0 if unknown */
	struct dgram_batch *in;           /* replies are read into it, with
					 * FRAME_UDP_HDR_IP_MAX bytes in front */
	/* Logs a limit line unless one was logged less than a second ago;
	 * 1 when it was logged. */
	int (*log_limit)(void *arg, const char *line);
	void *arg;
};

/* Answers the peer's UDP_OPEN f and relays until the association ends
 * (env is copied: it may live on the caller's stack). The relay counts
 * itself in *nudp (the tunnel's associations) while it lives, and gives
 * u's place in the budget back (budget_give) at its end, which the
 * caller took for it. 0, or a negative errno when there is no socket:
 * the caller refuses the association (and gives the place back). */
int udp_relay_open(const struct udp_relay_env *env, struct tunnel *t,
		   const struct frame *f, unsigned *nudp,
		   struct budget_user *u);

#endif
