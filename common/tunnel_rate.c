/* A tunnel's rate caps: two token buckets (bucket.h) its owner shares
 * among its tunnels, one for what the streams send, one for what they
 * take in. Nothing here polls: a held direction arms one timer for the
 * moment its bucket has room again, and that timer gives the held
 * streams their turn (those waiting for room in the data queue, and
 * those holding back credit). */
#include "bucket.h"
#include "tunnel_int.h"
#include "util.h"

static void arm(struct tunnel *t, double wait)
{
	if (ev_is_active(&t->rate_tm))
		return; /* its callback looks at both caps again */
	ev_timer_set(&t->rate_tm, wait, 0.);
	ev_timer_start(t->loop, &t->rate_tm);
}

static void unthrottle_one(void *val, void *arg)
{
	struct stream *s = val;

	if (s->ops->unthrottled)
		s->ops->unthrottled(s);
}

static void rate_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, rate_tm);

	double wait;

	if (t->state != T_UP)
		return;
	if (t->in_held) {
		wait = bucket_wait(t->rate_in, ev_now(loop));
		if (wait > 0) {
			arm(t, wait);
		} else {
			t->in_held = 0;
			/* sends WINDOW frames only: the map stays as is */
			idmap_each(&t->streams, unthrottle_one, NULL);
		}
	}
	if (t->wait_head)
		out_wake(t); /* one still held arms the timer again */
}

void rate_init(struct tunnel *t)
{
	ev_init(&t->rate_tm, rate_cb);
}

void rate_stop(struct tunnel *t)
{
	ev_timer_stop(t->loop, &t->rate_tm);
}

void tunnel_set_rates(struct tunnel *t, struct bucket *out, struct bucket *in)
{
	t->rate_out = out;
	t->rate_in = in;
}

int rate_out_held(struct tunnel *t)
{
	double wait = bucket_wait(t->rate_out, ev_now(t->loop));

	if (wait > 0)
		arm(t, wait);
	return wait > 0;
}

void rate_out_count(struct tunnel *t, size_t n)
{
	bucket_take(t->rate_out, n);
}

void tunnel_in_count(struct tunnel *t, size_t n)
{
	if (t)
		bucket_take(t->rate_in, n);
}

int tunnel_in_held(struct tunnel *t)
{
	double wait;

	if (!t || !t->rate_in)
		return 0;
	wait = bucket_wait(t->rate_in, ev_now(t->loop));
	if (wait > 0) {
		t->in_held = 1;
		arm(t, wait);
	}
	return wait > 0;
}
