/* Unit tests for proxy-client/dns_msg.c: SERVFAIL keeps the query's id,
 * opcode, RD and question, sets QR, RA and RCODE 2, drops every record
 * (an EDNS OPT too); a question that does not parse is left out; a
 * message shorter than a header or no room gives -1. */
#include "../../proxy-client/dns_msg.h"
#include "test.h"

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
	return test_summary("dns_msg");
}
