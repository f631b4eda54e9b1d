#include "account.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/bucket.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"
#include "account_db.h"
#include "quota.h"

struct account {
	struct accounts *as;
	struct account *next;
	char *name;
	struct meter m;
	uint64_t flows;
	uint64_t flushed[ACCT_COLS]; /* our counts at the last flush */
	uint64_t snap[ACCT_COLS];    /* what the flush under way writes */
	uint64_t stored[ACCT_COLS];  /* the store's totals then */
	int64_t first_seen, last_seen;
	int tunnels;
	const struct quota *q;  /* NULL: no quota */
	time_t pstart, pend;    /* the quota's period */
	uint64_t pbase;         /* used in the period, as stored */
	int enforced;           /* the used-up line was logged */
	struct bucket down, up; /* the rate caps, shared by its tunnels */
};

/* The main thread's timers and the workers' tunnels share the list
 * and every account under mu; the meters' counts are atomic (meter.h),
 * so bytes are counted without it. */
struct accounts {
	struct ev_loop *loop; /* the main thread's */
	const struct server_conf *conf;
	struct acct_db *db;
	pthread_mutex_t mu;
	ev_timer flush, day;
	ev_async enforce; /* a meter past its limit, from any worker */
	time_t day_start; /* the day the next flush counts into */
	struct account *list;
	void (*end_flows)(void *arg);
	void *arg;
};

static time_t wall(const struct accounts *as)
{
	return (time_t)(ev_now(as->loop) + as->conf->clock_offset);
}

static void counts(const struct account *a, uint64_t v[ACCT_COLS])
{
	for (int i = 0; i < METER_KINDS; i++)
		v[i] = meter_get(&a->m, (enum meter_kind)i);
	v[ACCT_FLOWS] = a->flows;
}

static uint64_t bytes_of(const uint64_t v[ACCT_COLS])
{
	return v[ACCT_TCP_UP] + v[ACCT_TCP_DOWN] + v[ACCT_UDP_UP] +
	       v[ACCT_UDP_DOWN];
}

/* Bytes in the quota's period: what the store had at its start plus
 * what moved since the last flush. */
static uint64_t used(const struct account *a)
{
	uint64_t v[ACCT_COLS];

	counts(a, v);
	return a->pbase + bytes_of(v) - bytes_of(a->flushed);
}

/* The meter's count at which used() reaches the quota: it does not
 * move with the counts (nor with a flush, which adds to pbase what it
 * takes from the counts), so setting it races with no byte. */
static void set_limit(struct account *a)
{
	uint64_t at = a->q ? a->q->bytes + bytes_of(a->flushed) : 0;

	meter_set_limit(&a->m, !a->q         ? UINT64_MAX :
			       at > a->pbase ? at - a->pbase :
					       0);
}

/* The quota and its period, looked up again once the period is over
 * (so after a flush, the store holds all that came before). */
static void period_update(struct account *a, time_t now)
{
	const struct quota *q = quota_for(&a->as->conf->quotas, a->name);
	uint64_t v[ACCT_COLS];
	char from[16], to[16];

	a->q = q->period == QUOTA_NONE ? NULL : q;
	if (a->q && now >= a->pend) {
		quota_period(q, now, &a->pstart, &a->pend);
		quota_day_str(a->pstart, from, sizeof(from));
		quota_day_str(a->pend, to, sizeof(to));
		if (acct_db_sum(a->as->db, a->name, from, to, v))
			log_warn("account %s: cannot read its usage", a->name);
		a->pbase = bytes_of(v);
		a->enforced = 0;
	}
	set_limit(a);
}

/* Inside a flow's callback, in any worker: only schedule the
 * enforcement, on the main thread. */
static void meter_over(struct meter *m)
{
	struct account *a = container_of(m, struct account, m);

	ev_async_send(a->as->loop, &a->as->enforce);
}

static int over(const struct account *a)
{
	return a->q && used(a) >= a->q->bytes;
}

static void enforce_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct accounts *as = container_of(w, struct accounts, enforce);
	char why[128];
	int any = 0;

	pthread_mutex_lock(&as->mu);
	for (struct account *a = as->list; a; a = a->next) {
		if (!over(a))
			continue;
		if (!a->enforced) {
			quota_reason(a->q, a->pend, why, sizeof(why));
			log_warn(
				"tunnel %s: %s: ending its flows, refusing new "
				"ones",
				a->name, why);
			a->enforced = 1;
		}
		any |= a->tunnels > 0;
	}
	pthread_mutex_unlock(&as->mu);
	/* unlocked: the workers are paused for it, and may be waiting */
	if (any)
		as->end_flows(as->arg);
}

/* The `rate` for the name, on the loop's clock. */
static void rate_update(struct account *a)
{
	double r = (double)rate_for(&a->as->conf->rates, a->name);
	ev_tstamp now = ev_now(a->as->loop);

	if (r != a->down.rate) {
		bucket_set(&a->down, r, now);
		bucket_set(&a->up, r, now);
	}
}

static struct account *add_account(struct accounts *as, const char *name)
{
	struct account *a = xcalloc(1, sizeof(*a));

	a->as = as;
	a->name = xstrdup(name);
	a->m.over = meter_over;
	if (acct_db_sum(as->db, name, NULL, NULL, a->stored))
		log_warn("account %s: cannot read its totals", name);
	a->next = as->list;
	as->list = a;
	period_update(a, wall(as));
	rate_update(a);
	return a;
}

static void load_client(void *arg, const char *name, int64_t first,
			int64_t last)
{
	struct account *a = add_account(arg, name);

	a->first_seen = first;
	a->last_seen = last;
}

/* One short write transaction on the loop: a few rows per client in
 * WAL mode with synchronous=NORMAL appends to the log without an
 * fsync, well under a millisecond for dozens of clients, and a
 * competing writer is waited for at most BUSY_TIMEOUT_MS. That bound
 * every 30 s is cheaper than a thread and its locks around every
 * counter the flows touch. */
static void flush(struct accounts *as)
{
	char day[16], err[256];
	uint64_t d[ACCT_COLS];
	time_t t = wall(as);
	struct account *a;

	quota_day_str(as->day_start, day, sizeof(day));
	if (acct_db_begin(as->db, err, sizeof(err)))
		goto bad;
	for (a = as->list; a; a = a->next) {
		int any = a->tunnels > 0;

		if (a->tunnels)
			a->last_seen = t;
		/* one look at the counts, which workers move meanwhile */
		counts(a, a->snap);
		for (int i = 0; i < ACCT_COLS; i++)
			any |= (d[i] = a->snap[i] - a->flushed[i]) != 0;
		if (any && acct_db_add(as->db, a->name, day, d, a->first_seen,
				       a->last_seen, err, sizeof(err)))
			goto bad;
	}
	if (acct_db_commit(as->db, err, sizeof(err)))
		goto bad;
	for (a = as->list; a; a = a->next) {
		/* the same bytes, now stored */
		a->pbase += bytes_of(a->snap) - bytes_of(a->flushed);
		for (int i = 0; i < ACCT_COLS; i++) {
			a->stored[i] += a->snap[i] - a->flushed[i];
			a->flushed[i] = a->snap[i];
		}
	}
	return;
bad:
	/* the counts stay in memory and go with the next flush */
	log_warn("accounting store: %s (will try again)", err);
}

static void flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct accounts *as = container_of(w, struct accounts, flush);

	pthread_mutex_lock(&as->mu);
	flush(as);
	pthread_mutex_unlock(&as->mu);
}

static void arm_day(struct accounts *as)
{
	double left = (double)(as->day_start + 86400) -
		      (ev_now(as->loop) + as->conf->clock_offset);

	ev_timer_set(&as->day, left > 0 ? left : 0., 0.);
	ev_timer_start(as->loop, &as->day);
}

/* Midnight UTC: what moved before it is that day's; periods that end
 * today start again, by themselves. */
static void day_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct accounts *as = container_of(w, struct accounts, day);
	time_t now = wall(as);

	if (now < as->day_start + 86400) { /* woke a little early */
		arm_day(as);
		return;
	}
	pthread_mutex_lock(&as->mu);
	flush(as);
	as->day_start = quota_day_start(now);
	for (struct account *a = as->list; a; a = a->next) {
		int was = a->q && used(a) >= a->q->bytes;

		period_update(a, now);
		if (was && a->q && used(a) < a->q->bytes)
			log_info("tunnel %s: a new quota period: new flows "
				 "allowed again",
				 a->name);
	}
	pthread_mutex_unlock(&as->mu);
	arm_day(as);
}

static void give_to_user(const struct server_conf *c, const char *path)
{
	if (chown(path, c->uid, c->gid) && errno != ENOENT)
		log_warn("chown %s: %s", path, strerror(errno));
}

int accounts_prepare(const struct server_conf *c)
{
	static const char *const files[] = { "", "/" ACCT_DB_FILE,
					     "/" ACCT_DB_FILE "-wal",
					     "/" ACCT_DB_FILE "-shm" };
	char path[4096];

	if (mkdir(c->state_dir, 0700) && errno != EEXIST) {
		log_warn("state-dir %s: %s", c->state_dir, strerror(errno));
		return -1;
	}
	if (!c->user || geteuid())
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s%s", c->state_dir, files[i]);
		give_to_user(c, path);
	}
	return 0;
}

struct accounts *accounts_open(struct ev_loop *loop,
			       const struct server_conf *conf,
			       void (*end_flows)(void *arg), void *arg)
{
	struct accounts *as;
	char err[512];
	struct acct_db *db = acct_db_open(conf->state_dir, 0, err, sizeof(err));

	if (!db) {
		log_warn("accounting store: %s", err);
		return NULL;
	}
	as = xcalloc(1, sizeof(*as));
	as->loop = loop;
	as->conf = conf;
	as->db = db;
	as->end_flows = end_flows;
	as->arg = arg;
	pthread_mutex_init(&as->mu, NULL);
	as->day_start = quota_day_start(wall(as));
	if (acct_db_clients(db, load_client, as))
		log_warn("accounting store: cannot list its clients");
	ev_timer_init(&as->flush, flush_cb, conf->account_flush,
		      conf->account_flush);
	ev_timer_start(loop, &as->flush);
	ev_init(&as->day, day_cb);
	arm_day(as);
	ev_async_init(&as->enforce, enforce_cb);
	ev_async_start(loop, &as->enforce);
	log_info("accounting in %s/%s, flushed every %.0f s", conf->state_dir,
		 ACCT_DB_FILE, conf->account_flush);
	return as;
}

void accounts_reload(struct accounts *as)
{
	time_t now;

	if (!as)
		return;
	now = wall(as);
	pthread_mutex_lock(&as->mu);
	for (struct account *a = as->list; a; a = a->next) {
		int was = a->q && used(a) >= a->q->bytes;

		a->pend = 0; /* the quota may be another: its period again */
		period_update(a, now);
		rate_update(a);
		if (was && !(a->q && used(a) >= a->q->bytes))
			log_info("tunnel %s: under its quota now: new flows "
				 "allowed again",
				 a->name);
		if (over(a))
			meter_over(&a->m);
	}
	pthread_mutex_unlock(&as->mu);
	as->flush.repeat = as->conf->account_flush;
	ev_timer_again(as->loop, &as->flush);
}

void accounts_close(struct accounts *as)
{
	if (!as)
		return;
	flush(as); /* the workers' tunnels are all closed by now */
	ev_timer_stop(as->loop, &as->flush);
	ev_timer_stop(as->loop, &as->day);
	ev_async_stop(as->loop, &as->enforce);
	while (as->list) {
		struct account *a = as->list;

		as->list = a->next;
		free(a->name);
		free(a);
	}
	acct_db_close(as->db);
	pthread_mutex_destroy(&as->mu);
	free(as);
}

struct account *account_join(struct accounts *as, const char *name)
{
	struct account *a;

	if (!as)
		return NULL;
	pthread_mutex_lock(&as->mu);
	for (a = as->list; a; a = a->next)
		if (!strcmp(a->name, name))
			break;
	if (!a)
		a = add_account(as, name);
	a->tunnels++;
	a->last_seen = wall(as);
	if (!a->first_seen)
		a->first_seen = a->last_seen;
	pthread_mutex_unlock(&as->mu);
	return a;
}

void account_leave(struct account *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->as->mu);
	a->tunnels--;
	a->last_seen = wall(a->as);
	pthread_mutex_unlock(&a->as->mu);
}

struct meter *account_meter(struct account *a)
{
	return a ? &a->m : NULL;
}

/* The rates change only while the workers are paused (reload). */
void account_rates(struct account *a, struct bucket **down, struct bucket **up)
{
	*down = a && a->down.rate > 0 ? &a->down : NULL;
	*up = a && a->up.rate > 0 ? &a->up : NULL;
}

int account_open_flow(struct account *a, char *why, size_t n)
{
	int rc = 0;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->as->mu);
	period_update(a, wall(a->as));
	if (over(a)) {
		quota_reason(a->q, a->pend, why, n);
		rc = -1;
	} else {
		a->flows++;
	}
	pthread_mutex_unlock(&a->as->mu);
	return rc;
}

int account_over(struct account *a)
{
	int rc;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->as->mu);
	rc = over(a);
	pthread_mutex_unlock(&a->as->mu);
	return rc;
}

static const char *when(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

static void status_one(const struct account *a, struct buf *b, int json,
		       int first)
{
	uint64_t v[ACCT_COLS], t[ACCT_COLS];
	char s[ACCT_COLS][32], f[32], l[32], q[64], u[32], day[16], r[32];

	counts(a, v);
	for (int i = 0; i < ACCT_COLS; i++)
		t[i] = a->stored[i] + v[i] - a->flushed[i];
	if (json) {
		status_printf(b, "%s{\"name\":", first ? "" : ",");
		status_json_str(b, a->name);
		status_printf(b,
			      ",\"tunnels\":%d,\"tcp_up\":%llu,"
			      "\"tcp_down\":%llu,\"udp_up\":%llu,"
			      "\"udp_down\":%llu,\"flows\":%llu,"
			      "\"first_seen\":%lld,\"last_seen\":%lld,"
			      "\"rate\":%.0f,\"quota\":",
			      a->tunnels, (unsigned long long)t[ACCT_TCP_UP],
			      (unsigned long long)t[ACCT_TCP_DOWN],
			      (unsigned long long)t[ACCT_UDP_UP],
			      (unsigned long long)t[ACCT_UDP_DOWN],
			      (unsigned long long)t[ACCT_FLOWS],
			      (long long)a->first_seen, (long long)a->last_seen,
			      a->down.rate);
		if (!a->q) {
			status_printf(b, "null}");
			return;
		}
		status_printf(b,
			      "{\"bytes\":%llu,\"used\":%llu,\"period\":"
			      "\"%s\",\"resets\":\"%s\"}}",
			      (unsigned long long)a->q->bytes,
			      (unsigned long long)used(a),
			      a->q->period == QUOTA_DAILY ? "daily" : "monthly",
			      quota_day_str(a->pend, day, sizeof(day)));
		return;
	}
	for (int i = 0; i < ACCT_FLOWS; i++)
		status_bytes(t[i], s[i], sizeof(s[i]));
	if (a->q)
		snprintf(q, sizeof(q), "%s/%s %s",
			 status_bytes(used(a), u, sizeof(u)), a->q->text,
			 a->q->period == QUOTA_DAILY ? "daily" : "monthly");
	else
		snprintf(q, sizeof(q), "-");
	if (a->down.rate > 0)
		snprintf(r, sizeof(r), "%s/s",
			 status_bytes((uint64_t)a->down.rate, u, sizeof(u)));
	else
		snprintf(r, sizeof(r), "-");
	status_printf(b,
		      "%-16s %3d %9s %9s %9s %9s %7llu %-16s %-16s %-11s "
		      "%s\n",
		      a->name, a->tunnels, s[ACCT_TCP_UP], s[ACCT_TCP_DOWN],
		      s[ACCT_UDP_UP], s[ACCT_UDP_DOWN],
		      (unsigned long long)t[ACCT_FLOWS],
		      when(a->first_seen, f, sizeof(f)),
		      a->tunnels ? "now" : when(a->last_seen, l, sizeof(l)), r,
		      q);
}

void accounts_status(struct accounts *as, struct buf *b, int json)
{
	int first = 1;

	if (json)
		status_printf(b, ",\"accounts\":[");
	else if (as)
		status_printf(b,
			      "\n%-16s %3s %9s %9s %9s %9s %7s %-16s %-16s "
			      "%-11s %s\n",
			      "ACCOUNT", "TUN", "TCP UP", "TCP DOWN", "UDP UP",
			      "UDP DOWN", "FLOWS", "FIRST SEEN (UTC)",
			      "LAST SEEN", "RATE", "QUOTA");
	else
		status_printf(b, "\naccounting off (no store)\n");
	if (as)
		pthread_mutex_lock(&as->mu);
	for (struct account *a = as ? as->list : NULL; a; a = a->next) {
		status_one(a, b, json, first);
		first = 0;
	}
	if (as)
		pthread_mutex_unlock(&as->mu);
	if (json)
		status_printf(b, "]");
}
