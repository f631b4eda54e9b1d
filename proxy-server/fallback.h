/* Probe resistance (`fallback HOST:PORT`): a connection that does not
 * start a TLS handshake, or completes one without a client certificate,
 * is relayed to an ordinary local web server, so a prober sees a web
 * site and nothing else. */
#ifndef PROXY_SERVER_FALLBACK_H
#define PROXY_SERVER_FALLBACK_H

#include <ev.h>

#include "../common/addr.h"

struct fallback;
struct tls;

/* A connection whose first byte starts a TLS handshake: the caller's. */
typedef void fallback_tls_fn(void *arg, int fd, const char *peer);

/* site: the web server. A connection gets sniff_timeout seconds to send
 * its first byte; at most max_visitors are relayed at once. */
struct fallback *fallback_new(struct ev_loop *loop, const struct addr *site,
			      double sniff_timeout, unsigned max_visitors,
			      fallback_tls_fn *tls_cb, void *arg);
/* Looks at fd's first byte, then hands it to tls_cb or to the site.
 * -1 (fd untouched) when max_visitors are being relayed already. */
int fallback_sniff(struct fallback *fb, int fd, const char *peer);
/* Relays a visitor (tls NULL: raw bytes on fd) to the site; takes fd
 * and tls. */
void fallback_relay(struct fallback *fb, int fd, struct tls *tls,
		    const char *peer);
/* Closes every connection it holds. NULL is fine. */
void fallback_free(struct fallback *fb);

#endif
