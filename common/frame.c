/* Tunnel frame codec: the wire format of docs/PROTOCOL.md.
 *
 * frame_decode() checks a frame in two steps. As soon as the 8-byte header
 * is in, it checks what the header alone can tell (known type, flags 0,
 * length within the limit and the type's fixed size, stream 0 or not), so
 * garbage is refused without waiting for a whole payload. Once the payload
 * is complete, a per-type check validates its layout. The payload
 * accessors below rely on that validation and do no checks of their own. */
#include "frame.h"

#include <string.h>

#include "util.h"

#define HELLO_LEN 12
#define PING_LEN 8
#define WINDOW_ACK_LEN 8
#define RESUME_LEN (RESUME_TOKEN_LEN + 4)
#define SYNC_LEN 17

/* What version 1 allows for each frame type. */
struct frame_rule {
	const char *name;
	uint8_t zero_stream; /* 1: stream must be 0; 0: must not be 0 */
	uint16_t min_len;
	uint16_t max_len;
	int (*check)(const uint8_t *p, size_t len);
};

/* One address filling the payload exactly. */
static int check_addr_only(const uint8_t *p, size_t len)
{
	struct addr a;
	int n = addr_decode(p, len, &a);

	if (n <= 0)
		return FRAME_ERR_ADDR;
	if ((size_t)n != len)
		return FRAME_ERR_LENGTH;
	return 0;
}

static int check_hello(const uint8_t *p, size_t len)
{
	(void)len; /* fixed size, checked against the rule */
	if (memcmp(p, PROTO_MAGIC, 4) != 0)
		return FRAME_ERR_VALUE;
	/* version, flags and reserved are left to the tunnel layer */
	if (get_be32(p + 8) == 0)
		return FRAME_ERR_VALUE;
	return 0;
}

/* A RESULT's code is followed by nothing, by the bound address, or by
 * 0x00 (no address type has it) and a reason: a failure's, not zero. */
#define RESULT_REASON_LEN 3

static int check_result(const uint8_t *p, size_t len)
{
	if (len == 1)
		return 0;
	if (p[1] != 0)
		return check_addr_only(p + 1, len - 1);
	if (len != RESULT_REASON_LEN)
		return FRAME_ERR_LENGTH;
	return p[0] != PROTO_OK && p[2] != REASON_NONE ? 0 : FRAME_ERR_VALUE;
}

static int check_window(const uint8_t *p, size_t len)
{
	(void)len; /* 4, or 8 with the acknowledgement of resuming peers */
	return get_be32(p) ? 0 : FRAME_ERR_VALUE;
}

static int check_sync(const uint8_t *p, size_t len)
{
	(void)len; /* fixed size */
	/* the sender may send up to limit: it cannot be below what we
	 * say we received */
	return get_be64(p + 9) >= get_be64(p + 1) ? 0 : FRAME_ERR_VALUE;
}

/* An address followed by the datagram, which may be empty. */
static int check_udp(const uint8_t *p, size_t len)
{
	struct addr a;

	return addr_decode(p, len, &a) > 0 ? 0 : FRAME_ERR_ADDR;
}

/* UDP_PATH: 0 (inside TLS) or 1 (by UDP). */
static int check_on_off(const uint8_t *p, size_t len)
{
	(void)len;
	return p[0] <= 1 ? 0 : FRAME_ERR_VALUE;
}

static const struct frame_rule rules[] = {
	[FRAME_HELLO] = { "HELLO", 1, HELLO_LEN, HELLO_LEN, check_hello },
	[FRAME_OPEN] = { "OPEN", 0, 0, FRAME_MAX_PAYLOAD, check_addr_only },
	[FRAME_RESULT] = { "RESULT", 0, 1, FRAME_MAX_PAYLOAD, check_result },
	[FRAME_DATA] = { "DATA", 0, 1, FRAME_MAX_PAYLOAD, NULL },
	[FRAME_FIN] = { "FIN", 0, 0, 0, NULL },
	[FRAME_RST] = { "RST", 0, 1, 1, NULL },
	[FRAME_WINDOW] = { "WINDOW", 0, 4, WINDOW_ACK_LEN, check_window },
	[FRAME_UDP_OPEN] = { "UDP_OPEN", 0, 0, 0, NULL },
	[FRAME_UDP_DATA] = { "UDP_DATA", 0, 0, FRAME_MAX_PAYLOAD, check_udp },
	[FRAME_PING] = { "PING", 1, PING_LEN, PING_LEN, NULL },
	[FRAME_PONG] = { "PONG", 1, PING_LEN, PING_LEN, NULL },
	[FRAME_GOAWAY] = { "GOAWAY", 1, 1, 1, NULL },
	[FRAME_UDP_PATH] = { "UDP_PATH", 1, 1, 1, check_on_off },
	[FRAME_SESSION] = { "SESSION", 1, RESUME_TOKEN_LEN, RESUME_TOKEN_LEN,
			    NULL },
	[FRAME_RESUME] = { "RESUME", 1, RESUME_LEN, RESUME_LEN, NULL },
	[FRAME_RESUMED] = { "RESUMED", 1, 1, 1, NULL },
	[FRAME_SYNC] = { "SYNC", 0, SYNC_LEN, SYNC_LEN, check_sync },
};

static const struct frame_rule *rule_of(uint8_t type)
{
	if (type >= ARRAY_SIZE(rules) || !rules[type].name)
		return NULL;
	return &rules[type];
}

static int check_header(const struct frame *f, const struct frame_rule *r)
{
	if (!r)
		return FRAME_ERR_TYPE;
	if (f->flags != 0)
		return FRAME_ERR_VALUE;
	if (r->zero_stream != (f->stream == 0))
		return FRAME_ERR_STREAM;
	if (f->len < r->min_len || f->len > r->max_len)
		return FRAME_ERR_LENGTH;
	/* the one type with two sizes: 4, or 8 between resuming peers */
	if (f->type == FRAME_WINDOW && f->len != 4 && f->len != WINDOW_ACK_LEN)
		return FRAME_ERR_LENGTH;
	return 0;
}

/* On an error with a complete header, f still holds the header fields,
 * so the caller can name the frame in its log line. */
int frame_decode(const uint8_t *in, size_t len, struct frame *f)
{
	const struct frame_rule *r;
	int err;

	if (len < FRAME_HDR_LEN)
		return 0;
	f->type = in[0];
	f->flags = in[1];
	f->len = get_be16(in + 2);
	f->stream = get_be32(in + 4);
	f->payload = in + FRAME_HDR_LEN;

	r = rule_of(f->type);
	err = check_header(f, r);
	if (err)
		return err;
	if (len - FRAME_HDR_LEN < f->len)
		return 0;
	if (r->check) {
		err = r->check(f->payload, f->len);
		if (err)
			return err;
	}
	return FRAME_HDR_LEN + f->len;
}

const char *frame_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case FRAME_ERR_TYPE:
		return "unknown frame type";
	case FRAME_ERR_LENGTH:
		return "bad frame length";
	case FRAME_ERR_STREAM:
		return "bad stream id for frame type";
	case FRAME_ERR_ADDR:
		return "malformed address in frame";
	case FRAME_ERR_VALUE:
		return "bad value in frame";
	default:
		return "unknown frame error";
	}
}

const char *frame_type_name(uint8_t type)
{
	const struct frame_rule *r = rule_of(type);

	return r ? r->name : "unknown";
}

/* Encoders */

void frame_put_hdr(uint8_t *out, uint8_t type, uint16_t len, uint32_t stream)
{
	out[0] = type;
	out[1] = 0;
	put_be16(out + 2, len);
	put_be32(out + 4, stream);
}

int frame_hello(uint8_t *out, size_t cap, uint32_t window, uint8_t flags)
{
	uint8_t *p = out + FRAME_HDR_LEN;

	if (cap < FRAME_HDR_LEN + HELLO_LEN)
		return -1;
	frame_put_hdr(out, FRAME_HELLO, HELLO_LEN, 0);
	memcpy(p, PROTO_MAGIC, 4);
	p[4] = PROTO_VERSION;
	p[5] = flags;
	put_be16(p + 6, 0);
	put_be32(p + 8, window);
	return FRAME_HDR_LEN + HELLO_LEN;
}

/* Header, prefix bytes, then an address: OPEN and RESULT. */
static int put_addr_frame(uint8_t *out, size_t cap, uint8_t type,
			  uint32_t stream, const uint8_t *pre, size_t prelen,
			  const struct addr *a)
{
	size_t off = FRAME_HDR_LEN + prelen;
	int n = 0;

	if (cap < off)
		return -1;
	if (a) {
		n = addr_encode(a, out + off, cap - off);
		if (n < 0)
			return -1;
	}
	if (prelen)
		memcpy(out + FRAME_HDR_LEN, pre, prelen);
	frame_put_hdr(out, type, (uint16_t)(prelen + n), stream);
	return (int)off + n;
}

int frame_open(uint8_t *out, size_t cap, uint32_t stream,
	       const struct addr *dst)
{
	return put_addr_frame(out, cap, FRAME_OPEN, stream, NULL, 0, dst);
}

int frame_result(uint8_t *out, size_t cap, uint32_t stream, uint8_t code,
		 uint8_t reason, const struct addr *bound)
{
	uint8_t pre[RESULT_REASON_LEN] = { code, 0, reason };

	if (reason && code != PROTO_OK)
		return put_addr_frame(out, cap, FRAME_RESULT, stream, pre,
				      sizeof(pre), NULL);
	return put_addr_frame(out, cap, FRAME_RESULT, stream, &code, 1, bound);
}

int frame_simple(uint8_t *out, size_t cap, uint8_t type, uint32_t stream)
{
	if (cap < FRAME_HDR_LEN)
		return -1;
	frame_put_hdr(out, type, 0, stream);
	return FRAME_HDR_LEN;
}

int frame_code(uint8_t *out, size_t cap, uint8_t type, uint32_t stream,
	       uint8_t code)
{
	if (cap < FRAME_HDR_LEN + 1)
		return -1;
	frame_put_hdr(out, type, 1, stream);
	out[FRAME_HDR_LEN] = code;
	return FRAME_HDR_LEN + 1;
}

int frame_window(uint8_t *out, size_t cap, uint32_t stream, uint32_t incr)
{
	if (cap < FRAME_HDR_LEN + 4)
		return -1;
	frame_put_hdr(out, FRAME_WINDOW, 4, stream);
	put_be32(out + FRAME_HDR_LEN, incr);
	return FRAME_HDR_LEN + 4;
}

int frame_window_ack(uint8_t *out, size_t cap, uint32_t stream, uint32_t incr,
		     uint32_t received)
{
	if (cap < FRAME_HDR_LEN + WINDOW_ACK_LEN)
		return -1;
	frame_put_hdr(out, FRAME_WINDOW, WINDOW_ACK_LEN, stream);
	put_be32(out + FRAME_HDR_LEN, incr);
	put_be32(out + FRAME_HDR_LEN + 4, received);
	return FRAME_HDR_LEN + WINDOW_ACK_LEN;
}

int frame_session(uint8_t *out, size_t cap,
		  const uint8_t token[RESUME_TOKEN_LEN])
{
	if (cap < FRAME_HDR_LEN + RESUME_TOKEN_LEN)
		return -1;
	frame_put_hdr(out, FRAME_SESSION, RESUME_TOKEN_LEN, 0);
	memcpy(out + FRAME_HDR_LEN, token, RESUME_TOKEN_LEN);
	return FRAME_HDR_LEN + RESUME_TOKEN_LEN;
}

int frame_resume(uint8_t *out, size_t cap,
		 const uint8_t token[RESUME_TOKEN_LEN], uint32_t count)
{
	if (cap < FRAME_HDR_LEN + RESUME_LEN)
		return -1;
	frame_put_hdr(out, FRAME_RESUME, RESUME_LEN, 0);
	memcpy(out + FRAME_HDR_LEN, token, RESUME_TOKEN_LEN);
	put_be32(out + FRAME_HDR_LEN + RESUME_TOKEN_LEN, count);
	return FRAME_HDR_LEN + RESUME_LEN;
}

int frame_sync(uint8_t *out, size_t cap, uint32_t stream, const struct sync *s)
{
	uint8_t *p = out + FRAME_HDR_LEN;

	if (cap < FRAME_HDR_LEN + SYNC_LEN)
		return -1;
	frame_put_hdr(out, FRAME_SYNC, SYNC_LEN, stream);
	p[0] = s->flags;
	put_be64(p + 1, s->received);
	put_be64(p + 9, s->limit);
	return FRAME_HDR_LEN + SYNC_LEN;
}

int frame_ping(uint8_t *out, size_t cap, uint8_t type, const uint8_t opaque[8])
{
	if (cap < FRAME_HDR_LEN + PING_LEN)
		return -1;
	frame_put_hdr(out, type, PING_LEN, 0);
	memcpy(out + FRAME_HDR_LEN, opaque, PING_LEN);
	return FRAME_HDR_LEN + PING_LEN;
}

/* cap covers what is written here (header and address); room for the
 * datagram after it is the caller's business. */
int frame_udp_hdr(uint8_t *out, size_t cap, uint32_t stream,
		  const struct addr *peer, size_t datalen)
{
	int n;

	if (cap < FRAME_HDR_LEN)
		return -1;
	n = addr_encode(peer, out + FRAME_HDR_LEN, cap - FRAME_HDR_LEN);
	if (n < 0 || datalen > (size_t)(FRAME_MAX_PAYLOAD - n))
		return -1;
	frame_put_hdr(out, FRAME_UDP_DATA, (uint16_t)(n + datalen), stream);
	return FRAME_HDR_LEN + n;
}

/* Accessors */

void frame_get_hello(const struct frame *f, struct hello *h)
{
	h->version = f->payload[4];
	h->flags = f->payload[5];
	h->window = get_be32(f->payload + 8);
}

static void get_addr_at(const struct frame *f, size_t off, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (f->len > off)
		addr_decode(f->payload + off, f->len - off, a);
}

void frame_get_addr(const struct frame *f, struct addr *a)
{
	switch (f->type) {
	case FRAME_OPEN:
	case FRAME_UDP_DATA:
		get_addr_at(f, 0, a);
		break;
	case FRAME_RESULT:
		if (f->len != RESULT_REASON_LEN || f->payload[1])
			get_addr_at(f, 1, a);
		else
			memset(a, 0, sizeof(*a));
		break;
	default:
		memset(a, 0, sizeof(*a));
		break;
	}
}

uint8_t frame_get_code(const struct frame *f)
{
	return f->payload[0];
}

void frame_get_result(const struct frame *f, uint8_t *code, uint8_t *reason,
		      struct addr *bound)
{
	*code = f->payload[0];
	*reason = REASON_NONE;
	frame_get_addr(f, bound);
	if (f->len == RESULT_REASON_LEN && !f->payload[1])
		*reason = f->payload[2];
}

const char *proto_refusal_text(uint8_t code, uint8_t reason)
{
	static const char *const reasons[] = {
		[REASON_POLICY] = "not allowed by the server's policy "
				  "(allow/deny in server.conf)",
		[REASON_FIREWALL] = "the server's firewall refused the "
				    "connection",
		[REASON_NO_NAME] = "the server found no address for the name",
		[REASON_RESOLVER] = "the server's resolver failed",
		[REASON_TIMEOUT] = "the server's connect timed out",
		[REASON_LIMIT] = "a limit of the server was reached",
		[REASON_SHUTDOWN] = "the server is shutting down",
		[REASON_QUOTA] = "this client's traffic quota on the server "
				 "is used up",
	};
	static const char *const codes[] = {
		[PROTO_OK] = "succeeded",
		[PROTO_GENERAL_FAILURE] = "general failure",
		[PROTO_NOT_ALLOWED] = "not allowed",
		[PROTO_NET_UNREACHABLE] = "network unreachable",
		[PROTO_HOST_UNREACHABLE] = "host unreachable",
		[PROTO_CONN_REFUSED] = "connection refused",
		[PROTO_TTL_EXPIRED] = "timed out",
		[PROTO_CMD_UNSUPPORTED] = "command not supported",
		[PROTO_ATYP_UNSUPPORTED] = "address type not supported",
	};

	if (reason < ARRAY_SIZE(reasons) && reasons[reason])
		return reasons[reason];
	if (code < ARRAY_SIZE(codes))
		return codes[code];
	return "general failure";
}

uint32_t frame_get_window(const struct frame *f)
{
	return get_be32(f->payload);
}

int frame_get_window_ack(const struct frame *f, uint32_t *received)
{
	if (f->len != WINDOW_ACK_LEN)
		return 0;
	*received = get_be32(f->payload + 4);
	return 1;
}

const uint8_t *frame_get_token(const struct frame *f)
{
	return f->payload;
}

uint32_t frame_get_resume_count(const struct frame *f)
{
	return get_be32(f->payload + RESUME_TOKEN_LEN);
}

void frame_get_sync(const struct frame *f, struct sync *s)
{
	s->flags = f->payload[0];
	s->received = get_be64(f->payload + 1);
	s->limit = get_be64(f->payload + 9);
}

const char *resume_code_text(uint8_t code)
{
	switch (code) {
	case RESUME_OK:
		return "resumed";
	case RESUME_UNKNOWN:
		return "the server no longer knows these flows (kept past "
		       "resume-window, or already resumed)";
	case RESUME_RESTARTED:
		return "the server restarted since: its flows are gone";
	case RESUME_OTHER_CERT:
		return "the flows belong to another certificate";
	case RESUME_REFUSED:
		return "the server resumes nothing now";
	default:
		return "refused";
	}
}

void frame_get_udp(const struct frame *f, struct addr *peer,
		   const uint8_t **data, size_t *datalen)
{
	int n;

	memset(peer, 0, sizeof(*peer));
	n = addr_decode(f->payload, f->len, peer);
	if (n < 0)
		n = 0;
	*data = f->payload + n;
	*datalen = f->len - n;
}
