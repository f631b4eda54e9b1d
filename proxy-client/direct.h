/* A TCP flow the rules send direct (router.h): the client connects the
 * destination itself (dial.h, every address in turn), answers the
 * application with the reply code a tunnelled flow would get for the
 * same outcome, then relays socket to socket (relay.h). The tunnel is
 * never involved, up or down. */
#ifndef PROXY_CLIENT_DIRECT_H
#define PROXY_CLIENT_DIRECT_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/addr.h"
#include "router.h"

struct direct;

struct direct_ops {
	/* Before any relaying: the outcome of the connect (a SOCKS5 REP;
	 * bound is NULL on failure, ended() follows a failure). */
	void (*reply)(void *conn, uint8_t rep, const struct addr *bound);
	/* Over: the owner calls direct_free() now or later. */
	void (*ended)(void *conn);
};

struct direct_params {
	struct ev_loop *loop;
	const char *name; /* of the front-end, for log lines */
	double connect_timeout, idle_timeout;
	unsigned mark; /* SO_MARK of the outbound socket, or 0 */
};

/* Takes fd (the application's socket) and tag (v's, which it ends with
 * the flow's bytes); early: bytes the application sent behind its
 * request. Nothing runs before this returns. */
struct direct *direct_open(const struct direct_params *p,
			   const struct direct_ops *ops, void *conn, int fd,
			   const struct addr *dst,
			   const struct route_verdict *v, const void *early,
			   size_t n);
/* Ends it (sockets reset if still open) and frees it; no op runs. */
void direct_free(struct direct *d);

#endif
