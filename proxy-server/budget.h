/* The server-wide budget of descriptors and buffer memory, so that one
 * user, with however many tunnels and flows, cannot exhaust what every
 * user shares (max-flows and max-buffer are per tunnel):
 *
 * - a flow (a TCP flow or a UDP association: at most one descriptor
 *   each on this side) takes a place in max-flows-total and one in its
 *   user's max-flows-per-user, counted over all of that certificate
 *   name's tunnels;
 * - the flows' receive buffers of all tunnels together are a
 *   tunnel_pool of max-buffer-total, which common/tunnel.c enforces.
 *
 * Limits left unset are derived at start: flows from the open-file limit
 * less a reserve for what is not a flow (listeners, handshakes, tunnels,
 * fallback visitors, resolver, control socket, log), buffers from the
 * memory there is. Only budget_start() looks at the machine; the rest is
 * bookkeeping. */
#ifndef PROXY_SERVER_BUDGET_H
#define PROXY_SERVER_BUDGET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/tunnel.h"

/* What server.conf says; 0: derive it. */
struct budget_conf {
	unsigned flows_total;    /* max-flows-total */
	unsigned flows_per_user; /* max-flows-per-user */
	size_t buffer_total;     /* max-buffer-total */
};

/* What the machine allows. */
struct budget_env {
	unsigned long nofile; /* the soft open-file limit */
	uint64_t mem;         /* bytes of memory; 0: unknown */
	unsigned reserve;     /* descriptors kept for what is not a flow */
};

struct budget_limits {
	unsigned flows_total, flows_per_user;
	size_t buffer_total;
};

struct budget_user;

/* Shared by the server's workers: everything under mu, except lim and
 * pool (which the workers share out: each has its own pool of
 * pool.max / workers). */
struct budget {
	struct budget_limits lim;
	pthread_mutex_t mu;
	unsigned flows;            /* in use, all users */
	struct budget_user *users; /* those with a tunnel or a flow */
	struct tunnel_pool pool;   /* max: max-buffer-total */
	uint64_t refused_total, refused_user;
};

enum {
	BUDGET_OK = 0,
	BUDGET_TOTAL = -1,  /* max-flows-total reached */
	BUDGET_USER = -2,   /* max-flows-per-user reached */
	BUDGET_NOFILE = -3, /* the reserve leaves no descriptor for flows */
};

/* The limits c comes to on e; what each came from goes to why (one log
 * line). BUDGET_NOFILE (why says so) when no flow would fit. */
int budget_derive(const struct budget_conf *c, const struct budget_env *e,
		  struct budget_limits *out, char *why, size_t n);
/* Reads the machine (the soft open-file limit is raised to the hard one
 * first), derives, logs the limits and initialises b. -1 (logged) when
 * no flow would fit. */
int budget_start(struct budget *b, const struct budget_conf *c,
		 unsigned reserve);
void budget_init(struct budget *b, const struct budget_limits *lim);
void budget_free(struct budget *b);

/* A tunnel of user name came up: its entry, counting that tunnel. */
struct budget_user *budget_user_get(struct budget *b, const char *name);
/* The tunnel went down. */
void budget_user_put(struct budget_user *u);
/* The user's tunnels that are up, this one included. */
unsigned budget_user_tunnels(const struct budget_user *u);

/* A new flow of u: BUDGET_OK (counted until budget_give()), or refused. */
int budget_take(struct budget_user *u);
void budget_give(struct budget_user *u);
const char *budget_strerror(int rc);

/* For status: a line of text, or JSON members (",\"flows_in_use\":..."),
 * with the buffers of pool (all workers' added up). */
void budget_status(struct budget *b, const struct tunnel_pool *pool,
		   struct buf *out, int json);

#endif
