#include "redial.h"

void redial_init(struct redial *r)
{
	r->backoff = REDIAL_MIN;
	r->rescue_until = 0;
	r->rtt = 0;
}

void redial_rescue(struct redial *r, double now, double rtt)
{
	r->rescue_until = now + REDIAL_RESCUE;
	if (rtt > 0)
		r->rtt = rtt;
}

void redial_done(struct redial *r, int stable)
{
	r->rescue_until = 0;
	if (stable)
		r->backoff = REDIAL_MIN;
}

int redial_rescuing(const struct redial *r, double now)
{
	return r->rescue_until && now < r->rescue_until;
}

double redial_connect_timeout(const struct redial *r, double now, double normal)
{
	double t = REDIAL_RESCUE_RTTS * r->rtt;

	if (!redial_rescuing(r, now))
		return normal;
	if (t < REDIAL_RESCUE_DIAL)
		t = REDIAL_RESCUE_DIAL;
	return t < normal ? t : normal;
}

double redial_delay(struct redial *r, double now, enum redial_fail why,
		    double jitter)
{
	double d;

	if (redial_rescuing(r, now) && why != REDIAL_REJECTED)
		return why == REDIAL_TIMEOUT ? 0 : REDIAL_RESCUE_PAUSE;
	d = r->backoff * (0.75 + 0.5 * jitter);
	r->backoff = r->backoff * 2 < REDIAL_MAX ? r->backoff * 2 : REDIAL_MAX;
	return d;
}
