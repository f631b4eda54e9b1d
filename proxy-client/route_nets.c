/* Address rules as disjoint ranges. CIDRs never overlap partly: two are
 * either disjoint or one holds the other. Sorted by start, widest first,
 * they are swept with a stack of the open ones; the top of the stack is
 * the most specific and decides until it ends, then the one below takes
 * over again. The result is a list of boundaries, each starting a range
 * decided by one rule, which a binary search answers in ~log2(n) steps. */
#include "route_nets.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

static int bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* The low n bits set. */
static struct route_u128 low_mask(int n)
{
	struct route_u128 m = { 0, 0 };

	if (n >= 64) {
		m.lo = ~0ULL;
		m.hi = n >= 128 ? ~0ULL : (1ULL << (n - 64)) - 1;
	} else if (n > 0) {
		m.lo = (1ULL << n) - 1;
	}
	return m;
}

static int cmp_u128(struct route_u128 a, struct route_u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static struct route_u128 plus_one(struct route_u128 a)
{
	a.lo++;
	if (a.lo == 0)
		a.hi++;
	return a;
}

static struct route_u128 minus_one(struct route_u128 a)
{
	if (a.lo == 0)
		a.hi--;
	a.lo--;
	return a;
}

static struct route_u128 from_bytes(const uint8_t *b, int family)
{
	struct route_u128 v = { 0, 0 };
	int i;

	if (family == AF_INET) {
		v.lo = get_be32(b);
		return v;
	}
	for (i = 0; i < 8; i++) {
		v.hi = v.hi << 8 | b[i];
		v.lo = v.lo << 8 | b[i + 8];
	}
	return v;
}

static void to_bytes(struct route_u128 v, int family, uint8_t *b)
{
	int i;

	if (family == AF_INET) {
		put_be32(b, (uint32_t)v.lo);
		return;
	}
	for (i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v.hi;
		b[i + 8] = (uint8_t)v.lo;
		v.hi >>= 8;
		v.lo >>= 8;
	}
}

static struct route_family *family_of(struct route_nets *s, int family)
{
	return family == AF_INET ? &s->v4 : &s->v6;
}

void route_nets_add(struct route_nets *s, const struct cidr *c, uint32_t rule)
{
	struct route_family *f = family_of(s, c->family);
	struct route_net *e;

	if (f->npend == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->pend = xrealloc(f->pend, f->cap * sizeof(*f->pend));
	}
	e = &f->pend[f->npend++];
	e->start = from_bytes(c->bytes, c->family);
	e->prefix = (uint8_t)c->prefix;
	e->rule = rule;
}

/* By start, then the wider first, then the earlier rule first: the later
 * of two equal CIDRs lies above it on the stack and wins. */
static int cmp_net(const void *pa, const void *pb)
{
	const struct route_net *a = pa, *b = pb;
	int c = cmp_u128(a->start, b->start);

	if (c)
		return c;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return a->rule < b->rule ? -1 : a->rule > b->rule;
}

static struct route_u128 net_end(const struct route_net *e, int bits)
{
	struct route_u128 m = low_mask(bits - e->prefix);

	return (struct route_u128){ e->start.hi | m.hi, e->start.lo | m.lo };
}

/* Range from pos on is decided by rule. A boundary at the same place is
 * replaced; one that changes nothing is left out. */
static void emit(struct route_family *f, struct route_u128 pos, uint32_t rule)
{
	if (f->n && !cmp_u128(f->start[f->n - 1], pos)) {
		f->rule[f->n - 1] = rule;
		if (f->n >= 2 && f->rule[f->n - 2] == rule)
			f->n--;
		return;
	}
	if (f->n && f->rule[f->n - 1] == rule)
		return;
	f->start[f->n] = pos;
	f->rule[f->n++] = rule;
}

static void compile(struct route_family *f, int bits)
{
	const struct route_net *stack[129];
	struct route_u128 zero = { 0, 0 }, max = low_mask(bits);
	size_t i, depth = 0;

	if (f->npend)
		qsort(f->pend, f->npend, sizeof(*f->pend), cmp_net);
	/* each CIDR opens one range and closing it opens at most one */
	f->start = xmalloc((2 * f->npend + 1) * sizeof(*f->start));
	f->rule = xmalloc((2 * f->npend + 1) * sizeof(*f->rule));
	f->n = 0;
	emit(f, zero, 0);
	for (i = 0; i <= f->npend; i++) {
		const struct route_net *e = i < f->npend ? &f->pend[i] : NULL;

		while (depth) {
			struct route_u128 end = net_end(stack[depth - 1], bits);

			if (e && cmp_u128(end, e->start) >= 0)
				break; /* e lies inside the top */
			depth--;
			if (cmp_u128(end, max))
				emit(f, plus_one(end),
				     depth ? stack[depth - 1]->rule : 0);
		}
		if (!e)
			break;
		emit(f, e->start, e->rule);
		/* the same CIDR again: the later hides the earlier, and the
		 * stack stays one entry per prefix length */
		if (depth && stack[depth - 1]->prefix == e->prefix &&
		    !cmp_u128(stack[depth - 1]->start, e->start))
			depth--;
		stack[depth++] = e;
	}
	free(f->pend);
	f->pend = NULL;
	f->npend = f->cap = 0;
}

void route_nets_compile(struct route_nets *s)
{
	compile(&s->v4, 32);
	compile(&s->v6, 128);
}

static uint32_t lookup(const struct route_family *f, struct route_u128 a)
{
	size_t lo = 0, hi = f->n;

	/* the last boundary at or below a; start[0] is 0 */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_u128(f->start[mid], a) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return f->n ? f->rule[lo] : 0;
}

uint32_t route_nets_lookup(const struct route_nets *s,
			   const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *b;

	if (sa->sa_family == AF_INET) {
		b = (const uint8_t
			     *)&((const struct sockaddr_in *)(const void *)sa)
			    ->sin_addr;
		return lookup(&s->v4, from_bytes(b, AF_INET));
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (!memcmp(b, mapped, sizeof(mapped)))
		return lookup(&s->v4, from_bytes(b + 12, AF_INET));
	return lookup(&s->v6, from_bytes(b, AF_INET6));
}

size_t route_nets_ranges(const struct route_nets *s, int family,
			 bool (*keep)(uint32_t rule, void *arg), void *arg,
			 struct route_range **out)
{
	const struct route_family *f = family == AF_INET ? &s->v4 : &s->v6;
	struct route_u128 max = low_mask(bits_of(family)), last;
	struct route_range *r = xcalloc(f->n ? f->n : 1, sizeof(*r));
	size_t i, n = 0;
	bool open = false;

	for (i = 0; i < f->n; i++) {
		if (!keep(f->rule[i], arg)) {
			open = false;
			continue;
		}
		last = i + 1 < f->n ? minus_one(f->start[i + 1]) : max;
		if (!open) {
			r[n].family = family;
			to_bytes(f->start[i], family, r[n].first);
			n++;
		}
		to_bytes(last, family, r[n - 1].last);
		open = true;
	}
	*out = r;
	return n;
}

static void family_free(struct route_family *f)
{
	free(f->pend);
	free(f->start);
	free(f->rule);
	memset(f, 0, sizeof(*f));
}

void route_nets_free(struct route_nets *s)
{
	family_free(&s->v4);
	family_free(&s->v6);
}
