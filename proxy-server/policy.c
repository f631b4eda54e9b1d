#include "policy.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

/* The proxy must not be a door into the VPS itself, nor into the
 * services its cloud provider offers only to the instance. */
static const char *const builtin_deny[] = {
	/* this host (Linux connects 0.0.0.0 and :: to itself), loopback */
	"0.0.0.0/8",
	"127.0.0.0/8",
	"::/128",
	"::1/128",
	/* link-local: also 169.254.169.254, the metadata service of AWS,
	 * GCP, Azure, Oracle, OpenStack and others, and 169.254.42.42
	 * (Scaleway) */
	"169.254.0.0/16",
	"fe80::/10",
	/* multicast reaches the VPS's own listeners (multicast loop) and
	 * its provider's network; the limited broadcast */
	"224.0.0.0/4",
	"ff00::/8",
	"255.255.255.255/32",
	/* metadata and platform services outside link-local: Alibaba
	 * Cloud, Azure's WireServer, AWS's IPv6 metadata, DNS and NTP,
	 * GCP's IPv6 metadata, Scaleway's IPv6 metadata */
	"100.100.100.200/32",
	"168.63.129.16/32",
	"fd00:ec2::254/128",
	"fd00:ec2::253/128",
	"fd00:ec2::123/128",
	"fd20:ce::254/128",
	"fd00:42::42/128",
};

void policy_add(struct policy *p, const struct cidr *net, bool allow)
{
	p->rules = xrealloc(p->rules, (size_t)(p->n + 1) * sizeof(*p->rules));
	p->rules[p->n].net = *net;
	p->rules[p->n].allow = allow;
	p->n++;
}

static struct cidr builtin_nets[ARRAY_SIZE(builtin_deny)];

static void builtin_parse(void)
{
	for (size_t j = 0; j < ARRAY_SIZE(builtin_deny); j++)
		cidr_parse(builtin_deny[j], &builtin_nets[j]);
}

/* Parsed once (UDP checks every datagram), by whichever of the
 * server's workers gets there first. */
static const struct cidr *builtin(size_t i)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, builtin_parse);
	return &builtin_nets[i];
}

/* One address: the first rule that matches, else the built-in list. */
static bool verdict(const struct policy *p, const struct sockaddr *sa)
{
	for (int i = 0; i < p->n; i++)
		if (cidr_match(&p->rules[i].net, sa))
			return p->rules[i].allow;
	for (size_t i = 0; i < ARRAY_SIZE(builtin_deny); i++)
		if (cidr_match(builtin(i), sa))
			return false;
	return true;
}

static bool has_prefix(const uint8_t *b, const uint8_t *pre, size_t n)
{
	return !memcmp(b, pre, n);
}

/* The IPv4 addresses an IPv6 address hands to a translator, a tunnel or
 * the kernel, so that a refused IPv4 address has no IPv6 spelling:
 * IPv4-mapped ::ffff:0:0/96 and IPv4-compatible ::/96 (:: and ::1 are
 * checked as themselves), NAT64 64:ff9b::/96 (RFC 6052) and the local
 * 64:ff9b:1::/48 (RFC 8215) read in the /96 layout, the last 32 bits
 * (other RFC 6052 layouts inside it depend on the site and are not
 * guessed), 6to4 2002::/16 (bits 16-47) and Teredo 2001::/32 (server
 * in bits 32-63, client in the last 32 bits inverted). Returns how
 * many were written to v4. */
static int embedded_v4(const uint8_t *b, uint8_t v4[2][4])
{
	static const uint8_t zero[12];
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	static const uint8_t sixto4[2] = { 0x20, 0x02 };
	static const uint8_t teredo[4] = { 0x20, 0x01, 0, 0 };

	if (has_prefix(b, mapped, 12) || has_prefix(b, nat64, 12) ||
	    has_prefix(b, nat64_local, 6) ||
	    (has_prefix(b, zero, 12) &&
	     (!has_prefix(b + 12, zero, 3) || b[15] > 1))) {
		memcpy(v4[0], b + 12, 4);
		return 1;
	}
	if (has_prefix(b, sixto4, 2)) {
		memcpy(v4[0], b + 2, 4);
		return 1;
	}
	if (has_prefix(b, teredo, 4)) {
		memcpy(v4[0], b + 4, 4);
		for (int i = 0; i < 4; i++)
			v4[1][i] = (uint8_t)~b[12 + i];
		return 2;
	}
	return 0;
}

bool policy_allows(const struct policy *p, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	struct sockaddr_in sin;
	uint8_t v4[2][4];
	int n;

	if (!verdict(p, sa))
		return false;
	if (sa->sa_family != AF_INET6)
		return true;
	n = embedded_v4(sin6->sin6_addr.s6_addr, v4);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	for (int i = 0; i < n; i++) {
		memcpy(&sin.sin_addr, v4[i], 4);
		if (!verdict(p, (const struct sockaddr *)&sin))
			return false;
	}
	return true;
}

void policy_free(struct policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->n = 0;
}
