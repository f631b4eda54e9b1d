#include "rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/status.h"
#include "../common/util.h"

#define TABLE "proxy_client"

/* Never redirected: this host, private and special-purpose ranges. */
static const char *const default_exclude4[] = {
	"0.0.0.0/8",      "10.0.0.0/8",     "100.64.0.0/10",
	"127.0.0.0/8",    "169.254.0.0/16", "172.16.0.0/12",
	"192.168.0.0/16", "224.0.0.0/4",    "240.0.0.0/4",
};
static const char *const default_exclude6[] = {
	"::1/128",
	"fe80::/10",
	"fc00::/7",
	"ff00::/8",
};

/* Firewall rules are printed into a buffer the way status is. */
static void add(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_vprintf(b, fmt, ap);
	va_end(ap);
}

static const char *cidr_text(const struct cidr *c, char *s, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->bytes, a, sizeof(a));
	snprintf(s, n, "%s/%d", a, c->prefix);
	return s;
}

/* Every excluded range of one family, as "a, b, c" or one per call. */
static void excludes(const struct rules_params *p, int family,
		     void (*fn)(struct buf *, const char *), struct buf *b)
{
	const char *const *def = family == AF_INET ? default_exclude4 :
						     default_exclude6;
	size_t ndef = family == AF_INET ? ARRAY_SIZE(default_exclude4) :
					  ARRAY_SIZE(default_exclude6);
	char s[64];

	for (size_t i = 0; i < ndef; i++)
		fn(b, def[i]);
	for (int i = 0; i < p->nexclude; i++)
		if (p->exclude[i].family == family)
			fn(b, cidr_text(&p->exclude[i], s, sizeof(s)));
}

/* ---- nft ---- */

static void nft_elem(struct buf *b, const char *c)
{
	add(b, " %s,", c);
}

static void nft_set(struct buf *b, const struct rules_params *p, int family)
{
	add(b,
	    "\tset exclude%d {\n\t\ttype ipv%d_addr; flags interval; "
	    "auto-merge;\n\t\telements = {",
	    family == AF_INET ? 4 : 6, family == AF_INET ? 4 : 6);
	excludes(p, family, nft_elem, b);
	b->tail--; /* the last comma */
	add(b, " }\n\t}\n");
}

/* The direct ranges of one family as an interval set: one lookup per
 * packet however many there are (a country's routes). */
static void nft_direct_set(struct buf *b, const struct rules_params *p, int v6)
{
	if (!p->ndirect[v6])
		return;
	add(b,
	    "\tset direct%d {\n\t\ttype ipv%d_addr; flags interval; "
	    "auto-merge;\n\t\telements = {",
	    v6 ? 6 : 4, v6 ? 6 : 4);
	for (size_t i = 0; i < p->ndirect[v6]; i++)
		add(b, "%s\n\t\t\t%s", i ? "," : "", p->direct[v6][i]);
	add(b, " }\n\t}\n");
}

/* The "leave it alone" lines every chain starts with. */
static void nft_skip(struct buf *b, const struct rules_params *p)
{
	add(b, "\t\tmeta mark 0x%x return\n", REDIR_BYPASS_MARK);
	add(b, "\t\tfib daddr type local return\n");
	add(b, "\t\tip daddr @exclude4 return\n");
	if (p->ndirect[0])
		add(b, "\t\tip daddr @direct4 return\n");
	if (p->ipv6) {
		add(b, "\t\tip6 daddr @exclude6 return\n");
		if (p->ndirect[1])
			add(b, "\t\tip6 daddr @direct6 return\n");
	} else {
		add(b, "\t\tmeta nfproto ipv6 return\n");
	}
}

static void nft_chain(struct buf *b, const char *name, const char *type,
		      const char *hook, const char *prio)
{
	add(b,
	    "\tchain %s {\n\t\ttype %s hook %s priority %s; policy accept;\n",
	    name, type, hook, prio);
}

static void nft_script(struct buf *b, const struct rules_params *p)
{
	add(b, "table inet %s {\n", TABLE);
	nft_set(b, p, AF_INET);
	nft_direct_set(b, p, 0);
	if (p->ipv6) {
		nft_set(b, p, AF_INET6);
		nft_direct_set(b, p, 1);
	}
	if (p->redir_port) {
		nft_chain(b, "redir_output", "nat", "output", "-100");
		nft_skip(b, p);
		add(b, "\t\tmeta l4proto tcp redirect to :%u\n\t}\n",
		    p->redir_port);
		if (p->gateway) {
			nft_chain(b, "redir_prerouting", "nat", "prerouting",
				  "-100");
			nft_skip(b, p);
			add(b, "\t\tmeta l4proto tcp redirect to :%u\n\t}\n",
			    p->redir_port);
		}
	}
	if (p->tproxy_port) {
		/* our own UDP: mark it, so policy routing loops it back in
		 * through lo, where prerouting hands it to TPROXY */
		nft_chain(b, "tproxy_output", "route", "output", "-150");
		nft_skip(b, p);
		add(b, "\t\tmeta l4proto udp meta mark set 0x%x\n\t}\n",
		    REDIR_TPROXY_MARK);
		nft_chain(b, "tproxy_prerouting", "filter", "prerouting",
			  "-150");
		add(b, "\t\tmeta mark 0x%x jump tproxy_take\n",
		    REDIR_TPROXY_MARK);
		if (p->gateway) {
			nft_skip(b, p);
			add(b, "\t\tjump tproxy_take\n");
		}
		add(b, "\t}\n");
		add(b, "\tchain tproxy_take {\n");
		add(b,
		    "\t\tmeta l4proto udp meta nfproto ipv4 tproxy ip to "
		    "127.0.0.1:%u meta mark set 0x%x accept\n",
		    p->tproxy_port, REDIR_TPROXY_MARK);
		if (p->ipv6)
			add(b,
			    "\t\tmeta l4proto udp meta nfproto ipv6 tproxy ip6 "
			    "to [::1]:%u meta mark set 0x%x accept\n",
			    p->tproxy_port, REDIR_TPROXY_MARK);
		add(b, "\t}\n");
	}
	add(b, "}\n");
}

/* ---- iptables ---- */

struct ipt {
	struct buf *b;
	const char *cmd; /* iptables or ip6tables */
	const char *table;
	const char *chain;
};

static struct ipt *cur_ipt;

static void ipt_elem(struct buf *b, const char *c)
{
	add(b, "%s -w -t %s -A %s -d %s -j RETURN\n", cur_ipt->cmd,
	    cur_ipt->table, cur_ipt->chain, c);
}

static void ipt_skip(struct ipt *t, const struct rules_params *p, int family)
{
	int v6 = family == AF_INET6;

	add(t->b, "%s -w -t %s -N %s\n", t->cmd, t->table, t->chain);
	add(t->b, "%s -w -t %s -A %s -m mark --mark 0x%x -j RETURN\n", t->cmd,
	    t->table, t->chain, REDIR_BYPASS_MARK);
	add(t->b, "%s -w -t %s -A %s -m addrtype --dst-type LOCAL -j RETURN\n",
	    t->cmd, t->table, t->chain);
	cur_ipt = t;
	excludes(p, family, ipt_elem, t->b);
	/* one rule per range: for long lists, nft's sets are the fast way */
	for (size_t i = 0; i < p->ndirect[v6]; i++) {
		const char *r = p->direct[v6][i];

		add(t->b, "%s -w -t %s -A %s %s %s -j RETURN\n", t->cmd,
		    t->table, t->chain,
		    strchr(r, '-') ? "-m iprange "
				     "--dst-range" :
				     "-d",
		    r);
	}
}

/* A chain of ours in the current table: the skips, then target for
 * the rest of proto's packets; entered from the chain from. */
static void ipt_chain(struct ipt *t, const struct rules_params *p, int family,
		      const char *chain, const char *from, const char *proto,
		      const char *target)
{
	t->chain = chain;
	ipt_skip(t, p, family);
	add(t->b, "%s -w -t %s -A %s -p %s -j %s\n", t->cmd, t->table, chain,
	    proto, target);
	add(t->b, "%s -w -t %s -A %s -p %s -j %s\n", t->cmd, t->table, from,
	    proto, chain);
}

static void ipt_family(struct buf *b, const struct rules_params *p, int family)
{
	const char *cmd = family == AF_INET ? "iptables" : "ip6tables";
	const char *lo = family == AF_INET ? "127.0.0.1" : "::1";
	struct ipt t = { b, cmd, "nat", NULL };
	char redirect[64], mark[64], tproxy[128];

	snprintf(redirect, sizeof(redirect), "REDIRECT --to-ports %u",
		 p->redir_port);
	snprintf(mark, sizeof(mark), "MARK --set-mark 0x%x", REDIR_TPROXY_MARK);
	snprintf(tproxy, sizeof(tproxy),
		 "TPROXY --on-ip %s --on-port %u --tproxy-mark 0x%x", lo,
		 p->tproxy_port, REDIR_TPROXY_MARK);
	if (p->redir_port) {
		ipt_chain(&t, p, family, "PROXY_REDIR_OUT", "OUTPUT", "tcp",
			  redirect);
		if (p->gateway)
			ipt_chain(&t, p, family, "PROXY_REDIR_PRE",
				  "PREROUTING", "tcp", redirect);
	}
	if (!p->tproxy_port)
		return;
	t.table = "mangle";
	ipt_chain(&t, p, family, "PROXY_TPROXY_OUT", "OUTPUT", "udp", mark);
	add(b, "%s -w -t mangle -N PROXY_TPROXY_PRE\n", cmd);
	add(b,
	    "%s -w -t mangle -A PROXY_TPROXY_PRE -p udp -m mark --mark 0x%x "
	    "-j %s\n",
	    cmd, REDIR_TPROXY_MARK, tproxy);
	if (p->gateway)
		ipt_chain(&t, p, family, "PROXY_TPROXY_GW", "PROXY_TPROXY_PRE",
			  "udp", tproxy);
	add(b, "%s -w -t mangle -A PREROUTING -p udp -j PROXY_TPROXY_PRE\n",
	    cmd);
}

static void ipt_remove(struct buf *b, int family)
{
	const char *cmd = family == AF_INET ? "iptables" : "ip6tables";

	add(b, "%s -w -t nat -D OUTPUT -p tcp -j PROXY_REDIR_OUT\n", cmd);
	add(b, "%s -w -t nat -D PREROUTING -p tcp -j PROXY_REDIR_PRE\n", cmd);
	add(b, "%s -w -t mangle -D OUTPUT -p udp -j PROXY_TPROXY_OUT\n", cmd);
	add(b, "%s -w -t mangle -D PREROUTING -p udp -j PROXY_TPROXY_PRE\n",
	    cmd);
	add(b, "%s -w -t nat -F PROXY_REDIR_OUT\n", cmd);
	add(b, "%s -w -t nat -X PROXY_REDIR_OUT\n", cmd);
	add(b, "%s -w -t nat -F PROXY_REDIR_PRE\n", cmd);
	add(b, "%s -w -t nat -X PROXY_REDIR_PRE\n", cmd);
	add(b, "%s -w -t mangle -F PROXY_TPROXY_OUT\n", cmd);
	add(b, "%s -w -t mangle -X PROXY_TPROXY_OUT\n", cmd);
	add(b, "%s -w -t mangle -F PROXY_TPROXY_PRE\n", cmd);
	add(b, "%s -w -t mangle -X PROXY_TPROXY_PRE\n", cmd);
	add(b, "%s -w -t mangle -F PROXY_TPROXY_GW\n", cmd);
	add(b, "%s -w -t mangle -X PROXY_TPROXY_GW\n", cmd);
}

/* ---- policy routing for TPROXY ---- */

static void route_add(struct buf *b, const struct rules_params *p)
{
	if (!p->tproxy_port)
		return;
	add(b, "ip rule add fwmark 0x%x lookup %d\n", REDIR_TPROXY_MARK,
	    REDIR_ROUTE_TABLE);
	add(b, "ip route add local 0.0.0.0/0 dev lo table %d\n",
	    REDIR_ROUTE_TABLE);
	if (p->ipv6) {
		add(b, "ip -6 rule add fwmark 0x%x lookup %d\n",
		    REDIR_TPROXY_MARK, REDIR_ROUTE_TABLE);
		add(b, "ip -6 route add local ::/0 dev lo table %d\n",
		    REDIR_ROUTE_TABLE);
	}
}

static void route_remove(struct buf *b)
{
	add(b, "ip rule del fwmark 0x%x lookup %d\n", REDIR_TPROXY_MARK,
	    REDIR_ROUTE_TABLE);
	add(b, "ip route flush table %d\n", REDIR_ROUTE_TABLE);
	add(b, "ip -6 rule del fwmark 0x%x lookup %d\n", REDIR_TPROXY_MARK,
	    REDIR_ROUTE_TABLE);
	add(b, "ip -6 route flush table %d\n", REDIR_ROUTE_TABLE);
}

/* Commands, one per line; nft's script separately (its stdin). */
static void build(const struct rules_params *p, int remove, struct buf *cmds,
		  struct buf *script)
{
	if (remove) {
		if (p->nft)
			add(cmds, "nft delete table inet %s\n", TABLE);
		else {
			ipt_remove(cmds, AF_INET);
			ipt_remove(cmds, AF_INET6);
		}
		route_remove(cmds);
		return;
	}
	if (p->nft) {
		nft_script(script, p);
		add(cmds, "nft -f -\n");
	} else {
		ipt_family(cmds, p, AF_INET);
		if (p->ipv6)
			ipt_family(cmds, p, AF_INET6);
	}
	route_add(cmds, p);
}

char *rules_render(const struct rules_params *p)
{
	struct buf out, cmds, script;
	char *s, *line, *save = NULL;

	buf_init(&out, 16u << 20); /* a country's direct routes fit */
	buf_init(&cmds, 16u << 20);
	buf_init(&script, 16u << 20);
	build(p, 0, &cmds, &script);
	add(&out,
	    "#!/bin/sh\n# proxy-client rules: %s, %s, IPv4%s. Undo with "
	    "`proxy-client rules -c PROFILE --remove`.\nset -e\n",
	    p->nft ? "nft" : "iptables",
	    p->gateway ? "this host and the LAN behind it" : "this host",
	    p->ipv6 ? " and IPv6" : "");
	buf_put(&cmds, "", 1);
	for (line = strtok_r((char *)cmds.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "nft -f -")) {
			buf_put(&script, "", 1);
			add(&out, "nft -f - <<'EOF'\n%sEOF\n",
			    (char *)script.data);
		} else {
			add(&out, "%s\n", line);
		}
	}
	buf_put(&out, "", 1);
	s = xstrdup((char *)out.data);
	buf_release(&out);
	buf_release(&cmds);
	buf_release(&script);
	return s;
}

/* Runs one command line (no shell: words split on spaces), feeding it
 * input if given. Exit status, or -1. */
static int run(char *line, const char *input, int quiet)
{
	char *argv[32], *save = NULL;
	int argc = 0, pfd[2] = { -1, -1 }, status;
	pid_t pid;

	for (char *w = strtok_r(line, " ", &save); w && argc < 31;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (!argc || (input && pipe(pfd)))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (input) {
			dup2(pfd[0], 0);
			close(pfd[0]);
			close(pfd[1]);
		}
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (input) {
		size_t len = strlen(input), off = 0;

		close(pfd[0]);
		while (off < len) {
			ssize_t w = write(pfd[1], input + off, len - off);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		close(pfd[1]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_all(const struct rules_params *p, int remove, int quiet,
		   char *err, size_t n)
{
	struct buf cmds, script;
	char *line, *save = NULL;
	int rc = 0;

	buf_init(&cmds, 16u << 20); /* a country's direct routes fit */
	buf_init(&script, 16u << 20);
	build(p, remove, &cmds, &script);
	buf_put(&cmds, "", 1);
	buf_put(&script, "", 1);
	for (line = strtok_r((char *)cmds.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char copy[512];

		snprintf(copy, sizeof(copy), "%s", line);
		if (run(line,
			!strcmp(copy, "nft -f -") ? (char *)script.data : NULL,
			quiet) &&
		    !remove) {
			snprintf(err, n, "failed: %s", copy);
			rc = -1;
			break;
		}
	}
	buf_release(&cmds);
	buf_release(&script);
	return rc;
}

/* Removes our rules in both flavours (either may be left from an
 * earlier run with the other setting); what is not there is no error. */
static void remove_both(const struct rules_params *p, char *err, size_t n)
{
	struct rules_params all = *p;

	all.nft = 1;
	run_all(&all, 1, 1, err, n);
	all.nft = 0;
	run_all(&all, 1, 1, err, n);
}

int rules_apply(const struct rules_params *p, char *err, size_t n)
{
	remove_both(p, err, n); /* an older copy goes first */
	return run_all(p, 0, 0, err, n);
}

int rules_remove(const struct rules_params *p, char *err, size_t n)
{
	remove_both(p, err, n);
	return 0;
}
