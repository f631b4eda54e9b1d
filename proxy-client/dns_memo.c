/* The memory of the DNS forwarder's answers (dns_memo.h): a chained hash
 * table over one array of entries, linked oldest to newest for eviction.
 * Links are array indices + 1 (0: none), so the array may move when it
 * grows. */
#include "dns_memo.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../common/util.h"

#define FIRST_ALLOC 64u

struct entry {
	uint8_t addr[16]; /* IPv6, or IPv4-mapped */
	uint32_t rule;
	uint32_t hnext;        /* chain, or free list */
	uint32_t older, newer; /* in use only */
	double expires;
};

struct dns_memo {
	struct entry *e;
	uint32_t max, alloc, used; /* e[0..used) were handed out once */
	uint32_t count, free;      /* free: a list through hnext */
	uint32_t oldest, newest;
	uint32_t *bucket;
	uint32_t mask;
	uint64_t seed;
};

/* Live entries are at most DNS_MEMO_ENTRY_BYTES with their bucket. */
_Static_assert(sizeof(struct entry) + 2 * sizeof(uint32_t) <=
		       DNS_MEMO_ENTRY_BYTES,
	       "DNS_MEMO_ENTRY_BYTES");

struct dns_memo *dns_memo_new(uint32_t max)
{
	struct dns_memo *m = xcalloc(1, sizeof(*m));
	uint32_t n = 1;

	m->max = max < DNS_MEMO_MAX ? max : DNS_MEMO_MAX;
	if (!m->max)
		return m;
	while (n < m->max)
		n *= 2;
	m->mask = n - 1;
	m->bucket = xcalloc(n, sizeof(*m->bucket));
	if (getrandom(&m->seed, sizeof(m->seed), 0) != sizeof(m->seed))
		m->seed = (uint64_t)random() << 32 ^ (uint64_t)random();
	return m;
}

void dns_memo_free(struct dns_memo *m)
{
	if (!m)
		return;
	free(m->e);
	free(m->bucket);
	free(m);
}

/* The key of sa: 16 bytes, an IPv4 address in its mapped form. 0, or -1
 * for a family that has no address. */
static int key_of(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa->sa_family == AF_INET) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr,
		       4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static uint32_t hash_of(const struct dns_memo *m, const uint8_t key[16])
{
	uint64_t a, b, h = m->seed;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	h = (h ^ a) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h & m->mask;
}

static struct entry *at(const struct dns_memo *m, uint32_t i)
{
	return &m->e[i - 1];
}

static void age_unlink(struct dns_memo *m, uint32_t i)
{
	struct entry *e = at(m, i);

	if (e->older)
		at(m, e->older)->newer = e->newer;
	else
		m->oldest = e->newer;
	if (e->newer)
		at(m, e->newer)->older = e->older;
	else
		m->newest = e->older;
}

static void age_append(struct dns_memo *m, uint32_t i)
{
	struct entry *e = at(m, i);

	e->older = m->newest;
	e->newer = 0;
	if (m->newest)
		at(m, m->newest)->newer = i;
	else
		m->oldest = i;
	m->newest = i;
}

/* Entry i out of its chain and the age list, onto the free list. */
static void drop(struct dns_memo *m, uint32_t i)
{
	struct entry *e = at(m, i);
	uint32_t *pp = &m->bucket[hash_of(m, e->addr)];

	while (*pp != i)
		pp = &at(m, *pp)->hnext;
	*pp = e->hnext;
	age_unlink(m, i);
	e->hnext = m->free;
	m->free = i;
	m->count--;
}

static uint32_t find(const struct dns_memo *m, const uint8_t key[16])
{
	uint32_t i;

	for (i = m->bucket[hash_of(m, key)]; i; i = at(m, i)->hnext)
		if (!memcmp(at(m, i)->addr, key, 16))
			return i;
	return 0;
}

/* A slot for a new entry: a free one, a fresh one, or the oldest. */
static uint32_t take_slot(struct dns_memo *m)
{
	uint32_t i;

	if (m->count == m->max)
		drop(m, m->oldest);
	if (m->free) {
		i = m->free;
		m->free = at(m, i)->hnext;
		return i;
	}
	if (m->used == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : FIRST_ALLOC;
		if (m->alloc > m->max)
			m->alloc = m->max;
		m->e = xrealloc(m->e, (size_t)m->alloc * sizeof(*m->e));
	}
	return ++m->used;
}

void dns_memo_put(struct dns_memo *m, const struct sockaddr *sa, uint32_t rule,
		  double expires)
{
	uint8_t key[16];
	uint32_t i, h;
	struct entry *e;

	if (!m->max || key_of(sa, key))
		return;
	i = find(m, key);
	if (i) {
		age_unlink(m, i);
	} else {
		i = take_slot(m);
		h = hash_of(m, key);
		e = at(m, i);
		memcpy(e->addr, key, 16);
		e->hnext = m->bucket[h];
		m->bucket[h] = i;
		m->count++;
	}
	e = at(m, i);
	e->rule = rule;
	e->expires = expires;
	age_append(m, i);
}

int dns_memo_get(struct dns_memo *m, const struct sockaddr *sa, double now,
		 uint32_t *rule)
{
	uint8_t key[16];
	uint32_t i;

	if (!m->count || key_of(sa, key))
		return 0;
	i = find(m, key);
	if (!i)
		return 0;
	if (at(m, i)->expires <= now) {
		drop(m, i);
		return 0;
	}
	*rule = at(m, i)->rule;
	return 1;
}

void dns_memo_clear(struct dns_memo *m)
{
	free(m->e);
	m->e = NULL;
	m->alloc = m->used = m->count = m->free = 0;
	m->oldest = m->newest = 0;
	if (m->bucket)
		memset(m->bucket, 0,
		       ((size_t)m->mask + 1) * sizeof(*m->bucket));
}

uint32_t dns_memo_count(const struct dns_memo *m)
{
	return m->count;
}
