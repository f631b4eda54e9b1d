/* Unit tests for common/stall.c: a tunnel waits from its PING to the
 * PONG of its latest PING; anything heard restarts the silence; silence
 * past the timeout makes it suspect exactly once; hearing anything ends
 * the suspicion; the automatic timeout is max(2 s, 4 x srtt). */
#include "../../common/stall.h"
#include "test.h"

#define NEAR(a, b) ((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

int main(void)
{
	struct stall s = { 0 };

	/* not waiting: never suspect, however long the silence */
	CHECK(!stall_watching(&s));
	CHECK(!stall_check(&s, 1000, 2));

	stall_wait(&s, 100);
	stall_wait(&s, 101); /* a second PING: silence still from 100 */
	CHECK(stall_watching(&s));
	CHECK(NEAR(stall_left(&s, 101, 2), 1));
	CHECK(!stall_check(&s, 101.9, 2));
	/* something heard (not the PONG): the clock starts again */
	CHECK(!stall_heard(&s, 101.5, 0));
	CHECK(!stall_check(&s, 103.4, 2));
	CHECK(stall_check(&s, 103.5, 2));
	CHECK(s.suspect);
	CHECK(!stall_watching(&s));
	CHECK(!stall_check(&s, 110, 2)); /* once per silence */
	/* heard again: suspicion over, still waiting for the PONG */
	CHECK(stall_heard(&s, 111, 0));
	CHECK(!s.suspect);
	CHECK(stall_watching(&s));
	CHECK(stall_check(&s, 113, 2));
	/* the PONG: not waiting any more */
	CHECK(stall_heard(&s, 114, 1));
	CHECK(!stall_watching(&s));
	CHECK(!stall_check(&s, 200, 2));
	CHECK(!stall_heard(&s, 201, 1)); /* nothing to end */

	/* the timeout in force */
	CHECK(NEAR(stall_timeout(5, 3), 5));     /* configured wins */
	CHECK(NEAR(stall_timeout(-1, 0), 2));    /* no sample yet */
	CHECK(NEAR(stall_timeout(-1, 0.1), 2));  /* floor */
	CHECK(NEAR(stall_timeout(-1, 0.75), 3)); /* 4 x srtt */
	return test_summary("stall");
}
