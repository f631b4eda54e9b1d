/* The firewall rule sets that feed the redirector: printed for the user
 * to read, or applied and removed (`proxy-client rules`). Everything sits
 * in a table (nft) or chains (iptables) of our own plus one policy
 * routing rule, so removal leaves the user's other rules alone. */
#ifndef REDIR_RULES_H
#define REDIR_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

/* Packets of our own sockets (tunnel, DNS, TPROXY replies) carry this
 * mark, and the rules let them pass untouched. */
#define REDIR_BYPASS_MARK 0x2e
/* UDP to be taken by TPROXY is marked so and routed to lo by a table of
 * its own. */
#define REDIR_TPROXY_MARK 0x2f
#define REDIR_ROUTE_TABLE 47

struct rules_params {
	int nft;     /* else iptables */
	int gateway; /* also traffic from other machines */
	int ipv6;
	uint16_t redir_port;        /* 0: no TCP rules */
	uint16_t tproxy_port;       /* 0: no UDP rules */
	const struct cidr *exclude; /* server and user ranges */
	int nexclude;
	/* What the split routing rules send direct ("10.0.0.0/8" or
	 * "FIRST-LAST"), [0] IPv4, [1] IPv6: never redirected, so direct
	 * traffic leaves by the kernel's routes and never reaches us. */
	char **direct[2];
	size_t ndirect[2];
};

/* The rule set as a shell script (heap string). */
char *rules_render(const struct rules_params *p);
/* Puts the rules in place (removing an older copy first), or takes them
 * away. 0, or -1 with the failing command in err. */
int rules_apply(const struct rules_params *p, char *err, size_t n);
int rules_remove(const struct rules_params *p, char *err, size_t n);

#endif
