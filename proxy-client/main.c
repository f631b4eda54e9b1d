/* proxy-client: command line and wiring of the tunnel and SOCKS5. */
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cmdline.h"
#include "../common/ctl.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"
#include "../common/version.h"
#include "client.h"
#include "client_conf.h"
#include "dns_forward.h"
#include "dns_tcp.h"
#include "redirect.h"
#include "router.h"
#include "rules_cmd.h"
#include "socks5.h"
#include "tproxy.h"

static const char usage_text[] =
	"usage: proxy-client -c FILE [--server HOST:PORT] [--socks ADDR:PORT]\n"
	"                    [--redir ADDR:PORT] [--tproxy ADDR:PORT] [-v LEVEL] [-t]\n"
	"       proxy-client rules -c FILE [--nft | --iptables] [--gateway] [--ipv6]\n"
	"                    [--apply | --remove] [--redir ADDR:PORT] [--tproxy ADDR:PORT]\n"
	"       proxy-client status [-c FILE | --control PATH] [--json]\n"
	"\n"
	"Keeps one mutually authenticated TLS 1.3 tunnel to proxy-server and\n"
	"carries every TCP and UDP flow of its SOCKS5 service through it.\n"
	"\n"
	"  -c, --config FILE      client profile (from proxy-server add-client)\n"
	"  -s, --server HOST:PORT connect here instead of the profile's server\n"
	"  -S, --socks ADDR:PORT  SOCKS5 service address (default 127.0.0.1:1080)\n"
	"  -r, --redir ADDR:PORT  accept TCP redirected by iptables/nft REDIRECT\n"
	"  -u, --tproxy ADDR:PORT accept UDP sent here by TPROXY (Linux, root)\n"
	"  -v, --log-level LEVEL  error, warn, info or debug\n"
	"  -t, --test-config      check the configuration and exit\n"
	"  -h, --help             this help\n"
	"      --version          print the version\n"
	"\n"
	"  rules                  print or apply the firewall rules for --redir\n"
	"                         and --tproxy (see proxy-client rules --help)\n"
	"  status                 the tunnel and its live flows, from the running\n"
	"                         client's control socket; --json for scripts\n";

struct app {
	struct client *client;
	struct router *router;
	struct socks_server *socks;
	struct redirect *redir;
	struct tproxy *tproxy;
	struct dns_forward *dns_udp;
	struct dns_tcp *dns_tcp;
	struct ctl *ctl;
	ev_signal sigterm, sigint, sighup;
	const char *path;
};

/* The front-ends first, the tunnel they feed last. Nothing runs after
 * this that could look at the pointers. */
static void app_free(struct app *a)
{
	socks_server_free(a->socks);
	redirect_free(a->redir);
	tproxy_free(a->tproxy);
	dns_forward_free(a->dns_udp);
	dns_tcp_free(a->dns_tcp);
	ctl_close(a->ctl);
	router_free(a->router); /* after every flow that holds its rules */
	client_free(a->client);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct app *a = w->data;

	log_info("%s: shutting down",
		 w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
	app_free(a);
	ev_signal_stop(loop, &a->sigterm);
	ev_signal_stop(loop, &a->sigint);
	ev_signal_stop(loop, &a->sighup);
}

/* SIGHUP: the routing rules again; the tunnel and every flow stay. */
static void sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct app *a = w->data;

	router_reload(a->router, a->path);
}

static void status_cb(void *arg, struct buf *out, int json)
{
	struct app *a = arg;

	size_t len;

	client_status(a->client, out, json);
	if (!json) {
		router_status(a->router, out, 0);
		socks_server_status(a->socks, out, 0);
		return;
	}
	/* the routing counters go into client_status()'s object, as its
	 * last member: its closing brace and newline make way */
	len = buf_len(out);
	if (len < 2 || memcmp(buf_peek(out) + len - 2, "}\n", 2))
		return;
	out->tail -= 2;
	status_printf(out, ",\"routing\":");
	router_status(a->router, out, 1);
	status_printf(out, ",\"udp_drops\":");
	socks_server_status(a->socks, out, 1);
	status_printf(out, "}\n");
}

/* -1 when another daemon has the socket (the client does not start). */
static int open_ctl(struct app *a, struct ev_loop *loop,
		    const struct client_conf *conf)
{
	char *path = tunnel_conf_control(&conf->tc, "proxy-client");
	char err[1024];

	if (ctl_check_free(path, conf->tc.path, conf->tc.control != NULL,
			   "proxy-client", err, sizeof(err))) {
		log_error("%s", err);
		free(path);
		return -1;
	}
	if (path[0]) {
		a->ctl = ctl_open(loop, path, status_cb, a, err, sizeof(err));
		if (!a->ctl)
			log_warn("no status socket: %s", err);
		else
			log_debug("status socket %s", path);
	}
	free(path);
	return 0;
}

static int run(struct client_conf *conf, int test_only)
{
	struct ev_loop *loop;
	struct app a;
	char err[512];

	if (test_only) {
		if (client_check_tls(conf, err, sizeof(err))) {
			fprintf(stderr, "proxy-client: %s: %s\n", conf->tc.path,
				err);
			return 1;
		}
		printf("configuration OK\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	malloc_keep_buffers();
	loop = ev_default_loop(EVFLAG_AUTO);
	memset(&a, 0, sizeof(a));
	a.client = client_new(loop, conf);
	if (!a.client)
		return 1;
	a.path = conf->tc.path;
	a.router = router_new(loop, conf, err, sizeof(err));
	if (!a.router) {
		log_error("%s", err);
		app_free(&a);
		return 1;
	}
	a.socks = socks_server_new(loop, conf, a.client, a.router);
	if (conf->redir.type)
		a.redir = redirect_new(loop, &conf->redir, conf, a.client,
				       a.router, NULL);
	if (conf->tproxy.type)
		a.tproxy = tproxy_new(loop, &conf->tproxy, conf, a.client,
				      a.router);
	if (conf->dns_listen.type) {
		a.dns_udp = dns_forward_new(loop, &conf->dns_listen,
					    &conf->dns_server, a.client,
					    a.router, conf->connect_timeout);
		a.dns_tcp = dns_tcp_new(loop, conf, a.client, a.router);
	}
	if (!a.socks || (conf->redir.type && !a.redir) ||
	    (conf->tproxy.type && !a.tproxy) ||
	    (conf->dns_listen.type && (!a.dns_udp || !a.dns_tcp))) {
		app_free(&a);
		return 1;
	}
	ev_signal_init(&a.sigterm, signal_cb, SIGTERM);
	ev_signal_init(&a.sigint, signal_cb, SIGINT);
	ev_signal_init(&a.sighup, sighup_cb, SIGHUP);
	a.sigterm.data = a.sigint.data = a.sighup.data = &a;
	ev_signal_start(loop, &a.sigterm);
	ev_signal_start(loop, &a.sigint);
	ev_signal_start(loop, &a.sighup);
	if (open_ctl(&a, loop, conf)) {
		app_free(&a);
		return 1;
	}
	log_info("proxy-client %s ready", PROXY_VERSION);
	ev_run(loop, 0);
	ev_loop_destroy(loop);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	return ctl_status_main("proxy-client", client_conf_control_path, argc,
			       argv);
}

static const struct subcommand subcommands[] = {
	{ "rules", rules_main },
	{ "status", cmd_status },
};

/* A command-line address replaces the profile's. */
static int override(const char *opt, uint16_t port, int name_ok, struct addr *a)
{
	if (!opt)
		return 0;
	if (addr_parse(opt, port, a) || (!name_ok && a->type == ADDR_DOMAIN)) {
		fprintf(stderr, "proxy-client: bad address '%s'%s\n", opt,
			name_ok ? "" : " (want IP:PORT)");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *socks = NULL, *redir = NULL, *tproxy = NULL;
	const struct cmdline_opt own[] = {
		{ "server", 's', &server }, { "socks", 'S', &socks },
		{ "redir", 'r', &redir },   { "tproxy", 'u', &tproxy },
		{ NULL, 0, NULL },
	};
	struct cmdline cl = { .prog = "proxy-client",
			      .usage = usage_text,
			      .what = "profile",
			      .own = own };
	struct client_conf conf;
	char err[CONF_ERR_MAX];
	int rc;

	rc = subcommand_run("proxy-client", subcommands,
			    ARRAY_SIZE(subcommands), argc, argv);
	if (rc < 0)
		rc = cmdline_parse(&cl, argc, argv);
	if (rc >= 0)
		return rc;
	if (client_conf_load(&conf, cl.config, err, sizeof(err))) {
		fprintf(stderr, "proxy-client: %s\n", err);
		client_conf_free(&conf);
		return 1;
	}
	if (override(server, 443, 1, &conf.server) ||
	    override(socks, 1080, 0, &conf.socks) ||
	    override(redir, 0, 0, &conf.redir) ||
	    override(tproxy, 0, 0, &conf.tproxy)) {
		client_conf_free(&conf);
		return 1;
	}
	if (client_conf_check(&conf, err, sizeof(err))) {
		fprintf(stderr, "proxy-client: %s: %s\n", cl.config, err);
		client_conf_free(&conf);
		return 1;
	}
	cmdline_log_level(&cl, conf.tc.log_level);
	rc = run(&conf, cl.test_only);
	client_conf_free(&conf);
	return rc;
}
