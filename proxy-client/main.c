/* proxy-client: command line and wiring of the tunnel and SOCKS5. */
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../common/version.h"
#include "client.h"
#include "client_conf.h"
#include "socks5.h"

static const char usage_text[] =
	"usage: proxy-client -c FILE [--server HOST:PORT] [--socks ADDR:PORT]\n"
	"                    [-v LEVEL] [-t]\n"
	"\n"
	"Keeps one mutually authenticated TLS 1.3 tunnel to proxy-server and\n"
	"carries every TCP and UDP flow of its SOCKS5 service through it.\n"
	"\n"
	"  -c, --config FILE      client profile (from proxy-server add-client)\n"
	"  -s, --server HOST:PORT connect here instead of the profile's server\n"
	"  -S, --socks ADDR:PORT  SOCKS5 service address (default 127.0.0.1:1080)\n"
	"  -v, --log-level LEVEL  error, warn, info or debug\n"
	"  -t, --test-config      check the configuration and exit\n"
	"  -h, --help             this help\n"
	"      --version          print the version\n";

struct app {
	struct client *client;
	struct socks_server *socks;
	ev_signal sigterm, sigint;
};

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct app *a = w->data;

	log_info("%s: shutting down", w->signum == SIGTERM ? "SIGTERM" :
							      "SIGINT");
	socks_server_free(a->socks);
	a->socks = NULL;
	client_free(a->client);
	a->client = NULL;
	ev_signal_stop(loop, &a->sigterm);
	ev_signal_stop(loop, &a->sigint);
}

static int run(struct client_conf *conf, int test_only)
{
	struct ev_loop *loop;
	struct app a;

	if (test_only) {
		printf("configuration OK\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);
	memset(&a, 0, sizeof(a));
	a.client = client_new(loop, conf);
	if (!a.client)
		return 1;
	a.socks = socks_server_new(loop, conf, a.client);
	if (!a.socks) {
		client_free(a.client);
		return 1;
	}
	ev_signal_init(&a.sigterm, signal_cb, SIGTERM);
	ev_signal_init(&a.sigint, signal_cb, SIGINT);
	a.sigterm.data = a.sigint.data = &a;
	ev_signal_start(loop, &a.sigterm);
	ev_signal_start(loop, &a.sigint);
	log_info("proxy-client %s ready", PROXY_VERSION);
	ev_run(loop, 0);
	ev_loop_destroy(loop);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 's' },
		{ "socks", required_argument, NULL, 'S' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "test-config", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *server = NULL, *socks = NULL;
	int level = -1, test_only = 0, c, rc;
	struct client_conf conf;
	char err[CONF_ERR_MAX];

	while ((c = getopt_long(argc, argv, "c:s:S:v:th", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			server = optarg;
			break;
		case 'S':
			socks = optarg;
			break;
		case 'v':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "proxy-client: unknown log level "
					"'%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			test_only = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("proxy-client %s\n", PROXY_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc || !config) {
		if (optind < argc)
			fprintf(stderr, "proxy-client: unexpected '%s'\n",
				argv[optind]);
		else
			fprintf(stderr, "proxy-client: no profile given (-c FILE)\n");
		fputs(usage_text, stderr);
		return 2;
	}
	if (client_conf_load(&conf, config, err, sizeof(err))) {
		fprintf(stderr, "proxy-client: %s\n", err);
		client_conf_free(&conf);
		return 1;
	}
	if ((server && addr_parse(server, 443, &conf.server)) ||
	    (socks && (addr_parse(socks, 1080, &conf.socks) ||
		       conf.socks.type == ADDR_DOMAIN))) {
		fprintf(stderr, "proxy-client: bad address '%s'\n",
			server && addr_parse(server, 443, &conf.server) ? server :
									  socks);
		client_conf_free(&conf);
		return 1;
	}
	if (client_conf_check(&conf, err, sizeof(err))) {
		fprintf(stderr, "proxy-client: %s: %s\n", config, err);
		client_conf_free(&conf);
		return 1;
	}
	if (level >= 0)
		log_set_level(level);
	else if (conf.tc.log_level >= 0)
		log_set_level(conf.tc.log_level);
	rc = run(&conf, test_only);
	client_conf_free(&conf);
	return rc;
}
