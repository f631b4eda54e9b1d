/* The proxy-server process around its workers: see hub.h. */
#include "hub.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/ctl.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"
#include "account.h"
#include "conf_reload.h"
#include "dpath_srv.h"
#include "worker.h"

#define DRAIN_CHECK 0.2
/* Descriptors that are neither flows nor connections: stdio, the
 * resolvers' sockets, the control socket and its callers, the CRL
 * being read, the accounting store; and per worker its loop's own. */
#define FD_RESERVE_FIXED 64
#define FD_RESERVE_WORKER 8

int hub_tunnel_up(struct hub *h)
{
	if (__atomic_add_fetch(&h->nup, 1, __ATOMIC_RELAXED) <=
	    h->conf->max_tunnels)
		return 0;
	__atomic_sub_fetch(&h->nup, 1, __ATOMIC_RELAXED);
	return -1;
}

void hub_tunnel_down(struct hub *h)
{
	__atomic_sub_fetch(&h->nup, 1, __ATOMIC_RELAXED);
}

/* fn on every worker, the others paused meanwhile. */
static void each(struct hub *h, void (*fn)(struct server *s))
{
	workers_pause(h->threads);
	for (int i = 0; i < h->n; i++)
		fn(&h->w[i]);
	workers_resume(h->threads);
}

static void check_crl_now(struct server *s)
{
	server_check_crl(s, 1);
}

static void after_reload(struct server *s)
{
	server_reapply_rates(s);
	server_check_crl(s, 1);
}

/* SIGHUP, the one reload path: server.conf read afresh and what may
 * change at run time applied (conf_reload.c), the quotas and rates to
 * the accounts and to the tunnels that are up, then the revocation
 * list. Tunnels and flows stay; a file that does not load changes
 * nothing. The workers read the configuration at every step: it
 * changes while they are paused. */
static void reload(struct hub *h)
{
	struct server_conf fresh, *conf = h->conf;
	char err[CONF_ERR_MAX], fixed[256];

	log_info("SIGHUP: re-reading %s and the revocation list",
		 conf->tc.path);
	if (server_conf_load(&fresh, conf->tc.path, err, sizeof(err))) {
		log_error("%s (keeping the running configuration)", err);
		server_conf_free(&fresh);
		each(h, check_crl_now);
		return;
	}
	fresh.listen_from_cmdline = conf->listen_from_cmdline;
	fresh.clock_offset = conf->clock_offset;
	conf_reload_fixed(conf, &fresh, fixed, sizeof(fixed));
	if (fixed[0])
		log_warn("%s: changed, kept as running until a restart: %s",
			 conf->tc.path, fixed);
	workers_pause(h->threads);
	conf_reload_apply(conf, &fresh);
	accounts_reload(h->accts);
	workers_resume(h->threads);
	if (!h->accts && (conf->quotas.n || conf->quotas.dflt.period ||
			  conf->rates.n || conf->rates.dflt))
		log_warn("%s: quotas and rates need the accounting store, "
			 "which is off: not applied",
			 conf->tc.path);
	server_conf_free(&fresh); /* the old values, nothing points there */
	log_info("configuration reloaded: %d allow/deny rules, %d quotas%s, "
		 "%d rates%s",
		 conf->policy.n, conf->quotas.n,
		 conf->quotas.dflt.period ? " and a default" : "",
		 conf->rates.n, conf->rates.dflt ? " and a default" : "");
	each(h, after_reload);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct hub *h = w->data;
	int tunnels = 0;

	if (w->signum == SIGHUP) {
		reload(h);
		return;
	}
	if (h->stopping) {
		log_info("%s again: stopping now", strsignal(w->signum));
		hub_stop(h);
		return;
	}
	workers_pause(h->threads);
	for (int i = 0; i < h->n; i++)
		tunnels += h->w[i].nclients;
	workers_resume(h->threads);
	log_info("%s: shutting down (%d tunnels; flows get %.0f s to finish)",
		 w->signum == SIGTERM ? "SIGTERM" : "SIGINT", tunnels,
		 h->conf->shutdown_grace);
	hub_shutdown(h);
}

static void watch_signal(struct hub *h, ev_signal *w, int sig)
{
	ev_signal_init(w, signal_cb, sig);
	w->data = h;
	ev_signal_start(h->loop, w);
}

/* A quota used up (account.c): the flows of accounts past theirs end,
 * on every worker. */
static void end_flows(void *arg)
{
	each(arg, server_end_over_quota);
}

/* The handshakes of all workers, for status. */
static void preauth_sum(const struct hub *h, struct preauth *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < h->n; i++) {
		const struct preauth *p = &h->w[i].preauth;

		sum->n += p->n;
		sum->lim.full += p->lim.full;
		sum->refused_source += p->refused_source;
		sum->refused_early += p->refused_early;
		sum->evicted += p->evicted;
	}
}

static void status_tail(struct hub *h, struct buf *b, int json)
{
	struct preauth p;
	struct tunnel_pool pool = { 0 };
	struct sessions **all = xcalloc((size_t)h->n, sizeof(*all));

	preauth_sum(h, &p);
	if (json)
		status_printf(b,
			      "],\"workers\":%d,\"handshakes\":%u,"
			      "\"refused_per_source\":%llu,"
			      "\"refused_early\":%llu,\"evicted\":%llu",
			      h->n, p.n, (unsigned long long)p.refused_source,
			      (unsigned long long)p.refused_early,
			      (unsigned long long)p.evicted);
	dpath_srv_status(h->dps, b, json);
	accounts_status(h->accts, b, json);
	if (!json)
		status_printf(b,
			      "\n%u handshakes in progress (max-startups "
			      "%u); refused: %llu by per-source limit, %llu "
			      "early, %llu evicted\n",
			      p.n, p.lim.full,
			      (unsigned long long)p.refused_source,
			      (unsigned long long)p.refused_early,
			      (unsigned long long)p.evicted);
	for (int i = 0; i < h->n; i++) {
		pool.buffered += h->w[i].pool.buffered;
		pool.resets += h->w[i].pool.resets;
		all[i] = &h->w[i].sessions;
	}
	budget_status(&h->budget, &pool, b, json);
	sessions_status(all, h->n, b, json);
	free(all);
}

/* The control socket's status: every worker's tunnels, read while the
 * workers are paused, then what they share. */
static void status(void *arg, struct buf *b, int json)
{
	struct hub *h = arg;
	int first = 1, clients = 0;

	workers_pause(h->threads);
	for (int i = 0; i < h->n; i++)
		clients += h->w[i].nclients;
	if (json)
		status_printf(b, "{\"clients\":[");
	else
		status_printf(b,
			      "%d connected%s\n\n%-20s %-40s %9s %7s %10s "
			      "%10s%s\n",
			      clients, h->stopping ? ", shutting down" : "",
			      "USER", "PEER", "SINCE", "FLOWS", "SENT",
			      "RECEIVED", h->n > 1 ? " WORKER" : "");
	for (int i = 0; i < h->n; i++)
		server_status(&h->w[i], b, json, &first);
	status_tail(h, b, json);
	workers_resume(h->threads);
	if (json)
		status_printf(b, "}\n");
}

/* Ports are bound and keys read: root is no longer needed. */
static int drop_privileges(const struct server_conf *c)
{
	if (!c->user && !c->group)
		return 0;
	if (setgroups(0, NULL) || setgid(c->gid) ||
	    (c->user && setuid(c->uid))) {
		log_error(
			"cannot drop privileges to %s:%s: %s%s",
			c->user ? c->user : "-", c->group ? c->group : "-",
			strerror(errno),
			errno == EPERM ?
				" (a sandbox such as the systemd unit forbids it: "
				"leave user and group unset there)" :
				"");
		return -1;
	}
	log_info("running as %s:%s", c->user ? c->user : "(unchanged)",
		 c->group ? c->group : "(user's group)");
	return 0;
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hub *h = container_of(w, struct hub, drain);
	size_t flows = 0;

	workers_pause(h->threads);
	for (int i = 0; i < h->n; i++)
		flows += server_flows(&h->w[i]);
	workers_resume(h->threads);
	if (flows && ev_now(loop) < h->drain_until)
		return;
	if (flows)
		log_info("shutdown-grace over: closing %zu flows", flows);
	hub_stop(h);
}

void hub_shutdown(struct hub *h)
{
	h->stopping = 1;
	each(h, server_goaway);
	h->drain_until = ev_now(h->loop) + h->conf->shutdown_grace;
	ev_timer_set(&h->drain, 0., DRAIN_CHECK);
	ev_timer_start(h->loop, &h->drain);
}

/* Every tunnel closed, the last flush, the workers' loops ended and
 * their threads joined; the main loop ends once this returns. */
void hub_stop(struct hub *h)
{
	if (h->stopped)
		return;
	h->stopped = h->stopping = 1;
	ev_timer_stop(h->loop, &h->drain);
	ctl_close(h->ctl);
	h->ctl = NULL;
	workers_pause(h->threads);
	for (int i = 0; i < h->n; i++)
		server_close(&h->w[i]);
	accounts_close(h->accts); /* the last flush: every flow counted */
	h->accts = NULL;
	dpath_srv_close(h->dps);
	h->dps = NULL;
	workers_join(h->threads); /* resumes them: their loops end */
	h->threads = NULL;
	ev_signal_stop(h->loop, &h->sigterm);
	ev_signal_stop(h->loop, &h->sigint);
	ev_signal_stop(h->loop, &h->sighup);
}

void hub_free(struct hub *h)
{
	for (int i = 1; i < h->n; i++)
		if (h->w[i].loop)
			ev_loop_destroy(h->w[i].loop);
	free(h->w);
	h->w = NULL;
	budget_free(&h->budget);
}

/* Before dropping root: the socket may live in /run/proxy. -1 when
 * another daemon has it (the server does not start). */
static int open_ctl(struct hub *h)
{
	char *path = tunnel_conf_control(&h->conf->tc, "proxy-server");
	char err[1024];

	if (ctl_check_free(path, h->conf->tc.path, h->conf->tc.control != NULL,
			   "proxy-server", err, sizeof(err))) {
		log_error("%s", err);
		free(path);
		return -1;
	}
	if (path[0]) {
		h->ctl = ctl_open(h->loop, path, status, h, err, sizeof(err));
		if (!h->ctl)
			log_warn("no status socket: %s", err);
		else
			log_debug("status socket %s", path);
		if (h->ctl && h->conf->user && h->conf->uid &&
		    ctl_keep_removable(h->ctl, err, sizeof(err)))
			log_warn("status socket %s", err);
	}
	free(path);
	return 0;
}

/* Descriptors kept from flows: what listeners (each worker's TCP, the
 * datagram path's UDP), handshakes, tunnels and fallback visitors (two
 * each) may hold at most, and the fixed few. */
static unsigned fd_reserve(const struct server_conf *c, unsigned workers)
{
	return FD_RESERVE_FIXED + (workers + 1) * (unsigned)c->nlisten +
	       FD_RESERVE_WORKER * (workers - 1) + c->startups.full +
	       c->max_tunnels * (c->fallback.type ? 3 : 1);
}

static void wake_worker(void *arg, int worker)
{
	workers_wake(((struct hub *)arg)->threads, worker);
}

static int open_workers(struct hub *h)
{
	for (int i = 0; i < h->n; i++) {
		struct ev_loop *loop = i ? ev_loop_new(EVFLAG_AUTO) : h->loop;

		if (!loop) {
			log_error("workers: cannot make event loop %d", i);
			return -1;
		}
		if (server_open(&h->w[i], h, i, loop, h->n > 1))
			return -1;
	}
	return 0;
}

int hub_start(struct hub *h, struct ev_loop *loop, struct server_conf *conf)
{
	memset(h, 0, sizeof(*h));
	h->loop = loop;
	h->conf = conf;
	h->n = (int)server_conf_workers(conf);
	h->w = xcalloc((size_t)h->n, sizeof(*h->w));
	if (budget_start(&h->budget, &conf->budget,
			 fd_reserve(conf, (unsigned)h->n)))
		return -1;
	ev_init(&h->drain, drain_cb);
	if (open_workers(h))
		return -1;
	/* the same addresses and ports, UDP: offered only where bound */
	if (conf->tc.tp.udp_path) {
		h->dps = dpath_srv_open(loop, conf->listen, conf->nlisten, h->n,
					wake_worker, h);
		conf->tc.tp.udp_path = h->dps != NULL;
	}
	if (open_ctl(h))
		return -1;
	accounts_prepare(conf);
	if (drop_privileges(conf))
		return -1;
	for (int i = 0; i < h->n; i++)
		if (server_crl_readable(&h->w[i]))
			return -1;
	/* as the user we now are: what it creates stays its own */
	h->accts = accounts_open(loop, conf, end_flows, h);
	if (!h->accts && (conf->quotas.n || conf->quotas.dflt.period ||
			  conf->rates.n || conf->rates.dflt)) {
		log_error(
			"%s: quotas and rates need the accounting store in %s",
			conf->tc.path, conf->state_dir);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	watch_signal(h, &h->sigterm, SIGTERM);
	watch_signal(h, &h->sigint, SIGINT);
	watch_signal(h, &h->sighup, SIGHUP);
	if (h->n > 1) {
		h->threads = workers_spawn(h->w, h->n);
		if (!h->threads)
			return -1;
		log_info("%d workers, each accepting on its own socket", h->n);
	}
	return 0;
}
