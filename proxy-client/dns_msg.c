#include "dns_msg.h"

#include <netinet/in.h>
#include <string.h>

#include "../common/util.h"

/* Where the name at pos ends (after its last label or its compression
 * pointer), or 0 when it does not parse. */
static size_t name_end(const uint8_t *m, size_t len, size_t pos)
{
	for (;;) {
		uint8_t l;

		if (pos >= len)
			return 0;
		l = m[pos];
		if ((l & 0xc0) == 0xc0) /* compression pointer */
			return pos + 2 <= len ? pos + 2 : 0;
		if (l & 0xc0)
			return 0;
		pos += 1 + (size_t)l;
		if (!l)
			return pos;
	}
}

/* Where the question section of m ends, or 0 when it does not parse. */
static size_t question_end(const uint8_t *m, size_t len)
{
	unsigned qd = get_be16(m + 4);
	size_t pos = DNS_HDR;

	for (unsigned i = 0; i < qd; i++) {
		pos = name_end(m, len, pos);
		if (!pos)
			return 0;
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

int dns_answer_addrs(const uint8_t *m, size_t len, dns_addr_cb fn, void *arg)
{
	size_t pos;
	unsigned an;
	int found = 0;

	if (len < DNS_HDR || !(m[2] & 0x80))
		return -1;
	an = get_be16(m + 6);
	pos = question_end(m, len);
	for (unsigned i = 0; pos && i < an; i++) {
		union {
			struct sockaddr sa;
			struct sockaddr_in in;
			struct sockaddr_in6 in6;
		} u;
		unsigned type, class, rdlen;
		uint32_t ttl;

		pos = name_end(m, len, pos);
		if (!pos || pos + 10 > len)
			return -1;
		type = get_be16(m + pos);
		class = get_be16(m + pos + 2);
		ttl = get_be32(m + pos + 4);
		rdlen = get_be16(m + pos + 8);
		pos += 10;
		if (pos + rdlen > len)
			return -1;
		memset(&u, 0, sizeof(u));
		if (class == DNS_CLASS_IN && type == DNS_TYPE_A && rdlen == 4) {
			u.in.sin_family = AF_INET;
			memcpy(&u.in.sin_addr, m + pos, 4);
		} else if (class == DNS_CLASS_IN && type == DNS_TYPE_AAAA &&
			   rdlen == 16) {
			u.in6.sin6_family = AF_INET6;
			memcpy(&u.in6.sin6_addr, m + pos, 16);
		}
		if (u.sa.sa_family) {
			/* a TTL with the top bit set means 0 (RFC 2181) */
			fn(arg, &u.sa, ttl > 0x7fffffff ? 0 : ttl);
			found++;
		}
		pos += rdlen;
	}
	return pos ? found : -1;
}
