/* Unit tests for common/rtt.c: the first sample sets both estimates,
 * srtt moves an eighth towards each sample, a lower sample always
 * lowers the minimum, a higher one never raises it while the minimum
 * is younger than RTT_MIN_WINDOW, and after that only a quiet one does
 * (a sample taken behind bulk data measures queues, not the path). */
#include "../../common/rtt.h"
#include "test.h"

#define NEAR(a, b) ((a) - (b) < 1e-12 && (b) - (a) < 1e-12)

int main(void)
{
	struct rtt r = { 0 };

	rtt_sample(&r, 0.008, 100, 0);
	CHECK(NEAR(r.srtt, 0.008) && NEAR(r.min, 0.008));
	rtt_sample(&r, 0.016, 101, 1);
	CHECK(NEAR(r.srtt, 0.009));
	CHECK(NEAR(r.min, 0.008)); /* higher: kept, quiet or not */
	rtt_sample(&r, 0.004, 102, 0);
	CHECK(NEAR(r.min, 0.004)); /* lower: taken, even behind traffic */
	CHECK(NEAR(r.min_at, 102));

	/* old minimum: a busy sample still cannot raise it */
	rtt_sample(&r, 0.050, 102 + RTT_MIN_WINDOW + 1, 0);
	CHECK(NEAR(r.min, 0.004));
	/* a quiet one shows the longer path */
	rtt_sample(&r, 0.020, 102 + RTT_MIN_WINDOW + 2, 1);
	CHECK(NEAR(r.min, 0.020));
	/* and is the new minimum's age: not replaced again right away */
	rtt_sample(&r, 0.030, 102 + RTT_MIN_WINDOW + 3, 1);
	CHECK(NEAR(r.min, 0.020));
	return test_summary("rtt");
}
