/* The distinct destinations (address and port) one UDP association sent
 * to within udp-timeout, so that max-udp-peers can cap them: a UDP scan
 * through one association must not turn the server into a scanner of
 * unbounded reach. Only what is sent counts; replies are not looked at.
 * Pure bookkeeping: the caller passes the time. */
#ifndef PROXY_SERVER_UDP_PEERS_H
#define PROXY_SERVER_UDP_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct udp_peers {
	uint64_t *keys;      /* hash of address + port; 0: empty slot */
	uint32_t *ticks;     /* last send, in tenths of a second */
	size_t cap, used;    /* slots, and slots holding a key (live or
				* expired) */
	size_t max, max_cap; /* max-udp-peers, and the slots it needs */
	uint32_t ttl;        /* udp-timeout, in ticks */
	double epoch;        /* time of tick 0 */
	double last_clean;   /* when a full table last dropped expired keys */
	uint64_t seed;
};

/* Nothing is allocated before the first destination. */
void udp_peers_init(struct udp_peers *p, size_t max, double ttl, double now);
/* A datagram is about to go to dst: 0 when it may (dst is known, or was
 * room for it and is now remembered), -1 when max destinations were
 * sent to within ttl and dst is not one of them. */
int udp_peers_use(struct udp_peers *p, const struct sockaddr *dst, double now);
void udp_peers_free(struct udp_peers *p);

#endif
