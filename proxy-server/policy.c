#include "policy.h"

#include <stdlib.h>

#include "../common/util.h"

/* The proxy must not be a door into the VPS itself. */
static const char *const builtin_deny[] = {
	"127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10",
	"0.0.0.0/8", "::/128",
};

void policy_add(struct policy *p, const struct cidr *net, bool allow)
{
	p->rules = xrealloc(p->rules, (size_t)(p->n + 1) * sizeof(*p->rules));
	p->rules[p->n].net = *net;
	p->rules[p->n].allow = allow;
	p->n++;
}

bool policy_allows(const struct policy *p, const struct sockaddr *sa)
{
	struct cidr c;

	for (int i = 0; i < p->n; i++)
		if (cidr_match(&p->rules[i].net, sa))
			return p->rules[i].allow;
	for (size_t i = 0; i < ARRAY_SIZE(builtin_deny); i++)
		if (!cidr_parse(builtin_deny[i], &c) && cidr_match(&c, sa))
			return false;
	return true;
}

void policy_free(struct policy *p)
{
	free(p->rules);
	p->rules = NULL;
	p->n = 0;
}
