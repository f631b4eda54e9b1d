/* SOCKS5 UDP ASSOCIATE: a UDP socket on the address the application
 * reached us at, one tunnel stream per association, datagrams relayed
 * without copies in either direction. The association ends exactly when
 * its TCP control connection does: when the server ends its side for
 * idleness (udp-timeout), the next datagram opens a new one, as a NAT
 * makes a new mapping after the old one timed out. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/dgram.h"
#include "../common/log.h"
#include "../common/util.h"
#include "socks5_conn.h"
#include "socks5_proto.h"

struct socks_udp {
	struct stream s;
	struct socks_conn *ctl;
	int fd;
	ev_io io;
	struct sockaddr_storage app;  /* learnt from the first datagram */
	socklen_t app_len;
	uint64_t up, down;
	ev_tstamp start;
};

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

void socks_udp_free(struct socks_udp *u)
{
	uint8_t b[FRAME_HDR_LEN + 1];
	struct ev_loop *loop = u->ctl->srv->loop;

	if (u->s.t) {
		frame_code(b, sizeof(b), FRAME_RST, u->s.id, PROTO_OK);
		tunnel_send(u->s.t, b, sizeof(b));
		tunnel_detach(&u->s);
	}
	ev_io_stop(loop, &u->io);
	if (u->fd >= 0)
		close(u->fd);
	log_info("socks: udp %u ended after %.1f s (%llu bytes up, %llu down)",
		 u->s.id, ev_now(loop) - u->start, (unsigned long long)u->up,
		 (unsigned long long)u->down);
	u->ctl->udp = NULL;
	free(u);
}

static const struct stream_ops udp_ops;

/* Opens the association's server side on the tunnel that is up now;
 * 0 when there is none. */
static int attach(struct socks_udp *u)
{
	struct tunnel *t = client_tunnel(u->ctl->srv->client);

	if (!t)
		return 0;
	tunnel_open_udp(t, &u->s, &udp_ops);
	return 1;
}

/* One datagram from the application, read HDR_SHIFT bytes into its slot
 * (longer ones than a frame takes never get here): the frame header goes
 * in front of the SOCKS address, which stays. */
static int from_app(void *arg, const struct dgram *d)
{
	struct socks_udp *u = arg;
	struct socks5_udp_hdr h;
	uint8_t *frame;
	int hl;

	/* only the host that holds the control connection */
	if (!same_host(d->from, &u->ctl->peer))
		return 0;
	if (!u->app_len) {
		u->app = *d->from;
		u->app_len = d->from_len;
	} else if (!same_port(d->from, &u->app)) {
		return 0;
	}
	hl = socks5_parse_udp_hdr(d->data, d->len, &h);
	if (hl < 0 || h.frag != 0)
		return 0; /* fragments are not supported: dropped */
	/* the server ended its side while idle: UDP_DATA may follow the
	 * UDP_OPEN at once, the server reads them in order */
	if (!u->s.t && !attach(u))
		return 0; /* no tunnel now: dropped, as a datagram may be */
	frame = d->data - HDR_SHIFT;
	frame_put_hdr(frame, FRAME_UDP_DATA, (uint16_t)(d->len - 3), u->s.id);
	if (!tunnel_send_udp(u->s.t, frame, FRAME_HDR_LEN + d->len - 3))
		u->up += (uint64_t)(d->len - (size_t)hl);
	return 0;
}

/* Application -> tunnel. */
static void udp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct socks_udp *u = container_of(w, struct socks_udp, io);

	dgram_each(u->ctl->srv->udp_in, u->fd, from_app, u);
}

/* Tunnel -> application: the frame's address and datagram are sent
 * as they are, behind the three zero bytes of the SOCKS UDP header. */
static void got_datagram(struct socks_udp *u, const struct frame *f)
{
	static const uint8_t rsv[3];
	struct iovec iov[2] = {
		{ .iov_base = (void *)rsv, .iov_len = 3 },
		{ .iov_base = (void *)f->payload, .iov_len = f->len },
	};
	struct msghdr mh = {
		.msg_name = &u->app,
		.msg_namelen = u->app_len,
		.msg_iov = iov,
		.msg_iovlen = 2,
	};
	struct addr peer;
	const uint8_t *data;
	size_t len;

	if (!u->app_len)
		return; /* nobody to deliver to yet */
	frame_get_udp(f, &peer, &data, &len);
	if (sendmsg(u->fd, &mh, MSG_NOSIGNAL) > 0)
		u->down += len;
}

/* The control connection: anything read is ignored; its end ends us. */
static void ctl_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct socks_conn *c = container_of(w, struct socks_conn, io);
	uint8_t b[512];
	ssize_t n = read(c->fd, b, sizeof(b));

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	socks_conn_free(c);
}

/* The server's side is open: tell the application where to send. */
static void associated(struct socks_udp *u)
{
	struct socks_conn *c = u->ctl;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addr bound;

	getsockname(u->fd, (struct sockaddr *)&ss, &sl);
	addr_from_sockaddr(&bound, (struct sockaddr *)&ss);
	socks_reply(c, PROTO_OK, &bound);
	c->state = S_UDP;
	buf_release(&c->in);
	ev_io_init(&u->io, udp_io_cb, u->fd, EV_READ);
	ev_io_start(c->srv->loop, &u->io);
	ev_io_stop(c->srv->loop, &c->io);
	ev_io_init(&c->io, ctl_io_cb, c->fd, EV_READ);
	ev_io_start(c->srv->loop, &c->io);
}

static void frame_cb(struct stream *s, const struct frame *f)
{
	struct socks_udp *u = container_of(s, struct socks_udp, s);
	struct addr unused;
	uint8_t code;

	switch (f->type) {
	case FRAME_RESULT:
		frame_get_result(f, &code, &unused);
		if (code != PROTO_OK) {
			log_info("udp %u: refused by server (reply %u)", s->id,
				 code);
			tunnel_detach(s);
			if (u->ctl->state == S_OPENING)
				socks_reply(u->ctl, code, NULL);
			socks_conn_free(u->ctl);
		} else if (u->ctl->state == S_OPENING) {
			associated(u);
		}
		break;
	case FRAME_UDP_DATA:
		got_datagram(u, f);
		break;
	case FRAME_RST:
		tunnel_detach(s);
		if (u->ctl->state == S_UDP &&
		    frame_get_code(f) == PROTO_TTL_EXPIRED) {
			log_debug("socks: udp %u: idle at the server; the next "
				  "datagram opens it again", s->id);
			break;
		}
		socks_conn_free(u->ctl);
		break;
	default:
		break;
	}
}

static void abort_cb(struct stream *s)
{
	struct socks_udp *u = container_of(s, struct socks_udp, s);

	socks_conn_free(u->ctl);
}

static void writable_cb(struct stream *s)
{
}

static void info_cb(struct stream *s, struct stream_info *i)
{
	struct socks_udp *u = container_of(s, struct socks_udp, s);

	i->kind = "UDP";
	if (u->app_len)
		addr_from_sockaddr(&i->src, (struct sockaddr *)&u->app);
	else
		addr_from_sockaddr(&i->src, (struct sockaddr *)&u->ctl->peer);
	i->start = u->start;
	i->up = u->up;
	i->down = u->down;
	i->state = u->ctl->state == S_UDP ? "open" : "opening";
}

static const struct stream_ops udp_ops = {
	.frame = frame_cb,
	.abort = abort_cb,
	.writable = writable_cb,
	.info = info_cb,
};

void socks_udp_open(struct socks_conn *c, struct tunnel *t)
{
	struct socks_udp *u;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int fd;

	/* Our UDP port lives on the address the application reached us at,
	 * so the reply never names 0.0.0.0. */
	if (getsockname(c->fd, (struct sockaddr *)&local, &len)) {
		socks_reply(c, PROTO_GENERAL_FAILURE, NULL);
		socks_conn_free(c);
		return;
	}
	((struct sockaddr_in *)&local)->sin_port = 0;
	fd = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, len)) {
		log_warn("udp: socket: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		socks_reply(c, PROTO_GENERAL_FAILURE, NULL);
		socks_conn_free(c);
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->ctl = c;
	u->fd = fd;
	u->start = ev_now(c->srv->loop);
	c->udp = u;
	ev_init(&u->io, udp_io_cb);
	tunnel_open_udp(t, &u->s, &udp_ops);
	/* notice a control connection that ends while we wait */
	ev_io_stop(c->srv->loop, &c->io);
	ev_io_init(&c->io, ctl_io_cb, c->fd, EV_READ);
	ev_io_start(c->srv->loop, &c->io);
}
