/* A token bucket: a byte rate with a burst, for the server's per-client
 * rate caps. A take may overdraw it (a read is taken whole, whatever
 * its size), so the rate over time is exact while nothing needs to know
 * a read's size in advance; while it is overdrawn, callers hold back
 * and look again after bucket_wait() seconds. Pure arithmetic on the
 * caller's clock (seconds, any monotonic origin), no I/O; safe to share
 * between threads (their clocks should agree: ev_now() of each loop). */
#ifndef COMMON_BUCKET_H
#define COMMON_BUCKET_H

#include <stddef.h>

struct bucket {
	double rate;   /* bytes per second; 0: no cap */
	double burst;  /* at most this many tokens are saved up */
	double tokens; /* negative: overdrawn */
	double at;     /* the clock when tokens was last brought up */
	/* rate is set while nothing takes (the server's workers paused);
	 * the rest moves under this lock: takes may come from threads */
	char lock;
};

/* (Re)sets the rate (0: no cap); a debt already run up is kept, so a
 * reload cannot be used to skip it. The burst is an eighth of a second
 * of the rate, and at least BUCKET_BURST_MIN. */
#define BUCKET_BURST_MIN (64.0 * 1024)
void bucket_set(struct bucket *b, double rate, double now);
void bucket_take(struct bucket *b, size_t n);
/* 0 when bytes may move now, else the seconds until they may. */
double bucket_wait(struct bucket *b, double now);

#endif
