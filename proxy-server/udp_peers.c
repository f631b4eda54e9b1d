/* Open addressing with linear probing over seeded 64-bit hashes of the
 * destination. A key not sent to within ttl stays in its slot, where a
 * new key passing by may take it over, until the table is rebuilt: when
 * it grows, and when it is full, but then at most once a second, so a
 * flood of new destinations at the cap costs one probe each and not one
 * rebuild each. The load stays at or below 3/4, so every probe ends at
 * an empty slot. Two distinct destinations whose hashes collide count
 * as one: the cap may let one more through, never one fewer. */
#include "udp_peers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../common/addr.h"
#include "../common/util.h"

#define TICKS_PER_S 10.0
#define FIRST_CAP 16
#define CLEAN_INTERVAL 1.0

/* Keys a table of cap slots may hold: always at least one slot less. */
static size_t room(size_t cap)
{
	return cap * 3 / 4;
}

static int full(const struct udp_peers *p)
{
	return p->used >= p->max || p->used >= room(p->cap);
}

static uint32_t tick(const struct udp_peers *p, double now)
{
	double d = now - p->epoch;

	/* a wall clock set back must not become a huge unsigned */
	return d > 0 ? (uint32_t)(uint64_t)(d * TICKS_PER_S) : 0;
}

static int expired(const struct udp_peers *p, size_t i, uint32_t t)
{
	return (uint32_t)(t - p->ticks[i]) >= p->ttl;
}

/* FNV-1a over type, port and address, then a finalizer: the slot comes
 * from the low bits, which FNV alone mixes poorly. The seed keeps a
 * client from choosing destinations that all land in one run. */
static uint64_t hash_dst(const struct udp_peers *p, const struct sockaddr *sa)
{
	uint64_t h = p->seed ^ 0xcbf29ce484222325ull;
	uint8_t b[3 + 16];
	struct addr a;

	addr_from_sockaddr(&a, sa); /* v4-mapped is v4; zero after v4 */
	b[0] = a.type;
	put_be16(b + 1, a.port);
	memcpy(b + 3, a.u.v6, 16);
	for (size_t i = 0; i < sizeof(b); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

/* Into a table of cap slots, keeping the keys still live at tick t. */
static void rebuild(struct udp_peers *p, size_t cap, uint32_t t)
{
	uint64_t *keys = xcalloc(cap, sizeof(*keys) + sizeof(*p->ticks));
	uint32_t *ticks = (uint32_t *)(keys + cap);
	size_t used = 0, j;

	for (size_t i = 0; i < p->cap; i++) {
		if (!p->keys[i] || expired(p, i, t))
			continue;
		for (j = p->keys[i] & (cap - 1); keys[j];
		     j = (j + 1) & (cap - 1))
			;
		keys[j] = p->keys[i];
		ticks[j] = p->ticks[i];
		used++;
	}
	free(p->keys);
	p->keys = keys;
	p->ticks = ticks;
	p->cap = cap;
	p->used = used;
}

/* The slot of key; else an expired slot on its run, to take over; else
 * the empty slot that ends the run. */
static size_t probe(const struct udp_peers *p, uint64_t key, uint32_t t)
{
	size_t mask = p->cap - 1, spare = p->cap, i;

	for (i = key & mask; p->keys[i]; i = (i + 1) & mask) {
		if (p->keys[i] == key)
			return i;
		if (spare == p->cap && expired(p, i, t))
			spare = i;
	}
	return spare < p->cap ? spare : i;
}

void udp_peers_init(struct udp_peers *p, size_t max, double ttl, double now)
{
	memset(p, 0, sizeof(*p));
	p->max = max ? max : 1;
	p->max_cap = 2;
	while (room(p->max_cap) < p->max)
		p->max_cap *= 2;
	p->ttl = (uint32_t)(ttl * TICKS_PER_S + 0.999);
	if (!p->ttl)
		p->ttl = 1;
	p->epoch = now;
	p->last_clean = now - CLEAN_INTERVAL;
	if (getrandom(&p->seed, sizeof(p->seed), GRND_NONBLOCK) !=
	    sizeof(p->seed))
		p->seed = (uint64_t)(uintptr_t)p ^ (uint64_t)time(NULL);
}

int udp_peers_use(struct udp_peers *p, const struct sockaddr *dst, double now)
{
	uint64_t key = hash_dst(p, dst);
	uint32_t t = tick(p, now);
	size_t i;

	if (!p->keys)
		rebuild(p, MIN(FIRST_CAP, p->max_cap), t);
	for (;;) {
		i = probe(p, key, t);
		if (p->keys[i] || !full(p))
			break;
		if (p->cap < p->max_cap) {
			rebuild(p, p->cap * 2, t);
		} else if (now - p->last_clean >= CLEAN_INTERVAL ||
			   now < p->last_clean) {
			p->last_clean = now;
			rebuild(p, p->cap, t);
			if (full(p))
				return -1;
		} else {
			return -1;
		}
	}
	if (!p->keys[i])
		p->used++;
	p->keys[i] = key;
	p->ticks[i] = t;
	return 0;
}

void udp_peers_free(struct udp_peers *p)
{
	free(p->keys);
	memset(p, 0, sizeof(*p));
}
