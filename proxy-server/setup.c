/* proxy-server setup: one command that takes a first-time VPS owner
 * from nothing to a client profile to fetch. Each step first looks at
 * what exists and keeps it: the PKI (made by pki_init with the names
 * given or the interfaces' addresses), server.conf's listen port, the
 * first client's profile (pki_add_client), the systemd service and the
 * firewall rule. So a second run changes nothing, and says so. */
#include "setup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/addr.h"
#include "../common/util.h"
#include "firewall.h"
#include "pki.h"
#include "run_prog.h"
#include "server_conf.h"

#define SYSTEM_DIR SERVER_CONF_DIR
#define MAX_NAMES 16

void setup_say(const char *fmt, ...)
{
	va_list ap;

	printf("proxy-server setup: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static char *join(const char *dir, const char *file)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, file) < 0) {
		fputs("proxy-server: out of memory\n", stderr);
		abort();
	}
	return path;
}

static int exists(const char *dir, const char *file)
{
	char *path = join(dir, file);
	struct stat st;
	int rc = lstat(path, &st) == 0;

	free(path);
	return rc;
}

/* ---- the server's names ----------------------------------------------- */

/* Addresses a client could reach: up, not loopback, not link-local. */
static int usable(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		uint32_t a = ntohl(s4->sin_addr.s_addr);

		return (a >> 24) != 127 && (a >> 16) != 0xa9fe; /* 169.254 */
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		return !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) &&
		       !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) &&
		       !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
	}
	return 0;
}

static const void *sa_addr(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return &((const struct sockaddr_in6 *)(const void *)sa)
				->sin6_addr;
	return &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
}

/* RFC 1918, shared (RFC 6598) and unique local addresses: a VPS behind
 * NAT has only such on its interfaces, not the public one. */
static int private_addr(const char *s)
{
	struct in_addr a4;
	struct in6_addr a6;
	uint32_t a;

	if (inet_pton(AF_INET6, s, &a6) == 1)
		return (a6.s6_addr[0] & 0xfe) == 0xfc;
	if (inet_pton(AF_INET, s, &a4) != 1)
		return 0;
	a = ntohl(a4.s_addr);
	return (a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
	       (a >> 22) == 0x191;
}

/* The interfaces' addresses, IPv4 first, into NAMES (strings to free);
 * their number. */
static int interface_names(char **names)
{
	struct ifaddrs *ifs, *i;
	char buf[INET6_ADDRSTRLEN];
	int n = 0, fam, k;

	if (getifaddrs(&ifs) < 0)
		return 0;
	for (fam = 0; fam < 2; fam++) {
		for (i = ifs; i && n < MAX_NAMES; i = i->ifa_next) {
			const struct sockaddr *sa = i->ifa_addr;

			if (!sa || !(i->ifa_flags & IFF_UP) ||
			    (i->ifa_flags & IFF_LOOPBACK) ||
			    sa->sa_family != (fam ? AF_INET6 : AF_INET) ||
			    !usable(sa))
				continue;
			inet_ntop(sa->sa_family, sa_addr(sa), buf, sizeof(buf));
			for (k = 0; k < n && strcmp(names[k], buf); k++)
				;
			if (k == n)
				names[n++] = xstrdup(buf);
		}
	}
	freeifaddrs(ifs);
	return n;
}

/* ---- the steps -------------------------------------------------------- */

static int make_pki(const char *dir, const struct setup_opts *o, int *changed)
{
	char *found[MAX_NAMES];
	const char *const *names = o->names;
	struct pki_init_opts io = { .nnames = o->nnames,
				    .days = 3650,
				    .port = o->port ? o->port : 443,
				    .quiet = 1 };
	int i, nfound = 0, priv = 0, rc;

	if (exists(dir, "ca.crt") || exists(dir, "ca.key")) {
		setup_say("%s/ca.crt exists: the PKI is kept as it is%s", dir,
			  o->nnames ? " (--server-name not applied)" : "");
		return 0;
	}
	if (!o->nnames) {
		nfound = interface_names(found);
		names = (const char *const *)found;
		io.nnames = nfound;
		if (!nfound) {
			fprintf(stderr,
				"proxy-server setup: no address on this "
				"machine's interfaces: give --server-name "
				"NAME_OR_IP\n");
			return -1;
		}
	}
	io.names = names;
	rc = pki_init(dir, &io);
	if (rc == 0) {
		*changed = 1;
		printf("proxy-server setup: made a CA and the server "
		       "certificate in %s for",
		       dir);
		for (i = 0; i < io.nnames; i++) {
			printf(" %s", names[i]);
			priv += !o->nnames && private_addr(names[i]);
		}
		printf("\n");
		if (priv == io.nnames)
			setup_say(
				"these addresses are private: if clients reach "
				"this machine by a public address (NAT), remove %s "
				"and run setup again with --server-name PUBLIC_IP",
				dir);
		setup_say("keep %s/ca.key secret: it can make new clients",
			  dir);
	}
	for (i = 0; i < nfound; i++)
		free(found[i]);
	return rc ? -1 : 0;
}

/* The listen port server.conf has, which the profile and the firewall
 * follow; --port only chose it when server.conf was made. */
static int listen_port(const char *dir, const struct setup_opts *o, int made)
{
	int port;

	if (!exists(dir, "server.conf")) {
		fprintf(stderr,
			"proxy-server setup: %s has a CA but no "
			"server.conf: write one (see proxy.conf(5)) or move "
			"%s aside and run setup again\n",
			dir, dir);
		return -1;
	}
	port = pki_listen_port(dir);
	if (port < 0)
		return -1;
	if (made)
		setup_say("%s/server.conf: listen [::]:%d", dir, port);
	else if (o->port && o->port != port)
		setup_say(
			"%s/server.conf exists: kept; it listens on port %d, not "
			"--port %d (edit its listen line to change that)",
			dir, port, o->port);
	else
		setup_say("%s/server.conf exists: kept (listens on port %d)",
			  dir, port);
	return port;
}

static int make_client(const char *dir, const char *name, int *changed)
{
	const struct pki_client_opts co = { .days = 1825, .quiet = 1 };
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "clients/%s.conf", name);
	if (exists(dir, file)) {
		setup_say("%s/%s exists: kept", dir, file);
		return 0;
	}
	if (pki_add_client(dir, name, &co))
		return -1;
	*changed = 1;
	setup_say("made the client profile %s/%s", dir, file);
	return 0;
}

static int systemctl(const char *verb, const char *unit, int show)
{
	const char *const argv[] = { "systemctl", verb, "--quiet", unit, NULL };
	const char *const now[] = { "systemctl", verb, "--now", unit, NULL };
	char out[4096];
	int rc;

	if (!strcmp(verb, "enable")) {
		rc = run_prog(now, out, sizeof(out));
		if (rc && show)
			fprintf(stderr,
				"proxy-server setup: systemctl enable "
				"--now %s failed (exit status %d):\n%s",
				unit, rc, out);
		return rc;
	}
	return run_prog(argv, NULL, 0);
}

static int start_service(const char *dir, const struct setup_opts *o,
			 int *changed)
{
	struct stat st;
	int systemd = lstat("/run/systemd/system", &st) == 0 &&
		      S_ISDIR(st.st_mode) && run_prog_find("systemctl");

	if (strcmp(dir, SYSTEM_DIR) != 0) {
		setup_say(
			"the systemd unit reads %s/server.conf; start this one "
			"with: proxy-server -c %s/server.conf",
			SYSTEM_DIR, dir);
		return 0;
	}
	if (!systemd || o->no_start) {
		setup_say("%s; start the server with: %s",
			  o->no_start ? "--no-start" :
					"systemd does not run here",
			  systemd ? "systemctl enable --now proxy-server" :
				    "proxy-server -c " SYSTEM_DIR
				    "/server.conf "
				    "(under your service manager)");
		return 0;
	}
	if (systemctl("is-enabled", "proxy-server.service", 0) == 0 &&
	    systemctl("is-active", "proxy-server.service", 0) == 0) {
		setup_say(
			"proxy-server.service is already enabled and running");
		return 0;
	}
	if (systemctl("enable", "proxy-server.service", 1))
		return -1;
	*changed = 1;
	setup_say("systemctl enable --now proxy-server: done (journalctl -u "
		  "proxy-server shows its log)");
	return 0;
}

/* The host of the profile's server line, as scp wants it. */
static int profile_host(const char *dir, const char *name, char *host, size_t n)
{
	char *path, line[512], val[ADDR_STR_MAX + 1];
	struct addr a;
	FILE *f;
	int rc = -1;

	if (asprintf(&path, "%s/clients/%s.conf", dir, name) < 0)
		return -1;
	f = fopen(path, "r");
	free(path);
	while (f && rc && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "server %256s", val) != 1 ||
		    addr_parse(val, 443, &a))
			continue;
		if (a.type == ADDR_DOMAIN)
			snprintf(host, n, "%s", a.u.domain);
		else if (inet_ntop(a.type == ADDR_IPV4 ? AF_INET : AF_INET6,
				   &a.u, val, sizeof(val)))
			snprintf(host, n, a.type == ADDR_IPV6 ? "[%s]" : "%s",
				 val);
		rc = 0;
	}
	if (f)
		fclose(f);
	return rc;
}

static void tell_fetch(const char *dir, const char *name)
{
	const struct passwd *pw = getpwuid(geteuid());
	char host[ADDR_STR_MAX + 2] = "SERVER";

	profile_host(dir, name, host, sizeof(host));
	printf("\nOn the client machine, fetch the profile (it holds a "
	       "private key: keep it to yourself) and start the client:\n"
	       "  scp %s@%s:%s/clients/%s.conf .\n"
	       "  proxy-client -c %s.conf     # SOCKS5 on 127.0.0.1:1080\n"
	       "More clients: proxy-server add-client %s NAME (--print "
	       "writes the profile to stdout).\n",
	       pw ? pw->pw_name : "root", host, dir, name, name, dir);
}

int setup_run(const struct setup_opts *o)
{
	const char *name = o->client ? o->client : "client1";
	char dir[PATH_MAX];
	int changed = 0, made, port;

	if (o->port < 0 || o->port > 65535) {
		fprintf(stderr, "proxy-server setup: bad --port %d\n", o->port);
		return 1;
	}
	/* absolute, for the scp line and the comparison with SYSTEM_DIR */
	if (mkdir(o->dir ? o->dir : SYSTEM_DIR, 0700) < 0 && errno != EEXIST) {
		perror(o->dir ? o->dir : SYSTEM_DIR);
		return 1;
	}
	if (!realpath(o->dir ? o->dir : SYSTEM_DIR, dir)) {
		perror(o->dir ? o->dir : SYSTEM_DIR);
		return 1;
	}
	made = !exists(dir, "ca.crt") && !exists(dir, "ca.key");
	if (make_pki(dir, o, &changed) < 0 ||
	    (port = listen_port(dir, o, made)) < 0 ||
	    make_client(dir, name, &changed) < 0 ||
	    start_service(dir, o, &changed) < 0)
		return 1;
	if (o->open_firewall) {
		if (firewall_open(port, &changed) < 0)
			return 1;
	} else {
		firewall_advice(port);
	}
	setup_say(
		"also allow TCP port %d (and UDP %d for the datagram path) in "
		"your provider's firewall or security group, if it has one",
		port, port);
	if (!changed)
		setup_say("nothing changed: everything was already in place");
	tell_fetch(dir, name);
	return 0;
}
