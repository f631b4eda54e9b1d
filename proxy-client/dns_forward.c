/* The DNS forwarder's UDP side: queries on dns-listen go through one
 * tunnel UDP association to the chosen name server (by default the VPS's
 * own), so nothing leaks to the local network; a query for a name that
 * a dns-direct rule covers goes instead from the client's own socket to
 * that rule's name server (split DNS: campus names from the campus
 * resolver). Transaction ids are rewritten to keep concurrent askers
 * apart (random, so an off-path sender cannot guess them) and restored
 * on the way back; an answer must come from the server asked, under our
 * id, with the question asked. Every query is answered within
 * connect-timeout: a query that finds no tunnel waits for one, and one
 * not answered in time (or whose tunnel was lost) gets SERVFAIL, so no
 * asker waits on a dead link or a silent resolver. */
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
#include "dns_msg.h"
#include "router.h"

/* The deadlines are checked this often, while queries are pending. */
#define SWEEP_INTERVAL 0.25
#define ROOM (FRAME_HDR_LEN + ADDR_WIRE_MAX)
/* Queries held while there is no tunnel; past that SERVFAIL at once. */
#define MAX_HELD 256

struct pending {
	struct sockaddr_storage from;
	uint16_t orig_id;
	int held;   /* waiting for a tunnel, not sent yet */
	int direct; /* sent to server from a socket of ours */
	struct sockaddr_storage server;
	struct route_tag tag; /* direct: the dns-direct rule */
	ev_tstamp expires;
	size_t len;
	uint8_t msg[]; /* the query, our id in front */
};

struct dns_forward {
	struct assoc a; /* opened on first use of each tunnel */
	struct ev_loop *loop;
	struct client *client;
	struct router *router;
	struct addr server;
	int fd;
	ev_io io;
	int dfd[2]; /* direct queries, IPv4 and IPv6; -1 */
	ev_io dio[2];
	ev_timer sweep; /* runs while queries are pending */
	double timeout; /* connect-timeout */
	struct client_waiter waiter;
	size_t held;
	unsigned failed;      /* SERVFAILs since the last log line */
	struct idmap pending; /* our id + 1 -> struct pending */
	uint8_t pool[256];    /* random bytes for transaction ids */
	size_t pool_left;
	struct dgram_batch *in; /* queries read, ROOM bytes in front */
};

static const struct assoc_ops dns_ops;

/* Every pending query ends here (the direct ones give their rule the
 * bytes of the query, and of the answer when there was one). */
static void pending_free(struct pending *p, size_t answer_len)
{
	if (p->direct)
		router_tag_end(&p->tag, p->len, answer_len);
	free(p);
}

/* SERVFAIL to the asker of p (its own id restored). */
static void servfail(struct dns_forward *d, struct pending *p)
{
	uint8_t out[512];
	int n = dns_servfail(out, sizeof(out), p->msg, p->len);

	if (n < 0)
		return;
	put_be16(out, p->orig_id);
	sendto(d->fd, out, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&p->from,
	       sockaddr_len(p->from.ss_family));
	d->failed++;
}

static void log_failed(struct dns_forward *d, const char *why)
{
	if (!d->failed)
		return;
	log_info("dns: %u %s: SERVFAIL", d->failed, why);
	d->failed = 0;
}

static int fail_tunnelled(void *val, void *arg)
{
	struct pending *p = val;

	if (p->direct)
		return 0;
	servfail(arg, p);
	pending_free(p, 0);
	return 1;
}

/* Every query through the tunnel gets SERVFAIL (direct ones wait on). */
static void fail_all(struct dns_forward *d, const char *why)
{
	idmap_sweep(&d->pending, fail_tunnelled, d);
	d->held = 0;
	client_unwait(&d->waiter);
	if (!idmap_count(&d->pending))
		ev_timer_stop(d->loop, &d->sweep);
	log_failed(d, why);
}

static void send_held(void *val, void *arg)
{
	struct dns_forward *d = arg;
	struct pending *p = val;

	if (!p->held)
		return;
	p->held = 0;
	assoc_send(&d->a, &d->server, p->msg, p->len);
}

/* A tunnel came up: the held queries go. */
static void tunnel_ready(struct client_waiter *w, struct tunnel *t)
{
	struct dns_forward *d = container_of(w, struct dns_forward, waiter);

	if (d->a.s.t && d->a.s.t != t)
		assoc_close(&d->a, PROTO_OK); /* on the silent tunnel */
	if (assoc_open(&d->a, t, &dns_ops)) {
		fail_all(d, "queries found no tunnel");
		return;
	}
	idmap_each(&d->pending, send_held, d);
	d->held = 0;
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

static void direct_io_cb(struct ev_loop *loop, ev_io *w, int revents);

/* The socket direct queries to family leave from, made on first use;
 * with transparent proxying on it carries the mark the rules let pass. */
static int direct_sock(struct dns_forward *d, int family)
{
	int i = family == AF_INET6;
	unsigned mark = router_mark(d->router);

	if (d->dfd[i] >= 0)
		return d->dfd[i];
	d->dfd[i] = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0);
	if (d->dfd[i] < 0)
		return -1;
	if (mark)
		setsockopt(d->dfd[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	ev_io_init(&d->dio[i], direct_io_cb, d->dfd[i], EV_READ);
	d->dio[i].data = d;
	ev_io_start(d->loop, &d->dio[i]);
	return d->dfd[i];
}

/* A direct query to its rule's name server; 0, or -1 when it could not
 * be sent (the asker gets SERVFAIL at once). */
static int send_direct(struct dns_forward *d, struct pending *p)
{
	int fd = direct_sock(d, p->server.ss_family);
	char tag[320], name[DNS_NAME_TEXT], srv[ADDR_STR_MAX];

	if (fd >= 0 && sendto(fd, p->msg, p->len, MSG_NOSIGNAL,
			      (struct sockaddr *)&p->server,
			      sockaddr_len(p->server.ss_family)) >= 0) {
		if (log_get_level() >= LOG_DEBUG) {
			dns_qname(p->msg, p->len, name, sizeof(name));
			log_debug("dns: %s to %s (%s)", name,
				  sockaddr_str((struct sockaddr *)&p->server,
					       srv, sizeof(srv)),
				  router_tag_str(&p->tag, tag, sizeof(tag)));
		}
		return 0;
	}
	log_info("dns: direct query to %s: %s: SERVFAIL",
		 sockaddr_str((struct sockaddr *)&p->server, srv, sizeof(srv)),
		 strerror(errno));
	return -1;
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
	struct tunnel *t;
	struct route_tag tag = { 0 };
	struct sockaddr_storage server;
	char name[DNS_NAME_TEXT];
	int held = 0, direct = 0;

	if (len < DNS_HDR)
		return 0;
	if (dns_qname(msg, len, name, sizeof(name)) >= 0)
		direct = router_dns(d->router, name, &tag, &server);
	if (!direct) {
		/* no tunnel now (down, dialling, silent): the query waits
		 * for one until its deadline */
		t = client_tunnel(d->client);
		held = !t || assoc_open(&d->a, t, &dns_ops) != 0;
	}
	/* random ids: the resolver must not be able to guess the next */
	do {
		id = random_id(d);
	} while (idmap_get(&d->pending, (uint32_t)id + 1));
	p = xmalloc(sizeof(*p) + len);
	p->from = *q->from;
	p->orig_id = get_be16(msg);
	p->held = held;
	p->direct = direct;
	p->tag = tag;
	if (direct)
		p->server = server;
	p->expires = ev_now(d->loop) + d->timeout;
	p->len = len;
	put_be16(msg, id);
	memcpy(p->msg, msg, len);
	if ((held && d->held >= MAX_HELD) || (direct && send_direct(d, p))) {
		servfail(d, p);
		pending_free(p, 0);
		log_failed(
			d,
			direct ?
				"direct queries not sent" :
				"queries over the limit of those waiting for a "
				"tunnel");
		return 0;
	}
	idmap_put(&d->pending, (uint32_t)id + 1, p);
	if (!ev_is_active(&d->sweep))
		ev_timer_again(d->loop, &d->sweep);
	if (direct)
		return 0;
	if (held) {
		if (!d->held++)
			client_wait(d->client, &d->waiter);
		return 0;
	}
	assoc_send(&d->a, &d->server, msg, len);
	return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_forward *d = container_of(w, struct dns_forward, io);

	dgram_each(d->in, w->fd, query, d);
}

/* The pending query an answer is for: under one of our ids, sent the
 * way it came back (direct or not), with the question asked. NULL for
 * one late, forged or mangled. */
static struct pending *answered(struct dns_forward *d, const uint8_t *data,
				size_t len, int direct)
{
	struct pending *p;

	if (len < DNS_HDR)
		return NULL;
	p = idmap_get(&d->pending, (uint32_t)get_be16(data) + 1);
	if (!p || p->direct != direct || p->held ||
	    !dns_same_question(p->msg, p->len, data, len))
		return NULL;
	return p;
}

/* The answer to p goes to its asker, under the asker's own id; p ends. */
static int deliver(struct dns_forward *d, struct pending *p,
		   const uint8_t *data, size_t len)
{
	uint8_t orig_id[2];
	struct iovec iov[2] = {
		{ .iov_base = orig_id, .iov_len = 2 },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	int rc;

	/* the asker's own id in front of the rest, which is not copied */
	put_be16(orig_id, p->orig_id);
	iov[1].iov_base = (void *)(data + 2);
	iov[1].iov_len = len - 2;
	mh.msg_name = &p->from;
	mh.msg_namelen = sockaddr_len(p->from.ss_family);
	rc = sendmsg(d->fd, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
	/* a flow to an address handed out goes by the name's rule */
	router_dns_answer(d->router, data, len, p->direct ? &p->tag : NULL);
	idmap_del(&d->pending, (uint32_t)get_be16(p->msg) + 1);
	pending_free(p, len);
	return rc;
}

static int answer(struct assoc *a, const struct addr *peer, const uint8_t *data,
		  size_t len)
{
	struct dns_forward *d = container_of(a, struct dns_forward, a);
	struct pending *p;

	/* only the name server we asked may answer */
	if (peer->type != d->server.type || peer->port != d->server.port ||
	    memcmp(&peer->u, &d->server.u, peer->type == ADDR_IPV4 ? 4 : 16))
		return -1;
	p = answered(d, data, len, 0);
	return p ? deliver(d, p, data, len) : -1;
}

static int same_sockaddr(const struct sockaddr_storage *a,
			 const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, 16);
}

/* An answer on a direct socket: only from the name server that query
 * was sent to. */
static int direct_answer(void *arg, const struct dgram *g)
{
	struct dns_forward *d = arg;
	struct pending *p = answered(d, g->data, g->len, 1);

	if (p && same_sockaddr(g->from, &p->server))
		deliver(d, p, g->data, g->len);
	return 0;
}

static void direct_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	dgram_each(((struct dns_forward *)w->data)->in, w->fd, direct_answer,
		   w->data);
}

/* Gone, refused, or the tunnel went down: the next query opens a new
 * association; the askers of the old one get SERVFAIL now rather than
 * wait for an answer that cannot come. */
static void ended_cb(struct assoc *a, uint8_t code)
{
	fail_all(container_of(a, struct dns_forward, a),
		 "queries lost with their tunnel");
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

struct sweep_ctx {
	struct dns_forward *d;
	ev_tstamp now;
	unsigned direct; /* direct queries that expired */
};

static int expired(void *val, void *arg)
{
	struct sweep_ctx *x = arg;
	struct pending *p = val;

	if (p->expires > x->now)
		return 0;
	if (p->held)
		x->d->held--;
	x->direct += p->direct;
	servfail(x->d, p);
	pending_free(p, 0);
	return 1;
}

/* Queries not answered within connect-timeout get SERVFAIL. */
static void sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dns_forward *d = container_of(w, struct dns_forward, sweep);
	struct sweep_ctx x = { d, ev_now(loop), 0 };

	idmap_sweep(&d->pending, expired, &x);
	if (x.direct) {
		log_info("dns: %u direct queries unanswered by their name "
			 "server within connect-timeout: SERVFAIL",
			 x.direct);
		d->failed -= x.direct;
	}
	log_failed(d, client_tunnel(d->client) ?
			      "queries unanswered within connect-timeout" :
			      "queries found no tunnel within connect-timeout");
	if (!d->held)
		client_unwait(&d->waiter);
	if (!idmap_count(&d->pending))
		ev_timer_stop(loop, w);
}

struct dns_forward *dns_forward_new(struct ev_loop *loop,
				    const struct addr *listen,
				    const struct addr *server,
				    struct client *client,
				    struct router *router, double timeout)
{
	struct dns_forward *d;
	struct sockaddr_storage ss;
	socklen_t len;
	char name[ADDR_STR_MAX];
	int fd;

	addr_str(listen, name, sizeof(name));
	addr_to_sockaddr(listen, &ss, &len);
	fd = socket_bound(SOCK_DGRAM, (struct sockaddr *)&ss, len, 1);
	if (fd < 0) {
		log_error("dns-listen %s: %s", name, strerror(errno));
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->loop = loop;
	d->client = client;
	d->router = router;
	d->dfd[0] = d->dfd[1] = -1;
	d->server = *server;
	d->timeout = timeout;
	d->waiter.ready = tunnel_ready;
	d->fd = fd;
	d->in = dgram_batch_new(ROOM, FRAME_MAX_PAYLOAD, 0);
	ev_io_init(&d->io, io_cb, fd, EV_READ);
	ev_io_start(loop, &d->io);
	ev_init(&d->sweep, sweep_cb);
	d->sweep.repeat = SWEEP_INTERVAL;
	log_info("DNS over UDP on %s", name);
	return d;
}

static void free_one(void *val, void *arg)
{
	pending_free(val, 0);
}

void dns_forward_free(struct dns_forward *d)
{
	if (!d)
		return;
	assoc_close(&d->a, PROTO_OK);
	client_unwait(&d->waiter);
	idmap_each(&d->pending, free_one, NULL);
	idmap_free(&d->pending);
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->sweep);
	for (int i = 0; i < 2; i++) {
		if (d->dfd[i] < 0)
			continue;
		ev_io_stop(d->loop, &d->dio[i]);
		close(d->dfd[i]);
	}
	close(d->fd);
	dgram_batch_free(d->in);
	free(d);
}
