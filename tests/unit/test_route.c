/* Unit tests for proxy-client/route.c: every directive form through the
 * real config parser, most-specific-wins for addresses and names, rule
 * files and their errors, a failed reload keeping the old table, the
 * exported ranges, and the address lookup against a brute-force scan. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/conf.h"
#include "../../common/util.h"
#include "../../proxy-client/route.h"
#include "test.h"

static char dir[] = "/tmp/test_route.XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* Writes the profile and loads it into a fresh table: the finished
 * table, or NULL with the error in err. */
/* Writes the profile and loads it into a fresh table: the finished
 * table, or NULL with the error in err. */
static struct route_table *load(const char *profile, char *err, size_t n)
{
	char path[256];

	write_file("client.conf", profile);
	snprintf(path, sizeof(path), "%s/client.conf", dir);
	return route_load(path, dir, err, n);
}

static struct route_table *must_load(const char *profile)
{
	char err[CONF_ERR_MAX];
	struct route_table *t = load(profile, err, sizeof(err));

	if (!t)
		fprintf(stderr, "load failed: %s\n", err);
	CHECK(t != NULL);
	return t ? t : route_table_new();
}

static struct route_result addr(const struct route_table *t, const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)&ss)->sin_addr)) {
		ss.ss_family = AF_INET;
	} else {
		CHECK(inet_pton(AF_INET6, s,
				&((struct sockaddr_in6 *)&ss)->sin6_addr));
		ss.ss_family = AF_INET6;
	}
	return route_decide_addr(t, (struct sockaddr *)&ss);
}

/* The action and the rule's "file:line" ("client.conf:LINE" short). */
static const char *said(const struct route_table *t, struct route_result r)
{
	static char out[300];
	char name[256];
	const char *base;

	route_rule_name(t, r.rule, name, sizeof(name));
	base = strrchr(name, '/');
	snprintf(out, sizeof(out), "%s %s", route_action_name(r.action),
		 base ? base + 1 : name);
	return out;
}

#define CHECK_ADDR(t, a, want) CHECK_STR(said(t, addr(t, a)), want)
#define CHECK_NAME(t, n, want) CHECK_STR(said(t, route_decide_name(t, n)), want)

static const char profile[] =
	"route direct 10.0.0.0/8 2001:db8:100::/48   # CIDRs\n" /* 1 */
	"route proxy 10.1.0.0/16 2001:db8:100:5::/64\n"         /* 2 */
	"route block 10.1.2.0/24\n"                             /* 3 */
	"route direct domain:campus.example.edu\n"              /* 4 */
	"route block domain:ads.example\n"                      /* 5 */
	"route proxy full:login.campus.example.edu\n"           /* 6 */
	"route block domain:lib.campus.example.edu\n"           /* 7 */
	"route proxy full:campus.example.edu\n"                 /* 8 */
	"route-file direct campus.txt\n"                        /* 9 */
	"route-default proxy\n"                                 /* 10 */
	"route direct 192.168.0.0/16\n"                         /* 11 */
	"route proxy 192.168.0.0/16 ::ffff:172.16.0.0/112\n";   /* 12 */

static const char campus_txt[] =
	"# the campus networks\n"
	"\n"
	"   172.16.0.0/12   # a comment after an entry\r\n"
	"domain:mirror.example.org\n"
	"\t\n"
	"full:Only.Example.NET.\n";

static void test_forms(void)
{
	struct route_table *t;

	write_file("campus.txt", campus_txt);
	t = must_load(profile);
	/* 12 lines, 3 of them in campus.txt, and the default */
	CHECK_EQ(route_rule_count(t), 1 + 10 + 3);
	/* addresses nested three deep, IPv4-mapped IPv6 as IPv4 */
	CHECK_ADDR(t, "10.9.9.9", "direct client.conf:1");
	CHECK_ADDR(t, "10.1.9.9", "proxy client.conf:2");
	CHECK_ADDR(t, "10.1.2.3", "block client.conf:3");
	CHECK_ADDR(t, "10.1.3.0", "proxy client.conf:2");
	CHECK_ADDR(t, "10.2.0.0", "direct client.conf:1");
	CHECK_ADDR(t, "10.255.255.255", "direct client.conf:1");
	CHECK_ADDR(t, "11.0.0.0", "proxy default");
	CHECK_ADDR(t, "9.255.255.255", "proxy default");
	CHECK_ADDR(t, "::ffff:10.1.2.3", "block client.conf:3");
	CHECK_ADDR(t, "::ffff:10.9.9.9", "direct client.conf:1");
	CHECK_ADDR(t, "::10.9.9.9", "proxy default");
	CHECK_ADDR(t, "2001:db8:100::1", "direct client.conf:1");
	CHECK_ADDR(t, "2001:db8:100:5::1", "proxy client.conf:2");
	CHECK_ADDR(t, "2001:db8:100:ffff:ffff::", "direct client.conf:1");
	CHECK_ADDR(t, "2001:db8:101::", "proxy default");
	/* the same CIDR twice: the later line; a mapped IPv6 CIDR is IPv4 */
	CHECK_ADDR(t, "192.168.1.1", "proxy client.conf:12");
	CHECK_ADDR(t, "172.16.1.1", "proxy client.conf:12");
	CHECK_ADDR(t, "172.17.0.1", "direct campus.txt:3");
	/* names: longest suffix, label-aligned, full: before domain: */
	CHECK_NAME(t, "www.campus.example.edu", "direct client.conf:4");
	CHECK_NAME(t, "campus.example.edu", "proxy client.conf:8");
	CHECK_NAME(t, "login.campus.example.edu", "proxy client.conf:6");
	CHECK_NAME(t, "a.login.campus.example.edu", "direct client.conf:4");
	CHECK_NAME(t, "lib.campus.example.edu", "block client.conf:7");
	CHECK_NAME(t, "x.y.lib.campus.example.edu", "block client.conf:7");
	CHECK_NAME(t, "badcampus.example.edu", "undecided default");
	CHECK_NAME(t, "example.edu", "undecided default");
	CHECK_NAME(t, "edu", "undecided default");
	CHECK_NAME(t, "WWW.Campus.Example.EDU.", "direct client.conf:4");
	CHECK_NAME(t, "Campus.Example.Edu.", "proxy client.conf:8");
	CHECK_NAME(t, "ads.example", "block client.conf:5");
	CHECK_NAME(t, "x.ads.example", "block client.conf:5");
	CHECK_NAME(t, "xads.example", "undecided default");
	CHECK_NAME(t, "ads.example.com", "undecided default");
	CHECK_NAME(t, "cdn.mirror.example.org", "direct campus.txt:4");
	CHECK_NAME(t, "only.example.net", "direct campus.txt:6");
	CHECK_NAME(t, "a.only.example.net", "undecided default");
	/* names that are no names at all decide nothing */
	CHECK_NAME(t, "", "undecided default");
	CHECK_NAME(t, ".", "undecided default");
	CHECK_NAME(t, "..campus.example.edu", "direct client.conf:4");
	CHECK_NAME(t, ".....", "undecided default");
	route_table_unref(t);

	t = must_load("route-default direct\nroute block 0.0.0.0/0\n");
	CHECK_ADDR(t, "1.2.3.4", "block client.conf:2");
	CHECK_ADDR(t, "::1", "direct default");
	CHECK_NAME(t, "example.com", "undecided default");
	route_table_unref(t);
}

/* The message starts with the profile's file:line and holds what. */
static void check_error(const char *profile_text, int line, const char *what)
{
	char err[CONF_ERR_MAX], want[300];
	struct route_table *t = load(profile_text, err, sizeof(err));

	CHECK(t == NULL);
	route_table_unref(t);
	snprintf(want, sizeof(want), "%s/client.conf:%d: ", dir, line);
	CHECK(!strncmp(err, want, strlen(want)));
	if (!strstr(err, what))
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, what);
	CHECK(strstr(err, what) != NULL);
}

static void test_errors(void)
{
	char want[300];

	write_file("bad.txt", "# fine\n10.0.0.0/8\n\n10.0.0.0/33\n");
	write_file("two.txt", "10.0.0.0/8\ndomain:a.example 10.0.0.0/8\n");
	write_file("name.txt", "domain:a..example\n");
	write_file("bare.txt", "\n\nexample.com\n");
	check_error("route direct 10.0.0.0/8\nroute-file direct bad.txt\n", 2,
		    "/bad.txt:4: bad entry '10.0.0.0/33'");
	check_error("route-file direct two.txt\n", 1,
		    "/two.txt:2: one entry a line");
	check_error("route-file proxy name.txt\n", 1,
		    "/name.txt:1: bad name 'a..example'");
	check_error("route-file proxy bare.txt\n", 1,
		    "/bare.txt:3: bad entry 'example.com'");
	snprintf(want, sizeof(want), "%s/none.txt: No such file", dir);
	check_error("\nroute-file direct none.txt\n", 2, want);
	check_error("route sideways 10.0.0.0/8\n", 1, "bad action 'sideways'");
	check_error("route-default maybe\n", 1, "bad action 'maybe'");
	check_error("route direct\n", 1, "takes at least 2 arguments");
	check_error("route direct 10.0.0.0/8 300.1.1.1\n", 1,
		    "bad entry '300.1.1.1'");
	check_error("route direct domain:\n", 1, "bad name ''");
	check_error("route direct domain:.\n", 1, "bad name '.'");
	check_error("route direct full:a_b.example!\n", 1, "bad name");
	check_error("route block domain:a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p."
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaa.x\n",
		    1, "bad name");
	check_error("route-file direct\n", 1, "takes 2 arguments");
}

/* SIGHUP: a profile that fails leaves the table in use as it was. */
static void test_reload(void)
{
	char err[CONF_ERR_MAX];
	struct route_table *cur, *fresh, *pinned;

	cur = must_load("route direct 10.0.0.0/8 domain:example.edu\n");
	write_file("campus.txt", "10.0.0.0/8\n10.0.0.0/99\n");
	fresh = load("route proxy 10.0.0.0/8\nroute-file block campus.txt\n",
		     err, sizeof(err));
	CHECK(fresh == NULL);
	CHECK(strstr(err, "campus.txt:2: bad entry") != NULL);
	CHECK_ADDR(cur, "10.1.1.1", "direct client.conf:1");
	CHECK_NAME(cur, "a.example.edu", "direct client.conf:1");
	/* a flow holds on to its table across the swap */
	pinned = route_table_ref(cur);
	fresh = must_load("route block 10.0.0.0/8\n");
	route_table_swap(&cur, fresh);
	CHECK(cur == fresh);
	CHECK_ADDR(cur, "10.1.1.1", "block client.conf:1");
	CHECK_NAME(cur, "a.example.edu", "undecided default");
	CHECK_ADDR(pinned, "10.1.1.1", "direct client.conf:1");
	route_table_unref(pinned);
	route_table_unref(cur);
}

/* The ranges of one action as "A, B, C". */
static const char *ranges(const struct route_table *t, enum route_action a,
			  int family)
{
	static char out[1024];
	struct route_range *r;
	size_t n = route_ranges(t, a, family, &r), i, len = 0;
	char s[100];

	out[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s",
					i ? ", " : "",
					route_range_str(&r[i], s, sizeof(s)));
	free(r);
	return out;
}

static void test_ranges(void)
{
	/* holes punched by proxy and block, adjacent ranges merged */
	static const struct {
		enum route_action action;
		int family;
		const char *want;
	} cases[] = {
		{ ROUTE_DIRECT, AF_INET,
		  "0.0.0.0/32, 10.0.0.0/16, 10.1.2.0/23, "
		  "10.2.0.0-10.200.127.255, 10.201.0.0-11.255.255.255, "
		  "255.255.255.255/32" },
		{ ROUTE_BLOCK, AF_INET, "10.200.128.0/17" },
		{ ROUTE_PROXY, AF_INET,
		  "0.0.0.1-9.255.255.255, 10.1.0.0/23, "
		  "10.1.4.0-10.1.255.255, 12.0.0.0-255.255.255.254" },
		{ ROUTE_DIRECT, AF_INET6,
		  "2001:db8::/48, 2001:db8:2::-2001:db8:ffff:ffff:ffff:ffff:"
		  "ffff:ffff" },
		{ ROUTE_BLOCK, AF_INET6, "2001:db8:1::/48" },
		{ ROUTE_PROXY, AF_INET6,
		  "::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff, "
		  "2001:db9::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	};
	size_t i;
	struct route_table *t =
		must_load("route direct 10.0.0.0/8 11.0.0.0/8 2001:db8::/32\n"
			  "route proxy 10.1.0.0/16\n"
			  "route direct 10.1.2.0/24 10.1.3.0/24 0.0.0.0/32\n"
			  "route block 10.200.0.0/16 2001:db8:1::/48\n"
			  "route direct 10.200.0.0/17 255.255.255.255\n");

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_STR(ranges(t, cases[i].action, cases[i].family),
			  cases[i].want);
	route_table_unref(t);

	t = must_load("route-default direct\n");
	CHECK_STR(ranges(t, ROUTE_DIRECT, AF_INET), "0.0.0.0/0");
	CHECK_STR(ranges(t, ROUTE_DIRECT, AF_INET6), "::/0");
	CHECK_STR(ranges(t, ROUTE_PROXY, AF_INET6), "");
	route_table_unref(t);
}

/* Random nested CIDRs in a small space against the plain rule: of all
 * that match, the longest prefix, and of those the last one. */
static void test_against_scan(void)
{
	enum { NRULES = 600, NPROBES = 20000 };
	static struct cidr c[NRULES];
	static enum route_action act[NRULES];
	struct route_table *t = route_table_new();
	struct conf_line l;
	char err[256], text[64], buf[64];
	int i, j, bad = 0;

	srand(7);
	memset(&l, 0, sizeof(l));
	l.file = "gen";
	l.argc = 3;
	for (i = 0; i < NRULES; i++) {
		unsigned a = 0x0a000000u | ((unsigned)rand() & 0xffffu) << 8;
		int v6 = i % 3 == 0;

		act[i] = (enum route_action)(ROUTE_DIRECT + rand() % 3);
		if (v6)
			snprintf(text, sizeof(text), "2001:db8:%x::/%d",
				 (unsigned)rand() & 0xff, 32 + rand() % 17);
		else
			snprintf(text, sizeof(text), "%u.%u.%u.0/%d", a >> 24,
				 (a >> 16) & 0xff, (a >> 8) & 0xff,
				 8 + rand() % 17);
		CHECK(!cidr_parse(text, &c[i]));
		l.line = i + 1;
		l.argv[0] = "route";
		l.argv[1] = (char *)route_action_name(act[i]);
		l.argv[2] = text;
		CHECK(!route_directive(t, &l, NULL, err, sizeof(err)));
	}
	route_table_finish(t);
	for (j = 0; j < NPROBES; j++) {
		struct sockaddr_storage ss;
		struct route_result r;
		struct addr a;
		socklen_t len;
		int best = -1;

		if (j % 3 == 0)
			snprintf(buf, sizeof(buf), "2001:db8:%x:%x::1",
				 (unsigned)rand() & 0xff,
				 (unsigned)rand() & 0xffff);
		else
			snprintf(buf, sizeof(buf), "10.%u.%u.%u",
				 (unsigned)rand() & 0xff,
				 (unsigned)rand() & 0xff,
				 (unsigned)rand() & 0xff);
		r = addr(t, buf);
		addr_parse_host(buf, &a);
		addr_to_sockaddr(&a, &ss, &len);
		for (i = 0; i < NRULES; i++) {
			if (cidr_match(&c[i], (struct sockaddr *)&ss) &&
			    (best < 0 || c[i].prefix >= c[best].prefix))
				best = i;
		}
		if (best < 0 ? r.rule != 0 || r.action != ROUTE_PROXY :
			       r.rule != (uint32_t)best + 1 ||
				       r.action != act[best])
			bad++;
	}
	CHECK_EQ(bad, 0);
	route_table_unref(t);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_forms();
	test_errors();
	test_reload();
	test_ranges();
	test_against_scan();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary("test_route");
}
