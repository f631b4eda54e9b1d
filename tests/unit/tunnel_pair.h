/* A test harness for the tunnel and the TCP flow (not a test binary of
 * its own): one libev loop holding a client and a server tunnel joined
 * by a socketpair, with real TLS on certificates made at start-up by
 * the project's own PKI in a temporary directory (deleted again once
 * read), flows whose local sockets are socketpairs too, and bounded
 * loop runs. Everything here goes through common/tunnel.h and
 * common/flow.h only. */
#ifndef TESTS_UNIT_TUNNEL_PAIR_H
#define TESTS_UNIT_TUNNEL_PAIR_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/flow.h"
#include "../../common/tunnel.h"

struct tls_ctx;
struct tflow;

struct tunnel_pair {
	struct ev_loop *loop;
	struct tunnel *cli, *srv;
	int up, down;         /* tunnels whose up() / down() came */
	struct tflow *accept; /* server: the next OPEN becomes this flow */
	struct tls_ctx *cctx, *sctx;
	/* resume: what each side keeps of a lost tunnel, the code the
	 * server answers a RESUME with (RESUME_OK: the token must match) */
	struct kept ckept, skept;
	uint8_t resume_answer;
	struct tunnel_params cp, sp;
};

/* Parameters for one side: window and max-window both win (so that no
 * window grows), generous timeouts, no idle timeout or max-buffer. */
void tp_params(struct tunnel_params *p, int is_server, uint32_t win);
/* Both tunnels up over a new socketpair, or -1 (reported). */
int tp_start(struct tunnel_pair *p, const struct tunnel_params *cp,
	     const struct tunnel_params *sp);
/* Runs the loop until done(arg) is true: 0, or -1 (reported) when secs
 * went by first. */
int tp_run(struct tunnel_pair *p, int (*done)(void *arg), void *arg,
	   double secs);
/* Runs the loop for secs, whatever happens. */
void tp_wait(struct tunnel_pair *p, double secs);
/* The link breaks: both tunnels close at once (their streams parked
 * where both sides resume) and a new pair comes up; the client resumes
 * its kept streams on it. 0, or -1 (reported). */
int tp_break(struct tunnel_pair *p);
/* Frees both tunnels (their streams are aborted) and the loop. */
void tp_stop(struct tunnel_pair *p);

/* One end of a TCP flow, with the test's end of its local socket. */
struct tflow {
	struct flow f;
	int app;    /* ours; the flow has the other end */
	int closed; /* closed() came, with reason and why */
	int reason;
	char why[80];
	int result; /* client: the RESULT's code, -1 before it */
};

/* Client: a flow over p->cli; the server side becomes srv. Runs until
 * both relay: 0, or -1 (reported). */
int tflow_pair(struct tunnel_pair *p, struct tflow *cli, struct tflow *srv);
/* Both tunnels up with those parameters and one flow relaying over
 * them (tp_start, then tflow_pair): 0, or -1 (reported). Either way
 * tflow_stop() ends it. */
int tflow_start(struct tunnel_pair *p, const struct tunnel_params *cp,
		const struct tunnel_params *sp, struct tflow *cli,
		struct tflow *srv);
/* Frees both tunnels (tp_stop) and closes the test's ends of the
 * flow's sockets. */
void tflow_stop(struct tunnel_pair *p, struct tflow *cli, struct tflow *srv);

/* Writes len bytes of p to fd as it takes them, then (if shut) sends
 * the end of data. */
struct twriter {
	ev_io io;
	const uint8_t *p;
	size_t len, off;
	int shut, done, err;
};
void tw_start(struct ev_loop *loop, struct twriter *w, int fd, const uint8_t *p,
	      size_t len, int shut);

/* Reads fd into p (cap bytes) until the end of data or an error. */
struct treader {
	ev_io io;
	uint8_t *p;
	size_t cap, len;
	int eof, err; /* err: an errno, or -1 for more than cap */
};
void tr_start(struct ev_loop *loop, struct treader *r, int fd, uint8_t *p,
	      size_t cap);
void tr_stop(struct ev_loop *loop, struct treader *r);

/* n bytes of a pattern that shows a byte lost, doubled or moved. */
void fill_pattern(uint8_t *p, size_t n, unsigned seed);

#endif
