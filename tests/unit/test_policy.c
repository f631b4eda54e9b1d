/* Unit tests for proxy-server/policy.c: the built-in refusals, every
 * IPv6 spelling of a refused IPv4 address, the cloud metadata addresses,
 * and allow/deny rules reopening or closing them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../../proxy-server/policy.h"
#include "test.h"

/* ip: an IPv4 or IPv6 literal, checked as a destination */
static int allows(const struct policy *p, const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(80);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(80);
	} else {
		fprintf(stderr, "test_policy: bad address %s\n", ip);
		return -1;
	}
	return policy_allows(p, (struct sockaddr *)&ss);
}

/* Refused with no rule at all, each with why. */
static const char *const refused[] = {
	/* this host, loopback */
	"0.0.0.0",
	"0.1.2.3",
	"127.0.0.1",
	"127.255.255.254",
	"::",
	"::1",
	/* link-local, the common metadata address among them */
	"169.254.0.1",
	"169.254.169.254",
	"169.254.42.42",
	"fe80::1",
	/* multicast, broadcast */
	"224.0.0.1",
	"239.255.255.250",
	"ff02::1",
	"ff05::1:3",
	"255.255.255.255",
	/* cloud metadata and platform services */
	"100.100.100.200",
	"168.63.129.16",
	"fd00:ec2::254",
	"fd00:ec2::253",
	"fd00:ec2::123",
	"fd20:ce::254",
	"fd00:42::42",
	/* IPv4-mapped */
	"::ffff:127.0.0.1",
	"::ffff:0.0.0.0",
	"::ffff:169.254.169.254",
	"::ffff:224.0.0.1",
	"::ffff:100.100.100.200",
	/* IPv4-compatible (:: and ::1 are themselves; ::2 is 0.0.0.2) */
	"::127.0.0.1",
	"::7f00:1",
	"::169.254.169.254",
	"::2",
	"::168.63.129.16",
	/* NAT64, well-known and local-use prefixes, /96 layout */
	"64:ff9b::127.0.0.1",
	"64:ff9b::7f00:1",
	"64:ff9b::a9fe:a9fe",
	"64:ff9b::100.100.100.200",
	"64:ff9b::0.0.0.0",
	"64:ff9b:1::127.0.0.1",
	"64:ff9b:1:abcd:1:2:7f00:1",
	"64:ff9b:1::a9fe:a9fe",
	/* 6to4: the IPv4 address in bits 16-47 */
	"2002:7f00:1::",
	"2002:7f00:1:1::1",
	"2002:a9fe:a9fe::1",
	"2002:6464:64c8::1",
	"2002::1",
	/* Teredo: the server in bits 32-63 ... */
	"2001:0:7f00:1::f7f7:f7f7",
	"2001:0:a9fe:a9fe:0:0:f7f7:f7f7",
	/* ... the client in the last 32 bits, inverted (127.0.0.1,
	 * 169.254.169.254, 0.0.0.0) */
	"2001:0:808:808:8000:63bf:80ff:fffe",
	"2001:0:808:808::5601:5601",
	"2001:0:808:808::ffff:ffff",
};

/* Allowed with no rule: ordinary addresses, and wrapped public ones. */
static const char *const allowed[] = {
	"8.8.8.8",
	"1.1.1.1",
	"10.0.0.1",
	"192.168.1.1",
	"100.100.100.201",
	"168.63.129.17",
	"169.253.255.255",
	"169.255.0.0",
	"223.255.255.255",
	"255.255.255.254",
	"2606:4700:4700::1111",
	"fd00:ec2::255",
	"fd00:ec2::1:254",
	"fd20:ce::253",
	"fe00::1",
	"fec0::1",
	"::ffff:8.8.8.8",
	"::8.8.8.8",
	"64:ff9b::8.8.8.8",
	"64:ff9b:1::8.8.8.8",
	"2002:808:808::1",
	"2001:0:808:808:8000:63bf:f7f7:f7f7",
	/* not the prefixes: 64:ff9b:2::/48, 2003::/16, 2001:1::/32, and
	 * an address merely ending in 127.0.0.1 */
	"64:ff9b:2::127.0.0.1",
	"2003:7f00:1::1",
	"2001:1:7f00:1::1",
	"2001:db8::7f00:1",
};

static void test_defaults(void)
{
	struct policy p = { 0 };

	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		if (allows(&p, refused[i]) != 0)
			fprintf(stderr, "  refused[%zu] = %s\n", i, refused[i]);
		CHECK_EQ(allows(&p, refused[i]), 0);
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++) {
		if (allows(&p, allowed[i]) != 1)
			fprintf(stderr, "  allowed[%zu] = %s\n", i, allowed[i]);
		CHECK_EQ(allows(&p, allowed[i]), 1);
	}
}

/* Rules then an address: "+net" allows, "-net" denies, in order. */
static const struct {
	const char *rules;
	const char *ip;
	int want;
} cases[] = {
	/* an allow for the IPv4 address reopens it in every spelling */
	{ "+127.0.0.1/32", "127.0.0.1", 1 },
	{ "+127.0.0.1/32", "::ffff:127.0.0.1", 1 },
	{ "+127.0.0.1/32", "::127.0.0.1", 1 },
	{ "+127.0.0.1/32", "64:ff9b::7f00:1", 1 },
	{ "+127.0.0.1/32", "64:ff9b:1::7f00:1", 1 },
	{ "+127.0.0.1/32", "2002:7f00:1::1", 1 },
	{ "+127.0.0.1/32", "2001:0:7f00:1::f7f7:f7f7", 1 },
	{ "+127.0.0.1/32", "2001:0:808:808:8000:63bf:80ff:fffe", 1 },
	/* ... and only that address */
	{ "+127.0.0.1/32", "127.0.0.2", 0 },
	{ "+127.0.0.1/32", "64:ff9b::7f00:2", 0 },
	{ "+127.0.0.1/32", "2002:7f00:2::1", 0 },
	/* Teredo: server and client must both pass */
	{ "+127.0.0.1/32", "2001:0:7f00:1:0:0:80ff:fffd", 0 },
	{ "+127.0.0.1/32", "2001:0:7f00:1:0:0:80ff:fffe", 1 },
	{ "+169.254.169.254", "169.254.169.254", 1 },
	{ "+169.254.169.254", "::ffff:169.254.169.254", 1 },
	{ "+169.254.169.254", "64:ff9b::a9fe:a9fe", 1 },
	{ "+169.254.169.254", "2002:a9fe:a9fe::1", 1 },
	{ "+169.254.169.254", "169.254.169.253", 0 },
	/* each metadata address reopens on its own */
	{ "+fd00:ec2::254", "fd00:ec2::254", 1 },
	{ "+fd00:ec2::254", "fd00:ec2::253", 0 },
	{ "+100.100.100.200", "100.100.100.200", 1 },
	{ "+100.100.100.200", "64:ff9b::100.100.100.200", 1 },
	{ "+168.63.129.16/32", "168.63.129.16", 1 },
	{ "+fd20:ce::254/128", "fd20:ce::254", 1 },
	{ "+fd20:ce::254/128", "fd00:42::42", 0 },
	/* this host, multicast */
	{ "+::/128", "::", 1 },
	{ "+0.0.0.0/8", "0.0.0.0", 1 },
	{ "+0.0.0.0/8", "::ffff:0.0.0.0", 1 },
	{ "+ff02::/16", "ff02::1", 1 },
	{ "+ff02::/16", "ff05::1", 0 },
	{ "+224.0.0.0/4", "224.0.0.251", 1 },
	{ "+224.0.0.0/4", "255.255.255.255", 0 },
	/* an allow for the IPv6 form does not reopen the IPv4 inside */
	{ "+::/0", "::ffff:127.0.0.1", 0 },
	{ "+::/0", "64:ff9b::7f00:1", 0 },
	{ "+::/0", "2002:7f00:1::1", 0 },
	{ "+::/0", "::1", 1 },
	{ "+::/0", "fe80::1", 1 },
	{ "+::/0", "64:ff9b::8.8.8.8", 1 },
	/* a deny for an IPv4 range closes its IPv6 spellings */
	{ "-10.0.0.0/8", "10.1.2.3", 0 },
	{ "-10.0.0.0/8", "::ffff:10.1.2.3", 0 },
	{ "-10.0.0.0/8", "::10.1.2.3", 0 },
	{ "-10.0.0.0/8", "64:ff9b::10.1.2.3", 0 },
	{ "-10.0.0.0/8", "64:ff9b:1::10.1.2.3", 0 },
	{ "-10.0.0.0/8", "2002:a01:203::1", 0 },
	{ "-10.0.0.0/8", "2001:0:a01:203::f7f7:f7f7", 0 },
	{ "-10.0.0.0/8", "2001:0:808:808::f5fe:fdfc", 0 },
	{ "-10.0.0.0/8", "11.0.0.1", 1 },
	{ "-10.0.0.0/8", "64:ff9b::b00:1", 1 },
	/* the first matching rule wins, as test_policy.sh configures */
	{ "-127.0.0.2/32 +127.0.0.0/8", "127.0.0.1", 1 },
	{ "-127.0.0.2/32 +127.0.0.0/8", "64:ff9b::127.0.0.1", 1 },
	{ "-127.0.0.2/32 +127.0.0.0/8", "127.0.0.2", 0 },
	{ "-127.0.0.2/32 +127.0.0.0/8", "::ffff:127.0.0.2", 0 },
	{ "-127.0.0.2/32 +127.0.0.0/8", "64:ff9b::127.0.0.2", 0 },
	{ "-127.0.0.2/32 +127.0.0.0/8", "2002:7f00:2::1", 0 },
	{ "+127.0.0.0/8 -127.0.0.2/32", "127.0.0.2", 1 },
	/* a deny of the IPv6 prefix itself */
	{ "-64:ff9b::/96", "64:ff9b::8.8.8.8", 0 },
	{ "-64:ff9b::/96", "8.8.8.8", 1 },
};

static void add_rules(struct policy *p, const char *rules)
{
	char buf[128], *save = NULL;
	struct cidr c;

	snprintf(buf, sizeof(buf), "%s", rules);
	for (char *t = strtok_r(buf, " ", &save); t;
	     t = strtok_r(NULL, " ", &save)) {
		CHECK_EQ(cidr_parse(t + 1, &c), 0);
		policy_add(p, &c, t[0] == '+');
	}
}

static void test_rules(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct policy p = { 0 };
		int got;

		add_rules(&p, cases[i].rules);
		got = allows(&p, cases[i].ip);
		if (got != cases[i].want)
			fprintf(stderr, "  rules \"%s\", %s\n", cases[i].rules,
				cases[i].ip);
		CHECK_EQ(got, cases[i].want);
		policy_free(&p);
		CHECK_EQ(p.n, 0);
	}
}

int main(void)
{
	test_defaults();
	test_rules();
	return test_summary("test_policy");
}
