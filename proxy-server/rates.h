/* Rate caps: the `rate NAME RATE` and `rate-default RATE` directives.
 * A RATE is bytes per second with the sizes' suffixes (2M: 2 MiB/s),
 * each direction capped on its own; `off` lifts the default for one
 * name. The buckets themselves are the accounts' (account.c). */
#ifndef PROXY_SERVER_RATES_H
#define PROXY_SERVER_RATES_H

#include <stdint.h>

#include "../common/conf.h"

/* Below this a paused flow would wait seconds for its next window. */
#define RATE_MIN (16u << 10)

struct rate_rule {
	char *name;
	uint64_t rate; /* bytes per second each way; 0: none */
};

struct rate_table {
	struct rate_rule *rules;
	int n;
	uint64_t dflt; /* 0: no default */
};

/* The `rate NAME RATE` and `rate-default RATE` directives. */
int rate_directive(struct rate_table *t, const struct conf_line *l, char *err,
		   size_t n);
/* NAME's cap in bytes per second: its own, else the default; 0: none. */
uint64_t rate_for(const struct rate_table *t, const char *name);
void rate_table_free(struct rate_table *t);

#endif
