/* A listening TCP socket and its accept loop, shared by every daemon
 * front-end: when descriptors run out it pauses instead of spinning. */
#ifndef COMMON_ACCEPTOR_H
#define COMMON_ACCEPTOR_H

#include <ev.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"

struct acceptor;
typedef void (*acceptor_cb)(struct acceptor *a, int fd,
			    const struct sockaddr *peer);

struct acceptor {
	ev_io io;
	ev_timer pause;
	struct ev_loop *loop;
	acceptor_cb accepted;    /* gets a non-blocking, close-on-exec fd
				   * with TCP_NODELAY (set on the listener) */
	char name[ADDR_STR_MAX]; /* the address, for log lines */
};

/* Binds addr ("[::]" takes IPv4 too), listens, starts accepting.
 * 0, or -1 with err set. */
int acceptor_open(struct acceptor *a, struct ev_loop *loop,
		  const struct addr *addr, acceptor_cb cb, char *err, size_t n);
/* The same with SO_REUSEPORT: one of several sockets on the same
 * address, one per loop, among which the kernel spreads connections. */
int acceptor_open_shared(struct acceptor *a, struct ev_loop *loop,
			 const struct addr *addr, acceptor_cb cb, char *err,
			 size_t n);
/* 0 when nothing listens on addr (a plain bind there succeeds), or -1
 * with err set ("ADDR: Address already in use"): to call before the
 * first of the SO_REUSEPORT sockets. */
int acceptor_check_free(const struct addr *addr, char *err, size_t n);
/* Stops and closes the socket. */
void acceptor_close(struct acceptor *a);

#endif
