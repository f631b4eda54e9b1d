/* Two connected sockets relayed to each other on the client itself (a
 * direct flow): a capped buffer per direction, reading stops while its
 * buffer is full, EOF one way is passed on as a half-close while the
 * other way still runs, and no traffic either way for idle seconds ends
 * it. The owner embeds struct relay. */
#ifndef PROXY_CLIENT_RELAY_H
#define PROXY_CLIENT_RELAY_H

#include <ev.h>
#include <stdint.h>

#include "../common/buf.h"

struct relay;

/* The relay is over (both fds closed); why is "done" for a clean end. */
typedef void (*relay_done_cb)(struct relay *r, const char *why);

struct relay_half {
	int from, to;
	struct buf b;
	ev_io rio, wio;
	unsigned eof : 1, shut : 1;
	uint64_t bytes; /* written to "to" */
};

struct relay {
	struct ev_loop *loop;
	struct relay_half up;   /* application -> destination */
	struct relay_half down; /* destination -> application */
	ev_timer idle;
	double idle_timeout; /* 0: none */
	ev_tstamp last_active, start;
	relay_done_cb done;
};

/* Takes app and dst (connected, non-blocking); early: bytes the
 * application already sent, which go to dst first. */
void relay_start(struct relay *r, struct ev_loop *loop, int app, int dst,
		 const void *early, size_t n, double idle_timeout,
		 relay_done_cb done);
/* Ends it now (sockets reset); done() is not called. */
void relay_stop(struct relay *r);

#endif
