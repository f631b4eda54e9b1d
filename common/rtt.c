#include "rtt.h"

void rtt_sample(struct rtt *r, double sample, double now, int quiet)
{
	r->srtt = r->srtt ? (7 * r->srtt + sample) / 8 : sample;
	if (!r->min || sample < r->min ||
	    (quiet && now - r->min_at > RTT_MIN_WINDOW)) {
		r->min = sample;
		r->min_at = now;
	}
}
