/* The one DNS message the client writes itself: SERVFAIL, for a query
 * the tunnel could not answer in time. A pure function. */
#ifndef PROXY_CLIENT_DNS_MSG_H
#define PROXY_CLIENT_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HDR 12

/* The SERVFAIL answer to query q (its id, opcode, RD and question
 * section; no records, so no EDNS either) in out; its length, or -1
 * when q is shorter than a header or out has no room. A question
 * section that does not parse is left out (QDCOUNT 0). */
int dns_servfail(uint8_t *out, size_t cap, const uint8_t *q, size_t len);

#endif
