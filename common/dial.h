/* A non-blocking TCP connect to the first of a list of addresses that
 * answers, each attempt bounded, the whole bounded by a deadline; the
 * outcome is what connect() really said (errcode.h turns it into a SOCKS5
 * REP). The client's tunnel (one address, the server) and its direct
 * flows (every address of a name) both dial through it. The caller
 * embeds struct dial, zeroed before first use. */
#ifndef COMMON_DIAL_H
#define COMMON_DIAL_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

struct dial;

/* fd: the connected socket (the callee's to keep), or -1 with err the
 * errno of the last attempt (ETIMEDOUT when the deadline passed). Runs
 * once; never before dial_start() returns. */
typedef void (*dial_cb)(struct dial *d, int fd, int err);

struct dial {
	struct ev_loop *loop;
	dial_cb done;
	struct sockaddr_storage *addrs;
	int naddrs, next;
	int fd;        /* the attempt in progress, or -1 */
	unsigned mark; /* SO_MARK of each socket, or 0 */
	ev_io io;
	ev_timer timer;
	ev_timer later; /* the first attempt, from the loop */
	ev_tstamp deadline;
	int err; /* errno of the last failed attempt */
};

/* Tries addrs (copied) in order within timeout seconds; an attempt in
 * progress is given up first. */
void dial_start(struct dial *d, struct ev_loop *loop,
		const struct sockaddr_storage *addrs, int naddrs,
		double timeout, unsigned mark, dial_cb done);
/* Stops an attempt in progress; done() will not run. Idempotent. */
void dial_cancel(struct dial *d);
/* Started and not finished yet? */
int dial_active(const struct dial *d);

#endif
