/* Bytes a tunnel's streams move, by kind, for the owner of the tunnel
 * (the server's per-client accounting). Counted where the bytes cross
 * a socket, so a quota is checked at the byte, not at the next look:
 * once `left` is used up, over() is called on every further add. over()
 * runs inside a flow's or an association's callback: it must only
 * schedule what it does (never close streams there). */
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
	uint64_t bytes[METER_KINDS];
	uint64_t left; /* before over(); UINT64_MAX: no limit */
	void (*over)(struct meter *m);
};

static inline void meter_add(struct meter *m, enum meter_kind k, size_t n)
{
	if (!m || !n)
		return;
	m->bytes[k] += n;
	if (m->left > n) {
		m->left -= n;
		return;
	}
	m->left = 0;
	if (m->over)
		m->over(m);
}

#endif
