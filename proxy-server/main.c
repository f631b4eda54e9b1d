/* proxy-server: command line, subcommands, and the daemon's wiring. */
#include <ev.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cmdline.h"
#include "../common/ctl.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../common/version.h"
#include "pki.h"
#include "hub.h"
#include "server.h"
#include "server_conf.h"
#include "setup.h"
#include "quota.h"
#include "usage.h"

static const char usage_text[] =
	"usage: proxy-server -c FILE [--listen ADDR:PORT] [-v LEVEL] [-t]\n"
	"       proxy-server setup [--dir DIR] [--server-name NAME_OR_IP]...\n"
	"                          [--port N] [--client NAME] [--open-firewall]\n"
	"                          [--no-start]\n"
	"       proxy-server init DIR [--server-name NAME_OR_IP]... [--days N]\n"
	"                             [--ca-name NAME] [--port N]\n"
	"       proxy-server add-client DIR NAME [--server HOST:PORT] [--days N]\n"
	"                                        [--print]\n"
	"       proxy-server revoke DIR NAME\n"
	"       proxy-server status [-c FILE | --control PATH] [--json]\n"
	"       proxy-server usage [-c FILE | --state-dir DIR] [NAME]\n"
	"                          [--month YYYY-MM]\n"
	"\n"
	"Accepts mutually authenticated TLS 1.3 tunnels from proxy-client and\n"
	"carries their TCP and UDP flows.\n"
	"\n"
	"  -c, --config FILE       configuration file (see server.conf)\n"
	"  -l, --listen ADDR:PORT  listen here instead of the config's 'listen'\n"
	"  -v, --log-level LEVEL   error, warn, info or debug\n"
	"  -t, --test-config       check the configuration and exit\n"
	"  -h, --help              this help\n"
	"      --version           print the version\n"
	"\n"
	"  setup                   first-time setup of this machine: the PKI\n"
	"                          (if none), server.conf, a first client\n"
	"                          profile, the systemd service, the firewall;\n"
	"                          keeps whatever exists, so it can be rerun\n"
	"    --dir DIR             the PKI folder (default /etc/proxy)\n"
	"    --server-name NAME    as for init (default: the addresses of this\n"
	"                          machine's interfaces)\n"
	"    --port N              the port to listen on (default 443)\n"
	"    --client NAME         the first client's name (default client1)\n"
	"    --open-firewall       open the port with ufw, nft or iptables\n"
	"    --no-start            print the command that starts the service\n"
	"                          instead of running it\n"
	"  init DIR                make a CA, the server certificate and\n"
	"                          DIR/server.conf; refuses to overwrite a CA\n"
	"    --server-name NAME    a name or IP clients use to reach this server\n"
	"                          (repeat for more); goes into the certificate\n"
	"    --days N              validity of the CA and server certificate\n"
	"                          (default 3650)\n"
	"    --ca-name NAME        the CA's common name, seen by anyone who\n"
	"                          connects (default: CA and 8 random hex digits)\n"
	"    --port N              server.conf's listen port (default 443)\n"
	"  add-client DIR NAME     write DIR/clients/NAME.conf, a self-contained\n"
	"                          client profile\n"
	"    --server HOST:PORT    where the client connects (default: the first\n"
	"                          server name, server.conf's listen port)\n"
	"    --days N              validity of the client certificate (default 1825)\n"
	"    --print               write the profile to stdout, keep no copy\n"
	"  revoke DIR NAME         refuse NAME's certificate from now on\n"
	"  status                  connected clients, from the running server's\n"
	"                          control socket, and each client's traffic;\n"
	"                          --json for scripts\n"
	"  usage [NAME]            traffic per client per day of a month (this\n"
	"                          one by default) and per month, from the\n"
	"                          accounting store in state-dir\n";

static int usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	return status;
}

static int parse_days(const char *s, int *days)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 1 || v > 36500) {
		fprintf(stderr, "proxy-server: bad --days '%s' (1 to 36500)\n",
			s);
		return -1;
	}
	*days = (int)v;
	return 0;
}

static int parse_port(const char *s, int *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 1 || v > 65535) {
		fprintf(stderr, "proxy-server: bad --port '%s' (1 to 65535)\n",
			s);
		return -1;
	}
	*port = (int)v;
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server-name", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'd' },
		{ "ca-name", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char **names = xcalloc((size_t)argc, sizeof(*names));
	struct pki_init_opts o = { .names = names, .days = 3650, .port = 443 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			names[o.nnames++] = optarg;
		else if (c == 'a')
			o.ca_name = optarg;
		else if (c == 'p' ? parse_port(optarg, &o.port) :
				    c != 'd' || parse_days(optarg, &o.days))
			goto bad;
	}
	if (optind == argc) {
		fprintf(stderr, "proxy-server init: which folder?\n");
		goto bad;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "proxy-server init: unexpected '%s'\n",
			argv[optind + 1]);
		goto bad;
	}
	rc = pki_init(argv[optind], &o);
	free(names);
	return rc;
bad:
	free(names);
	return usage(2);
}

static int cmd_add_client(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{ "print", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct pki_client_opts o = { .days = 1825 };
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			o.server = optarg;
		else if (c == 'P')
			o.print = 1;
		else if (c != 'd' || parse_days(optarg, &o.days))
			return usage(2);
	}
	if (argc - optind < 2) {
		fprintf(stderr, "proxy-server add-client: need DIR and NAME\n");
		return usage(2);
	}
	if (argc - optind > 2) {
		fprintf(stderr, "proxy-server add-client: unexpected '%s'\n",
			argv[optind + 2]);
		return usage(2);
	}
	return pki_add_client(argv[optind], argv[optind + 1], &o);
}

static int cmd_setup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "client", required_argument, NULL, 'C' },
		{ "open-firewall", no_argument, NULL, 'f' },
		{ "no-start", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char **names = xcalloc((size_t)argc, sizeof(*names));
	struct setup_opts o = { .names = names };
	int c, rc = 2;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'D')
			o.dir = optarg;
		else if (c == 'n')
			names[o.nnames++] = optarg;
		else if (c == 'C')
			o.client = optarg;
		else if (c == 'f')
			o.open_firewall = 1;
		else if (c == 'N')
			o.no_start = 1;
		else if (c != 'p' || parse_port(optarg, &o.port))
			goto out;
	}
	if (optind < argc) {
		fprintf(stderr, "proxy-server setup: unexpected '%s'\n",
			argv[optind]);
		goto out;
	}
	rc = setup_run(&o);
out:
	free(names);
	return rc == 2 ? usage(2) : rc;
}

static int cmd_revoke(int argc, char **argv)
{
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		fprintf(stderr, "proxy-server revoke: need DIR and NAME\n");
		return usage(2);
	}
	return pki_revoke(argv[1], argv[2]);
}

static int cmd_status(int argc, char **argv)
{
	return ctl_status_main("proxy-server", server_conf_control_path, argc,
			       argv);
}

static int cmd_usage(int argc, char **argv)
{
	return usage_main(argc, argv);
}

static const struct subcommand subcommands[] = {
	{ "setup", cmd_setup },           { "init", cmd_init },
	{ "add-client", cmd_add_client }, { "revoke", cmd_revoke },
	{ "status", cmd_status },         { "usage", cmd_usage },
};

/* --test-clock TIME (hidden, for the tests: proxy-server(8) TESTING):
 * the accounting's wall clock starts at TIME and runs on from there. */
static int set_test_clock(struct server_conf *conf, const char *when)
{
	time_t t;

	if (quota_parse_time(when, &t)) {
		fprintf(stderr,
			"proxy-server: --test-clock: bad time '%s' "
			"(want YYYY-MM-DDTHH:MM:SS, UTC)\n",
			when);
		return -1;
	}
	conf->clock_offset = (double)t - ev_time();
	return 0;
}

static int run_daemon(const struct cmdline *cl, const char *listen,
		      const char *test_clock)
{
	const char *path = cl->config;
	struct server_conf conf;
	struct hub hub;
	struct ev_loop *loop;
	char err[CONF_ERR_MAX];

	if (server_conf_load(&conf, path, err, sizeof(err))) {
		fprintf(stderr, "proxy-server: %s\n", err);
		server_conf_free(&conf);
		return 1;
	}
	if (listen) {
		struct addr a;

		if (addr_parse(listen, 443, &a) || a.type == ADDR_DOMAIN) {
			fprintf(stderr,
				"proxy-server: --listen: bad address "
				"'%s'\n",
				listen);
			server_conf_free(&conf);
			return 1;
		}
		conf.listen[0] = a;
		conf.nlisten = 1;
		conf.listen_from_cmdline = 1;
	}
	if (test_clock && set_test_clock(&conf, test_clock)) {
		server_conf_free(&conf);
		return 1;
	}
	cmdline_log_level(cl, conf.tc.log_level);
	if (cl->test_only) {
		int bad = server_check_tls(&conf, err, sizeof(err));

		if (bad)
			fprintf(stderr, "proxy-server: %s: %s\n", path, err);
		else
			printf("%s: configuration OK\n", path);
		server_conf_free(&conf);
		return bad ? 1 : 0;
	}
	malloc_keep_buffers();
	loop = ev_default_loop(EVFLAG_AUTO);
	if (hub_start(&hub, loop, &conf)) {
		hub_stop(&hub);
		hub_free(&hub);
		server_conf_free(&conf);
		return 1;
	}
	log_info("proxy-server %s ready", PROXY_VERSION);
	ev_run(loop, 0);
	hub_free(&hub);
	server_conf_free(&conf);
	ev_loop_destroy(loop);
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen = NULL, *test_clock = NULL;
	const struct cmdline_opt own[] = {
		{ "listen", 'l', &listen },
		{ "test-clock", 256, &test_clock }, /* no short form */
		{ NULL, 0, NULL },
	};
	struct cmdline cl = { .prog = "proxy-server",
			      .usage = usage_text,
			      .what = "configuration",
			      .own = own };
	int rc;

	if (argc > 1 && argv[1][0] != '-') {
		rc = subcommand_run("proxy-server", subcommands,
				    ARRAY_SIZE(subcommands), argc, argv);
		if (rc >= 0)
			return rc;
		fprintf(stderr, "proxy-server: unknown command '%s'\n",
			argv[1]);
		return usage(2);
	}
	rc = cmdline_parse(&cl, argc, argv);
	return rc >= 0 ? rc : run_daemon(&cl, listen, test_clock);
}
