/* make bench-route: the split routing table at the size issue 21 asks
 * for. Writes 10,000 CIDRs and 100,000 names into rule files in a temp
 * folder, loads them through the config parser, and prints the load
 * time, the memory it took (RSS and heap growth) and the median and p99
 * time of a million decisions (half addresses, half names, each timed
 * alone; the clock's own cost is printed so it can be taken off).
 *
 *   route_bench [CIDRS [NAMES [LOOKUPS]]] */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/conf.h"
#include "../../common/util.h"
#include "../../proxy-client/route.h"

static char dir[] = "/tmp/route_bench.XXXXXX";
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* In use, counting the large blocks malloc maps on their own. */
static size_t heap_bytes(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

static void random_name(char *out, size_t n)
{
	static const char *const tld[] = { "com", "net", "org", "edu",
					   "cn",  "de",  "io",  "example" };
	size_t len = 0;
	int labels = 1 + (int)(rnd() % 3), i, j;

	for (i = 0; i < labels; i++) {
		int ll = 3 + (int)(rnd() % 8);

		for (j = 0; j < ll && len + 2 < n; j++)
			out[len++] = (char)('a' + rnd() % 26);
		out[len++] = '.';
	}
	snprintf(out + len, n - len, "%s", tld[rnd() % ARRAY_SIZE(tld)]);
}

static FILE *create(const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

/* nets.txt, names.txt, and a profile that routes them. The names are
 * kept in names[] for the lookups. */
static void generate(int ncidr, int nname, char (*names)[64])
{
	FILE *f = create("nets.txt");
	int i;

	fprintf(f, "# %d generated networks\n", ncidr);
	for (i = 0; i < ncidr; i++) {
		uint32_t a = rnd() << 8 ^ rnd();

		if (i % 5 == 4)
			fprintf(f, "2001:db8:%x:%x::/%u\n", rnd() & 0xffff,
				rnd() & 0xffff, 32 + rnd() % 33);
		else
			fprintf(f, "%u.%u.%u.%u/%u\n", a >> 24,
				(a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff,
				8 + rnd() % 25);
	}
	fclose(f);
	f = create("names.txt");
	for (i = 0; i < nname; i++) {
		random_name(names[i], sizeof(names[i]));
		fprintf(f, "%s:%s\n", i % 10 ? "domain" : "full", names[i]);
	}
	fclose(f);
	f = create("client.conf");
	fprintf(f, "route-default proxy\n"
		   "route-file direct nets.txt\n"
		   "route-file direct names.txt\n"
		   "route proxy 10.1.0.0/16 domain:example\n"
		   "route block 10.1.2.0/24 full:ads.example\n");
	fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *ns, size_t n)
{
	qsort(ns, n, sizeof(*ns), cmp_double);
	printf("%-18s median %6.0f ns   p99 %6.0f ns   (%zu lookups)\n", what,
	       ns[n / 2], ns[n * 99 / 100], n);
}

union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* Half of the addresses near the rules (10.x, 2001:db8::), some IPv4
 * as mapped IPv6; half of the names under a rule's name. */
static void make_probes(union sa *sa, char (*q)[80], size_t n,
			char (*names)[64], int nname)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t a = i % 2 ? rnd() << 8 ^ rnd() : 0x0a000000u | rnd();

		memset(&sa[i], 0, sizeof(sa[i]));
		if (i % 5 == 4) {
			sa[i].in6.sin6_family = AF_INET6;
			for (int k = 0; k < 16; k++)
				sa[i].in6.sin6_addr.s6_addr[k] = (uint8_t)rnd();
			memcpy(sa[i].in6.sin6_addr.s6_addr, "\x20\x01\x0d\xb8",
			       i % 2 ? 4 : 0);
		} else if (i % 5 == 3) {
			sa[i].in6.sin6_family = AF_INET6;
			sa[i].in6.sin6_addr.s6_addr[10] = 0xff;
			sa[i].in6.sin6_addr.s6_addr[11] = 0xff;
			put_be32(sa[i].in6.sin6_addr.s6_addr + 12, a);
		} else {
			sa[i].in.sin_family = AF_INET;
			sa[i].in.sin_addr.s_addr = htonl(a);
		}
		if (i % 2)
			snprintf(q[i], sizeof(q[i]), "www%u.%s", rnd() % 100,
				 names[rnd() % (uint32_t)nname]);
		else
			random_name(q[i], sizeof(q[i]));
	}
}

int main(int argc, char **argv)
{
	int ncidr = argc > 1 ? atoi(argv[1]) : 10000;
	int nname = argc > 2 ? atoi(argv[2]) : 100000;
	size_t nlook = argc > 3 ? (size_t)atol(argv[3]) : 1000000, half, i;
	char(*names)[64], (*q)[80], err[CONF_ERR_MAX], path[256];
	struct route_table *t;
	long rss0, rss1;
	size_t heap0, heap1;
	double t0, t1, *ns, clk, sink = 0;
	union sa *sa;
	struct route_result r;

	if (ncidr < 1 || nname < 1 || nlook < 2 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: route_bench [CIDRS [NAMES "
				"[LOOKUPS]]]\n");
		return 2;
	}
	names = xcalloc((size_t)nname, sizeof(*names));
	generate(ncidr, nname, names);
	snprintf(path, sizeof(path), "%s/client.conf", dir);

	rss0 = rss_kib();
	heap0 = heap_bytes();
	t0 = now_ns();
	t = route_load(path, dir, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t1 = now_ns();
	heap1 = heap_bytes();
	rss1 = rss_kib();
	printf("rules              %d CIDRs, %d names, %u rules\n", ncidr,
	       nname, route_rule_count(t));
	printf("load               %.1f ms\n", (t1 - t0) / 1e6);
	printf("memory             heap +%.2f MiB, RSS +%.2f MiB\n",
	       (double)(heap1 - heap0) / (1 << 20), (rss1 - rss0) / 1024.0);

	half = nlook / 2;
	sa = xcalloc(half, sizeof(*sa));
	q = xcalloc(half, sizeof(*q));
	ns = xcalloc(half, sizeof(*ns));
	make_probes(sa, q, half, names, nname);
	for (i = 0; i < half; i++) {
		t0 = now_ns();
		t1 = now_ns();
		ns[i] = t1 - t0;
	}
	qsort(ns, half, sizeof(*ns), cmp_double);
	clk = ns[half / 2];
	printf("clock_gettime      median %6.0f ns (included below)\n", clk);
	for (i = 0; i < half; i++) {
		t0 = now_ns();
		r = route_decide_addr(t, &sa[i].sa);
		t1 = now_ns();
		ns[i] = t1 - t0;
		sink += r.rule;
	}
	report("decide address", ns, half);
	for (i = 0; i < half; i++) {
		t0 = now_ns();
		r = route_decide_name(t, q[i]);
		t1 = now_ns();
		ns[i] = t1 - t0;
		sink += r.rule;
	}
	report("decide name", ns, half);
	t0 = now_ns();
	for (i = 0; i < half; i++) {
		sink += route_decide_addr(t, &sa[i].sa).rule;
		sink += route_decide_name(t, q[i]).rule;
	}
	t1 = now_ns();
	printf("both, untimed      mean %6.0f ns a decision (%s)\n",
	       (t1 - t0) / (2.0 * half), sink > 0 ? "ok" : "no match?");

	route_table_unref(t);
	free(names);
	free(sa);
	free(q);
	free(ns);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	return system(path) ? 1 : 0;
}
