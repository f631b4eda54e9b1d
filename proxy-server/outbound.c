/* A TCP flow the client asked for: resolve (c-ares), check the policy,
 * connect without blocking, trying each address in turn, then answer
 * the OPEN with what really happened and hand the socket to the relay. */
#include "outbound.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/flow.h"
#include "../common/log.h"
#include "../common/resolver.h"
#include "../common/util.h"
#include "../common/errcode.h"
#include "server.h"

/* With more addresses to try, one attempt gets at most this long. */
#define ATTEMPT_TIMEOUT 3.0

struct outbound {
	struct flow flow;
	struct server *srv;
	struct budget_user *user; /* its place in the budget, given back at
				   * the end */
	struct addr dst;
	struct resolve_req *rq;
	struct sockaddr_storage *addrs;
	int naddrs, next;
	int fd; /* connecting socket */
	ev_io cio;
	ev_timer timer;
	ev_tstamp deadline;
	uint8_t last_err;    /* SOCKS5 REP of the last failure */
	uint8_t last_reason; /* and its enum proto_reason */
	char tname[64];      /* the user, for log lines */
};

static const struct flow_ops outbound_ops;

static void try_next(struct outbound *o);

/* The failure reported if no later address does better. */
static void failed_with(struct outbound *o, uint8_t code, uint8_t reason)
{
	o->last_err = code;
	o->last_reason = reason;
}

static void failed_errno(struct outbound *o, int err)
{
	failed_with(o, errno_to_code(err), errno_to_reason(err));
}

/* The flow's loop: a resumed flow may have moved to another worker's
 * (its connect is long over then, these watchers stopped). */
static void stop_connect(struct outbound *o)
{
	ev_io_stop(o->flow.loop, &o->cio);
	ev_timer_stop(o->flow.loop, &o->timer);
	if (o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
	}
}

static void outbound_closed(struct flow *f, int reason, const char *why)
{
	struct outbound *o = container_of(f, struct outbound, flow);
	char who[80];

	resolver_cancel(o->rq);
	stop_connect(o);
	snprintf(who, sizeof(who), "tunnel %s", o->tname);
	flow_log_end(f, who, &o->dst, why);
	budget_give(o->user);
	free(o->addrs);
	free(o);
}

static void fail(struct outbound *o, uint8_t code, uint8_t reason,
		 const char *why)
{
	char d[ADDR_STR_MAX];

	log_info("tunnel %s: flow %u: connect %s: %s", o->tname, o->flow.s.id,
		 addr_str(&o->dst, d, sizeof(d)),
		 why ? why : proto_refusal_text(code, reason));
	flow_result(&o->flow, -1, code, reason, NULL); /* frees o */
}

static void fail_last(struct outbound *o)
{
	if (!o->last_err)
		failed_with(o, PROTO_GENERAL_FAILURE, REASON_NONE);
	fail(o, o->last_err, o->last_reason, NULL);
}

static void connected(struct outbound *o)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct addr bound;
	int fd = o->fd, one = 1;
	char d[ADDR_STR_MAX];

	ev_io_stop(o->srv->loop, &o->cio);
	ev_timer_stop(o->srv->loop, &o->timer);
	o->fd = -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&bound, 0, sizeof(bound));
	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		addr_from_sockaddr(&bound, (struct sockaddr *)&ss);
	log_debug("tunnel %s: flow %u: connected to %s", o->tname, o->flow.s.id,
		  addr_str(&o->dst, d, sizeof(d)));
	flow_result(&o->flow, fd, PROTO_OK, REASON_NONE,
		    bound.type ? &bound : NULL);
}

static void cio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct outbound *o = container_of(w, struct outbound, cio);
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(o->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err == EINPROGRESS || err == EINTR)
		return;
	if (!err) {
		connected(o);
		return;
	}
	failed_errno(o, err);
	stop_connect(o);
	try_next(o);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct outbound *o = container_of(w, struct outbound, timer);

	failed_with(o, PROTO_TTL_EXPIRED, REASON_TIMEOUT);
	stop_connect(o);
	if (ev_now(loop) >= o->deadline) {
		fail(o, PROTO_TTL_EXPIRED, REASON_TIMEOUT, "timed out");
		return;
	}
	try_next(o);
}

/* A connect() to a nearby host (the VPS's own services, a neighbour in
 * its data centre) has often finished by the time the call returns:
 * then there is nothing to wait for. */
static int established(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	       ti.tcpi_state == TCP_ESTABLISHED;
}

static void try_next(struct outbound *o)
{
	struct ev_loop *loop = o->srv->loop;

	while (o->next < o->naddrs) {
		struct sockaddr *sa = (struct sockaddr *)&o->addrs[o->next++];
		socklen_t len = sockaddr_len(sa->sa_family);
		ev_tstamp left = o->deadline - ev_now(loop);

		o->fd = socket(sa->sa_family,
			       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (o->fd < 0) {
			failed_errno(o, errno);
			continue;
		}
		if (connect(o->fd, sa, len) && errno != EINPROGRESS) {
			failed_errno(o, errno);
			stop_connect(o);
			continue;
		}
		if (established(o->fd)) {
			connected(o);
			return;
		}
		ev_io_init(&o->cio, cio_cb, o->fd, EV_WRITE);
		ev_io_start(loop, &o->cio);
		if (o->next < o->naddrs && left > ATTEMPT_TIMEOUT)
			left = ATTEMPT_TIMEOUT;
		ev_timer_set(&o->timer, MAX(left, 0.01), 0.);
		ev_timer_start(loop, &o->timer);
		return;
	}
	fail_last(o);
}

/* Keeps the addresses the policy allows; remembers if any was refused. */
static void set_addrs(struct outbound *o, const struct sockaddr_storage *a,
		      int n)
{
	o->addrs = xcalloc(n, sizeof(*a));
	for (int i = 0; i < n; i++) {
		if (policy_allows(&o->srv->conf->policy,
				  (const struct sockaddr *)&a[i]))
			o->addrs[o->naddrs++] = a[i];
		else
			failed_with(o, PROTO_NOT_ALLOWED, REASON_POLICY);
	}
}

static void resolved(void *arg, int status,
		     const struct sockaddr_storage *addrs, int n)
{
	struct outbound *o = arg;

	o->rq = NULL;
	if (status) {
		fail(o, PROTO_HOST_UNREACHABLE,
		     status == RESOLVE_ERR_NOTFOUND ? REASON_NO_NAME :
						      REASON_RESOLVER,
		     resolve_strerror(status));
		return;
	}
	set_addrs(o, addrs, n);
	try_next(o);
}

static void outbound_result(struct flow *f, uint8_t code, uint8_t reason,
			    const struct addr *bound)
{
	/* only the client side receives results */
}

static void outbound_endpoints(struct flow *f, struct addr *src,
			       struct addr *dst)
{
	struct outbound *o = container_of(f, struct outbound, flow);

	*dst = o->dst;
}

static const struct flow_ops outbound_ops = {
	.result = outbound_result,
	.closed = outbound_closed,
	.endpoints = outbound_endpoints,
};

void outbound_open(struct server *s, struct tunnel *t, const struct frame *f,
		   struct budget_user *u)
{
	struct outbound *o = xcalloc(1, sizeof(*o));
	struct resolve_req *rq;
	struct sockaddr_storage ss;
	socklen_t len;
	char d[ADDR_STR_MAX];

	o->srv = s;
	o->user = u;
	o->fd = -1;
	snprintf(o->tname, sizeof(o->tname), "%s", tunnel_peer(t));
	frame_get_addr(f, &o->dst);
	ev_init(&o->timer, timer_cb);
	o->deadline = ev_now(s->loop) + s->conf->connect_timeout;
	flow_accept(&o->flow, t, &outbound_ops, f->stream);
	log_debug("tunnel %s: flow %u: open %s", o->tname, f->stream,
		  addr_str(&o->dst, d, sizeof(d)));
	if (addr_is_server_resolver(&o->dst)) {
		/* our own resolver is trusted even on loopback */
		if (!s->resolver_addr.type ||
		    addr_to_sockaddr(&s->resolver_addr, &ss, &len)) {
			fail(o, PROTO_HOST_UNREACHABLE, REASON_RESOLVER,
			     "no name server");
			return;
		}
		o->addrs = xcalloc(1, sizeof(ss));
		o->addrs[0] = ss;
		o->naddrs = 1;
		try_next(o);
		return;
	}
	if (o->dst.type != ADDR_DOMAIN) {
		addr_to_sockaddr(&o->dst, &ss, &len);
		set_addrs(o, &ss, 1);
		try_next(o);
		return;
	}
	/* already in the resolving state: the callback may run at once */
	rq = resolver_lookup(s->resolver, o->dst.u.domain, o->dst.port,
			     resolved, o);
	if (rq) /* NULL: done already, and o may be gone */
		o->rq = rq;
}
