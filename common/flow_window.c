/* A flow's receive window: when the credit it owes the peer goes back
 * (a WINDOW frame once half the window reached the socket), and how the
 * window grows with the flow's delivery rate and the path's round trip.
 * A file of its own because it is the one place that decides how fast
 * a flow may go; the relay in flow.c only counts what it delivered.
 * Moved out of flow.c as is. */
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "flow_window.h"
#include "util.h"

/* Below this a round trip is mostly scheduling noise. */
#define MIN_RTT_FLOOR 0.0001
/* A flow held back by its window moves one window per one to two round
 * trips: two when the sender paces its packets over the round trip, as
 * BBR does with a flow that cannot fill the path. The window doubles
 * while it holds fewer round trips of data than this, so that it grows
 * in the paced case too (at 2 exactly it grew only when noise helped:
 * 256 KiB over 100 ms moved 5.5 MB/s), while on a 0.1 ms path it stays
 * at 256 KiB up to 1 GB/s. */
#define WINDOW_RTTS 2.5
/* On a path that loses segments, every byte behind a hole waits for its
 * retransmission: the sender's RACK waits a quarter round trip past the
 * hole, then the segment needs a one-way trip, so data reaches the
 * socket up to about 1.25 round trips late, and its credit comes back
 * that much later. And the tunnel's BBR, having seen the flow no faster
 * than its window let it go, paces the next window over most of a round
 * trip. A flow held back by its window then moves one window per 4-8
 * path round trips (1 % loss each way over 50 ms: 1 MiB per 330 ms,
 * 8 MiB per 380 ms, read from the client's status): counting the round
 * trip 2.25 times (5.6 of them for the window) left growth to chance,
 * and one download sat at 1-2 MiB, 3-7 MB/s, for 3 s. The window then
 * counts the round trip this many times (11 round trips). */
#define LOSSY_RTT_FACTOR 4.5
/* How many times over a window grows at once when it is short: twice,
 * as TCP's slow start; on a lossy path four times. There a window-bound
 * flow moves one window per 4-8 round trips (above), so doubling took a
 * download from 256 KiB to 8 MiB in 1-2.5 s at 1 % loss over 50 ms. All
 * that while the tunnel's BBR saw the flow no faster than its window let
 * it go (samples "application-limited"), which keeps BBR in its start-up:
 * pacing at 2.89 times the rate, its queue at the bottleneck 80 ms deep
 * for a UDP packet beside it, where a plain TCP download left start-up
 * after 0.5 s. */
#define GROWTH 2
#define LOSSY_GROWTH 4
/* Delivery rate, measured over at least RATE_SPAN and a few round
 * trips: a shorter look sees the bursts of our own write()s, not the
 * path. */
#define RATE_SPAN 0.01

static void measure_rate(struct flow *f, ev_tstamp now, ev_tstamp rtt)
{
	ev_tstamp span = now - f->rate_since;

	f->rate_bytes += f->delivered;
	if (span < MAX(RATE_SPAN, 4 * rtt))
		return;
	f->rate = (double)f->rate_bytes / span;
	f->rate_bytes = 0;
	f->rate_since = now;
}

int flow_window_short(uint32_t window, double rate, double rtt, int lossy)
{
	rtt = MAX(rtt, MIN_RTT_FLOOR);
	if (lossy)
		rtt *= LOSSY_RTT_FACTOR;
	return rate > 0 && window < WINDOW_RTTS * rate * rtt;
}

uint32_t flow_window_grown(uint32_t window, uint32_t max, int lossy)
{
	uint64_t w = (uint64_t)window * (lossy ? LOSSY_GROWTH : GROWTH);

	return w > max ? max : (uint32_t)w;
}

/* Whether the kernel holds more than half a window of our writes unsent:
 * the socket's reader (or its path) then limits the flow, not the
 * window, though the bytes a send buffer soaks up at first count as
 * delivered (to a slow reader, megabytes of them). */
static int socket_backlogged(const struct flow *f)
{
	int unsent;

	return ioctl(f->fd, SIOCOUTQNSD, &unsent) == 0 &&
	       (uint32_t)unsent > f->window / 2;
}

/* Return credit once half the window reached the socket. The window
 * grows (doubles, or more on a lossy path; up to max-window) while it holds less than WINDOW_RTTS
 * round trips of data at the rate the flow is delivered: then it is
 * what limits the flow, as on a long path. A flow limited by something
 * else (a slow reader, a busy CPU) keeps its window, since a bigger one
 * would only queue more bytes of it in the tunnel, ahead of every other
 * flow's frames. The round trip is the path's minimum (one measured
 * behind our own queue would grow the window, which grows the queue),
 * and never taken below MIN_RTT_FLOOR: scheduling noise on a busy host. */
void flow_maybe_window(struct flow *f)
{
	struct tunnel *t = f->s.t;
	const struct tunnel_params *p;
	uint32_t incr;
	uint8_t b[FRAME_HDR_LEN + 8];
	ev_tstamp now, rtt;
	int n, lossy;

	if (!t || f->delivered < f->window / 2 || f->fin_rcvd ||
	    tunnel_in_held(t))
		return; /* held: the unthrottled op comes back here */
	p = tunnel_params(t);
	now = ev_now(f->loop);
	rtt = MAX(tunnel_min_rtt(t), MIN_RTT_FLOOR);
	measure_rate(f, now, rtt);
	incr = f->delivered;
	lossy = tunnel_path_lossy(t);
	if (f->window < p->max_window &&
	    flow_window_short(f->window, f->rate, rtt, lossy) &&
	    !socket_backlogged(f)) {
		uint32_t grown = flow_window_grown(f->window, p->max_window,
						   lossy);

		incr += grown - f->window;
		f->window = grown;
		f->rate = 0; /* judge the new window on its own rate */
		f->rate_bytes = 0;
		f->rate_since = now;
	}
	f->delivered = 0;
	f->rcv_avail += incr;
	/* between resuming peers the credit is an acknowledgement too */
	n = f->resumable ? frame_window_ack(b, sizeof(b), f->s.id, incr,
					    (uint32_t)f->rcvd) :
			   frame_window(b, sizeof(b), f->s.id, incr);
	tunnel_send(t, b, (size_t)n);
}
