/* The tunnel's PINGs: trains of them for round-trip samples (rtt.c),
 * the PONG that answers the peer's, and, on the client, stall
 * detection: a frame that wants an answer is followed by a PING, and
 * silence past stall-timeout while its PONG is due makes the tunnel
 * suspect (stall.c holds the arithmetic, this file the timer). A file
 * of its own because it is the tunnel's one clock besides keepalive:
 * what it sends and when. Moved out of tunnel.c as is. */
#include <string.h>

#include "log.h"
#include "tunnel_int.h"
#include "util.h"

/* A ping whose round trip crossed more than this of other traffic in
 * either direction may have waited behind it: not a quiet sample. */
#define QUIET_BYTES (16u << 10)
/* Pings go in trains of this many, each sent when the last one's PONG
 * came: the first wakes both hosts' idle CPUs (on a short path that
 * can take several times the path's round trip), the rest see the path
 * with both ends awake, as the credit loop of a busy flow does. */
#define PING_TRAIN 4

void ping_send(struct tunnel *t, uint8_t type, const uint8_t op[8])
{
	uint8_t f[FRAME_HDR_LEN + 8];
	int n = frame_ping(f, sizeof(f), type, op);

	out_queue_ctl(t, f, (size_t)n);
}

/* ---- stall detection (client) ---- */

static ev_tstamp stall_limit(const struct tunnel *t)
{
	return stall_timeout(t->p.stall_timeout, t->rtt.srtt);
}

static void stall_arm(struct tunnel *t, ev_tstamp after)
{
	ev_timer_stop(t->loop, &t->stall_tm);
	ev_timer_set(&t->stall_tm, MAX(after, 0.001), 0.);
	ev_timer_start(t->loop, &t->stall_tm);
}

/* A PING went out: silence counts from now unless it already does. The
 * check is set for stall-timeout from when the silence began, whatever
 * the timer was set for before (a probe, or an older PING's check): a
 * check left for later let a full run see a stall 4 s into a silence
 * with a stall-timeout of 2 s. */
static void stall_waits(struct tunnel *t)
{
	int counting = t->stall.since != 0;

	if (!t->p.stall_timeout)
		return;
	stall_wait(&t->stall, ev_now(t->loop));
	if (!counting || !ev_is_active(&t->stall_tm))
		stall_arm(t, stall_left(&t->stall, ev_now(t->loop),
					stall_limit(t)));
}

/* Bytes came in; answered: among them the PONG of our latest PING. */
void stall_hears(struct tunnel *t, int answered)
{
	if (!t->p.stall_timeout)
		return;
	if (stall_heard(&t->stall, ev_now(t->loop), answered)) {
		log_info("%s: heard from the server again", t->name);
		if (t->ops->stalled)
			t->ops->stalled(t, 0);
	}
	/* still waiting for the PONG: the silence counts from here on */
	if (stall_watching(&t->stall))
		stall_arm(t, stall_limit(t));
}

/* Held back probes go out a quarter stall-timeout after the last PING:
 * a busy tunnel costs a few PINGs a second at most, an idle one none
 * beyond keepalive. */
#define PROBE_SHARE 0.25

static void ping(struct tunnel *t);

void stall_probe(struct tunnel *t)
{
	ev_tstamp gap;

	if (!t->p.stall_timeout || t->state != T_UP || t->stall.since)
		return;
	gap = stall_limit(t) * PROBE_SHARE - (ev_now(t->loop) - t->ping_sent);
	if (gap <= 0) {
		ping(t);
		return;
	}
	if (t->probe_due)
		return; /* the timer fires for it within the gap already */
	t->probe_due = 1;
	/* the timer may be set for a later stall check of an answered
	 * PING: the probe must not wait for that */
	if (!ev_is_active(&t->stall_tm) ||
	    ev_timer_remaining(t->loop, &t->stall_tm) > gap)
		stall_arm(t, gap);
}

static void stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, stall_tm);
	ev_tstamp now = ev_now(loop), limit = stall_limit(t), left;

	if (t->state != T_UP)
		return;
	if (stall_check(&t->stall, now, limit)) {
		log_warn("%s: no answer from the server for %.1f s "
			 "(stall-timeout %.1f s): suspect",
			 t->name, now - t->stall.since, limit);
		if (t->ops->stalled)
			t->ops->stalled(t, 1);
		return; /* until heard from again */
	}
	if (stall_watching(&t->stall)) {
		stall_arm(t, stall_left(&t->stall, now, limit));
		return;
	}
	if (t->probe_due && !t->stall.suspect) {
		left = limit * PROBE_SHARE - (now - t->ping_sent);
		if (left > 0.001) {
			stall_arm(t, left);
			return;
		}
		t->probe_due = 0;
		ping(t);
	}
}

static void ping(struct tunnel *t)
{
	uint8_t op[8];
	ev_tstamp now = ev_time();

	memcpy(op, &now, sizeof(op));
	t->ping_sent = now;
	t->ping_mark = t->tx_bytes + t->rx_bytes;
	t->probe_due = 0; /* any PING is the probe */
	ping_send(t, FRAME_PING, op);
	stall_waits(t);
}

void ping_train(struct tunnel *t)
{
	t->train_left = PING_TRAIN - 1;
	ping(t);
}

void ping_got_pong(struct tunnel *t, const struct frame *f)
{
	ev_tstamp sent, rtt, now = ev_time();
	int last; /* the answer to our latest PING */

	memcpy(&sent, f->payload, sizeof(sent));
	rtt = now - sent;
	if (rtt < 0 || rtt > 600)
		return; /* not one of ours */
	last = sent == t->ping_sent;
	if (last)
		stall_hears(t, 1);
	rtt_sample(&t->rtt, rtt, now,
		   last && t->tx_bytes + t->rx_bytes - t->ping_mark <=
				   QUIET_BYTES);
	if (last && t->train_left > 0) {
		t->train_left--;
		ping(t);
	}
}

void ping_init(struct tunnel *t)
{
	ev_init(&t->stall_tm, stall_cb);
}
