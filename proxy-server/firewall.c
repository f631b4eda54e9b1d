/* Opening the server's port in this machine's firewall (setup
 * --open-firewall): TCP for the tunnel and UDP for the datagram path
 * (udp-path, on by default; without UDP the client falls back to TCP). The tools are driven through their command lines,
 * as an admin would: ufw when it is active (it owns the rules then),
 * else nft (which also sees what iptables-nft made), else legacy
 * iptables. Each first looks for an accept rule for the port and adds
 * one only when there is none. */
#include "firewall.h"

#include <stdio.h>
#include <string.h>

#include "run_prog.h"
#include "setup.h"

#define OUT_MAX (256 * 1024)

static char out[OUT_MAX]; /* what the last tool printed */

static int tool_failed(const char *what, int rc)
{
	fprintf(stderr, "proxy-server setup: %s failed (exit status %d)%s%s",
		what, rc, out[0] ? ":\n" : "\n", out);
	return -1;
}

/* ---- ufw -------------------------------------------------------------- */

static int ufw_active(void)
{
	const char *const argv[] = { "ufw", "status", NULL };

	return run_prog(argv, out, sizeof(out)) == 0 &&
	       strncmp(out, "Status: active", 14) == 0;
}

static int ufw_open(const char *proto, int port, int *changed)
{
	char rule[16];
	const char *const argv[] = { "ufw", "allow", rule, NULL };
	int rc;

	snprintf(rule, sizeof(rule), "%d/%s", port, proto);
	rc = run_prog(argv, out, sizeof(out));
	if (rc)
		return tool_failed("ufw allow", rc);
	if (strstr(out, "Skipping")) {
		setup_say("ufw already allows %s", rule);
	} else {
		setup_say("ufw allow %s: done", rule);
		*changed = 1;
	}
	return 0;
}

/* ---- iptables --------------------------------------------------------- */

/* PROG (iptables or ip6tables): an ACCEPT rule for PROTO PORT at the
 * top of INPUT unless -C finds one. */
static int ipt_open(const char *prog, const char *proto, int port, int *changed)
{
	char p[8];
	const char *const check[] = { prog, "-w",     "-C",      "INPUT",
				      "-p", proto,    "--dport", p,
				      "-j", "ACCEPT", NULL };
	const char *const insert[] = { prog, "-w",     "-I",      "INPUT",
				       "-p", proto,    "--dport", p,
				       "-j", "ACCEPT", NULL };
	int rc;

	snprintf(p, sizeof(p), "%d", port);
	if (!run_prog_find(prog))
		return 0;
	if (run_prog(check, out, sizeof(out)) == 0) {
		setup_say("%s: INPUT already accepts %s port %d", prog, proto,
			  port);
		return 0;
	}
	rc = run_prog(insert, out, sizeof(out));
	if (rc)
		return tool_failed(prog, rc);
	setup_say("%s -I INPUT -p %s --dport %d -j ACCEPT: done", prog, proto,
		  port);
	*changed = 1;
	return 0;
}

static int ipt_is_legacy(void)
{
	const char *const argv[] = { "iptables", "-V", NULL };

	return run_prog(argv, out, sizeof(out)) == 0 &&
	       strstr(out, "legacy") != NULL;
}

/* ---- nft -------------------------------------------------------------- */

struct chain {
	char family[16], table[64], name[64];
};

static int nft_open_chain(const struct chain *c, const char *proto, int port,
			  int *changed)
{
	char p[8], want[48];
	const char *const list[] = { "nft",    "list",  "chain", c->family,
				     c->table, c->name, NULL };
	const char *const insert[] = { "nft",    "insert", "rule", c->family,
				       c->table, c->name,  proto,  "dport",
				       p,        "accept", NULL };
	int rc;

	snprintf(p, sizeof(p), "%d", port);
	/* the rule as `nft list` prints it */
	snprintf(want, sizeof(want), "%s dport %d accept", proto, port);
	rc = run_prog(list, out, sizeof(out));
	if (rc)
		return tool_failed("nft list chain", rc);
	if (strstr(out, want)) {
		setup_say("nft chain %s %s %s already accepts %s port %d",
			  c->family, c->table, c->name, proto, port);
		return 0;
	}
	rc = run_prog(insert, out, sizeof(out));
	if (rc)
		return tool_failed("nft insert rule", rc);
	setup_say("nft insert rule %s %s %s %s dport %d accept: done",
		  c->family, c->table, c->name, proto, port);
	*changed = 1;
	return 0;
}

/* Every base chain on the input hook of an ip, ip6 or inet table, read
 * from `nft list chains`; a chain iptables-nft made (ip/ip6 filter
 * INPUT) goes through iptables so that iptables can still list it. */
static int nft_open(const char *proto, int port, int *changed)
{
	const char *const argv[] = { "nft", "list", "chains", NULL };
	struct chain c[32], cur = { "", "", "" };
	char *line, *save = NULL;
	int n = 0, rc = 0, i, found = 0;

	rc = run_prog(argv, out, sizeof(out));
	if (rc)
		return tool_failed("nft list chains", rc);
	for (line = strtok_r(out, "\n", &save); line && n < 32;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, " table %15s %63s {", cur.family, cur.table) ==
		    2)
			continue;
		if (sscanf(line, " chain %63s {", cur.name) == 1)
			continue;
		if (strstr(line, " hook input ") &&
		    (!strcmp(cur.family, "ip") || !strcmp(cur.family, "ip6") ||
		     !strcmp(cur.family, "inet")))
			c[n++] = cur;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		found = 1;
		if (!strcmp(c[i].table, "filter") &&
		    !strcmp(c[i].name, "INPUT") &&
		    strcmp(c[i].family, "inet") &&
		    run_prog_find(c[i].family[2] ? "ip6tables" : "iptables"))
			rc = ipt_open(c[i].family[2] ? "ip6tables" : "iptables",
				      proto, port, changed);
		else
			rc = nft_open_chain(&c[i], proto, port, changed);
	}
	if (!found)
		setup_say("nft: no input chain here, nothing blocks %s port %d",
			  proto, port);
	return rc;
}

/* ---- choosing the tool ------------------------------------------------ */

static int open_proto(const char *proto, int port, int *changed, int *any)
{
	int rc = 0;

	if (run_prog_find("ufw") && ufw_active()) {
		*any = 1;
		return ufw_open(proto, port, changed);
	}
	if (run_prog_find("nft")) {
		*any = 1;
		rc = nft_open(proto, port, changed);
	}
	/* legacy iptables rules are invisible to nft */
	if (rc == 0 && run_prog_find("iptables") &&
	    (!*any || ipt_is_legacy())) {
		*any = 1;
		rc = ipt_open("iptables", proto, port, changed);
		if (rc == 0)
			rc = ipt_open("ip6tables", proto, port, changed);
	}
	return rc;
}

int firewall_open(int port, int *changed)
{
	int any = 0;
	int rc = open_proto("tcp", port, changed, &any);

	if (rc == 0)
		rc = open_proto("udp", port, changed, &any);
	if (!any)
		setup_say(
			"no ufw, nft or iptables here: no firewall to open for "
			"port %d",
			port);
	return rc;
}

void firewall_advice(int port)
{
	printf("proxy-server setup: open TCP port %d in this machine's firewall "
	       "if it has one, and UDP port %d for the datagram path (rerun "
	       "with --open-firewall, or: ufw allow %d/tcp; nft insert rule "
	       "inet filter input tcp dport %d accept; iptables -I INPUT -p "
	       "tcp --dport %d -j ACCEPT; the same with udp)\n",
	       port, port, port, port, port);
}
