/* DNS over TCP, split by dns-direct (dns_tcp.h). One connection goes
 * one way, decided by its first query: a resolver keeps asking about
 * the same zone on a connection it opened for one, and a forwarder that
 * split later queries of a connection would have to re-frame them. */
#include "dns_tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/acceptor.h"
#include "../common/log.h"
#include "../common/util.h"
#include "direct.h"
#include "dns_msg.h"
#include "redirect.h"

/* The length prefix and enough of the first query for its question. */
#define FIRST_MAX (2 + 512)

struct dns_conn {
	struct dns_tcp *t;
	int fd; /* until handed on */
	ev_io io;
	ev_timer timer;        /* connect-timeout for the first query */
	struct direct *direct; /* once sent direct */
	size_t have;
	struct dns_conn *next, **pprev;
	uint8_t first[FIRST_MAX];
};

struct dns_tcp {
	struct ev_loop *loop;
	struct router *router;
	struct redirect *tunnel; /* to dns-server through the tunnel */
	struct acceptor acc;
	struct direct_params dp;
	double timeout;
	struct dns_conn *conns;
};

static void conn_free(struct dns_conn *c)
{
	ev_io_stop(c->t->loop, &c->io);
	ev_timer_stop(c->t->loop, &c->timer);
	direct_free(c->direct);
	if (c->fd >= 0)
		close(c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	free(c);
}

static void direct_reply(void *conn, uint8_t rep, const struct addr *bound)
{
	/* the asker connected long ago; a failure shows as the end */
}

static void direct_ended(void *conn)
{
	conn_free(conn);
}

static const struct direct_ops dns_direct_ops = {
	.reply = direct_reply,
	.ended = direct_ended,
};

/* The first query is in (or as much of it as FIRST_MAX holds): its name
 * decides where the connection goes. */
static void decide(struct dns_conn *c, size_t msg_len)
{
	struct dns_tcp *t = c->t;
	char name[DNS_NAME_TEXT];
	struct sockaddr_storage server;
	struct route_verdict v = { .addrs = &server, .naddrs = 1 };
	struct addr dst;
	char srv[ADDR_STR_MAX];
	size_t n = c->have - 2 < msg_len ? c->have - 2 : msg_len;

	ev_io_stop(t->loop, &c->io);
	ev_timer_stop(t->loop, &c->timer);
	if (dns_qname(c->first + 2, n, name, sizeof(name)) < 0 ||
	    !router_dns(t->router, name, &v.tag, &server)) {
		redirect_take(t->tunnel, c->fd, c->first, c->have);
		c->fd = -1;
		conn_free(c);
		return;
	}
	addr_from_sockaddr(&dst, (struct sockaddr *)&server);
	log_debug("dns: %s over TCP to %s", name,
		  addr_str(&dst, srv, sizeof(srv)));
	c->direct = direct_open(&t->dp, &dns_direct_ops, c, c->fd, &dst, &v,
				c->first, c->have);
	c->fd = -1; /* the direct flow's now */
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dns_conn *c = container_of(w, struct dns_conn, io);
	ssize_t n = read(c->fd, c->first + c->have, FIRST_MAX - c->have);
	size_t msg_len;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c); /* gone before its first query */
		return;
	}
	c->have += (size_t)n;
	if (c->have < 2)
		return;
	msg_len = get_be16(c->first);
	if (c->have - 2 >= msg_len || c->have == FIRST_MAX)
		decide(c, msg_len);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dns_conn *c = container_of(w, struct dns_conn, timer);

	log_info("dns: a TCP connection sent no query within "
		 "connect-timeout: closed");
	conn_free(c);
}

static void accepted(struct acceptor *a, int fd, const struct sockaddr *sa)
{
	struct dns_tcp *t = container_of(a, struct dns_tcp, acc);
	struct dns_conn *c;

	if (!router_has_dns_rules(t->router)) {
		/* nothing to decide: through the tunnel at once */
		redirect_take(t->tunnel, fd, NULL, 0);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->t = t;
	c->fd = fd;
	c->next = t->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &t->conns;
	t->conns = c;
	ev_io_init(&c->io, io_cb, fd, EV_READ);
	ev_io_start(t->loop, &c->io);
	ev_timer_init(&c->timer, timer_cb, t->timeout, 0.);
	ev_timer_start(t->loop, &c->timer);
}

struct dns_tcp *dns_tcp_new(struct ev_loop *loop,
			    const struct client_conf *conf,
			    struct client *client, struct router *router)
{
	struct dns_tcp *t = xcalloc(1, sizeof(*t));
	char err[256];

	t->loop = loop;
	t->router = router;
	t->timeout = conf->connect_timeout;
	t->dp.loop = loop;
	t->dp.name = "dns";
	t->dp.connect_timeout = conf->connect_timeout;
	t->dp.idle_timeout = conf->tc.tp.idle_timeout;
	t->dp.mark = router_mark(router);
	t->tunnel = redirect_new(loop, NULL, conf, client, NULL,
				 &conf->dns_server);
	if (acceptor_open(&t->acc, loop, &conf->dns_listen, accepted, err,
			  sizeof(err))) {
		log_error("dns-listen %s", err);
		redirect_free(t->tunnel);
		free(t);
		return NULL;
	}
	log_info("DNS over TCP on %s", t->acc.name);
	return t;
}

void dns_tcp_free(struct dns_tcp *t)
{
	if (!t)
		return;
	acceptor_close(&t->acc);
	while (t->conns)
		conn_free(t->conns);
	redirect_free(t->tunnel);
	free(t);
}
