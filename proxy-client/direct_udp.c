/* Direct datagrams of a UDP association (direct_udp.h). */
#include "direct_udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/dgram.h"
#include "../common/log.h"
#include "../common/resolver.h"
#include "../common/util.h"

/* Datagrams waiting for their name at once, per association. */
#define PENDING_MAX 16

struct pending {
	struct direct_udp *u;
	struct resolve_req *rq;
	struct pending *next, **pprev;
	size_t len;
	uint8_t data[];
};

struct direct_udp {
	const struct direct_params *p;
	struct resolver *res;
	struct dgram_batch *in;
	direct_udp_cb cb;
	void *arg;
	int fd[2]; /* IPv4, IPv6; -1 until used */
	ev_io io[2];
	struct pending *pending;
	unsigned npending;
};

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);

struct direct_udp *direct_udp_new(const struct direct_params *p,
				  struct resolver *res, struct dgram_batch *in,
				  direct_udp_cb cb, void *arg)
{
	struct direct_udp *u = xcalloc(1, sizeof(*u));

	u->p = p;
	u->res = res;
	u->in = in;
	u->cb = cb;
	u->arg = arg;
	u->fd[0] = u->fd[1] = -1;
	return u;
}

static void pending_free(struct pending *q)
{
	*q->pprev = q->next;
	if (q->next)
		q->next->pprev = q->pprev;
	q->u->npending--;
	free(q);
}

void direct_udp_free(struct direct_udp *u)
{
	if (!u)
		return;
	while (u->pending) {
		resolver_cancel(u->pending->rq);
		pending_free(u->pending);
	}
	for (int i = 0; i < 2; i++) {
		if (u->fd[i] < 0)
			continue;
		ev_io_stop(u->p->loop, &u->io[i]);
		close(u->fd[i]);
	}
	free(u);
}

static int sock_for(struct direct_udp *u, int family)
{
	int i = family == AF_INET6;

	if (u->fd[i] >= 0)
		return u->fd[i];
	u->fd[i] = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd[i] < 0) {
		log_warn("udp: direct socket: %s", strerror(errno));
		return -1;
	}
	if (u->p->mark)
		setsockopt(u->fd[i], SOL_SOCKET, SO_MARK, &u->p->mark,
			   sizeof(u->p->mark));
	ev_io_init(&u->io[i], io_cb, u->fd[i], EV_READ);
	u->io[i].data = u;
	ev_io_start(u->p->loop, &u->io[i]);
	return u->fd[i];
}

static void send_to(struct direct_udp *u, const struct sockaddr_storage *ss,
		    const uint8_t *data, size_t len)
{
	int fd = sock_for(u, ss->ss_family);

	/* a full socket buffer drops the datagram, as a router would */
	if (fd >= 0)
		sendto(fd, data, len, MSG_NOSIGNAL, (const struct sockaddr *)ss,
		       sockaddr_len(ss->ss_family));
}

static void resolved(void *arg, int status,
		     const struct sockaddr_storage *addrs, int n)
{
	struct pending *q = arg;

	if (!status && n > 0)
		send_to(q->u, &addrs[0], q->data, q->len);
	pending_free(q);
}

void direct_udp_send(struct direct_udp *u, const struct addr *dst,
		     const uint8_t *data, size_t len)
{
	struct sockaddr_storage ss;
	struct resolve_req *rq;
	struct pending *q;
	socklen_t sl;

	if (dst->type != ADDR_DOMAIN) {
		addr_to_sockaddr(dst, &ss, &sl);
		send_to(u, &ss, data, len);
		return;
	}
	if (u->npending >= PENDING_MAX)
		return;
	q = xmalloc(sizeof(*q) + len);
	q->u = u;
	q->rq = NULL;
	q->len = len;
	memcpy(q->data, data, len);
	q->next = u->pending;
	if (q->next)
		q->next->pprev = &q->next;
	q->pprev = &u->pending;
	u->pending = q;
	u->npending++;
	rq = resolver_lookup(u->res, dst->u.domain, dst->port, resolved, q);
	if (rq) /* NULL: answered already, q is gone */
		q->rq = rq;
}

static int from_peer(void *arg, const struct dgram *d)
{
	struct direct_udp *u = arg;

	u->cb(u->arg, (const struct sockaddr *)d->from, d->data, d->len);
	return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct direct_udp *u = w->data;

	dgram_each(u->in, w->fd, from_peer, u);
}
