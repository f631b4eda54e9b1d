#include "dns_msg.h"

#include <string.h>

#include "../common/util.h"

/* Where the question section of m ends, or 0 when it does not parse. */
static size_t question_end(const uint8_t *m, size_t len)
{
	unsigned qd = get_be16(m + 4);
	size_t pos = DNS_HDR;

	for (unsigned i = 0; i < qd; i++) {
		for (;;) {
			uint8_t l;

			if (pos >= len)
				return 0;
			l = m[pos];
			if ((l & 0xc0) == 0xc0) { /* compression pointer */
				pos += 2;
				break;
			}
			if (l & 0xc0)
				return 0;
			pos += 1 + (size_t)l;
			if (!l)
				break;
		}
		pos += 4; /* QTYPE, QCLASS */
		if (pos > len)
			return 0;
	}
	return pos;
}

int dns_servfail(uint8_t *out, size_t cap, const uint8_t *q, size_t len)
{
	size_t n;

	if (len < DNS_HDR)
		return -1;
	n = question_end(q, len);
	if (!n)
		n = DNS_HDR;
	if (n > cap)
		return -1;
	memcpy(out, q, n);
	out[2] = 0x80 | (q[2] & 0x79); /* QR; opcode and RD as asked */
	out[3] = 0x80 | 2;             /* RA, RCODE 2: server failure */
	if (n == DNS_HDR)
		put_be16(out + 4, 0);
	put_be16(out + 6, 0);
	put_be16(out + 8, 0);
	put_be16(out + 10, 0);
	return (int)n;
}
