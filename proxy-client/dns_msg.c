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

int dns_qname(const uint8_t *m, size_t len, char *out, size_t cap)
{
	size_t pos = DNS_HDR, n = 0;

	if (len < DNS_HDR || get_be16(m + 4) != 1 || !cap)
		return -1;
	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -1;
		l = m[pos++];
		if (!l)
			break;
		if (l > 63 || pos + l > len || n + l + 1 >= cap)
			return -1;
		if (n)
			out[n++] = '.';
		for (; l; l--) {
			char c = (char)m[pos++];

			if (!((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_'))
				return -1;
			out[n++] = c;
		}
	}
	if (pos + 4 > len)
		return -1;
	out[n] = '\0';
	return (int)n;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

int dns_same_question(const uint8_t *q, size_t qlen, const uint8_t *a,
		      size_t alen)
{
	size_t end, pos = DNS_HDR;

	if (qlen < DNS_HDR || alen < DNS_HDR ||
	    get_be16(q + 4) != get_be16(a + 4))
		return 0;
	end = question_end(q, qlen);
	if (!end || question_end(a, alen) != end)
		return 0;
	/* both parse and end at the same offset: walk q's labels and
	 * compare a's bytes with them, the label text without case (a
	 * resolver may answer in the case it stores) */
	while (pos < end) {
		uint8_t l = q[pos];

		if (a[pos] != l)
			return 0;
		if ((l & 0xc0) == 0xc0 || !l) {
			size_t fixed = ((l & 0xc0) == 0xc0 ? 2 : 1) + 4;

			if (memcmp(q + pos, a + pos, fixed))
				return 0;
			pos += fixed; /* the name ended: QTYPE, QCLASS */
			continue;
		}
		for (size_t i = pos + 1; i <= pos + l; i++)
			if (lower(q[i]) != lower(a[i]))
				return 0;
		pos += 1 + (size_t)l;
	}
	return 1;
}
