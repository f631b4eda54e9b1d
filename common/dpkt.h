/* The datagram path's packet (docs/PROTOCOL.md section 15): layout and
 * the replay window. Pure functions, no I/O, no crypto (dseal.c seals
 * and opens).
 *
 *   tunnel id[8]  counter:u64  ciphertext[n]  tag[16]
 *
 * The plaintext is kind:u8 then a body: PROBE and PROBE_ACK carry 8
 * opaque bytes, FRAME exactly one UDP_DATA frame. */
#ifndef COMMON_DPKT_H
#define COMMON_DPKT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define DPKT_ID_LEN 8
#define DPKT_HDR_LEN 16
#define DPKT_TAG_LEN 16
#define DPKT_PROBE_LEN 8
#define DPKT_MIN_PLAIN 1
#define DPKT_MAX_PLAIN (1 + FRAME_MAX_LEN)
#define DPKT_MIN_LEN (DPKT_HDR_LEN + DPKT_MIN_PLAIN + DPKT_TAG_LEN)
#define DPKT_MAX_LEN (DPKT_HDR_LEN + DPKT_MAX_PLAIN + DPKT_TAG_LEN)

enum dpkt_kind {
	DPKT_PROBE = 0x01,     /* client->server: opaque[8] */
	DPKT_PROBE_ACK = 0x02, /* server->client: the probe's opaque[8] */
	DPKT_FRAME = 0x03,     /* both: one UDP_DATA frame */
};

enum dpkt_err {
	DPKT_ERR_SIZE = -1,  /* shorter or longer than a packet can be */
	DPKT_ERR_KIND = -2,  /* unknown kind, or a body wrong for it */
	DPKT_ERR_FRAME = -3, /* FRAME whose body is no single UDP_DATA */
};

struct dpkt_hdr {
	uint8_t id[DPKT_ID_LEN];
	uint64_t ctr;
};

/* The clear header of a packet of n bytes: 0, or DPKT_ERR_SIZE. */
int dpkt_parse_hdr(const uint8_t *p, size_t n, struct dpkt_hdr *h);
void dpkt_put_hdr(uint8_t *p, const uint8_t id[DPKT_ID_LEN], uint64_t ctr);
/* The 12-byte AEAD nonce of a counter: 4 zero bytes, counter:u64. */
void dpkt_nonce(uint8_t nonce[12], uint64_t ctr);

/* An opened plaintext: its kind, and for FRAME the decoded UDP_DATA
 * (f->payload points into p). 0 or an enum dpkt_err. */
int dpkt_parse_plain(const uint8_t *p, size_t n, uint8_t *kind,
		     struct frame *f);
const char *dpkt_strerror(int err);

/* Sliding replay window (RFC 6479): the highest counter accepted and a
 * bitmap of the REPLAY_WINDOW below it, kept in 64-bit blocks. A
 * counter is new if above the top, or inside the window and not seen.
 * Check before the (costly) tag check, mark only after it passed. */
#define REPLAY_BLOCKS 32
#define REPLAY_WINDOW ((REPLAY_BLOCKS - 1) * 64)
struct replay {
	uint64_t top; /* highest counter marked */
	int any;      /* anything marked yet */
	uint64_t map[REPLAY_BLOCKS];
};
/* 1 if ctr was never marked and is not too old, else 0. */
int replay_check(const struct replay *r, uint64_t ctr);
/* Marks ctr (which replay_check() passed); 1 if it is the new top. */
int replay_mark(struct replay *r, uint64_t ctr);

#endif
