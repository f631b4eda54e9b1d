/* The server's end of the datagram path (common/dpath.h): a UDP socket
 * on each listening address and port, in the event loop, and the
 * registry that finds a tunnel's path by the id its packets carry.
 * Whatever does not open under that tunnel's key (strangers, forgeries,
 * replays, other tunnels' ids) is dropped and counted, never answered. */
#ifndef PROXY_SERVER_DPATH_SRV_H
#define PROXY_SERVER_DPATH_SRV_H

#include <ev.h>

#include "../common/addr.h"
#include "../common/buf.h"
#include "../common/tunnel.h"

struct dpath_srv;

/* Binds UDP on each address; an address that cannot be bound is
 * logged and left out. NULL when none could be (the path is off). */
struct dpath_srv *dpath_srv_open(struct ev_loop *loop,
				 const struct addr *listen, int n);
void dpath_srv_close(struct dpath_srv *s);
/* A tunnel that is up and whose client offered the path: attaches its
 * path (or logs why not). */
void dpath_srv_attach(struct dpath_srv *s, struct tunnel *t);
/* Packets dropped before any tunnel's key (json: members). */
void dpath_srv_status(const struct dpath_srv *s, struct buf *b, int json);

#endif
