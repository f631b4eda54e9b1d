/* Asynchronous name resolution with c-ares, driven by libev: one ev_io
 * per c-ares socket (made on demand), one ev_timer from ares_timeout(). */
#ifndef COMMON_RESOLVER_H
#define COMMON_RESOLVER_H

#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;
struct resolver;
struct resolve_req;

/* status: 0, or a negative enum resolve_err. addrs (IPv4 and IPv6, in
 * c-ares' preference order, port set) is valid only during the call. */
typedef void (*resolve_cb)(void *arg, int status,
			   const struct sockaddr_storage *addrs, int naddrs);

enum resolve_err {
	RESOLVE_ERR_NOTFOUND = -1, /* no such name, or no address */
	RESOLVE_ERR_TIMEOUT = -2,
	RESOLVE_ERR_FAIL = -3, /* server failure, refused, ... */
};

/* servers: NULL for /etc/resolv.conf, else "ip,ip:port,[v6]:port". */
struct resolver *resolver_new(struct ev_loop *loop, const char *servers,
			      char *err, size_t errlen);
/* The callback may run before this returns; then NULL is returned.
 * Otherwise the returned request can be cancelled until it fires. */
struct resolve_req *resolver_lookup(struct resolver *r, const char *name,
				    uint16_t port, resolve_cb cb, void *arg);
/* Every DNS socket gets this SO_MARK (so firewall rules can tell our
 * own queries apart); 0 for none. */
void resolver_set_mark(struct resolver *r, unsigned mark);
/* The first name server c-ares uses (from `dns` or /etc/resolv.conf),
 * with its port; 0 or -1. */
int resolver_first_server(struct resolver *r, struct sockaddr_storage *ss);
/* The callback will not run; no-op on NULL. */
void resolver_cancel(struct resolve_req *q);
void resolver_free(struct resolver *r);
const char *resolve_strerror(int status);

#endif
