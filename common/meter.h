/* Bytes a tunnel's streams move, by kind, for the owner of the tunnel
 * (the server's per-client accounting). Counted where the bytes cross
 * a socket, so a quota is checked at the byte, not at the next look:
 * once `limit` is reached, over() is called on every further add. over()
 * runs inside a flow's or an association's callback: it must only
 * schedule what it does (never close streams there). The tunnels of a
 * meter may run in several threads (the server's workers): counts and
 * `limit` change atomically, and over() may be called from any of them
 * (and again while it runs in another). */
#ifndef COMMON_METER_H
#define COMMON_METER_H

#include <stddef.h>
#include <stdint.h>

enum meter_kind {
	METER_TCP_UP,   /* toward the destination */
	METER_TCP_DOWN, /* back toward the client */
	METER_UDP_UP,
	METER_UDP_DOWN,
	METER_KINDS
};

struct meter {
	uint64_t bytes[METER_KINDS]; /* read with meter_get() */
	/* over() once all kinds together reach this (an absolute count,
	 * so setting it races with no add); UINT64_MAX: no limit. Set
	 * with meter_set_limit(). */
	uint64_t limit;
	void (*over)(struct meter *m);
};

static inline uint64_t meter_get(const struct meter *m, enum meter_kind k)
{
	return __atomic_load_n(&m->bytes[k], __ATOMIC_RELAXED);
}

static inline uint64_t meter_total(const struct meter *m)
{
	uint64_t t = 0;

	for (int k = 0; k < METER_KINDS; k++)
		t += meter_get(m, (enum meter_kind)k);
	return t;
}

static inline void meter_set_limit(struct meter *m, uint64_t limit)
{
	__atomic_store_n(&m->limit, limit, __ATOMIC_RELAXED);
}

static inline void meter_add(struct meter *m, enum meter_kind k, size_t n)
{
	uint64_t lim;

	if (!m || !n)
		return;
	__atomic_fetch_add(&m->bytes[k], n, __ATOMIC_RELAXED);
	lim = __atomic_load_n(&m->limit, __ATOMIC_RELAXED);
	/* the counts only grow: a sum read while others add is at least
	 * what it was before this add */
	if (lim != UINT64_MAX && meter_total(m) >= lim && m->over)
		m->over(m);
}

#endif
