#include "quota.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "named.h"

_Static_assert(offsetof(struct quota_rule, name) == 0,
	       "named.h: the name comes first");

/* Day 29-31 would not exist in every month: a period must start on a
 * day each month has. */
#define QUOTA_DAY_MAX 28

int quota_parse(int argc, char *const *argv, struct quota *q, char *err,
		size_t n)
{
	unsigned long bytes, day = 1;

	memset(q, 0, sizeof(*q));
	if (argc < 2 || conf_parse_size(argv[0], &bytes) || !bytes ||
	    strlen(argv[0]) >= sizeof(q->text)) {
		snprintf(err, n, "bad size '%s' (want e.g. 500M, 3G or 1T)",
			 argc ? argv[0] : "");
		return -1;
	}
	if (!strcmp(argv[1], "daily") && argc == 2) {
		q->period = QUOTA_DAILY;
	} else if (!strcmp(argv[1], "monthly") && argc <= 3) {
		if (argc == 3 &&
		    conf_parse_uint(argv[2], 1, QUOTA_DAY_MAX, &day)) {
			snprintf(err, n,
				 "bad day '%s' (the day of the month "
				 "the quota resets, 1 to %d)",
				 argv[2], QUOTA_DAY_MAX);
			return -1;
		}
		q->period = QUOTA_MONTHLY;
	} else {
		snprintf(err, n,
			 "want SIZE daily or SIZE monthly [DAY], not "
			 "'%s%s'",
			 argv[1], argc > 2 ? " ..." : "");
		return -1;
	}
	q->bytes = bytes;
	q->day = (int)day;
	snprintf(q->text, sizeof(q->text), "%s", argv[0]);
	return 0;
}

int quota_directive(struct quota_table *t, const struct conf_line *l, char *err,
		    size_t n)
{
	struct quota q;
	int i;

	if (!strcmp(l->argv[0], "quota-default"))
		return quota_parse(l->argc - 1, l->argv + 1, &t->dflt, err, n);
	if (quota_parse(l->argc - 2, l->argv + 2, &q, err, n))
		return -1;
	/* the last line for a name wins */
	i = named_slot(&t->rules, &t->n, sizeof(*t->rules), l->argv[1]);
	t->rules[i].q = q;
	return 0;
}

const struct quota *quota_for(const struct quota_table *t, const char *name)
{
	int i = named_find(t->rules, t->n, sizeof(*t->rules), name);

	return i < 0 ? &t->dflt : &t->rules[i].q;
}

void quota_table_free(struct quota_table *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->rules[i].name);
	free(t->rules);
	memset(t, 0, sizeof(*t));
}

time_t quota_day_start(time_t now)
{
	return now - ((now % 86400) + 86400) % 86400;
}

static time_t month_day(int year, int mon, int day)
{
	struct tm tm = { .tm_year = year - 1900,
			 .tm_mon = mon,
			 .tm_mday = day };

	return timegm(&tm); /* normalises mon 12 into the next year */
}

void quota_period(const struct quota *q, time_t now, time_t *start, time_t *end)
{
	struct tm tm;

	if (q->period != QUOTA_MONTHLY) {
		*start = quota_day_start(now);
		*end = *start + 86400;
		return;
	}
	gmtime_r(&now, &tm);
	if (tm.tm_mday < q->day)
		tm.tm_mon--;
	*start = month_day(tm.tm_year + 1900, tm.tm_mon, q->day);
	*end = month_day(tm.tm_year + 1900, tm.tm_mon + 1, q->day);
}

char *quota_day_str(time_t t, char *buf, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (!strftime(buf, n, "%Y-%m-%d", &tm) && n)
		buf[0] = '\0';
	return buf;
}

void quota_reason(const struct quota *q, time_t end, char *buf, size_t n)
{
	char day[16];

	snprintf(buf, n, "quota of %s for %s used up; resets %s", q->text,
		 q->period == QUOTA_DAILY ? "today" : "this month",
		 quota_day_str(end, day, sizeof(day)));
}

int quota_parse_time(const char *s, time_t *t)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, used = 0, more = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3)
		return -1;
	if (s[used] &&
	    (sscanf(s + used, "T%2d:%2d:%2d%n", &h, &mi, &sec, &more) != 3 ||
	     s[used + more]))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || h < 0 || mi < 0 || sec < 0 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = timegm(&tm);
	return 0;
}
