/* proxy-server's configuration: the shared tunnel directives plus
 * listen, crl, dns, allow/deny and timeouts (conf/server.conf). */
#ifndef PROXY_SERVER_SERVER_CONF_H
#define PROXY_SERVER_SERVER_CONF_H

#include <stddef.h>
#include <sys/types.h>

#include "../common/addr.h"
#include "../common/tunnel_conf.h"
#include "budget.h"
#include "policy.h"
#include "preauth.h"
#include "quota.h"
#include "rates.h"

/* Where the accounting store lives unless state-dir says otherwise: the
 * systemd unit's StateDirectory. */
#define SERVER_STATE_DIR "/var/lib/proxy"
/* The configuration directory the systemd unit reads. */
#define SERVER_CONF_DIR "/etc/proxy"

struct server_conf {
	struct tunnel_conf tc; /* first: the shared handlers cast to it */
	struct addr *listen;
	int nlisten;
	int listen_from_cmdline; /* --listen replaced the file's */
	char *crl_path;
	int crl_line; /* where crl was set, for messages */
	char *dns;    /* "ip,ip:port,..." for c-ares, or NULL */
	struct policy policy;
	double connect_timeout;
	double udp_timeout;    /* idle UDP association on our side */
	double shutdown_grace; /* SIGTERM: how long flows may finish */
	unsigned workers;      /* event loops (threads); 0: one per CPU */
	unsigned max_tunnels;
	unsigned max_tunnels_per_user;
	unsigned max_flows;        /* per tunnel */
	struct budget_conf budget; /* over all tunnels; 0s derived at start */
	unsigned max_udp_assocs; /* per tunnel, counted apart from flows too */
	unsigned max_udp_peers;  /* destinations per association */
	char *user, *group;      /* drop root to these after start-up */
	uid_t uid;               /* of user, looked up when the file is read */
	gid_t gid;               /* of group, else user's own group */
	struct addr fallback;    /* probe resistance: type 0 when off */
	struct preauth_limits startups; /* connections not authenticated yet */
	double first_byte_timeout;      /* silence allowed after accept */
	char *state_dir;                /* the accounting store's folder */
	double account_flush;           /* seconds between flushes of counts */
	struct quota_table quotas;
	struct rate_table rates;
	double clock_offset; /* --test-clock: added to the wall clock */
};

/* Workers, at most (each holds a few descriptors and a loop). */
#define SERVER_WORKERS_MAX 256
/* The workers c asks for: `workers auto` is the CPUs there are. */
unsigned server_conf_workers(const struct server_conf *c);

/* Reads path; on failure err holds "file:line: what". 0 or -1. */
int server_conf_load(struct server_conf *c, const char *path, char *err,
		     size_t n);
void server_conf_free(struct server_conf *c);
/* The port of the first listen line (443 without one), reading nothing
 * else of the file; -1 with err set when it is bad. */
int server_conf_listen_port(const char *path, char *err, size_t n);
/* The control socket of a config without loading its keys. */
char *server_conf_control_path(const char *path, char *err, size_t n);

#endif
