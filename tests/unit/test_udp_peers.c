/* Unit tests for proxy-server/udp_peers.c, the max-udp-peers table: the
 * cap on distinct destinations, known ones always passing, IPv4-mapped
 * IPv6 counting as IPv4, expiry after ttl, growth to large caps, and a
 * full table cleaned at most once a second. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "../../proxy-server/udp_peers.h"
#include "test.h"

static struct sockaddr_storage v4(uint32_t ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(ip);
	in->sin_port = htons(port);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &in6->sin6_addr);
	in6->sin6_port = htons(port);
	return ss;
}

static int use(struct udp_peers *p, struct sockaddr_storage ss, double now)
{
	return udp_peers_use(p, (struct sockaddr *)&ss, now);
}

static void test_cap(void)
{
	struct udp_peers p;

	udp_peers_init(&p, 3, 300, 1000);
	CHECK(p.keys == NULL); /* nothing before the first destination */
	CHECK_EQ(use(&p, v4(0x0a000001, 53), 1000), 0);
	CHECK_EQ(use(&p, v4(0x0a000001, 54), 1000), 0); /* port counts */
	CHECK_EQ(use(&p, v6("2001:db8::1", 53), 1000), 0);
	CHECK_EQ(use(&p, v4(0x0a000002, 53), 1000), -1);
	CHECK_EQ(use(&p, v6("2001:db8::2", 53), 1001), -1);
	/* the known ones keep passing, v4-mapped is the same v4 peer */
	CHECK_EQ(use(&p, v4(0x0a000001, 53), 1002), 0);
	CHECK_EQ(use(&p, v6("::ffff:10.0.0.1", 54), 1002), 0);
	CHECK_EQ(use(&p, v6("2001:db8::1", 53), 1002), 0);
	CHECK_EQ(p.used, 3);
	udp_peers_free(&p);
	CHECK(p.keys == NULL);

	udp_peers_init(&p, 1, 300, 0);
	CHECK_EQ(use(&p, v4(1, 1), 0), 0);
	CHECK_EQ(use(&p, v4(1, 2), 0), -1);
	CHECK_EQ(use(&p, v4(1, 1), 0), 0);
	udp_peers_free(&p);
}

/* ttl 5 s: a destination not sent to for 5 s frees its place, at the
 * latest one second after the last clean-up of the full table. */
static void test_expiry(void)
{
	struct udp_peers p;
	int r;

	udp_peers_init(&p, 3, 5, 0);
	CHECK_EQ(use(&p, v4(1, 1), 0), 0);
	CHECK_EQ(use(&p, v4(1, 2), 0), 0);
	CHECK_EQ(use(&p, v4(1, 3), 0), 0);
	CHECK_EQ(use(&p, v4(1, 1), 4.5), 0); /* live until 9.5 */
	CHECK_EQ(use(&p, v4(1, 2), 4.5), 0);
	CHECK_EQ(use(&p, v4(1, 4), 4.6), -1); /* all live: cleaned, full */
	/* 1.3 expired at 5, but the last clean was 0.6 s ago: whether 1.5
	 * gets in depends only on whether its probe passes 1.3's slot */
	r = use(&p, v4(1, 5), 5.2);
	CHECK(r == 0 || r == -1);
	if (r)
		CHECK_EQ(use(&p, v4(1, 5), 5.7), 0); /* cleaned now */
	CHECK_EQ(use(&p, v4(1, 6), 5.8), -1);        /* 1.1, 1.2, 1.5 live */
	CHECK_EQ(use(&p, v4(1, 1), 5.8), 0);
	CHECK_EQ(use(&p, v4(1, 5), 5.8), 0);
	/* everything expired: a whole new set fits */
	CHECK_EQ(use(&p, v4(2, 1), 20), 0);
	CHECK_EQ(use(&p, v4(2, 2), 20), 0);
	CHECK_EQ(use(&p, v4(2, 3), 20), 0);
	CHECK_EQ(use(&p, v4(2, 4), 20), -1);
	udp_peers_free(&p);
}

/* Growth from the first small table to the cap, and a full set of new
 * destinations once the old ones expired. */
static void test_many(void)
{
	enum { N = 5000 };
	struct udp_peers p;
	int bad = 0;

	udp_peers_init(&p, N, 10, 0);
	for (uint32_t i = 0; i < N; i++)
		bad += use(&p, v4(0xc6120000 + i, 7), i * 0.001) != 0;
	CHECK_EQ(bad, 0);
	CHECK_EQ(p.used, N);
	CHECK(p.cap >= N && p.cap <= 4 * N);
	CHECK_EQ(use(&p, v4(0xc6130000, 7), 6), -1);
	CHECK_EQ(use(&p, v6("2001:db8::7", 7), 6), -1);
	bad = 0;
	for (uint32_t i = 0; i < N; i++)
		bad += use(&p, v4(0xc6120000 + i, 7), 7) != 0;
	CHECK_EQ(bad, 0);
	bad = 0;
	for (uint32_t i = 0; i < N; i++)
		bad += use(&p, v4(0xc6140000 + i, 9), 18 + i * 0.0001) != 0;
	CHECK_EQ(bad, 0);
	CHECK_EQ(use(&p, v4(0xc6150000, 9), 19), -1);
	udp_peers_free(&p);
}

int main(void)
{
	test_cap();
	test_expiry();
	test_many();
	return test_summary("udp_peers");
}
