/* Quotas: the `quota` and `quota-default` directives and the periods
 * they count over. Pure arithmetic on UTC calendar days, no I/O, so
 * the unit test can walk month ends and leap years. */
#ifndef PROXY_SERVER_QUOTA_H
#define PROXY_SERVER_QUOTA_H

#include <stdint.h>
#include <time.h>

#include "../common/conf.h"

enum quota_period { QUOTA_NONE, QUOTA_DAILY, QUOTA_MONTHLY };

struct quota {
	enum quota_period period;
	uint64_t bytes;
	int day;       /* monthly: the day of the month it resets (1-28) */
	char text[24]; /* the size as written, for messages: "3G" */
};

struct quota_rule {
	char *name;
	struct quota q;
};

struct quota_table {
	struct quota_rule *rules;
	int n;
	struct quota dflt; /* QUOTA_NONE: no default */
};

/* "SIZE daily" or "SIZE monthly [DAY]" (argv without the directive and,
 * for `quota`, without NAME). 0 or -1 with a message in err. */
int quota_parse(int argc, char *const *argv, struct quota *q, char *err,
		size_t n);
/* The `quota NAME ...` and `quota-default ...` directives. */
int quota_directive(struct quota_table *t, const struct conf_line *l, char *err,
		    size_t n);
/* NAME's quota: its own, else the default (period QUOTA_NONE: none). */
const struct quota *quota_for(const struct quota_table *t, const char *name);
void quota_table_free(struct quota_table *t);

/* The period holding now: [*start, *end). A day starts at 00:00 UTC; a
 * monthly period on q->day of a month. */
void quota_period(const struct quota *q, time_t now, time_t *start,
		  time_t *end);
/* 00:00 UTC of now's day. */
time_t quota_day_start(time_t now);
/* "YYYY-MM-DD" of t (UTC): buf of at least 11 bytes. */
char *quota_day_str(time_t t, char *buf, size_t n);
/* "quota of 3G for this month used up; resets 2027-01-01". */
void quota_reason(const struct quota *q, time_t end, char *buf, size_t n);
/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" (UTC) into *t. 0 or -1. */
int quota_parse_time(const char *s, time_t *t);

#endif
