/* UDP associations: see assoc.h. */
#include "assoc.h"

#include <errno.h>
#include <string.h>

#include "meter.h"
#include "util.h"

static const struct stream_ops assoc_stream_ops;

static struct assoc *of_stream(struct stream *s)
{
	return container_of(s, struct assoc, s);
}

static void set_ops(struct assoc *a, struct tunnel *t,
		    const struct assoc_ops *ops)
{
	a->ops = ops;
	if (!a->start)
		a->start = ev_now(tunnel_loop(t));
}

int assoc_open(struct assoc *a, struct tunnel *t, const struct assoc_ops *ops)
{
	if (a->s.t)
		return 0;
	if (!t)
		return -1;
	set_ops(a, t, ops);
	a->known = 0;
	tunnel_open_udp(t, &a->s, &assoc_stream_ops);
	return 0;
}

void assoc_accept(struct assoc *a, struct tunnel *t, uint32_t id,
		  const struct assoc_ops *ops)
{
	a->server_side = 1;
	a->known = 1;
	set_ops(a, t, ops);
	tunnel_attach(t, &a->s, id, &assoc_stream_ops);
	tunnel_send_result(t, id, PROTO_OK, REASON_NONE, NULL);
}

int assoc_send(struct assoc *a, const struct addr *peer, uint8_t *data,
	       size_t len)
{
	uint8_t hdr[FRAME_HDR_LEN + ADDR_WIRE_MAX];
	int hl;

	if (!a->s.t)
		return -ENOTCONN;
	hl = frame_udp_hdr(hdr, sizeof(hdr), a->s.id, peer, len);
	if (hl < 0)
		return -EMSGSIZE;
	memcpy(data - hl, hdr, (size_t)hl);
	if (tunnel_send_udp(a->s.t, data - hl, (size_t)hl + len, a->known))
		return -ENOBUFS;
	if (a->server_side)
		a->down += len;
	else
		a->up += len;
	meter_add(tunnel_meter(a->s.t),
		  a->server_side ? METER_UDP_DOWN : METER_UDP_UP, len);
	return 0;
}

void assoc_close(struct assoc *a, uint8_t code)
{
	uint8_t b[FRAME_HDR_LEN + 1];

	if (!a->s.t)
		return;
	frame_code(b, sizeof(b), FRAME_RST, a->s.id, code);
	tunnel_send(a->s.t, b, sizeof(b));
	tunnel_detach(&a->s);
}

static void got_datagram(struct assoc *a, const struct frame *f)
{
	struct addr peer;
	const uint8_t *data;
	size_t len;

	frame_get_udp(f, &peer, &data, &len);
	if (tunnel_in_held(a->s.t))
		return; /* over the rate cap: dropped, as a router would */
	tunnel_in_count(a->s.t, len);
	if (a->ops->datagram(a, &peer, data, len))
		return;
	if (a->server_side)
		a->up += len;
	else
		a->down += len;
	meter_add(tunnel_meter(a->s.t),
		  a->server_side ? METER_UDP_UP : METER_UDP_DOWN, len);
}

static void got_result(struct assoc *a, const struct frame *f)
{
	struct addr bound;
	uint8_t code, reason;

	frame_get_result(f, &code, &reason, &bound);
	a->known = code == PROTO_OK;
	if (code != PROTO_OK)
		tunnel_detach(&a->s); /* refused: over, as for TCP */
	if (a->ops->result)
		a->ops->result(a, code, reason);
	else if (code != PROTO_OK)
		a->ops->ended(a, code);
}

/* Only UDP_DATA, RESULT (to the client) and RST mean anything on an
 * association; DATA, FIN and WINDOW must not be sent on one and are
 * dropped, as are frames for a stream that is gone. */
static void frame_cb(struct stream *s, const struct frame *f)
{
	struct assoc *a = of_stream(s);

	switch (f->type) {
	case FRAME_UDP_DATA:
		got_datagram(a, f);
		break;
	case FRAME_RESULT:
		if (!a->server_side)
			got_result(a, f);
		break;
	case FRAME_RST:
		tunnel_detach(s);
		a->ops->ended(a, frame_get_code(f));
		break;
	default:
		break;
	}
}

static void abort_cb(struct stream *s)
{
	struct assoc *a = of_stream(s);

	tunnel_detach(s); /* still attached after tunnel_reset_streams() */
	a->ops->ended(a, ASSOC_TUNNEL_LOST);
}

static void info_cb(struct stream *s, struct stream_info *i)
{
	struct assoc *a = of_stream(s);

	i->kind = "UDP";
	i->start = a->start;
	i->up = a->up;
	i->down = a->down;
	i->state = "open";
	if (a->ops->info)
		a->ops->info(a, i);
}

static const struct stream_ops assoc_stream_ops = {
	.frame = frame_cb,
	.abort = abort_cb,
	.info = info_cb,
};
