/* Unit tests for common/addr.c: text parsing, the SOCKS5 wire form fed
 * at every split, sockaddr conversion, text forms, loopback, CIDR. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../../common/addr.h"
#include "test.h"

static const char *str(const struct addr *a)
{
	static char buf[ADDR_STR_MAX];

	return addr_str(a, buf, sizeof(buf));
}

/* "a" repeated n times, then suffix */
static char *rep(size_t n, const char *suffix)
{
	char *s = malloc(n + strlen(suffix) + 1);

	memset(s, 'a', n);
	strcpy(s + n, suffix);
	return s;
}

static const struct {
	const char *in;
	uint16_t defport;
	int type;
	const char *out;
} parse_ok[] = {
	{ "1.2.3.4:80", 0, ADDR_IPV4, "1.2.3.4:80" },
	{ "1.2.3.4:80", 9, ADDR_IPV4, "1.2.3.4:80" },
	{ "[::1]:80", 0, ADDR_IPV6, "[::1]:80" },
	{ "name:80", 0, ADDR_DOMAIN, "name:80" },
	{ "[::]:443", 0, ADDR_IPV6, "[::]:443" },
	{ "*:443", 0, ADDR_IPV6, "[::]:443" },
	{ ":443", 0, ADDR_IPV6, "[::]:443" },
	{ "*", 443, ADDR_IPV6, "[::]:443" },
	{ "example.com", 443, ADDR_DOMAIN, "example.com:443" },
	{ "1.2.3.4", 1080, ADDR_IPV4, "1.2.3.4:1080" },
	{ "::1", 53, ADDR_IPV6, "[::1]:53" },
	{ "2606:4700::1111", 53, ADDR_IPV6, "[2606:4700::1111]:53" },
	{ "::", 1, ADDR_IPV6, "[::]:1" },
	{ "[::1]", 53, ADDR_IPV6, "[::1]:53" },
	{ "[2606:4700:4700::1111]:853", 53, ADDR_IPV6,
	  "[2606:4700:4700::1111]:853" },
	{ "[::ffff:1.2.3.4]:80", 0, ADDR_IPV6, "[::ffff:1.2.3.4]:80" },
	{ "host:0", 0, ADDR_DOMAIN, "host:0" },
	{ "host:65535", 0, ADDR_DOMAIN, "host:65535" },
	{ "host:00080", 0, ADDR_DOMAIN, "host:80" },
	{ "0.0.0.0:1", 0, ADDR_IPV4, "0.0.0.0:1" },
	{ "255.255.255.255:2", 0, ADDR_IPV4, "255.255.255.255:2" },
	{ "localhost.:1", 0, ADDR_DOMAIN, "localhost.:1" },
	{ "a-b_c.Example.:8080", 0, ADDR_DOMAIN, "a-b_c.Example.:8080" },
	{ "vps.example.net:443", 0, ADDR_DOMAIN, "vps.example.net:443" },
	{ "1.2.3.example:5", 0, ADDR_DOMAIN, "1.2.3.example:5" },
	{ "123.com:5", 0, ADDR_DOMAIN, "123.com:5" },
	{ "x", 7, ADDR_DOMAIN, "x:7" },
};

static const struct {
	const char *in;
	uint16_t defport;
} parse_bad[] = {
	{ "", 0 },
	{ "", 80 },
	{ "1.2.3.4", 0 },
	{ "name", 0 },
	{ "::1", 0 },
	{ "[::1]", 0 },
	{ "*", 0 },
	{ "1.2.3.4:", 0 },
	{ "1.2.3.4:", 80 },
	{ "1.2.3.4:65536", 0 },
	{ "1.2.3.4:99999", 0 },
	{ "1.2.3.4:-1", 0 },
	{ "1.2.3.4:+1", 0 },
	{ "1.2.3.4:8a", 0 },
	{ "1.2.3.4: 80", 0 },
	{ "1.2.3.4:80 ", 0 },
	{ "1.2.3.4:0x50", 0 },
	{ "1.2.3.4:80:90", 80 },
	{ "[::1]:", 0 },
	{ "[::1]x", 80 },
	{ "[::1]:80x", 0 },
	{ "[::1", 80 },
	{ "::1]:80", 0 },
	{ "[1.2.3.4]:80", 0 },
	{ "[]:80", 0 },
	{ "[name]:80", 0 },
	{ "[::1]]:80", 0 },
	{ "[[::1]:80", 0 },
	{ "ho st:80", 0 },
	{ "host\t:80", 0 },
	{ "a\x01"
	  "b:80",
	  0 },
	{ "a..b:80", 0 },
	{ ".a:80", 0 },
	{ ".:80", 0 },
	{ "..", 80 },
	{ "a/b:80", 0 },
	{ "a:b:80", 0 },
	{ ":::80", 0 },
	{ "*:", 0 },
	{ "**:80", 0 },
	{ "*.example.com:80", 0 },
	{ "fe80::1%eth0", 80 },
	{ "[fe80::1%eth0]:80", 0 },
	{ "127.1:80", 0 },
	{ "127.1", 80 },
	{ "1.2.3:80", 0 },
	{ "01.2.3.4:80", 0 },
	{ "1.2.3.4.:80", 0 },
	{ "1.2.3.256:80", 0 },
	{ "2130706433:80", 0 },
	{ "caf\xc3\xa9:80", 0 },
	{ ":", 0 },
	{ ":0x", 0 },
};

static void test_parse(void)
{
	struct addr a;
	char *s;
	size_t i;

	for (i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
		memset(&a, 0xa5, sizeof(a));
		CHECK_EQ(addr_parse(parse_ok[i].in, parse_ok[i].defport, &a),
			 0);
		CHECK_EQ(a.type, parse_ok[i].type);
		CHECK_STR(str(&a), parse_ok[i].out);
		if (a.type == ADDR_DOMAIN) {
			CHECK_EQ(a.len, strlen(a.u.domain));
			CHECK(strchr(parse_ok[i].in, ':') == NULL ||
			      !strncmp(parse_ok[i].in, a.u.domain, a.len));
		}
	}
	for (i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++) {
		int r = addr_parse(parse_bad[i].in, parse_bad[i].defport, &a);

		CHECK_EQ(r, -1);
		if (r != -1)
			fprintf(stderr, "  accepted \"%s\"\n", parse_bad[i].in);
	}

	/* a port that overflows a 32-bit accumulator stays rejected */
	CHECK_EQ(addr_parse("h:4294967376", 0, &a), -1);

	/* domain length: 255 bytes is the most (labels of 63) */
	s = malloc(300);
	strcpy(s, "");
	for (i = 0; i < 4; i++) {
		memset(s + i * 64, i == 3 ? 'c' : 'b', 63);
		s[i * 64 + 63] = '.';
	}
	s[255] = '\0'; /* four 63-byte labels and three dots */
	CHECK_EQ(strlen(s), 255);
	CHECK_EQ(addr_parse(s, 80, &a), 0);
	CHECK_EQ(a.type, ADDR_DOMAIN);
	CHECK_EQ(a.len, 255);
	CHECK_EQ(a.port, 80);
	CHECK(!memcmp(a.u.domain, s, 256));
	strcat(s, ":81");
	CHECK_EQ(addr_parse(s, 0, &a), 0);
	CHECK_EQ(a.len, 255);
	CHECK_EQ(a.port, 81);
	s[255] = '.'; /* 256 bytes, even if the last is a root dot */
	s[256] = '\0';
	CHECK_EQ(addr_parse(s, 80, &a), -1);
	s[255] = '\0';
	s[254] = '.'; /* 255 with a trailing dot is fine */
	CHECK_EQ(addr_parse(s, 80, &a), 0);
	s[254] = 'c';
	s[255] = '.';
	strcat(s, ":81");
	CHECK_EQ(addr_parse(s, 0, &a), -1);
	free(s);

	/* a label is at most 63 bytes */
	s = rep(63, ".com:1");
	CHECK_EQ(addr_parse(s, 0, &a), 0);
	free(s);
	s = rep(64, ".com:1");
	CHECK_EQ(addr_parse(s, 0, &a), -1);
	free(s);
	s = rep(1000, ":1");
	CHECK_EQ(addr_parse(s, 0, &a), -1);
	free(s);
}

static void test_parse_host(void)
{
	static const struct {
		const char *in;
		int type;
		const char *out;
	} ok[] = {
		{ "1.2.3.4", ADDR_IPV4, "1.2.3.4:0" },
		{ "::1", ADDR_IPV6, "[::1]:0" },
		{ "[::1]", ADDR_IPV6, "[::1]:0" },
		{ "example.com", ADDR_DOMAIN, "example.com:0" },
		{ "localhost", ADDR_DOMAIN, "localhost:0" },
		{ "example.com.", ADDR_DOMAIN, "example.com.:0" },
	};
	static const char *const bad[] = {
		"",      "*",         "1.2.3.4:80",    "[::1]:80", "[1.2.3.4]",
		"[]",    "[::1",      "a b",           "a..b",     ".",
		"127.1", "ex\nample", "[example.com]",
	};
	struct addr a;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_EQ(addr_parse_host(ok[i].in, &a), 0);
		CHECK_EQ(a.type, ok[i].type);
		CHECK_EQ(a.port, 0);
		CHECK_STR(str(&a), ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(addr_parse_host(bad[i], &a), -1);
}

struct wire {
	const char *text;
	const uint8_t *bytes;
	size_t len;
};

static const uint8_t w_v4[] = { 1, 1, 2, 3, 4, 0, 80 };
static const uint8_t w_v6[] = {
	4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,    0,    0,
	0, 0,    0,    0,    0,    0, 1, 0x01, 0xbb,
};
static const uint8_t w_dom[] = {
	3,   11,  'e', 'x', 'a', 'm',  'p',  'l',
	'e', '.', 'c', 'o', 'm', 0xff, 0xfe,
};
static const uint8_t w_dom1[] = { 3, 1, 'x', 0, 0 };

static const struct wire wires[] = {
	{ "1.2.3.4:80", w_v4, sizeof(w_v4) },
	{ "[2001:db8::1]:443", w_v6, sizeof(w_v6) },
	{ "example.com:65534", w_dom, sizeof(w_dom) },
	{ "x:0", w_dom1, sizeof(w_dom1) },
};

static void check_wire(const struct wire *w)
{
	uint8_t out[ADDR_WIRE_MAX + 8];
	struct addr a, b;
	size_t i;

	CHECK_EQ(addr_parse(w->text, 0, &a), 0);
	CHECK_EQ(addr_encode(&a, out, sizeof(out)), w->len);
	CHECK(!memcmp(out, w->bytes, w->len));
	CHECK_EQ(addr_encode(&a, out, w->len), w->len);
	CHECK_EQ(addr_encode(&a, out, w->len - 1), -1);
	CHECK_EQ(addr_encode(&a, out, 0), -1);

	/* every strict prefix needs more, and leaves b alone */
	for (i = 0; i < w->len; i++) {
		memset(&b, 0x5a, sizeof(b));
		CHECK_EQ(addr_decode(w->bytes, i, &b), 0);
		CHECK_EQ(b.type, 0x5a);
	}
	memset(&b, 0x5a, sizeof(b));
	CHECK_EQ(addr_decode(w->bytes, w->len, &b), w->len);
	CHECK(test_addr_eq(&a, &b));
	CHECK_STR(str(&b), w->text);
}

/* All encodings glued, fed at every split point: the parts decode one
 * after another, consuming exactly their own bytes. */
static void test_wire_glued(void)
{
	uint8_t all[4 * ADDR_WIRE_MAX];
	size_t total = 0, i, split;

	for (i = 0; i < sizeof(wires) / sizeof(wires[0]); i++) {
		memcpy(all + total, wires[i].bytes, wires[i].len);
		total += wires[i].len;
	}
	/* the stream arrives in two chunks split at `split`; a decoder
	 * only ever sees what has arrived so far */
	for (split = 0; split <= total; split++) {
		size_t off = 0, have = split, k = 0;
		int rounds = 0;

		while (off < total && rounds++ < 20) {
			struct addr b;
			int n = addr_decode(all + off, have - off, &b);

			if (n == 0) {
				CHECK(have < total);
				have = total;
				continue;
			}
			CHECK_EQ(n, wires[k].len);
			if (n <= 0)
				break;
			CHECK_STR(str(&b), wires[k].text);
			off += (size_t)n;
			k++;
		}
		CHECK_EQ(off, total);
		CHECK_EQ(k, sizeof(wires) / sizeof(wires[0]));
	}
}

static void test_wire(void)
{
	static const uint8_t zero_len[] = { 3, 0, 0, 80 };
	static const uint8_t has_nul[] = { 3, 3, 'a', 0, 'b', 0, 80 };
	static const uint8_t trailing[] = { 1, 10, 0, 0, 1, 0x1f, 0x90, 9 };
	uint8_t buf[ADDR_WIRE_MAX], big[ADDR_WIRE_MAX + 1];
	struct addr a;
	size_t i;
	int t;

	for (i = 0; i < sizeof(wires) / sizeof(wires[0]); i++)
		check_wire(&wires[i]);
	test_wire_glued();

	/* unknown ATYP fails as soon as the first byte is there */
	for (t = 0; t < 256; t++) {
		uint8_t one = (uint8_t)t;

		if (t == 1 || t == 3 || t == 4)
			continue;
		CHECK_EQ(addr_decode(&one, 1, &a), -1);
	}
	CHECK_EQ(addr_decode(zero_len, 2, &a), -1);
	CHECK_EQ(addr_decode(zero_len, sizeof(zero_len), &a), -1);
	CHECK_EQ(addr_decode(has_nul, sizeof(has_nul), &a), -1);
	CHECK_EQ(addr_decode(trailing, sizeof(trailing), &a), 7);
	CHECK_STR(str(&a), "10.0.0.1:8080");
	CHECK_EQ(addr_decode(NULL, 0, &a), 0);

	/* the longest domain, 255 bytes; every prefix needs more */
	big[0] = 3;
	big[1] = 255;
	memset(big + 2, 'q', 255);
	big[257] = 0x12;
	big[258] = 0x34;
	big[259] = 0xee;
	for (i = 0; i < ADDR_WIRE_MAX; i++)
		CHECK_EQ(addr_decode(big, i, &a), 0);
	CHECK_EQ(addr_decode(big, sizeof(big), &a), ADDR_WIRE_MAX);
	CHECK_EQ(a.type, ADDR_DOMAIN);
	CHECK_EQ(a.len, 255);
	CHECK_EQ(a.port, 0x1234);
	CHECK_EQ(strlen(a.u.domain), 255);
	CHECK_EQ(addr_encode(&a, buf, sizeof(buf)), ADDR_WIRE_MAX);
	CHECK(!memcmp(buf, big, ADDR_WIRE_MAX));

	/* decoded bytes outside [A-Za-z0-9._-] survive, but print safely */
	{
		static const uint8_t odd[] = {
			3, 4, 'a', '\n', 0x80, 'b', 0, 1,
		};

		CHECK_EQ(addr_decode(odd, sizeof(odd), &a), 8);
		CHECK_EQ(a.len, 4);
		CHECK(!memcmp(a.u.domain,
			      "a\n\x80"
			      "b",
			      5));
		CHECK_STR(str(&a), "a??b:1");
	}

	/* what encode refuses */
	memset(&a, 0, sizeof(a));
	CHECK_EQ(addr_encode(&a, buf, sizeof(buf)), -1);
	a.type = ADDR_DOMAIN;
	CHECK_EQ(addr_encode(&a, buf, sizeof(buf)), -1);
	a.type = 2;
	CHECK_EQ(addr_encode(&a, buf, sizeof(buf)), -1);
}

static void make_sa(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		CHECK_EQ(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		CHECK_EQ(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
}

static void test_sockaddr(void)
{
	static const char *const round[] = {
		"1.2.3.4:80", "[::1]:443", "[2001:db8::1]:65535",
		"0.0.0.0:0",  "[::]:1",    "[::ffff:1.2.3.4]:80",
	};
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	socklen_t len;
	struct addr a, b;
	char buf[ADDR_STR_MAX];
	size_t i;

	for (i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		CHECK_EQ(addr_parse(round[i], 0, &a), 0);
		len = 0;
		CHECK_EQ(addr_to_sockaddr(&a, &ss, &len), 0);
		CHECK_EQ(ss.ss_family,
			 a.type == ADDR_IPV4 ? AF_INET : AF_INET6);
		CHECK_EQ(len, a.type == ADDR_IPV4 ?
				      sizeof(struct sockaddr_in) :
				      sizeof(struct sockaddr_in6));
		addr_from_sockaddr(&b, (struct sockaddr *)&ss);
		if (i == 5) {
			/* the mapped address comes back as IPv4 */
			CHECK_EQ(b.type, ADDR_IPV4);
			CHECK_STR(str(&b), "1.2.3.4:80");
			CHECK_STR(sockaddr_str((struct sockaddr *)&ss, buf,
					       sizeof(buf)),
				  "1.2.3.4:80");
		} else {
			CHECK(test_addr_eq(&a, &b));
			CHECK_STR(sockaddr_str((struct sockaddr *)&ss, buf,
					       sizeof(buf)),
				  round[i]);
		}
	}
	CHECK_EQ(addr_parse("example.com:80", 0, &a), 0);
	CHECK_EQ(addr_to_sockaddr(&a, &ss, &len), -1);

	make_sa("1.2.3.4", 8080, &ss);
	CHECK_STR(sockaddr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
		  "1.2.3.4:8080");
	make_sa("fe80::1", 53, &ss);
	CHECK_STR(sockaddr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
		  "[fe80::1]:53");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_from_sockaddr(&a, (struct sockaddr *)&sun);
	CHECK_EQ(a.type, 0);
	CHECK_STR(sockaddr_str((struct sockaddr *)&sun, buf, sizeof(buf)), "?");

	/* text forms are cut to the buffer and stay terminated */
	CHECK_EQ(addr_parse("[2001:db8::1]:443", 0, &a), 0);
	CHECK_STR(addr_str(&a, buf, 6), "[2001");
	CHECK_STR(addr_str(&a, buf, 1), "");
	buf[0] = 'z';
	CHECK(addr_str(&a, buf, 0) == buf);
	CHECK_EQ(buf[0], 'z');
}

static void test_loopback(void)
{
	static const struct {
		const char *host;
		bool loop;
	} cases[] = {
		{ "127.0.0.1", true },
		{ "127.255.255.254", true },
		{ "127.1.2.3", true },
		{ "128.0.0.1", false },
		{ "126.255.255.255", false },
		{ "0.0.0.0", false },
		{ "10.0.0.1", false },
		{ "::1", true },
		{ "::", false },
		{ "::2", false },
		{ "::ffff:127.0.0.1", true },
		{ "::ffff:127.9.9.9", true },
		{ "::ffff:10.0.0.1", false },
		{ "fe80::1", false },
		{ "localhost", true },
		{ "LocalHost", true },
		{ "localhost.", true },
		{ "LOCALHOST.", true },
		{ "localhostx", false },
		{ "foo.localhost", false },
		{ "localhost.com", false },
		{ "example.com", false },
	};
	struct addr a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(addr_parse_host(cases[i].host, &a), 0);
		CHECK_EQ(addr_is_loopback_host(&a), cases[i].loop);
	}
	memset(&a, 0, sizeof(a));
	CHECK(!addr_is_loopback_host(&a));
}

static const struct {
	const char *in;
	int family, prefix;
	const char *net;
} cidr_ok[] = {
	{ "10.0.0.0/8", AF_INET, 8, "10.0.0.0" },
	{ "10.1.2.3/8", AF_INET, 8, "10.0.0.0" },
	{ "192.168.1.129/25", AF_INET, 25, "192.168.1.128" },
	{ "192.168.1.255/31", AF_INET, 31, "192.168.1.254" },
	{ "1.2.3.4", AF_INET, 32, "1.2.3.4" },
	{ "1.2.3.4/32", AF_INET, 32, "1.2.3.4" },
	{ "255.255.255.255/0", AF_INET, 0, "0.0.0.0" },
	{ "10.0.0.0/08", AF_INET, 8, "10.0.0.0" },
	{ "::1/128", AF_INET6, 128, "::1" },
	{ "::1", AF_INET6, 128, "::1" },
	{ "fe80::/10", AF_INET6, 10, "fe80::" },
	{ "febf:ffff::1/10", AF_INET6, 10, "fe80::" },
	{ "2001:db8:ffff::/33", AF_INET6, 33, "2001:db8:8000::" },
	{ "::/0", AF_INET6, 0, "::" },
	{ "ffff::1/127", AF_INET6, 127, "ffff::" },
	/* IPv4-mapped ranges become IPv4 ranges */
	{ "::ffff:10.9.8.7/104", AF_INET, 8, "10.0.0.0" },
	{ "::ffff:0:0/96", AF_INET, 0, "0.0.0.0" },
	{ "::ffff:1.2.3.4", AF_INET, 32, "1.2.3.4" },
	{ "::ffff:0:0/95", AF_INET6, 95, "::fffe:0:0" },
};

static const char *const cidr_bad[] = {
	"",
	"/8",
	"10.0.0.0/",
	"10.0.0.0/33",
	"::/129",
	"10.0.0.0/8x",
	"10.0.0.0/-1",
	"10.0.0.0/+8",
	"10.0.0.0/ 8",
	"10.0.0.0 /8",
	"10.0.0/8",
	"10.0.0.0/0008",
	"host/8",
	"[::1]/128",
	"10.0.0.0/8/8",
	"10.0.0.0//8",
	" 10.0.0.0/8",
	"fe80::1%eth0/64",
	"::/1280",
	"1.2.3.4.5/32",
};

static void test_cidr_parse(void)
{
	struct cidr c;
	uint8_t want[16];
	char *s;
	size_t i;

	for (i = 0; i < sizeof(cidr_ok) / sizeof(cidr_ok[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		CHECK_EQ(cidr_parse(cidr_ok[i].in, &c), 0);
		CHECK_EQ(c.family, cidr_ok[i].family);
		CHECK_EQ(c.prefix, cidr_ok[i].prefix);
		memset(want, 0, sizeof(want));
		CHECK_EQ(inet_pton(c.family, cidr_ok[i].net, want), 1);
		CHECK(!memcmp(c.bytes, want, sizeof(want)));
	}
	for (i = 0; i < sizeof(cidr_bad) / sizeof(cidr_bad[0]); i++) {
		int r = cidr_parse(cidr_bad[i], &c);

		CHECK_EQ(r, -1);
		if (r != -1)
			fprintf(stderr, "  accepted \"%s\"\n", cidr_bad[i]);
	}
	s = rep(500, "/8");
	CHECK_EQ(cidr_parse(s, &c), -1);
	free(s);
}

static bool match(const char *cidr, const char *ip)
{
	struct sockaddr_storage ss;
	struct cidr c;

	CHECK_EQ(cidr_parse(cidr, &c), 0);
	make_sa(ip, 1234, &ss);
	return cidr_match(&c, (struct sockaddr *)&ss);
}

static void test_cidr_match(void)
{
	static const struct {
		const char *cidr, *ip;
		bool match;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0", true },
		{ "10.0.0.0/8", "10.255.255.255", true },
		{ "10.0.0.0/8", "11.0.0.0", false },
		{ "10.0.0.0/8", "9.255.255.255", false },
		{ "10.0.0.0/8", "::ffff:10.1.1.1", true },
		{ "10.0.0.0/8", "::ffff:11.1.1.1", false },
		{ "10.0.0.0/8", "::a01:101", false }, /* v4-compatible */
		{ "10.0.0.0/8", "::1", false },
		{ "127.0.0.0/8", "::1", false },
		{ "192.168.1.128/25", "192.168.1.128", true },
		{ "192.168.1.128/25", "192.168.1.255", true },
		{ "192.168.1.128/25", "192.168.1.127", false },
		{ "1.2.3.4", "1.2.3.4", true },
		{ "1.2.3.4", "1.2.3.5", false },
		{ "0.0.0.0/0", "255.1.2.3", true },
		{ "0.0.0.0/0", "::ffff:255.1.2.3", true },
		{ "0.0.0.0/0", "::1", false },
		{ "fe80::/10", "fe80::1", true },
		{ "fe80::/10", "febf:ffff::1", true },
		{ "fe80::/10", "fec0::1", false },
		{ "fe80::/10", "fe40::1", false },
		{ "::1/128", "::1", true },
		{ "::1/128", "::", false },
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "1.2.3.4", false },
		{ "::/0", "::ffff:1.2.3.4", true },
		{ "::1", "127.0.0.1", false },
		{ "::ffff:10.0.0.0/104", "10.2.3.4", true },
		{ "::ffff:10.0.0.0/104", "::ffff:10.2.3.4", true },
		{ "::ffff:10.0.0.0/104", "11.2.3.4", false },
		{ "2001:db8::/127", "2001:db8::1", true },
		{ "2001:db8::/127", "2001:db8::2", false },
	};
	struct sockaddr_un sun;
	struct cidr c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool m = match(cases[i].cidr, cases[i].ip);

		CHECK_EQ(m, cases[i].match);
		if (m != cases[i].match)
			fprintf(stderr, "  %s vs %s\n", cases[i].cidr,
				cases[i].ip);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK_EQ(cidr_parse("0.0.0.0/0", &c), 0);
	CHECK(!cidr_match(&c, (struct sockaddr *)&sun));
	CHECK_EQ(cidr_parse("::/0", &c), 0);
	CHECK(!cidr_match(&c, (struct sockaddr *)&sun));
}

int main(void)
{
	test_parse();
	test_parse_host();
	test_wire();
	test_sockaddr();
	test_loopback();
	test_cidr_parse();
	test_cidr_match();
	return test_summary("addr");
}
