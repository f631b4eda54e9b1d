/* The server's UDP sockets of the datagram path: see dpath_srv.h. */
#include "dpath_srv.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/dgram.h"
#include "../common/dpath.h"
#include "../common/idmap.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"

struct dport {
	ev_io io;
	struct dpath_srv *srv;
	struct dport *next;
	char name[ADDR_STR_MAX];
};

/* A packet for another worker's tunnel, copied for it. */
struct handed {
	struct handed *next;
	uint32_t key;
	int fd;
	socklen_t from_len;
	struct sockaddr_storage from;
	size_t ctl_len;
	uint8_t ctl[DPATH_CTL_MAX];
	size_t len;
	uint8_t data[];
};

/* Packets handed to a busy worker wait in its queue up to this many;
 * more are dropped (counted), as a full socket buffer would. */
#define HAND_MAX 512

/* One worker's part: its tunnels' paths (touched by that worker only)
 * and the packets handed over to it (under mu). */
struct dworker {
	struct idmap reg; /* dpath_key(id) -> struct dpath */
	pthread_mutex_t mu;
	struct handed *head, **tail;
	unsigned queued;
};

struct dpath_srv {
	struct ev_loop *loop;
	struct dport *ports;
	struct dgram_batch *in;
	int n;
	struct dworker *w;
	/* with several workers: which one holds a path (key -> index + 1) */
	pthread_mutex_t route_mu;
	struct idmap route;
	void (*wake)(void *arg, int worker);
	void *arg;
	/* rx and malformed: the main thread's; the rest atomic */
	uint64_t rx, unknown, malformed, refused, queue_drops;
};

struct one {
	struct dpath_srv *srv;
	int fd;
};

/* Control space for one received packet's destination address. */
#define RX_CTL \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
	 CMSG_SPACE(sizeof(struct in_pktinfo)))

/* From the packet's IP_PKTINFO/IPV6_PKTINFO, the control message that
 * sends an answer from the address it came to: on a host of several
 * addresses the kernel would otherwise pick by route, and a client's
 * connected socket drops what comes from another address. Its length,
 * or 0 (none found). */
static size_t reply_ctl(const struct msghdr *m, uint8_t *out, size_t cap)
{
	struct cmsghdr *c;

	memset(out, 0, cap);
	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		struct cmsghdr *o = (struct cmsghdr *)(void *)out;

		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    CMSG_SPACE(sizeof(struct in_pktinfo)) <= cap) {
			struct in_pktinfo in, pi;

			memcpy(&in, CMSG_DATA(c), sizeof(in));
			memset(&pi, 0, sizeof(pi));
			pi.ipi_spec_dst = in.ipi_addr;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    CMSG_SPACE(sizeof(struct in6_pktinfo)) <= cap) {
			struct in6_pktinfo in, pi;

			memcpy(&in, CMSG_DATA(c), sizeof(in));
			memset(&pi, 0, sizeof(pi));
			pi.ipi6_addr = in.ipi6_addr;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static void count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* In the thread of the worker whose registry is w. */
static void deliver(struct dpath_srv *s, struct dworker *w, uint32_t key,
		    const struct dpath_from *from, const uint8_t *p, size_t n)
{
	struct dpath *d = idmap_get(&w->reg, key);

	if (!d) {
		count(&s->unknown);
		return;
	}
	/* the path counts what it refuses itself */
	if (dpath_input(d, from, p, n))
		count(&s->refused);
}

/* The worker that holds the path of key, or -1. */
static int route(struct dpath_srv *s, uint32_t key)
{
	uintptr_t v;

	if (s->n == 1)
		return 0;
	pthread_mutex_lock(&s->route_mu);
	v = (uintptr_t)idmap_get(&s->route, key);
	pthread_mutex_unlock(&s->route_mu);
	return (int)v - 1;
}

/* A copy for worker i, woken to take it. */
static void hand_over(struct dpath_srv *s, int i, uint32_t key,
		      const struct dpath_from *from, const struct dgram *g)
{
	struct dworker *w = &s->w[i];
	struct handed *h;
	int first;

	pthread_mutex_lock(&w->mu);
	if (w->queued >= HAND_MAX) {
		pthread_mutex_unlock(&w->mu);
		count(&s->queue_drops);
		return;
	}
	h = xmalloc(sizeof(*h) + g->len);
	h->next = NULL;
	h->key = key;
	h->fd = from->fd;
	h->from_len = MIN(from->addr_len, (socklen_t)sizeof(h->from));
	memcpy(&h->from, from->addr, h->from_len);
	h->ctl_len = from->ctl_len;
	memcpy(h->ctl, from->ctl, from->ctl_len);
	h->len = g->len;
	memcpy(h->data, g->data, g->len);
	first = !w->head;
	*w->tail = h;
	w->tail = &h->next;
	w->queued++;
	pthread_mutex_unlock(&w->mu);
	if (first)
		s->wake(s->arg, i);
}

static int packet(void *arg, const struct dgram *g)
{
	struct one *o = arg;
	struct dpath_srv *s = o->srv;
	struct dpkt_hdr h;
	uint8_t ctl[DPATH_CTL_MAX];
	struct dpath_from from;
	uint32_t key;
	int i;

	s->rx++;
	if (dpkt_parse_hdr(g->data, g->len, &h)) {
		s->malformed++;
		return 0;
	}
	key = dpath_key(h.id);
	i = route(s, key);
	if (i < 0) {
		count(&s->unknown);
		return 0;
	}
	from.fd = o->fd;
	from.addr = (const struct sockaddr *)g->from;
	from.addr_len = g->from_len;
	from.ctl = ctl;
	from.ctl_len = reply_ctl(g->msg, ctl, sizeof(ctl));
	if (i)
		hand_over(s, i, key, &from, g);
	else
		deliver(s, &s->w[0], key, &from, g->data, g->len);
	return 0;
}

void dpath_srv_drain(struct dpath_srv *s, int i)
{
	struct dworker *w;
	struct handed *h;

	if (!s)
		return;
	w = &s->w[i];
	pthread_mutex_lock(&w->mu);
	h = w->head;
	w->head = NULL;
	w->tail = &w->head;
	w->queued = 0;
	pthread_mutex_unlock(&w->mu);
	while (h) {
		struct handed *next = h->next;
		struct dpath_from from = {
			.fd = h->fd,
			.addr = (const struct sockaddr *)&h->from,
			.addr_len = h->from_len,
			.ctl = h->ctl,
			.ctl_len = h->ctl_len,
		};

		deliver(s, w, h->key, &from, h->data, h->len);
		free(h);
		h = next;
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dport *p = container_of(w, struct dport, io);
	struct one o = { p->srv, w->fd };

	dgram_each(p->srv->in, w->fd, packet, &o);
}

static int bind_udp(const struct addr *a, char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0, on = 1, rcvbuf = DPATH_RCVBUF;

	if (addr_to_sockaddr(a, &ss, &len)) {
		snprintf(err, n, "not an IP address");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "%s", strerror(errno));
		return -1;
	}
	/* "[::]" takes IPv4 too, as the TCP listener does (its IPv4
	 * packets then come with an IPV6_PKTINFO of the mapped address) */
	if (ss.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		snprintf(err, n, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct dpath_srv *dpath_srv_open(struct ev_loop *loop,
				 const struct addr *listen, int n, int workers,
				 void (*wake)(void *arg, int worker), void *arg)
{
	struct dpath_srv *s = xcalloc(1, sizeof(*s));
	char err[128];

	s->loop = loop;
	s->n = workers;
	s->wake = wake;
	s->arg = arg;
	for (int i = 0; i < n; i++) {
		struct dport *p = xcalloc(1, sizeof(*p));
		int fd;

		addr_str(&listen[i], p->name, sizeof(p->name));
		fd = bind_udp(&listen[i], err, sizeof(err));
		if (fd < 0) {
			log_warn(
				"udp-path: cannot bind UDP %s: %s (the datagram "
				"path is off there)",
				p->name, err);
			free(p);
			continue;
		}
		p->srv = s;
		ev_io_init(&p->io, io_cb, fd, EV_READ);
		ev_io_start(loop, &p->io);
		p->next = s->ports;
		s->ports = p;
		log_info("datagram path on UDP %s", p->name);
	}
	if (!s->ports) {
		free(s);
		return NULL;
	}
	s->in = dgram_batch_new(0, DPKT_MAX_LEN, RX_CTL);
	s->w = xcalloc((size_t)workers, sizeof(*s->w));
	for (int i = 0; i < workers; i++) {
		pthread_mutex_init(&s->w[i].mu, NULL);
		s->w[i].tail = &s->w[i].head;
	}
	pthread_mutex_init(&s->route_mu, NULL);
	return s;
}

void dpath_srv_close(struct dpath_srv *s)
{
	if (!s)
		return;
	while (s->ports) {
		struct dport *p = s->ports;

		s->ports = p->next;
		ev_io_stop(s->loop, &p->io);
		close(p->io.fd);
		free(p);
	}
	/* the tunnels own their paths and are closed by now */
	for (int i = 0; i < s->n; i++) {
		dpath_srv_drain(s, i); /* nothing left to find them */
		idmap_free(&s->w[i].reg);
		pthread_mutex_destroy(&s->w[i].mu);
	}
	free(s->w);
	idmap_free(&s->route);
	pthread_mutex_destroy(&s->route_mu);
	dgram_batch_free(s->in);
	free(s);
}

void dpath_srv_attach(struct dpath_srv *s, struct tunnel *t, int worker)
{
	struct dpath *d;
	char err[128];
	uint32_t key;

	if (!s || !(tunnel_peer_flags(t) & HELLO_F_UDP_PATH))
		return;
	d = dpath_server(t, &s->w[worker].reg, err, sizeof(err));
	if (!d) {
		log_warn("%s: no datagram path: %s", tunnel_name(t), err);
		return;
	}
	tunnel_set_dpath(t, d);
	if (s->n == 1)
		return;
	/* another worker's id alike (1 in 2^32): the newer path wins */
	key = dpath_reg_key(d);
	pthread_mutex_lock(&s->route_mu);
	idmap_del(&s->route, key);
	idmap_put(&s->route, key, (void *)(uintptr_t)(worker + 1));
	pthread_mutex_unlock(&s->route_mu);
}

void dpath_srv_detach(struct dpath_srv *s, struct tunnel *t, int worker)
{
	uint32_t key;

	if (!s || s->n == 1 || !tunnel_dpath(t))
		return;
	key = dpath_reg_key(tunnel_dpath(t));
	pthread_mutex_lock(&s->route_mu);
	if ((uintptr_t)idmap_get(&s->route, key) == (uintptr_t)worker + 1)
		idmap_del(&s->route, key);
	pthread_mutex_unlock(&s->route_mu);
}

void dpath_srv_status(const struct dpath_srv *s, struct buf *b, int json)
{
	if (!s) {
		status_printf(b, json ? ",\"udp_path\":{\"state\":\"off\"}" :
					"udp path: off\n");
		return;
	}
	unsigned long long unknown = __atomic_load_n(&s->unknown,
						     __ATOMIC_RELAXED),
			   refused = __atomic_load_n(&s->refused,
						     __ATOMIC_RELAXED),
			   drops = __atomic_load_n(&s->queue_drops,
						   __ATOMIC_RELAXED);

	if (json)
		status_printf(b,
			      ",\"udp_path\":{\"state\":\"on\","
			      "\"rx_packets\":%llu,\"dropped_unknown\":%llu,"
			      "\"dropped_malformed\":%llu,\"refused\":%llu,"
			      "\"dropped_handover\":%llu}",
			      (unsigned long long)s->rx, unknown,
			      (unsigned long long)s->malformed, refused, drops);
	else
		status_printf(b,
			      "udp path: %llu packets; dropped %llu of no "
			      "tunnel, %llu malformed, %llu refused by a "
			      "tunnel's key or replay window, %llu at a busy "
			      "worker\n",
			      (unsigned long long)s->rx, unknown,
			      (unsigned long long)s->malformed, refused, drops);
}
