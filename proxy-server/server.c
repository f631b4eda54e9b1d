/* Listening sockets, TLS accept and the life of each client tunnel. */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/resolver.h"
#include "../common/tls.h"
#include "../common/util.h"

#define SCRATCH_SIZE (65536 + 64)
/* After EMFILE/ENFILE, accepting pauses this long instead of spinning. */
#define ACCEPT_PAUSE 0.5

struct listener {
	ev_io io;
	ev_timer pause;
	struct server *srv;
	struct listener *next;
	char name[ADDR_STR_MAX];
};

struct client_conn {
	struct tunnel *t;
	struct server *srv;
	struct client_conn *next, **pprev;
	char peer[ADDR_STR_MAX];
	ev_tstamp since;
	int up;
};

static void conn_up(struct tunnel *t)
{
	struct client_conn *c = tunnel_owner(t);

	c->up = 1;
	log_info("%s: up from %s", tunnel_name(t), c->peer);
}

static void conn_open(struct tunnel *t, const struct frame *f)
{
	struct client_conn *c = tunnel_owner(t);

	if (f->type == FRAME_OPEN)
		outbound_open(c->srv, t, f);
	else
		udp_relay_open(c->srv, t, f);
}

static void conn_down(struct tunnel *t, const char *why)
{
	struct client_conn *c = tunnel_owner(t);

	if (c->up)
		log_info("%s: down after %.0f s: %s", tunnel_name(t),
			 ev_now(c->srv->loop) - c->since, why);
	else /* a failed handshake is routine on a public port */
		log_info("connection from %s refused: %s", c->peer, why);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->srv->nclients--;
	tunnel_free(t);
	free(c);
}

static const struct tunnel_ops conn_ops = {
	.up = conn_up,
	.open = conn_open,
	.down = conn_down,
};

static void pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listener *l = container_of(w, struct listener, pause);

	ev_io_start(loop, &l->io);
}

static void accept_one(struct server *s, int fd, struct sockaddr *sa)
{
	struct client_conn *c = xcalloc(1, sizeof(*c));
	struct tls *tls;
	char err[256];
	int rc;

	sockaddr_str(sa, c->peer, sizeof(c->peer));
	/* a revocation takes effect at the next handshake */
	rc = tls_ctx_refresh_crl(s->tls, err, sizeof(err));
	if (rc > 0)
		log_info("revocation list reloaded");
	else if (rc < 0)
		log_warn("%s (keeping the previous list)", err);
	tls = tls_new(s->tls, fd);
	if (!tls) {
		log_warn("connection from %s: cannot start TLS", c->peer);
		close(fd);
		free(c);
		return;
	}
	c->srv = s;
	c->since = ev_now(s->loop);
	c->next = s->clients;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->clients;
	s->clients = c;
	s->nclients++;
	c->t = tunnel_new(s->loop, fd, tls, &conn_ops, &s->conf->tc.tp, c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = container_of(w, struct listener, io);

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(l->srv, fd, (struct sockaddr *)&ss);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("%s: accept: %s; pausing new connections",
				 l->name, strerror(errno));
			ev_io_stop(loop, w);
			ev_timer_set(&l->pause, ACCEPT_PAUSE, 0.);
			ev_timer_start(loop, &l->pause);
		}
		return;
	}
}

static int listen_on(struct server *s, const struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct listener *l;
	int fd, one = 1, off = 0;
	char name[ADDR_STR_MAX];

	addr_str(a, name, sizeof(name));
	if (addr_to_sockaddr(a, &ss, &len)) {
		log_error("listen %s: not an IP address", name);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("listen %s: %s", name, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) /* [::] takes IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		log_error("listen %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	l = xcalloc(1, sizeof(*l));
	l->srv = s;
	snprintf(l->name, sizeof(l->name), "%s", name);
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	ev_init(&l->pause, pause_cb);
	ev_io_start(s->loop, &l->io);
	l->next = s->listeners;
	s->listeners = l;
	log_info("listening on %s", name);
	return 0;
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;
	char err[256];

	if (w->signum == SIGHUP) {
		int rc = tls_ctx_refresh_crl(s->tls, err, sizeof(err));

		if (rc < 0)
			log_warn("%s (keeping the previous list)", err);
		else
			log_info("SIGHUP: revocation list %s",
				 rc ? "reloaded" : "unchanged");
		return;
	}
	log_info("%s: shutting down (%d tunnels)",
		 w->signum == SIGTERM ? "SIGTERM" : "SIGINT", s->nclients);
	server_stop(s);
}

static void watch_signal(struct server *s, ev_signal *w, int sig)
{
	ev_signal_init(w, signal_cb, sig);
	w->data = s;
	ev_signal_start(s->loop, w);
}

int server_start(struct server *s, struct ev_loop *loop,
		 struct server_conf *conf)
{
	struct tls_params tp = {
		.ca_pem = conf->tc.ca_pem,
		.cert_pem = conf->tc.cert_pem,
		.key_pem = conf->tc.key_pem,
		.crl_path = conf->crl_path,
	};
	char err[512];

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->conf = conf;
	s->tls = tls_ctx_server(&tp, err, sizeof(err));
	if (!s->tls) {
		log_error("%s", err);
		return -1;
	}
	s->resolver = resolver_new(loop, conf->dns, err, sizeof(err));
	if (!s->resolver) {
		log_error("%s", err);
		return -1;
	}
	s->scratch = xmalloc(SCRATCH_SIZE);
	for (int i = 0; i < conf->nlisten; i++)
		if (listen_on(s, &conf->listen[i]))
			return -1;
	signal(SIGPIPE, SIG_IGN);
	watch_signal(s, &s->sigterm, SIGTERM);
	watch_signal(s, &s->sigint, SIGINT);
	watch_signal(s, &s->sighup, SIGHUP);
	return 0;
}

/* Stops listening and closes every tunnel, then lets the loop end. */
void server_stop(struct server *s)
{
	s->stopping = 1;
	while (s->listeners) {
		struct listener *l = s->listeners;

		s->listeners = l->next;
		ev_io_stop(s->loop, &l->io);
		ev_timer_stop(s->loop, &l->pause);
		close(l->io.fd);
		free(l);
	}
	while (s->clients)
		tunnel_close(s->clients->t, "server shutting down");
	resolver_free(s->resolver);
	s->resolver = NULL;
	tls_ctx_free(s->tls);
	s->tls = NULL;
	free(s->scratch);
	s->scratch = NULL;
	ev_signal_stop(s->loop, &s->sigterm);
	ev_signal_stop(s->loop, &s->sigint);
	ev_signal_stop(s->loop, &s->sighup);
}
