/* What the DNS forwarder reads and writes of DNS messages itself: the
 * name asked (for dns-direct), whether an answer answers the question
 * asked, the addresses an answer hands out (dns_memo.h), and SERVFAIL
 * for a query not answered in time. Pure functions. */
#ifndef PROXY_CLIENT_DNS_MSG_H
#define PROXY_CLIENT_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_HDR 12
/* A name as text, with its NUL. */
#define DNS_NAME_TEXT 256
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

/* The SERVFAIL answer to query q (its id, opcode, RD and question
 * section; no records, so no EDNS either) in out; its length, or -1
 * when q is shorter than a header or out has no room. A question
 * section that does not parse is left out (QDCOUNT 0). */
int dns_servfail(uint8_t *out, size_t cap, const uint8_t *q, size_t len);

/* The name of query m's one question, as text without the trailing dot
 * ("" for the root), in out[cap]: its length, or -1 when m does not
 * hold exactly one question, the name is compressed, or a label holds a
 * byte other than a letter, digit, '-' or '_' (such a query goes the
 * default way). */
int dns_qname(const uint8_t *m, size_t len, char *out, size_t cap);

/* 1 when answer a carries the question section of query q (same count,
 * names equal but for case, same type and class), else 0. */
int dns_same_question(const uint8_t *q, size_t qlen, const uint8_t *a,
		      size_t alen);

/* An address record: sa (port 0) and its TTL in seconds. */
typedef void (*dns_addr_cb)(void *arg, const struct sockaddr *sa, uint32_t ttl);
/* Calls fn for each A and AAAA record (class IN) of answer m's answer
 * section, in order: the number of them, or -1 when m is no answer or
 * does not parse (fn has run for the records before the fault). */
int dns_answer_addrs(const uint8_t *m, size_t len, dns_addr_cb fn, void *arg);

#endif
