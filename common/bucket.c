#include "bucket.h"

#include "util.h"

/* Tunnels of one client on several server workers share its buckets:
 * a few arithmetic steps under a spin lock (0: free, so a zeroed
 * bucket is ready). */
static void lock(struct bucket *b)
{
	while (__atomic_test_and_set(&b->lock, __ATOMIC_ACQUIRE))
		;
}

static void unlock(struct bucket *b)
{
	__atomic_clear(&b->lock, __ATOMIC_RELEASE);
}

static void refill(struct bucket *b, double now)
{
	if (now > b->at) {
		b->tokens = MIN(b->burst, b->tokens + (now - b->at) * b->rate);
		b->at = now;
	}
}

void bucket_set(struct bucket *b, double rate, double now)
{
	lock(b);
	if (b->rate > 0)
		refill(b, now);
	else
		b->tokens =
			0; /* a new cap starts empty: no burst of a second */
	b->rate = rate;
	b->burst = MAX(rate / 8, BUCKET_BURST_MIN);
	b->tokens = MIN(b->tokens, b->burst);
	b->at = now;
	unlock(b);
}

void bucket_take(struct bucket *b, size_t n)
{
	if (!b || b->rate <= 0)
		return;
	lock(b);
	b->tokens -= (double)n;
	unlock(b);
}

double bucket_wait(struct bucket *b, double now)
{
	double wait;

	if (!b || b->rate <= 0)
		return 0;
	lock(b);
	refill(b, now);
	wait = b->tokens > 0 ? 0 : -b->tokens / b->rate + 1e-3;
	unlock(b);
	return wait;
}
