/* The server's end of the datagram path (common/dpath.h): a UDP socket
 * on each listening address and port, in the main thread's loop, and
 * the registry that finds a tunnel's path by the id its packets carry.
 * With several workers a packet for a tunnel of another worker is
 * copied into that worker's queue (bounded) and the worker woken: the
 * path is only ever touched by the thread of its tunnel.
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
				 const struct addr *listen, int n, int workers,
				 void (*wake)(void *arg, int worker),
				 void *arg);
void dpath_srv_close(struct dpath_srv *s);
/* In worker's thread, a tunnel that is up and whose client offered the
 * path: attaches its path (or logs why not). */
void dpath_srv_attach(struct dpath_srv *s, struct tunnel *t, int worker);
/* In worker's thread, before the tunnel is freed. */
void dpath_srv_detach(struct dpath_srv *s, struct tunnel *t, int worker);
/* In worker's thread, once woken: the packets handed over to it. */
void dpath_srv_drain(struct dpath_srv *s, int worker);
/* Packets dropped before any tunnel's key (json: members). */
void dpath_srv_status(const struct dpath_srv *s, struct buf *b, int json);

#endif
