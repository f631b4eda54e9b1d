/* Unit tests for proxy-server/preauth.c, the budget of connections that
 * have not authenticated yet: the per-source cap (IPv4 address, IPv6
 * /64, IPv4-mapped counted as IPv4), admission below start, random
 * early drop between start and full, a new source always admitted by
 * evicting the oldest handshake of the source holding the most, and
 * leave() being idempotent. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "../../proxy-server/preauth.h"
#include "test.h"

#define NSLOTS 256

static struct preauth pa;
static struct preauth_slot slots[NSLOTS];
static int evicted[NSLOTS];

static void evict(struct preauth_slot *s)
{
	evicted[s - slots]++;
	preauth_leave(&pa, s);
	/* as the server frees the connection: nothing may read it now */
	memset(s, 0xa5, sizeof(*s));
}

static struct sockaddr_storage ip(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, s, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, s, &a->sin_addr);
	}
	return ss;
}

static int enter(int slot, const char *addr)
{
	struct sockaddr_storage ss = ip(addr);

	return preauth_enter(&pa, &slots[slot], (struct sockaddr *)&ss, evict);
}

static void reset(unsigned start, unsigned rate, unsigned full,
		  unsigned per_source)
{
	struct preauth_limits lim = { start, rate, full, per_source };

	preauth_free(&pa);
	preauth_init(&pa, &lim, 12345);
	memset(slots, 0, sizeof(slots));
	memset(evicted, 0, sizeof(evicted));
}

static void test_per_source(void)
{
	reset(32, 30, 32, 3);
	CHECK_EQ(enter(0, "192.0.2.1"), PREAUTH_OK);
	CHECK_EQ(enter(1, "192.0.2.1"), PREAUTH_OK);
	CHECK_EQ(enter(2, "192.0.2.1"), PREAUTH_OK);
	CHECK_EQ(enter(3, "192.0.2.1"), PREAUTH_SOURCE);
	CHECK_EQ(enter(4, "::ffff:192.0.2.1"), PREAUTH_SOURCE); /* same host */
	CHECK_EQ(enter(5, "192.0.2.2"), PREAUTH_OK);
	CHECK_EQ(pa.refused_source, 2);
	/* one leaves: that source may start one more */
	preauth_leave(&pa, &slots[1]);
	preauth_leave(&pa, &slots[1]);
	CHECK_EQ(pa.n, 3);
	CHECK_EQ(enter(3, "192.0.2.1"), PREAUTH_OK);
	/* IPv6: one /64 is one source, the next /64 another */
	CHECK_EQ(enter(10, "2001:db8:0:1::1"), PREAUTH_OK);
	CHECK_EQ(enter(11, "2001:db8:0:1::2"), PREAUTH_OK);
	CHECK_EQ(enter(12, "2001:db8:0:1:ffff::3"), PREAUTH_OK);
	CHECK_EQ(enter(13, "2001:db8:0:1::4"), PREAUTH_SOURCE);
	CHECK_EQ(enter(14, "2001:db8:0:2::1"), PREAUTH_OK);
	CHECK_EQ(pa.n, 8);
}

static void test_early_drop(void)
{
	int refused = 0, admitted = 0, slot = 0;
	char a[32];

	/* below start nothing is refused */
	reset(4, 50, 40, 200);
	for (; slot < 4; slot++)
		CHECK_EQ(enter(slot, "198.51.100.7"), PREAUTH_OK);
	/* from start on, a source already holding one is refused with a
	 * probability from 50 % rising to 100 % at full */
	for (int i = 0; i < 60; i++) {
		if (enter(slot, "198.51.100.7") == PREAUTH_EARLY) {
			refused++;
		} else {
			admitted++;
			slot++;
		}
	}
	CHECK(refused > 30);
	CHECK(admitted > 5);
	CHECK_EQ(pa.refused_early, refused);
	/* other sources fill the rest; at full the same source is always
	 * refused, and nobody was evicted on the way */
	for (int i = 0; pa.n < 40; i++, slot++) {
		snprintf(a, sizeof(a), "10.0.1.%d", i);
		CHECK_EQ(enter(slot, a), PREAUTH_OK);
	}
	for (int i = 0; i < 20; i++)
		CHECK_EQ(enter(slot, "198.51.100.7"), PREAUTH_EARLY);
	CHECK_EQ(pa.evicted, 0);
	/* a new source at full evicts the flood's oldest */
	CHECK_EQ(enter(slot, "192.0.2.99"), PREAUTH_OK);
	CHECK_EQ(evicted[0], 1);
	CHECK_EQ(pa.n, 40);

	/* the drop rate follows the fill: at rate 0 just above start,
	 * almost nothing is refused */
	reset(8, 0, 64, 64);
	refused = 0;
	for (int i = 0; i < 16; i++)
		if (enter(i, "198.51.100.8"))
			refused++;
	CHECK(refused <= 3);
}

static void test_new_source_evicts(void)
{
	reset(2, 30, 6, 4);
	/* a flood from two hosts fills the budget: 4 from .1, 2 from .2 */
	CHECK_EQ(enter(0, "203.0.113.1"), PREAUTH_OK);
	CHECK_EQ(enter(1, "203.0.113.2"), PREAUTH_OK);
	for (int i = 2, tries = 0; pa.n < 6 && tries < 1000; tries++)
		if (!enter(i, pa.n % 2 ? "203.0.113.2" : "203.0.113.1"))
			i++;
	CHECK_EQ(pa.n, 6);
	/* a real client from elsewhere is admitted; the oldest handshake
	 * of the heaviest source makes room */
	CHECK_EQ(enter(20, "192.0.2.50"), PREAUTH_OK);
	CHECK_EQ(pa.n, 6);
	CHECK_EQ(pa.evicted, 1);
	CHECK_EQ(evicted[0] + evicted[1], 1);
	/* a second newcomer likewise, and the first one is not its victim
	 * while the flood's sources hold more */
	CHECK_EQ(enter(21, "192.0.2.51"), PREAUTH_OK);
	CHECK_EQ(evicted[20], 0);
	CHECK(slots[20].in);
	CHECK_EQ(pa.n, 6);

	/* every source holds one: the oldest of all goes */
	reset(1, 0, 3, 4);
	CHECK_EQ(enter(0, "10.0.0.1"), PREAUTH_OK);
	CHECK_EQ(enter(1, "10.0.0.2"), PREAUTH_OK);
	CHECK_EQ(enter(2, "10.0.0.3"), PREAUTH_OK);
	CHECK_EQ(enter(3, "10.0.0.4"), PREAUTH_OK);
	CHECK_EQ(evicted[0], 1);
	CHECK_EQ(pa.n, 3);
	/* the list stays consistent through leaves at either end */
	preauth_leave(&pa, &slots[3]);
	preauth_leave(&pa, &slots[1]);
	CHECK_EQ(enter(4, "10.0.0.5"), PREAUTH_OK);
	CHECK_EQ(enter(5, "10.0.0.6"), PREAUTH_OK);
	CHECK_EQ(pa.n, 3);
	CHECK(pa.head == &slots[2]);
	CHECK_EQ(enter(6, "10.0.0.7"), PREAUTH_OK);
	CHECK_EQ(evicted[2], 1);
	CHECK(pa.head == &slots[4]);
}

int main(void)
{
	test_per_source();
	test_early_drop();
	test_new_source_evicts();
	preauth_free(&pa);
	return test_summary("preauth");
}
