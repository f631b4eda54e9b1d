/* Addresses: text forms, the SOCKS5 wire form, sockaddrs and CIDR
 * ranges. Pure functions; nothing here opens a socket or logs. */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define DNS_LABEL_MAX 63

/* The text between s and s + len as a C string; -1 if it does not fit. */
static int copy_str(const char *s, size_t len, char *out, size_t cap)
{
	if (len >= cap)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Labels of [A-Za-z0-9_-], 1..63 bytes, separated by single dots, one
 * trailing dot allowed. A name whose last label is all digits is not a
 * host name but a numeric form resolvers would read as an IPv4 address
 * ("127.1"), so it is refused. */
static int check_domain(const char *s, size_t len)
{
	size_t i, label = 0;
	bool digits = true;

	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return -1;
	if (s[len - 1] == '.')
		len--;
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
			digits = true;
			continue;
		}
		if (!is_name_char(s[i]) || ++label > DNS_LABEL_MAX)
			return -1;
		if (s[i] < '0' || s[i] > '9')
			digits = false;
	}
	if (label == 0 || digits)
		return -1;
	return 0;
}

/* An IP literal or a domain name of len bytes (no brackets, no port). */
static int parse_host(const char *s, size_t len, struct addr *a)
{
	char tmp[ADDR_DOMAIN_MAX + 1];

	if (copy_str(s, len, tmp, sizeof(tmp)))
		return -1;
	if (inet_pton(AF_INET, tmp, a->u.v4) == 1) {
		a->type = ADDR_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, a->u.v6) == 1) {
		a->type = ADDR_IPV6;
		return 0;
	}
	if (check_domain(s, len))
		return -1;
	a->type = ADDR_DOMAIN;
	a->len = (uint8_t)len;
	memcpy(a->u.domain, tmp, len + 1);
	return 0;
}

static int parse_v6(const char *s, size_t len, struct addr *a)
{
	char tmp[INET6_ADDRSTRLEN];

	if (copy_str(s, len, tmp, sizeof(tmp)) ||
	    inet_pton(AF_INET6, tmp, a->u.v6) != 1)
		return -1;
	a->type = ADDR_IPV6;
	return 0;
}

/* Decimal 0..65535, digits only. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long n = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > 65535)
			return -1;
	}
	*port = (uint16_t)n;
	return 0;
}

static void set_wildcard(struct addr *a)
{
	a->type = ADDR_IPV6;
	memset(a->u.v6, 0, sizeof(a->u.v6));
}

/* "[v6]" or "[v6]:port". */
static int parse_bracketed(const char *s, uint16_t default_port, struct addr *a)
{
	const char *end = strchr(s, ']');

	if (!end || parse_v6(s + 1, (size_t)(end - s - 1), a))
		return -1;
	if (end[1] == '\0') {
		a->port = default_port;
		return default_port ? 0 : -1;
	}
	if (end[1] != ':')
		return -1;
	return parse_port(end + 2, &a->port);
}

int addr_parse(const char *s, uint16_t default_port, struct addr *a)
{
	const char *colon;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[')
		return parse_bracketed(s, default_port, a);
	colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* more than one ':': a bare IPv6 literal, no port */
		if (!default_port || parse_v6(s, strlen(s), a))
			return -1;
		a->port = default_port;
		return 0;
	}
	if (!colon) {
		if (!default_port)
			return -1;
		a->port = default_port;
		if (!strcmp(s, "*")) {
			set_wildcard(a);
			return 0;
		}
		return parse_host(s, strlen(s), a);
	}
	if (parse_port(colon + 1, &a->port))
		return -1;
	if (colon == s || (colon == s + 1 && s[0] == '*')) {
		set_wildcard(a);
		return 0;
	}
	return parse_host(s, (size_t)(colon - s), a);
}

int addr_parse_host(const char *s, struct addr *a)
{
	size_t len = strlen(s);

	memset(a, 0, sizeof(*a));
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
		return parse_v6(s + 1, len - 2, a);
	return parse_host(s, len, a);
}

int addr_encode(const struct addr *a, uint8_t *out, size_t cap)
{
	size_t n;

	switch (a->type) {
	case ADDR_IPV4:
		n = 1 + 4 + 2;
		if (cap < n)
			return -1;
		memcpy(out + 1, a->u.v4, 4);
		break;
	case ADDR_IPV6:
		n = 1 + 16 + 2;
		if (cap < n)
			return -1;
		memcpy(out + 1, a->u.v6, 16);
		break;
	case ADDR_DOMAIN:
		n = 1 + 1 + (size_t)a->len + 2;
		if (a->len == 0 || cap < n)
			return -1;
		out[1] = a->len;
		memcpy(out + 2, a->u.domain, a->len);
		break;
	default:
		return -1;
	}
	out[0] = a->type;
	put_be16(out + n - 2, a->port);
	return (int)n;
}

int addr_decode(const uint8_t *in, size_t len, struct addr *a)
{
	size_t n;

	if (len < 1)
		return 0;
	switch (in[0]) {
	case ADDR_IPV4:
		n = 1 + 4 + 2;
		break;
	case ADDR_IPV6:
		n = 1 + 16 + 2;
		break;
	case ADDR_DOMAIN:
		if (len < 2)
			return 0;
		if (in[1] == 0)
			return -1;
		n = 1 + 1 + (size_t)in[1] + 2;
		break;
	default:
		return -1;
	}
	if (len < n)
		return 0;
	memset(a, 0, sizeof(*a));
	a->type = in[0];
	a->port = get_be16(in + n - 2);
	if (a->type == ADDR_IPV4) {
		memcpy(a->u.v4, in + 1, 4);
	} else if (a->type == ADDR_IPV6) {
		memcpy(a->u.v6, in + 1, 16);
	} else {
		if (memchr(in + 2, '\0', in[1]))
			return -1;
		a->len = in[1];
		memcpy(a->u.domain, in + 2, a->len);
		a->u.domain[a->len] = '\0';
	}
	return (int)n;
}

int addr_to_sockaddr(const struct addr *a, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->type == ADDR_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->u.v4, 4);
		*len = sizeof(*sin);
		return 0;
	}
	if (a->type == ADDR_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		memcpy(&sin6->sin6_addr, a->u.v6, 16);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff };

socklen_t sockaddr_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) :
				   sizeof(struct sockaddr_in6);
}

void addr_from_sockaddr(struct addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		a->type = ADDR_IPV4;
		a->port = ntohs(sin->sin_port);
		memcpy(a->u.v4, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		const uint8_t *b = sin6->sin6_addr.s6_addr;

		a->port = ntohs(sin6->sin6_port);
		if (!memcmp(b, v4mapped_prefix, 12)) {
			a->type = ADDR_IPV4;
			memcpy(a->u.v4, b + 12, 4);
		} else {
			a->type = ADDR_IPV6;
			memcpy(a->u.v6, b, 16);
		}
	}
}

/* A domain for a log line: bytes outside printable ASCII become '?'. */
static void printable_name(const struct addr *a, char *out)
{
	size_t i;

	for (i = 0; i < a->len && a->u.domain[i]; i++) {
		unsigned char c = (unsigned char)a->u.domain[i];

		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[i] = '\0';
}

const char *addr_str(const struct addr *a, char *buf, size_t len)
{
	char host[ADDR_DOMAIN_MAX + 1];

	if (!len)
		return buf;
	switch (a->type) {
	case ADDR_IPV4:
		inet_ntop(AF_INET, a->u.v4, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, a->port);
		break;
	case ADDR_IPV6:
		inet_ntop(AF_INET6, a->u.v6, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, a->port);
		break;
	case ADDR_DOMAIN:
		printable_name(a, host);
		snprintf(buf, len, "%s:%u", host, a->port);
		break;
	default:
		snprintf(buf, len, "?");
		break;
	}
	return buf;
}

const char *sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	struct addr a;

	addr_from_sockaddr(&a, sa);
	return addr_str(&a, buf, len);
}

bool addr_is_loopback_host(const struct addr *a)
{
	switch (a->type) {
	case ADDR_IPV4:
		return a->u.v4[0] == 127;
	case ADDR_IPV6:
		if (!memcmp(a->u.v6, v4mapped_prefix, 12))
			return a->u.v6[12] == 127;
		return !memcmp(a->u.v6, &in6addr_loopback, 16);
	case ADDR_DOMAIN:
		return !strcasecmp(a->u.domain, "localhost") ||
		       !strcasecmp(a->u.domain, "localhost.");
	}
	return false;
}

static void clear_host_bits(uint8_t *b, int bytes, int prefix)
{
	int i;

	for (i = 0; i < bytes; i++) {
		int keep = prefix - i * 8;

		if (keep <= 0)
			b[i] = 0;
		else if (keep < 8)
			b[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

int cidr_parse(const char *s, struct cidr *c)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char tmp[INET6_ADDRSTRLEN];
	int max;

	memset(c, 0, sizeof(*c));
	if (copy_str(s, alen, tmp, sizeof(tmp)))
		return -1;
	if (inet_pton(AF_INET, tmp, c->bytes) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, c->bytes) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	c->prefix = max;
	if (slash) {
		const char *p = slash + 1;
		int n = 0;

		if (*p == '\0' || strlen(p) > 3)
			return -1;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			n = n * 10 + (*p - '0');
		}
		if (n > max)
			return -1;
		c->prefix = n;
	}
	/* ::ffff:a.b.c.d/96+ is an IPv4 range: keep it as one, so it
	 * matches the way cidr_match() sees mapped peers */
	if (c->family == AF_INET6 && c->prefix >= 96 &&
	    !memcmp(c->bytes, v4mapped_prefix, 12)) {
		memmove(c->bytes, c->bytes + 12, 4);
		memset(c->bytes + 4, 0, 12);
		c->family = AF_INET;
		c->prefix -= 96;
	}
	clear_host_bits(c->bytes, c->family == AF_INET ? 4 : 16, c->prefix);
	return 0;
}

bool cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	uint8_t b[16];
	int family = sa->sa_family, i;

	if (family == AF_INET) {
		memcpy(b,
		       &((const struct sockaddr_in *)(const void *)sa)
				->sin_addr,
		       4);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		memcpy(b, sin6->sin6_addr.s6_addr, 16);
		if (c->family == AF_INET && !memcmp(b, v4mapped_prefix, 12)) {
			memmove(b, b + 12, 4);
			family = AF_INET;
		}
	} else {
		return false;
	}
	if (family != c->family)
		return false;
	clear_host_bits(b, family == AF_INET ? 4 : 16, c->prefix);
	for (i = 0; i < (family == AF_INET ? 4 : 16); i++)
		if (b[i] != c->bytes[i])
			return false;
	return true;
}
