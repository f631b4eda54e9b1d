/* Listening sockets, TLS accept and the life of each client tunnel. */
#include "server.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/acceptor.h"
#include "../common/ctl.h"
#include "../common/dgram.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/resolver.h"
#include "../common/tls.h"
#include "../common/util.h"

/* How often the CRL file is looked at without a handshake or SIGHUP. */
#define CRL_CHECK_INTERVAL 5.0
#define DRAIN_CHECK 0.2

struct listener {
	struct acceptor acc;
	struct server *srv;
	struct listener *next;
};

struct client_conn {
	struct tunnel *t;
	struct server *srv;
	struct client_conn *next, **pprev;
	char peer[ADDR_STR_MAX];
	ev_tstamp since;
	int up;
	unsigned nudp;  /* UDP associations, held by udp_relay.c */
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

static void unlink_conn(struct client_conn *c)
{
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->srv->nclients--;
}

static void conn_up(struct tunnel *t)
{
	struct client_conn *c = tunnel_owner(t), *o;
	const char *user = tunnel_peer(t);
	unsigned same = 0;

	for (o = c->srv->clients; o; o = o->next)
		if (o->up && !strcmp(tunnel_peer(o->t), user))
			same++;
	if (same >= c->srv->conf->max_tunnels_per_user) {
		log_warn("%s: refused from %s: max-tunnels-per-user (%u) reached",
			 tunnel_name(t), c->peer,
			 c->srv->conf->max_tunnels_per_user);
		tunnel_close(t, "max-tunnels-per-user reached");
		return;
	}
	c->up = 1;
	log_info("%s: up from %s", tunnel_name(t), c->peer);
}

static void refuse_stream(struct tunnel *t, const struct frame *f)
{
	uint8_t b[FRAME_HDR_LEN + 1];

	frame_result(b, sizeof(b), f->stream, PROTO_GENERAL_FAILURE, NULL);
	tunnel_send(t, b, sizeof(b));
}

static void conn_open(struct tunnel *t, const struct frame *f)
{
	struct client_conn *c = tunnel_owner(t);
	struct server *s = c->srv;

	if (s->stopping) {
		refuse_stream(t, f);
		return;
	}
	if (tunnel_stream_count(t) >= s->conf->max_flows) {
		server_log_limit(s, "%s: max-flows reached: refusing new "
				 "flows", tunnel_name(t));
		refuse_stream(t, f);
		return;
	}
	if (f->type == FRAME_OPEN) {
		outbound_open(s, t, f);
		return;
	}
	/* each one holds a socket here: counted apart from TCP flows */
	if (c->nudp >= s->conf->max_udp_assocs) {
		server_log_limit(s, "%s: max-udp-assocs (%u) reached: refusing "
				 "new UDP associations", tunnel_name(t),
				 s->conf->max_udp_assocs);
		refuse_stream(t, f);
		return;
	}
	udp_relay_open(s, t, f, &c->nudp);
}

/* A changed CRL applies to tunnels that are already up, too. */
static void check_crl(struct server *s, int force_log)
{
	char err[256];
	int rc = tls_ctx_refresh_crl(s->tls, err, sizeof(err));
	struct client_conn *c, *next;

	if (rc < 0) {
		log_warn("%s (keeping the previous list)", err);
		return;
	}
	if (rc > 0 || force_log)
		log_info("revocation list %s", rc ? "reloaded" : "unchanged");
	if (!rc)
		return;
	for (c = s->clients; c; c = next) {
		next = c->next;
		if (c->up && tls_peer_revoked(tunnel_tls(c->t))) {
			log_warn("%s: certificate revoked, disconnecting",
				 tunnel_name(c->t));
			tunnel_close(c->t, "certificate revoked");
		}
	}
}

static void crl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	check_crl(container_of(w, struct server, crl_check), 0);
}

static void conn_down(struct tunnel *t, const char *why)
{
	struct client_conn *c = tunnel_owner(t);

	if (c->up)
		log_info("%s: down after %.0f s: %s", tunnel_name(t),
			 ev_now(c->srv->loop) - c->since, why);
	else /* a failed handshake is routine on a public port */
		log_info("connection from %s refused: %s", c->peer, why);
	unlink_conn(c);
	tunnel_free(t);
	free(c);
}

/* Fallback mode: no certificate, no tunnel; the visitor gets the site. */
static void conn_no_cert(struct tunnel *t)
{
	struct client_conn *c = tunnel_owner(t);
	struct tls *tls;
	int fd;

	tunnel_release(t, &fd, &tls);
	unlink_conn(c);
	fallback_relay(c->srv, fd, tls, c->peer);
	free(c);
}

static const struct tunnel_ops conn_ops = {
	.up = conn_up,
	.open = conn_open,
	.down = conn_down,
	.no_cert = conn_no_cert,
};

static void accept_one(struct server *s, int fd, const struct sockaddr *sa)
{
	char peer[ADDR_STR_MAX];

	sockaddr_str(sa, peer, sizeof(peer));
	/* visitors of the fallback site have a quota of their own, so a
	 * prober holding pages open cannot lock real clients out */
	if (s->conf->fallback.type &&
	    (unsigned)s->nfallback < s->conf->max_tunnels)
		fallback_sniff(s, fd, peer);
	else
		server_start_tunnel(s, fd, peer);
}

void server_start_tunnel(struct server *s, int fd, const char *peer)
{
	struct client_conn *c;
	struct tls *tls;

	if ((unsigned)s->nclients >= s->conf->max_tunnels) {
		server_log_limit(s, "connection from %s refused: max-tunnels "
				 "reached", peer);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	/* a revocation takes effect at the next handshake at the latest */
	check_crl(s, 0);
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

static void accepted(struct acceptor *a, int fd, const struct sockaddr *sa)
{
	accept_one(container_of(a, struct listener, acc)->srv, fd, sa);
}

static int listen_on(struct server *s, const struct addr *a)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	char err[256];

	if (acceptor_open(&l->acc, s->loop, a, accepted, err, sizeof(err))) {
		log_error("listen %s", err);
		free(l);
		return -1;
	}
	l->srv = s;
	l->next = s->listeners;
	s->listeners = l;
	log_info("listening on %s", l->acc.name);
	return 0;
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct server *s = w->data;

	if (w->signum == SIGHUP) {
		struct policy p;
		char err[CONF_ERR_MAX];

		log_info("SIGHUP: re-reading the revocation list and the "
			 "allow/deny rules");
		check_crl(s, 1);
		if (server_conf_reload_policy(s->conf->tc.path, &p, err,
					      sizeof(err))) {
			log_warn("%s (keeping the previous rules)", err);
			return;
		}
		policy_free(&s->conf->policy);
		s->conf->policy = p;
		log_info("destination policy reloaded: %d allow/deny rules", p.n);
		return;
	}
	if (s->stopping) {
		log_info("%s again: stopping now", strsignal(w->signum));
		server_stop(s);
		return;
	}
	log_info("%s: shutting down (%d tunnels; flows get %.0f s to finish)",
		 w->signum == SIGTERM ? "SIGTERM" : "SIGINT", s->nclients,
		 s->conf->shutdown_grace);
	server_shutdown(s);
}

static void watch_signal(struct server *s, ev_signal *w, int sig)
{
	ev_signal_init(w, signal_cb, sig);
	w->data = s;
	ev_signal_start(s->loop, w);
}

/* The control socket's status: connected clients and their flows. */
static void server_status(void *arg, struct buf *b, int json)
{
	struct server *s = arg;
	struct client_conn *c;
	ev_tstamp now = ev_now(s->loop);
	char age[32], tx[32], rx[32];
	int first = 1;

	if (json)
		status_printf(b, "{\"clients\":[");
	else
		status_printf(b, "%d connected%s\n\n%-20s %-40s %9s %7s %10s "
			      "%10s\n", s->nclients, s->stopping ?
			      ", shutting down" : "", "USER", "PEER", "SINCE",
			      "FLOWS", "SENT", "RECEIVED");
	for (c = s->clients; c; c = c->next) {
		struct tunnel_info ti;
		const char *user = c->up ? tunnel_peer(c->t) : "(handshake)";

		tunnel_get_info(c->t, &ti);
		if (!json) {
			status_printf(b, "%-20s %-40s %9s %7zu %10s %10s\n", user,
				      c->peer, status_age(now - c->since, age,
							  sizeof(age)),
				      tunnel_stream_count(c->t),
				      status_bytes(ti.tx, tx, sizeof(tx)),
				      status_bytes(ti.rx, rx, sizeof(rx)));
			continue;
		}
		status_printf(b, "%s{\"user\":", first ? "" : ",");
		first = 0;
		status_json_str(b, user);
		status_printf(b, ",\"peer\":");
		status_json_str(b, c->peer);
		status_printf(b, ",\"since\":%.1f,\"up\":%s,\"flows\":%zu,"
			      "\"bytes_sent\":%llu,\"bytes_received\":%llu,"
			      "\"rtt_ms\":%.3f}", now - c->since,
			      c->up ? "true" : "false", tunnel_stream_count(c->t),
			      (unsigned long long)ti.tx,
			      (unsigned long long)ti.rx, ti.srtt * 1000);
	}
	if (json)
		status_printf(b, "]}\n");
}

/* Ports are bound and keys read: root is no longer needed. */
static int drop_privileges(const struct server_conf *c)
{
	if (!c->user && !c->group)
		return 0;
	if (setgroups(0, NULL) || setgid(c->gid) ||
	    (c->user && setuid(c->uid))) {
		log_error("cannot drop privileges to %s:%s: %s%s",
			  c->user ? c->user : "-", c->group ? c->group : "-",
			  strerror(errno), errno == EPERM ?
			  " (a sandbox such as the systemd unit forbids it: "
			  "leave user and group unset there)" : "");
		return -1;
	}
	log_info("running as %s:%s", c->user ? c->user : "(unchanged)",
		 c->group ? c->group : "(user's group)");
	return 0;
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

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *s = container_of(w, struct server, drain);
	struct client_conn *c;
	size_t flows = 0;

	for (c = s->clients; c; c = c->next)
		flows += tunnel_stream_count(c->t);
	if (flows && ev_now(loop) < s->drain_until)
		return;
	if (flows)
		log_info("shutdown-grace over: closing %zu flows", flows);
	server_stop(s);
}

void server_shutdown(struct server *s)
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
			tunnel_close(c->t, "server shutting down");
	}
	s->drain_until = ev_now(s->loop) + s->conf->shutdown_grace;
	ev_timer_set(&s->drain, 0., DRAIN_CHECK);
	ev_timer_start(s->loop, &s->drain);
}

/* Stops listening and closes every tunnel, then lets the loop end. */
void server_stop(struct server *s)
{
	s->stopping = 1;
	ev_timer_stop(s->loop, &s->drain);
	ev_timer_stop(s->loop, &s->crl_check);
	stop_listening(s);
	fallback_stop_all(s);
	ctl_close(s->ctl);
	s->ctl = NULL;
	while (s->clients)
		tunnel_close(s->clients->t, "server shutting down");
	resolver_free(s->resolver);
	s->resolver = NULL;
	tls_ctx_free(s->tls);
	s->tls = NULL;
	dgram_batch_free(s->udp_in);
	s->udp_in = NULL;
	ev_signal_stop(s->loop, &s->sigterm);
	ev_signal_stop(s->loop, &s->sigint);
	ev_signal_stop(s->loop, &s->sighup);
}

/* Before dropping root: the socket may live in /run/proxy. */
static void open_ctl(struct server *s)
{
	char *path = tunnel_conf_control(&s->conf->tc, "proxy-server");
	char err[256];

	if (path[0]) {
		s->ctl = ctl_open(s->loop, path, server_status, s, err,
				  sizeof(err));
		if (!s->ctl)
			log_warn("no status socket: %s", err);
		else
			log_debug("status socket %s", path);
		if (s->ctl && s->conf->user && s->conf->uid &&
		    ctl_keep_removable(s->ctl, err, sizeof(err)))
			log_warn("status socket %s", err);
	}
	free(path);
}

/* The CRL is re-read, as the user we now are, after each revoke: a list
 * that user cannot read would leave later revocations out of force, so
 * that is fatal now rather than a warning at the next revoke. */
static int crl_readable_after_drop(struct server *s)
{
	const struct server_conf *c = s->conf;
	char err[512];

	if (!c->crl_path || !(c->user || c->group) ||
	    !tls_ctx_reload_crl(s->tls, err, sizeof(err)))
		return 0;
	log_error("%s:%d: %s: unreadable once running as %s:%s, yet re-read "
		  "after every revoke; let that user reach it (chmod 711 on "
		  "its folder, as proxy-server init makes it, and 644 on the "
		  "file) or leave user and group unset", c->tc.path,
		  c->crl_line, err, c->user ? c->user : "-",
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

int server_start(struct server *s, struct ev_loop *loop,
		 struct server_conf *conf)
{
	char err[512];

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->conf = conf;
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
			addr_from_sockaddr(&s->resolver_addr, (struct sockaddr *)&ss);
	}
	for (int i = 0; i < conf->nlisten; i++)
		if (listen_on(s, &conf->listen[i]))
			return -1;
	open_ctl(s);
	if (drop_privileges(conf) || crl_readable_after_drop(s))
		return -1;
	ev_timer_init(&s->crl_check, crl_timer_cb, CRL_CHECK_INTERVAL,
		      CRL_CHECK_INTERVAL);
	if (conf->crl_path)
		ev_timer_start(loop, &s->crl_check);
	ev_init(&s->drain, drain_cb);
	signal(SIGPIPE, SIG_IGN);
	watch_signal(s, &s->sigterm, SIGTERM);
	watch_signal(s, &s->sigint, SIGINT);
	watch_signal(s, &s->sighup, SIGHUP);
	return 0;
}
