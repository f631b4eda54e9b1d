/* Tunnel frame codec (docs/PROTOCOL.md). Every frame is an 8-byte header
 *
 *   type:u8  flags:u8  length:u16  stream:u32      (big-endian)
 *
 * followed by length payload bytes. A whole frame is at most one TLS
 * record of plaintext (16384 bytes). Pure functions, no I/O. */
#ifndef COMMON_FRAME_H
#define COMMON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define FRAME_HDR_LEN 8
#define FRAME_MAX_LEN 16384
#define FRAME_MAX_PAYLOAD (FRAME_MAX_LEN - FRAME_HDR_LEN)

#define PROTO_MAGIC "PXT1"
#define PROTO_VERSION 1

enum frame_type {
	FRAME_HELLO = 0x01,    /* stream 0: magic[4] version:u8 flags:u8
				* reserved:u16 window:u32 */
	FRAME_OPEN = 0x02,     /* client->server: TCP flow to addr */
	FRAME_RESULT = 0x03,   /* server->client: code:u8 [bound addr] */
	FRAME_DATA = 0x04,     /* flow bytes, counted against the window */
	FRAME_FIN = 0x05,      /* sender will send no more DATA */
	FRAME_RST = 0x06,      /* stream is gone: code:u8 */
	FRAME_WINDOW = 0x07,   /* increment:u32 (> 0) */
	FRAME_UDP_OPEN = 0x08, /* client->server: new UDP association */
	FRAME_UDP_DATA =
		0x09,        /* addr datagram... (dest, or source on replies) */
	FRAME_PING = 0x0a,   /* stream 0: opaque[8] */
	FRAME_PONG = 0x0b,   /* stream 0: the ping's opaque[8] */
	FRAME_GOAWAY = 0x0c, /* stream 0: code:u8; no new streams */
	FRAME_UDP_PATH = 0x0d, /* stream 0, client->server: on:u8, where
				* the server sends UDP_DATA (section 15);
				* only to a peer whose HELLO said
				* HELLO_F_UDP_PATH */
	/* Resume (docs/PROTOCOL.md section 16), only between peers whose
	 * HELLOs both set HELLO_F_RESUME: */
	FRAME_SESSION = 0x0e, /* server->client, stream 0: token[24] */
	FRAME_RESUME = 0x0f,  /* client->server, stream 0: token[24]
				* count:u32 (SYNC frames that follow) */
	FRAME_RESUMED = 0x10, /* server->client, stream 0: code:u8 */
	FRAME_SYNC = 0x11,    /* both: flags:u8 received:u64 limit:u64 */
};

/* Outcome codes carried by RESULT and RST. They are the SOCKS5 REP
 * values, so the client relays them unchanged. */
enum proto_code {
	PROTO_OK = 0x00,
	PROTO_GENERAL_FAILURE = 0x01,
	PROTO_NOT_ALLOWED = 0x02,
	PROTO_NET_UNREACHABLE = 0x03,
	PROTO_HOST_UNREACHABLE = 0x04,
	PROTO_CONN_REFUSED = 0x05,
	PROTO_TTL_EXPIRED = 0x06,
	PROTO_CMD_UNSUPPORTED = 0x07,
	PROTO_ATYP_UNSUPPORTED = 0x08,
};

/* Why the server refused a flow, after a failing RESULT's code, for a
 * client whose HELLO set HELLO_F_REASONS (docs/PROTOCOL.md section 6.1):
 * the code says what the SOCKS client is told, the reason tells the
 * person reading the client's log what to change. */
enum proto_reason {
	REASON_NONE = 0,
	REASON_POLICY = 1,   /* allow/deny in server.conf, or the defaults */
	REASON_FIREWALL = 2, /* connect(): EACCES/EPERM on the server */
	REASON_NO_NAME = 3,  /* the name does not exist or has no address */
	REASON_RESOLVER = 4, /* the server's resolver failed or timed out */
	REASON_TIMEOUT = 5,  /* the server's connect timeout fired */
	REASON_LIMIT = 6,    /* a server limit (flows, buffers) */
	REASON_SHUTDOWN = 7, /* the server is shutting down */
	REASON_QUOTA = 8,    /* the client's traffic quota is used up */
};

/* What a RESULT code and reason mean, for log lines: the reason's text
 * when there is one, else the code's. */
const char *proto_refusal_text(uint8_t code, uint8_t reason);

/* HELLO flags (docs/PROTOCOL.md section 3.3): bit 0, the sender reads
 * reasons in RESULT; bit 1, the sender speaks the datagram path
 * (section 15: UDP packets, and the UDP_PATH frame). Unknown bits are
 * ignored. */
#define HELLO_F_REASONS 0x01
#define HELLO_F_UDP_PATH 0x02
/* Bit 2: the sender can resume streams on a new connection (section
 * 15); WINDOW then carries the received offset too. (0x02 is taken by
 * the UDP datagram path.) */
#define HELLO_F_RESUME 0x04

/* Resume tokens: 8 bytes naming the server process, 16 random. */
#define RESUME_TOKEN_LEN 24
#define RESUME_INSTANCE_LEN 8

/* RESUMED codes (docs/PROTOCOL.md section 16.5). */
enum resume_code {
	RESUME_OK = 0,         /* the streams follow on this connection */
	RESUME_UNKNOWN = 1,    /* no such token: expired, used or forged */
	RESUME_RESTARTED = 2,  /* the token is of another server process */
	RESUME_OTHER_CERT = 3, /* issued to another certificate */
	RESUME_REFUSED = 4,    /* the server resumes nothing now (stopping) */
};
const char *resume_code_text(uint8_t code);

/* SYNC flags. */
#define SYNC_F_FIN 0x01 /* the sender has received the peer's FIN */

struct sync {
	uint8_t flags;
	uint64_t received; /* DATA bytes the sender took in, since OPEN */
	uint64_t limit;    /* the offset the peer may send up to */
};

/* The destination 0.0.0.0:53 (in OPEN or UDP_DATA) names the server's
 * own name server, whatever its address: the client's DNS forwarder uses
 * it when no dns-server is configured. */
static inline int addr_is_server_resolver(const struct addr *a)
{
	return a->type == ADDR_IPV4 && a->port == 53 && !a->u.v4[0] &&
	       !a->u.v4[1] && !a->u.v4[2] && !a->u.v4[3];
}

struct frame {
	uint8_t type;
	uint8_t flags;
	uint16_t len;
	uint32_t stream;
	const uint8_t *payload; /* points into the decoded input */
};

enum frame_err {
	FRAME_ERR_TYPE = -1,   /* unknown frame type */
	FRAME_ERR_LENGTH = -2, /* payload length wrong for the type */
	FRAME_ERR_STREAM = -3, /* stream 0 where one is needed, or v.v. */
	FRAME_ERR_ADDR = -4,   /* malformed address */
	FRAME_ERR_VALUE = -5,  /* bad magic, zero window increment, ... */
};

/* Decodes one frame from in. Returns bytes consumed (> 0), 0 if the frame
 * is not complete yet, or an enum frame_err. The header and the payload
 * layout of its type are checked; flags must be 0 in version 1. */
int frame_decode(const uint8_t *in, size_t len, struct frame *f);
const char *frame_strerror(int err);
const char *frame_type_name(uint8_t type);

/* Writes a header; the caller writes len payload bytes after it. */
void frame_put_hdr(uint8_t *out, uint8_t type, uint16_t len, uint32_t stream);

/* Encoders write a whole frame (header + payload) into out and return its
 * length, or -1 if cap is too small. */
int frame_hello(uint8_t *out, size_t cap, uint32_t window, uint8_t flags);
int frame_open(uint8_t *out, size_t cap, uint32_t stream,
	       const struct addr *dst);
/* bound may be NULL (no address sent); a reason (not REASON_NONE) is
 * sent instead of the address, so only with a non-zero code. */
int frame_result(uint8_t *out, size_t cap, uint32_t stream, uint8_t code,
		 uint8_t reason, const struct addr *bound);
int frame_simple(uint8_t *out, size_t cap, uint8_t type, uint32_t stream);
int frame_code(uint8_t *out, size_t cap, uint8_t type, uint32_t stream,
	       uint8_t code); /* RST, GOAWAY */
int frame_window(uint8_t *out, size_t cap, uint32_t stream, uint32_t incr);
/* WINDOW between resuming peers: the increment and the low 32 bits of
 * the DATA bytes received so far (an acknowledgement). */
int frame_window_ack(uint8_t *out, size_t cap, uint32_t stream, uint32_t incr,
		     uint32_t received);
int frame_session(uint8_t *out, size_t cap,
		  const uint8_t token[RESUME_TOKEN_LEN]);
int frame_resume(uint8_t *out, size_t cap,
		 const uint8_t token[RESUME_TOKEN_LEN], uint32_t count);
int frame_sync(uint8_t *out, size_t cap, uint32_t stream, const struct sync *s);
int frame_ping(uint8_t *out, size_t cap, uint8_t type, const uint8_t opaque[8]);
/* The longest UDP_DATA header for an IP address (IPv6): the room a
 * reader leaves in front of a datagram, to write the header in place. */
#define FRAME_UDP_HDR_IP_MAX (FRAME_HDR_LEN + 1 + 16 + 2)
/* UDP_DATA header: frame header + addr; returns its length. The caller
 * appends datalen datagram bytes (datalen must fit FRAME_MAX_PAYLOAD). */
int frame_udp_hdr(uint8_t *out, size_t cap, uint32_t stream,
		  const struct addr *peer, size_t datalen);

/* Payload accessors for decoded frames (already validated by decode). */
struct hello {
	uint8_t version;
	uint8_t flags;
	uint32_t window;
};
void frame_get_hello(const struct frame *f, struct hello *h);
/* OPEN: the destination; RESULT: code, reason (REASON_NONE when absent)
 * and optional bound address (bound->type == 0 when absent); UDP_DATA:
 * the peer and the datagram. */
void frame_get_addr(const struct frame *f, struct addr *a);
uint8_t frame_get_code(const struct frame *f);
void frame_get_result(const struct frame *f, uint8_t *code, uint8_t *reason,
		      struct addr *bound);
uint32_t frame_get_window(const struct frame *f);
/* WINDOW: 1 and the acknowledged offset's low 32 bits when present. */
int frame_get_window_ack(const struct frame *f, uint32_t *received);
/* SESSION and RESUME: the token; RESUME: the count of SYNCs after it. */
const uint8_t *frame_get_token(const struct frame *f);
uint32_t frame_get_resume_count(const struct frame *f);
void frame_get_sync(const struct frame *f, struct sync *s);
void frame_get_udp(const struct frame *f, struct addr *peer,
		   const uint8_t **data, size_t *datalen);

#endif
