/* Split routing at run time: the current rule table (route.h), swapped
 * whole by a reload; the decision for a flow's destination, resolving a
 * name on the client (c-ares) when only its address can decide; and the
 * counters `status` shows, per direction and per rule. A flow keeps a
 * tag (its rule, and a reference to the rules it was decided by) until
 * it ends, so a reload under it changes nothing for it. */
#ifndef PROXY_CLIENT_ROUTER_H
#define PROXY_CLIENT_ROUTER_H

#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/addr.h"
#include "../common/buf.h"
#include "client_conf.h"
#include "route.h"

struct router;
struct router_req;
struct route_gen;

struct route_tag {
	struct route_gen *gen; /* NULL: no tag */
	uint32_t rule;
	enum route_action action;
};

/* The decision on a destination. For direct, addrs (port set) are where
 * to connect; none when the name did not resolve (status says why). */
struct route_verdict {
	struct route_tag tag;
	const struct sockaddr_storage *addrs;
	int naddrs;
	int status; /* 0 or a resolve_err */
};

typedef void (*router_cb)(void *arg, const struct route_verdict *v);

/* Takes a reference to conf->routes. NULL with err on failure. */
struct router *router_new(struct ev_loop *loop, const struct client_conf *conf,
			  char *err, size_t n);
void router_free(struct router *r);
/* Reads the profile at path again and takes its rules; the old ones stay
 * when it does not load (logged either way). */
void router_reload(struct router *r, const char *path);

/* The decision for a TCP destination (an address: what the forwarder
 * remembers of it, else the address rules); cb may run before this returns,
 * then NULL is returned, else the request may be cancelled until then.
 * The verdict's tag is the caller's (router_tag_end()). */
struct router_req *router_decide(struct router *r, const struct addr *dst,
				 router_cb cb, void *arg);
void router_cancel(struct router_req *q);
/* A datagram's decision, at once: a name no name rule covers follows
 * the default. Counted as bytes of its rule. */
struct route_result router_datagram(struct router *r, const struct addr *dst,
				    size_t len);
/* A DNS query for name (dns-direct): 1 when a rule sends it direct,
 * with *server its name server and *tag the caller's (one flow of the
 * rule; router_tag_end() with the query's and the answer's bytes);
 * else 0: through the tunnel, nothing counted. */
int router_dns(struct router *r, const char *name, struct route_tag *tag,
	       struct sockaddr_storage *server);
/* An answer the DNS forwarder hands out: when a name rule decides the
 * name asked (else via, the dns-direct rule it was asked under, or
 * NULL), the addresses of its A and AAAA records are remembered under
 * that rule for their TTL, at least dns-memo's MIN-TTL (dns_memo.h):
 * until then router_decide() and router_datagram() decide a flow to one
 * of them by that rule, before the address rules. A reload forgets
 * them. */
void router_dns_answer(struct router *r, const uint8_t *msg, size_t len,
		       const struct route_tag *via);
/* Whether the rules have any dns-direct line now. */
int router_has_dns_rules(const struct router *r);
/* A datagram back from peer through the tunnel or a direct socket. */
void router_count_reply(struct router *r, const struct sockaddr *peer,
			enum route_action via, size_t len);

/* "direct by FILE:LINE"; returns buf. */
const char *router_tag_str(const struct route_tag *tag, char *buf, size_t n);
/* A flow's bytes to its rule and direction; drops the tag. */
void router_tag_end(struct route_tag *tag, uint64_t up, uint64_t down);

/* The resolver and SO_MARK for direct sockets; the connect timeout. */
struct resolver *router_resolver(struct router *r);
unsigned router_mark(const struct router *r);

/* Per direction and per rule: a table, or a JSON object. */
void router_status(struct router *r, struct buf *b, int json);

#endif
