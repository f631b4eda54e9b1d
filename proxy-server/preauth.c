#include "preauth.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../common/util.h"

/* An IPv4 address (IPv4-mapped IPv6 counts as IPv4) or an IPv6 /64:
 * one host, or one customer of a provider that hands out /64s. */
struct preauth_source {
	uint8_t key[16];
	unsigned count; /* 0: the entry is free */
};

static void source_key(const struct sockaddr *sa, uint8_t key[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(key, mapped, sizeof(mapped));
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr,
		       4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a =
			((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		memcpy(key, a, memcmp(a, mapped, sizeof(mapped)) ? 8 : 16);
	}
}

/* xorshift64*: the drop decision needs to be unpredictable to a flood,
 * not cryptographic. */
static unsigned next_percent(struct preauth *p)
{
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	return (unsigned)((p->rng * 0x2545F4914F6CDD1DULL) >> 32) % 100;
}

void preauth_init(struct preauth *p, const struct preauth_limits *lim,
		  uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->lim = *lim;
	p->lim.full = MAX(p->lim.full, 1u);
	p->lim.start = MIN(p->lim.start, p->lim.full);
	p->lim.rate = MIN(p->lim.rate, 100u);
	p->lim.per_source = MAX(p->lim.per_source, 1u);
	p->tail = &p->head;
	p->src = xcalloc(p->lim.full, sizeof(*p->src));
	if (!seed &&
	    getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uintptr_t)p;
	p->rng = seed ? seed : 1;
}

void preauth_free(struct preauth *p)
{
	free(p->src);
	p->src = NULL;
}

/* The entry of key, or a free one (count 0) when it has none. */
static unsigned find_source(const struct preauth *p, const uint8_t key[16])
{
	unsigned i, free_one = p->lim.full;

	for (i = 0; i < p->lim.full; i++) {
		if (!p->src[i].count) {
			if (free_one == p->lim.full)
				free_one = i;
		} else if (!memcmp(p->src[i].key, key, 16)) {
			return i;
		}
	}
	return free_one;
}

/* The oldest handshake of a source holding the most. */
static struct preauth_slot *victim(const struct preauth *p)
{
	unsigned i, most = 0;
	struct preauth_slot *s;

	for (i = 0; i < p->lim.full; i++)
		most = MAX(most, p->src[i].count);
	for (s = p->head; s; s = s->next)
		if (p->src[s->src].count == most)
			return s;
	return p->head;
}

int preauth_enter(struct preauth *p, struct preauth_slot *s,
		  const struct sockaddr *sa, preauth_evict_fn evict)
{
	uint8_t key[16];
	unsigned i;

	source_key(sa, key);
	i = find_source(p, key);
	if (i < p->lim.full && p->src[i].count) {
		unsigned span = p->lim.full - p->lim.start;

		if (p->src[i].count >= p->lim.per_source) {
			p->refused_source++;
			return PREAUTH_SOURCE;
		}
		if (p->n >= p->lim.full ||
		    (p->n >= p->lim.start &&
		     next_percent(p) <
			     p->lim.rate + (100 - p->lim.rate) *
						   (p->n - p->lim.start) /
						   MAX(span, 1u))) {
			p->refused_early++;
			return PREAUTH_EARLY;
		}
	} else if (p->n >= p->lim.full) {
		struct preauth_slot *v = victim(p);

		p->evicted++;
		v->evict(v); /* leaves (and frees v), which may free an entry */
		if (p->n >= p->lim.full)
			return PREAUTH_EARLY; /* an evict() that did not leave */
		i = find_source(p, key);
	}
	/* n < full here, so there are fewer than full sources: i is valid */
	memcpy(p->src[i].key, key, 16);
	p->src[i].count++;
	s->src = i;
	s->evict = evict;
	s->in = 1;
	s->next = NULL;
	s->pprev = p->tail;
	*p->tail = s;
	p->tail = &s->next;
	p->n++;
	return PREAUTH_OK;
}

void preauth_leave(struct preauth *p, struct preauth_slot *s)
{
	if (!s->in)
		return;
	s->in = 0;
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	else
		p->tail = s->pprev;
	p->src[s->src].count--;
	p->n--;
}

const char *preauth_strerror(int rc)
{
	switch (rc) {
	case PREAUTH_OK:
		return "admitted";
	case PREAUTH_SOURCE:
		return "too many handshakes from this address";
	case PREAUTH_EARLY:
		return "too many handshakes in progress";
	}
	return "unknown";
}
