/* Which destinations clients may reach: the allow/deny CIDR rules of the
 * config in order, first match wins, then the built-in refusals (this
 * host, loopback, link-local, multicast, broadcast and the cloud metadata
 * addresses), then allow. An IPv6 address that embeds an IPv4 one
 * (mapped, compatible, NAT64, 6to4, Teredo) is allowed only if the IPv4
 * address is too, each decided the same way. */
#ifndef PROXY_SERVER_POLICY_H
#define PROXY_SERVER_POLICY_H

#include <stdbool.h>
#include <sys/socket.h>

#include "../common/addr.h"

struct policy_rule {
	struct cidr net;
	bool allow;
};

struct policy {
	struct policy_rule *rules;
	int n;
};

void policy_add(struct policy *p, const struct cidr *net, bool allow);
bool policy_allows(const struct policy *p, const struct sockaddr *sa);
void policy_free(struct policy *p);

#endif
