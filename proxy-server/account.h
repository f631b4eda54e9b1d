/* Per-client accounting and quotas: one account per certificate name,
 * whose meter every tunnel of that name counts into (common/meter.h),
 * on whichever worker it runs; flushed into the store (account_db.c)
 * every account-flush seconds and at exit by the main thread's loop; a
 * quota used up refuses new flows and ends the open ones through the
 * server's end_flows callback (on the main thread). Every function may
 * be called from any worker's thread, except those that open, reload,
 * close and the store's timers (the main thread's). */
#ifndef PROXY_SERVER_ACCOUNT_H
#define PROXY_SERVER_ACCOUNT_H

#include <ev.h>
#include <time.h>

#include "../common/buf.h"
#include "../common/meter.h"
#include "server_conf.h"

struct accounts;
struct account;
struct bucket;

/* Before dropping privileges: makes the state directory and hands it
 * (and the store in it) to conf's user. 0 or -1 (logged). */
int accounts_prepare(const struct server_conf *conf);
/* Opens the store and starts the flush timer. NULL (logged) when the
 * store cannot be opened. end_flows ends the open flows of every
 * account past its quota (account_over()). */
struct accounts *accounts_open(struct ev_loop *loop,
			       const struct server_conf *conf,
			       void (*end_flows)(void *arg), void *arg);
/* The configuration's quotas, rates and account-flush changed (SIGHUP):
 * each account takes its own again; one now past its quota has its
 * flows ended, one under it again is let in. */
void accounts_reload(struct accounts *as);
/* Last flush, then frees everything. */
void accounts_close(struct accounts *as);

/* A tunnel of NAME came up / went down. */
struct account *account_join(struct accounts *as, const char *name);
void account_leave(struct account *a);
struct meter *account_meter(struct account *a);
/* The name's rate caps (`rate`), NULL each when it has none: for
 * tunnel_set_rates(). */
void account_rates(struct account *a, struct bucket **down, struct bucket **up);
/* Before a new flow: 0 (counted as opened) or -1 with the reason. */
int account_open_flow(struct account *a, char *why, size_t n);
/* Past its quota: its flows are to end. */
int account_over(struct account *a);

/* The table for `status` (or its JSON member "accounts"). */
void accounts_status(struct accounts *as, struct buf *b, int json);

#endif
