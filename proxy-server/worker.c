/* Worker threads and the pause that lets the main thread reach into
 * them: see worker.h. */
#include "worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "server.h"

struct worker {
	struct server *s;
	struct workers *ws;
	pthread_t th;
	ev_async wake;
	int started;
};

/* A worker waiting in workers_call(), on its own stack. */
struct call {
	void (*fn)(void *arg);
	void *arg;
	struct call *next;
	int done;
};

struct workers {
	int n; /* threads: w[1..n-1] */
	struct worker *w;
	struct ev_loop *main; /* worker 0's: the main thread's */
	ev_async call;        /* a worker queued a call */
	pthread_mutex_t mu;
	pthread_cond_t paused_cv; /* a worker paused or queued a call */
	pthread_cond_t go_cv;     /* resumed, or a call was done */
	int want;                 /* a pause is asked for */
	int paused;               /* workers waiting in wake_cb */
	struct call *calls;       /* queued, not run yet */
	int queued;               /* their number */
	int quit;                 /* loops end once resumed */
};

/* The one callback the main thread wakes a worker with: a pause first,
 * then the datagrams handed over to it. */
static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = container_of(a, struct worker, wake);
	struct workers *ws = w->ws;
	int quit;

	pthread_mutex_lock(&ws->mu);
	if (ws->want) {
		ws->paused++;
		pthread_cond_signal(&ws->paused_cv);
		while (ws->want)
			pthread_cond_wait(&ws->go_cv, &ws->mu);
		ws->paused--;
	}
	quit = ws->quit;
	pthread_mutex_unlock(&ws->mu);
	if (quit) {
		ev_async_stop(loop, a); /* the last watcher: ev_run returns */
		return;
	}
	server_woken(w->s);
}

/* The main thread's side of workers_call(): a pause runs the calls. */
static void call_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct workers *ws = container_of(a, struct workers, call);

	workers_pause(ws);
	workers_resume(ws);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	ev_run(w->s->loop, 0);
	return NULL;
}

struct workers *workers_spawn(struct server *servers, int n)
{
	struct workers *ws = xcalloc(1, sizeof(*ws));
	sigset_t all, old;
	int rc = 0;

	ws->n = n;
	ws->w = xcalloc((size_t)n, sizeof(*ws->w));
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->paused_cv, NULL);
	pthread_cond_init(&ws->go_cv, NULL);
	ws->main = servers[0].loop;
	ev_async_init(&ws->call, call_cb);
	ev_async_start(ws->main, &ws->call);
	for (int i = 0; i < n; i++) /* before any thread reads it */
		servers[i].threads = ws;
	/* signals are the main thread's (its loop's ev_signal watchers) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 1; i < n && !rc; i++) {
		struct worker *w = &ws->w[i];

		w->s = &servers[i];
		w->ws = ws;
		ev_async_init(&w->wake, wake_cb);
		ev_async_start(w->s->loop, &w->wake);
		rc = pthread_create(&w->th, NULL, run, w);
		w->started = !rc;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		log_error("workers: cannot start a thread: %s", strerror(rc));
		workers_pause(ws);
		workers_join(ws);
		return NULL;
	}
	return ws;
}

static int threads(const struct workers *ws)
{
	int k = 0;

	for (int i = 1; i < ws->n; i++)
		k += ws->w[i].started;
	return k;
}

void workers_pause(struct workers *ws)
{
	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	ws->want = 1;
	pthread_mutex_unlock(&ws->mu);
	for (int i = 1; i < ws->n; i++)
		if (ws->w[i].started)
			ev_async_send(ws->w[i].s->loop, &ws->w[i].wake);
	pthread_mutex_lock(&ws->mu);
	for (;;) {
		struct call *c = ws->calls;

		if (ws->paused + ws->queued < threads(ws)) {
			pthread_cond_wait(&ws->paused_cv, &ws->mu);
			continue;
		}
		if (!c)
			break; /* every worker waits in wake_cb */
		/* every other worker is stopped: c's worker waits for it,
		 * then runs on until its wake_cb (the wake sent above) */
		ws->calls = c->next;
		ws->queued--;
		pthread_mutex_unlock(&ws->mu);
		c->fn(c->arg);
		pthread_mutex_lock(&ws->mu);
		c->done = 1;
		pthread_cond_broadcast(&ws->go_cv);
	}
	pthread_mutex_unlock(&ws->mu);
}

void workers_resume(struct workers *ws)
{
	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	ws->want = 0;
	pthread_cond_broadcast(&ws->go_cv);
	pthread_mutex_unlock(&ws->mu);
}

void workers_wake(struct workers *ws, int i)
{
	if (ws && i > 0 && i < ws->n && ws->w[i].started)
		ev_async_send(ws->w[i].s->loop, &ws->w[i].wake);
}

void workers_call(struct workers *ws, int i, void (*fn)(void *arg), void *arg)
{
	struct call c = { .fn = fn, .arg = arg };

	if (!ws || i <= 0) { /* the main thread's own */
		workers_pause(ws);
		fn(arg);
		workers_resume(ws);
		return;
	}
	pthread_mutex_lock(&ws->mu);
	c.next = ws->calls;
	ws->calls = &c;
	ws->queued++;
	pthread_cond_signal(&ws->paused_cv); /* a pause under way runs it */
	pthread_mutex_unlock(&ws->mu);
	ev_async_send(ws->main, &ws->call);
	pthread_mutex_lock(&ws->mu);
	while (!c.done)
		pthread_cond_wait(&ws->go_cv, &ws->mu);
	pthread_mutex_unlock(&ws->mu);
}

void workers_join(struct workers *ws)
{
	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	ws->quit = 1;
	pthread_mutex_unlock(&ws->mu);
	ev_async_stop(ws->main, &ws->call); /* paused: no call is queued */
	workers_resume(ws);
	for (int i = 1; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (!w->started) {
			ev_async_stop(w->s->loop, &w->wake);
			continue;
		}
		ev_async_send(w->s->loop, &w->wake); /* paused or not */
		pthread_join(w->th, NULL);
	}
	pthread_mutex_destroy(&ws->mu);
	pthread_cond_destroy(&ws->paused_cv);
	pthread_cond_destroy(&ws->go_cv);
	free(ws->w);
	free(ws);
}
