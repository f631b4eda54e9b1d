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
#include "../common/status.h"
#include "../common/tls.h"
#include "../common/util.h"
#include "../redir/rules.h"

#define BACKOFF_MIN 0.5
#define BACKOFF_MAX 30.0
#define BACKOFF_STABLE 10.0

struct client {
	struct ev_loop *loop;
	const struct client_conf *conf;
	struct tls_ctx *tls;
	struct resolver *resolver;
	struct resolve_req *rq;
	struct sockaddr_storage *addrs;
	int naddrs, next_addr;
	struct tunnel *t;        /* connecting or up */
	int up;
	int draining;            /* the server sent GOAWAY */
	ev_tstamp up_since;
	ev_timer retry;
	double backoff;
	unsigned reconnects;
	struct client_waiter *waiters;
	char server[ADDR_STR_MAX];
	unsigned mark;           /* SO_MARK of our own sockets, or 0 */
};

static void connect_next(struct client *c);

struct tunnel *client_tunnel(struct client *c)
{
	return c->up && !c->draining ? c->t : NULL;
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

/* Backoff with +-25% jitter, so many clients of one server that lost
 * the same link do not all come back in the same instant. */
static void schedule_retry(struct client *c)
{
	double delay = c->backoff * (0.75 + 0.5 * (random() / (double)RAND_MAX));

	c->backoff = MIN(c->backoff * 2, BACKOFF_MAX);
	log_info("tunnel: reconnecting in %.1f s", delay);
	ev_timer_set(&c->retry, delay, 0.);
	ev_timer_start(c->loop, &c->retry);
}

static void tunnel_up(struct tunnel *t)
{
	struct client *c = tunnel_owner(t);

	c->up = 1;
	c->up_since = ev_now(c->loop);
	log_info("tunnel: connected to %s", c->server);
	while (c->waiters) {
		struct client_waiter *w = c->waiters;

		client_unwait(w);
		w->ready(w, t);
	}
}

static void tunnel_down(struct tunnel *t, const char *why)
{
	struct client *c = tunnel_owner(t);

	if (c->up)
		log_warn("tunnel: lost connection to %s: %s", c->server, why);
	else
		log_warn("tunnel: cannot connect to %s: %s", c->server, why);
	/* Only a tunnel that stayed up a while resets the backoff: one the
	 * server drops right after the handshake (a limit, a revocation)
	 * must not be retried at full speed forever. */
	if (c->up && ev_now(c->loop) - c->up_since >= BACKOFF_STABLE)
		c->backoff = BACKOFF_MIN;
	c->up = 0;
	c->draining = 0;
	c->t = NULL;
	c->reconnects++;
	tunnel_free(t);
	schedule_retry(c);
}

/* New flows wait for the next tunnel; open ones may finish on this. */
static void tunnel_goaway_cb(struct tunnel *t)
{
	struct client *c = tunnel_owner(t);

	log_info("tunnel: server is going away; %zu open flows may finish",
		 tunnel_stream_count(t));
	c->draining = 1;
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
};

static void start_tunnel(struct client *c, const struct sockaddr_storage *ss)
{
	socklen_t len = sockaddr_len(ss->ss_family);
	struct tls *tls;
	int fd;

	sockaddr_str((const struct sockaddr *)ss, c->server, sizeof(c->server));
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && c->mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &c->mark, sizeof(c->mark));
	if (fd < 0 || (connect(fd, (const struct sockaddr *)ss, len) &&
		       errno != EINPROGRESS)) {
		log_warn("tunnel: connect %s: %s", c->server, strerror(errno));
		if (fd >= 0)
			close(fd);
		schedule_retry(c);
		return;
	}
	tls = tls_new(c->tls, fd);
	if (!tls) {
		log_warn("tunnel: cannot start TLS");
		close(fd);
		schedule_retry(c);
		return;
	}
	log_debug("tunnel: connecting to %s", c->server);
	c->t = tunnel_new(c->loop, fd, tls, &client_tunnel_ops,
			  &c->conf->tc.tp, c);
}

static void resolved(void *arg, int status,
		     const struct sockaddr_storage *addrs, int n)
{
	struct client *c = arg;

	c->rq = NULL;
	if (status) {
		log_warn("tunnel: resolve %s: %s", c->conf->server.u.domain,
			 resolve_strerror(status));
		schedule_retry(c);
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
	c->backoff = BACKOFF_MIN;
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
	connect_next(c);
	return c;
}

void client_status(struct client *c, struct buf *b, int json)
{
	struct tunnel_info ti;
	char since[32], tx[32], rx[32];
	ev_tstamp now = ev_now(c->loop);
	const char *state = c->up ? (c->draining ? "draining" : "up") :
			    c->t ? "connecting" : "down";

	memset(&ti, 0, sizeof(ti));
	if (c->t)
		tunnel_get_info(c->t, &ti);
	if (json) {
		status_printf(b, "{\"tunnel\":{\"state\":\"%s\",\"server\":",
			      state);
		status_json_str(b, c->server);
		status_printf(b, ",\"connected_for\":%.1f,\"tls\":",
			      c->up ? now - ti.since : 0.0);
		status_json_str(b, ti.tls);
		status_printf(b, ",\"rtt_ms\":%.3f,\"reconnects\":%u,"
			      "\"bytes_sent\":%llu,\"bytes_received\":%llu,"
			      "\"flows\":%zu},\"flows\":", ti.srtt * 1000,
			      c->reconnects, (unsigned long long)ti.tx,
			      (unsigned long long)ti.rx,
			      c->t ? tunnel_stream_count(c->t) : 0);
		if (c->t)
			status_flows(b, c->t, 1);
		else
			status_printf(b, "[]");
		status_printf(b, "}\n");
		return;
	}
	status_printf(b, "tunnel    %s, server %s\n", state, c->server);
	if (c->up)
		status_printf(b, "since     %s ago, %s\nrtt       %.2f ms\n",
			      status_age(now - ti.since, since, sizeof(since)),
			      ti.tls, ti.srtt * 1000);
	status_printf(b, "reconnects %u\ntraffic   %s sent, %s received\n"
		      "flows     %zu\n\n", c->reconnects,
		      status_bytes(ti.tx, tx, sizeof(tx)),
		      status_bytes(ti.rx, rx, sizeof(rx)),
		      c->t ? tunnel_stream_count(c->t) : 0);
	if (c->t)
		status_flows(b, c->t, 0);
}

void client_free(struct client *c)
{
	if (!c)
		return;
	ev_timer_stop(c->loop, &c->retry);
	resolver_cancel(c->rq);
	if (c->t) {
		struct tunnel *t = c->t;

		c->t = NULL;
		tunnel_free(t);
	}
	resolver_free(c->resolver);
	tls_ctx_free(c->tls);
	free(c->addrs);
	free(c);
}
