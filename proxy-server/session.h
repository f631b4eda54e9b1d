/* Resume sessions (docs/PROTOCOL.md section 16): one per tunnel that
 * resumes. While the tunnel is up the session only holds the token the
 * client was given; once the tunnel is lost it keeps the tunnel's flows
 * for resume-window, for a new tunnel that presents the token with the
 * same certificate. A token resumes once.
 *
 * Each worker has its own sessions. A client whose new connection lands
 * on another worker than its lost tunnel's (the kernel spreads
 * connections over the workers' sockets) has its session moved: the
 * new worker asks the main thread (workers_call()), which, with every
 * worker stopped, moves the session and its kept flows over
 * (sessions_move()); the resume then goes on as a local one. */
#ifndef PROXY_SERVER_SESSION_H
#define PROXY_SERVER_SESSION_H

#include <ev.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/tls.h"
#include "../common/tunnel.h"

struct session;

struct sessions {
	struct ev_loop *loop;
	ev_tstamp window;                      /* resume-window */
	uint8_t instance[RESUME_INSTANCE_LEN]; /* this process, in tokens */
	struct session *head;
	unsigned lost;             /* sessions keeping flows */
	uint64_t resumed, refused; /* RESUMEs answered, each way */
};

/* first: another worker's sessions, whose instance (the part of a token
 * that tells a restart) this one shares; NULL for the first. */
void sessions_init(struct sessions *ss, struct ev_loop *loop, ev_tstamp window,
		   const struct sessions *first);
/* Ends every kept flow and frees every session. */
void sessions_free(struct sessions *ss);
/* For an up tunnel that resumes: a new session, its token sent in
 * SESSION, the tunnel's streams kept in it when it is lost. NULL when
 * the tunnel does not resume. */
struct session *session_new(struct sessions *ss, struct tunnel *t);
/* The tunnel is gone (its streams were parked into the session): keep
 * them for resume-window, or free the session if there are none. */
void session_lost(struct session *s);
/* The tunnel closes for good (revoked, server stopping): nothing is
 * kept. Call before closing it. */
void session_end(struct session *s);
/* The tunnel's resume op: finds the token, checks the certificate,
 * moves the flows onto t (closing the old tunnel if it still runs) and
 * answers the client. elsewhere: what sessions_move() said, or
 * RESUME_UNKNOWN. */
void sessions_resume(struct sessions *ss, struct tunnel *t,
		     const uint8_t *token, uint32_t count, uint8_t elsewhere);
/* 1 when the token is none of ss's but this process's: another
 * worker's sessions may hold it. */
int sessions_elsewhere(struct sessions *ss, const uint8_t *token);
/* Main thread, every worker stopped (workers_call()): the session of
 * token in the sessions of another worker than all[to] moves into
 * all[to] (its old tunnel closed, its expiry stopped, its kept flows
 * with it: their watchers are stopped and start on t's loop when t
 * adopts them) when t may resume it. RESUME_OK: moved; RESUME_UNKNOWN:
 * no worker has it; else why t may not have it (it stays). */
uint8_t sessions_move(struct sessions *const *all, int n, int to,
		      struct tunnel *t, const uint8_t *token);
/* status: the flows waiting to resume, per certificate name, in the
 * sessions of all n workers. */
void sessions_status(struct sessions *const *all, int n, struct buf *b,
		     int json);

#endif
