/* Unit tests for proxy-client/dns_memo.c, the memory of the DNS
 * forwarder's answers: an address (port ignored; IPv4 and its mapped
 * IPv6 form alike) gives its rule until it expires, and not after (the
 * entry goes); putting an address again replaces its rule and makes it
 * the newest; past the cap the oldest goes; max 0 keeps nothing; clear
 * forgets all; many entries through the free list and growth. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../proxy-client/dns_memo.h"
#include "test.h"

static const struct sockaddr *v4(const char *s, uint16_t port)
{
	static struct sockaddr_in in[4];
	static int next;
	struct sockaddr_in *a = &in[next++ % 4];

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, s, &a->sin_addr);
	return (const struct sockaddr *)a;
}

static const struct sockaddr *v6(const char *s)
{
	static struct sockaddr_in6 in[4];
	static int next;
	struct sockaddr_in6 *a = &in[next++ % 4];

	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	inet_pton(AF_INET6, s, &a->sin6_addr);
	return (const struct sockaddr *)a;
}

/* The rule kept for sa at now, or -1. */
static long rule_of(struct dns_memo *m, const struct sockaddr *sa, double now)
{
	uint32_t rule;

	return dns_memo_get(m, sa, now, &rule) ? (long)rule : -1;
}

static void test_basic(void)
{
	struct dns_memo *m = dns_memo_new(16);
	struct sockaddr un = { .sa_family = AF_UNIX };

	CHECK_EQ(rule_of(m, v4("10.0.0.1", 0), 0), -1);
	dns_memo_put(m, v4("10.0.0.1", 53), 7, 100);
	dns_memo_put(m, v6("2001:db8::1"), 9, 100);
	CHECK_EQ(dns_memo_count(m), 2);
	/* any port; the mapped form is the same address */
	CHECK_EQ(rule_of(m, v4("10.0.0.1", 443), 50), 7);
	CHECK_EQ(rule_of(m, v6("::ffff:10.0.0.1"), 50), 7);
	CHECK_EQ(rule_of(m, v6("2001:db8::1"), 50), 9);
	CHECK_EQ(rule_of(m, v4("10.0.0.2", 443), 50), -1);
	CHECK_EQ(rule_of(m, v6("2001:db8::2"), 50), -1);
	/* no address family: nothing kept, nothing found */
	dns_memo_put(m, &un, 1, 100);
	CHECK_EQ(dns_memo_count(m), 2);
	CHECK_EQ(rule_of(m, &un, 50), -1);
	/* put again: the new rule and expiry */
	dns_memo_put(m, v6("::ffff:10.0.0.1"), 8, 200);
	CHECK_EQ(dns_memo_count(m), 2);
	CHECK_EQ(rule_of(m, v4("10.0.0.1", 0), 150), 8);
	/* expired at its time: not found, and gone */
	CHECK_EQ(rule_of(m, v6("2001:db8::1"), 100), -1);
	CHECK_EQ(dns_memo_count(m), 1);
	CHECK_EQ(rule_of(m, v6("2001:db8::1"), 0), -1);
	dns_memo_clear(m);
	CHECK_EQ(dns_memo_count(m), 0);
	CHECK_EQ(rule_of(m, v4("10.0.0.1", 0), 0), -1);
	dns_memo_put(m, v4("10.0.0.3", 0), 3, 10);
	CHECK_EQ(rule_of(m, v4("10.0.0.3", 0), 0), 3);
	dns_memo_free(m);

	/* off */
	m = dns_memo_new(0);
	dns_memo_put(m, v4("10.0.0.1", 0), 7, 100);
	CHECK_EQ(dns_memo_count(m), 0);
	CHECK_EQ(rule_of(m, v4("10.0.0.1", 0), 0), -1);
	dns_memo_clear(m);
	dns_memo_free(m);
}

static void test_evict(void)
{
	struct dns_memo *m = dns_memo_new(3);

	dns_memo_put(m, v4("10.0.0.1", 0), 1, 100);
	dns_memo_put(m, v4("10.0.0.2", 0), 2, 100);
	dns_memo_put(m, v4("10.0.0.3", 0), 3, 100);
	/* .1 put again is the newest: .2 is the oldest and goes */
	dns_memo_put(m, v4("10.0.0.1", 0), 11, 100);
	dns_memo_put(m, v4("10.0.0.4", 0), 4, 100);
	CHECK_EQ(dns_memo_count(m), 3);
	CHECK_EQ(rule_of(m, v4("10.0.0.2", 0), 0), -1);
	CHECK_EQ(rule_of(m, v4("10.0.0.1", 0), 0), 11);
	CHECK_EQ(rule_of(m, v4("10.0.0.3", 0), 0), 3);
	CHECK_EQ(rule_of(m, v4("10.0.0.4", 0), 0), 4);
	/* an expired entry dropped on lookup leaves room: nothing goes */
	CHECK_EQ(rule_of(m, v4("10.0.0.3", 0), 100), -1);
	dns_memo_put(m, v4("10.0.0.5", 0), 5, 100);
	CHECK_EQ(dns_memo_count(m), 3);
	CHECK_EQ(rule_of(m, v4("10.0.0.1", 0), 0), 11);
	CHECK_EQ(rule_of(m, v4("10.0.0.4", 0), 0), 4);
	CHECK_EQ(rule_of(m, v4("10.0.0.5", 0), 0), 5);
	dns_memo_free(m);
}

static const struct sockaddr *nth(uint32_t i)
{
	static struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_addr.s6_addr[0] = 0x20;
	a.sin6_addr.s6_addr[1] = 0x01;
	memcpy(&a.sin6_addr.s6_addr[12], &i, 4);
	return (const struct sockaddr *)&a;
}

static void test_many(void)
{
	struct dns_memo *m = dns_memo_new(1000);
	uint32_t i;
	int bad = 0;

	for (i = 0; i < 5000; i++)
		dns_memo_put(m, nth(i), i, 1000 + i);
	CHECK_EQ(dns_memo_count(m), 1000);
	for (i = 0; i < 5000; i++)
		bad += rule_of(m, nth(i), 0) != (i < 4000 ? -1 : (long)i);
	CHECK_EQ(bad, 0);
	/* the first 500 of those kept expire by 4500 + 1000 */
	for (i = 4000; i < 4500; i++)
		bad += rule_of(m, nth(i), 5500) != -1;
	CHECK_EQ(bad, 0);
	CHECK_EQ(dns_memo_count(m), 500);
	for (i = 10000; i < 10500; i++)
		dns_memo_put(m, nth(i), i, 1e9);
	CHECK_EQ(dns_memo_count(m), 1000);
	for (i = 4500; i < 5000; i++)
		bad += rule_of(m, nth(i), 0) != (long)i;
	for (i = 10000; i < 10500; i++)
		bad += rule_of(m, nth(i), 0) != (long)i;
	CHECK_EQ(bad, 0);
	dns_memo_free(m);
}

int main(void)
{
	test_basic();
	test_evict();
	test_many();
	return test_summary("dns_memo");
}
