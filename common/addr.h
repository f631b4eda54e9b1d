/* Destination addresses as the tunnel and SOCKS5 carry them (IPv4, IPv6
 * or a domain name, plus a port), their SOCKS5 wire form, text forms, and
 * CIDR ranges for policies. Pure functions, no sockets opened here. */
#ifndef COMMON_ADDR_H
#define COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Values are the SOCKS5 ATYP codes; the tunnel uses the same encoding. */
enum addr_type { ADDR_IPV4 = 1, ADDR_DOMAIN = 3, ADDR_IPV6 = 4 };

#define ADDR_DOMAIN_MAX 255
/* Longest wire form: ATYP + len + 255 name bytes + port. */
#define ADDR_WIRE_MAX (1 + 1 + ADDR_DOMAIN_MAX + 2)
/* Longest text form, "[v6]:port" or "name:port", with the NUL. */
#define ADDR_STR_MAX (ADDR_DOMAIN_MAX + 8)

struct addr {
	uint8_t type;  /* enum addr_type */
	uint8_t len;   /* domain length (type ADDR_DOMAIN) */
	uint16_t port; /* host byte order */
	union {
		uint8_t v4[4];
		uint8_t v6[16];
		char domain[ADDR_DOMAIN_MAX + 1]; /* NUL-terminated */
	} u;
};

/* "1.2.3.4:80", "[::1]:80", "name:80"; a bare host takes default_port
 * (pass 0 to require a port). "*:443" and ":443" mean every address
 * (IPv6 wildcard). 0 or -1. */
int addr_parse(const char *s, uint16_t default_port, struct addr *a);
/* Host only (no port): IP literal or domain. 0 or -1. */
int addr_parse_host(const char *s, struct addr *a);

/* SOCKS5 wire form (ATYP, address, port). encode returns bytes written or
 * -1 if cap is too small; decode returns bytes consumed, 0 if more input
 * is needed, -1 if malformed (unknown type, empty domain). */
int addr_encode(const struct addr *a, uint8_t *out, size_t cap);
int addr_decode(const uint8_t *in, size_t len, struct addr *a);

/* IP addresses only; -1 for a domain. */
int addr_to_sockaddr(const struct addr *a, struct sockaddr_storage *ss,
		     socklen_t *len);
/* The length of a sockaddr_in or sockaddr_in6, by family. */
socklen_t sockaddr_len(int family);
/* IPv4-mapped IPv6 addresses come back as IPv4. */
void addr_from_sockaddr(struct addr *a, const struct sockaddr *sa);
/* "1.2.3.4:80", "[::1]:80", "name:80"; returns buf. */
const char *addr_str(const struct addr *a, char *buf, size_t len);
const char *sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);
bool addr_is_loopback_host(const struct addr *a);

struct cidr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network, host bits cleared */
	int prefix;
};

/* "10.0.0.0/8", "::1/128", or a bare address (full-length prefix). */
int cidr_parse(const char *s, struct cidr *c);
/* IPv4-mapped IPv6 sockaddrs match IPv4 ranges. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

#endif
