/* SIGHUP: what of server.conf a running server takes over from a fresh
 * read of the file, and what only a restart changes (the sockets, the
 * user, the keys, the store, the sizes the descriptor budget was cut
 * to at start). Pure: no I/O, no logging. */
#ifndef PROXY_SERVER_CONF_RELOAD_H
#define PROXY_SERVER_CONF_RELOAD_H

#include <stddef.h>

#include "server_conf.h"

/* The directives fresh sets otherwise than live among those a restart
 * needs, comma-separated into buf ("" when none). */
void conf_reload_fixed(const struct server_conf *live,
		       const struct server_conf *fresh, char *buf, size_t n);
/* Moves every setting that may change at run time from fresh into live;
 * fresh gets live's old values in exchange, for server_conf_free()
 * once nothing points into them any more (the accounts' quotas). */
void conf_reload_apply(struct server_conf *live, struct server_conf *fresh);

#endif
