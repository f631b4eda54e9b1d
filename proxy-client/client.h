/* The client's one tunnel: connect (name resolved with c-ares), keep it
 * up, reconnect with backoff and jitter when it drops, and let new flows
 * wait for it. */
#ifndef PROXY_CLIENT_CLIENT_H
#define PROXY_CLIENT_CLIENT_H

#include <ev.h>

#include "../common/buf.h"
#include "../common/tunnel.h"
#include "client_conf.h"

struct client;

/* A flow waiting for the tunnel; ready() runs once, with the tunnel. */
struct client_waiter {
	struct client_waiter *next, **pprev;
	void (*ready)(struct client_waiter *w, struct tunnel *t);
};

/* Whether the certificates and key make a TLS context together (what -t
 * checks beyond the file's syntax). */
int client_check_tls(const struct client_conf *c, char *err, size_t n);
struct client *client_new(struct ev_loop *loop, const struct client_conf *c);
/* The tunnel if it is up, else NULL. */
struct tunnel *client_tunnel(struct client *c);
void client_wait(struct client *c, struct client_waiter *w);
void client_unwait(struct client_waiter *w);
void client_free(struct client *c);
/* The tunnel and its flows, as a table or as JSON. */
void client_status(struct client *c, struct buf *out, int json);

#endif
