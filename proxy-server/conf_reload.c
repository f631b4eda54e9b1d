#include "conf_reload.h"

#include <stdio.h>
#include <string.h>

#include "../common/util.h"

#define SWAP(a, b) \
	do { \
		__typeof__(a) swap_tmp_ = (a); \
		(a) = (b); \
		(b) = swap_tmp_; \
	} while (0)

static int str_differ(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b));
}

static int addr_differ(const struct addr *a, const struct addr *b)
{
	char x[ADDR_STR_MAX], y[ADDR_STR_MAX];

	if (a->type != b->type)
		return 1;
	return a->type &&
	       strcmp(addr_str(a, x, sizeof(x)), addr_str(b, y, sizeof(y)));
}

static int listen_differ(const struct server_conf *a,
			 const struct server_conf *b)
{
	if (a->listen_from_cmdline)
		return 0; /* --listen holds, whatever the file says */
	if (a->nlisten != b->nlisten)
		return 1;
	for (int i = 0; i < a->nlisten; i++)
		if (addr_differ(&a->listen[i], &b->listen[i]))
			return 1;
	return 0;
}

static void name(char *buf, size_t n, int differ, const char *what)
{
	size_t len = strlen(buf);

	if (differ && len < n)
		snprintf(buf + len, n - len, "%s%s", len ? ", " : "", what);
}

void conf_reload_fixed(const struct server_conf *a, const struct server_conf *b,
		       char *buf, size_t n)
{
	buf[0] = '\0';
	name(buf, n, listen_differ(a, b), "listen");
	name(buf, n, str_differ(a->user, b->user), "user");
	name(buf, n, str_differ(a->group, b->group), "group");
	name(buf, n, str_differ(a->state_dir, b->state_dir), "state-dir");
	name(buf, n, str_differ(a->tc.control, b->tc.control), "control");
	name(buf, n, str_differ(a->dns, b->dns), "dns");
	name(buf, n, addr_differ(&a->fallback, &b->fallback), "fallback");
	name(buf, n, str_differ(a->tc.ca_pem, b->tc.ca_pem), "ca");
	name(buf, n, str_differ(a->tc.cert_pem, b->tc.cert_pem), "cert");
	name(buf, n, str_differ(a->tc.key_pem, b->tc.key_pem), "key");
	name(buf, n, str_differ(a->crl_path, b->crl_path), "crl");
	name(buf, n, a->tc.log_level != b->tc.log_level, "log-level");
	name(buf, n, a->workers != b->workers, "workers");
	name(buf, n, a->max_tunnels != b->max_tunnels, "max-tunnels");
	name(buf, n,
	     memcmp(&a->startups, &b->startups, sizeof(a->startups)) != 0,
	     "max-startups");
	name(buf, n, a->budget.flows_total != b->budget.flows_total,
	     "max-flows-total");
	name(buf, n, a->budget.flows_per_user != b->budget.flows_per_user,
	     "max-flows-per-user");
	name(buf, n, a->budget.buffer_total != b->budget.buffer_total,
	     "max-buffer-total");
}

void conf_reload_apply(struct server_conf *a, struct server_conf *b)
{
	struct tunnel_pool *pool = a->tc.tp.pool;

	/* tunnels that come up from now on: keepalive, windows,
	 * max-buffer, handshake- and idle-timeout */
	SWAP(a->tc.tp, b->tc.tp);
	a->tc.tp.pool = pool;
	SWAP(a->policy, b->policy);
	SWAP(a->quotas, b->quotas);
	SWAP(a->rates, b->rates);
	SWAP(a->connect_timeout, b->connect_timeout);
	SWAP(a->udp_timeout, b->udp_timeout);
	SWAP(a->shutdown_grace, b->shutdown_grace);
	SWAP(a->max_tunnels_per_user, b->max_tunnels_per_user);
	SWAP(a->max_flows, b->max_flows);
	SWAP(a->max_udp_assocs, b->max_udp_assocs);
	SWAP(a->max_udp_peers, b->max_udp_peers);
	SWAP(a->first_byte_timeout, b->first_byte_timeout);
	SWAP(a->account_flush, b->account_flush);
}
