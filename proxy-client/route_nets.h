/* route.c's address half: CIDRs gathered while the profile is read, then
 * compiled into sorted disjoint ranges (most specific wins, so a /24
 * inside a /8 punches a hole), one array per family, that a binary
 * search answers. Each range carries the id of the rule that decides it;
 * 0 where no rule does. */
#ifndef PROXY_CLIENT_ROUTE_NETS_H
#define PROXY_CLIENT_ROUTE_NETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"
#include "route.h"

/* An address of either family as a number; IPv4 in lo's low 32 bits. */
struct route_u128 {
	uint64_t hi, lo;
};

struct route_net {
	struct route_u128 start;
	uint32_t rule;
	uint8_t prefix;
};

struct route_family {
	struct route_net *pend; /* before compiling */
	size_t npend, cap;
	struct route_u128 *start; /* compiled: range i is start[i] to */
	uint32_t *rule;           /* start[i + 1] - 1, decided by rule[i] */
	size_t n;
};

struct route_nets {
	struct route_family v4, v6;
};

void route_nets_add(struct route_nets *s, const struct cidr *c, uint32_t rule);
void route_nets_compile(struct route_nets *s);
/* The rule deciding sa (IPv4-mapped IPv6 as IPv4), or 0. */
uint32_t route_nets_lookup(const struct route_nets *s,
			   const struct sockaddr *sa);
/* The ranges whose rule keep() accepts, adjacent ones merged. */
size_t route_nets_ranges(const struct route_nets *s, int family,
			 bool (*keep)(uint32_t rule, void *arg), void *arg,
			 struct route_range **out);
void route_nets_free(struct route_nets *s);

#endif
