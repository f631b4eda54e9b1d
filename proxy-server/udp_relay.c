/* A UDP association: one UDP socket per association, alive as long as
 * the client keeps the stream. Datagrams go out to any destination the
 * policy allows, up to max-udp-peers distinct ones within udp-timeout,
 * and replies from any peer come back (full cone), each framed with its
 * source address. Names in datagrams are resolved with c-ares and
 * remembered briefly. */
#include "udp_relay.h"

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
#include "../common/resolver.h"
#include "../common/util.h"
#include "server_conf.h"
#include "udp_peers.h"

/* Datagrams parked while their destination name resolves. */
#define MAX_PARKED 32
#define NAME_CACHE 8
#define NAME_TTL 60.0

struct parked {
	struct parked *next;
	struct udp_relay *r;
	struct resolve_req *rq;
	uint16_t port;
	size_t len;
	uint8_t data[];
};

struct name_entry {
	char name[ADDR_DOMAIN_MAX + 1];
	struct sockaddr_storage ss;
	ev_tstamp until;
};

struct udp_relay {
	struct assoc a;
	struct udp_relay_env env;
	int fd;
	int family; /* of fd: AF_INET6 (dual-stack) or AF_INET */
	ev_io io;
	ev_timer idle; /* udp-timeout, re-armed lazily */
	ev_tstamp last_active;
	int asked_resolver; /* sent to 0.0.0.0:53: label its answers so */
	char user[64];
	struct parked *parked;
	int nparked;
	struct name_entry cache[NAME_CACHE];
	int cache_next;
	unsigned *nudp;             /* the tunnel's count of associations */
	struct budget_user *budget; /* its place in the server's budget */
	struct udp_peers peers;
	uint64_t dropped; /* datagrams beyond max-udp-peers */
	int peers_logged;
};

static void relay_free(struct udp_relay *r)
{
	while (r->parked) {
		struct parked *p = r->parked;

		r->parked = p->next;
		resolver_cancel(p->rq);
		free(p);
	}
	ev_io_stop(r->env.loop, &r->io);
	ev_timer_stop(r->env.loop, &r->idle);
	close(r->fd);
	if (r->dropped)
		log_info(
			"tunnel %s: udp %u: %llu datagrams to new destinations "
			"dropped (max-udp-peers)",
			r->user, r->a.s.id, (unsigned long long)r->dropped);
	log_info("tunnel %s: udp %u ended after %.1f s (%llu bytes up, %llu "
		 "down)",
		 r->user, r->a.s.id, ev_now(r->env.loop) - r->a.start,
		 (unsigned long long)r->a.up, (unsigned long long)r->a.down);
	udp_peers_free(&r->peers);
	(*r->nudp)--;
	budget_give(r->budget);
	free(r);
}

/* A v4 destination on our dual-stack socket is written v4-mapped. */
static socklen_t to_socket_family(const struct udp_relay *r,
				  struct sockaddr_storage *ss)
{
	struct sockaddr_storage tmp;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&tmp;
	socklen_t len;

	if (ss->ss_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	len = sizeof(*in);
	if (r->family == AF_INET6) {
		memset(in6, 0, sizeof(*in6));
		in6->sin6_family = AF_INET6;
		in6->sin6_port = in->sin_port;
		in6->sin6_addr.s6_addr[10] = 0xff;
		in6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&in6->sin6_addr.s6_addr[12], &in->sin_addr, 4);
		memcpy(ss, &tmp, sizeof(*in6));
		len = sizeof(*in6);
	}
	return len;
}

/* One line per association, and none while another limit was just
 * logged: a scan must not become a flood of log lines. */
static void peers_full(struct udp_relay *r)
{
	char line[256];

	r->dropped++;
	if (r->peers_logged)
		return;
	snprintf(line, sizeof(line),
		 "tunnel %s: udp %u: max-udp-peers (%u) "
		 "reached: dropping datagrams to new destinations",
		 r->user, r->a.s.id, r->env.conf->max_udp_peers);
	r->peers_logged = r->env.log_limit(r->env.arg, line);
}

/* ss in its own family (v4 as sockaddr_in), a resolved name included,
 * so the peer table sees one key per destination. The server's own
 * resolver (trusted) is no peer: DNS keeps working at the cap. 0 when
 * the datagram went out. */
static int send_to(struct udp_relay *r, struct sockaddr_storage *ss,
		   const uint8_t *data, size_t len, int trusted)
{
	socklen_t sl;

	if (!trusted) {
		if (!policy_allows(&r->env.conf->policy, (struct sockaddr *)ss))
			return -1; /* silently: UDP has no way to say no */
		if (udp_peers_use(&r->peers, (struct sockaddr *)ss,
				  ev_now(r->env.loop))) {
			peers_full(r);
			return -1;
		}
	}
	sl = to_socket_family(r, ss);
	r->last_active = ev_now(r->env.loop);
	return sendto(r->fd, data, len, 0, (struct sockaddr *)ss, sl) < 0 ? -1 :
									    0;
}

static struct name_entry *cache_find(struct udp_relay *r, const char *name)
{
	for (int i = 0; i < NAME_CACHE; i++)
		if (r->cache[i].until > ev_now(r->env.loop) &&
		    !strcmp(r->cache[i].name, name))
			return &r->cache[i];
	return NULL;
}

static void resolved(void *arg, int status,
		     const struct sockaddr_storage *addrs, int n)
{
	struct parked *p = arg, **pp;
	struct udp_relay *r = p->r;
	struct name_entry *e;
	struct sockaddr_storage ss;

	for (pp = &r->parked; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	r->nparked--;
	if (!status && n > 0) {
		e = &r->cache[r->cache_next++ % NAME_CACHE];
		snprintf(e->name, sizeof(e->name), "%s", (char *)p->data);
		e->ss = addrs[0];
		e->until = ev_now(r->env.loop) + NAME_TTL;
		ss = addrs[0];
		if (!send_to(r, &ss, p->data + strlen((char *)p->data) + 1,
			     p->len, 0))
			r->a.up += p->len; /* late: counted here */
	}
	free(p);
}

/* The datagram waits (name, then payload) until c-ares answers. */
static void park(struct udp_relay *r, const struct addr *a, const uint8_t *data,
		 size_t len)
{
	size_t nl = a->len + 1u;
	struct parked *p;
	struct resolve_req *rq;

	if (r->nparked >= MAX_PARKED)
		return;
	p = xmalloc(sizeof(*p) + nl + len);
	p->r = r;
	p->port = a->port;
	p->len = len;
	memcpy(p->data, a->u.domain, nl);
	memcpy(p->data + nl, data, len);
	p->rq = NULL;
	p->next = r->parked;
	r->parked = p;
	r->nparked++;
	rq = resolver_lookup(r->env.resolver, a->u.domain, a->port, resolved,
			     p);
	if (rq)
		p->rq = rq;
}

/* Tunnel -> destination: 0 when the datagram went out now (a name
 * being resolved sends it, and counts it, later). */
static int got_datagram(struct assoc *as, const struct addr *a,
			const uint8_t *data, size_t len)
{
	struct udp_relay *r = container_of(as, struct udp_relay, a);
	struct sockaddr_storage ss;
	socklen_t sl;
	struct name_entry *e;

	if (addr_is_server_resolver(a)) {
		/* our own name server is trusted even on loopback */
		if (!r->env.resolver_addr->type ||
		    addr_to_sockaddr(r->env.resolver_addr, &ss, &sl))
			return -1;
		r->asked_resolver = 1;
		return send_to(r, &ss, data, len, 1);
	}
	if (a->type != ADDR_DOMAIN) {
		if (addr_to_sockaddr(a, &ss, &sl))
			return -1;
		return send_to(r, &ss, data, len, 0);
	}
	e = cache_find(r, a->u.domain);
	if (!e) {
		park(r, a, data, len);
		return -1;
	}
	ss = e->ss;
	((struct sockaddr_in *)&ss)->sin_port =
		htons(a->port); /* same offset in v6 */
	return send_to(r, &ss, data, len, 0);
}

/* The client ended it, or the tunnel is gone. */
static void ended_cb(struct assoc *a, uint8_t code)
{
	relay_free(container_of(a, struct udp_relay, a));
}

static const struct assoc_ops relay_ops = {
	.datagram = got_datagram,
	.ended = ended_cb,
};

static int is_our_resolver(const struct udp_relay_env *env,
			   const struct addr *a)
{
	const struct addr *ra = env->resolver_addr;

	return ra->type && a->type == ra->type && a->port == ra->port &&
	       !memcmp(&a->u, &ra->u, a->type == ADDR_IPV4 ? 4 : 16);
}

/* One reply, read behind room for the frame header and the longest IP
 * address: the header is written in front of it, so the datagram is
 * copied only by the kernel. */
static int reply(void *arg, const struct dgram *d)
{
	struct udp_relay *r = arg;
	struct addr peer;

	r->last_active = ev_now(r->env.loop);
	addr_from_sockaddr(&peer, (const struct sockaddr *)d->from);
	if (r->asked_resolver && is_our_resolver(&r->env, &peer))
		addr_parse("0.0.0.0:53", 0, &peer); /* as it was asked */
	assoc_send(&r->a, &peer, d->data, d->len);
	return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_relay *r = container_of(w, struct udp_relay, io);

	dgram_each(r->env.in, r->fd, reply, r);
}

/* An association nobody used for udp-timeout ends; the client learns
 * it from the RST and makes a new one when it needs it. */
static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct udp_relay *r = container_of(w, struct udp_relay, idle);
	ev_tstamp left = r->last_active + w->repeat - ev_now(loop);

	if (left > 0.01) {
		ev_timer_stop(loop, w);
		ev_timer_set(w, left, w->repeat);
		ev_timer_start(loop, w);
		return;
	}
	log_debug("tunnel %s: udp %u: udp-timeout", r->user, r->a.s.id);
	assoc_close(&r->a, PROTO_TTL_EXPIRED);
	relay_free(r);
}

static int open_socket(int *family)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	int off = 0, fd;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		*family = AF_INET6;
		if (!bind(fd, (struct sockaddr *)&a6, sizeof(a6)))
			return fd;
		close(fd);
	}
	/* no IPv6 on this host */
	*family = AF_INET;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a4, sizeof(a4))) {
		close(fd);
		return -1;
	}
	return fd;
}

int udp_relay_open(const struct udp_relay_env *env, struct tunnel *t,
		   const struct frame *f, unsigned *nudp, struct budget_user *u)
{
	struct udp_relay *r;
	int family, err;
	int fd = open_socket(&family);

	if (fd < 0) {
		err = errno;
		log_warn("%s: udp %u: socket: %s", tunnel_name(t), f->stream,
			 strerror(err));
		return -err;
	}
	r = xcalloc(1, sizeof(*r));
	r->env = *env;
	r->fd = fd;
	r->family = family;
	r->nudp = nudp;
	(*nudp)++;
	r->budget = u;
	snprintf(r->user, sizeof(r->user), "%s", tunnel_peer(t));
	assoc_accept(&r->a, t, f->stream, &relay_ops);
	udp_peers_init(&r->peers, env->conf->max_udp_peers,
		       env->conf->udp_timeout, r->a.start);
	ev_io_init(&r->io, io_cb, fd, EV_READ);
	ev_io_start(env->loop, &r->io);
	r->last_active = ev_now(env->loop);
	ev_timer_init(&r->idle, idle_cb, env->conf->udp_timeout,
		      env->conf->udp_timeout);
	ev_timer_start(env->loop, &r->idle);
	log_debug("tunnel %s: udp %u: association open", r->user, f->stream);
	return 0;
}
