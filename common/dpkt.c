/* The datagram path's packet layout and replay window: see dpkt.h. */
#include "dpkt.h"

#include <string.h>

#include "util.h"

int dpkt_parse_hdr(const uint8_t *p, size_t n, struct dpkt_hdr *h)
{
	if (n < DPKT_MIN_LEN || n > DPKT_MAX_LEN)
		return DPKT_ERR_SIZE;
	memcpy(h->id, p, DPKT_ID_LEN);
	h->ctr = get_be64(p + DPKT_ID_LEN);
	return 0;
}

void dpkt_put_hdr(uint8_t *p, const uint8_t id[DPKT_ID_LEN], uint64_t ctr)
{
	memcpy(p, id, DPKT_ID_LEN);
	put_be64(p + DPKT_ID_LEN, ctr);
}

void dpkt_nonce(uint8_t nonce[12], uint64_t ctr)
{
	memset(nonce, 0, 4);
	put_be64(nonce + 4, ctr);
}

int dpkt_parse_plain(const uint8_t *p, size_t n, uint8_t *kind, struct frame *f)
{
	int rc;

	if (n < 1)
		return DPKT_ERR_KIND;
	*kind = p[0];
	switch (p[0]) {
	case DPKT_PROBE:
	case DPKT_PROBE_ACK:
		return n == 1 + DPKT_PROBE_LEN ? 0 : DPKT_ERR_KIND;
	case DPKT_FRAME:
		rc = frame_decode(p + 1, n - 1, f);
		if (rc <= 0 || (size_t)rc != n - 1 || f->type != FRAME_UDP_DATA)
			return DPKT_ERR_FRAME;
		return 0;
	default:
		return DPKT_ERR_KIND;
	}
}

const char *dpkt_strerror(int err)
{
	switch (err) {
	case DPKT_ERR_SIZE:
		return "bad packet size";
	case DPKT_ERR_KIND:
		return "unknown packet kind";
	case DPKT_ERR_FRAME:
		return "not one UDP_DATA frame";
	default:
		return "no error";
	}
}

#define BLOCK(ctr) ((ctr) / 64 % REPLAY_BLOCKS)
#define BIT(ctr) ((uint64_t)1 << ((ctr) % 64))

int replay_check(const struct replay *r, uint64_t ctr)
{
	if (!r->any || ctr > r->top)
		return 1;
	if (r->top - ctr >= REPLAY_WINDOW)
		return 0;
	return !(r->map[BLOCK(ctr)] & BIT(ctr));
}

int replay_mark(struct replay *r, uint64_t ctr)
{
	int top = !r->any || ctr > r->top;

	if (!r->any) {
		memset(r->map, 0, sizeof(r->map));
	} else if (ctr > r->top) {
		/* clear the blocks the window slides over (all of them at
		 * most): they held counters now too old to matter */
		uint64_t from = r->top / 64, to = ctr / 64;

		if (to - from >= REPLAY_BLOCKS)
			memset(r->map, 0, sizeof(r->map));
		else
			for (uint64_t b = from + 1; b <= to; b++)
				r->map[b % REPLAY_BLOCKS] = 0;
	}
	if (top) {
		r->top = ctr;
		r->any = 1;
	}
	r->map[BLOCK(ctr)] |= BIT(ctr);
	return top;
}
