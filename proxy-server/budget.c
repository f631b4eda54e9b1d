#include "budget.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"

/* Raising the soft open-file limit goes no further: a hard limit of
 * "unlimited" would otherwise make a budget nothing could ever hold. */
#define NOFILE_CEILING (1ul << 20)
/* A user may hold this fraction of max-flows-total by default: one user
 * flooding leaves three quarters to the others. */
#define PER_USER_SHARE 4
/* max-buffer-total by default: an eighth of memory, within these. */
#define MEM_SHARE 8
#define BUFFER_MIN (16ull << 20)
#define BUFFER_MAX (4ull << 30)
/* When the memory cannot be read. */
#define BUFFER_UNKNOWN (512ull << 20)

struct budget_user {
	struct budget *b;
	struct budget_user *next;
	unsigned tunnels, flows;
	char name[];
};

int budget_derive(const struct budget_conf *c, const struct budget_env *e,
		  struct budget_limits *out, char *why, size_t n)
{
	unsigned long room = 0;
	char total[160], user[96], buffer[160], sz[32], mem[32];

	memset(out, 0, sizeof(*out));
	if (e->nofile > e->reserve)
		room = e->nofile - e->reserve;
	if (!room) {
		snprintf(why, n,
			 "the open-file limit %lu leaves no descriptor for "
			 "flows after the %u kept for listeners, handshakes "
			 "(max-startups) and tunnels (max-tunnels): raise it "
			 "(ulimit -n, LimitNOFILE=) or lower those",
			 e->nofile, e->reserve);
		return BUDGET_NOFILE;
	}
	room = MIN(room, (unsigned long)UINT32_MAX);
	if (!c->flows_total) {
		out->flows_total = (unsigned)room;
		snprintf(total, sizeof(total),
			 "%u (open-file limit %lu less %u "
			 "kept for listeners, handshakes and tunnels)",
			 out->flows_total, e->nofile, e->reserve);
	} else if (c->flows_total > room) {
		out->flows_total = (unsigned)room;
		snprintf(total, sizeof(total),
			 "%u (not the %u set: the "
			 "open-file limit %lu less %u kept allows no more)",
			 out->flows_total, c->flows_total, e->nofile,
			 e->reserve);
	} else {
		out->flows_total = c->flows_total;
		snprintf(total, sizeof(total), "%u (set)", out->flows_total);
	}
	if (!c->flows_per_user) {
		out->flows_per_user = MAX(out->flows_total / PER_USER_SHARE,
					  1u);
		snprintf(user, sizeof(user), "%u (a quarter of the total)",
			 out->flows_per_user);
	} else if (c->flows_per_user > out->flows_total) {
		out->flows_per_user = out->flows_total;
		snprintf(user, sizeof(user), "%u (the total, not the %u set)",
			 out->flows_per_user, c->flows_per_user);
	} else {
		out->flows_per_user = c->flows_per_user;
		snprintf(user, sizeof(user), "%u (set)", out->flows_per_user);
	}
	if (c->buffer_total) {
		out->buffer_total = c->buffer_total;
		snprintf(buffer, sizeof(buffer), "%s (set)",
			 status_bytes(out->buffer_total, sz, sizeof(sz)));
	} else if (!e->mem) {
		out->buffer_total = BUFFER_UNKNOWN;
		snprintf(buffer, sizeof(buffer), "%s (memory unknown)",
			 status_bytes(out->buffer_total, sz, sizeof(sz)));
	} else {
		uint64_t v = e->mem / MEM_SHARE;

		v = MIN(MAX(v, BUFFER_MIN), BUFFER_MAX);
		out->buffer_total = (size_t)MIN(v, (uint64_t)SIZE_MAX);
		snprintf(buffer, sizeof(buffer),
			 "%s (an eighth of %s of "
			 "memory, within 16 MiB..4 GiB)",
			 status_bytes(out->buffer_total, sz, sizeof(sz)),
			 status_bytes(e->mem, mem, sizeof(mem)));
	}
	snprintf(why, n,
		 "max-flows-total %s, max-flows-per-user %s, "
		 "max-buffer-total %s",
		 total, user, buffer);
	return BUDGET_OK;
}

/* The soft limit up to the hard one (as systemd asks of daemons that
 * can use more than 1024 descriptors: libev does not select()). */
static unsigned long open_file_limit(char *note, size_t n)
{
	struct rlimit rl;
	rlim_t want;

	note[0] = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	want = rl.rlim_max == RLIM_INFINITY ?
		       NOFILE_CEILING :
		       MIN(rl.rlim_max, (rlim_t)NOFILE_CEILING);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = want;
		if (!setrlimit(RLIMIT_NOFILE, &rl))
			snprintf(note, n,
				 " (raised from %llu to the hard limit)",
				 (unsigned long long)was);
		else
			rl.rlim_cur = was;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return NOFILE_CEILING;
	return (unsigned long)MIN(rl.rlim_cur, (rlim_t)NOFILE_CEILING);
}

/* Physical memory, or a container's cgroup v2 limit when smaller. */
static uint64_t memory_size(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t mem = pages > 0 && page > 0 ?
			       (uint64_t)pages * (uint64_t)page :
			       0;
	FILE *f = fopen("/sys/fs/cgroup/memory.max", "re");
	unsigned long long cg;

	if (f) {
		if (fscanf(f, "%llu", &cg) == 1 && cg && (!mem || cg < mem))
			mem = cg; /* "max" reads as no number: no limit */
		fclose(f);
	}
	return mem;
}

int budget_start(struct budget *b, const struct budget_conf *c,
		 unsigned reserve)
{
	struct budget_env e = { .reserve = reserve };
	struct budget_limits lim;
	char note[80], why[600];

	e.nofile = open_file_limit(note, sizeof(note));
	e.mem = memory_size();
	if (budget_derive(c, &e, &lim, why, sizeof(why))) {
		log_error("%s", why);
		return -1;
	}
	log_info("open files %lu%s; %s", e.nofile, note, why);
	budget_init(b, &lim);
	return 0;
}

void budget_init(struct budget *b, const struct budget_limits *lim)
{
	memset(b, 0, sizeof(*b));
	b->lim = *lim;
	b->pool.max = lim->buffer_total;
	pthread_mutex_init(&b->mu, NULL);
}

void budget_free(struct budget *b)
{
	while (b->users) {
		struct budget_user *u = b->users;

		b->users = u->next;
		free(u);
	}
	pthread_mutex_destroy(&b->mu);
}

struct budget_user *budget_user_get(struct budget *b, const char *name)
{
	struct budget_user *u;
	size_t len = strlen(name);

	pthread_mutex_lock(&b->mu);
	for (u = b->users; u; u = u->next)
		if (!strcmp(u->name, name))
			break;
	if (!u) {
		u = xcalloc(1, sizeof(*u) + len + 1);
		memcpy(u->name, name, len + 1);
		u->b = b;
		u->next = b->users;
		b->users = u;
	}
	u->tunnels++;
	pthread_mutex_unlock(&b->mu);
	return u;
}

/* An entry lives while a tunnel or a flow of its user does: a flow may
 * outlive its tunnel's bookkeeping by a callback or two. */
static void maybe_free(struct budget_user *u)
{
	struct budget_user **p;

	if (u->tunnels || u->flows)
		return;
	for (p = &u->b->users; *p != u; p = &(*p)->next)
		;
	*p = u->next;
	free(u);
}

void budget_user_put(struct budget_user *u)
{
	struct budget *b = u->b;

	pthread_mutex_lock(&b->mu);
	u->tunnels--;
	maybe_free(u);
	pthread_mutex_unlock(&b->mu);
}

unsigned budget_user_tunnels(const struct budget_user *u)
{
	unsigned n;

	pthread_mutex_lock(&u->b->mu);
	n = u->tunnels;
	pthread_mutex_unlock(&u->b->mu);
	return n;
}

static int take(struct budget *b, struct budget_user *u)
{
	if (b->flows >= b->lim.flows_total) {
		b->refused_total++;
		return BUDGET_TOTAL;
	}
	if (u->flows >= b->lim.flows_per_user) {
		b->refused_user++;
		return BUDGET_USER;
	}
	b->flows++;
	u->flows++;
	return BUDGET_OK;
}

int budget_take(struct budget_user *u)
{
	struct budget *b = u->b;
	int rc;

	pthread_mutex_lock(&b->mu);
	rc = take(b, u);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

void budget_give(struct budget_user *u)
{
	struct budget *b = u->b;

	pthread_mutex_lock(&b->mu);
	b->flows--;
	u->flows--;
	maybe_free(u);
	pthread_mutex_unlock(&b->mu);
}

const char *budget_strerror(int rc)
{
	switch (rc) {
	case BUDGET_OK:
		return "within the budget";
	case BUDGET_TOTAL:
		return "max-flows-total";
	case BUDGET_USER:
		return "max-flows-per-user";
	case BUDGET_NOFILE:
		return "no descriptors for flows";
	}
	return "unknown";
}

static void status_locked(const struct budget *b,
			  const struct tunnel_pool *pool, struct buf *out,
			  int json)
{
	char used[32], cap[32];

	if (json) {
		status_printf(out,
			      ",\"flows_in_use\":%u,\"flows_total\":%u,"
			      "\"flows_per_user\":%u,\"refused_flows_total\":"
			      "%llu,\"refused_flows_per_user\":%llu,"
			      "\"buffer_in_use\":%zu,\"buffer_total\":%zu,"
			      "\"buffer_resets\":%llu",
			      b->flows, b->lim.flows_total,
			      b->lim.flows_per_user,
			      (unsigned long long)b->refused_total,
			      (unsigned long long)b->refused_user,
			      pool->buffered, b->lim.buffer_total,
			      (unsigned long long)pool->resets);
		return;
	}
	status_printf(out,
		      "%u of %u flows in use (max-flows-total; "
		      "max-flows-per-user %u); refused: %llu by the total, "
		      "%llu by the per-user limit\n",
		      b->flows, b->lim.flows_total, b->lim.flows_per_user,
		      (unsigned long long)b->refused_total,
		      (unsigned long long)b->refused_user);
	status_printf(out,
		      "%s of %s buffered (max-buffer-total); %llu flows "
		      "reset by it\n",
		      status_bytes(pool->buffered, used, sizeof(used)),
		      status_bytes(b->lim.buffer_total, cap, sizeof(cap)),
		      (unsigned long long)pool->resets);
}

void budget_status(struct budget *b, const struct tunnel_pool *pool,
		   struct buf *out, int json)
{
	pthread_mutex_lock(&b->mu);
	status_locked(b, pool, out, json);
	pthread_mutex_unlock(&b->mu);
}
