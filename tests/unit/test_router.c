/* Unit tests for proxy-client/router.c, the rules at run time: the
 * verdict for a flow (longest prefix for addresses, longest suffix for
 * names, full: before domain:, a name no name rule covers decided by
 * its address once resolved on the client, or by the default when no
 * address rule could change it), a datagram's decision, the dns-direct
 * decision for a DNS query, what the forwarder's answers leave behind
 * (an address handed out for a name a rule decides goes by that rule,
 * before the address rules, until it expires), and the
 * counters `status` shows per direction and per rule. Names resolve with
 * c-ares in a real event loop ("localhost", which c-ares answers itself
 * or from /etc/hosts: nothing leaves the machine; its answer may come
 * before the call returns). */
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../proxy-client/router.h"
#include "test.h"

static char dir[] = "/tmp/test_router.XXXXXX";

static struct route_table *load(const char *text)
{
	char path[256], err[CONF_ERR_MAX];
	struct route_table *t;
	FILE *f;

	snprintf(path, sizeof(path), "%s/client.conf", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return route_table_new();
	fputs(text, f);
	fclose(f);
	t = route_load(path, dir, err, sizeof(err));
	if (!t)
		fprintf(stderr, "load failed: %s\n", err);
	CHECK(t != NULL);
	return t ? t : route_table_new();
}

/* A router over text's rules (the table goes to the router), keeping
 * up to memo_max answers' addresses for at least ttl_min seconds. */
static struct router *router_memo(struct ev_loop *loop, const char *text,
				  unsigned memo_max, double ttl_min)
{
	struct client_conf conf;
	char err[256];
	struct router *r;

	memset(&conf, 0, sizeof(conf));
	conf.dns_memo_max = memo_max;
	conf.dns_memo_ttl_min = ttl_min;
	conf.routes = load(text);
	r = router_new(loop, &conf, err, sizeof(err));
	if (!r)
		fprintf(stderr, "router_new: %s\n", err);
	CHECK(r != NULL);
	route_table_unref(conf.routes);
	return r;
}

static struct router *router_of(struct ev_loop *loop, const char *text)
{
	return router_memo(loop, text, 64, 60);
}

struct got {
	int calls;
	char said[300]; /* "direct by client.conf:3" */
	int naddrs, status;
	struct sockaddr_storage first;
};

static void got_cb(void *arg, const struct route_verdict *v)
{
	struct got *g = arg;
	struct route_tag tag = v->tag;
	char s[300];
	const char *base;

	g->calls++;
	router_tag_str(&tag, s, sizeof(s));
	/* the rule's file name without its temporary folder */
	base = strstr(s, "client.conf");
	if (base)
		snprintf(g->said, sizeof(g->said), "%.*s%s",
			 (int)(strchr(s, '/') - s), s, base);
	else
		snprintf(g->said, sizeof(g->said), "%s", s);
	g->naddrs = v->naddrs;
	g->status = v->status;
	if (v->naddrs)
		g->first = v->addrs[0];
	router_tag_end(&tag, 100, 1000);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* The verdict for dst (HOST:PORT), waiting up to 5 s for a lookup. */
static struct got decide(struct ev_loop *loop, struct router *r,
			 const char *dst, int *sync)
{
	struct got g = { 0 };
	struct addr a;
	struct router_req *q;
	ev_timer t;

	CHECK_EQ(addr_parse(dst, 0, &a), 0);
	q = router_decide(r, &a, got_cb, &g);
	*sync = !q;
	CHECK(!q == (g.calls == 1));
	if (q) {
		ev_timer_init(&t, timeout_cb, 5., 0.);
		ev_timer_start(loop, &t);
		while (!g.calls && ev_is_active(&t))
			ev_run(loop, EVRUN_ONCE);
		ev_timer_stop(loop, &t);
	}
	CHECK_EQ(g.calls, 1);
	return g;
}

#define CHECK_DECIDE(loop, r, dst, want, want_sync) \
	do { \
		int _sync; \
		struct got _g = decide(loop, r, dst, &_sync); \
		CHECK_STR(_g.said, want); \
		CHECK_EQ(_sync, want_sync); \
		(void)_sync; \
	} while (0)

static const char rules[] =
	"route direct 10.0.0.0/8 2001:db8:100::/48\n" /* 1 */
	"route proxy 10.1.0.0/16\n"                   /* 2 */
	"route block 10.1.2.0/24\n"                   /* 3 */
	"route direct domain:campus.example.edu\n"    /* 4 */
	"route proxy full:login.campus.example.edu\n" /* 5 */
	"route block domain:ads.campus.example.edu\n" /* 6 */
	"route direct 127.0.0.0/8 ::1/128\n"          /* 7 */
	"route direct full:localhost\n"               /* 8 */
	"route-default proxy\n";

static void test_decide(struct ev_loop *loop)
{
	struct router *r = router_of(loop, rules);
	struct got g;
	int sync;

	/* addresses: at once, the longest prefix */
	CHECK_DECIDE(loop, r, "10.9.9.9:80", "direct by client.conf:1", 1);
	CHECK_DECIDE(loop, r, "10.1.9.9:80", "proxy by client.conf:2", 1);
	CHECK_DECIDE(loop, r, "10.1.2.3:80", "block by client.conf:3", 1);
	CHECK_DECIDE(loop, r, "[2001:db8:100::7]:80", "direct by client.conf:1",
		     1);
	CHECK_DECIDE(loop, r, "192.0.2.1:80", "proxy by default", 1);
	/* a direct address comes with itself to dial, port and all */
	g = decide(loop, r, "10.9.9.9:8080", &sync);
	CHECK_EQ(g.naddrs, 1);
	CHECK_EQ(ntohs(((struct sockaddr_in *)&g.first)->sin_port), 8080);
	g = decide(loop, r, "192.0.2.1:80", &sync);
	CHECK_EQ(g.naddrs, 0);
	/* names a name rule decides: proxy and block at once, the longest
	 * suffix, full: before domain: */
	CHECK_DECIDE(loop, r, "login.campus.example.edu:443",
		     "proxy by client.conf:5", 1);
	CHECK_DECIDE(loop, r, "x.ads.campus.example.edu:443",
		     "block by client.conf:6", 1);
	/* direct by name needs the addresses: resolved on the client */
	g = decide(loop, r, "localhost:8080", &sync);
	CHECK_STR(g.said, "direct by client.conf:8");
	CHECK_EQ(g.status, 0);
	CHECK(g.naddrs >= 1);
	CHECK_EQ(ntohs(((struct sockaddr_in *)&g.first)->sin_port), 8080);
	router_free(r);

	/* a name no name rule covers: its address decides */
	r = router_of(loop, "route direct 127.0.0.0/8 ::1/128\n"
			    "route-default block\n");
	g = decide(loop, r, "localhost:53", &sync);
	CHECK_STR(g.said, "direct by client.conf:1");
	CHECK(g.naddrs >= 1);
	CHECK_DECIDE(loop, r, "192.0.2.1:80", "block by default", 1);
	router_free(r);

	/* no address rule: resolving could change nothing, the default
	 * decides at once */
	r = router_of(loop, "route block domain:example.com\n"
			    "route-default direct\n");
	CHECK_DECIDE(loop, r, "www.example.com:80", "block by client.conf:1",
		     1);
	CHECK_DECIDE(loop, r, "10.0.0.1:80", "direct by default", 1);
	router_free(r);
}

static void test_datagram(struct ev_loop *loop)
{
	struct router *r = router_of(loop, rules);
	struct addr a;
	struct route_result res;

	addr_parse("10.1.2.3:53", 0, &a);
	res = router_datagram(r, &a, 10);
	CHECK_EQ(res.action, ROUTE_BLOCK);
	CHECK_EQ(res.rule, 3);
	addr_parse("login.campus.example.edu:53", 0, &a);
	res = router_datagram(r, &a, 10);
	CHECK_EQ(res.action, ROUTE_PROXY);
	CHECK_EQ(res.rule, 5);
	/* the longest suffix: domain: of the parent of a full: name */
	addr_parse("a.login.campus.example.edu:53", 0, &a);
	res = router_datagram(r, &a, 10);
	CHECK_EQ(res.action, ROUTE_DIRECT);
	CHECK_EQ(res.rule, 4);
	/* a datagram is not held for a lookup: the default */
	addr_parse("other.example.org:53", 0, &a);
	res = router_datagram(r, &a, 10);
	CHECK_EQ(res.action, ROUTE_PROXY);
	CHECK_EQ(res.rule, ROUTE_DEFAULT_RULE);
	router_free(r);
}

static void test_dns(struct ev_loop *loop)
{
	struct router *r =
		router_of(loop,
			  "dns-direct domain:campus.example.edu 10.0.0.53\n"
			  "dns-direct full:lab.campus.example.edu "
			  "domain:lab.example [2001:db8::53]:5353\n"
			  "route direct domain:example.org\n");
	struct route_tag tag;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char s[300];

	CHECK(router_has_dns_rules(r));
	CHECK_EQ(router_dns(r, "www.campus.example.edu", &tag, &ss), 1);
	CHECK_EQ(ss.ss_family, AF_INET);
	CHECK_EQ(ntohs(s4->sin_port), 53);
	CHECK_EQ(ntohl(s4->sin_addr.s_addr), 0x0a000035);
	CHECK(strstr(router_tag_str(&tag, s, sizeof(s)), "direct by ") == s);
	CHECK(strstr(s, "client.conf:1") != NULL);
	router_tag_end(&tag, 30, 90);
	/* full: of a longer name before the domain: of its parent */
	CHECK_EQ(router_dns(r, "LAB.campus.example.edu.", &tag, &ss), 1);
	CHECK_EQ(ss.ss_family, AF_INET6);
	CHECK_EQ(ntohs(s6->sin6_port), 5353);
	CHECK(strstr(router_tag_str(&tag, s, sizeof(s)), "client.conf:2"));
	router_tag_end(&tag, 30, 0);
	CHECK_EQ(router_dns(r, "x.lab.campus.example.edu", &tag, &ss), 1);
	CHECK_EQ(ss.ss_family, AF_INET);
	router_tag_end(&tag, 0, 0);
	CHECK_EQ(router_dns(r, "a.lab.example", &tag, &ss), 1);
	CHECK_EQ(ss.ss_family, AF_INET6);
	router_tag_end(&tag, 0, 0);
	/* route rules are no dns-direct rules; no rule: the tunnel */
	CHECK_EQ(router_dns(r, "www.example.org", &tag, &ss), 0);
	CHECK_EQ(router_dns(r, "campus.example.edu.evil", &tag, &ss), 0);
	CHECK_EQ(router_dns(r, "badcampus.example.edu", &tag, &ss), 0);
	router_free(r);

	r = router_of(loop, "route direct domain:example.org\n");
	CHECK(!router_has_dns_rules(r));
	CHECK_EQ(router_dns(r, "www.example.org", &tag, &ss), 0);
	router_free(r);
}

/* An answer for name (A) with one A record addr, TTL ttl, into m. */
static size_t answer_of(uint8_t *m, const char *name, const char *addr,
			uint32_t ttl)
{
	static const uint8_t hdr[] = {
		0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0
	};
	size_t n = sizeof(hdr);
	const char *p = name;

	memcpy(m, hdr, n);
	while (*p) {
		size_t l = strcspn(p, ".");

		m[n++] = (uint8_t)l;
		memcpy(m + n, p, l);
		n += l;
		p += l + (p[l] == '.');
	}
	m[n++] = 0;
	memcpy(m + n, "\0\1\0\1\xc0\x0c\0\1\0\1", 10);
	n += 10;
	put_be32(m + n, ttl);
	n += 4;
	m[n++] = 0;
	m[n++] = 4;
	inet_pton(AF_INET, addr, m + n);
	return n + 4;
}

static void test_memo(struct ev_loop *loop)
{
	struct router *r =
		router_of(loop,
			  "dns-direct domain:campus.example.edu 10.0.0.53\n"
			  "route block domain:ads.example\n"
			  "route proxy full:login.campus.example.edu\n"
			  "route direct 10.0.0.0/8\n"
			  "route-default proxy\n");
	struct route_tag tag;
	struct sockaddr_storage ss;
	struct addr a;
	struct route_result res;
	uint8_t m[512];
	size_t n;
	struct got g;
	int sync;

	CHECK_DECIDE(loop, r, "192.0.2.10:443", "proxy by default", 1);
	/* a dns-direct name: its address goes direct by that rule, where
	 * the address rules would proxy it; TTL 0 counts as MIN-TTL */
	CHECK_EQ(router_dns(r, "www.campus.example.edu", &tag, &ss), 1);
	n = answer_of(m, "www.campus.example.edu", "192.0.2.10", 0);
	router_dns_answer(r, m, n, &tag);
	router_tag_end(&tag, 0, 0);
	g = decide(loop, r, "192.0.2.10:443", &sync);
	CHECK_STR(g.said, "direct by client.conf:1");
	CHECK_EQ(sync, 1);
	CHECK_EQ(g.naddrs, 1);
	CHECK_EQ(ntohs(((struct sockaddr_in *)&g.first)->sin_port), 443);
	/* a route name rule before the dns-direct rule it was asked by */
	CHECK_EQ(router_dns(r, "login.campus.example.edu", &tag, &ss), 1);
	n = answer_of(m, "login.campus.example.edu", "192.0.2.11", 600);
	router_dns_answer(r, m, n, &tag);
	router_tag_end(&tag, 0, 0);
	CHECK_DECIDE(loop, r, "192.0.2.11:80", "proxy by client.conf:3", 1);
	/* through the tunnel, a block rule's name: its address is blocked
	 * though a CIDR rule sends it direct; datagrams too */
	n = answer_of(m, "x.ads.example", "10.1.1.1", 600);
	router_dns_answer(r, m, n, NULL);
	CHECK_DECIDE(loop, r, "10.1.1.1:80", "block by client.conf:2", 1);
	addr_parse("10.1.1.1:53", 0, &a);
	res = router_datagram(r, &a, 1);
	CHECK_EQ(res.action, ROUTE_BLOCK);
	CHECK_EQ(res.rule, 2);
	/* a name no rule decides: its addresses stay the address rules' */
	n = answer_of(m, "www.example.org", "10.2.2.2", 600);
	router_dns_answer(r, m, n, NULL);
	CHECK_DECIDE(loop, r, "10.2.2.2:80", "direct by client.conf:4", 1);
	n = answer_of(m, "www.example.org", "192.0.2.12", 600);
	router_dns_answer(r, m, n, NULL);
	CHECK_DECIDE(loop, r, "192.0.2.12:80", "proxy by default", 1);
	router_free(r);

	/* past MIN-TTL (and the record's TTL) the address rules again */
	r = router_memo(loop,
			"dns-direct domain:campus.example.edu 10.0.0.53\n", 64,
			0.05);
	CHECK_EQ(router_dns(r, "www.campus.example.edu", &tag, &ss), 1);
	n = answer_of(m, "www.campus.example.edu", "192.0.2.10", 0);
	router_dns_answer(r, m, n, &tag);
	router_tag_end(&tag, 0, 0);
	CHECK_DECIDE(loop, r, "192.0.2.10:443", "direct by client.conf:1", 1);
	usleep(100000);
	ev_now_update(loop);
	CHECK_DECIDE(loop, r, "192.0.2.10:443", "proxy by default", 1);
	router_free(r);

	/* dns-memo 0: nothing is remembered */
	r = router_memo(loop,
			"dns-direct domain:campus.example.edu 10.0.0.53\n", 0,
			60);
	CHECK_EQ(router_dns(r, "www.campus.example.edu", &tag, &ss), 1);
	n = answer_of(m, "www.campus.example.edu", "192.0.2.10", 600);
	router_dns_answer(r, m, n, &tag);
	router_tag_end(&tag, 0, 0);
	CHECK_DECIDE(loop, r, "192.0.2.10:443", "proxy by default", 1);
	router_free(r);
}

/* status --json: flows and bytes per direction and per rule. */
static void test_counters(struct ev_loop *loop)
{
	struct router *r = router_of(loop, rules);
	struct buf b;
	struct addr a;
	struct sockaddr_in peer = { .sin_family = AF_INET };
	int sync;
	char *json;

	decide(loop, r, "10.9.9.9:80", &sync); /* 100 up, 1000 down */
	decide(loop, r, "10.8.9.9:80", &sync);
	decide(loop, r, "192.0.2.1:80", &sync);
	decide(loop, r, "x.ads.campus.example.edu:80", &sync);
	addr_parse("10.1.9.9:53", 0, &a);
	router_datagram(r, &a, 7);
	inet_pton(AF_INET, "10.1.9.9", &peer.sin_addr);
	router_count_reply(r, (struct sockaddr *)&peer, ROUTE_PROXY, 11);
	buf_init(&b, 1 << 16);
	router_status(r, &b, 1);
	CHECK(buf_put(&b, "", 1) == 0);
	json = (char *)buf_peek(&b);
	CHECK(strstr(json, "\"rules\":8,") != NULL);
	CHECK(strstr(json, "\"direct\":{\"flows\":2,\"bytes_up\":200,"
			   "\"bytes_down\":2000}") != NULL);
	CHECK(strstr(json, "\"proxy\":{\"flows\":1,\"bytes_up\":107,"
			   "\"bytes_down\":1011}") != NULL);
	CHECK(strstr(json, "\"block\":{\"flows\":1,") != NULL);
	CHECK(strstr(json, "client.conf:1\",\"action\":\"direct\","
			   "\"flows\":2,\"bytes_up\":200,"
			   "\"bytes_down\":2000}") != NULL);
	CHECK(strstr(json, "client.conf:2\",\"action\":\"proxy\","
			   "\"flows\":0,\"bytes_up\":7,"
			   "\"bytes_down\":11}") != NULL);
	CHECK(strstr(json, "{\"rule\":\"default\",\"action\":\"proxy\","
			   "\"flows\":1,\"bytes_up\":100,"
			   "\"bytes_down\":1000}") != NULL);
	/* a rule nothing went by is left out */
	CHECK(strstr(json, "client.conf:5") == NULL);
	buf_release(&b);
	router_free(r);
}

int main(void)
{
	struct ev_loop *loop = ev_default_loop(0);
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_decide(loop);
	test_datagram(loop);
	test_dns(loop);
	test_memo(loop);
	test_counters(loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary("test_router");
}
