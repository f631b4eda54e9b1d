#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/resolver.h"
#include "../common/dpath.h"
#include "../common/status.h"
#include "../common/tls.h"
#include "../common/util.h"
#include "../redir/rules.h"
#include "../common/dial.h"
#include "redial.h"

/* A tunnel up this long had really worked: its loss resets the backoff
 * and is worth a rescue (see redial.h). */
#define STABLE_SECS 10.0

struct client {
	struct ev_loop *loop;
	const struct client_conf *conf;
	struct tls_ctx *tls;
	struct resolver *resolver;
	struct resolve_req *rq;
	struct sockaddr_storage *addrs;
	int naddrs, next_addr;
	struct tunnel *t;    /* up: the one in use */
	struct tunnel *next; /* in its handshake: the first tunnel, or the
				  * replacement of a silent one */
	int suspect;         /* t heard nothing for stall-timeout */
	int draining;        /* the server sent GOAWAY */
	ev_tstamp up_since;
	struct dial dial; /* the TCP connect of the next tunnel */
	ev_timer retry;
	struct redial rd;
	unsigned reconnects;
	struct client_waiter *waiters;
	char server[ADDR_STR_MAX];
	unsigned mark;       /* SO_MARK of our own sockets, or 0 */
	struct kept kept;    /* flows of a lost tunnel, for the next */
	ev_timer kept_timer; /* resume-window for them */
};

static void connect_next(struct client *c);

struct tunnel *client_tunnel(struct client *c)
{
	return c->t && !c->suspect && !c->draining ? c->t : NULL;
}

void client_wait(struct client *c, struct client_waiter *w)
{
	w->next = c->waiters;
	if (w->next)
		w->next->pprev = &w->next;
	w->pprev = &c->waiters;
	c->waiters = w;
}

void client_unwait(struct client_waiter *w)
{
	if (!w->pprev)
		return;
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	w->next = NULL;
	w->pprev = NULL;
}

static void wake_waiters(struct client *c, struct tunnel *t)
{
	while (c->waiters) {
		struct client_waiter *w = c->waiters;

		client_unwait(w);
		w->ready(w, t);
	}
}

/* Dialling already, or waiting to: nothing to start. */
static int dialling(const struct client *c)
{
	return c->next || c->rq || dial_active(&c->dial) ||
	       ev_is_active(&c->retry);
}

static void schedule_retry(struct client *c, enum redial_fail why)
{
	double delay = redial_delay(&c->rd, ev_now(c->loop), why,
				    random() / (double)RAND_MAX);

	if (delay >= 0.1)
		log_info("tunnel: reconnecting in %.1f s", delay);
	ev_timer_set(&c->retry, delay, 0.);
	ev_timer_start(c->loop, &c->retry);
}

/* The tunnel in use went silent or was lost: redial at once, with the
 * short deadlines of a rescue. */
static void rescue(struct client *c, ev_tstamp srtt)
{
	redial_rescue(&c->rd, ev_now(c->loop), srtt);
	if (c->next || c->rq || dial_active(&c->dial))
		return;
	ev_timer_stop(c->loop, &c->retry);
	connect_next(c);
}

/* udp-path auto, and the server offers it: probe (dpath.h). */
static void start_udp_path(struct client *c, struct tunnel *t)
{
	char err[128];
	struct dpath *d;

	if (!tunnel_params(t)->udp_path ||
	    !(tunnel_peer_flags(t) & HELLO_F_UDP_PATH))
		return;
	d = dpath_client(t, c->mark, err, sizeof(err));
	if (!d) {
		log_warn("tunnel: no datagram path: %s", err);
		return;
	}
	tunnel_set_dpath(t, d);
}

/* The flows of the lost tunnel (and its token) go to the new one: the
 * server gives them back, or says why not and they end. */
static void resume_flows(struct client *c, struct tunnel *t)
{
	size_t n = kept_count(&c->kept);

	ev_timer_stop(c->loop, &c->kept_timer);
	if (!tunnel_resume_send(t, &c->kept) || !n)
		return;
	log_warn("tunnel: %zu flows cannot resume: %s", n,
		 tunnel_resumes(t) ? "no token from the server" :
				     "the server does not resume flows");
	kept_abort_all(&c->kept);
}

static void kept_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *c = container_of(w, struct client, kept_timer);

	log_warn("tunnel: no new connection within resume-window (%.0f s): "
		 "%zu flows end",
		 c->conf->tc.tp.resume_window, kept_count(&c->kept));
	kept_abort_all(&c->kept);
}

static void tunnel_up(struct tunnel *t)
{
	struct client *c = tunnel_owner(t);
	struct tunnel *old = c->t;
	ev_tstamp now = ev_now(c->loop);

	redial_done(&c->rd, old && now - c->up_since >= STABLE_SECS);
	c->next = NULL;
	c->t = t;
	c->suspect = 0;
	c->draining = 0;
	c->up_since = now;
	log_info("tunnel: connected to %s", c->server);
	tunnel_keep_into(t, &c->kept);
	if (old) {
		/* make before break: the silent one goes now; its flows
		 * are kept for this one to resume when both sides can,
		 * else they end with it (each front-end ends its own) */
		log_info("tunnel: closing the silent tunnel (%zu flows)",
			 tunnel_stream_count(old));
		tunnel_close(old, "replaced by a new tunnel");
	}
	/* before any new flow: RESUME must be the first after HELLO */
	resume_flows(c, t);
	start_udp_path(c, t);
	wake_waiters(c, t);
}

static void tunnel_down(struct tunnel *t, const char *why)
{
	struct client *c = tunnel_owner(t);
	ev_tstamp now = ev_now(c->loop);
	struct tunnel_info ti;
	int stable;

	if (t == c->next) {
		log_warn("tunnel: cannot connect to %s: %s", c->server, why);
		c->next = NULL;
		tunnel_free(t);
		schedule_retry(c, REDIAL_REJECTED);
		return;
	}
	if (t != c->t) { /* replaced: closed by tunnel_up() */
		tunnel_free(t);
		return;
	}
	log_warn("tunnel: lost connection to %s: %s", c->server, why);
	tunnel_get_info(t, &ti);
	/* Only a tunnel that stayed up a while resets the backoff and is
	 * redialled at once: one the server drops right after the
	 * handshake (a limit, a revocation) must not be retried at full
	 * speed forever. */
	stable = now - c->up_since >= STABLE_SECS;
	c->t = NULL;
	c->draining = 0;
	c->reconnects++;
	tunnel_free(t);
	if (kept_count(&c->kept) && !ev_is_active(&c->kept_timer)) {
		log_info("tunnel: %zu flows wait up to %.0f s for a new "
			 "connection",
			 kept_count(&c->kept), c->conf->tc.tp.resume_window);
		ev_timer_set(&c->kept_timer, c->conf->tc.tp.resume_window, 0.);
		ev_timer_start(c->loop, &c->kept_timer);
	}
	if (stable || c->suspect) {
		c->suspect = 0;
		redial_done(&c->rd, stable);
		rescue(c, ti.srtt);
		return;
	}
	if (!dialling(c))
		schedule_retry(c, REDIAL_REJECTED);
}

/* New flows wait for the next tunnel; open ones may finish on this. */
static void tunnel_goaway_cb(struct tunnel *t)
{
	struct client *c = tunnel_owner(t);

	if (t != c->t)
		return;
	log_info("tunnel: server is going away; %zu open flows may finish",
		 tunnel_stream_count(t));
	c->draining = 1;
}

/* Make before break: a second tunnel is dialled while the silent one
 * stays; whichever proves alive first carries the new flows. */
static void tunnel_stalled(struct tunnel *t, int suspect)
{
	struct client *c = tunnel_owner(t);
	struct tunnel_info ti;

	if (t != c->t)
		return;
	if (suspect) {
		c->suspect = 1;
		log_warn("tunnel: %s is silent: dialling a second connection",
			 c->server);
		tunnel_get_info(t, &ti);
		rescue(c, ti.srtt);
		return;
	}
	c->suspect = 0;
	log_info("tunnel: %s answers again: keeping it", c->server);
	dial_cancel(&c->dial);
	resolver_cancel(c->rq);
	c->rq = NULL;
	ev_timer_stop(c->loop, &c->retry);
	if (c->next) {
		struct tunnel *n = c->next;

		c->next = NULL;
		tunnel_free(n); /* down() is not called */
	}
	redial_done(&c->rd, 0);
	if (!c->draining)
		wake_waiters(c, t);
}

static void tunnel_open(struct tunnel *t, const struct frame *f)
{
	/* the server never opens streams: the tunnel rejects that first */
}

static const struct tunnel_ops client_tunnel_ops = {
	.up = tunnel_up,
	.open = tunnel_open,
	.down = tunnel_down,
	.goaway = tunnel_goaway_cb,
	.stalled = tunnel_stalled,
};

/* The TCP connect is done (or failed): TLS and the tunnel on top. */
static void dialled(struct dial *d, int fd, int err)
{
	struct client *c = container_of(d, struct client, dial);
	struct tls *tls;

	if (fd < 0) {
		/* Refused: the server's host answers and nothing listens.
		 * The kept flows lived in the server process: gone. */
		if (err == ECONNREFUSED && kept_count(&c->kept)) {
			log_warn(
				"tunnel: %s refuses connections (the server is "
				"not running): %zu kept flows end",
				c->server, kept_count(&c->kept));
			ev_timer_stop(c->loop, &c->kept_timer);
			kept_abort_all(&c->kept);
		}
		/* a rescue tries every half second: one line, not each */
		if (!redial_rescuing(&c->rd, ev_now(c->loop)))
			log_warn(
				"tunnel: connect %s: %s", c->server,
				err == ETIMEDOUT ?
					"timed out (no answer from the server)" :
					strerror(err));
		else
			log_debug("tunnel: connect %s: %s", c->server,
				  strerror(err));
		schedule_retry(c, err == ETIMEDOUT ? REDIAL_TIMEOUT :
						     REDIAL_ERROR);
		return;
	}
	tls = tls_new(c->tls, fd);
	if (!tls) {
		log_warn("tunnel: cannot start TLS");
		close(fd);
		schedule_retry(c, REDIAL_REJECTED);
		return;
	}
	log_debug("tunnel: TCP connected to %s", c->server);
	c->next = tunnel_new(c->loop, fd, tls, &client_tunnel_ops,
			     &c->conf->tc.tp, c);
}

static void start_tunnel(struct client *c, const struct sockaddr_storage *ss)
{
	ev_tstamp now = ev_now(c->loop);

	sockaddr_str((const struct sockaddr *)ss, c->server, sizeof(c->server));
	log_debug("tunnel: connecting to %s", c->server);
	dial_start(&c->dial, c->loop, ss, 1,
		   redial_connect_timeout(&c->rd, now,
					  c->conf->connect_timeout),
		   c->mark, dialled);
}

static void resolved(void *arg, int status,
		     const struct sockaddr_storage *addrs, int n)
{
	struct client *c = arg;

	c->rq = NULL;
	if (status) {
		log_warn("tunnel: resolve %s: %s", c->conf->server.u.domain,
			 resolve_strerror(status));
		schedule_retry(c, REDIAL_ERROR);
		return;
	}
	free(c->addrs);
	c->addrs = xcalloc(n, sizeof(*addrs));
	memcpy(c->addrs, addrs, (size_t)n * sizeof(*addrs));
	c->naddrs = n;
	c->next_addr = 0;
	connect_next(c);
}

/* Each attempt takes the next address; a new lookup after the last. */
static void connect_next(struct client *c)
{
	const struct addr *a = &c->conf->server;
	struct sockaddr_storage ss;
	struct resolve_req *rq;
	socklen_t len;

	if (a->type != ADDR_DOMAIN) {
		addr_to_sockaddr(a, &ss, &len);
		start_tunnel(c, &ss);
		return;
	}
	if (c->next_addr < c->naddrs) {
		start_tunnel(c, &c->addrs[c->next_addr++]);
		return;
	}
	rq = resolver_lookup(c->resolver, a->u.domain, a->port, resolved, c);
	if (rq)
		c->rq = rq;
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	connect_next(container_of(w, struct client, retry));
}

static struct tls_ctx *make_tls(const struct client_conf *conf, char *err,
				size_t n)
{
	struct tls_params tp = {
		.ca_pem = conf->tc.ca_pem,
		.cert_pem = conf->tc.cert_pem,
		.key_pem = conf->tc.key_pem,
		.verify_name = conf->server_name,
	};
	char host[ADDR_STR_MAX];

	if (!tp.verify_name) {
		/* by default the certificate must name the host we dial */
		addr_str(&conf->server, host, sizeof(host));
		*strrchr(host, ':') = 0;
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = 0;
		}
		tp.verify_name = host;
	}
	return tls_ctx_client(&tp, err, n);
}

int client_check_tls(const struct client_conf *conf, char *err, size_t n)
{
	struct tls_ctx *tls = make_tls(conf, err, n);
	int ok = tls != NULL;

	tls_ctx_free(tls);
	return ok ? 0 : -1;
}

struct client *client_new(struct ev_loop *loop, const struct client_conf *conf)
{
	struct client *c = xcalloc(1, sizeof(*c));
	char err[512];

	c->loop = loop;
	c->conf = conf;
	redial_init(&c->rd);
	srandom((unsigned)(ev_time() * 1e6) ^ (unsigned)getpid());
	c->tls = make_tls(conf, err, sizeof(err));
	if (!c->tls) {
		log_error("%s: %s", conf->tc.path, err);
		free(c);
		return NULL;
	}
	c->resolver = resolver_new(loop, NULL, err, sizeof(err));
	if (!c->resolver) {
		log_error("%s", err);
		tls_ctx_free(c->tls);
		free(c);
		return NULL;
	}
	/* With transparent proxying on, the rules must let the tunnel and
	 * its DNS lookups pass: they recognise them by this mark. */
	if (conf->redir.type || conf->tproxy.type) {
		c->mark = REDIR_BYPASS_MARK;
		resolver_set_mark(c->resolver, c->mark);
	}
	ev_init(&c->retry, retry_cb);
	ev_init(&c->kept_timer, kept_expired);
	connect_next(c);
	return c;
}

void client_status(struct client *c, struct buf *b, int json)
{
	struct tunnel_info ti;
	char since[32], tx[32], rx[32];
	ev_tstamp now = ev_now(c->loop);
	const char *state = c->t ? (c->suspect  ? "suspect" :
				    c->draining ? "draining" :
						  "up") :
			    c->next || c->rq || dial_active(&c->dial) ?
				   "connecting" :
				   "down";

	memset(&ti, 0, sizeof(ti));
	if (c->t)
		tunnel_get_info(c->t, &ti);
	if (json) {
		status_printf(b, "{\"tunnel\":{\"state\":\"%s\",\"server\":",
			      state);
		status_json_str(b, c->server);
		status_printf(b, ",\"connected_for\":%.1f,\"tls\":",
			      c->t ? now - ti.since : 0.0);
		status_json_str(b, ti.tls);
		status_printf(b,
			      ",\"rtt_ms\":%.3f,\"send_budget\":%u,"
			      "\"reconnects\":%u,"
			      "\"bytes_sent\":%llu,\"bytes_received\":%llu,"
			      "\"flows\":%zu,\"waiting_to_resume\":%zu,",
			      ti.srtt * 1000, ti.send_budget, c->reconnects,
			      (unsigned long long)ti.tx,
			      (unsigned long long)ti.rx,
			      c->t ? tunnel_stream_count(c->t) : 0,
			      kept_count(&c->kept));
		if (c->t && tunnel_dpath(c->t))
			dpath_status(tunnel_dpath(c->t), b, 1);
		else
			status_printf(b, "\"udp_path\":{\"state\":\"off\"}");
		status_printf(b, "},\"flows\":");
		status_flows(b, c->t, &c->kept, 1);
		status_printf(b, "}\n");
		return;
	}
	status_printf(b, "tunnel    %s, server %s\n", state, c->server);
	if (c->t)
		status_printf(b, "since     %s ago, %s\nrtt       %.2f ms\n",
			      status_age(now - ti.since, since, sizeof(since)),
			      ti.tls, ti.srtt * 1000);
	status_printf(b,
		      "reconnects %u\ntraffic   %s sent, %s received\n"
		      "flows     %zu\n",
		      c->reconnects, status_bytes(ti.tx, tx, sizeof(tx)),
		      status_bytes(ti.rx, rx, sizeof(rx)),
		      c->t ? tunnel_stream_count(c->t) : 0);
	if (c->t && tunnel_dpath(c->t))
		dpath_status(tunnel_dpath(c->t), b, 0);
	else
		status_printf(b, "udp path  off\n");
	if (kept_count(&c->kept))
		status_printf(b,
			      "resuming  %zu flows wait for a new "
			      "connection (resume-window %.0f s)\n",
			      kept_count(&c->kept),
			      c->conf->tc.tp.resume_window);
	status_printf(b, "\n");
	status_flows(b, c->t, &c->kept, 0);
}

void client_free(struct client *c)
{
	if (!c)
		return;
	ev_timer_stop(c->loop, &c->retry);
	ev_timer_stop(c->loop, &c->kept_timer);
	resolver_cancel(c->rq);
	dial_cancel(&c->dial);
	if (c->next) {
		struct tunnel *t = c->next;

		c->next = NULL;
		tunnel_free(t);
	}
	if (c->t) {
		struct tunnel *t = c->t;

		c->t = NULL;
		tunnel_keep_into(t, NULL); /* we stop: nothing to resume */
		tunnel_free(t);
	}
	kept_abort_all(&c->kept);
	resolver_free(c->resolver);
	tls_ctx_free(c->tls);
	free(c->addrs);
	free(c);
}
