/* libFuzzer target: the DNS messages the client's forwarder reads itself
 * (proxy-client/dns_msg.c): bytes from resolvers and from applications.
 *
 * The input is one message in a heap block of exactly its size.
 *
 *  - dns_qname: a name it returns is as long as it says, made only of
 *    the bytes it allows and dots, and comes out the same with just the
 *    room it needs; with less room than that (down to one byte) it never
 *    writes past the room it was given.
 *  - dns_answer_addrs: each record it reports is an IPv4 or IPv6 address
 *    with port 0 and a TTL below 2^31, and it reports as many as it
 *    returns; no more than the message could hold.
 *  - dns_servfail: refuses only what is shorter than a header; the answer
 *    keeps the query's id and question, says SERVFAIL, carries no
 *    record, and dns_same_question finds it answers the query.
 *  - dns_same_question: gives the same verdict both ways round for the
 *    message split in two (the first byte says where). */
#include "fuzz.h"

#include <netinet/in.h>

#include "../../proxy-client/dns_msg.h"

/* The smallest answer record: a root name (1), type, class, TTL and
 * rdlength (10). */
#define MIN_RR 11

struct seen {
	int n;
};

static void on_addr(void *arg, const struct sockaddr *sa, uint32_t ttl)
{
	struct seen *s = arg;

	FUZZ_ASSERT(ttl <= 0x7fffffff);
	if (sa->sa_family == AF_INET) {
		FUZZ_ASSERT(((const struct sockaddr_in *)sa)->sin_port == 0);
	} else {
		FUZZ_ASSERT(sa->sa_family == AF_INET6);
		FUZZ_ASSERT(((const struct sockaddr_in6 *)sa)->sin6_port == 0);
	}
	s->n++;
}

static int name_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static void check_qname(const uint8_t *m, size_t len)
{
	char full[DNS_NAME_TEXT];
	int n = dns_qname(m, len, full, sizeof(full));

	if (n >= 0) {
		char *exact = malloc((size_t)n + 2);

		FUZZ_ASSERT(exact != NULL);
		FUZZ_ASSERT(strlen(full) == (size_t)n);
		for (int i = 0; i < n; i++)
			FUZZ_ASSERT(name_byte(full[i]));
		FUZZ_ASSERT(dns_qname(m, len, exact, (size_t)n + 2) == n);
		FUZZ_ASSERT(memcmp(exact, full, (size_t)n + 1) == 0);
		free(exact);
	}
	for (size_t cap = 1; cap < 8; cap++) {
		char *s = malloc(cap);
		int k;

		FUZZ_ASSERT(s != NULL);
		k = dns_qname(m, len, s, cap);
		FUZZ_ASSERT(k < (int)cap);
		if (k >= 0)
			FUZZ_ASSERT(k == n && strlen(s) == (size_t)k);
		free(s);
	}
}

static void check_answer(const uint8_t *m, size_t len)
{
	struct seen s = { 0 };
	int n = dns_answer_addrs(m, len, on_addr, &s);

	if (n >= 0)
		FUZZ_ASSERT(n == s.n);
	FUZZ_ASSERT((size_t)s.n <= len / MIN_RR);
}

static void check_servfail(const uint8_t *q, size_t len)
{
	uint8_t *out = malloc(len ? len : 1);
	struct seen s = { 0 };
	int n;

	FUZZ_ASSERT(out != NULL);
	n = dns_servfail(out, len, q, len);
	if (len < DNS_HDR) {
		FUZZ_ASSERT(n == -1);
		free(out);
		return;
	}
	/* the question it copies is part of q, so it fits in len */
	FUZZ_ASSERT(n >= DNS_HDR && (size_t)n <= len);
	FUZZ_ASSERT(out[0] == q[0] && out[1] == q[1]);
	FUZZ_ASSERT((out[2] & 0x80) && (out[3] & 0x0f) == 2);
	FUZZ_ASSERT(!out[6] && !out[7] && !out[8] && !out[9] && !out[10] &&
		    !out[11]);
	if (n > DNS_HDR) {
		FUZZ_ASSERT(dns_same_question(q, len, out, (size_t)n) == 1);
		FUZZ_ASSERT(memcmp(out + 4, q + 4, 2) == 0);
	}
	FUZZ_ASSERT(dns_answer_addrs(out, (size_t)n, on_addr, &s) == 0);
	free(out);
}

static void check_same(const uint8_t *data, size_t size)
{
	size_t k;
	uint8_t *a, *b;

	if (!size)
		return;
	k = data[0] % size;
	a = fuzz_dup(data + 1, k);
	b = fuzz_dup(data + 1 + k, size - 1 - k);
	FUZZ_ASSERT(dns_same_question(a, k, b, size - 1 - k) ==
		    dns_same_question(b, size - 1 - k, a, k));
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *m = fuzz_dup(data, size);

	check_qname(m, size);
	check_answer(m, size);
	check_servfail(m, size);
	check_same(data, size);
	free(m);
	return 0;
}
