/* A non-blocking TCP connect to the first of a list of addresses that
 * answers, each attempt bounded, the whole bounded by a deadline; the
 * outcome as a SOCKS5 REP code (errcode.h) taken from what connect()
 * really said. The caller embeds struct dial; no allocation per dial. */
#ifndef COMMON_DIAL_H
#define COMMON_DIAL_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

struct dial;

/* fd: the connected socket (the callee's to keep), or -1 with code the
 * reason. Runs once; never before dial_start() returns. */
typedef void (*dial_cb)(struct dial *d, int fd, uint8_t code);

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
	uint8_t code; /* of the last failed attempt */
};

/* Tries addrs (copied) in order within timeout seconds. */
void dial_start(struct dial *d, struct ev_loop *loop,
		const struct sockaddr_storage *addrs, int naddrs,
		double timeout, unsigned mark, dial_cb done);
/* Stops an attempt in progress; done() will not run. Idempotent. */
void dial_cancel(struct dial *d);

#endif
