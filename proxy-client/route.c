/* The split routing table: rules in load order (id 0 the default), the
 * address half (route_nets.c) and the name half (route_names.c). Nothing
 * here logs; errors go back as text for the config parser to prefix with
 * the profile's file:line. */
#include "route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "route_names.h"
#include "route_nets.h"

#define RULE_LINE_MAX 1024 /* bytes of one rule file line */

struct rule {
	const char *file; /* one of t->files */
	int line;
	enum route_action action;
};

/* A dns-direct rule's name server. */
struct dns_server {
	uint32_t rule;
	struct sockaddr_storage ss;
};

struct route_table {
	int refs;
	struct rule *rules;
	uint32_t nrules, cap;
	char **files; /* the file names rules point at, each once */
	size_t nfiles;
	struct route_nets nets;
	struct route_names names;
	struct route_names dns_names; /* dns-direct; rules are direct */
	struct dns_server *dns;       /* by rule id, ascending */
	size_t ndns;
};

static const char *const action_names[] = {
	[ROUTE_UNDECIDED] = "undecided",
	[ROUTE_DIRECT] = "direct",
	[ROUTE_PROXY] = "proxy",
	[ROUTE_BLOCK] = "block",
};

const char *route_action_name(enum route_action a)
{
	return (unsigned)a < ARRAY_SIZE(action_names) ? action_names[a] : "?";
}

static int parse_action(const char *s, enum route_action *a, char *err,
			size_t n)
{
	int i;

	for (i = ROUTE_DIRECT; i <= ROUTE_BLOCK; i++) {
		if (!strcmp(s, action_names[i])) {
			*a = (enum route_action)i;
			return 0;
		}
	}
	snprintf(err, n, "bad action '%s' (direct, proxy or block)", s);
	return -1;
}

struct route_table *route_table_new(void)
{
	struct route_table *t = xcalloc(1, sizeof(*t));

	t->refs = 1;
	t->cap = 16;
	t->rules = xcalloc(t->cap, sizeof(*t->rules));
	t->rules[0].action = ROUTE_PROXY;
	t->nrules = 1;
	return t;
}

static const char *intern_file(struct route_table *t, const char *file)
{
	if (t->nfiles && !strcmp(t->files[t->nfiles - 1], file))
		return t->files[t->nfiles - 1];
	t->files = xrealloc(t->files, (t->nfiles + 1) * sizeof(*t->files));
	t->files[t->nfiles] = xstrdup(file);
	return t->files[t->nfiles++];
}

static uint32_t new_rule(struct route_table *t, const char *file, int line,
			 enum route_action a)
{
	struct rule *r;

	if (t->nrules == t->cap) {
		t->cap *= 2;
		t->rules = xrealloc(t->rules, t->cap * sizeof(*t->rules));
	}
	r = &t->rules[t->nrules];
	r->file = intern_file(t, file);
	r->line = line;
	r->action = a;
	return t->nrules++;
}

/* "domain:NAME" or "full:NAME" into names: 1 if s is one, 0 if s has
 * neither prefix, -1 (err set) for a bad name. */
static int add_name(struct route_names *names, const char *s, uint32_t rule,
		    char *err, size_t n)
{
	static const char domain[] = "domain:", full[] = "full:";
	char name[ROUTE_NAME_MAX + 1];
	bool is_full = !strncmp(s, full, sizeof(full) - 1);
	const char *v;

	if (!is_full && strncmp(s, domain, sizeof(domain) - 1))
		return 0;
	v = strchr(s, ':') + 1;
	if (route_name_parse(v, name) < 0) {
		snprintf(err, n, "bad name '%s'", v);
		return -1;
	}
	route_names_add(names, name, is_full, rule);
	return 1;
}

/* "10.0.0.0/8", "2001:db8::/32", "domain:NAME" or "full:NAME". */
static int add_entry(struct route_table *t, const char *s, uint32_t rule,
		     char *err, size_t n)
{
	struct cidr c;
	int rc = add_name(&t->names, s, rule, err, n);

	if (rc)
		return rc < 0 ? -1 : 0;
	if (cidr_parse(s, &c)) {
		snprintf(err, n,
			 "bad entry '%s' (want a CIDR, domain:NAME or "
			 "full:NAME)",
			 s);
		return -1;
	}
	route_nets_add(&t->nets, &c, rule);
	return 0;
}

static char *join_path(const char *dir, const char *path)
{
	size_t dl;
	char *p;

	if (path[0] == '/' || !dir || !dir[0])
		return xstrdup(path);
	dl = strlen(dir);
	p = xmalloc(dl + strlen(path) + 2);
	memcpy(p, dir, dl);
	if (dir[dl - 1] != '/')
		p[dl++] = '/';
	strcpy(p + dl, path);
	return p;
}

/* One line of a rule file: blanks and a '#' comment around at most one
 * entry. The entry, NUL-terminated in place, or NULL for none. */
static char *rule_file_entry(char *s, bool *more)
{
	char *end;

	s[strcspn(s, "#\r\n")] = '\0';
	s += strspn(s, " \t");
	end = s + strcspn(s, " \t");
	*more = end[strspn(end, " \t")] != '\0';
	*end = '\0';
	return *s ? s : NULL;
}

static int load_rule_file(struct route_table *t, const char *path,
			  enum route_action a, char *err, size_t n)
{
	char buf[RULE_LINE_MAX + 2], why[256];
	int line = 0, rc = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!rc && fgets(buf, sizeof(buf), f)) {
		char *e;
		bool more;

		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			snprintf(err, n, "%s:%d: line longer than %d bytes",
				 path, line, RULE_LINE_MAX);
			rc = -1;
		} else if ((e = rule_file_entry(buf, &more)) && more) {
			snprintf(err, n, "%s:%d: one entry a line", path, line);
			rc = -1;
		} else if (e && add_entry(t, e, new_rule(t, path, line, a), why,
					  sizeof(why))) {
			snprintf(err, n, "%s:%d: %s", path, line, why);
			rc = -1;
		}
	}
	if (!rc && ferror(f)) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	fclose(f);
	return rc;
}

/* dns-direct NAME... SERVER[:PORT]: queries for the names go to SERVER
 * from the client itself (the DNS forwarder), not through the tunnel. */
static int dns_directive(struct route_table *t, const struct conf_line *l,
			 char *err, size_t n)
{
	static const uint8_t any[16];
	const char *srv = l->argv[l->argc - 1];
	struct dns_server *d;
	struct addr a;
	socklen_t len;
	uint32_t rule;
	int i;

	if (addr_parse(srv, 53, &a) || a.type == ADDR_DOMAIN || !a.port ||
	    !memcmp(a.u.v6, any, a.type == ADDR_IPV4 ? 4 : 16)) {
		snprintf(err, n,
			 "bad name server '%s' (want IP or IP:PORT "
			 "as the last argument)",
			 srv);
		return -1;
	}
	rule = new_rule(t, l->file, l->line, ROUTE_DIRECT);
	t->dns = xrealloc(t->dns, (t->ndns + 1) * sizeof(*t->dns));
	d = &t->dns[t->ndns++];
	d->rule = rule;
	addr_to_sockaddr(&a, &d->ss, &len);
	for (i = 1; i < l->argc - 1; i++) {
		int rc = add_name(&t->dns_names, l->argv[i], rule, err, n);

		if (rc < 0)
			return -1;
		if (!rc) {
			snprintf(err, n,
				 "bad entry '%s' (want domain:NAME "
				 "or full:NAME)",
				 l->argv[i]);
			return -1;
		}
	}
	return 0;
}

int route_directive(struct route_table *t, const struct conf_line *l,
		    const char *base_dir, char *err, size_t n)
{
	const char *name = l->argv[0];
	enum route_action a;
	uint32_t rule;
	char *path;
	int i, rc;

	if (!strcmp(name, "dns-direct") && l->argc >= 3)
		return dns_directive(t, l, err, n);
	if (l->argc < 2 || parse_action(l->argv[1], &a, err, n))
		return -1;
	if (!strcmp(name, "route-default") && l->argc == 2) {
		t->rules[0].action = a;
		return 0;
	}
	if (!strcmp(name, "route-file") && l->argc == 3) {
		path = join_path(base_dir, l->argv[2]);
		rc = load_rule_file(t, path, a, err, n);
		free(path);
		return rc;
	}
	if (strcmp(name, "route") || l->argc < 3) {
		snprintf(err, n,
			 "want route ACTION ENTRY..., route-file "
			 "ACTION FILE, route-default ACTION or dns-direct "
			 "NAME... SERVER");
		return -1;
	}
	rule = new_rule(t, l->file, l->line, a);
	for (i = 2; i < l->argc; i++)
		if (add_entry(t, l->argv[i], rule, err, n))
			return -1;
	return 0;
}

void route_table_finish(struct route_table *t)
{
	route_nets_compile(&t->nets);
	route_names_trim(&t->names);
	route_names_trim(&t->dns_names);
	t->rules = xrealloc(t->rules, t->nrules * sizeof(*t->rules));
	t->cap = t->nrules;
}

struct load_cfg {
	struct route_table *t;
	const char *base_dir;
};

static int set_route(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct load_cfg *c = cfg;

	return route_directive(c->t, l, c->base_dir, err, n);
}

struct route_table *route_load(const char *path, const char *base_dir,
			       char *err, size_t n)
{
	static const struct conf_directive table[] = {
		ROUTE_DIRECTIVES(set_route),
		{ NULL, 0, 0, 0, NULL },
	};
	struct load_cfg c = { route_table_new(), base_dir };

	if (conf_load(path, table, &c, err, n)) {
		route_table_unref(c.t);
		return NULL;
	}
	route_table_finish(c.t);
	return c.t;
}

static struct route_result result(const struct route_table *t, uint32_t rule)
{
	return (struct route_result){ t->rules[rule].action, rule };
}

struct route_result route_decide_addr(const struct route_table *t,
				      const struct sockaddr *sa)
{
	return result(t, route_nets_lookup(&t->nets, sa));
}

struct route_result route_decide_name(const struct route_table *t,
				      const char *name)
{
	uint32_t rule = route_names_lookup(&t->names, name);

	if (!rule)
		return (struct route_result){ ROUTE_UNDECIDED, 0 };
	return result(t, rule);
}

static int dns_cmp(const void *key, const void *elem)
{
	uint32_t rule = *(const uint32_t *)key;
	const struct dns_server *d = elem;

	return rule < d->rule ? -1 : rule > d->rule;
}

struct route_result route_decide_dns(const struct route_table *t,
				     const char *name,
				     const struct sockaddr_storage **server)
{
	uint32_t rule = route_names_lookup(&t->dns_names, name);
	const struct dns_server *d;

	*server = NULL;
	if (!rule)
		return (struct route_result){ ROUTE_UNDECIDED, 0 };
	d = bsearch(&rule, t->dns, t->ndns, sizeof(*t->dns), dns_cmp);
	*server = &d->ss;
	return result(t, rule);
}

int route_has_dns_rules(const struct route_table *t)
{
	return t->ndns > 0;
}

struct route_result route_default(const struct route_table *t)
{
	return result(t, ROUTE_DEFAULT_RULE);
}

enum route_action route_rule_action(const struct route_table *t, uint32_t rule)
{
	return rule < t->nrules ? t->rules[rule].action : ROUTE_UNDECIDED;
}

uint32_t route_rule_count(const struct route_table *t)
{
	return t->nrules;
}

int route_has_addr_rules(const struct route_table *t)
{
	/* compiled, a family is at least one range; rule 0 is no rule */
	return t->nets.v4.n > 1 || t->nets.v6.n > 1 ||
	       (t->nets.v4.n && t->nets.v4.rule[0]) ||
	       (t->nets.v6.n && t->nets.v6.rule[0]);
}

const char *route_rule_name(const struct route_table *t, uint32_t rule,
			    char *buf, size_t n)
{
	if (rule == ROUTE_DEFAULT_RULE || rule >= t->nrules)
		snprintf(buf, n, "%s", rule ? "?" : "default");
	else
		snprintf(buf, n, "%s:%d", t->rules[rule].file,
			 t->rules[rule].line);
	return buf;
}

struct keep_arg {
	const struct route_table *t;
	enum route_action action;
};

static bool keep_action(uint32_t rule, void *arg)
{
	const struct keep_arg *k = arg;

	return k->t->rules[rule].action == k->action;
}

size_t route_ranges(const struct route_table *t, enum route_action action,
		    int family, struct route_range **out)
{
	struct keep_arg k = { t, action };

	return route_nets_ranges(&t->nets, family, keep_action, &k, out);
}

/* The prefix length that makes first..last one CIDR, or -1. */
static int range_prefix(const struct route_range *r)
{
	int bytes = r->family == AF_INET ? 4 : 16, i, bit;

	for (i = 0; i < bytes * 8; i++) {
		bit = 0x80 >> (i % 8);
		if ((r->first[i / 8] & bit) != (r->last[i / 8] & bit))
			break;
	}
	for (bit = i; bit < bytes * 8; bit++) {
		int m = 0x80 >> (bit % 8);

		if ((r->first[bit / 8] & m) || !(r->last[bit / 8] & m))
			return -1;
	}
	return i;
}

const char *route_range_str(const struct route_range *r, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int prefix = range_prefix(r);

	inet_ntop(r->family, r->first, a, sizeof(a));
	if (prefix >= 0) {
		snprintf(buf, n, "%s/%d", a, prefix);
		return buf;
	}
	inet_ntop(r->family, r->last, b, sizeof(b));
	snprintf(buf, n, "%s-%s", a, b);
	return buf;
}

struct route_table *route_table_ref(struct route_table *t)
{
	t->refs++;
	return t;
}

void route_table_unref(struct route_table *t)
{
	size_t i;

	if (!t || --t->refs > 0)
		return;
	route_nets_free(&t->nets);
	route_names_free(&t->names);
	route_names_free(&t->dns_names);
	free(t->dns);
	for (i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	free(t->rules);
	free(t);
}

void route_table_swap(struct route_table **cur, struct route_table *fresh)
{
	struct route_table *old = *cur;

	*cur = fresh;
	route_table_unref(old);
}
