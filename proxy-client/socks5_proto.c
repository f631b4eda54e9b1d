/* SOCKS5 wire format (RFC 1928) and username/password auth (RFC 1929).
 *
 * Each parser checks fields as soon as they have arrived, so a peer that
 * speaks something else is refused at its first wrong byte, and returns 0
 * (nothing consumed) until the whole message is there. */
#include "socks5_proto.h"

#include <string.h>

#include "../common/util.h"

/* The address at the front of in (ATYP DST.ADDR DST.PORT). Returns its
 * length, 0 if incomplete, or SOCKS5_ERR_ATYP for a type we do not know
 * (the caller replies "address type not supported"), SOCKS5_ERR_ADDR for
 * a malformed one (empty domain name, NUL inside it). */
static int parse_addr(const uint8_t *in, size_t len, struct addr *a)
{
	int n;

	if (len < 1)
		return 0;
	if (in[0] != ADDR_IPV4 && in[0] != ADDR_DOMAIN && in[0] != ADDR_IPV6)
		return SOCKS5_ERR_ATYP;
	n = addr_decode(in, len, a);
	return n < 0 ? SOCKS5_ERR_ADDR : n;
}

/* VER NMETHODS METHODS... */
int socks5_parse_greeting(const uint8_t *in, size_t len,
			  struct socks5_greeting *g)
{
	size_t n;

	if (len < 1)
		return 0;
	if (in[0] != SOCKS5_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len < 2)
		return 0;
	if (in[1] == 0)
		return SOCKS5_ERR_METHODS;
	n = in[1];
	if (len < 2 + n)
		return 0;
	g->nmethods = (uint8_t)n;
	memcpy(g->methods, in + 2, n);
	return (int)(2 + n);
}

/* One length-prefixed string of RFC 1929 into a NUL-terminated copy.
 * Returns the bytes it spans, or 0 if incomplete. */
static size_t get_lstring(const uint8_t *in, size_t len, uint8_t *slen,
			  char *out)
{
	if (len < 1 || len < 1 + (size_t)in[0])
		return 0;
	*slen = in[0];
	memcpy(out, in + 1, in[0]);
	out[in[0]] = '\0';
	return 1 + (size_t)in[0];
}

/* VER ULEN UNAME PLEN PASSWD */
int socks5_parse_userpass(const uint8_t *in, size_t len,
			  struct socks5_userpass *up)
{
	size_t u, p;

	if (len < 1)
		return 0;
	if (in[0] != SOCKS5_AUTH_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len < 2)
		return 0;
	if (in[1] == 0)
		return SOCKS5_ERR_AUTH;
	/* check the whole message is in before writing anything */
	if (len < 2 + (size_t)in[1] + 1)
		return 0;
	if (len < 2 + (size_t)in[1] + 1 + in[2 + in[1]])
		return 0;
	u = get_lstring(in + 1, len - 1, &up->ulen, up->user);
	p = get_lstring(in + 1 + u, len - 1 - u, &up->plen, up->pass);
	return (int)(1 + u + p);
}

/* VER CMD RSV ATYP DST.ADDR DST.PORT */
int socks5_parse_request(const uint8_t *in, size_t len,
			 struct socks5_request *r)
{
	struct addr a;
	int n;

	if (len < 1)
		return 0;
	if (in[0] != SOCKS5_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len < 3)
		return 0;
	if (in[2] != 0)
		return SOCKS5_ERR_RESERVED;
	n = parse_addr(in + 3, len - 3, &a);
	if (n <= 0)
		return n;
	r->cmd = in[1];
	r->dst = a;
	return 3 + n;
}

/* RSV:u16 FRAG ATYP DST.ADDR DST.PORT, at the front of one datagram */
int socks5_parse_udp_hdr(const uint8_t *in, size_t len,
			 struct socks5_udp_hdr *h)
{
	struct addr a;
	int n;

	if (len < 4)
		return SOCKS5_ERR_ADDR;
	n = parse_addr(in + 3, len - 3, &a);
	if (n == 0)
		return SOCKS5_ERR_ADDR;
	if (n < 0)
		return n;
	h->frag = in[2];
	h->dst = a;
	return 3 + n;
}

int socks5_write_method(uint8_t *out, size_t cap, uint8_t method)
{
	if (cap < 2)
		return -1;
	out[0] = SOCKS5_VERSION;
	out[1] = method;
	return 2;
}

int socks5_write_auth_status(uint8_t *out, size_t cap, uint8_t status)
{
	if (cap < 2)
		return -1;
	out[0] = SOCKS5_AUTH_VERSION;
	out[1] = status;
	return 2;
}

/* Three leading bytes, then an address (0.0.0.0:0 when a is NULL). */
static int write_with_addr(uint8_t *out, size_t cap, uint8_t b0, uint8_t b1,
			   const struct addr *a)
{
	struct addr none;
	int n;

	if (!a) {
		memset(&none, 0, sizeof(none));
		none.type = ADDR_IPV4;
		a = &none;
	}
	if (cap < 3)
		return -1;
	n = addr_encode(a, out + 3, cap - 3);
	if (n < 0)
		return -1;
	out[0] = b0;
	out[1] = b1;
	out[2] = 0;
	return 3 + n;
}

int socks5_write_reply(uint8_t *out, size_t cap, uint8_t rep,
		       const struct addr *bound)
{
	return write_with_addr(out, cap, SOCKS5_VERSION, rep, bound);
}

int socks5_write_udp_hdr(uint8_t *out, size_t cap, const struct addr *src)
{
	return write_with_addr(out, cap, 0, 0, src);
}

const char *socks5_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case SOCKS5_ERR_VERSION:
		return "wrong SOCKS version";
	case SOCKS5_ERR_METHODS:
		return "no authentication methods offered";
	case SOCKS5_ERR_ATYP:
		return "address type not supported";
	case SOCKS5_ERR_ADDR:
		return "malformed address";
	case SOCKS5_ERR_RESERVED:
		return "reserved byte not zero";
	case SOCKS5_ERR_AUTH:
		return "empty user name";
	default:
		return "unknown SOCKS5 error";
	}
}
