/* TPROXY: UDP for other hosts' addresses arrives on one transparent
 * socket. Each local source gets one tunnel UDP association (full cone,
 * as for SOCKS5); replies go back FROM the peer's address, through a
 * transparent socket bound to it, so games and P2P see the real peer,
 * also for peers the source never addressed. Each datagram is decided
 * by the routing rules (router.h, as a SOCKS5 UDP ASSOCIATE's are): a
 * direct one leaves from the source's own sockets of direct_udp.c,
 * whose replies go back the same way; a blocked one is dropped.
 *
 * Both are kept in least-recently-used order: past max-udp-assocs or
 * max-udp-peers the oldest one goes, so a UDP scan through a gateway
 * costs it a bounded number of descriptors and streams, and traffic
 * keeps working (an evicted peer gets a new socket when it answers). */
#include "tproxy.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/assoc.h"
#include "../common/dgram.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../redir/redir.h"
#include "direct_udp.h"

/* Hash buckets: one per two entries at the cap, a power of two from 256
 * to 65536, so a gateway at its limits finds an entry in a step or two. */
#define BUCKETS_MIN 256u
#define BUCKETS_MAX 65536u
/* Idle entries are looked for this often, or twice per udp-timeout. */
#define SWEEP_INTERVAL 10.0

/* Oldest first; use moves an entry to the tail, so evicting and
 * sweeping look only at the head: O(1) per entry. */
struct lru {
	struct lru *prev, *next;
};

/* One local source: its tunnel association (opened by its first proxied
 * datagram, again after it ended) and its direct sockets. */
struct tp_assoc {
	struct assoc a;
	struct direct_udp *direct; /* NULL until a datagram goes direct */
	struct tproxy *tp;
	struct sockaddr_storage src;
	ev_tstamp last;
	struct tp_assoc *hnext;
	struct lru lru;
};

/* A socket bound to a remote peer's address, to answer from it. */
struct tp_reply {
	ev_io io;
	struct tproxy *tp;
	struct sockaddr_storage peer;
	ev_tstamp last;
	struct tp_reply *hnext;
	struct lru lru;
};

/* A cap on associations or on reply sockets. */
struct tp_limit {
	const char *name; /* the directive */
	const char *what; /* what goes when it is reached */
	unsigned max, n;
	ev_tstamp logged;
	struct lru lru;
};

struct tproxy {
	struct ev_loop *loop;
	struct client *client;
	struct router *router;
	struct direct_params dp;
	ev_io io;
	ev_timer sweep;
	struct tp_assoc **assocs;
	struct tp_reply **replies;
	unsigned assoc_mask, reply_mask; /* buckets - 1 */
	struct tp_limit assoc_limit, reply_limit;
	ev_tstamp udp_timeout;
	struct dgram_batch *in; /* datagrams read, from any socket */
};

static const struct assoc_ops tp_assoc_ops;

static unsigned hash_of(const struct sockaddr_storage *ss)
{
	struct addr a;
	unsigned h = 2166136261u;
	const uint8_t *p;

	addr_from_sockaddr(&a, (const struct sockaddr *)ss);
	p = a.u.v6;
	for (int i = 0; i < 16; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ a.port) * 16777619u;
	return h;
}

static unsigned buckets_for(unsigned max)
{
	unsigned n = BUCKETS_MIN;

	while (n < max / 2 && n < BUCKETS_MAX)
		n *= 2;
	return n;
}

static int same(const struct sockaddr_storage *x,
		const struct sockaddr_storage *y)
{
	struct addr a, b;

	addr_from_sockaddr(&a, (const struct sockaddr *)x);
	addr_from_sockaddr(&b, (const struct sockaddr *)y);
	return a.type == b.type && a.port == b.port && !memcmp(&a.u, &b.u, 16);
}

/* ---- least recently used ---- */

static void lru_unlink(struct lru *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_append(struct tp_limit *l, struct lru *e)
{
	e->prev = l->lru.prev;
	e->next = &l->lru;
	l->lru.prev->next = e;
	l->lru.prev = e;
}

/* The oldest entry, or NULL. */
static struct lru *lru_head(struct tp_limit *l)
{
	return l->lru.next == &l->lru ? NULL : l->lru.next;
}

static void limit_init(struct tp_limit *l, const char *name, const char *what,
		       unsigned max)
{
	l->name = name;
	l->what = what;
	l->max = max;
	l->logged = -1e9;
	l->lru.prev = l->lru.next = &l->lru;
}

static struct tp_assoc *oldest_assoc(struct tproxy *tp)
{
	struct lru *e = lru_head(&tp->assoc_limit);

	return e ? container_of(e, struct tp_assoc, lru) : NULL;
}

static struct tp_reply *oldest_reply(struct tproxy *tp)
{
	struct lru *e = lru_head(&tp->reply_limit);

	return e ? container_of(e, struct tp_reply, lru) : NULL;
}

/* Room for one more: 1 when the oldest must go first, logged at most
 * once a second so that a scan does not flood the log. */
static int limit_full(struct tproxy *tp, struct tp_limit *l)
{
	if (l->n < l->max)
		return 0;
	if (ev_now(tp->loop) - l->logged >= 1.0) {
		l->logged = ev_now(tp->loop);
		log_warn("tproxy: %s (%u) reached: closing the least recently "
			 "used %s",
			 l->name, l->max, l->what);
	}
	return 1;
}

/* ---- associations ---- */

/* RST to the server unless the association ended already. */
static void tp_assoc_free(struct tp_assoc *as)
{
	struct tp_assoc **pp =
		&as->tp->assocs[hash_of(&as->src) & as->tp->assoc_mask];

	while (*pp != as)
		pp = &(*pp)->hnext;
	*pp = as->hnext;
	lru_unlink(&as->lru);
	as->tp->assoc_limit.n--;
	assoc_close(&as->a, PROTO_OK);
	direct_udp_free(as->direct);
	free(as);
}

static void tp_assoc_touch(struct tp_assoc *as)
{
	as->last = ev_now(as->tp->loop);
	lru_unlink(&as->lru);
	lru_append(&as->tp->assoc_limit, &as->lru);
}

static struct tp_assoc *tp_assoc_get(struct tproxy *tp,
				     const struct sockaddr_storage *src)
{
	unsigned h = hash_of(src) & tp->assoc_mask;
	struct tp_assoc *as;

	for (as = tp->assocs[h]; as; as = as->hnext)
		if (same(&as->src, src))
			return as;
	if (limit_full(tp, &tp->assoc_limit)) /* the RST frees it there too */
		tp_assoc_free(oldest_assoc(tp));
	as = xcalloc(1, sizeof(*as));
	as->tp = tp;
	as->src = *src;
	as->last = ev_now(tp->loop);
	as->hnext = tp->assocs[h];
	tp->assocs[h] = as;
	lru_append(&tp->assoc_limit, &as->lru);
	tp->assoc_limit.n++;
	return as;
}

static void from_direct(void *arg, const struct sockaddr *from,
			const uint8_t *data, size_t len);

/* One datagram from a local source toward dst, already at dgram in the
 * batch buffer with FRAME_UDP_HDR_IP_MAX bytes free in front of it. */
static void forward(struct tproxy *tp, const struct sockaddr_storage *src,
		    const struct sockaddr_storage *dst, uint8_t *dgram,
		    size_t len)
{
	struct tp_assoc *as;
	struct tunnel *t = NULL;
	struct addr to;
	enum route_action action;

	addr_from_sockaddr(&to, (const struct sockaddr *)dst);
	action = router_datagram(tp->router, &to, len).action;
	if (action == ROUTE_BLOCK)
		return;
	if (action != ROUTE_DIRECT && !(t = client_tunnel(tp->client)))
		return; /* dropped: UDP senders retry */
	as = tp_assoc_get(tp, src);
	if (action == ROUTE_DIRECT) {
		if (!as->direct)
			as->direct = direct_udp_new(&tp->dp,
						    router_resolver(tp->router),
						    tp->in, from_direct, as);
		direct_udp_send(as->direct, &to, dgram, len);
		tp_assoc_touch(as);
		return;
	}
	assoc_open(&as->a, t, &tp_assoc_ops); /* datagrams may follow */
	if (assoc_send(&as->a, &to, dgram, len) == -EMSGSIZE)
		return; /* too big for one frame */
	tp_assoc_touch(as);
}

/* ---- reply sockets ---- */

static void reply_free(struct tp_reply *r)
{
	struct tp_reply **pp =
		&r->tp->replies[hash_of(&r->peer) & r->tp->reply_mask];

	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	lru_unlink(&r->lru);
	r->tp->reply_limit.n--;
	ev_io_stop(r->tp->loop, &r->io);
	close(r->io.fd);
	free(r);
}

static void reply_touch(struct tp_reply *r)
{
	r->last = ev_now(r->tp->loop);
	lru_unlink(&r->lru);
	lru_append(&r->tp->reply_limit, &r->lru);
}

/* TPROXY finds a socket bound to the exact destination before its
 * listener, so traffic to a peer we answer for lands here: it is one
 * more datagram toward that peer. */
static int from_local_to_peer(void *arg, const struct dgram *d)
{
	struct tp_reply *r = arg;

	reply_touch(r);
	forward(r->tp, d->from, &r->peer, d->data, d->len);
	return 0;
}

static void reply_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tp_reply *r = container_of(w, struct tp_reply, io);

	dgram_each(r->tp->in, w->fd, from_local_to_peer, r);
}

static struct tp_reply *reply_get(struct tproxy *tp,
				  const struct sockaddr_storage *peer)
{
	unsigned h = hash_of(peer) & tp->reply_mask;
	struct tp_reply *r;
	char p[ADDR_STR_MAX];
	int fd;

	for (r = tp->replies[h]; r; r = r->hnext)
		if (same(&r->peer, peer))
			return r;
	/* before the new socket: at the cap, its descriptor is the one
	 * this frees */
	if (limit_full(tp, &tp->reply_limit))
		reply_free(oldest_reply(tp));
	fd = redir_reply_socket(peer);
	if (fd < 0) {
		log_warn("tproxy: cannot answer from %s: %s",
			 sockaddr_str((const struct sockaddr *)peer, p,
				      sizeof(p)),
			 strerror(errno));
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->tp = tp;
	r->peer = *peer;
	r->hnext = tp->replies[h];
	tp->replies[h] = r;
	lru_append(&tp->reply_limit, &r->lru);
	tp->reply_limit.n++;
	ev_io_init(&r->io, reply_io_cb, fd, EV_READ);
	ev_io_start(tp->loop, &r->io);
	return r;
}

/* A reply from peer, by the tunnel or direct: to the source, from the
 * peer's address. */
static int to_source(struct tp_assoc *as, const struct sockaddr_storage *peer,
		     const uint8_t *data, size_t len)
{
	struct sockaddr_storage ss = *peer, to = as->src;
	struct tp_reply *r;

	/* answer in the family the source used */
	if (to.ss_family == AF_INET6 && ss.ss_family == AF_INET) {
		struct sockaddr_in6 m = { .sin6_family = AF_INET6 };
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		m.sin6_port = in->sin_port;
		m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m.sin6_addr.s6_addr[12], &in->sin_addr, 4);
		memcpy(&ss, &m, sizeof(m));
	}
	r = reply_get(as->tp, &ss);
	if (!r)
		return -1;
	reply_touch(r);
	tp_assoc_touch(as);
	return sendto(r->io.fd, data, len, 0, (struct sockaddr *)&to,
		      sockaddr_len(to.ss_family)) < 0 ?
		       -1 :
		       0;
}

/* A reply from the tunnel. */
static int got_datagram(struct assoc *a, const struct addr *peer,
			const uint8_t *data, size_t len)
{
	struct tp_assoc *as = container_of(a, struct tp_assoc, a);
	struct sockaddr_storage ss;
	socklen_t sl;

	if (addr_to_sockaddr(peer, &ss, &sl))
		return -1;
	router_count_reply(as->tp->router, (struct sockaddr *)&ss, ROUTE_PROXY,
			   len);
	return to_source(as, &ss, data, len);
}

/* A reply to a direct socket of the source's. */
static void from_direct(void *arg, const struct sockaddr *from,
			const uint8_t *data, size_t len)
{
	struct tp_assoc *as = arg;
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, from, sockaddr_len(from->sa_family));
	router_count_reply(as->tp->router, from, ROUTE_DIRECT, len);
	to_source(as, &ss, data, len);
}

/* The tunnel side is over; a source with direct peers keeps those, and
 * its next proxied datagram opens a new association. */
static void tp_assoc_ended(struct assoc *a, uint8_t code)
{
	struct tp_assoc *as = container_of(a, struct tp_assoc, a);

	if (!as->direct)
		tp_assoc_free(as);
}

static void tp_assoc_result(struct assoc *a, uint8_t code, uint8_t reason)
{
	if (code == PROTO_OK)
		return;
	log_info("tproxy: udp %u refused by server: %s (code %u)", a->s.id,
		 proto_refusal_text(code, reason), code);
	tp_assoc_ended(a, code);
}

static void tp_assoc_info(struct assoc *a, struct stream_info *i)
{
	struct tp_assoc *as = container_of(a, struct tp_assoc, a);

	addr_from_sockaddr(&i->src, (struct sockaddr *)&as->src);
	i->state = "tproxy";
}

static const struct assoc_ops tp_assoc_ops = {
	.datagram = got_datagram,
	.result = tp_assoc_result,
	.ended = tp_assoc_ended,
	.info = tp_assoc_info,
};

/* ---- listener ---- */

/* A datagram TPROXY diverted to us: its destination is in its control
 * message. */
static int from_local(void *arg, const struct dgram *d)
{
	struct tproxy *tp = arg;
	struct sockaddr_storage dst;

	redir_udp_dst(tp->io.fd, d->msg, &dst);
	forward(tp, d->from, &dst, d->data, d->len);
	return 0;
}

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tproxy *tp = container_of(w, struct tproxy, io);

	dgram_each(tp->in, w->fd, from_local, tp);
}

/* Associations and reply sockets nobody used for a while go away: the
 * idle ones are at the head of their lists. */
static void sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tproxy *tp = container_of(w, struct tproxy, sweep);
	ev_tstamp old = ev_now(loop) - tp->udp_timeout;
	struct tp_assoc *as;
	struct tp_reply *r;

	while ((as = oldest_assoc(tp)) && as->last < old)
		tp_assoc_free(as);
	while ((r = oldest_reply(tp)) && r->last < old)
		reply_free(r);
}

struct tproxy *tproxy_new(struct ev_loop *loop, const struct addr *listen,
			  const struct client_conf *conf, struct client *client,
			  struct router *router)
{
	struct tproxy *tp;
	char err[256], name[ADDR_STR_MAX];
	int fd = redir_listen_udp(listen, err, sizeof(err));
	ev_tstamp sweep;

	if (fd < 0) {
		log_error("tproxy %s", err);
		return NULL;
	}
	tp = xcalloc(1, sizeof(*tp));
	tp->loop = loop;
	tp->client = client;
	tp->router = router;
	tp->dp.loop = loop;
	tp->dp.name = "tproxy";
	tp->dp.connect_timeout = conf->connect_timeout;
	tp->dp.idle_timeout = conf->tc.tp.idle_timeout;
	tp->dp.mark = router_mark(router);
	tp->in = dgram_batch_new(FRAME_UDP_HDR_IP_MAX, FRAME_MAX_PAYLOAD,
				 REDIR_UDP_CTL_LEN);
	limit_init(&tp->assoc_limit, "max-udp-assocs", "association",
		   conf->max_udp_assocs);
	limit_init(&tp->reply_limit, "max-udp-peers", "reply socket",
		   conf->max_udp_peers);
	tp->assoc_mask = buckets_for(conf->max_udp_assocs) - 1;
	tp->reply_mask = buckets_for(conf->max_udp_peers) - 1;
	tp->assocs = xcalloc(tp->assoc_mask + 1, sizeof(*tp->assocs));
	tp->replies = xcalloc(tp->reply_mask + 1, sizeof(*tp->replies));
	ev_io_init(&tp->io, listen_cb, fd, EV_READ);
	ev_io_start(loop, &tp->io);
	tp->udp_timeout = conf->udp_timeout;
	sweep = MAX(0.1, MIN(SWEEP_INTERVAL, conf->udp_timeout / 2));
	ev_timer_init(&tp->sweep, sweep_cb, sweep, sweep);
	ev_timer_start(loop, &tp->sweep);
	log_info("UDP TPROXY listener on %s",
		 addr_str(listen, name, sizeof(name)));
	return tp;
}

void tproxy_free(struct tproxy *tp)
{
	struct tp_assoc *as;
	struct tp_reply *r;

	if (!tp)
		return;
	while ((as = oldest_assoc(tp)))
		tp_assoc_free(as);
	while ((r = oldest_reply(tp)))
		reply_free(r);
	ev_io_stop(tp->loop, &tp->io);
	ev_timer_stop(tp->loop, &tp->sweep);
	close(tp->io.fd);
	dgram_batch_free(tp->in);
	free(tp->assocs);
	free(tp->replies);
	free(tp);
}
