/* libFuzzer target: addresses and CIDR ranges (common/addr.c).
 *
 * The input is read twice: as text (up to its first NUL) for the
 * parsers of config values, and as bytes for the SOCKS5/tunnel wire form.
 *
 *  - addr_parse (with and without a default port), addr_parse_host: what
 *    they accept is well formed, prints with addr_str and parses back to
 *    the same address; its wire form decodes back to it; its sockaddr
 *    converts back to it.
 *  - addr_decode: what it accepts encodes back to the same bytes; every
 *    shorter prefix needs more (or is refused the same way), with the
 *    bytes past it poisoned; addr_str never truncates.
 *  - cidr_parse: prefix in range, host bits clear, prints and parses back
 *    to itself, and matches its own address. cidr_match is compared with
 *    a plain bit-by-bit model for a sockaddr made of input bytes. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "../../common/addr.h"

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* addr_str into a block of exactly len bytes: no overflow, always NUL
 * terminated, and at full size never truncated. */
static void check_str(const struct addr *a, char *full)
{
	size_t len;

	addr_str(a, full, ADDR_STR_MAX);
	FUZZ_ASSERT(strlen(full) < ADDR_STR_MAX - 1);
	for (len = 1; len < 8; len++) {
		char *s = malloc(len);

		FUZZ_ASSERT(s != NULL);
		addr_str(a, s, len);
		FUZZ_ASSERT(strlen(s) < len);
		free(s);
	}
}

/* Wire form: encodes into exact room (not one byte less) and decodes
 * back to the same address. */
static void check_wire(const struct addr *a)
{
	uint8_t tmp[ADDR_WIRE_MAX];
	struct addr b;
	uint8_t *out;
	int n;

	n = addr_encode(a, tmp, sizeof(tmp));
	FUZZ_ASSERT(n > 0);
	out = fuzz_dup(tmp, (size_t)n);
	FUZZ_ASSERT(addr_encode(a, out, (size_t)n) == n);
	FUZZ_ASSERT(addr_decode(out, (size_t)n, &b) == n);
	fuzz_same_addr(a, &b);
	FUZZ_ASSERT(addr_encode(a, out, (size_t)n - 1) == -1);
	free(out);
}

/* sockaddr and back; an IPv4-mapped IPv6 address comes back as IPv4. */
static void check_sockaddr(const struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	struct addr b;
	char s1[ADDR_STR_MAX], s2[ADDR_STR_MAX];

	if (a->type == ADDR_DOMAIN) {
		FUZZ_ASSERT(addr_to_sockaddr(a, &ss, &sl) == -1);
		return;
	}
	FUZZ_ASSERT(addr_to_sockaddr(a, &ss, &sl) == 0);
	FUZZ_ASSERT(sl == (a->type == ADDR_IPV4 ? sizeof(struct sockaddr_in) :
						  sizeof(struct sockaddr_in6)));
	addr_from_sockaddr(&b, (struct sockaddr *)&ss);
	if (a->type == ADDR_IPV6 && !memcmp(a->u.v6, v4mapped, 12)) {
		FUZZ_ASSERT(b.type == ADDR_IPV4 && b.port == a->port &&
			    !memcmp(b.u.v4, a->u.v6 + 12, 4));
	} else {
		fuzz_same_addr(a, &b);
		addr_str(a, s1, sizeof(s1));
		sockaddr_str((struct sockaddr *)&ss, s2, sizeof(s2));
		FUZZ_ASSERT(!strcmp(s1, s2));
	}
}

/* A text address accepted by addr_parse. */
static void check_parsed(const struct addr *a, uint16_t default_port)
{
	char s[ADDR_STR_MAX];
	struct addr b;

	fuzz_valid_addr(a);
	if (a->type == ADDR_DOMAIN)
		FUZZ_ASSERT(strlen(a->u.domain) == a->len);
	check_str(a, s);
	/* what we print, we read back (with or without a default port) */
	FUZZ_ASSERT(addr_parse(s, 0, &b) == 0);
	fuzz_same_addr(a, &b);
	FUZZ_ASSERT(addr_parse(s, default_port ? default_port : 1, &b) == 0);
	fuzz_same_addr(a, &b);
	check_wire(a);
	check_sockaddr(a);
	(void)addr_is_loopback_host(a);
}

static void check_text(const char *s)
{
	struct addr a, b;
	char host[ADDR_STR_MAX];

	if (addr_parse(s, 0, &a) == 0) {
		check_parsed(&a, 0);
		/* a port given is a port kept, whatever the default */
		FUZZ_ASSERT(addr_parse(s, 8080, &b) == 0);
		fuzz_same_addr(&a, &b);
	}
	if (addr_parse(s, 1080, &a) == 0)
		check_parsed(&a, 1080);
	if (addr_parse_host(s, &a) == 0) {
		fuzz_valid_addr(&a);
		FUZZ_ASSERT(a.port == 0);
		/* the printed host (without ":0") reads back the same */
		check_str(&a, host);
		*strrchr(host, ':') = '\0';
		FUZZ_ASSERT(addr_parse_host(host, &b) == 0);
		fuzz_same_addr(&a, &b);
		check_wire(&a);
	}
}

/* Wire form as the peer sends it. */
static void check_bytes(const uint8_t *in, size_t len)
{
	uint8_t *buf = fuzz_dup(in, len);
	uint8_t out[ADDR_WIRE_MAX];
	char s[ADDR_STR_MAX];
	struct addr a, b;
	int n, r;
	size_t k;

	n = addr_decode(buf, len, &a);
	FUZZ_ASSERT(n >= -1 && n <= (int)len && n <= ADDR_WIRE_MAX);
	if (n > 0) {
		fuzz_valid_addr(&a);
		FUZZ_ASSERT(addr_encode(&a, out, sizeof(out)) == n);
		FUZZ_ASSERT(!memcmp(out, buf, (size_t)n));
		check_str(&a, s);
		check_sockaddr(&a);
		(void)addr_is_loopback_host(&a);
	}
	for (k = 0; k < (n > 0 ? (size_t)n : len) && k <= ADDR_WIRE_MAX; k++) {
		fuzz_clip(buf, len, k);
		r = addr_decode(buf, k, &b);
		FUZZ_ASSERT(r == 0 || (n < 0 && r == n));
	}
	fuzz_clip(buf, len, len);
	free(buf);
}

/* cidr_match by the book: same family (an IPv4-mapped IPv6 peer counts
 * as IPv4 for an IPv4 range), then the first prefix bits equal. */
static bool model_match(const struct cidr *c, int family, const uint8_t *b)
{
	uint8_t v4[4];
	int i;

	if (family == AF_INET6 && c->family == AF_INET &&
	    !memcmp(b, v4mapped, 12)) {
		memcpy(v4, b + 12, 4);
		b = v4;
		family = AF_INET;
	}
	if (family != c->family)
		return false;
	for (i = 0; i < c->prefix; i++) {
		int bit = 7 - i % 8;

		if (((b[i / 8] >> bit) & 1) != ((c->bytes[i / 8] >> bit) & 1))
			return false;
	}
	return true;
}

static bool match_bytes(const struct cidr *c, int family, const uint8_t *b)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, b, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, b, 16);
	return cidr_match(c, (struct sockaddr *)&ss);
}

static void check_cidr(const char *s, const uint8_t *raw, size_t rawlen)
{
	char text[INET6_ADDRSTRLEN + 8], host[INET6_ADDRSTRLEN];
	uint8_t b[16];
	struct cidr c, d;
	struct addr a;
	int max, i;

	if (cidr_parse(s, &c))
		return;
	FUZZ_ASSERT(c.family == AF_INET || c.family == AF_INET6);
	max = c.family == AF_INET ? 32 : 128;
	FUZZ_ASSERT(c.prefix >= 0 && c.prefix <= max);
	for (i = c.prefix; i < 128; i++)
		FUZZ_ASSERT(!(c.bytes[i / 8] & (0x80 >> (i % 8))));
	/* printed and parsed again: the same range */
	inet_ntop(c.family, c.bytes, host, sizeof(host));
	snprintf(text, sizeof(text), "%s/%d", host, c.prefix);
	FUZZ_ASSERT(cidr_parse(text, &d) == 0);
	FUZZ_ASSERT(d.family == c.family && d.prefix == c.prefix &&
		    !memcmp(d.bytes, c.bytes, 16));
	/* the range holds its own network address and the address it was
	 * written with */
	FUZZ_ASSERT(match_bytes(&c, c.family, c.bytes));
	snprintf(text, sizeof(text), "%.*s", (int)strcspn(s, "/"), s);
	if (addr_parse_host(text, &a) == 0 && a.type != ADDR_DOMAIN) {
		struct sockaddr_storage ss;
		socklen_t sl;

		FUZZ_ASSERT(addr_to_sockaddr(&a, &ss, &sl) == 0);
		FUZZ_ASSERT(cidr_match(&c, (struct sockaddr *)&ss));
	}
	/* an address from the input's bytes: the model decides */
	memset(b, 0, sizeof(b));
	memcpy(b, raw, rawlen < 16 ? rawlen : 16);
	FUZZ_ASSERT(match_bytes(&c, AF_INET, b) == model_match(&c, AF_INET, b));
	FUZZ_ASSERT(match_bytes(&c, AF_INET6, b) ==
		    model_match(&c, AF_INET6, b));
	memcpy(b, v4mapped, 12); /* and the same bytes as IPv4-mapped */
	FUZZ_ASSERT(match_bytes(&c, AF_INET6, b) ==
		    model_match(&c, AF_INET6, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	size_t n = strlen(s);

	check_text(s);
	/* for cidr_match, the bytes after the text (or its last 16) */
	if (n < size)
		check_cidr(s, data + n + 1, size - n - 1);
	else
		check_cidr(s, data + (size > 16 ? size - 16 : 0),
			   size > 16 ? 16 : size);
	check_bytes(data, size);
	free(s);
	return 0;
}
