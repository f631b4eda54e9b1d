/* Unit tests for proxy-server/quota.c: the quota directives, the
 * periods over month and year ends, leap years and reset days, the
 * reason a refused client is given, and the --test-clock time. */
#include <string.h>

#include "../../proxy-server/quota.h"
#include "test.h"

static time_t at(const char *s)
{
	time_t t = 0;

	CHECK_EQ(quota_parse_time(s, &t), 0);
	return t;
}

static void test_parse(void)
{
	static const struct {
		const char *args[3];
		int argc;
		enum quota_period p;
		uint64_t bytes;
		int day;
	} ok[] = {
		{ { "3G", "monthly" }, 2, QUOTA_MONTHLY, 3ull << 30, 1 },
		{ { "500M", "daily" }, 2, QUOTA_DAILY, 500ull << 20, 1 },
		{ { "1T", "monthly", "15" }, 3, QUOTA_MONTHLY, 1ull << 40, 15 },
		{ { "2048", "monthly", "28" }, 3, QUOTA_MONTHLY, 2048, 28 },
		{ { "1k", "monthly", "1" }, 3, QUOTA_MONTHLY, 1024, 1 },
	};
	static const struct {
		const char *args[3];
		int argc;
	} bad[] = {
		{ { "0", "daily" }, 2 },
		{ { "3X", "daily" }, 2 },
		{ { "3G", "weekly" }, 2 },
		{ { "3G", "daily", "1" }, 3 },
		{ { "3G", "monthly", "29" }, 3 },
		{ { "3G", "monthly", "0" }, 3 },
		{ { "3G" }, 1 },
		{ { "-3G", "daily" }, 2 },
		{ { "3.5G", "daily" }, 2 },
	};
	struct quota q;
	char err[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_EQ(quota_parse(ok[i].argc, (char *const *)ok[i].args, &q,
				     err, sizeof(err)),
			 0);
		CHECK_EQ(q.period, ok[i].p);
		CHECK_EQ(q.bytes, ok[i].bytes);
		CHECK_EQ(q.day, ok[i].day);
		CHECK_STR(q.text, ok[i].args[0]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(quota_parse(bad[i].argc, (char *const *)bad[i].args,
				     &q, err, sizeof(err)),
			 -1);
		CHECK(err[0] != 0);
	}
}

static void test_table(void)
{
	struct quota_table t;
	struct conf_line l;
	char err[128];

	memset(&t, 0, sizeof(t));
	CHECK_EQ(quota_for(&t, "alice")->period, QUOTA_NONE);
	memset(&l, 0, sizeof(l));
	l.argc = 4;
	l.argv[0] = "quota";
	l.argv[1] = "alice";
	l.argv[2] = "3G";
	l.argv[3] = "monthly";
	CHECK_EQ(quota_directive(&t, &l, err, sizeof(err)), 0);
	l.argv[2] = "1G"; /* the last line for a name wins */
	CHECK_EQ(quota_directive(&t, &l, err, sizeof(err)), 0);
	CHECK_EQ(t.n, 1);
	l.argc = 3;
	l.argv[0] = "quota-default";
	l.argv[1] = "10M";
	l.argv[2] = "daily";
	CHECK_EQ(quota_directive(&t, &l, err, sizeof(err)), 0);
	CHECK_EQ(quota_for(&t, "alice")->bytes, 1ull << 30);
	CHECK_EQ(quota_for(&t, "bob")->bytes, 10ull << 20);
	CHECK_EQ(quota_for(&t, "bob")->period, QUOTA_DAILY);
	quota_table_free(&t);
	CHECK_EQ(t.n, 0);
}

static void period_is(const char *now, const char *args1, const char *day,
		      const char *start, const char *end)
{
	const char *args[3] = { "1G", args1, day };
	struct quota q;
	char err[128], s[16], e[16];
	time_t ps, pe;

	CHECK_EQ(quota_parse(day ? 3 : 2, (char *const *)args, &q, err,
			     sizeof(err)),
		 0);
	quota_period(&q, at(now), &ps, &pe);
	CHECK_STR(quota_day_str(ps, s, sizeof(s)), start);
	CHECK_STR(quota_day_str(pe, e, sizeof(e)), end);
	CHECK_EQ(ps % 86400, 0);
	CHECK_EQ(pe % 86400, 0);
	CHECK(ps <= at(now) && at(now) < pe);
}

static void test_periods(void)
{
	period_is("2026-12-31T23:59:59", "monthly", NULL, "2026-12-01",
		  "2027-01-01");
	period_is("2027-01-01T00:00:00", "monthly", NULL, "2027-01-01",
		  "2027-02-01");
	period_is("2028-02-29T12:00:00", "monthly", NULL, "2028-02-01",
		  "2028-03-01");
	period_is("2026-12-14T23:59:59", "monthly", "15", "2026-11-15",
		  "2026-12-15");
	period_is("2026-12-15T00:00:00", "monthly", "15", "2026-12-15",
		  "2027-01-15");
	period_is("2027-01-03T08:00:00", "monthly", "28", "2026-12-28",
		  "2027-01-28");
	period_is("2026-12-31T23:59:59", "daily", NULL, "2026-12-31",
		  "2027-01-01");
	period_is("2028-02-28T00:00:00", "daily", NULL, "2028-02-28",
		  "2028-02-29");
	period_is("2027-03-01T00:00:01", "daily", NULL, "2027-03-01",
		  "2027-03-02");
}

static void test_reason_and_time(void)
{
	const char *args[2] = { "3G", "monthly" };
	struct quota q;
	char err[128], why[128];
	time_t t, s, e;

	CHECK_EQ(quota_parse(2, (char *const *)args, &q, err, sizeof(err)), 0);
	quota_period(&q, at("2026-12-06T18:00:00"), &s, &e);
	quota_reason(&q, e, why, sizeof(why));
	CHECK_STR(why, "quota of 3G for this month used up; resets 2027-01-01");
	args[1] = "daily";
	CHECK_EQ(quota_parse(2, (char *const *)args, &q, err, sizeof(err)), 0);
	quota_period(&q, at("2026-12-06T18:00:00"), &s, &e);
	quota_reason(&q, e, why, sizeof(why));
	CHECK_STR(why, "quota of 3G for today used up; resets 2026-12-07");
	CHECK_EQ(at("1970-01-02"), 86400);
	CHECK_EQ(at("2027-01-01T00:00:00"), 1798761600);
	CHECK_EQ(quota_day_start(1798761600 + 3599), 1798761600);
	CHECK_EQ(quota_parse_time("2027-13-01", &t), -1);
	CHECK_EQ(quota_parse_time("2027-01-01T25:00:00", &t), -1);
	CHECK_EQ(quota_parse_time("2027-01-01T00:00:00x", &t), -1);
	CHECK_EQ(quota_parse_time("2027-01-01x", &t), -1);
	CHECK_EQ(quota_parse_time("yesterday", &t), -1);
}

int main(void)
{
	test_parse();
	test_table();
	test_periods();
	test_reason_and_time();
	return test_summary("test_quota");
}
