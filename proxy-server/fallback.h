/* Probe resistance (`fallback HOST:PORT`): a connection that completes
 * a TLS handshake without a client certificate is relayed to an ordinary
 * local web server, and one that does not speak TLS gets a 400, so a
 * prober sees an HTTPS web site and nothing else. */
#ifndef PROXY_SERVER_FALLBACK_H
#define PROXY_SERVER_FALLBACK_H

#include <ev.h>

#include "../common/addr.h"

struct fallback;
struct tls;

/* site: the web server; at most max_visitors are served at once. */
struct fallback *fallback_new(struct ev_loop *loop, const struct addr *site,
			      unsigned max_visitors);
/* A TLS visitor without a client certificate: relayed to the site.
 * Takes fd and tls. */
void fallback_relay(struct fallback *fb, int fd, struct tls *tls,
		    const char *peer);
/* A visitor whose first byte does not start a TLS handshake: answered
 * 400, as an HTTPS server would. Takes fd. */
void fallback_not_tls(struct fallback *fb, int fd, const char *peer);
/* Closes every connection it holds. NULL is fine. */
void fallback_free(struct fallback *fb);

#endif
