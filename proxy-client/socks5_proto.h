/* SOCKS5 wire format (RFC 1928, RFC 1929): pure parsers and encoders
 * over byte ranges. Parsers return bytes consumed (> 0), 0 when more input
 * is needed (nothing consumed), or a negative enum socks5_err. They never
 * assume one recv() is one message. */
#ifndef PROXY_CLIENT_SOCKS5_PROTO_H
#define PROXY_CLIENT_SOCKS5_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

#define SOCKS5_VERSION 0x05
#define SOCKS5_AUTH_VERSION 0x01

enum socks5_method {
	SOCKS5_METHOD_NONE = 0x00,
	SOCKS5_METHOD_USERPASS = 0x02,
	SOCKS5_METHOD_UNACCEPTABLE = 0xff,
};

enum socks5_cmd {
	SOCKS5_CMD_CONNECT = 0x01,
	SOCKS5_CMD_BIND = 0x02,
	SOCKS5_CMD_UDP_ASSOCIATE = 0x03,
};

/* Reply codes are enum proto_code (common/frame.h): the same values. */

enum socks5_err {
	SOCKS5_ERR_VERSION = -1,  /* not version 5 (or 1 in auth) */
	SOCKS5_ERR_METHODS = -2,  /* zero methods offered */
	SOCKS5_ERR_ATYP = -3,     /* unknown address type */
	SOCKS5_ERR_ADDR = -4,     /* empty domain name */
	SOCKS5_ERR_RESERVED = -5, /* reserved byte not zero (request) */
	SOCKS5_ERR_AUTH = -6,     /* empty user name */
};

struct socks5_greeting {
	uint8_t nmethods;
	uint8_t methods[255];
};

struct socks5_userpass {
	uint8_t ulen, plen;
	char user[256];
	char pass[256];
};

struct socks5_request {
	uint8_t cmd; /* any value; the caller decides what it supports */
	struct addr dst;
};

struct socks5_udp_hdr {
	uint8_t frag;
	struct addr dst;
};

int socks5_parse_greeting(const uint8_t *in, size_t len,
			  struct socks5_greeting *g);
int socks5_parse_userpass(const uint8_t *in, size_t len,
			  struct socks5_userpass *up);
int socks5_parse_request(const uint8_t *in, size_t len,
			 struct socks5_request *r);
/* The UDP request header (RSV:u16 FRAG:u8 ATYP DST.ADDR DST.PORT) at the
 * front of one datagram; returns the header length, or negative. A
 * datagram is never "incomplete": a short one is SOCKS5_ERR_ADDR. */
int socks5_parse_udp_hdr(const uint8_t *in, size_t len,
			 struct socks5_udp_hdr *h);

/* Encoders return bytes written, or -1 if cap is too small. bound may be
 * NULL (0.0.0.0:0 is sent). */
int socks5_write_method(uint8_t *out, size_t cap, uint8_t method);
int socks5_write_auth_status(uint8_t *out, size_t cap, uint8_t status);
int socks5_write_reply(uint8_t *out, size_t cap, uint8_t rep,
		       const struct addr *bound);
int socks5_write_udp_hdr(uint8_t *out, size_t cap, const struct addr *src);

const char *socks5_strerror(int err);

#endif
