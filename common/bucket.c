#include "bucket.h"

#include "util.h"

static void refill(struct bucket *b, double now)
{
	if (now > b->at) {
		b->tokens = MIN(b->burst, b->tokens + (now - b->at) * b->rate);
		b->at = now;
	}
}

void bucket_set(struct bucket *b, double rate, double now)
{
	if (b->rate > 0)
		refill(b, now);
	else
		b->tokens =
			0; /* a new cap starts empty: no burst of a second */
	b->rate = rate;
	b->burst = MAX(rate / 8, BUCKET_BURST_MIN);
	b->tokens = MIN(b->tokens, b->burst);
	b->at = now;
}

void bucket_take(struct bucket *b, size_t n)
{
	if (b && b->rate > 0)
		b->tokens -= (double)n;
}

double bucket_wait(struct bucket *b, double now)
{
	if (!b || b->rate <= 0)
		return 0;
	refill(b, now);
	return b->tokens > 0 ? 0 : -b->tokens / b->rate + 1e-3;
}
