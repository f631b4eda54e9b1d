/* Connections that have not authenticated yet get a budget of their own,
 * apart from max-tunnels, so that a flood of silent or stalled handshakes
 * cannot lock real clients out (OpenSSH's MaxStartups, made per source):
 *
 * - one source (an IPv4 address, an IPv6 /64) holds at most per_source;
 * - below start, everyone else is admitted; from start on, a source that
 *   already holds a handshake is refused with a probability rising from
 *   rate percent to 100 at full (random early drop);
 * - a source holding none is always admitted: when the budget is full,
 *   the oldest handshake of the source holding the most is evicted for
 *   it. A flood from a few addresses therefore crowds out only itself.
 *
 * Pure bookkeeping: the caller owns the connections and closes the one
 * evict() names. */
#ifndef PROXY_SERVER_PREAUTH_H
#define PROXY_SERVER_PREAUTH_H

#include <stdint.h>
#include <sys/socket.h>

struct preauth_limits {
	unsigned start;      /* admitted freely below this many */
	unsigned rate;       /* percent refused at start (0-100) */
	unsigned full;       /* the budget */
	unsigned per_source; /* from one IPv4 address or IPv6 /64 */
};

struct preauth_slot;
typedef void (*preauth_evict_fn)(struct preauth_slot *s);

/* Embedded in the caller's connection object. */
struct preauth_slot {
	struct preauth_slot *next, **pprev; /* oldest first */
	preauth_evict_fn evict;             /* closes the connection; must call
				  * preauth_leave() (it may free the slot) */
	unsigned src; /* index into the table of sources */
	int in;
};

struct preauth_source;

struct preauth {
	struct preauth_limits lim;
	struct preauth_slot *head, **tail;
	unsigned n;
	struct preauth_source *src; /* lim.full entries */
	uint64_t rng;
	/* what was refused, for status */
	uint64_t refused_source, refused_early, evicted;
};

enum {
	PREAUTH_OK = 0,
	PREAUTH_SOURCE = -1, /* the source holds per_source already */
	PREAUTH_EARLY = -2,  /* random early drop */
};

/* lim->full >= 1, start <= full; seed 0 takes one from the kernel. */
void preauth_init(struct preauth *p, const struct preauth_limits *lim,
		  uint64_t seed);
void preauth_free(struct preauth *p);
/* Admits s for a connection from sa (PREAUTH_OK), possibly evicting an
 * older one first, or refuses it (s is not entered). */
int preauth_enter(struct preauth *p, struct preauth_slot *s,
		  const struct sockaddr *sa, preauth_evict_fn evict);
/* The connection authenticated or ended. Idempotent. */
void preauth_leave(struct preauth *p, struct preauth_slot *s);
const char *preauth_strerror(int rc);

#endif
