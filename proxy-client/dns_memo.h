/* What the DNS forwarder handed out: address -> the routing rule of the
 * name it answered, until an expiry time (issue 21 #4), so that a flow
 * to an address (REDIRECT, TPROXY, SOCKS by address) is decided by the
 * rule of the name the application looked up, also when no CIDR rule
 * covers that address.
 *
 * Bounded: at most max entries of DNS_MEMO_ENTRY_BYTES each, allocated as
 * they are used, plus one 4-byte bucket per entry (a power of two at or
 * above max) from the start; past max the oldest entry (the least
 * recently put) goes. An expired entry is never returned and is dropped
 * when met. The hash is seeded at random, so answers crafted to collide
 * cannot make lookups slow. An IPv4 address and its IPv4-mapped IPv6
 * form are one key. No I/O, no clock: the caller passes the time. */
#ifndef PROXY_CLIENT_DNS_MEMO_H
#define PROXY_CLIENT_DNS_MEMO_H

#include <stdint.h>
#include <sys/socket.h>

/* Bytes of one entry (the entry and its bucket), for the docs. */
#define DNS_MEMO_ENTRY_BYTES 48
/* The largest max dns-memo accepts. */
#define DNS_MEMO_MAX 1000000u

struct dns_memo;

/* max 0: remembers nothing. */
struct dns_memo *dns_memo_new(uint32_t max);
void dns_memo_free(struct dns_memo *m);
/* sa's address (the port is ignored) -> rule until expires; replaces
 * what was kept for that address and makes it the newest. */
void dns_memo_put(struct dns_memo *m, const struct sockaddr *sa, uint32_t rule,
		  double expires);
/* 1 and *rule when sa's address is kept and expires after now, else 0
 * (an expired entry is dropped). */
int dns_memo_get(struct dns_memo *m, const struct sockaddr *sa, double now,
		 uint32_t *rule);
/* Forgets everything (the rule ids changed: a reload). */
void dns_memo_clear(struct dns_memo *m);
uint32_t dns_memo_count(const struct dns_memo *m);

#endif
