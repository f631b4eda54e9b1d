/* REDIRECT: accept, ask the kernel where the connection was going, let
 * the routing rules decide (router.h: what the DNS forwarder remembers
 * of the address, else the address rules), and open a flow there
 * through the tunnel, or connect it from here (direct.h), or refuse it
 * (block). A refused destination is answered with a TCP reset, which is
 * what the application would have seen without us. */
#include "redirect.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/acceptor.h"
#include "../common/flow.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../redir/redir.h"
#include "direct.h"

struct redir_conn {
	struct flow flow; /* owns fd once opened */
	struct redirect *r;
	int fd;
	struct addr dst;
	uint8_t *early; /* read before the open (the DNS side) */
	size_t nearly;
	struct client_waiter waiter;
	ev_timer timer;        /* connect-timeout: the tunnel, then RESULT */
	struct route_tag tag;  /* proxy or block: the rule that decided */
	struct direct *direct; /* direct: owns fd */
	struct redir_conn *next, **pprev;
};

struct redirect {
	struct ev_loop *loop;
	const struct client_conf *conf;
	struct client *client;
	struct router *router; /* NULL: no rules (the DNS port forward) */
	struct direct_params dp;
	struct acceptor acc;
	struct redir_conn *conns;
	struct addr fixed; /* type 0: use the original destination */
	const char *name;  /* for log lines */
};

static void conn_unlink(struct redir_conn *c)
{
	ev_timer_stop(c->r->loop, &c->timer);
	client_unwait(&c->waiter);
	router_tag_end(&c->tag, 0, 0);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	free(c->early);
	c->early = NULL;
}

/* Not opened yet: reset the application's connection, free. */
static void conn_drop(struct redir_conn *c, const char *why)
{
	struct linger l = { 1, 0 };
	char d[ADDR_STR_MAX];

	log_info("redir: %s: %s", addr_str(&c->dst, d, sizeof(d)), why);
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c->fd);
	conn_unlink(c);
	free(c);
}

static void result_cb(struct flow *f, uint8_t code, uint8_t reason,
		      const struct addr *bound)
{
	struct redir_conn *c = container_of(f, struct redir_conn, flow);
	struct linger l = { 1, 0 };
	char d[ADDR_STR_MAX];

	ev_timer_stop(c->r->loop, &c->timer);
	if (code == PROTO_OK)
		return; /* relaying since the open */
	if (f->s.t)
		log_info("%s: %s: refused by server: %s (code %u)", c->r->name,
			 addr_str(&c->dst, d, sizeof(d)),
			 proto_refusal_text(code, reason), code);
	else
		log_info("%s: %s: tunnel lost before the server answered "
			 "(code %u)",
			 c->r->name, addr_str(&c->dst, d, sizeof(d)), code);
	setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void closed_cb(struct flow *f, int reason, const char *why)
{
	struct redir_conn *c = container_of(f, struct redir_conn, flow);
	char who[340], tag[320];

	if (c->tag.gen) {
		snprintf(who, sizeof(who), "%s (%s)", c->r->name,
			 router_tag_str(&c->tag, tag, sizeof(tag)));
		flow_log_end(f, who, &c->dst, why);
	} else {
		flow_log_end(f, c->r->name, &c->dst, why);
	}
	router_tag_end(&c->tag, flow_bytes_up(f), flow_bytes_down(f));
	conn_unlink(c);
	free(c);
}

static void endpoints_cb(struct flow *f, struct addr *src, struct addr *dst)
{
	struct redir_conn *c = container_of(f, struct redir_conn, flow);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!getpeername(f->fd, (struct sockaddr *)&ss, &len))
		addr_from_sockaddr(src, (struct sockaddr *)&ss);
	*dst = c->dst;
}

static const struct flow_ops redir_flow_ops = {
	.result = result_cb,
	.closed = closed_cb,
	.endpoints = endpoints_cb,
};

static void open_flow(struct redir_conn *c, struct tunnel *t)
{
	flow_open(&c->flow, t, &redir_flow_ops, c->fd, &c->dst);
	if (c->nearly && flow_send_early(&c->flow, c->early, c->nearly))
		return; /* c is gone */
	free(c->early);
	c->early = NULL;
	/* The application's connect() succeeded long ago, so nothing is
	 * lost by relaying at once (fast open): its first bytes follow the
	 * OPEN, and a refused destination resets the connection. */
	flow_start(&c->flow);
}

static void tunnel_ready(struct client_waiter *w, struct tunnel *t)
{
	open_flow(container_of(w, struct redir_conn, waiter), t);
}

/* No connection waits without bound: without a tunnel, or without the
 * server's answer, at connect-timeout it is reset (its connect() had
 * succeeded: a reset is the nearest to "unreachable" it can see). */
static void wait_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct redir_conn *c = container_of(w, struct redir_conn, timer);
	char d[ADDR_STR_MAX];

	if (!c->flow.s.t) {
		conn_drop(c, "no tunnel within connect-timeout: reset");
		return;
	}
	log_info("%s: %s: no answer from the server within connect-timeout: "
		 "reset",
		 c->r->name, addr_str(&c->dst, d, sizeof(d)));
	flow_reset(&c->flow, PROTO_TTL_EXPIRED, "no answer in time");
}

/* Through the tunnel: now, or when one comes up within
 * connect-timeout. */
static void via_tunnel(struct redir_conn *c)
{
	struct redirect *r = c->r;
	struct tunnel *t;

	ev_timer_init(&c->timer, wait_timeout, r->conf->connect_timeout, 0.);
	ev_timer_start(r->loop, &c->timer);
	t = client_tunnel(r->client);
	if (t) {
		open_flow(c, t);
		return;
	}
	c->waiter.ready = tunnel_ready;
	client_wait(r->client, &c->waiter);
}

/* The application connected long ago: a failed direct connect can only
 * show as a reset. */
static void direct_reply(void *conn, uint8_t rep, const struct addr *bound)
{
	struct redir_conn *c = conn;
	struct linger l = { 1, 0 };

	if (rep != PROTO_OK)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void direct_ended(void *conn)
{
	struct redir_conn *c = conn;

	direct_free(c->direct); /* closes fd */
	conn_unlink(c);
	free(c);
}

static const struct direct_ops redir_direct_ops = {
	.reply = direct_reply,
	.ended = direct_ended,
};

/* The rules decided (at once: the destination is an address). */
static void routed(void *arg, const struct route_verdict *v)
{
	struct redir_conn *c = arg;
	char tag[320], why[400];

	if (v->tag.action != ROUTE_DIRECT)
		c->tag = v->tag; /* a direct flow keeps its own */
	switch (v->tag.action) {
	case ROUTE_BLOCK:
		snprintf(why, sizeof(why), "%s: reset",
			 router_tag_str(&c->tag, tag, sizeof(tag)));
		conn_drop(c, why);
		return;
	case ROUTE_DIRECT:
		c->direct = direct_open(&c->r->dp, &redir_direct_ops, c, c->fd,
					&c->dst, v, c->early, c->nearly);
		free(c->early);
		c->early = NULL;
		return;
	default:
		via_tunnel(c);
	}
}

static void accept_one(struct redirect *r, int fd, const void *early, size_t n)
{
	struct redir_conn *c;
	struct sockaddr_storage dst, local;
	socklen_t len = sizeof(local);
	struct addr a, b;
	int rc;

	if (r->fixed.type) {
		a = r->fixed;
	} else {
		rc = redir_original_dst(fd, &dst);
		memset(&local, 0, sizeof(local));
		getsockname(fd, (struct sockaddr *)&local, &len);
		addr_from_sockaddr(&a, (struct sockaddr *)&dst);
		addr_from_sockaddr(&b, (struct sockaddr *)&local);
		if (rc || (a.port == b.port && !memcmp(&a.u, &b.u, 16))) {
			/* not redirected: someone dialled our port directly,
			 * and relaying it would loop back to us */
			close(fd);
			return;
		}
	}
	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->fd = fd;
	c->dst = a;
	if (n) {
		c->early = xmalloc(n);
		memcpy(c->early, early, n);
		c->nearly = n;
	}
	c->next = r->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &r->conns;
	r->conns = c;
	ev_init(&c->timer, wait_timeout);
	if (!r->router) {
		via_tunnel(c);
		return;
	}
	/* an address is decided before this returns (no request left) */
	router_cancel(router_decide(r->router, &c->dst, routed, c));
}

static void accepted(struct acceptor *a, int fd, const struct sockaddr *sa)
{
	accept_one(container_of(a, struct redirect, acc), fd, NULL, 0);
}

void redirect_take(struct redirect *r, int fd, const void *early, size_t n)
{
	accept_one(r, fd, early, n);
}

struct redirect *redirect_new(struct ev_loop *loop, const struct addr *listen,
			      const struct client_conf *conf,
			      struct client *client, struct router *router,
			      const struct addr *fixed)
{
	struct redirect *r = xcalloc(1, sizeof(*r));
	char err[256];

	if (listen &&
	    acceptor_open(&r->acc, loop, listen, accepted, err, sizeof(err))) {
		log_error("%s %s", fixed ? "dns-listen" : "redir", err);
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->conf = conf;
	r->client = client;
	r->router = router;
	r->name = fixed ? "dns" : "redir";
	r->dp.loop = loop;
	r->dp.name = r->name;
	r->dp.connect_timeout = conf->connect_timeout;
	r->dp.idle_timeout = conf->tc.tp.idle_timeout;
	r->dp.mark = router ? router_mark(router) : 0;
	if (fixed)
		r->fixed = *fixed;
	if (listen)
		log_info("%s on %s",
			 fixed ? "DNS over TCP" : "TCP redirect listener",
			 r->acc.name);
	return r;
}

void redirect_free(struct redirect *r)
{
	if (!r)
		return;
	acceptor_close(&r->acc);
	while (r->conns) {
		struct redir_conn *c = r->conns;

		/* direct; on a tunnel, or kept for the next one (resume) */
		if (c->direct)
			direct_ended(c);
		else if (c->flow.s.t || c->flow.s.kept)
			flow_reset(&c->flow, PROTO_GENERAL_FAILURE,
				   "shutting down");
		else
			conn_drop(c, "shutting down");
	}
	free(r);
}
