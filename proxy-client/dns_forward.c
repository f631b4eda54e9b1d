/* The DNS forwarder's UDP side: queries on dns-listen go through one
 * tunnel UDP association to the chosen name server (by default the VPS's
 * own), so nothing leaks to the local network. Transaction ids are
 * rewritten to keep concurrent askers apart and restored on the way
 * back. */
#include "dns_forward.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/assoc.h"
#include "../common/dgram.h"
#include "../common/idmap.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../redir/redir.h"

#define QUERY_TIMEOUT 10.0
#define SWEEP_INTERVAL 2.0
#define ROOM (FRAME_HDR_LEN + ADDR_WIRE_MAX)
#define DNS_HDR 12

struct pending {
	struct sockaddr_storage from;
	uint16_t orig_id;
	ev_tstamp expires;
};

struct dns_forward {
	struct assoc a;          /* opened on first use of each tunnel */
	struct ev_loop *loop;
	struct client *client;
	struct addr server;
	int fd;
	ev_io io;
	ev_timer sweep;
	struct idmap pending;    /* our id + 1 -> struct pending */
	uint8_t pool[256];       /* random bytes for transaction ids */
	size_t pool_left;
	struct dgram_batch *in;  /* queries read, ROOM bytes in front */
};

static const struct assoc_ops dns_ops;

static void drop_pending(void *val, void *arg)
{
	free(val);
}

static void forget_all(struct dns_forward *d)
{
	idmap_each(&d->pending, drop_pending, NULL);
	idmap_free(&d->pending);
}

static uint16_t random_id(struct dns_forward *d)
{
	if (d->pool_left < 2) {
		if (getrandom(d->pool, sizeof(d->pool), 0) != sizeof(d->pool))
			for (size_t i = 0; i < sizeof(d->pool); i++)
				d->pool[i] = (uint8_t)random();
		d->pool_left = sizeof(d->pool);
	}
	d->pool_left -= 2;
	return get_be16(d->pool + d->pool_left);
}

/* One query, read ROOM bytes into its slot: the frame header goes in
 * front of it. */
static int query(void *arg, const struct dgram *q)
{
	struct dns_forward *d = arg;
	uint8_t *msg = q->data;
	size_t len = q->len;
	struct pending *p;
	uint16_t id;

	if (len < DNS_HDR ||
	    assoc_open(&d->a, client_tunnel(d->client), &dns_ops))
		return 0; /* the asker retries */
	/* random ids: the resolver must not be able to guess the next */
	do {
		id = random_id(d);
	} while (idmap_get(&d->pending, (uint32_t)id + 1));
	p = xmalloc(sizeof(*p));
	p->from = *q->from;
	p->orig_id = get_be16(msg);
	p->expires = ev_now(d->loop) + QUERY_TIMEOUT;
	idmap_put(&d->pending, (uint32_t)id + 1, p);
	put_be16(msg, id);
	assoc_send(&d->a, &d->server, msg, len);
	return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_forward *d = container_of(w, struct dns_forward, io);

	dgram_each(d->in, w->fd, query, d);
}

static int answer(struct assoc *a, const struct addr *peer,
		  const uint8_t *data, size_t len)
{
	struct dns_forward *d = container_of(a, struct dns_forward, a);
	struct pending *p;
	uint8_t orig_id[2];
	struct iovec iov[2] = {
		{ .iov_base = orig_id, .iov_len = 2 },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	uint16_t id;
	int rc;

	/* only the name server we asked may answer */
	if (len < DNS_HDR || peer->type != d->server.type ||
	    peer->port != d->server.port ||
	    memcmp(&peer->u, &d->server.u, peer->type == ADDR_IPV4 ? 4 : 16))
		return -1;
	id = get_be16(data);
	p = idmap_get(&d->pending, (uint32_t)id + 1);
	if (!p)
		return -1; /* late or forged */
	/* the asker's own id in front of the rest, which is not copied */
	put_be16(orig_id, p->orig_id);
	iov[1].iov_base = (void *)(data + 2);
	iov[1].iov_len = len - 2;
	mh.msg_name = &p->from;
	mh.msg_namelen = sockaddr_len(p->from.ss_family);
	rc = sendmsg(d->fd, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
	idmap_del(&d->pending, (uint32_t)id + 1);
	free(p);
	return rc;
}

/* Gone, refused, or the tunnel went down: the next query opens a new
 * association; the askers of the old one retry. */
static void ended_cb(struct assoc *a, uint8_t code)
{
	forget_all(container_of(a, struct dns_forward, a));
}

static void info_cb(struct assoc *a, struct stream_info *i)
{
	struct dns_forward *d = container_of(a, struct dns_forward, a);

	i->dst = d->server;
	i->state = "dns";
}

static const struct assoc_ops dns_ops = {
	.datagram = answer,
	.ended = ended_cb,
	.info = info_cb,
};

static int expired(void *val, void *arg)
{
	struct pending *p = val;

	if (p->expires > *(ev_tstamp *)arg)
		return 0;
	free(p);
	return 1;
}

/* Unanswered queries are forgotten after a while. */
static void sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dns_forward *d = container_of(w, struct dns_forward, sweep);
	ev_tstamp now = ev_now(loop);

	idmap_sweep(&d->pending, expired, &now);
}

struct dns_forward *dns_forward_new(struct ev_loop *loop,
				    const struct addr *listen,
				    const struct addr *server,
				    struct client *client)
{
	struct dns_forward *d;
	struct sockaddr_storage ss;
	socklen_t len;
	char name[ADDR_STR_MAX];
	int fd, one = 1;

	addr_str(listen, name, sizeof(name));
	addr_to_sockaddr(listen, &ss, &len);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len)) {
		log_error("dns-listen %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->loop = loop;
	d->client = client;
	d->server = *server;
	d->fd = fd;
	d->in = dgram_batch_new(ROOM, FRAME_MAX_PAYLOAD, 0);
	ev_io_init(&d->io, io_cb, fd, EV_READ);
	ev_io_start(loop, &d->io);
	ev_timer_init(&d->sweep, sweep_cb, SWEEP_INTERVAL, SWEEP_INTERVAL);
	ev_timer_start(loop, &d->sweep);
	log_info("DNS over UDP on %s", name);
	return d;
}

void dns_forward_free(struct dns_forward *d)
{
	if (!d)
		return;
	assoc_close(&d->a, PROTO_OK);
	forget_all(d);
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->sweep);
	close(d->fd);
	dgram_batch_free(d->in);
	free(d);
}
