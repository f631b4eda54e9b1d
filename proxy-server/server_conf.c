#include "server_conf.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/tls.h"
#include "../common/util.h"

static int set_listen(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct server_conf *c = cfg;
	struct addr a;

	if (addr_parse(l->argv[1], 443, &a) || a.type == ADDR_DOMAIN) {
		snprintf(err, n,
			 "bad address '%s' (want IP:PORT, [IPv6]:PORT "
			 "or *:PORT)",
			 l->argv[1]);
		return -1;
	}
	c->listen = xrealloc(c->listen, (size_t)(c->nlisten + 1) * sizeof(a));
	c->listen[c->nlisten++] = a;
	return 0;
}

/* Read once here so a bad file is named with its line; the server reads
 * it again whenever it changes (proxy-server revoke writes it). */
static int set_crl(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct server_conf *c = cfg;

	free(c->crl_path);
	c->crl_path = conf_path(&c->tc, l->argv[1]);
	c->crl_line = l->line;
	return tls_crl_check(c->crl_path, err, n);
}

/* c-ares takes "ip", "ip:port" and "[v6]:port", comma-separated. */
static int set_dns(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct server_conf *c = cfg;

	for (int i = 1; i < l->argc; i++) {
		struct addr a;
		char s[ADDR_STR_MAX];
		size_t old = c->dns ? strlen(c->dns) : 0;

		if (addr_parse(l->argv[i], 53, &a) || a.type == ADDR_DOMAIN) {
			snprintf(err, n,
				 "bad resolver '%s' (want an IP address, "
				 "optionally with :PORT)",
				 l->argv[i]);
			return -1;
		}
		addr_str(&a, s, sizeof(s));
		c->dns = xrealloc(c->dns, old + strlen(s) + 2);
		if (old)
			c->dns[old++] = ',';
		strcpy(c->dns + old, s);
	}
	return 0;
}

static int set_rule(struct server_conf *c, const struct conf_line *l,
		    bool allow, char *err, size_t n)
{
	for (int i = 1; i < l->argc; i++) {
		struct cidr net;

		if (cidr_parse(l->argv[i], &net)) {
			snprintf(err, n,
				 "bad network '%s' (want e.g. "
				 "10.0.0.0/8 or fd00::/8)",
				 l->argv[i]);
			return -1;
		}
		policy_add(&c->policy, &net, allow);
	}
	return 0;
}

static int set_allow(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return set_rule(cfg, l, true, err, n);
}

static int set_deny(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return set_rule(cfg, l, false, err, n);
}

/* Timeouts of the server: up to an hour. */
static int seconds(const char *s, double *out, char *err, size_t n)
{
	return conf_seconds(s, CONF_HOUR_MS, out, err, n);
}

static int set_hs_timeout(void *cfg, const struct conf_line *l, char *err,
			  size_t n)
{
	struct server_conf *c = cfg;

	return seconds(l->argv[1], &c->tc.tp.handshake_timeout, err, n);
}

static int set_connect_timeout(void *cfg, const struct conf_line *l, char *err,
			       size_t n)
{
	struct server_conf *c = cfg;

	return seconds(l->argv[1], &c->connect_timeout, err, n);
}

static int set_udp_timeout(void *cfg, const struct conf_line *l, char *err,
			   size_t n)
{
	return seconds(l->argv[1], &((struct server_conf *)cfg)->udp_timeout,
		       err, n);
}

static int set_grace(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return seconds(l->argv[1], &((struct server_conf *)cfg)->shutdown_grace,
		       err, n);
}

static int set_workers(void *cfg, const struct conf_line *l, char *err,
		       size_t n)
{
	struct server_conf *c = cfg;

	if (!strcmp(l->argv[1], "auto")) {
		c->workers = 0;
		return 0;
	}
	return conf_count(l->argv[1], SERVER_WORKERS_MAX, &c->workers, err, n);
}

unsigned server_conf_workers(const struct server_conf *c)
{
	long cpus;

	if (c->workers)
		return c->workers;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : MIN((unsigned)cpus, SERVER_WORKERS_MAX);
}

static int set_max_tunnels(void *cfg, const struct conf_line *l, char *err,
			   size_t n)
{
	return conf_count(l->argv[1], 1000000,
			  &((struct server_conf *)cfg)->max_tunnels, err, n);
}

static int set_max_per_user(void *cfg, const struct conf_line *l, char *err,
			    size_t n)
{
	return conf_count(l->argv[1], 1000000,
			  &((struct server_conf *)cfg)->max_tunnels_per_user,
			  err, n);
}

static int set_max_flows(void *cfg, const struct conf_line *l, char *err,
			 size_t n)
{
	return conf_count(l->argv[1], 10000000,
			  &((struct server_conf *)cfg)->max_flows, err, n);
}

static int set_max_flows_total(void *cfg, const struct conf_line *l, char *err,
			       size_t n)
{
	return conf_count(l->argv[1], 10000000,
			  &((struct server_conf *)cfg)->budget.flows_total, err,
			  n);
}

static int set_max_flows_per_user(void *cfg, const struct conf_line *l,
				  char *err, size_t n)
{
	return conf_count(l->argv[1], 10000000,
			  &((struct server_conf *)cfg)->budget.flows_per_user,
			  err, n);
}

static int set_max_buffer_total(void *cfg, const struct conf_line *l, char *err,
				size_t n)
{
	unsigned long v;

	if (conf_parse_size(l->argv[1], &v) || v < (1ul << 20)) {
		snprintf(err, n, "bad size '%s' (at least 1M)", l->argv[1]);
		return -1;
	}
	((struct server_conf *)cfg)->budget.buffer_total = v;
	return 0;
}

static int set_max_udp_assocs(void *cfg, const struct conf_line *l, char *err,
			      size_t n)
{
	return conf_count(l->argv[1], 10000000,
			  &((struct server_conf *)cfg)->max_udp_assocs, err, n);
}

static int set_max_udp_peers(void *cfg, const struct conf_line *l, char *err,
			     size_t n)
{
	return conf_count(l->argv[1], 10000000,
			  &((struct server_conf *)cfg)->max_udp_peers, err, n);
}

/* START:RATE:FULL as OpenSSH's MaxStartups, or N for N:0:N. */
static int set_max_startups(void *cfg, const struct conf_line *l, char *err,
			    size_t n)
{
	struct preauth_limits *p = &((struct server_conf *)cfg)->startups;
	unsigned start, rate, full;
	char tail;
	int k = sscanf(l->argv[1], "%u:%u:%u%c", &start, &rate, &full, &tail);

	if (k == 1 && strspn(l->argv[1], "0123456789") == strlen(l->argv[1])) {
		rate = 0;
		full = start;
	} else if (k != 3) {
		full = 0;
	}
	if (!full || full > 100000 || start > full || rate > 100) {
		snprintf(err, n,
			 "bad value '%s' (want START:RATE:FULL, e.g. "
			 "32:30:128, with START <= FULL and RATE a percentage, "
			 "or one number)",
			 l->argv[1]);
		return -1;
	}
	p->start = start;
	p->rate = rate;
	p->full = full;
	return 0;
}

static int set_startups_per_source(void *cfg, const struct conf_line *l,
				   char *err, size_t n)
{
	return conf_count(l->argv[1], 100000,
			  &((struct server_conf *)cfg)->startups.per_source,
			  err, n);
}

static int set_first_byte_timeout(void *cfg, const struct conf_line *l,
				  char *err, size_t n)
{
	return seconds(l->argv[1],
		       &((struct server_conf *)cfg)->first_byte_timeout, err,
		       n);
}

static int set_fallback(void *cfg, const struct conf_line *l, char *err,
			size_t n)
{
	struct server_conf *c = cfg;

	if (addr_parse(l->argv[1], 80, &c->fallback) ||
	    c->fallback.type == ADDR_DOMAIN) {
		snprintf(err, n,
			 "bad address '%s' (want IP:PORT of a local "
			 "web server)",
			 l->argv[1]);
		return -1;
	}
	return 0;
}

/* Looked up while the file is read, so -t knows and the server never
 * starts only to fail after binding its ports. */
static int set_user(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct server_conf *c = cfg;
	struct passwd *pw = getpwnam(l->argv[1]);

	if (!pw) {
		snprintf(err, n, "no such user '%s'", l->argv[1]);
		return -1;
	}
	free(c->user);
	c->user = xstrdup(l->argv[1]);
	c->uid = pw->pw_uid;
	if (!c->group)
		c->gid = pw->pw_gid;
	return 0;
}

static int set_group(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct server_conf *c = cfg;
	struct group *gr = getgrnam(l->argv[1]);

	if (!gr) {
		snprintf(err, n, "no such group '%s'", l->argv[1]);
		return -1;
	}
	free(c->group);
	c->group = xstrdup(l->argv[1]);
	c->gid = gr->gr_gid;
	return 0;
}

static int set_state_dir(void *cfg, const struct conf_line *l, char *err,
			 size_t n)
{
	struct server_conf *c = cfg;

	free(c->state_dir);
	c->state_dir = conf_path(&c->tc, l->argv[1]);
	return 0;
}

/* At most 30 s: what a crash may lose (README, proxy.conf(5)). */
static int set_account_flush(void *cfg, const struct conf_line *l, char *err,
			     size_t n)
{
	return conf_seconds(l->argv[1], 30000,
			    &((struct server_conf *)cfg)->account_flush, err,
			    n);
}

static int set_quota(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return quota_directive(&((struct server_conf *)cfg)->quotas, l, err, n);
}

static int set_rate(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return rate_directive(&((struct server_conf *)cfg)->rates, l, err, n);
}

static const struct conf_directive server_directives[] = {
	TUNNEL_DIRECTIVES,
	{ "listen", 1, 1, 0, set_listen },
	{ "crl", 1, 1, 0, set_crl },
	{ "dns", 1, CONF_MAX_ARGS - 1, 0, set_dns },
	{ "allow", 1, CONF_MAX_ARGS - 1, 0, set_allow },
	{ "deny", 1, CONF_MAX_ARGS - 1, 0, set_deny },
	{ "handshake-timeout", 1, 1, 0, set_hs_timeout },
	{ "first-byte-timeout", 1, 1, 0, set_first_byte_timeout },
	{ "max-startups", 1, 1, 0, set_max_startups },
	{ "max-startups-per-source", 1, 1, 0, set_startups_per_source },
	{ "connect-timeout", 1, 1, 0, set_connect_timeout },
	{ "udp-timeout", 1, 1, 0, set_udp_timeout },
	{ "shutdown-grace", 1, 1, 0, set_grace },
	{ "workers", 1, 1, 0, set_workers },
	{ "max-tunnels", 1, 1, 0, set_max_tunnels },
	{ "max-tunnels-per-user", 1, 1, 0, set_max_per_user },
	{ "max-flows", 1, 1, 0, set_max_flows },
	{ "max-flows-total", 1, 1, 0, set_max_flows_total },
	{ "max-flows-per-user", 1, 1, 0, set_max_flows_per_user },
	{ "max-buffer-total", 1, 1, 0, set_max_buffer_total },
	{ "max-udp-assocs", 1, 1, 0, set_max_udp_assocs },
	{ "max-udp-peers", 1, 1, 0, set_max_udp_peers },
	{ "fallback", 1, 1, 0, set_fallback },
	{ "user", 1, 1, 0, set_user },
	{ "group", 1, 1, 0, set_group },
	{ "state-dir", 1, 1, 0, set_state_dir },
	{ "account-flush", 1, 1, 0, set_account_flush },
	{ "quota", 3, 4, 0, set_quota },
	{ "quota-default", 2, 3, 0, set_quota },
	{ "rate", 2, 2, 0, set_rate },
	{ "rate-default", 1, 1, 0, set_rate },
	{ NULL, 0, 0, 0, NULL },
};

int server_conf_load(struct server_conf *c, const char *path, char *err,
		     size_t n)
{
	char why[CONF_ERR_MAX];

	memset(c, 0, sizeof(*c));
	tunnel_conf_init(&c->tc, path, 1);
	c->connect_timeout = 10;
	c->udp_timeout = 300;
	c->shutdown_grace = 5;
	c->workers = 0; /* auto: one per CPU */
	c->max_tunnels = 256;
	c->max_tunnels_per_user = 8;
	c->max_flows = 16384;
	c->max_udp_assocs = 4096;
	c->max_udp_peers = 4096;
	c->first_byte_timeout = 5;
	c->startups = (struct preauth_limits){
		.start = 32, .rate = 30, .full = 128, .per_source = 16
	};
	c->account_flush = 30;
	if (conf_load(path, server_directives, c, err, n))
		return -1;
	if (!c->state_dir)
		c->state_dir = xstrdup(SERVER_STATE_DIR);
	if (tunnel_conf_check(&c->tc, why, sizeof(why))) {
		snprintf(err, n, "%s: %s", path, why);
		return -1;
	}
	if (!c->nlisten) {
		c->listen = xcalloc(1, sizeof(*c->listen));
		addr_parse("[::]:443", 0, c->listen);
		c->nlisten = 1;
	}
	return 0;
}

int server_conf_listen_port(const char *path, char *err, size_t n)
{
	struct conf_directive table[ARRAY_SIZE(server_directives)];
	struct server_conf tmp;
	int port = -1;

	/* every directive is still recognised; only listen acts */
	memcpy(table, server_directives, sizeof(table));
	for (size_t i = 0; table[i].name; i++)
		if (table[i].set != set_listen)
			table[i].set = NULL;
	memset(&tmp, 0, sizeof(tmp));
	tunnel_conf_init(&tmp.tc, path, 1);
	if (!conf_load(path, table, &tmp, err, n))
		port = tmp.nlisten ? tmp.listen[0].port : 443;
	server_conf_free(&tmp);
	return port;
}

char *server_conf_control_path(const char *path, char *err, size_t n)
{
	return conf_control_path(path, server_directives, "proxy-server", err,
				 n);
}

void server_conf_free(struct server_conf *c)
{
	tunnel_conf_free(&c->tc);
	free(c->listen);
	free(c->crl_path);
	free(c->dns);
	free(c->user);
	free(c->group);
	free(c->state_dir);
	quota_table_free(&c->quotas);
	rate_table_free(&c->rates);
	policy_free(&c->policy);
	memset(c, 0, sizeof(*c));
}
