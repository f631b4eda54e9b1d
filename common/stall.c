#include "stall.h"

void stall_wait(struct stall *s, double now)
{
	if (!s->since)
		s->since = now;
}

int stall_heard(struct stall *s, double now, int answered)
{
	int was = s->suspect;

	s->suspect = 0;
	if (answered)
		s->since = 0;
	else if (s->since)
		s->since = now; /* alive: count the silence from here */
	return was;
}

int stall_watching(const struct stall *s)
{
	return s->since && !s->suspect;
}

double stall_left(const struct stall *s, double now, double timeout)
{
	return s->since + timeout - now;
}

int stall_check(struct stall *s, double now, double timeout)
{
	if (stall_watching(s) && stall_left(s, now, timeout) <= 0) {
		s->suspect = 1;
		return 1;
	}
	return 0;
}

double stall_timeout(double configured, double srtt)
{
	double t = STALL_RTTS * srtt;

	if (configured > 0)
		return configured;
	return t > STALL_FLOOR ? t : STALL_FLOOR;
}
