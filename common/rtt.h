/* Round-trip time from ping samples: a smoothed value for the status
 * display, and the path's minimum, by which flow control sizes windows.
 * A ping that waited behind bulk data measures our own queues, not the
 * path, so the minimum is kept over RTT_MIN_WINDOW seconds: only a lower
 * sample replaces it, or, once it is that old, a quiet one (a ping that
 * crossed little other traffic), so that a path that really got longer
 * is followed but a busy one does not inflate it. */
#ifndef COMMON_RTT_H
#define COMMON_RTT_H

#define RTT_MIN_WINDOW 300.0

struct rtt {
	double srtt; /* 7/8 old + 1/8 sample; 0: no sample yet */
	double min;
	double min_at; /* when the minimum was taken */
};

/* One sample (seconds) taken at now (seconds, any monotonic origin). */
void rtt_sample(struct rtt *r, double sample, double now, int quiet);

#endif
