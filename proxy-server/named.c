#include "named.h"

#include <string.h>

#include "../common/util.h"

static const char *name_at(const void *rules, int i, size_t size)
{
	const char *name;

	memcpy(&name, (const char *)rules + (size_t)i * size, sizeof(name));
	return name;
}

int named_find(const void *rules, int n, size_t size, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name_at(rules, i, size), name))
			return i;
	return -1;
}

int named_slot(void *rules, int *n, size_t size, const char *name)
{
	void **p = rules;
	int i = named_find(*p, *n, size, name);
	char *copy, *at;

	if (i >= 0)
		return i;
	*p = xrealloc(*p, (size_t)(*n + 1) * size);
	at = (char *)*p + (size_t)*n * size;
	memset(at, 0, size);
	copy = xstrdup(name);
	memcpy(at, &copy, sizeof(copy));
	return (*n)++;
}
