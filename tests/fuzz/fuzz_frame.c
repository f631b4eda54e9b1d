/* libFuzzer target: the tunnel frame codec (common/frame.c).
 *
 * The input is a byte stream as one side of the tunnel reads it from TLS.
 * Client and server run the same decoder over it; they differ only in
 * which accessor they call for a type (the server reads OPEN, the client
 * RESULT, both UDP_DATA, WINDOW, RST, ...), so every accessor of a type
 * is called on every frame of that type, which covers both sides.
 *
 *  - The stream is decoded whole, frame after frame, until it ends, needs
 *    more, or is refused.
 *  - It is decoded again as it would arrive, in chunks (sizes drawn from
 *    a hash of the input): the tunnel must see the same frames and the
 *    same error at the same offset.
 *  - Each decoded frame is copied into a heap block of its exact size and
 *    decoded again, and its accessors run on that copy, so a read past
 *    the frame is an ASan report. Every shorter prefix must "need more".
 *  - Each frame is encoded again from what the accessors returned: the
 *    bytes must be the input's. The encoder is also given one byte too
 *    little room: it must fail without writing past it.
 *
 * The same input is also a UDP packet of the datagram path (common/
 * dpkt.c, docs/PROTOCOL.md section 15) as the server's socket reads it:
 * its clear header, and its sealed part taken as if it were the opened
 * plaintext (the AEAD is OpenSSL's, not ours to fuzz); a FRAME kind
 * must hold exactly one UDP_DATA frame, read through its accessors on
 * an exact copy. And its bytes drive the replay window against a model
 * (every counter accepted once, none older than the window). */
#include "fuzz.h"

#include "../../common/dpkt.h"

#include "../../common/frame.h"

#define MAX_FRAMES 4096

struct seen {
	size_t off;
	int n; /* decode result at off */
};

/* The encoder's bytes must be the frame's; with a byte less room it must
 * refuse (ASan catches a write past the smaller block). */
typedef int (*encode_fn)(uint8_t *out, size_t cap, const struct frame *f,
			 const void *arg);

static void check_encode(const uint8_t *frame, size_t n, const struct frame *f,
			 encode_fn enc, const void *arg, size_t enc_len)
{
	uint8_t *out = malloc(enc_len);
	int r;

	FUZZ_ASSERT(out != NULL);
	r = enc(out, enc_len, f, arg);
	FUZZ_ASSERT(r == (int)enc_len);
	FUZZ_ASSERT(!memcmp(out, frame, enc_len));
	free(out);
	out = malloc(enc_len - 1);
	FUZZ_ASSERT(out != NULL);
	FUZZ_ASSERT(enc(out, enc_len - 1, f, arg) == -1);
	free(out);
	(void)n;
}

static int enc_hello(uint8_t *o, size_t cap, const struct frame *f,
		     const void *arg)
{
	const struct hello *h = arg;

	(void)f;
	return frame_hello(o, cap, h->window, h->flags);
}

static int enc_open(uint8_t *o, size_t cap, const struct frame *f,
		    const void *arg)
{
	return frame_open(o, cap, f->stream, arg);
}

static int enc_result(uint8_t *o, size_t cap, const struct frame *f,
		      const void *arg)
{
	const struct addr *bound = arg;
	uint8_t reason = f->len == 3 && !f->payload[1] ? f->payload[2] : 0;

	return frame_result(o, cap, f->stream, f->payload[0], reason,
			    bound->type ? bound : NULL);
}

static int enc_simple(uint8_t *o, size_t cap, const struct frame *f,
		      const void *arg)
{
	(void)arg;
	return frame_simple(o, cap, f->type, f->stream);
}

static int enc_code(uint8_t *o, size_t cap, const struct frame *f,
		    const void *arg)
{
	(void)arg;
	return frame_code(o, cap, f->type, f->stream, frame_get_code(f));
}

static int enc_window(uint8_t *o, size_t cap, const struct frame *f,
		      const void *arg)
{
	(void)arg;
	return frame_window(o, cap, f->stream, frame_get_window(f));
}

static int enc_window_ack(uint8_t *o, size_t cap, const struct frame *f,
			  const void *arg)
{
	return frame_window_ack(o, cap, f->stream, frame_get_window(f),
				*(const uint32_t *)arg);
}

static int enc_session(uint8_t *o, size_t cap, const struct frame *f,
		       const void *arg)
{
	(void)arg;
	return frame_session(o, cap, frame_get_token(f));
}

static int enc_resume(uint8_t *o, size_t cap, const struct frame *f,
		      const void *arg)
{
	(void)arg;
	return frame_resume(o, cap, frame_get_token(f),
			    frame_get_resume_count(f));
}

static int enc_sync(uint8_t *o, size_t cap, const struct frame *f,
		    const void *arg)
{
	return frame_sync(o, cap, f->stream, arg);
}

static int enc_ping(uint8_t *o, size_t cap, const struct frame *f,
		    const void *arg)
{
	(void)arg;
	return frame_ping(o, cap, f->type, f->payload);
}

struct udp_arg {
	const struct addr *peer;
	size_t datalen;
};

static int enc_udp(uint8_t *o, size_t cap, const struct frame *f,
		   const void *arg)
{
	const struct udp_arg *u = arg;

	return frame_udp_hdr(o, cap, f->stream, u->peer, u->datalen);
}

/* Accessors and re-encoding, on a frame that sits alone in its block. */
static void check_payload(const uint8_t *fr, size_t n, const struct frame *f)
{
	struct addr a, b;
	struct hello h;
	uint8_t code, reason;

	FUZZ_ASSERT(f->payload == fr + FRAME_HDR_LEN);
	FUZZ_ASSERT(n == FRAME_HDR_LEN + (size_t)f->len);
	FUZZ_ASSERT(strcmp(frame_type_name(f->type), "unknown") != 0);
	frame_get_addr(f, &a); /* any type: zeroed when it has none */

	switch (f->type) {
	case FRAME_HELLO:
		FUZZ_ASSERT(f->stream == 0 &&
			    !memcmp(f->payload, PROTO_MAGIC, 4));
		frame_get_hello(f, &h);
		FUZZ_ASSERT(h.window != 0 && h.version == f->payload[4]);
		FUZZ_ASSERT(h.flags == f->payload[5]);
		/* version and reserved are the tunnel's business: the
		 * encoder writes version 1 and zeros */
		if (f->payload[4] == PROTO_VERSION && !f->payload[6] &&
		    !f->payload[7])
			check_encode(fr, n, f, enc_hello, &h, n);
		break;
	case FRAME_OPEN:
		fuzz_valid_addr(&a);
		check_encode(fr, n, f, enc_open, &a, n);
		break;
	case FRAME_RESULT:
		frame_get_result(f, &code, &reason, &b);
		FUZZ_ASSERT(code == f->payload[0] && code == frame_get_code(f));
		/* nothing, a failure's reason or an address */
		FUZZ_ASSERT((f->len == 1 || reason) == (b.type == 0));
		FUZZ_ASSERT(!reason || code != PROTO_OK);
		if (b.type) {
			fuzz_valid_addr(&b);
			fuzz_same_addr(&a, &b);
		}
		check_encode(fr, n, f, enc_result, &b, n);
		break;
	case FRAME_DATA:
		FUZZ_ASSERT(f->len > 0 && f->stream != 0);
		break;
	case FRAME_FIN:
	case FRAME_UDP_OPEN:
		check_encode(fr, n, f, enc_simple, NULL, n);
		break;
	case FRAME_UDP_PATH:
		FUZZ_ASSERT(frame_get_code(f) <= 1);
		/* fall through: the same shape as RST and GOAWAY */
	case FRAME_RST:
	case FRAME_GOAWAY:
		check_encode(fr, n, f, enc_code, NULL, n);
		break;
	case FRAME_WINDOW: {
		uint32_t r;

		FUZZ_ASSERT(frame_get_window(f) != 0);
		if (frame_get_window_ack(f, &r)) {
			FUZZ_ASSERT(f->len == 8);
			check_encode(fr, n, f, enc_window_ack, &r, n);
		} else {
			FUZZ_ASSERT(f->len == 4);
			check_encode(fr, n, f, enc_window, NULL, n);
		}
		break;
	}
	case FRAME_SESSION:
		FUZZ_ASSERT(f->stream == 0 && f->len == RESUME_TOKEN_LEN);
		check_encode(fr, n, f, enc_session, NULL, n);
		break;
	case FRAME_RESUME:
		FUZZ_ASSERT(f->stream == 0 && f->len == RESUME_TOKEN_LEN + 4);
		check_encode(fr, n, f, enc_resume, NULL, n);
		break;
	case FRAME_RESUMED:
		FUZZ_ASSERT(f->stream == 0);
		check_encode(fr, n, f, enc_code, NULL, n);
		break;
	case FRAME_SYNC: {
		struct sync y;

		frame_get_sync(f, &y);
		FUZZ_ASSERT(f->stream != 0 && y.limit >= y.received);
		check_encode(fr, n, f, enc_sync, &y, n);
		break;
	}
	case FRAME_PING:
	case FRAME_PONG:
		check_encode(fr, n, f, enc_ping, NULL, n);
		break;
	case FRAME_UDP_DATA: {
		const uint8_t *data;
		size_t datalen, hdr;
		struct udp_arg u;

		frame_get_udp(f, &b, &data, &datalen);
		fuzz_valid_addr(&b);
		fuzz_same_addr(&a, &b);
		FUZZ_ASSERT(data >= f->payload && datalen <= f->len &&
			    data + datalen == f->payload + f->len);
		hdr = (size_t)(data - fr);
		u.peer = &b;
		u.datalen = datalen;
		/* the encoder writes header + address; the datagram follows */
		check_encode(fr, n, f, enc_udp, &u, hdr);
		break;
	}
	default:
		FUZZ_ASSERT(!"decode accepted an unknown type");
	}
}

/* Prefixes of a frame worth decoding: every one of a short frame; the
 * first few hundred, a sample and the last of a long one. */
static int sampled(size_t k, size_t n)
{
	return k <= FRAME_HDR_LEN + 300 || k == n - 1 || k % 509 == 0;
}

/* A frame decode() accepted: alone in an exact-size block it must decode
 * the same, and every shorter prefix must need more. */
static void check_frame(const uint8_t *in, size_t n, const struct frame *orig)
{
	uint8_t *fr = fuzz_dup(in, n);
	struct frame f;
	size_t k;

	FUZZ_ASSERT(frame_decode(fr, n, &f) == (int)n);
	FUZZ_ASSERT(f.type == orig->type && f.flags == 0 &&
		    f.len == orig->len && f.stream == orig->stream);
	check_payload(fr, n, &f);
	for (k = 0; k < n; k++) {
		if (!sampled(k, n))
			continue;
		fuzz_clip(fr, n, k);
		FUZZ_ASSERT(frame_decode(fr, k, &f) == 0);
	}
	fuzz_clip(fr, n, n);
	free(fr);
}

/* A refused frame: its prefixes need more or fail the same way. */
static void check_refused(const uint8_t *in, size_t len, int err)
{
	uint8_t *p = fuzz_dup(in, len);
	struct frame f;
	size_t k;

	FUZZ_ASSERT(len >= FRAME_HDR_LEN);
	FUZZ_ASSERT(strcmp(frame_strerror(err), "unknown frame error") != 0);
	for (k = 0; k < len; k++) {
		int r;

		if (!sampled(k, len))
			continue;
		fuzz_clip(p, len, k);
		r = frame_decode(p, k, &f);
		FUZZ_ASSERT(r == 0 || r == err);
	}
	fuzz_clip(p, len, len);
	free(p);
}

/* The whole stream at once. Returns how many results went into seen. */
static size_t decode_all(const uint8_t *data, size_t size, struct seen *seen)
{
	size_t off = 0, nseen = 0;
	struct frame f;
	int n;

	while (nseen < MAX_FRAMES) {
		n = frame_decode(data + off, size - off, &f);
		seen[nseen].off = off;
		seen[nseen++].n = n;
		if (n < 0)
			check_refused(data + off, size - off, n);
		if (n <= 0)
			break;
		FUZZ_ASSERT((size_t)n <= size - off && n <= FRAME_MAX_LEN);
		check_frame(data + off, (size_t)n, &f);
		off += (size_t)n;
	}
	return nseen;
}

/* The same stream as it trickles in, chunk sizes drawn from a hash of
 * the input; bytes not received yet are poisoned. The decoder must
 * report the same frames at the same offsets, and the same end. */
static void decode_chunked(const uint8_t *data, size_t size,
			   const struct seen *seen, size_t nseen)
{
	uint8_t *buf = fuzz_dup(data, size);
	uint32_t h = 2166136261u;
	size_t got = 0, off = 0, i = 0, k;
	int done = 0;

	for (k = 0; k < size; k++)
		h = (h ^ data[k]) * 16777619u;
	fuzz_clip(buf, size, 0);
	while (!done && got < size) {
		size_t step = (h & 0x100) ? 1 + h % 3 : 1 + h % 97;

		h = h * 1103515245u + 12345u;
		step = step > size - got ? size - got : step;
		ASAN_UNPOISON_MEMORY_REGION(buf + got, step);
		got += step;
		while (i < nseen) {
			struct frame f;
			int n = frame_decode(buf + off, got - off, &f);

			FUZZ_ASSERT(seen[i].off == off);
			if (n == 0) {
				/* need more: only while the frame is short */
				FUZZ_ASSERT(seen[i].n == 0 ||
					    (got < size &&
					     (seen[i].n < 0 ||
					      got - off < (size_t)seen[i].n)));
				break;
			}
			FUZZ_ASSERT(seen[i].n == n);
			i++;
			if (n < 0) {
				done = 1;
				break;
			}
			off += (size_t)n;
		}
		if (i == nseen)
			done = 1;
	}
	fuzz_clip(buf, size, size);
	free(buf);
}

static void dpath_packet(const uint8_t *data, size_t size)
{
	uint8_t *pkt = fuzz_dup(data, size), *plain, kind;
	struct dpkt_hdr h;
	struct frame f;
	size_t n;

	if (dpkt_parse_hdr(pkt, size, &h)) {
		FUZZ_ASSERT(size < DPKT_MIN_LEN || size > DPKT_MAX_LEN);
		free(pkt);
		return;
	}
	FUZZ_ASSERT(!memcmp(h.id, data, DPKT_ID_LEN));
	n = size - DPKT_HDR_LEN - DPKT_TAG_LEN;
	plain = fuzz_dup(data + DPKT_HDR_LEN, n);
	if (!dpkt_parse_plain(plain, n, &kind, &f)) {
		FUZZ_ASSERT(kind == plain[0]);
		if (kind == DPKT_FRAME) {
			struct addr peer;
			const uint8_t *dg;
			size_t dlen;

			FUZZ_ASSERT(f.type == FRAME_UDP_DATA);
			FUZZ_ASSERT(FRAME_HDR_LEN + (size_t)f.len == n - 1);
			frame_get_udp(&f, &peer, &dg, &dlen);
			fuzz_valid_addr(&peer);
			FUZZ_ASSERT(dg + dlen == plain + n);
		} else {
			FUZZ_ASSERT((kind == DPKT_PROBE ||
				     kind == DPKT_PROBE_ACK) &&
				    n == 1 + DPKT_PROBE_LEN);
		}
	}
	free(plain);
	free(pkt);
}

/* Counters from the input (u16 steps back or ahead of the top), checked
 * against a model that remembers every counter ever marked. */
#define MODEL_MAX 8192
static void replay_model(const uint8_t *data, size_t size)
{
	static uint8_t marked[MODEL_MAX];
	struct replay r = { 0 };
	uint64_t top = 0;
	int any = 0;

	memset(marked, 0, sizeof(marked));
	for (size_t i = 0; i + 2 <= size; i += 2) {
		unsigned v = (unsigned)data[i] << 8 | data[i + 1];
		uint64_t c = v & 0x8000 ?
				     top + (v & 0xff) :
				     (top > (v & 0x7fff) ? top - (v & 0x7fff) :
							   0);
		int want, got;

		if (c >= MODEL_MAX)
			continue;
		want = !marked[c] &&
		       (!any || c > top || top - c < REPLAY_WINDOW);
		got = replay_check(&r, c);
		FUZZ_ASSERT(got == want);
		if (!got)
			continue;
		FUZZ_ASSERT(replay_mark(&r, c) == (!any || c > top));
		marked[c] = 1;
		if (!any || c > top)
			top = c;
		any = 1;
		FUZZ_ASSERT(!replay_check(&r, c));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dpath_packet(data, size);
	replay_model(data, size);
	static struct seen seen[MAX_FRAMES];
	size_t nseen = decode_all(data, size, seen);

	decode_chunked(data, size, seen, nseen);
	return 0;
}
