/* One TCP connect to the server, non-blocking, with its own deadline:
 * the kernel's SYN retransmissions back off to many seconds, so after an
 * outage a fresh connect finds the path sooner than a waiting one. */
#ifndef PROXY_CLIENT_DIAL_H
#define PROXY_CLIENT_DIAL_H

#include <ev.h>
#include <sys/socket.h>

struct dial;

/* fd >= 0: connected, and the callee owns it. Else err is an errno
 * (ETIMEDOUT when the deadline passed first). */
typedef void (*dial_cb)(struct dial *d, int fd, int err);

struct dial {
	struct ev_loop *loop;
	int fd;
	int err; /* the connect failed at once: why */
	ev_io io;
	ev_timer timer;
	dial_cb done;
};

void dial_init(struct dial *d, struct ev_loop *loop, dial_cb done);
/* Starts a connect to ss (SO_MARK mark unless 0). done() always comes
 * later, from the loop, never from this call. */
void dial_start(struct dial *d, const struct sockaddr_storage *ss,
		unsigned mark, ev_tstamp timeout);
/* A connect in progress? */
int dial_active(const struct dial *d);
/* Gives up the connect in progress, if any; done() is not called. */
void dial_cancel(struct dial *d);

#endif
