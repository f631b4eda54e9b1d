/* The worker threads of `workers N`: worker 0 is the main thread's loop
 * (with the signals, the control socket and the accounting timers of
 * hub.c), workers 1 to N-1 each run their own loop in a thread. The
 * main thread reaches into a worker only while it is paused: every
 * worker waits, inside a callback of its loop, until the main thread
 * resumes them all, so what the main thread does meanwhile (status,
 * reload, revocation, quota enforcement, shutdown) needs no lock on
 * the workers' own state. `workers 1` starts no thread. */
#ifndef PROXY_SERVER_WORKER_H
#define PROXY_SERVER_WORKER_H

struct server;
struct workers;

/* Threads for servers[1..n-1] (opened on loops of their own). NULL
 * when a thread cannot be started (logged). */
struct workers *workers_spawn(struct server *servers, int n);
/* Blocks until every worker thread waits in its loop / lets them go. */
void workers_pause(struct workers *ws);
void workers_resume(struct workers *ws);
/* Runs fn(arg) on the main thread while every worker but the caller is
 * stopped (in a pause or in a call of its own), and returns after it
 * ran. Worker i calls it from its own thread (i 0: the main thread,
 * which pauses them all); its thread waits meanwhile, neither paused
 * nor running: fn may read what the caller handed it, and the main
 * thread lets no pause be done (workers_pause() returns) until the
 * caller is back in its loop. A pause under way runs queued calls
 * first. */
void workers_call(struct workers *ws, int i, void (*fn)(void *arg), void *arg);
/* Wakes worker i (its server_woken() runs in its thread). */
void workers_wake(struct workers *ws, int i);
/* While paused: their loops end once resumed (server_close() stopped
 * everything else in them); then waits for the threads to end. */
void workers_join(struct workers *ws);

#endif
