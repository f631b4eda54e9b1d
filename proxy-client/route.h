/* Split routing (issue 21): whether a destination goes direct, through
 * the tunnel (proxy) or is refused (block). A table is filled from the
 * profile's route, route-file and route-default directives, finished once
 * and from then on only read. A reload fills a fresh table and swaps it
 * in only when the whole profile loaded, so a bad file keeps the old one.
 *
 * The most specific rule wins: the longest prefix for addresses (IPv4,
 * IPv6; an IPv4-mapped IPv6 address is looked up as IPv4), the longest
 * label-aligned suffix for names (domain:example.edu covers example.edu
 * and a.example.edu, not badexample.edu; no case, no trailing dot), and
 * full:NAME before domain:NAME for the same name. Between two rules of
 * the same specificity the later line wins.
 *
 * dns-direct NAME... SERVER keeps a set of names of its own, matched the
 * same way: the DNS forwarder sends queries for them to SERVER from the
 * client itself; a name no dns-direct rule covers goes through the
 * tunnel. A dns-direct line is a rule (direct) like any other: it has an
 * id, a name and counters. */
#ifndef PROXY_CLIENT_ROUTE_H
#define PROXY_CLIENT_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/conf.h"

enum route_action {
	ROUTE_UNDECIDED = 0, /* a name no name rule covers: ask the address */
	ROUTE_DIRECT,
	ROUTE_PROXY,
	ROUTE_BLOCK,
};

/* Rule ids are dense, 0 to route_rule_count() - 1, in load order, fixed
 * for the table's life: an index for per-rule counters. One line of the
 * profile or of a rule file is one rule. Id 0 is the default. */
#define ROUTE_DEFAULT_RULE 0

struct route_result {
	enum route_action action;
	uint32_t rule;
};

/* An address range first..last, network byte order, 4 or 16 bytes. */
struct route_range {
	int family;
	uint8_t first[16], last[16];
};

/* For the client's directive table; fn calls route_directive(). */
#define ROUTE_DIRECTIVES(fn) \
	{ "route", 2, CONF_MAX_ARGS - 1, 0, fn }, \
		{ "route-file", 2, 2, 0, fn }, \
		{ "route-default", 1, 1, 0, fn }, \
	{ \
		"dns-direct", 2, CONF_MAX_ARGS - 1, 0, fn \
	}

struct route_table *route_table_new(void);
/* One route, route-file or route-default line; a relative rule file is
 * found in base_dir (NULL: the current folder). 0, or -1 with a message
 * in err, which names FILE:LINE of a rule file; the table must then be
 * dropped. */
int route_directive(struct route_table *t, const struct conf_line *l,
		    const char *base_dir, char *err, size_t n);
/* After the last directive, before the first decision. */
void route_table_finish(struct route_table *t);
/* A file of route directives alone into a finished table (a rule
 * profile of its own; the tests). NULL with "file:line: what" in err. */
struct route_table *route_load(const char *path, const char *base_dir,
			       char *err, size_t n);

struct route_result route_decide_addr(const struct route_table *t,
				      const struct sockaddr *sa);
/* ROUTE_UNDECIDED (rule 0) when no name rule covers name. */
struct route_result route_decide_name(const struct route_table *t,
				      const char *name);

/* The dns-direct rule for a query's name (direct) and its name server
 * in *server, or ROUTE_UNDECIDED (rule 0, *server NULL): the tunnel.
 * *server lives as long as the table. */
struct route_result route_decide_dns(const struct route_table *t,
				     const char *name,
				     const struct sockaddr_storage **server);
int route_has_dns_rules(const struct route_table *t);

/* What route-default says (rule 0). */
struct route_result route_default(const struct route_table *t);
uint32_t route_rule_count(const struct route_table *t);
enum route_action route_rule_action(const struct route_table *t, uint32_t rule);
/* Whether any address rule exists: else resolving a name on the client
 * could not change its fate. */
int route_has_addr_rules(const struct route_table *t);
/* "FILE:LINE", or "default" for rule 0; returns buf. */
const char *route_rule_name(const struct route_table *t, uint32_t rule,
			    char *buf, size_t n);
const char *route_action_name(enum route_action a);

/* The addresses of one family that action decides, as the fewest
 * ranges (sorted, disjoint, not adjacent); *out is the caller's to free.
 * For a kernel interval set of the direct networks. */
size_t route_ranges(const struct route_table *t, enum route_action action,
		    int family, struct route_range **out);
/* "10.0.0.0/8" when the range is one prefix, else "FIRST-LAST". */
const char *route_range_str(const struct route_range *r, char *buf, size_t n);

/* A flow that keeps a rule id past a reload keeps the table too. */
struct route_table *route_table_ref(struct route_table *t);
void route_table_unref(struct route_table *t);
/* Reload: *cur becomes fresh (finished) and the old one is released. */
void route_table_swap(struct route_table **cur, struct route_table *fresh);

#endif
