/* Split routing at run time (router.h). */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/resolver.h"
#include "../common/status.h"
#include "../common/util.h"
#include "../redir/rules.h"
#include "dns_memo.h"
#include "dns_msg.h"

/* A record's TTL counts for a day at most: an address the name no
 * longer has should not keep its rule for longer. */
#define MEMO_TTL_MAX 86400.0

struct route_count {
	uint64_t flows, up, down;
};

/* One loaded rule table and its per-rule counters; flows decided by it
 * keep it alive past a reload. */
struct route_gen {
	int refs;
	struct route_table *t;
	struct route_count *rule; /* route_rule_count(t) of them */
	struct route_count *dir;  /* the router's, per action */
};

struct router {
	struct ev_loop *loop;
	struct resolver *resolver;
	unsigned mark;
	struct route_gen *cur;
	struct route_count dir[ROUTE_BLOCK + 1];
	struct dns_memo *memo; /* the forwarder's answers, cur's rule ids */
	double memo_ttl_min;
};

struct router_req {
	struct router *r;
	struct route_gen *gen;
	struct resolve_req *rq;
	router_cb cb;
	void *arg;
	struct route_result by_name; /* UNDECIDED: the address decides */
};

static struct route_gen *gen_new(struct router *r, struct route_table *t)
{
	struct route_gen *g = xcalloc(1, sizeof(*g));

	g->refs = 1;
	g->t = t;
	g->rule = xcalloc(route_rule_count(t), sizeof(*g->rule));
	g->dir = r->dir;
	return g;
}

static void gen_unref(struct route_gen *g)
{
	if (!g || --g->refs > 0)
		return;
	route_table_unref(g->t);
	free(g->rule);
	free(g);
}

struct router *router_new(struct ev_loop *loop, const struct client_conf *conf,
			  char *err, size_t n)
{
	struct router *r = xcalloc(1, sizeof(*r));

	r->loop = loop;
	r->resolver = resolver_new(loop, NULL, err, n);
	if (!r->resolver) {
		free(r);
		return NULL;
	}
	/* with transparent proxying on, our own direct connections and
	 * lookups must pass the rules, which know them by this mark */
	if (conf->redir.type || conf->tproxy.type) {
		r->mark = REDIR_BYPASS_MARK;
		resolver_set_mark(r->resolver, r->mark);
	}
	r->cur = gen_new(r, route_table_ref(conf->routes));
	r->memo = dns_memo_new(conf->dns_memo_max);
	r->memo_ttl_min = conf->dns_memo_ttl_min;
	return r;
}

void router_free(struct router *r)
{
	if (!r)
		return;
	gen_unref(r->cur);
	dns_memo_free(r->memo);
	resolver_free(r->resolver);
	free(r);
}

void router_reload(struct router *r, const char *path)
{
	struct client_conf c;
	char err[CONF_ERR_MAX];

	if (client_conf_load(&c, path, err, sizeof(err))) {
		log_warn("reload: %s; the old rules stay", err);
		client_conf_free(&c);
		return;
	}
	gen_unref(r->cur);
	r->cur = gen_new(r, route_table_ref(c.routes));
	/* what it remembers names rules of the old table: forgotten, and
	 * the addresses go by the new rules until asked for again */
	dns_memo_free(r->memo);
	r->memo = dns_memo_new(c.dns_memo_max);
	r->memo_ttl_min = c.dns_memo_ttl_min;
	log_info("reload: %u routing rules from %s",
		 route_rule_count(c.routes) - 1, path);
	client_conf_free(&c);
}

static struct route_tag tag_new(struct route_gen *g, struct route_result res)
{
	struct route_tag tag = { g, res.rule, res.action };

	g->refs++;
	g->rule[res.rule].flows++;
	g->dir[res.action].flows++;
	return tag;
}

void router_tag_end(struct route_tag *tag, uint64_t up, uint64_t down)
{
	struct route_gen *g = tag->gen;

	if (!g)
		return;
	g->rule[tag->rule].up += up;
	g->rule[tag->rule].down += down;
	g->dir[tag->action].up += up;
	g->dir[tag->action].down += down;
	tag->gen = NULL;
	gen_unref(g);
}

const char *router_tag_str(const struct route_tag *tag, char *buf, size_t n)
{
	char rule[300];

	if (!tag->gen) {
		snprintf(buf, n, "proxy");
		return buf;
	}
	snprintf(buf, n, "%s by %s", route_action_name(tag->action),
		 route_rule_name(tag->gen->t, tag->rule, rule, sizeof(rule)));
	return buf;
}

/* An address's rule: the one of the name the forwarder last handed it
 * out for, while that is remembered, else the address rules'. */
static struct route_result decide_addr(struct router *r, struct route_gen *g,
				       const struct sockaddr *sa)
{
	uint32_t rule;

	if (g == r->cur && dns_memo_get(r->memo, sa, ev_now(r->loop), &rule))
		return (struct route_result){ route_rule_action(g->t, rule),
					      rule };
	return route_decide_addr(g->t, sa);
}

/* The verdict goes out; the request (if any) is freed by the caller. */
static void deliver(struct route_gen *g, struct route_result res,
		    const struct sockaddr_storage *addrs, int n, int status,
		    router_cb cb, void *arg)
{
	struct route_verdict v = { tag_new(g, res), NULL, 0, status };

	if (res.action == ROUTE_DIRECT) {
		v.addrs = addrs;
		v.naddrs = n;
	}
	cb(arg, &v);
}

static void resolved(void *arg, int status,
		     const struct sockaddr_storage *addrs, int n)
{
	struct router_req *q = arg;
	struct router *r = q->r;
	struct route_gen *g = q->gen;
	struct route_result res = q->by_name;
	router_cb cb = q->cb;
	void *cb_arg = q->arg;

	free(q);
	if (res.action == ROUTE_UNDECIDED) {
		/* a name the client cannot resolve may still be one the
		 * server can: the default decides it */
		res = status || !n ?
			      route_default(g->t) :
			      decide_addr(r, g, (const struct sockaddr *)addrs);
	}
	deliver(g, res, status ? NULL : addrs, status ? 0 : n, status, cb,
		cb_arg);
	gen_unref(g);
}

struct router_req *router_decide(struct router *r, const struct addr *dst,
				 router_cb cb, void *arg)
{
	struct route_gen *g = r->cur;
	struct sockaddr_storage ss;
	struct router_req *q;
	struct resolve_req *rq;
	struct route_result res;
	socklen_t len;

	if (dst->type != ADDR_DOMAIN) {
		addr_to_sockaddr(dst, &ss, &len);
		res = decide_addr(r, g, (struct sockaddr *)&ss);
		deliver(g, res, &ss, 1, 0, cb, arg);
		return NULL;
	}
	res = route_decide_name(g->t, dst->u.domain);
	if (res.action == ROUTE_UNDECIDED && !route_has_addr_rules(g->t))
		res = route_default(g->t);
	if (res.action != ROUTE_UNDECIDED && res.action != ROUTE_DIRECT) {
		deliver(g, res, NULL, 0, 0, cb, arg);
		return NULL;
	}
	/* direct needs the addresses; undecided needs them to decide */
	q = xcalloc(1, sizeof(*q));
	q->r = r;
	q->gen = g;
	g->refs++;
	q->cb = cb;
	q->arg = arg;
	q->by_name = res;
	rq = resolver_lookup(r->resolver, dst->u.domain, dst->port, resolved,
			     q);
	if (!rq)
		return NULL; /* answered already; q is gone */
	q->rq = rq;
	return q;
}

void router_cancel(struct router_req *q)
{
	if (!q)
		return;
	resolver_cancel(q->rq);
	gen_unref(q->gen);
	free(q);
}

struct route_result router_datagram(struct router *r, const struct addr *dst,
				    size_t len)
{
	struct route_gen *g = r->cur;
	struct sockaddr_storage ss;
	struct route_result res;
	socklen_t sl;

	if (dst->type == ADDR_DOMAIN) {
		res = route_decide_name(g->t, dst->u.domain);
		if (res.action == ROUTE_UNDECIDED)
			res = route_default(g->t);
	} else {
		addr_to_sockaddr(dst, &ss, &sl);
		res = decide_addr(r, g, (struct sockaddr *)&ss);
	}
	g->rule[res.rule].up += len;
	g->dir[res.action].up += len;
	return res;
}

int router_dns(struct router *r, const char *name, struct route_tag *tag,
	       struct sockaddr_storage *server)
{
	const struct sockaddr_storage *ss;
	struct route_result res = route_decide_dns(r->cur->t, name, &ss);

	if (res.action != ROUTE_DIRECT)
		return 0;
	*server = *ss;
	*tag = tag_new(r->cur, res);
	return 1;
}

struct memo_put {
	struct router *r;
	uint32_t rule;
	double now;
};

static void remember(void *arg, const struct sockaddr *sa, uint32_t ttl)
{
	struct memo_put *x = arg;
	double keep = MIN((double)ttl, MEMO_TTL_MAX);

	dns_memo_put(x->r->memo, sa, x->rule,
		     x->now + MAX(keep, x->r->memo_ttl_min));
}

void router_dns_answer(struct router *r, const uint8_t *msg, size_t len,
		       const struct route_tag *via)
{
	struct route_gen *g = r->cur;
	struct memo_put x = { r, 0, ev_now(r->loop) };
	char name[DNS_NAME_TEXT];
	struct route_result res;

	if (dns_qname(msg, len, name, sizeof(name)) < 0)
		return;
	res = route_decide_name(g->t, name);
	if (res.action == ROUTE_UNDECIDED && via && via->gen == g)
		res = (struct route_result){ via->action, via->rule };
	if (res.action == ROUTE_UNDECIDED)
		return; /* the address rules decide its addresses */
	x.rule = res.rule;
	dns_answer_addrs(msg, len, remember, &x);
}

int router_has_dns_rules(const struct router *r)
{
	return route_has_dns_rules(r->cur->t);
}

void router_count_reply(struct router *r, const struct sockaddr *peer,
			enum route_action via, size_t len)
{
	struct route_gen *g = r->cur;
	struct route_result res = decide_addr(r, g, peer);

	g->dir[via].down += len;
	if (res.action == via)
		g->rule[res.rule].down += len;
}

struct resolver *router_resolver(struct router *r)
{
	return r->resolver;
}

unsigned router_mark(const struct router *r)
{
	return r->mark;
}

static void count_json(struct buf *b, const struct route_count *c)
{
	status_printf(b, "\"flows\":%llu,\"bytes_up\":%llu,\"bytes_down\":%llu",
		      (unsigned long long)c->flows, (unsigned long long)c->up,
		      (unsigned long long)c->down);
}

static void count_row(struct buf *b, const char *what, const char *action,
		      const struct route_count *c)
{
	char up[32], down[32];

	status_printf(b, "%-28s %-7s %8llu %10s %10s\n", what, action,
		      (unsigned long long)c->flows,
		      status_bytes(c->up, up, sizeof(up)),
		      status_bytes(c->down, down, sizeof(down)));
}

void router_status(struct router *r, struct buf *b, int json)
{
	const struct route_gen *g = r->cur;
	uint32_t i, n = route_rule_count(g->t);
	char name[300];
	int first = 1;

	if (json) {
		status_printf(b, "{\"rules\":%u", n - 1);
		for (i = ROUTE_DIRECT; i <= ROUTE_BLOCK; i++) {
			status_printf(b, ",\"%s\":{", route_action_name(i));
			count_json(b, &r->dir[i]);
			status_printf(b, "}");
		}
		status_printf(b, ",\"by_rule\":[");
	} else {
		status_printf(b, "\nrouting   %u rules, default %s\n", n - 1,
			      route_action_name(route_default(g->t).action));
		status_printf(b, "%-28s %-7s %8s %10s %10s\n",
			      "DIRECTION / RULE", "ACTION", "FLOWS", "UP",
			      "DOWN");
		for (i = ROUTE_DIRECT; i <= ROUTE_BLOCK; i++)
			count_row(b, route_action_name(i), "", &r->dir[i]);
	}
	for (i = 0; i < n; i++) {
		const struct route_count *c = &g->rule[i];
		const char *a = route_action_name(route_rule_action(g->t, i));

		if (!c->flows && !c->up && !c->down)
			continue;
		route_rule_name(g->t, i, name, sizeof(name));
		if (!json) {
			count_row(b, name, a, c);
			continue;
		}
		status_printf(b, "%s{\"rule\":", first ? "" : ",");
		status_json_str(b, name);
		status_printf(b, ",\"action\":\"%s\",", a);
		count_json(b, c);
		status_printf(b, "}");
		first = 0;
	}
	if (json)
		status_printf(b, "]}");
}
