/* Unit tests for proxy-client/redial.c: the normal backoff doubles from
 * 0.5 s to 30 s within +-25% jitter; a rescue gives connects a short
 * deadline (0.25 s, or 3 round trips, never above connect-timeout) and
 * retries at once after a timeout, after a pause of 0.25 s after an
 * error, and with the backoff after a rejection; it ends after 60 s or
 * when a tunnel is up; a stable tunnel resets the backoff. */
#include "../../proxy-client/redial.h"
#include "test.h"

/* evaluates a once: redial_delay() moves the backoff */
static int near(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

#define NEAR(a, b) near(a, b)

int main(void)
{
	struct redial r;
	double d;

	redial_init(&r);
	CHECK(!redial_rescuing(&r, 0));
	CHECK(NEAR(redial_connect_timeout(&r, 0, 10), 10));
	CHECK(NEAR(redial_delay(&r, 0, REDIAL_TIMEOUT, 0.5), 0.5));
	CHECK(NEAR(redial_delay(&r, 0, REDIAL_ERROR, 0), 0.75));
	CHECK(NEAR(redial_delay(&r, 0, REDIAL_REJECTED, 1), 2.5));
	for (int i = 0; i < 20; i++)
		d = redial_delay(&r, 0, REDIAL_ERROR, 0.5);
	CHECK(NEAR(d, REDIAL_MAX));

	/* a rescue */
	redial_rescue(&r, 100, 0.01);
	CHECK(redial_rescuing(&r, 100));
	CHECK(NEAR(redial_connect_timeout(&r, 100, 10), 0.25));
	CHECK(NEAR(redial_delay(&r, 100, REDIAL_TIMEOUT, 0.9), 0));
	CHECK(NEAR(redial_delay(&r, 101, REDIAL_ERROR, 0.9), 0.25));
	/* the server said no: the backoff, even in a rescue */
	CHECK(redial_delay(&r, 102, REDIAL_REJECTED, 0.5) >= REDIAL_MAX * 0.75);
	/* a long path gets more round trips, never above connect-timeout */
	redial_rescue(&r, 100, 0.4);
	CHECK(NEAR(redial_connect_timeout(&r, 100, 10), 1.2));
	CHECK(NEAR(redial_connect_timeout(&r, 100, 1), 1));
	/* an srtt of 0 (none measured) keeps the last one */
	redial_rescue(&r, 100, 0);
	CHECK(NEAR(redial_connect_timeout(&r, 100, 10), 1.2));
	/* over after REDIAL_RESCUE seconds */
	CHECK(!redial_rescuing(&r, 100 + REDIAL_RESCUE));
	CHECK(NEAR(redial_connect_timeout(&r, 100 + REDIAL_RESCUE, 10), 10));

	/* a tunnel up ends it; a stable one resets the backoff */
	redial_rescue(&r, 200, 0.01);
	redial_done(&r, 0);
	CHECK(!redial_rescuing(&r, 200));
	CHECK(redial_delay(&r, 200, REDIAL_ERROR, 0.5) > 1);
	redial_done(&r, 1);
	CHECK(NEAR(redial_delay(&r, 200, REDIAL_ERROR, 0.5), REDIAL_MIN));
	return test_summary("redial");
}
