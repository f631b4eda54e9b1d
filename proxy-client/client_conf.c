#include "client_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../common/util.h"
#include "dns_memo.h"
#include "route.h"

static int set_server(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct client_conf *c = cfg;

	if (addr_parse(l->argv[1], 443, &c->server)) {
		snprintf(err, n, "bad address '%s' (want HOST:PORT)",
			 l->argv[1]);
		return -1;
	}
	return 0;
}

static int set_server_name(void *cfg, const struct conf_line *l, char *err,
			   size_t n)
{
	struct client_conf *c = cfg;

	free(c->server_name);
	c->server_name = xstrdup(l->argv[1]);
	return 0;
}

static int listen_addr(const char *s, uint16_t port, struct addr *a, char *err,
		       size_t n)
{
	if (addr_parse(s, port, a) || a->type == ADDR_DOMAIN) {
		snprintf(err, n, "bad address '%s' (want IP:PORT)", s);
		return -1;
	}
	return 0;
}

static int set_socks(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return listen_addr(l->argv[1], 1080,
			   &((struct client_conf *)cfg)->socks, err, n);
}

static int set_user(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct client_conf *c = cfg;
	struct socks_user *u;

	if (strlen(l->argv[1]) > 255 || strlen(l->argv[2]) > 255 ||
	    !l->argv[1][0]) {
		snprintf(err, n, "user name and password are 1 to 255 bytes");
		return -1;
	}
	c->users = xrealloc(c->users, (size_t)(c->nusers + 1) * sizeof(*u));
	u = &c->users[c->nusers++];
	u->name = xstrdup(l->argv[1]);
	u->pass = xstrdup(l->argv[2]);
	return 0;
}

static int add_cidrs(const struct conf_line *l, struct cidr **list, int *count,
		     char *err, size_t n)
{
	for (int i = 1; i < l->argc; i++) {
		*list = xrealloc(*list, (size_t)(*count + 1) * sizeof(**list));
		if (cidr_parse(l->argv[i], &(*list)[*count])) {
			snprintf(err, n,
				 "bad network '%s' (want e.g. "
				 "192.168.1.0/24)",
				 l->argv[i]);
			return -1;
		}
		(*count)++;
	}
	return 0;
}

static int set_allow(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct client_conf *c = cfg;

	return add_cidrs(l, &c->allow, &c->nallow, err, n);
}

static int set_exclude(void *cfg, const struct conf_line *l, char *err,
		       size_t n)
{
	struct client_conf *c = cfg;

	return add_cidrs(l, &c->exclude, &c->nexclude, err, n);
}

static int set_redir(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return listen_addr(l->argv[1], 0, &((struct client_conf *)cfg)->redir,
			   err, n);
}

static int set_dns_listen(void *cfg, const struct conf_line *l, char *err,
			  size_t n)
{
	return listen_addr(l->argv[1], 53,
			   &((struct client_conf *)cfg)->dns_listen, err, n);
}

static int set_dns_server(void *cfg, const struct conf_line *l, char *err,
			  size_t n)
{
	return listen_addr(l->argv[1], 53,
			   &((struct client_conf *)cfg)->dns_server, err, n);
}

static int set_tproxy(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return listen_addr(l->argv[1], 0, &((struct client_conf *)cfg)->tproxy,
			   err, n);
}

static int set_max_udp_assocs(void *cfg, const struct conf_line *l, char *err,
			      size_t n)
{
	return conf_count(l->argv[1], 10000000,
			  &((struct client_conf *)cfg)->max_udp_assocs, err, n);
}

static int set_max_udp_peers(void *cfg, const struct conf_line *l, char *err,
			     size_t n)
{
	return conf_count(l->argv[1], 10000000,
			  &((struct client_conf *)cfg)->max_udp_peers, err, n);
}

static int set_connect_timeout(void *cfg, const struct conf_line *l, char *err,
			       size_t n)
{
	struct client_conf *c = cfg;

	if (conf_seconds(l->argv[1], CONF_HOUR_MS, &c->connect_timeout, err, n))
		return -1;
	c->tc.tp.handshake_timeout = c->connect_timeout;
	return 0;
}

/* auto: max(2 s, 4 x the round trip); off: only keepalive notices. */
static int set_stall_timeout(void *cfg, const struct conf_line *l, char *err,
			     size_t n)
{
	double *t = &((struct client_conf *)cfg)->tc.tp.stall_timeout;

	if (!strcmp(l->argv[1], "auto")) {
		*t = TUNNEL_STALL_AUTO;
		return 0;
	}
	if (!strcmp(l->argv[1], "off")) {
		*t = 0;
		return 0;
	}
	if (conf_seconds(l->argv[1], CONF_HOUR_MS, t, err, n)) {
		snprintf(err, n,
			 "bad value '%s' (auto, off or a duration "
			 "such as 3s)",
			 l->argv[1]);
		return -1;
	}
	return 0;
}

static int set_udp_timeout(void *cfg, const struct conf_line *l, char *err,
			   size_t n)
{
	return conf_seconds(l->argv[1], CONF_HOUR_MS,
			    &((struct client_conf *)cfg)->udp_timeout, err, n);
}

static int set_fast_open(void *cfg, const struct conf_line *l, char *err,
			 size_t n)
{
	const char *v = l->argv[1];
	int *on = &((struct client_conf *)cfg)->fast_open;

	if (!strcmp(v, "yes") || !strcmp(v, "on"))
		*on = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "off"))
		*on = 0;
	else {
		snprintf(err, n, "bad value '%s' (yes or no)", v);
		return -1;
	}
	return 0;
}

/* dns-memo ENTRIES [MIN-TTL]: how many addresses of the DNS forwarder's
 * answers are remembered with their name's rule (0: none), and for at
 * least how long past a shorter TTL. */
static int set_dns_memo(void *cfg, const struct conf_line *l, char *err,
			size_t n)
{
	struct client_conf *c = cfg;
	unsigned long v;

	if (conf_parse_uint(l->argv[1], 0, DNS_MEMO_MAX, &v)) {
		snprintf(err, n, "bad count '%s' (0 to %u entries)", l->argv[1],
			 DNS_MEMO_MAX);
		return -1;
	}
	c->dns_memo_max = (unsigned)v;
	if (l->argc > 2)
		return conf_seconds(l->argv[2], CONF_HOUR_MS,
				    &c->dns_memo_ttl_min, err, n);
	return 0;
}

/* Split routing: route, route-file, route-default (route.c); a relative
 * rule file is found next to the profile. */
static int set_route(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct client_conf *c = cfg;

	return route_directive(c->routes, l, c->tc.dir, err, n);
}

static const struct conf_directive client_directives[] = {
	TUNNEL_DIRECTIVES,
	{ "server", 1, 1, 0, set_server },
	{ "server-name", 1, 1, 0, set_server_name },
	{ "socks", 1, 1, 0, set_socks },
	{ "socks-user", 2, 2, 0, set_user },
	{ "socks-allow", 1, CONF_MAX_ARGS - 1, 0, set_allow },
	{ "connect-timeout", 1, 1, 0, set_connect_timeout },
	{ "stall-timeout", 1, 1, 0, set_stall_timeout },
	{ "socks-fast-open", 1, 1, 0, set_fast_open },
	{ "redir", 1, 1, 0, set_redir },
	{ "tproxy", 1, 1, 0, set_tproxy },
	{ "max-udp-assocs", 1, 1, 0, set_max_udp_assocs },
	{ "max-udp-peers", 1, 1, 0, set_max_udp_peers },
	{ "udp-timeout", 1, 1, 0, set_udp_timeout },
	{ "redir-exclude", 1, CONF_MAX_ARGS - 1, 0, set_exclude },
	{ "dns-listen", 1, 1, 0, set_dns_listen },
	{ "dns-server", 1, 1, 0, set_dns_server },
	{ "dns-memo", 1, 2, 0, set_dns_memo },
	ROUTE_DIRECTIVES(set_route),
	{ NULL, 0, 0, 0, NULL },
};

int client_conf_load(struct client_conf *c, const char *path, char *err,
		     size_t n)
{
	char why[CONF_ERR_MAX];

	memset(c, 0, sizeof(*c));
	tunnel_conf_init(&c->tc, path, 0);
	c->connect_timeout = 10;
	c->tc.tp.stall_timeout = TUNNEL_STALL_AUTO;
	/* a UDP scan through a gateway must not use up our descriptors */
	c->max_udp_assocs = 4096;
	c->max_udp_peers = 1024;
	c->udp_timeout = 60;
	addr_parse("127.0.0.1:1080", 0, &c->socks);
	addr_parse("0.0.0.0:53", 0, &c->dns_server);
	c->dns_memo_max = 16384;
	c->dns_memo_ttl_min = 60;
	c->routes = route_table_new();
	if (conf_load(path, client_directives, c, err, n))
		return -1;
	route_table_finish(c->routes);
	if (tunnel_conf_check(&c->tc, why, sizeof(why))) {
		snprintf(err, n, "%s: %s", path, why);
		return -1;
	}
	return 0;
}

char *client_conf_control_path(const char *path, char *err, size_t n)
{
	return conf_control_path(path, client_directives, "proxy-client", err,
				 n);
}

int client_conf_check(const struct client_conf *c, char *err, size_t n)
{
	if (!c->server.type) {
		snprintf(err, n, "no 'server HOST:PORT' given");
		return -1;
	}
	/* Sharing with the LAN must be a decision, not an accident. */
	if (!addr_is_loopback_host(&c->socks) && !c->nusers && !c->nallow) {
		char s[ADDR_STR_MAX];

		snprintf(err, n,
			 "SOCKS on %s is reachable from other machines: "
			 "add 'socks-user NAME PASSWORD' or 'socks-allow CIDR' "
			 "to the config, or listen on 127.0.0.1",
			 addr_str(&c->socks, s, sizeof(s)));
		return -1;
	}
	return 0;
}

void client_conf_free(struct client_conf *c)
{
	tunnel_conf_free(&c->tc);
	free(c->server_name);
	for (int i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		OPENSSL_cleanse(c->users[i].pass, strlen(c->users[i].pass));
		free(c->users[i].pass);
	}
	free(c->users);
	free(c->allow);
	free(c->exclude);
	route_table_unref(c->routes);
	memset(c, 0, sizeof(*c));
}
