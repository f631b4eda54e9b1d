/* Unit tests for common/bucket.c (a token bucket on the caller's clock)
 * and proxy-server/rates.c (the rate directives): no cap never waits;
 * a new cap starts empty; a take overdraws it and the wait is the debt
 * over the rate; the burst caps what idle time saves up; over a long
 * run of takes, the bytes let through match the rate; a new rate keeps
 * the debt; `rate`, `rate-default`, `off`, "/s" and bad values. */
#include "../../common/bucket.h"
#include "../../proxy-server/rates.h"
#include "test.h"

#define NEAR(a, b, eps) ((a) - (b) < (eps) && (b) - (a) < (eps))

static void test_bucket(void)
{
	struct bucket b;
	double now = 1000, sent = 0;

	memset(&b, 0, sizeof(b));
	CHECK(bucket_wait(&b, now) == 0); /* no cap */
	CHECK(bucket_wait(NULL, now) == 0);
	bucket_take(&b, 1 << 20);
	CHECK(bucket_wait(&b, now) == 0);

	bucket_set(&b, 1 << 20, now); /* 1 MiB/s */
	CHECK(NEAR(b.burst, 128 << 10, 1));
	CHECK(bucket_wait(&b, now) > 0); /* starts empty */
	now += 0.1;
	CHECK(bucket_wait(&b, now) == 0);
	bucket_take(&b, 256 << 10); /* 102.4 K in, 256 K out */
	CHECK(NEAR(bucket_wait(&b, now), (256 - 102.4) / 1024 + 1e-3, 1e-6));
	/* idle for a minute: no more than the burst saved */
	now += 60;
	CHECK(bucket_wait(&b, now) == 0);
	CHECK(NEAR(b.tokens, 128 << 10, 1));

	/* ten seconds of 64 KiB reads, each when the wait says so */
	for (double end = now + 10; now < end;) {
		double w = bucket_wait(&b, now);

		if (w > 0) {
			now += w;
			continue;
		}
		bucket_take(&b, 64 << 10);
		sent += 64 << 10;
	}
	CHECK(sent > 9.9 * (1 << 20) && sent < 10.3 * (1 << 20));

	/* a new rate keeps the debt */
	bucket_take(&b, 1 << 20);
	bucket_set(&b, 2 << 20, now);
	CHECK(bucket_wait(&b, now) > 0.4);
	bucket_set(&b, 0, now); /* off */
	CHECK(bucket_wait(&b, now) == 0);
	/* a floor for small rates */
	bucket_set(&b, 16 << 10, now);
	CHECK(NEAR(b.burst, BUCKET_BURST_MIN, 1));
}

static int directive(struct rate_table *t, const char *a0, const char *a1,
		     const char *a2)
{
	struct conf_line l;
	char err[128];

	memset(&l, 0, sizeof(l));
	l.argc = a2 ? 3 : 2;
	l.argv[0] = (char *)a0;
	l.argv[1] = (char *)a1;
	l.argv[2] = (char *)a2;
	err[0] = '\0';
	if (rate_directive(t, &l, err, sizeof(err))) {
		CHECK(err[0] != 0);
		return -1;
	}
	return 0;
}

static void test_rates(void)
{
	struct rate_table t;

	memset(&t, 0, sizeof(t));
	CHECK_EQ(rate_for(&t, "alice"), 0);
	CHECK_EQ(directive(&t, "rate", "alice", "2M"), 0);
	CHECK_EQ(directive(&t, "rate", "bob", "512K/s"), 0);
	CHECK_EQ(directive(&t, "rate-default", "1M", NULL), 0);
	CHECK_EQ(directive(&t, "rate", "carol", "off"), 0);
	CHECK_EQ(directive(&t, "rate", "alice", "3M"), 0); /* last wins */
	CHECK_EQ(t.n, 3);
	CHECK_EQ(rate_for(&t, "alice"), 3 << 20);
	CHECK_EQ(rate_for(&t, "bob"), 512 << 10);
	CHECK_EQ(rate_for(&t, "carol"), 0);
	CHECK_EQ(rate_for(&t, "dave"), 1 << 20);
	CHECK_EQ(directive(&t, "rate", "alice", "1K"), -1); /* too low */
	CHECK_EQ(directive(&t, "rate", "alice", "fast"), -1);
	CHECK_EQ(directive(&t, "rate", "alice", "2Mbit"), -1);
	CHECK_EQ(directive(&t, "rate-default", "/s", NULL), -1);
	CHECK_EQ(rate_for(&t, "alice"), 3 << 20); /* unchanged */
	rate_table_free(&t);
	CHECK_EQ(t.n, 0);
}

int main(void)
{
	test_bucket();
	test_rates();
	return test_summary("test_bucket");
}
