/* The name rules. One hash per name, taken over its bytes from the last
 * to the first (FNV-1a): a suffix's hash is then the running value at
 * the label boundary where it starts, so looking up every suffix of
 * a.b.example.edu costs one pass over it plus a probe per label. */
#include "route_names.h"

#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

int route_name_parse(const char *in, char *out)
{
	size_t len = strlen(in), i, label = 0;

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > ROUTE_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		out[i] = lower(in[i]);
		if (out[i] == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!name_char(out[i]) || ++label > 63) {
			return -1;
		}
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return (int)len;
}

static uint32_t hash_name(const char *name, size_t len)
{
	uint32_t h = FNV_OFFSET;

	while (len--)
		h = (h ^ (uint8_t)name[len]) * FNV_PRIME;
	return h;
}

/* The slot of name (NUL-terminated) with hash h, or the empty slot
 * where it would go. */
static struct route_name_slot *probe(const struct route_names *s, uint32_t h,
				     const char *name)
{
	size_t mask = s->cap - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		struct route_name_slot *sl = &s->slot[i];

		if (!sl->rule[0] && !sl->rule[1])
			return sl;
		if (sl->hash == h && !strcmp(s->text + sl->off, name))
			return sl;
	}
}

static void grow(struct route_names *s)
{
	struct route_name_slot *old = s->slot;
	size_t i, oldcap = s->cap;

	s->cap = s->cap ? s->cap * 2 : 64;
	s->slot = xcalloc(s->cap, sizeof(*s->slot));
	for (i = 0; i < oldcap; i++) {
		size_t j = old[i].hash & (s->cap - 1);

		if (!old[i].rule[0] && !old[i].rule[1])
			continue;
		while (s->slot[j].rule[0] || s->slot[j].rule[1])
			j = (j + 1) & (s->cap - 1);
		s->slot[j] = old[i];
	}
	free(old);
}

void route_names_add(struct route_names *s, const char *name, bool full,
		     uint32_t rule)
{
	size_t len = strlen(name);
	uint32_t h = hash_name(name, len);
	struct route_name_slot *sl;

	/* at most half full keeps the probe runs short */
	if (2 * (s->used + 1) > s->cap)
		grow(s);
	sl = probe(s, h, name);
	if (!sl->rule[0] && !sl->rule[1]) {
		if (s->len + len + 1 > s->size) {
			s->size = MAX(s->size * 2, s->len + len + 1 + 4096);
			s->text = xrealloc(s->text, s->size);
		}
		memcpy(s->text + s->len, name, len + 1);
		sl->hash = h;
		sl->off = (uint32_t)s->len;
		s->len += len + 1;
		s->used++;
	}
	sl->rule[full] = rule;
}

uint32_t route_names_lookup(const struct route_names *s, const char *name)
{
	char buf[ROUTE_NAME_MAX + 2];
	struct {
		size_t at;
		uint32_t h;
	} suffix[(ROUTE_NAME_MAX + 1) / 2 + 1];
	size_t len = strlen(name), i, n = 0;
	uint32_t h = FNV_OFFSET;

	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > ROUTE_NAME_MAX || !s->used)
		return 0;
	for (i = len; i-- > 0;) {
		buf[i] = lower(name[i]);
		h = (h ^ (uint8_t)buf[i]) * FNV_PRIME;
		/* a suffix starts each label; empty ones match nothing */
		if (buf[i] != '.' && (i == 0 || name[i - 1] == '.')) {
			suffix[n].at = i;
			suffix[n++].h = h;
		}
	}
	buf[len] = '\0';
	/* the whole name (i == 0) was found last: probe backwards */
	while (n--) {
		const struct route_name_slot *sl;

		sl = probe(s, suffix[n].h, buf + suffix[n].at);
		if (suffix[n].at == 0 && sl->rule[1])
			return sl->rule[1];
		if (sl->rule[0])
			return sl->rule[0];
	}
	return 0;
}

void route_names_trim(struct route_names *s)
{
	if (s->len && s->len < s->size) {
		s->text = xrealloc(s->text, s->len);
		s->size = s->len;
	}
}

void route_names_free(struct route_names *s)
{
	free(s->slot);
	free(s->text);
	memset(s, 0, sizeof(*s));
}
