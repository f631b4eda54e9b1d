/* route.c's name half: domain:NAME and full:NAME rules in one open
 * addressing hash keyed by the name. A lookup hashes the name from its
 * end, so the hash of every label-aligned suffix falls out of one pass,
 * and probes them longest first: the first hit is the most specific. */
#ifndef PROXY_CLIENT_ROUTE_NAMES_H
#define PROXY_CLIENT_ROUTE_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROUTE_NAME_MAX 253 /* without the trailing dot */

struct route_name_slot {
	uint32_t hash;
	uint32_t off;     /* of the name in text */
	uint32_t rule[2]; /* domain:, full: rule ids; both 0: empty slot */
};

struct route_names {
	struct route_name_slot *slot;
	size_t cap, used; /* cap a power of two */
	char *text;       /* the names, NUL-terminated one after another */
	size_t len, size;
};

/* A rule's name into out[ROUTE_NAME_MAX + 1]: lower case, without a
 * trailing dot, labels of 1 to 63 letters, digits, '-' or '_'. Its
 * length, or -1. */
int route_name_parse(const char *in, char *out);
/* A parsed name; an earlier rule of the same kind for it is replaced. */
void route_names_add(struct route_names *s, const char *name, bool full,
		     uint32_t rule);
/* The rule of the longest suffix of name (any case, trailing dot or
 * not) that a rule covers, or 0. */
uint32_t route_names_lookup(const struct route_names *s, const char *name);
/* Done adding: gives back the slack of the text buffer. */
void route_names_trim(struct route_names *s);
void route_names_free(struct route_names *s);

#endif
