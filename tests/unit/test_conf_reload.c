/* Unit tests for proxy-server/conf_reload.c: an unchanged file names
 * nothing; each setting that needs a restart is named (in one line,
 * comma-separated), a --listen override hides the file's listen; apply
 * moves the run-time settings (rules, quotas, rates, limits, tunnel
 * parameters) and keeps the descriptor budget's pool and what needs a
 * restart. */
#include "../../proxy-server/conf_reload.h"
#include "test.h"

static void base(struct server_conf *c, const char *listen)
{
	memset(c, 0, sizeof(*c));
	c->listen = calloc(1, sizeof(*c->listen));
	addr_parse(listen, 443, c->listen);
	c->nlisten = 1;
	c->workers = 1;
	c->tc.ca_pem = strdup("CA");
	c->tc.log_level = -1;
	c->max_tunnels = 256;
	c->max_flows = 100;
	c->connect_timeout = 10;
}

static void done(struct server_conf *c)
{
	free(c->listen);
	free(c->tc.ca_pem);
	free(c->user);
	quota_table_free(&c->quotas);
	rate_table_free(&c->rates);
	policy_free(&c->policy);
}

int main(void)
{
	struct server_conf a, b;
	struct tunnel_pool pool;
	char fixed[256];
	struct cidr net;

	base(&a, "127.0.0.1:443");
	base(&b, "127.0.0.1:443");
	conf_reload_fixed(&a, &b, fixed, sizeof(fixed));
	CHECK_STR(fixed, "");

	free(b.tc.ca_pem);
	b.tc.ca_pem = strdup("another CA");
	b.user = strdup("nobody");
	b.workers = 2;
	b.max_tunnels = 10;
	addr_parse("127.0.0.1:8443", 443, b.listen);
	conf_reload_fixed(&a, &b, fixed, sizeof(fixed));
	CHECK_STR(fixed, "listen, workers, user, ca, max-tunnels");
	a.listen_from_cmdline = 1;
	conf_reload_fixed(&a, &b, fixed, sizeof(fixed));
	CHECK_STR(fixed, "workers, user, ca, max-tunnels");
	conf_reload_fixed(&a, &b, fixed, 12); /* cut, still a string */
	CHECK(strlen(fixed) < 12);

	/* apply: the run-time settings move, the rest stays */
	a.tc.tp.pool = &pool;
	b.max_flows = 5;
	b.connect_timeout = 3;
	b.tc.tp.keepalive = 7;
	b.rates.dflt = 1 << 20;
	cidr_parse("10.0.0.0/8", &net);
	policy_add(&b.policy, &net, true);
	conf_reload_apply(&a, &b);
	CHECK_EQ(a.max_flows, 5);
	CHECK_EQ(b.max_flows, 100); /* the old value, for freeing */
	CHECK(a.connect_timeout == 3);
	CHECK(a.tc.tp.keepalive == 7);
	CHECK(a.tc.tp.pool == &pool);
	CHECK_EQ(a.rates.dflt, 1 << 20);
	CHECK_EQ(a.policy.n, 1);
	CHECK_EQ(b.policy.n, 0);
	CHECK_EQ(a.max_tunnels, 256); /* needs a restart: kept */
	CHECK(!a.user);
	CHECK_EQ(a.workers, 1);
	done(&a);
	done(&b);
	return test_summary("test_conf_reload");
}
