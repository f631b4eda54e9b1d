/* Stall detection for the client's tunnel: pure bookkeeping over
 * timestamps, no timers or sockets (tunnel.c drives it). The tunnel
 * "waits" from the moment it sent a PING until the PONG of its latest
 * PING arrives; anything heard in between restarts the clock. Waiting
 * silently for longer than stall-timeout makes it suspect, and it stays
 * so until the peer is heard from again. */
#ifndef COMMON_STALL_H
#define COMMON_STALL_H

/* stall-timeout when none is configured: max(STALL_FLOOR, STALL_RTTS x
 * the smoothed round trip). */
#define STALL_FLOOR 2.0
#define STALL_RTTS 4.0

struct stall {
	double since; /* silent while waiting since (0: not waiting) */
	int suspect;
};

/* We sent something that needs an answer (a PING). */
void stall_wait(struct stall *s, double now);
/* Bytes came in; answered: the PONG of our latest PING among them.
 * Returns 1 when that ends a suspicion (the peer proved alive). */
int stall_heard(struct stall *s, double now, int answered);
/* Waiting and not suspect yet: stall_check() has something to watch. */
int stall_watching(const struct stall *s);
/* Seconds of silence still allowed before the tunnel turns suspect
 * (<= 0: due); only meaningful while stall_watching(). */
double stall_left(const struct stall *s, double now, double timeout);
/* Returns 1 exactly once per silence: the moment it exceeds timeout. */
int stall_check(struct stall *s, double now, double timeout);
/* The timeout in force: configured (> 0), else the automatic one. */
double stall_timeout(double configured, double srtt);

#endif
