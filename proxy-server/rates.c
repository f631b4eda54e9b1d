#include "rates.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "named.h"

_Static_assert(offsetof(struct rate_rule, name) == 0,
	       "named.h: the name comes first");

static int parse_rate(const char *s, uint64_t *rate, char *err, size_t n)
{
	unsigned long v;
	size_t len = strlen(s);
	char buf[32];

	if (!strcmp(s, "off")) {
		*rate = 0;
		return 0;
	}
	/* "2M/s" reads as well as "2M" */
	if (len >= 2 && len < sizeof(buf) && !strcmp(s + len - 2, "/s")) {
		memcpy(buf, s, len - 2);
		buf[len - 2] = '\0';
		s = buf;
	}
	if (conf_parse_size(s, &v) || v < RATE_MIN) {
		snprintf(err, n,
			 "bad rate '%s' (want bytes per second, at "
			 "least 16K, e.g. 2M for 2 MiB/s, or off)",
			 s);
		return -1;
	}
	*rate = v;
	return 0;
}

int rate_directive(struct rate_table *t, const struct conf_line *l, char *err,
		   size_t n)
{
	uint64_t rate;
	int i;

	if (!strcmp(l->argv[0], "rate-default"))
		return parse_rate(l->argv[1], &t->dflt, err, n);
	if (parse_rate(l->argv[2], &rate, err, n))
		return -1;
	/* the last line for a name wins */
	i = named_slot(&t->rules, &t->n, sizeof(*t->rules), l->argv[1]);
	t->rules[i].rate = rate;
	return 0;
}

uint64_t rate_for(const struct rate_table *t, const char *name)
{
	int i = named_find(t->rules, t->n, sizeof(*t->rules), name);

	return i < 0 ? t->dflt : t->rules[i].rate;
}

void rate_table_free(struct rate_table *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->rules[i].name);
	free(t->rules);
	memset(t, 0, sizeof(*t));
}
