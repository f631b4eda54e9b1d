/* Unit tests for proxy-client/dns_msg.c: SERVFAIL keeps the query's id,
 * opcode, RD and question, sets QR, RA and RCODE 2, drops every record
 * (an EDNS OPT too); a question that does not parse is left out; a
 * message shorter than a header or no room gives -1. The name of a
 * query's one question (what dns-direct decides by), whether an
 * answer carries the question asked, and the addresses an answer hands
 * out (A and AAAA of class IN in the answer section, after names
 * compressed or not; a TTL with the top bit set is 0; -1 for what is no
 * answer or is cut short). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../proxy-client/dns_msg.h"
#include "test.h"

struct seen {
	int n;
	char addr[4][64];
	uint32_t ttl[4];
};

static void seen_cb(void *arg, const struct sockaddr *sa, uint32_t ttl)
{
	struct seen *x = arg;
	const void *a = sa->sa_family == AF_INET ?
				(const void *)&((const struct sockaddr_in *)sa)
					->sin_addr :
				(const void *)&((const struct sockaddr_in6 *)sa)
					->sin6_addr;

	if (x->n < 4) {
		inet_ntop(sa->sa_family, a, x->addr[x->n], 64);
		x->ttl[x->n] = ttl;
	}
	x->n++;
}

static void test_answer_addrs(void)
{
	/* www.example A: a CNAME to a.example (compressed owner), an A of
	 * class CH, an A, an AAAA with the top TTL bit set, then an A in
	 * the authority section (not the answer's) */
	static const uint8_t m[] = {
		0x12,
		0x34,
		0x81,
		0x80,
		0,
		1,
		0,
		4,
		0,
		1,
		0,
		0,
		/* 12: question */
		3,
		'w',
		'w',
		'w',
		7,
		'e',
		'x',
		'a',
		'm',
		'p',
		'l',
		'e',
		0,
		0,
		1,
		0,
		1,
		/* CNAME */
		0xc0,
		12,
		0,
		5,
		0,
		1,
		0,
		0,
		0,
		30,
		0,
		4,
		1,
		'a',
		0xc0,
		16,
		/* A, class CH */
		1,
		'a',
		0xc0,
		16,
		0,
		1,
		0,
		3,
		0,
		0,
		0,
		30,
		0,
		4,
		1,
		2,
		3,
		4,
		/* A 192.0.2.7 TTL 300, owner a.example via a pointer */
		0xc0,
		45,
		0,
		1,
		0,
		1,
		0,
		0,
		1,
		44,
		0,
		4,
		192,
		0,
		2,
		7,
		/* AAAA 2001:db8::9 */
		0xc0,
		45,
		0,
		28,
		0,
		1,
		0x80,
		0,
		0,
		5,
		0,
		16,
		0x20,
		0x01,
		0x0d,
		0xb8,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		9,
		/* authority: A 198.51.100.1 */
		0xc0,
		45,
		0,
		1,
		0,
		1,
		0,
		0,
		0,
		30,
		0,
		4,
		198,
		51,
		100,
		1,
	};
	uint8_t c[sizeof(m)];
	struct seen x = { 0 };

	CHECK_EQ(dns_answer_addrs(m, sizeof(m), seen_cb, &x), 2);
	CHECK_EQ(x.n, 2);
	CHECK_STR(x.addr[0], "192.0.2.7");
	CHECK_EQ(x.ttl[0], 300);
	CHECK_STR(x.addr[1], "2001:db8::9");
	CHECK_EQ(x.ttl[1], 0);
	/* cut inside the AAAA: the A before it was seen */
	memset(&x, 0, sizeof(x));
	CHECK_EQ(dns_answer_addrs(m, sizeof(m) - 20, seen_cb, &x), -1);
	CHECK_EQ(x.n, 1);
	/* a query is no answer; a header alone has none */
	memcpy(c, m, sizeof(m));
	c[2] = 0x01;
	memset(&x, 0, sizeof(x));
	CHECK_EQ(dns_answer_addrs(c, sizeof(c), seen_cb, &x), -1);
	CHECK_EQ(dns_answer_addrs(m, 11, seen_cb, &x), -1);
	CHECK_EQ(x.n, 0);
	/* an AAAA of 4 bytes is no address (the A at 63 made one) */
	memcpy(c, m, sizeof(m));
	c[63 + 3] = 28;
	memset(&x, 0, sizeof(x));
	CHECK_EQ(dns_answer_addrs(c, sizeof(c), seen_cb, &x), 1);
	CHECK_STR(x.addr[0], "2001:db8::9");
	/* no answer records */
	memcpy(c, m, sizeof(m));
	c[7] = 0;
	memset(&x, 0, sizeof(x));
	CHECK_EQ(dns_answer_addrs(c, sizeof(c), seen_cb, &x), 0);
	CHECK_EQ(x.n, 0);
}

static void test_qname(const uint8_t *q, size_t len)
{
	char name[DNS_NAME_TEXT];
	uint8_t m[64];

	CHECK_EQ(dns_qname(q, len, name, sizeof(name)), 11);
	CHECK_STR(name, "example.com");
	/* no room for it, cut short, no QTYPE/QCLASS */
	CHECK_EQ(dns_qname(q, len, name, 11), -1);
	CHECK_EQ(dns_qname(q, 20, name, sizeof(name)), -1);
	CHECK_EQ(dns_qname(q, 12 + 13 + 3, name, sizeof(name)), -1);
	CHECK_EQ(dns_qname(q, 11, name, sizeof(name)), -1);
	memcpy(m, q, 12 + 13 + 4);
	/* the root */
	m[12] = 0;
	CHECK_EQ(dns_qname(m, 12 + 5, name, sizeof(name)), 0);
	CHECK_STR(name, "");
	/* case kept (the rules ignore it), '_' and '-' are fine */
	memcpy(m, q, 12 + 13 + 4);
	m[13] = 'E';
	m[14] = '_';
	m[15] = '-';
	CHECK_EQ(dns_qname(m, 12 + 13 + 4, name, sizeof(name)), 11);
	CHECK_STR(name, "E_-mple.com");
	/* a dot inside a label would pass for two labels: refused */
	m[14] = '.';
	CHECK_EQ(dns_qname(m, 12 + 13 + 4, name, sizeof(name)), -1);
	m[14] = 0;
	CHECK_EQ(dns_qname(m, 12 + 13 + 4, name, sizeof(name)), -1);
	/* not exactly one question */
	memcpy(m, q, 12 + 13 + 4);
	m[5] = 2;
	CHECK_EQ(dns_qname(m, 12 + 13 + 4, name, sizeof(name)), -1);
	m[5] = 0;
	CHECK_EQ(dns_qname(m, 12 + 13 + 4, name, sizeof(name)), -1);
	/* a compressed name */
	m[5] = 1;
	m[12] = 0xc0;
	m[13] = 12;
	CHECK_EQ(dns_qname(m, 12 + 2 + 4, name, sizeof(name)), -1);
	/* a label longer than 63 */
	memcpy(m, q, 12 + 13 + 4);
	m[12] = 64;
	CHECK_EQ(dns_qname(m, sizeof(m), name, sizeof(name)), -1);
}

static void test_same_question(const uint8_t *q, size_t len)
{
	uint8_t a[64];
	const size_t qe = 12 + 13 + 4;

	/* an answer: the header changed, the question kept, records after */
	memcpy(a, q, qe);
	a[2] = 0x81;
	a[3] = 0x80;
	a[7] = 1;
	memset(a + qe, 0xaa, 16);
	CHECK(dns_same_question(q, len, a, qe + 16));
	CHECK(dns_same_question(q, len, a, qe));
	/* the name in another case is the same name */
	a[13] = 'E';
	a[22] = 'O';
	CHECK(dns_same_question(q, len, a, qe));
	/* another name, type, class, count; cut short */
	a[14] = 'y';
	CHECK(!dns_same_question(q, len, a, qe));
	memcpy(a, q, qe);
	a[26] = 28;
	CHECK(!dns_same_question(q, len, a, qe));
	memcpy(a, q, qe);
	a[28] = 3;
	CHECK(!dns_same_question(q, len, a, qe));
	memcpy(a, q, qe);
	a[5] = 0;
	CHECK(!dns_same_question(q, len, a, qe));
	memcpy(a, q, qe);
	CHECK(!dns_same_question(q, len, a, qe - 1));
	CHECK(!dns_same_question(q, len, a, 11));
	/* a label's length byte is no letter: 'e' (0x65) vs 'E' (0x45)
	 * only matter inside labels */
	memcpy(a, q, qe);
	a[20] = 4; /* "com" becomes a 4-byte label: the question moves */
	CHECK(!dns_same_question(q, len, a, qe));
}

int main(void)
{
	/* id 0xbeef, RD, one question example.com A IN, one OPT record */
	static const uint8_t q[] = {
		0xbe, 0xef, 0x01, 0x00, 0,   1,   0,   0,   0,   0,
		0,    1,    7,    'e',  'x', 'a', 'm', 'p', 'l', 'e',
		3,    'c',  'o',  'm',  0,   0,   1,   0,   1,   0,
		0,    41,   0x10, 0,    0,   0,   0,   0,   0,   0,
	};
	const size_t qend = 12 + 13 + 4;
	uint8_t out[512];
	int n;

	n = dns_servfail(out, sizeof(out), q, sizeof(q));
	CHECK_EQ(n, qend);
	CHECK(out[0] == 0xbe && out[1] == 0xef);
	CHECK_EQ(out[2], 0x81); /* QR, opcode 0, RD */
	CHECK_EQ(out[3], 0x82); /* RA, SERVFAIL */
	CHECK(out[4] == 0 && out[5] == 1);
	CHECK(!out[6] && !out[7] && !out[8] && !out[9] && !out[10] && !out[11]);
	CHECK(!memcmp(out + 12, q + 12, qend - 12));

	/* no room for the question */
	CHECK_EQ(dns_servfail(out, qend - 1, q, sizeof(q)), -1);
	/* shorter than a header */
	CHECK_EQ(dns_servfail(out, sizeof(out), q, 11), -1);
	/* a question cut short: header only, QDCOUNT 0 */
	n = dns_servfail(out, sizeof(out), q, 20);
	CHECK_EQ(n, 12);
	CHECK(out[4] == 0 && out[5] == 0);
	CHECK_EQ(out[3], 0x82);
	/* a compressed name (a pointer) ends the name */
	{
		static const uint8_t p[] = {
			0, 7, 0x00, 0x00, 0,  1, 0,  0, 0,
			0, 0, 0,    0xc0, 12, 0, 28, 0, 1,
		};

		n = dns_servfail(out, sizeof(out), p, sizeof(p));
		CHECK_EQ(n, sizeof(p));
		CHECK_EQ(out[2], 0x80);
	}
	test_qname(q, sizeof(q));
	test_same_question(q, sizeof(q));
	test_answer_addrs();
	return test_summary("dns_msg");
}
