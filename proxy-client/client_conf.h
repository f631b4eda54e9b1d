/* proxy-client's configuration: the shared tunnel directives plus the
 * server to reach and the local SOCKS5 service (conf/client.conf). */
#ifndef PROXY_CLIENT_CLIENT_CONF_H
#define PROXY_CLIENT_CLIENT_CONF_H

#include <stddef.h>

#include "../common/addr.h"
#include "../common/tunnel_conf.h"

struct route_table;

struct socks_user {
	char *name;
	char *pass;
};

struct client_conf {
	struct tunnel_conf tc; /* first: the shared handlers cast to it */
	struct addr server;
	char *server_name; /* what the server certificate must carry */
	struct addr socks;
	struct socks_user *users;
	int nusers;
	struct cidr *allow;
	int nallow;
	double connect_timeout;
	int fast_open;           /* SOCKS CONNECT: "succeeded" before the server
				* says so, data follows the open at once */
	struct addr redir;       /* TCP REDIRECT listener; type 0 when off */
	struct addr tproxy;      /* UDP TPROXY listener; type 0 when off */
	unsigned max_udp_assocs; /* TPROXY: local sources kept at once */
	unsigned max_udp_peers;  /* TPROXY: reply sockets kept at once */
	double udp_timeout;      /* TPROXY: idle associations and sockets go */
	struct cidr *exclude;    /* never redirected, beyond the defaults */
	int nexclude;
	struct addr dns_listen; /* DNS forwarder (UDP and TCP); type 0: off */
	struct addr dns_server; /* 0.0.0.0:53 = the server's own resolver */
	struct route_table *routes; /* split routing (route.h), finished */
	unsigned dns_memo_max;      /* forwarder answers kept (dns_memo.h) */
	double dns_memo_ttl_min;    /* kept at least this long, seconds */
};

/* Reads path; on failure err holds "file:line: what". 0 or -1. */
int client_conf_load(struct client_conf *c, const char *path, char *err,
		     size_t n);
/* Checks that need the final values (after command-line overrides). */
int client_conf_check(const struct client_conf *c, char *err, size_t n);
void client_conf_free(struct client_conf *c);
/* The control socket of a profile without loading its keys. */
char *client_conf_control_path(const char *path, char *err, size_t n);

#endif
