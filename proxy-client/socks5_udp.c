/* SOCKS5 UDP ASSOCIATE: a UDP socket on the address the application
 * reached us at, one tunnel association per SOCKS association, datagrams
 * relayed without copies in either direction. The association ends
 * exactly when its TCP control connection does: when the server ends its
 * side for idleness (udp-timeout), the next datagram opens a new one, as
 * a NAT makes a new mapping after the old one timed out. */
#include "socks5_udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/assoc.h"
#include "../common/dgram.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"
#include "direct_udp.h"
#include "socks5_proto.h"

/* The SOCKS UDP header (RSV RSV FRAG) is 5 bytes shorter than a frame
 * header; with the datagram read 5 bytes in, the frame header goes in
 * front of the address, which stays where it is. */
#define HDR_SHIFT (FRAME_HDR_LEN - 3)

struct socks_udp {
	struct assoc a;
	const struct socks_udp_host *h;
	void *conn;
	int fd;
	ev_io io;
	struct sockaddr_storage peer; /* the control connection's */
	struct sockaddr_storage app;  /* learnt from the first datagram */
	socklen_t app_len;
	unsigned answered : 1; /* the SOCKS reply went out */
	unsigned logged;       /* the drop kinds logged, a bit each */
	uint64_t dropped;
	struct direct_udp *direct; /* peers the rules send direct */
};

static const char *const drop_why[UDP_DROP_KINDS] = {
	[UDP_DROP_TOO_LONG] = "too long for the tunnel (a frame carries at "
			      "most 16376 bytes of address and payload: "
			      "16369 of payload to an IPv4 peer)",
	[UDP_DROP_NO_HEADER] = "no SOCKS UDP header in front of it (RSV RSV "
			       "FRAG ATYP ADDR PORT, RFC 1928 section 7)",
	[UDP_DROP_FRAGMENT] = "a fragment (FRAG != 0): not supported",
	[UDP_DROP_NO_TUNNEL] = "the tunnel could not take it (down, or its "
			       "UDP queue full)",
};

static const char *const drop_key[UDP_DROP_KINDS] = {
	[UDP_DROP_TOO_LONG] = "too_long",
	[UDP_DROP_NO_HEADER] = "no_header",
	[UDP_DROP_FRAGMENT] = "fragment",
	[UDP_DROP_NO_TUNNEL] = "no_tunnel",
};

/* n datagrams of one kind dropped (len: the first one's length, or 0):
 * counted, and logged the first time this association drops that kind,
 * so a program sending a stream of them does not flood the log. */
static void dropped(struct socks_udp *u, enum socks_udp_drop kind, unsigned n,
		    size_t len)
{
	char from[ADDR_STR_MAX];

	u->h->drops->n[kind] += n;
	u->dropped += n;
	if (u->logged & (1u << kind))
		return;
	u->logged |= 1u << kind;
	sockaddr_str((struct sockaddr *)(u->app_len ? &u->app : &u->peer), from,
		     sizeof(from));
	log_info("socks: udp %u: dropped a datagram from %s (%zu bytes): %s; "
		 "more such drops on this association are only counted",
		 u->a.s.id, from, len, drop_why[kind]);
}

static const struct assoc_ops udp_ops;

static int same_host(const struct sockaddr_storage *a,
		     const struct sockaddr_storage *b)
{
	struct addr x, y;

	addr_from_sockaddr(&x, (const struct sockaddr *)a);
	addr_from_sockaddr(&y, (const struct sockaddr *)b);
	if (x.type != y.type)
		return 0;
	return !memcmp(&x.u, &y.u, x.type == ADDR_IPV4 ? 4 : 16);
}

static int same_port(const struct sockaddr_storage *a,
		     const struct sockaddr_storage *b)
{
	/* sin_port and sin6_port sit at the same offset */
	return ((const struct sockaddr_in *)a)->sin_port ==
	       ((const struct sockaddr_in *)b)->sin_port;
}

struct dgram_batch *socks_udp_batch_new(void)
{
	return dgram_batch_new(HDR_SHIFT, FRAME_MAX_PAYLOAD + 3, 0);
}

void socks_udp_free(struct socks_udp *u)
{
	struct ev_loop *loop = u->h->loop;

	assoc_close(&u->a, PROTO_OK);
	direct_udp_free(u->direct);
	ev_io_stop(loop, &u->io);
	close(u->fd);
	log_info("socks: udp %u ended after %.1f s (%llu bytes up, %llu down, "
		 "%llu datagrams dropped)",
		 u->a.s.id, ev_now(loop) - u->a.start,
		 (unsigned long long)u->a.up, (unsigned long long)u->a.down,
		 (unsigned long long)u->dropped);
	free(u);
}

static int to_app(struct socks_udp *u, const struct addr *peer,
		  const uint8_t *data, size_t len);

static void from_direct(void *arg, const struct sockaddr *from,
			const uint8_t *data, size_t len)
{
	struct socks_udp *u = arg;
	struct addr peer;

	router_count_reply(u->h->router, from, ROUTE_DIRECT, len);
	addr_from_sockaddr(&peer, from);
	to_app(u, &peer, data, len);
}

/* One datagram from the application, read HDR_SHIFT bytes into its slot
 * (longer ones than a frame takes never get here): the frame header and
 * the address go where the SOCKS header and the same address were. */
static int from_app(void *arg, const struct dgram *d)
{
	struct socks_udp *u = arg;
	struct socks5_udp_hdr h;
	int hl;

	/* only the host that holds the control connection */
	if (!same_host(d->from, &u->peer))
		return 0;
	if (!u->app_len) {
		u->app = *d->from;
		u->app_len = d->from_len;
	} else if (!same_port(d->from, &u->app)) {
		return 0;
	}
	hl = socks5_parse_udp_hdr(d->data, d->len, &h);
	/* RSV is not checked on a datagram that parses (quirks pass), but
	 * a non-zero one says what a bad FRAG means: no header at all (a
	 * bare payload, as socksify sends for sendmmsg()) */
	if (hl < 0 || (h.frag && (d->data[0] || d->data[1]))) {
		dropped(u, UDP_DROP_NO_HEADER, 1, d->len);
		return 0;
	}
	if (h.frag != 0) {
		dropped(u, UDP_DROP_FRAGMENT, 1, d->len);
		return 0;
	}
	switch (router_datagram(u->h->router, &h.dst, d->len - (size_t)hl)
			.action) {
	case ROUTE_BLOCK:
		return 0;
	case ROUTE_DIRECT:
		if (!u->direct)
			u->direct =
				direct_udp_new(u->h->direct,
					       router_resolver(u->h->router),
					       u->h->in, from_direct, u);
		direct_udp_send(u->direct, &h.dst, d->data + hl,
				d->len - (size_t)hl);
		return 0;
	default:
		break;
	}
	/* the server ended its side while idle: UDP_DATA may follow the
	 * UDP_OPEN at once, the server reads them in order; no tunnel now:
	 * dropped, as a datagram may be */
	switch (assoc_open(&u->a, client_tunnel(u->h->client), &udp_ops) ?
			-ENOTCONN :
			assoc_send(&u->a, &h.dst, d->data + hl,
				   d->len - (size_t)hl)) {
	case 0:
		break;
	case -EMSGSIZE:
		dropped(u, UDP_DROP_TOO_LONG, 1, d->len);
		break;
	default:
		dropped(u, UDP_DROP_NO_TUNNEL, 1, d->len);
		break;
	}
	return 0;
}

/* Application -> tunnel. */
static void udp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct socks_udp *u = container_of(w, struct socks_udp, io);
	unsigned n;
	size_t len;

	dgram_each(u->h->in, u->fd, from_app, u);
	/* longer than any frame: the batch had no room for them (their
	 * source is not checked: too long is too long) */
	n = dgram_too_long(u->h->in, &len);
	if (n)
		dropped(u, UDP_DROP_TOO_LONG, n, len);
}

void socks_udp_drops_status(const struct socks_udp_drops *d, struct buf *b,
			    int json)
{
	int i;

	if (!json) {
		status_printf(b, "\nudp drops");
		for (i = 0; i < UDP_DROP_KINDS; i++)
			status_printf(b, "%s %s %llu", i ? "," : "",
				      drop_key[i], (unsigned long long)d->n[i]);
		status_printf(b, "\n");
		return;
	}
	status_printf(b, "{");
	for (i = 0; i < UDP_DROP_KINDS; i++)
		status_printf(b, "%s\"%s\":%llu", i ? "," : "", drop_key[i],
			      (unsigned long long)d->n[i]);
	status_printf(b, "}");
}

/* Tunnel or direct socket -> application: the peer's address and the
 * datagram go as they came, behind the three zero bytes of the SOCKS UDP
 * header. */
static int to_app(struct socks_udp *u, const struct addr *peer,
		  const uint8_t *data, size_t len)
{
	uint8_t hdr[3 + ADDR_WIRE_MAX];
	struct iovec iov[2] = {
		{ .iov_base = hdr },
		{ .iov_base = (void *)data, .iov_len = len },
	};
	struct msghdr mh = {
		.msg_name = &u->app,
		.msg_namelen = u->app_len,
		.msg_iov = iov,
		.msg_iovlen = 2,
	};
	int n;

	if (!u->app_len)
		return -1; /* nobody to deliver to yet */
	n = socks5_write_udp_hdr(hdr, sizeof(hdr), peer);
	if (n < 0)
		return -1;
	iov[0].iov_len = (size_t)n;
	return sendmsg(u->fd, &mh, MSG_NOSIGNAL) > 0 ? 0 : -1;
}

static int got_datagram(struct assoc *a, const struct addr *peer,
			const uint8_t *data, size_t len)
{
	struct socks_udp *u = container_of(a, struct socks_udp, a);
	struct sockaddr_storage ss;
	socklen_t sl;

	if (peer->type != ADDR_DOMAIN && !addr_to_sockaddr(peer, &ss, &sl))
		router_count_reply(u->h->router, (struct sockaddr *)&ss,
				   ROUTE_PROXY, len);
	return to_app(u, peer, data, len);
}

/* The server's side is open: tell the application where to send. */
static void associated(struct socks_udp *u)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addr bound;

	getsockname(u->fd, (struct sockaddr *)&ss, &sl);
	addr_from_sockaddr(&bound, (struct sockaddr *)&ss);
	u->answered = 1;
	u->h->reply(u->conn, PROTO_OK, &bound);
	ev_io_start(u->h->loop, &u->io);
}

static void result_cb(struct assoc *a, uint8_t code, uint8_t reason)
{
	struct socks_udp *u = container_of(a, struct socks_udp, a);

	if (code == PROTO_OK) {
		if (!u->answered)
			associated(u);
		return;
	}
	log_info("udp %u: refused by server: %s (reply %u)", a->s.id,
		 proto_refusal_text(code, reason), code);
	if (!u->answered)
		u->h->reply(u->conn, code, NULL);
	u->h->ended(u->conn);
}

static void ended_cb(struct assoc *a, uint8_t code)
{
	struct socks_udp *u = container_of(a, struct socks_udp, a);

	if (u->answered && code == PROTO_TTL_EXPIRED) {
		log_debug("socks: udp %u: idle at the server; the next "
			  "datagram opens it again",
			  a->s.id);
		return;
	}
	/* The application's association outlives the tunnel, as its TCP
	 * flows do with resume (docs/PROTOCOL.md section 16.7): the next
	 * datagram opens it on the next tunnel. */
	if (u->answered && code == ASSOC_TUNNEL_LOST) {
		log_debug("socks: udp %u: tunnel lost; the next datagram "
			  "opens it again",
			  a->s.id);
		return;
	}
	if (!u->answered) {
		/* the tunnel went before the server answered */
		log_info("socks: udp %u: tunnel lost before the server "
			 "answered",
			 a->s.id);
		u->answered = 1;
		u->h->reply(u->conn, PROTO_HOST_UNREACHABLE, NULL);
	}
	u->h->ended(u->conn);
}

static void info_cb(struct assoc *a, struct stream_info *i)
{
	struct socks_udp *u = container_of(a, struct socks_udp, a);

	addr_from_sockaddr(&i->src, (struct sockaddr *)(u->app_len ? &u->app :
								     &u->peer));
	i->state = u->answered ? "open" : "opening";
}

static const struct assoc_ops udp_ops = {
	.datagram = got_datagram,
	.result = result_cb,
	.ended = ended_cb,
	.info = info_cb,
};

struct socks_udp *socks_udp_open(const struct socks_udp_host *h, void *conn,
				 int ctl_fd,
				 const struct sockaddr_storage *peer,
				 struct tunnel *t)
{
	struct socks_udp *u;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int fd;

	if (getsockname(ctl_fd, (struct sockaddr *)&local, &len))
		return NULL;
	((struct sockaddr_in *)&local)->sin_port = 0;
	fd = socket_bound(SOCK_DGRAM, (struct sockaddr *)&local, len, 0);
	if (fd < 0) {
		log_warn("udp: socket: %s", strerror(errno));
		return NULL;
	}
	u = xcalloc(1, sizeof(*u));
	u->h = h;
	u->conn = conn;
	u->fd = fd;
	u->peer = *peer;
	ev_io_init(&u->io, udp_io_cb, fd, EV_READ);
	assoc_open(&u->a, t, &udp_ops);
	return u;
}
