/* The proxy-server process around its workers (server.h, worker.h):
 * signals, the control socket, the accounting store and its timers,
 * reload, status and shutdown run on the main thread; the accounts,
 * the descriptor budget and the datagram path's sockets are shared by
 * every worker, each behind its own lock. */
#ifndef PROXY_SERVER_HUB_H
#define PROXY_SERVER_HUB_H

#include <ev.h>

#include "budget.h"
#include "server.h"
#include "server_conf.h"

struct ctl;
struct accounts;
struct dpath_srv;
struct workers;

struct hub {
	struct ev_loop *loop; /* the main thread's; worker 0 runs on it */
	struct server_conf *conf;
	struct server *w; /* the workers, conf->workers of them */
	int n;
	struct workers *threads; /* NULL with one worker */
	ev_signal sigterm, sigint, sighup;
	ev_timer drain; /* SIGTERM: waits for flows to finish */
	ev_tstamp drain_until;
	struct ctl *ctl;
	struct budget budget;   /* descriptors and buffers of all users */
	struct accounts *accts; /* per-client counts; NULL: off */
	struct dpath_srv *dps;  /* the datagram path's sockets, or NULL */
	unsigned nup;           /* authenticated tunnels, all workers */
	int stopping, stopped;
};

/* Binds, loads TLS, drops privileges, starts the workers; 0 or -1
 * (error already logged; hub_stop() then cleans up). */
int hub_start(struct hub *h, struct ev_loop *loop, struct server_conf *conf);
/* Stops accepting, asks clients to go away, lets flows finish up to
 * shutdown-grace, then stops. */
void hub_shutdown(struct hub *h);
/* Closes everything now and waits for the workers' threads to end;
 * the main loop ends after. */
void hub_stop(struct hub *h);
/* Once the main loop has ended (or hub_start() failed and hub_stop()
 * was called): frees the workers. */
void hub_free(struct hub *h);

/* Tunnels that are up, all workers: one more (0) unless max-tunnels
 * are (-1); one fewer. Any thread. */
int hub_tunnel_up(struct hub *h);
void hub_tunnel_down(struct hub *h);

#endif
