/* One worker: its listening sockets, TLS accept and the life of each
 * client tunnel it accepted (server.h). */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/acceptor.h"
#include "../common/dgram.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/resolver.h"
#include "../common/tls.h"
#include "../common/util.h"
#include "../common/errcode.h"
#include "../common/dpath.h"
#include "account.h"
#include "dpath_srv.h"
#include "fallback.h"
#include "hub.h"
#include "outbound.h"
#include "session.h"
#include "udp_relay.h"
#include "worker.h"

/* How often the CRL file is looked at without a handshake or SIGHUP. */
#define CRL_CHECK_INTERVAL 5.0
#define TLS_RECORD_FIRST_BYTE 0x16 /* a handshake record */

struct listener {
	struct acceptor acc;
	struct server *srv;
	struct listener *next;
};

/* A connection from accept to its end: first it waits for its first
 * byte, then it is a tunnel; until the client has authenticated it holds
 * a place in the handshake budget (preauth.c). */
struct client_conn {
	struct tunnel *t; /* NULL while waiting for the first byte */
	struct server *srv;
	struct client_conn *next, **pprev;
	struct preauth_slot pre;
	ev_io first; /* the first byte */
	ev_timer first_timer;
	char peer[ADDR_STR_MAX];
	ev_tstamp since;
	int up;
	int counted;              /* in max-tunnels (hub_tunnel_up) */
	struct budget_user *user; /* once up: its flows count here */
	unsigned nudp;            /* UDP associations, held by udp_relay.c */
	struct account *acct;     /* once up; NULL when accounting is off */
	struct session *sess;     /* once up, if the tunnel resumes */
};

/* Limits are logged at most once a second: a flood must not become a
 * flood of log lines. */
int server_log_limit(struct server *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (ev_now(s->loop) - s->last_limit_log < 1.0)
		return 0;
	s->last_limit_log = ev_now(s->loop);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warn("%s", line);
	return 1;
}

/* The one end of every connection, whatever its stage: out of the
 * list and the handshake budget, freed. Its socket is closed or handed
 * on by the caller. */
static void conn_free(struct client_conn *c)
{
	struct server *s = c->srv;

	ev_io_stop(s->loop, &c->first);
	ev_timer_stop(s->loop, &c->first_timer);
	preauth_leave(&s->preauth, &c->pre);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	s->nclients--;
	if (c->counted)
		hub_tunnel_down(s->hub);
	if (c->user)
		budget_user_put(c->user);
	account_leave(c->acct);
	free(c);
}

/* Ends a connection at any stage: a tunnel closes (conn_down frees). */
static void conn_close(struct client_conn *c, const char *why)
{
	if (c->t) {
		tunnel_close(c->t, why);
		return;
	}
	log_debug("connection from %s closed: %s", c->peer, why);
	close(c->first.fd);
	conn_free(c);
}

/* The name's caps: down is what the tunnel sends, up what it takes. */
static void set_rates(struct client_conn *c)
{
	struct bucket *down, *up;

	account_rates(c->acct, &down, &up);
	tunnel_set_rates(c->t, down, up);
}

static void conn_up(struct tunnel *t)
{
	struct client_conn *c = tunnel_owner(t);
	struct server *s = c->srv;

	/* authenticated: out of the handshake budget */
	preauth_leave(&s->preauth, &c->pre);
	if (hub_tunnel_up(s->hub)) {
		server_log_limit(s,
				 "%s: refused from %s: max-tunnels (%u) "
				 "reached",
				 tunnel_name(t), c->peer, s->conf->max_tunnels);
		tunnel_close(t, "max-tunnels reached");
		return;
	}
	c->counted = 1;
	c->user = budget_user_get(&s->hub->budget, tunnel_peer(t));
	if (budget_user_tunnels(c->user) > s->conf->max_tunnels_per_user) {
		log_warn(
			"%s: refused from %s: max-tunnels-per-user (%u) reached",
			tunnel_name(t), c->peer,
			c->srv->conf->max_tunnels_per_user);
		tunnel_close(t, "max-tunnels-per-user reached");
		return;
	}
	c->up = 1;
	c->acct = account_join(s->hub->accts, tunnel_peer(t));
	tunnel_set_meter(t, account_meter(c->acct));
	set_rates(c);
	if (!s->stopping)
		c->sess = session_new(&s->sessions, t);
	if (s->hub->n > 1)
		log_info("%s: up from %s (worker %d)", tunnel_name(t), c->peer,
			 s->index);
	else
		log_info("%s: up from %s", tunnel_name(t), c->peer);
	dpath_srv_attach(s->hub->dps, t, s->index);
}

struct fetch {
	struct server *s;
	struct tunnel *t;
	const uint8_t *token;
	uint8_t code;
};

/* On the main thread, every worker stopped: the session the token
 * names, from whichever worker holds it. */
static void fetch(void *arg)
{
	struct fetch *f = arg;
	struct hub *h = f->s->hub;
	struct sessions **all = xcalloc((size_t)h->n, sizeof(*all));

	for (int i = 0; i < h->n; i++)
		all[i] = &h->w[i].sessions;
	f->code = sessions_move(all, h->n, f->s->index, f->t, f->token);
	free(all);
}

/* RESUME: the flows of a lost tunnel of this client, back on this one,
 * from whichever worker kept them. */
static void conn_resume(struct tunnel *t, const uint8_t *token, uint32_t count)
{
	struct client_conn *c = tunnel_owner(t);
	uint8_t elsewhere = RESUME_UNKNOWN;

	if (c->srv->stopping || !c->up) {
		tunnel_resume_answer(t, RESUME_REFUSED, NULL);
		return;
	}
	if (c->srv->hub->n > 1 &&
	    sessions_elsewhere(&c->srv->sessions, token)) {
		struct fetch f = { c->srv, t, token, RESUME_UNKNOWN };

		workers_call(c->srv->threads, c->srv->index, fetch, &f);
		elsewhere = f.code;
	}
	sessions_resume(&c->srv->sessions, t, token, count, elsewhere);
}

static void refuse_with(struct tunnel *t, const struct frame *f, uint8_t code,
			uint8_t reason)
{
	tunnel_send_result(t, f->stream, code, reason, NULL);
}

static void refuse_stream(struct tunnel *t, const struct frame *f,
			  uint8_t reason)
{
	refuse_with(t, f, PROTO_GENERAL_FAILURE, reason);
}

static int relay_log_limit(void *arg, const char *line)
{
	return server_log_limit(arg, "%s", line);
}

/* The relay keeps a copy of env; what it points to is the server's. */
static void open_udp(struct server *s, struct tunnel *t, const struct frame *f,
		     struct client_conn *c)
{
	struct udp_relay_env env = {
		.loop = s->loop,
		.conf = s->conf,
		.resolver = s->resolver,
		.resolver_addr = &s->resolver_addr,
		.in = s->udp_in,
		.log_limit = relay_log_limit,
		.arg = s,
	};
	int err = udp_relay_open(&env, t, f, &c->nudp, c->user);

	if (err) {
		budget_give(c->user);
		refuse_with(t, f, errno_to_code(-err), errno_to_reason(-err));
	}
}

static void conn_open(struct tunnel *t, const struct frame *f)
{
	struct client_conn *c = tunnel_owner(t);
	struct server *s = c->srv;
	int rc;
	char why[128];

	if (s->stopping) {
		refuse_stream(t, f, REASON_SHUTDOWN);
		return;
	}
	if (account_open_flow(c->acct, why, sizeof(why))) {
		server_log_limit(s, "%s: flow refused: %s", tunnel_name(t),
				 why);
		refuse_with(t, f, PROTO_NOT_ALLOWED, REASON_QUOTA);
		return;
	}
	if (tunnel_stream_count(t) >= s->conf->max_flows) {
		server_log_limit(s,
				 "%s: max-flows reached: refusing new "
				 "flows",
				 tunnel_name(t));
		refuse_stream(t, f, REASON_LIMIT);
		return;
	}
	/* each one holds a socket here: counted apart from TCP flows */
	if (f->type != FRAME_OPEN && c->nudp >= s->conf->max_udp_assocs) {
		server_log_limit(s,
				 "%s: max-udp-assocs (%u) reached: refusing "
				 "new UDP associations",
				 tunnel_name(t), s->conf->max_udp_assocs);
		refuse_stream(t, f, REASON_LIMIT);
		return;
	}
	/* the server's descriptors are shared: by all, and fairly */
	rc = budget_take(c->user);
	if (rc) {
		server_log_limit(s, "%s: %s (%u) reached: refusing new flows",
				 tunnel_name(t), budget_strerror(rc),
				 rc == BUDGET_USER ?
					 s->hub->budget.lim.flows_per_user :
					 s->hub->budget.lim.flows_total);
		refuse_stream(t, f, REASON_LIMIT);
		return;
	}
	if (f->type == FRAME_OPEN)
		outbound_open(s, t, f, c->user);
	else
		open_udp(s, t, f, c);
}

/* A changed CRL applies to tunnels that are already up, too. */
void server_check_crl(struct server *s, int force_log)
{
	char err[256];
	int rc = tls_ctx_refresh_crl(s->tls, err, sizeof(err));
	struct client_conn *c, *next;

	if (rc < 0) {
		log_warn("%s (keeping the previous list)", err);
		return;
	}
	/* each worker has its own copy: one of them says it */
	if ((rc > 0 || force_log) && !s->index)
		log_info("revocation list %s", rc ? "reloaded" : "unchanged");
	if (!rc)
		return;
	for (c = s->clients; c; c = next) {
		next = c->next;
		if (c->up && tls_peer_revoked(tunnel_tls(c->t))) {
			log_warn("%s: certificate revoked, disconnecting",
				 tunnel_name(c->t));
			if (c->sess) /* its flows end: nothing to resume */
				session_end(c->sess);
			tunnel_close(c->t, "certificate revoked");
		}
	}
}

/* A quota used up (account.c): the open flows end, the tunnels stay so
 * the refusals of new flows reach the client. */
void server_end_over_quota(struct server *s)
{
	for (struct client_conn *c = s->clients; c; c = c->next)
		if (c->up && account_over(c->acct))
			tunnel_reset_streams(c->t, PROTO_NOT_ALLOWED);
}

void server_reapply_rates(struct server *s)
{
	for (struct client_conn *c = s->clients; c; c = c->next)
		if (c->up)
			set_rates(c);
}

static void crl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	server_check_crl(container_of(w, struct server, crl_check), 0);
}

static void conn_down(struct tunnel *t, const char *why)
{
	struct client_conn *c = tunnel_owner(t);

	if (c->up)
		log_info("%s: down after %.0f s: %s", tunnel_name(t),
			 ev_now(c->srv->loop) - c->since, why);
	else /* a failed handshake is routine on a public port */
		log_info("connection from %s refused: %s", c->peer, why);
	if (c->sess)
		session_lost(c->sess); /* keeps the flows parked there */
	c->sess = NULL;
	dpath_srv_detach(c->srv->hub->dps, t, c->srv->index);
	tunnel_free(t);
	conn_free(c);
}

/* Fallback mode: no certificate, no tunnel; the visitor gets the site. */
static void conn_no_cert(struct tunnel *t)
{
	struct client_conn *c = tunnel_owner(t);
	struct tls *tls;
	int fd;

	tunnel_release(t, &fd, &tls);
	fallback_relay(c->srv->fallback, fd, tls, c->peer);
	conn_free(c);
}

static const struct tunnel_ops conn_ops = {
	.up = conn_up,
	.open = conn_open,
	.down = conn_down,
	.no_cert = conn_no_cert,
	.resume = conn_resume,
};

/* The first byte came: TLS becomes a tunnel (or, with a fallback and
 * no client certificate, a visitor of the fallback site). */
static void start_tunnel(struct client_conn *c)
{
	struct server *s = c->srv;
	int fd = c->first.fd;
	struct tls *tls;
	struct tunnel_params tp = s->conf->tc.tp;

	/* a revocation takes effect at the next handshake at the latest */
	server_check_crl(s, 0);
	tls = tls_new(s->tls, fd);
	if (!tls) {
		log_warn("connection from %s: cannot start TLS", c->peer);
		close(fd);
		conn_free(c);
		return;
	}
	tp.pool = &s->pool;
	c->t = tunnel_new(s->loop, fd, tls, &conn_ops, &tp, c);
}

/* Peeked, not read: the byte stays for TLS. Silent connections end at
 * first-byte-timeout, long before a handshake's deadline. */
static void first_byte_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client_conn *c = container_of(w, struct client_conn, first);
	uint8_t b;
	ssize_t n = recv(w->fd, &b, 1, MSG_PEEK);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c, n ? strerror(errno) : "closed before a byte");
		return;
	}
	ev_io_stop(loop, w);
	ev_timer_stop(loop, &c->first_timer);
	if (c->srv->fallback && b != TLS_RECORD_FIRST_BYTE) {
		fallback_not_tls(c->srv->fallback, w->fd, c->peer);
		conn_free(c);
		return;
	}
	start_tunnel(c);
}

static void first_byte_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	conn_close(container_of(w, struct client_conn, first_timer),
		   "nothing sent within first-byte-timeout");
}

/* The handshake budget is full and a newcomer from elsewhere needs its
 * place: the oldest handshake of the busiest source goes. */
static void conn_evict(struct preauth_slot *slot)
{
	struct client_conn *c = container_of(slot, struct client_conn, pre);

	server_log_limit(c->srv,
			 "connection from %s dropped: max-startups "
			 "reached, room made for another address",
			 c->peer);
	conn_close(c, "max-startups reached");
}

static void accepted(struct acceptor *a, int fd, const struct sockaddr *sa)
{
	struct server *s = container_of(a, struct listener, acc)->srv;
	struct client_conn *c = xcalloc(1, sizeof(*c));
	int rc;

	sockaddr_str(sa, c->peer, sizeof(c->peer));
	rc = preauth_enter(&s->preauth, &c->pre, sa, conn_evict);
	if (rc) {
		server_log_limit(s,
				 "connection from %s refused: %s "
				 "(max-startups)",
				 c->peer, preauth_strerror(rc));
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
	ev_io_init(&c->first, first_byte_cb, fd, EV_READ);
	ev_io_start(s->loop, &c->first);
	ev_timer_init(&c->first_timer, first_byte_timeout,
		      s->conf->first_byte_timeout, 0.);
	ev_timer_start(s->loop, &c->first_timer);
}

static int listen_on(struct server *s, const struct addr *a, int shared)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	char err[256];

	/* the first worker's: the port must be free, not shared */
	if ((shared && !s->index && acceptor_check_free(a, err, sizeof(err))) ||
	    (shared ? acceptor_open_shared : acceptor_open)(&l->acc, s->loop, a,
							    accepted, err,
							    sizeof(err))) {
		log_error("listen %s", err);
		free(l);
		return -1;
	}
	l->srv = s;
	l->next = s->listeners;
	s->listeners = l;
	if (!s->index)
		log_info("listening on %s", l->acc.name);
	return 0;
}

/* status: this worker's tunnels, one row (or JSON object) each. */
void server_status(struct server *s, struct buf *b, int json, int *first)
{
	struct client_conn *c;
	ev_tstamp now = ev_now(s->loop);
	char age[32], tx[32], rx[32];

	for (c = s->clients; c; c = c->next) {
		struct tunnel_info ti;
		const char *user = c->up ? tunnel_peer(c->t) : "(handshake)";

		if (!c->t)
			continue; /* not a byte yet: counted apart */
		tunnel_get_info(c->t, &ti);
		if (!json) {
			status_printf(b, "%-20s %-40s %9s %7zu %10s %10s", user,
				      c->peer,
				      status_age(now - c->since, age,
						 sizeof(age)),
				      tunnel_stream_count(c->t),
				      status_bytes(ti.tx, tx, sizeof(tx)),
				      status_bytes(ti.rx, rx, sizeof(rx)));
			if (s->hub->n > 1)
				status_printf(b, " %6d", s->index);
			status_printf(b, "\n");
			if (tunnel_dpath(c->t)) {
				status_printf(b, "  ");
				dpath_status(tunnel_dpath(c->t), b, 0);
			}
			continue;
		}
		status_printf(b, "%s{\"user\":", *first ? "" : ",");
		*first = 0;
		status_json_str(b, user);
		status_printf(b, ",\"peer\":");
		status_json_str(b, c->peer);
		status_printf(b,
			      ",\"since\":%.1f,\"up\":%s,\"flows\":%zu,"
			      "\"bytes_sent\":%llu,\"bytes_received\":%llu,"
			      "\"rtt_ms\":%.3f,\"send_budget\":%u,"
			      "\"worker\":%d",
			      now - c->since, c->up ? "true" : "false",
			      tunnel_stream_count(c->t),
			      (unsigned long long)ti.tx,
			      (unsigned long long)ti.rx, ti.srtt * 1000,
			      ti.send_budget, s->index);
		if (tunnel_dpath(c->t)) {
			status_printf(b, ",");
			dpath_status(tunnel_dpath(c->t), b, 1);
		}
		status_printf(b, "}");
	}
}

static void stop_listening(struct server *s)
{
	while (s->listeners) {
		struct listener *l = s->listeners;

		s->listeners = l->next;
		acceptor_close(&l->acc);
		free(l);
	}
}

size_t server_flows(const struct server *s)
{
	size_t flows = 0;

	for (struct client_conn *c = s->clients; c; c = c->next)
		flows += c->t ? tunnel_stream_count(c->t) : 0;
	return flows;
}

void server_goaway(struct server *s)
{
	struct client_conn *c, *next;

	s->stopping = 1;
	stop_listening(s);
	ev_timer_stop(s->loop, &s->crl_check);
	for (c = s->clients; c; c = next) {
		next = c->next;
		if (c->up)
			tunnel_goaway(c->t);
		else
			conn_close(c, "server shutting down");
	}
}

/* Stops listening and closes every tunnel: nothing is left active in
 * the worker's loop. */
void server_close(struct server *s)
{
	if (!s->loop)
		return; /* never opened */
	s->stopping = 1;
	ev_timer_stop(s->loop, &s->crl_check);
	stop_listening(s);
	fallback_free(s->fallback);
	s->fallback = NULL;
	while (s->clients) {
		if (s->clients->sess) /* nobody will resume them */
			session_end(s->clients->sess);
		conn_close(s->clients, "server shutting down");
	}
	sessions_free(&s->sessions);
	preauth_free(&s->preauth);
	resolver_free(s->resolver);
	s->resolver = NULL;
	tls_ctx_free(s->tls);
	s->tls = NULL;
	dgram_batch_free(s->udp_in);
	s->udp_in = NULL;
}

void server_woken(struct server *s)
{
	dpath_srv_drain(s->hub->dps, s->index);
}

/* The CRL is re-read, as the user we now are, after each revoke: a list
 * that user cannot read would leave later revocations out of force, so
 * that is fatal now rather than a warning at the next revoke. */
int server_crl_readable(struct server *s)
{
	const struct server_conf *c = s->conf;
	char err[512];

	if (!c->crl_path || !(c->user || c->group) ||
	    !tls_ctx_reload_crl(s->tls, err, sizeof(err)))
		return 0;
	log_error("%s:%d: %s: unreadable once running as %s:%s, yet re-read "
		  "after every revoke; let that user reach it (chmod 711 on "
		  "its folder, as proxy-server init makes it, and 644 on the "
		  "file) or leave user and group unset",
		  c->tc.path, c->crl_line, err, c->user ? c->user : "-",
		  c->group ? c->group : "-");
	return -1;
}

static struct tls_ctx *make_tls(const struct server_conf *conf, char *err,
				size_t n)
{
	struct tls_params tp = {
		.ca_pem = conf->tc.ca_pem,
		.cert_pem = conf->tc.cert_pem,
		.key_pem = conf->tc.key_pem,
		.crl_path = conf->crl_path,
		.cert_optional = conf->fallback.type != 0,
	};

	return tls_ctx_server(&tp, err, n);
}

int server_check_tls(const struct server_conf *conf, char *err, size_t n)
{
	struct tls_ctx *tls = make_tls(conf, err, n);
	int ok = tls != NULL;

	tls_ctx_free(tls);
	return ok ? 0 : -1;
}

/* Each worker has its own TLS context (its CRL re-read by itself,
 * nothing shared with a handshake in another thread) and resolver
 * channel; the handshake budget, max-startups and its per-source
 * bound, is shared out, so that the configured figures bound the whole
 * server whichever worker the kernel hands a connection to. */
int server_open(struct server *s, struct hub *h, int index,
		struct ev_loop *loop, int reuseport)
{
	struct server_conf *conf = h->conf;
	struct preauth_limits lim = conf->startups;
	char err[512];

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->conf = conf;
	s->hub = h;
	s->index = index;
	s->pool.max = h->budget.pool.max / (unsigned)h->n;
	lim.full = MAX(lim.full / (unsigned)h->n, 1u);
	lim.start = MAX(lim.start / (unsigned)h->n, 1u);
	lim.per_source = MAX(lim.per_source / (unsigned)h->n, 1u);
	preauth_init(&s->preauth, &lim, 0);
	sessions_init(&s->sessions, loop, conf->tc.tp.resume_window,
		      index ? &h->w[0].sessions : NULL);
	ev_timer_init(&s->crl_check, crl_timer_cb, CRL_CHECK_INTERVAL,
		      CRL_CHECK_INTERVAL);
	s->tls = make_tls(conf, err, sizeof(err));
	if (!s->tls) {
		log_error("%s: %s", conf->tc.path, err);
		return -1;
	}
	s->resolver = resolver_new(loop, conf->dns, err, sizeof(err));
	if (!s->resolver) {
		log_error("%s", err);
		return -1;
	}
	s->udp_in = dgram_batch_new(FRAME_UDP_HDR_IP_MAX, FRAME_MAX_PAYLOAD, 0);
	{
		struct sockaddr_storage ss;

		if (!resolver_first_server(s->resolver, &ss))
			addr_from_sockaddr(&s->resolver_addr,
					   (struct sockaddr *)&ss);
	}
	if (conf->fallback.type)
		s->fallback = fallback_new(loop, &conf->fallback,
					   conf->max_tunnels);
	for (int i = 0; i < conf->nlisten; i++)
		if (listen_on(s, &conf->listen[i], reuseport))
			return -1;
	if (conf->crl_path)
		ev_timer_start(loop, &s->crl_check);
	return 0;
}
