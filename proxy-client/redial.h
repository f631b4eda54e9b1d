/* When the client dials the server again, and how long one TCP connect
 * may take. Pure arithmetic over timestamps (client.c keeps the timers).
 *
 * Normal: a backoff from 0.5 s doubling to 30 s, with +-25% jitter, so
 * that a server that refuses us is not hammered and many clients that
 * lost the same link do not come back in the same instant.
 *
 * Rescue: a tunnel that was in use went silent or was lost. For
 * REDIAL_RESCUE seconds each connect gets a short deadline and, when it
 * passes unanswered, the next starts at once: the kernel would wait
 * seconds between SYNs, we want the first one after the path returns. */
#ifndef PROXY_CLIENT_REDIAL_H
#define PROXY_CLIENT_REDIAL_H

#define REDIAL_MIN 0.5
#define REDIAL_MAX 30.0
#define REDIAL_RESCUE 60.0       /* seconds of rescue after a loss */
#define REDIAL_RESCUE_DIAL 0.25  /* connect deadline in rescue (at least) */
#define REDIAL_RESCUE_RTTS 3.0   /* ... or this many round trips */
#define REDIAL_RESCUE_PAUSE 0.25 /* after a connect refused at once */

enum redial_fail {
	REDIAL_TIMEOUT,  /* the TCP connect got no answer in time */
	REDIAL_ERROR,    /* the TCP connect failed (refused, unreachable) */
	REDIAL_REJECTED, /* TLS or the server said no, or dropped us at once */
};

struct redial {
	double backoff;      /* next normal delay, before jitter */
	double rescue_until; /* 0: not rescuing */
	double rtt;          /* of the tunnel that was lost */
};

void redial_init(struct redial *r);
/* A tunnel in use went silent or was lost at now; rtt: its srtt. */
void redial_rescue(struct redial *r, double now, double rtt);
/* A new tunnel is up: rescue is over. stable: the last one had stayed
 * up long enough to reset the backoff. */
void redial_done(struct redial *r, int stable);
int redial_rescuing(const struct redial *r, double now);
/* The deadline of one TCP connect; normal: connect-timeout. */
double redial_connect_timeout(const struct redial *r, double now,
			      double normal);
/* Seconds to wait before the next attempt, after one that failed so;
 * jitter in [0, 1]. */
double redial_delay(struct redial *r, double now, enum redial_fail why,
		    double jitter);

#endif
