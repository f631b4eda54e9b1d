/* Unit tests for the flow window's growth rule (flow_window_short in
 * common/flow_window.c), with the figures it was tuned on: which windows
 * grow at which delivery rate over which round trip, with and without
 * loss on the path. The relay around it (credit, the socket's backlog)
 * is test_flow's and test_window.sh's. */
#include "../../common/flow_window.h"
#include "test.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

int main(void)
{
	/* a clean 0.1 ms path: 256 KiB is enough up to 1 GB/s (no growth,
	 * so no more bytes queued in the tunnel ahead of other flows) */
	CHECK(!flow_window_short(256 * KIB, 1e9, 0.0001, 0));
	CHECK(flow_window_short(256 * KIB, 1.1e9, 0.0001, 0));
	/* a round trip below the floor counts as the floor */
	CHECK(!flow_window_short(256 * KIB, 1e9, 0.00001, 0));

	/* 50 ms clean: a window-bound flow moves one window per one to two
	 * round trips and grows; one at a tenth of that is held back by
	 * something else and keeps its window */
	CHECK(flow_window_short(1 * MIB, 1 * MIB / 0.1, 0.05, 0));
	CHECK(!flow_window_short(1 * MIB, 1 * MIB / 1.0, 0.05, 0));

	/* 50 ms with 1 % loss each way: a window-bound download moved 1 MiB
	 * per 330 ms and 8 MiB per 380 ms (6.6-7.6 round trips). The old
	 * factor (2.25: 5.6 round trips) held the first at 1 MiB; now both
	 * grow, up to about 11 round trips per window */
	CHECK(flow_window_short(1 * MIB, 1 * MIB / 0.33, 0.05, 1));
	CHECK(flow_window_short(8 * MIB, 8 * MIB / 0.38, 0.05, 1));
	CHECK(flow_window_short(2 * MIB, 2 * MIB / 0.55, 0.05, 1));
	/* ... but not a flow that moves its window once in 0.6 s or slower
	 * (a slow source, a busy reader: more window would only queue) */
	CHECK(!flow_window_short(2 * MIB, 2 * MIB / 0.6, 0.05, 1));
	CHECK(!flow_window_short(1 * MIB, 1 * MIB / 0.33, 0.05, 0));

	/* a short window doubles, on a lossy path it grows fourfold (a
	 * window-bound flow there moves one window per 4-8 round trips):
	 * never past max-window */
	CHECK(flow_window_grown(256 * KIB, 8 * MIB, 0) == 512 * KIB);
	CHECK(flow_window_grown(256 * KIB, 8 * MIB, 1) == 1 * MIB);
	CHECK(flow_window_grown(4 * MIB, 8 * MIB, 1) == 8 * MIB);
	CHECK(flow_window_grown(6 * MIB, 8 * MIB, 0) == 8 * MIB);
	CHECK(flow_window_grown(3u << 30, 0xffffffffu, 1) == 0xffffffffu);

	/* no rate measured yet: no growth */
	CHECK(!flow_window_short(256 * KIB, 0, 0.05, 1));
	return test_summary("flow_window");
}
