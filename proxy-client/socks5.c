/* SOCKS5 handshake, CONNECT, and the control connection of a UDP
 * ASSOCIATE (its datagrams are socks5_udp.c's). The handshake reads
 * whatever the socket holds, so a message costs one read() however it
 * is built; the bytes an application pipelined after its request (up to
 * HANDSHAKE_MAX) go to the flow as its first data, and the flow reads
 * the rest. */
#include "socks5.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../common/dgram.h"
#include "../common/log.h"
#include "../common/util.h"
#include "socks5_conn.h"
#include "socks5_proto.h"

/* greeting 257, user/pass 513, request 262 */
#define HANDSHAKE_MAX 520

static const struct flow_ops socks_flow_ops;

void socks_reply(struct socks_conn *c, uint8_t rep, const struct addr *bound)
{
	uint8_t b[4 + ADDR_WIRE_MAX];
	int n = socks5_write_reply(b, sizeof(b), rep, bound);

	/* A fresh socket always has room for a few bytes; if not, the
	 * application will see the close instead. */
	if (send(c->fd, b, (size_t)n, MSG_NOSIGNAL) < 0)
		log_debug("socks: reply: %s", strerror(errno));
}

static void unlink_conn(struct socks_conn *c)
{
	ev_io_stop(c->srv->loop, &c->io);
	ev_timer_stop(c->srv->loop, &c->timer);
	client_unwait(&c->waiter);
	router_cancel(c->rq);
	c->rq = NULL;
	router_tag_end(&c->tag, 0, 0);
	buf_release(&c->in);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
}

void socks_conn_free(struct socks_conn *c)
{
	if (c->state == S_RELAY ||
	    (c->state == S_OPENING && c->cmd == SOCKS5_CMD_CONNECT)) {
		/* the flow owns the socket: reset it, flow calls closed() */
		flow_reset(&c->flow, PROTO_GENERAL_FAILURE, "shutting down");
		return;
	}
	if (c->udp)
		socks_udp_free(c->udp);
	if (c->direct) {
		direct_free(c->direct);
		c->fd = -1; /* the direct flow's */
	}
	unlink_conn(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void flow_result_cb(struct flow *f, uint8_t code, uint8_t reason,
			   const struct addr *bound)
{
	struct socks_conn *c = container_of(f, struct socks_conn, flow);
	char d[ADDR_STR_MAX];

	ev_timer_stop(c->srv->loop, &c->timer);
	if (code != PROTO_OK && f->s.t)
		log_info("socks: %s: refused by server: %s (reply %u)",
			 addr_str(&c->dst, d, sizeof(d)),
			 proto_refusal_text(code, reason), code);
	else if (code != PROTO_OK)
		log_info("socks: %s: tunnel lost before the server answered "
			 "(reply %u)",
			 addr_str(&c->dst, d, sizeof(d)), code);
	if (c->state == S_RELAY)
		return; /* fast open: answered already; a failure resets */
	socks_reply(c, code, bound);
	if (code != PROTO_OK)
		return; /* the flow ends and calls closed() */
	c->state = S_RELAY;
	flow_start(f);
}

static void flow_closed_cb(struct flow *f, int reason, const char *why)
{
	struct socks_conn *c = container_of(f, struct socks_conn, flow);
	char who[340], tag[320];

	snprintf(who, sizeof(who), "socks (%s)",
		 router_tag_str(&c->tag, tag, sizeof(tag)));
	flow_log_end(f, who, &c->dst, why);
	router_tag_end(&c->tag, flow_bytes_up(f), flow_bytes_down(f));
	c->fd = -1; /* closed by the flow */
	unlink_conn(c);
	free(c);
}

static void flow_endpoints_cb(struct flow *f, struct addr *src,
			      struct addr *dst)
{
	struct socks_conn *c = container_of(f, struct socks_conn, flow);

	addr_from_sockaddr(src, (struct sockaddr *)&c->peer);
	*dst = c->dst;
}

static const struct flow_ops socks_flow_ops = {
	.result = flow_result_cb,
	.closed = flow_closed_cb,
	.endpoints = flow_endpoints_cb,
};

/* The UDP control connection: anything read is ignored; its end ends
 * the association. */
static void ctl_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct socks_conn *c = container_of(w, struct socks_conn, io);
	uint8_t b[512];
	ssize_t n = read(c->fd, b, sizeof(b));

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	socks_conn_free(c);
}

static void udp_reply(void *conn, uint8_t rep, const struct addr *bound)
{
	struct socks_conn *c = conn;

	ev_timer_stop(c->srv->loop, &c->timer);
	socks_reply(c, rep, bound);
	if (rep != PROTO_OK)
		return;
	c->state = S_UDP;
	buf_release(&c->in);
}

static void udp_ended(void *conn)
{
	socks_conn_free(conn);
}

static void start_udp(struct socks_conn *c, struct tunnel *t)
{
	c->udp = socks_udp_open(&c->srv->udp, c, c->fd, &c->peer, t);
	if (!c->udp) {
		socks_reply(c, PROTO_GENERAL_FAILURE, NULL);
		socks_conn_free(c);
		return;
	}
	/* notice a control connection that ends while we wait */
	ev_io_stop(c->srv->loop, &c->io);
	ev_io_init(&c->io, ctl_io_cb, c->fd, EV_READ);
	ev_io_start(c->srv->loop, &c->io);
}

/* The request's deadline (connect-timeout) runs on until the server
 * answers: see timer_cb(). */
static void start_request(struct socks_conn *c, struct tunnel *t)
{
	c->state = S_OPENING;
	if (c->cmd == SOCKS5_CMD_UDP_ASSOCIATE) {
		start_udp(c, t);
		return;
	}
	ev_io_stop(c->srv->loop, &c->io);
	flow_open(&c->flow, t, &socks_flow_ops, c->fd, &c->dst);
	if (flow_send_early(&c->flow, buf_peek(&c->in), buf_len(&c->in)))
		return; /* c is gone */
	buf_release(&c->in);
	if (c->srv->conf->fast_open) {
		/* one round trip less: the application's first bytes go
		 * right behind the OPEN; the price is that a refused
		 * destination shows as a reset, not as a SOCKS error */
		socks_reply(c, PROTO_OK, NULL);
		c->state = S_RELAY;
		flow_start(&c->flow);
	}
}

static void tunnel_ready(struct client_waiter *w, struct tunnel *t)
{
	start_request(container_of(w, struct socks_conn, waiter), t);
}

static void fail(struct socks_conn *c, uint8_t rep, const char *why)
{
	char p[ADDR_STR_MAX];

	log_info("socks: %s: %s",
		 sockaddr_str((struct sockaddr *)&c->peer, p, sizeof(p)), why);
	if (rep)
		socks_reply(c, rep, NULL);
	socks_conn_free(c);
}

/* Each got_*() returns 1 if the handshake goes on with the next
 * message, 0 if it is over or failed (then c may be gone). */
static int got_greeting(struct socks_conn *c, const struct socks5_greeting *g)
{
	uint8_t want = c->srv->conf->nusers ? SOCKS5_METHOD_USERPASS :
					      SOCKS5_METHOD_NONE;
	uint8_t b[2];

	for (int i = 0; i < g->nmethods; i++) {
		if (g->methods[i] == want) {
			socks5_write_method(b, sizeof(b), want);
			send(c->fd, b, 2, MSG_NOSIGNAL);
			c->state = want == SOCKS5_METHOD_NONE ? S_REQUEST :
								S_AUTH;
			return 1;
		}
	}
	socks5_write_method(b, sizeof(b), SOCKS5_METHOD_UNACCEPTABLE);
	send(c->fd, b, 2, MSG_NOSIGNAL);
	fail(c, 0,
	     want == SOCKS5_METHOD_USERPASS ?
		     "client offers no username/password authentication" :
		     "client offers no acceptable method");
	return 0;
}

static int got_auth(struct socks_conn *c, struct socks5_userpass *up)
{
	const struct client_conf *conf = c->srv->conf;
	uint8_t b[2];
	int ok = 0;

	for (int i = 0; i < conf->nusers; i++) {
		const struct socks_user *u = &conf->users[i];
		size_t pl = strlen(u->pass);

		/* compare the password in constant time */
		if (!strcmp(u->name, up->user) && pl == up->plen &&
		    !CRYPTO_memcmp(u->pass, up->pass, pl))
			ok = 1;
	}
	OPENSSL_cleanse(up->pass, sizeof(up->pass));
	socks5_write_auth_status(b, sizeof(b), ok ? 0 : 1);
	send(c->fd, b, 2, MSG_NOSIGNAL);
	if (!ok) {
		fail(c, 0, "wrong SOCKS user name or password");
		return 0;
	}
	c->state = S_REQUEST;
	return 1;
}

static void via_tunnel(struct socks_conn *c)
{
	struct tunnel *t = client_tunnel(c->srv->client);

	if (t) {
		start_request(c, t);
		return;
	}
	c->state = S_WAIT_TUNNEL;
	ev_io_stop(c->srv->loop, &c->io);
	c->waiter.ready = tunnel_ready;
	client_wait(c->srv->client, &c->waiter);
}

static void direct_reply(void *conn, uint8_t rep, const struct addr *bound)
{
	socks_reply(conn, rep, bound);
}

static void direct_ended(void *conn)
{
	socks_conn_free(conn);
}

static const struct direct_ops socks_direct_ops = {
	.reply = direct_reply,
	.ended = direct_ended,
};

/* The rules decided a CONNECT (split routing, router.h). */
static void routed(void *arg, const struct route_verdict *v)
{
	struct socks_conn *c = arg;
	char d[ADDR_STR_MAX], tag[320], why[400];

	c->rq = NULL;
	if (v->tag.action != ROUTE_DIRECT)
		c->tag = v->tag; /* a direct flow keeps its own */
	switch (v->tag.action) {
	case ROUTE_BLOCK:
		snprintf(why, sizeof(why), "%s: %s",
			 addr_str(&c->dst, d, sizeof(d)),
			 router_tag_str(&c->tag, tag, sizeof(tag)));
		fail(c, PROTO_NOT_ALLOWED, why);
		return;
	case ROUTE_DIRECT:
		ev_timer_stop(c->srv->loop, &c->timer);
		c->state = S_DIRECT;
		c->direct = direct_open(&c->srv->direct, &socks_direct_ops, c,
					c->fd, &c->dst, v, buf_peek(&c->in),
					buf_len(&c->in));
		buf_release(&c->in);
		return;
	default:
		via_tunnel(c);
	}
}

static void got_request(struct socks_conn *c, const struct socks5_request *r)
{
	struct router_req *q;

	if (r->cmd != SOCKS5_CMD_CONNECT &&
	    r->cmd != SOCKS5_CMD_UDP_ASSOCIATE) {
		fail(c, PROTO_CMD_UNSUPPORTED,
		     r->cmd == SOCKS5_CMD_BIND ? "BIND is not supported" :
						 "unknown SOCKS command");
		return;
	}
	c->cmd = r->cmd;
	c->dst = r->dst;
	/* from here connect-timeout is the request's: answered by then,
	 * over a slow lookup for the rules too */
	ev_timer_stop(c->srv->loop, &c->timer);
	ev_timer_set(&c->timer, c->srv->conf->connect_timeout, 0.);
	ev_timer_start(c->srv->loop, &c->timer);
	if (c->cmd != SOCKS5_CMD_CONNECT) {
		via_tunnel(c); /* UDP: each datagram is decided on its own */
		return;
	}
	c->state = S_ROUTING;
	ev_io_stop(c->srv->loop, &c->io);
	q = router_decide(c->srv->router, &c->dst, routed, c);
	if (q) /* NULL: decided already, c may be gone */
		c->rq = q;
}

/* Handles the buffered message if it is complete: 1 if the handshake
 * goes on (the next message may be buffered too), 0 if the message is
 * incomplete or the handshake is over (c may be gone then). */
static int parse(struct socks_conn *c)
{
	const uint8_t *p = buf_peek(&c->in);
	size_t len = buf_len(&c->in);
	union {
		struct socks5_greeting g;
		struct socks5_userpass up;
		struct socks5_request r;
	} m;
	int n;

	switch (c->state) {
	case S_GREETING:
		n = socks5_parse_greeting(p, len, &m.g);
		break;
	case S_AUTH:
		n = socks5_parse_userpass(p, len, &m.up);
		break;
	default:
		n = socks5_parse_request(p, len, &m.r);
		break;
	}
	if (n == 0) {
		if (!buf_room(&c->in))
			fail(c, 0, "oversized handshake");
		return 0;
	}
	if (n < 0) {
		fail(c,
		     c->state != S_REQUEST ? 0 :
		     n == SOCKS5_ERR_ATYP  ? PROTO_ATYP_UNSUPPORTED :
					     PROTO_GENERAL_FAILURE,
		     socks5_strerror(n));
		return 0;
	}
	buf_consume(&c->in, (size_t)n);
	switch (c->state) {
	case S_GREETING:
		return got_greeting(c, &m.g);
	case S_AUTH:
		return got_auth(c, &m.up);
	default:
		got_request(c, &m.r);
		return 0;
	}
}

static void handshake_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct socks_conn *c = container_of(w, struct socks_conn, io);
	size_t room = buf_room(&c->in);
	uint8_t *p = buf_reserve(&c->in, room);
	ssize_t n;

	n = read(c->fd, p, room);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		fail(c, 0, n ? strerror(errno) : "closed during handshake");
		return;
	}
	buf_commit(&c->in, (size_t)n);
	while (parse(c))
		;
}

/* No request waits without bound: whatever the tunnel does (down,
 * dialling, silent), the application has its answer at connect-timeout:
 * host unreachable without a tunnel, TTL expired without the server's
 * answer. */
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct socks_conn *c = container_of(w, struct socks_conn, timer);
	char d[ADDR_STR_MAX];

	switch (c->state) {
	case S_WAIT_TUNNEL:
		fail(c, PROTO_HOST_UNREACHABLE,
		     "no tunnel within connect-timeout: host unreachable");
		return;
	case S_OPENING:
		if (c->cmd != SOCKS5_CMD_CONNECT) {
			fail(c, PROTO_TTL_EXPIRED,
			     "UDP ASSOCIATE: no answer "
			     "from the server within connect-timeout");
			return;
		}
		log_info("socks: %s: no answer from the server within "
			 "connect-timeout",
			 addr_str(&c->dst, d, sizeof(d)));
		socks_reply(c, PROTO_TTL_EXPIRED, NULL);
		flow_cancel(&c->flow, PROTO_TTL_EXPIRED, "no answer in time");
		return;
	case S_RELAY: /* fast open: "succeeded" already, so a reset */
		log_info("socks: %s: no answer from the server within "
			 "connect-timeout",
			 addr_str(&c->dst, d, sizeof(d)));
		flow_reset(&c->flow, PROTO_TTL_EXPIRED, "no answer in time");
		return;
	case S_ROUTING:
		fail(c, PROTO_GENERAL_FAILURE,
		     "resolving for the rules "
		     "timed out");
		return;
	default:
		fail(c, 0, "handshake timed out");
		return;
	}
}

static int peer_allowed(const struct client_conf *conf,
			const struct sockaddr *sa)
{
	struct addr a;

	if (!conf->nallow)
		return 1;
	addr_from_sockaddr(&a, sa);
	if (addr_is_loopback_host(&a))
		return 1;
	for (int i = 0; i < conf->nallow; i++)
		if (cidr_match(&conf->allow[i], sa))
			return 1;
	return 0;
}

static void accept_one(struct socks_server *s, int fd,
		       const struct sockaddr_storage *ss)
{
	struct socks_conn *c;
	char p[ADDR_STR_MAX];

	if (!peer_allowed(s->conf, (const struct sockaddr *)ss)) {
		log_info("socks: %s: not in socks-allow, closed",
			 sockaddr_str((const struct sockaddr *)ss, p,
				      sizeof(p)));
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->fd = fd;
	c->peer = *ss;
	c->state = S_GREETING;
	buf_init(&c->in, HANDSHAKE_MAX);
	c->next = s->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->conns;
	s->conns = c;
	ev_io_init(&c->io, handshake_cb, fd, EV_READ);
	ev_io_start(s->loop, &c->io);
	ev_timer_init(&c->timer, timer_cb, s->conf->connect_timeout, 0.);
	ev_timer_start(s->loop, &c->timer);
}

static void accepted(struct acceptor *a, int fd, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, sockaddr_len(sa->sa_family));
	accept_one(container_of(a, struct socks_server, acc), fd, &ss);
}

struct socks_server *socks_server_new(struct ev_loop *loop,
				      const struct client_conf *conf,
				      struct client *client,
				      struct router *router)
{
	struct socks_server *s = xcalloc(1, sizeof(*s));
	char err[256];

	if (acceptor_open(&s->acc, loop, &conf->socks, accepted, err,
			  sizeof(err))) {
		log_error("socks %s", err);
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->conf = conf;
	s->client = client;
	s->router = router;
	s->direct.loop = loop;
	s->direct.connect_timeout = conf->connect_timeout;
	s->direct.name = "socks";
	s->direct.idle_timeout = conf->tc.tp.idle_timeout;
	s->direct.mark = router_mark(router);
	s->udp.loop = loop;
	s->udp.router = router;
	s->udp.direct = &s->direct;
	s->udp.client = client;
	s->udp.in = socks_udp_batch_new();
	s->udp.drops = &s->drops;
	s->udp.reply = udp_reply;
	s->udp.ended = udp_ended;
	log_info("SOCKS5 on %s", s->acc.name);
	return s;
}

void socks_server_status(const struct socks_server *s, struct buf *b, int json)
{
	socks_udp_drops_status(&s->drops, b, json);
}

void socks_server_free(struct socks_server *s)
{
	if (!s)
		return;
	acceptor_close(&s->acc);
	while (s->conns)
		socks_conn_free(s->conns);
	dgram_batch_free(s->udp.in);
	free(s);
}
