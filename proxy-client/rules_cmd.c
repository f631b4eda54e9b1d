/* `proxy-client rules`: print, apply or remove the firewall rules that
 * feed the redirector, derived from a profile. A one-shot command, so
 * the blocking getaddrinfo() for the server's name is fine here. */
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../redir/rules.h"
#include "client_conf.h"
#include "route.h"
#include "rules_cmd.h"

static const char usage_text[] =
	"usage: proxy-client rules -c FILE [--nft | --iptables] [--gateway]\n"
	"                          [--ipv6] [--apply | --remove]\n"
	"                          [--redir ADDR:PORT] [--tproxy ADDR:PORT]\n"
	"\n"
	"Prints the firewall rules that send this host's TCP (REDIRECT) and UDP\n"
	"(TPROXY) into proxy-client, or puts them in place / takes them away.\n"
	"The server's address, private and local ranges and the profile's\n"
	"redir-exclude ranges are never redirected.\n"
	"\n"
	"  -c, --config FILE   the client profile\n"
	"      --nft           nftables (default)\n"
	"      --iptables      iptables and ip6tables\n"
	"      --gateway       also traffic of the LAN that uses this host as\n"
	"                      its gateway\n"
	"      --ipv6          IPv6 too\n"
	"      --apply         put the rules in place (root)\n"
	"      --remove        take them away again (root)\n"
	"      --redir A:P     the TCP listener (default: the profile's 'redir')\n"
	"      --tproxy A:P    the UDP listener (default: the profile's 'tproxy')\n";

static void add_exclude(struct cidr **list, int *n, const struct sockaddr *sa)
{
	struct addr a;
	char s[ADDR_STR_MAX + 8];

	addr_from_sockaddr(&a, sa);
	if (a.type == ADDR_IPV4)
		snprintf(s, sizeof(s), "%u.%u.%u.%u", a.u.v4[0], a.u.v4[1],
			 a.u.v4[2], a.u.v4[3]);
	else if (!getnameinfo(sa, sizeof(struct sockaddr_in6), s, sizeof(s),
			      NULL, 0, NI_NUMERICHOST))
		;
	else
		return;
	*list = xrealloc(*list, (size_t)(*n + 1) * sizeof(**list));
	if (!cidr_parse(s, &(*list)[*n]))
		(*n)++;
}

/* The server's own addresses: the tunnel must never loop into itself. */
/* The split routing rules' direct ranges, which the firewall rules
 * leave alone. */
static void direct_ranges(const struct client_conf *c, struct rules_params *p)
{
	static const int family[2] = { AF_INET, AF_INET6 };
	char s[2 * INET6_ADDRSTRLEN + 8];

	for (int f = 0; f < 2; f++) {
		struct route_range *r;
		size_t n = route_ranges(c->routes, ROUTE_DIRECT, family[f], &r);

		p->direct[f] = xcalloc(n ? n : 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			p->direct[f][i] = xstrdup(route_range_str(&r[i], s,
								  sizeof(s)));
		p->ndirect[f] = n;
		free(r);
	}
}

static int server_excludes(const struct client_conf *c, struct cidr **list,
			   int *n)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	if (c->server.type != ADDR_DOMAIN) {
		addr_to_sockaddr(&c->server, &ss, &len);
		add_exclude(list, n, (struct sockaddr *)&ss);
		return 0;
	}
	rc = getaddrinfo(c->server.u.domain, NULL, &hints, &res);
	if (rc) {
		fprintf(stderr, "proxy-client rules: resolve %s: %s\n",
			c->server.u.domain, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		add_exclude(list, n, ai->ai_addr);
	freeaddrinfo(res);
	return 0;
}

static int port_of(const char *opt, const struct addr *conf_addr,
		   uint16_t *port)
{
	struct addr a;

	if (opt) {
		if (addr_parse(opt, 0, &a) || a.type == ADDR_DOMAIN) {
			fprintf(stderr,
				"proxy-client rules: bad address '%s'\n", opt);
			return -1;
		}
		*port = a.port;
	} else {
		*port = conf_addr->type ? conf_addr->port : 0;
	}
	return 0;
}

int rules_main(int argc, char **argv)
{
	enum {
		O_NFT = 256,
		O_IPT,
		O_GW,
		O_V6,
		O_APPLY,
		O_REMOVE,
		O_REDIR,
		O_TPROXY
	};
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "nft", no_argument, NULL, O_NFT },
		{ "iptables", no_argument, NULL, O_IPT },
		{ "gateway", no_argument, NULL, O_GW },
		{ "ipv6", no_argument, NULL, O_V6 },
		{ "apply", no_argument, NULL, O_APPLY },
		{ "remove", no_argument, NULL, O_REMOVE },
		{ "redir", required_argument, NULL, O_REDIR },
		{ "tproxy", required_argument, NULL, O_TPROXY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rules_params p = { .nft = 1 };
	const char *config = NULL, *redir = NULL, *tproxy = NULL;
	int action = 0, c, rc = 1;
	struct client_conf conf;
	struct cidr *ex = NULL;
	int nex = 0;
	char err[CONF_ERR_MAX];

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case O_NFT:
			p.nft = 1;
			break;
		case O_IPT:
			p.nft = 0;
			break;
		case O_GW:
			p.gateway = 1;
			break;
		case O_V6:
			p.ipv6 = 1;
			break;
		case O_APPLY:
			action = 1;
			break;
		case O_REMOVE:
			action = 2;
			break;
		case O_REDIR:
			redir = optarg;
			break;
		case O_TPROXY:
			tproxy = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if ((!config && action != 2) || optind < argc) {
		fprintf(stderr, "proxy-client rules: %s\n",
			config ? "unexpected argument" :
				 "no profile given (-c FILE)");
		fputs(usage_text, stderr);
		return 2;
	}
	if (action == 2) {
		/* Removal needs nothing from the profile: it must work even
		 * when the profile is gone or the rules block our own DNS. */
		rules_remove(&p, err, sizeof(err));
		printf("rules removed\n");
		return 0;
	}
	if (client_conf_load(&conf, config, err, sizeof(err))) {
		fprintf(stderr, "proxy-client: %s\n", err);
		goto out;
	}
	if (port_of(redir, &conf.redir, &p.redir_port) ||
	    port_of(tproxy, &conf.tproxy, &p.tproxy_port))
		goto out;
	if (!p.redir_port && !p.tproxy_port) {
		fprintf(stderr,
			"proxy-client rules: no listener to send traffic "
			"to: set 'redir' and 'tproxy' in %s or give --redir "
			"and --tproxy\n",
			config);
		goto out;
	}
	if (!conf.server.type) {
		fprintf(stderr, "proxy-client rules: %s has no 'server'\n",
			config);
		goto out;
	}
	if (server_excludes(&conf, &ex, &nex))
		goto out;
	for (int i = 0; i < conf.nexclude; i++) {
		ex = xrealloc(ex, (size_t)(nex + 1) * sizeof(*ex));
		ex[nex++] = conf.exclude[i];
	}
	p.exclude = ex;
	p.nexclude = nex;
	direct_ranges(&conf, &p);
	if (!action) {
		char *text = rules_render(&p);

		fputs(text, stdout);
		free(text);
		rc = 0;
	} else {
		rc = rules_apply(&p, err, sizeof(err)) ? 1 : 0;
		if (rc)
			fprintf(stderr, "proxy-client rules: %s\n", err);
		else
			printf("rules in place; undo with: proxy-client rules "
			       "-c %s --remove\n",
			       config);
	}
out:
	free(ex);
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < p.ndirect[f]; i++)
			free(p.direct[f][i]);
		free(p.direct[f]);
	}
	client_conf_free(&conf);
	return rc;
}
