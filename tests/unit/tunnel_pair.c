/* The tunnel and flow test harness: see tunnel_pair.h. */
#include "tunnel_pair.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/tls.h"
#include "../../common/tunnel_conf.h"
#include "../../common/util.h"
#include "../../proxy-client/client_conf.h"
#include "../../proxy-server/pki.h"

/* The certificates, made once per test binary. */
static struct tls_params srv_tls, cli_tls;
static struct client_conf cli_conf;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

/* pki_* print their report to stdout: keep the test output readable. */
static int make_pki(const char *dir)
{
	static const char *const names[] = { "127.0.0.1" };
	const struct pki_init_opts io = {
		.names = names, .nnames = 1, .days = 1, .port = 443
	};
	const struct pki_client_opts co = { .days = 1 };
	int out = dup(1), null = open("/dev/null", O_WRONLY), rc;

	fflush(stdout);
	dup2(null, 1);
	rc = pki_init(dir, &io) || pki_add_client(dir, "alice", &co);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	close(null);
	return rc ? -1 : 0;
}

static char *read_pem(const char *dir, const char *file)
{
	char path[512];
	size_t len;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	s = read_file(path, 1 << 20, &len);
	if (!s)
		fprintf(stderr, "tunnel_pair: %s: %s\n", path, strerror(errno));
	return s;
}

/* A CA, the server's certificate for 127.0.0.1 and client alice's
 * profile, read back into memory; no key outlives this call on disk. */
static int load_certs(void)
{
	char dir[] = "/tmp/tunnel_pair.XXXXXX", path[512], err[256];
	int rc = -1;

	if (srv_tls.ca_pem)
		return 0;
	if (!mkdtemp(dir)) {
		perror("tunnel_pair: mkdtemp");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/clients/alice.conf", dir);
	if (make_pki(dir)) {
		fprintf(stderr, "tunnel_pair: making the PKI failed\n");
	} else if (client_conf_load(&cli_conf, path, err, sizeof(err))) {
		fprintf(stderr, "tunnel_pair: %s\n", err);
	} else {
		srv_tls.ca_pem = read_pem(dir, "ca.crt");
		srv_tls.cert_pem = read_pem(dir, "server.crt");
		srv_tls.key_pem = read_pem(dir, "server.key");
		cli_tls.ca_pem = cli_conf.tc.ca_pem;
		cli_tls.cert_pem = cli_conf.tc.cert_pem;
		cli_tls.key_pem = cli_conf.tc.key_pem;
		cli_tls.verify_name = "127.0.0.1";
		if (srv_tls.ca_pem && srv_tls.cert_pem && srv_tls.key_pem)
			rc = 0;
	}
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}

void tp_params(struct tunnel_params *p, int is_server, uint32_t win)
{
	memset(p, 0, sizeof(*p));
	p->is_server = is_server;
	p->window = win;
	p->max_window = win;
	p->keepalive = 30;
	p->timeout = 60;
	p->handshake_timeout = 10;
}

/* ---- tunnel ops ---- */

/* The server's one session token. */
static const uint8_t tp_token[RESUME_TOKEN_LEN] = "tunnel_pair token here.";

static void tp_up(struct tunnel *t)
{
	struct tunnel_pair *p = tunnel_owner(t);

	p->up++;
	if (!tunnel_resumes(t))
		return;
	if (tunnel_params(t)->is_server) {
		tunnel_keep_into(t, &p->skept);
		tunnel_send_session(t, tp_token);
		return;
	}
	tunnel_keep_into(t, &p->ckept);
	if (kept_count(&p->ckept))
		tunnel_resume_send(t, &p->ckept);
}

static void tp_resume(struct tunnel *t, const uint8_t *token, uint32_t n)
{
	struct tunnel_pair *p = tunnel_owner(t);
	uint8_t code = p->resume_answer;

	if (code == RESUME_OK && memcmp(token, tp_token, sizeof(tp_token)))
		code = RESUME_UNKNOWN;
	tunnel_resume_answer(t, code, code == RESUME_OK ? &p->skept : NULL);
}

static void tp_down(struct tunnel *t, const char *why)
{
	struct tunnel_pair *p = tunnel_owner(t);

	fprintf(stderr, "tunnel_pair: %s down: %s\n", tunnel_name(t), why);
	p->down++;
}

static const struct flow_ops tflow_ops;

static int nb_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0, sv);
}

/* Server: the OPEN becomes the flow the test set up to accept it, and
 * "connects" at once to a socketpair. */
static void tp_open(struct tunnel *t, const struct frame *f)
{
	struct tunnel_pair *p = tunnel_owner(t);
	struct tflow *s = p->accept;
	int sv[2];

	if (!s || f->type != FRAME_OPEN || nb_socketpair(sv)) {
		fprintf(stderr, "tunnel_pair: unexpected open\n");
		return;
	}
	p->accept = NULL;
	s->app = sv[0];
	flow_accept(&s->f, t, &tflow_ops, f->stream);
	flow_result(&s->f, sv[1], PROTO_OK, REASON_NONE, NULL);
}

static const struct tunnel_ops tp_ops = {
	.up = tp_up,
	.open = tp_open,
	.down = tp_down,
	.resume = tp_resume,
};

static int new_pair(struct tunnel_pair *p)
{
	int sv[2];

	if (nb_socketpair(sv))
		return -1;
	p->up = 0;
	p->srv = tunnel_new(p->loop, sv[0], tls_new(p->sctx, sv[0]), &tp_ops,
			    &p->sp, p);
	p->cli = tunnel_new(p->loop, sv[1], tls_new(p->cctx, sv[1]), &tp_ops,
			    &p->cp, p);
	return 0;
}

int tp_break(struct tunnel_pair *p)
{
	tunnel_close(p->cli, "test: the link broke");
	tunnel_close(p->srv, "test: the link broke");
	tunnel_free(p->cli);
	tunnel_free(p->srv);
	if (new_pair(p)) {
		fprintf(stderr, "tunnel_pair: socketpair failed\n");
		return -1;
	}
	return tp_run(p, NULL, NULL, 5);
}

int tp_start(struct tunnel_pair *p, const struct tunnel_params *cp,
	     const struct tunnel_params *sp)
{
	char err[256];

	memset(p, 0, sizeof(*p));
	p->cp = *cp;
	p->sp = *sp;
	signal(SIGPIPE, SIG_IGN);
	if (load_certs())
		return -1;
	p->loop = ev_loop_new(EVFLAG_AUTO);
	p->sctx = tls_ctx_server(&srv_tls, err, sizeof(err));
	if (p->sctx)
		p->cctx = tls_ctx_client(&cli_tls, err, sizeof(err));
	if (!p->cctx || new_pair(p)) {
		fprintf(stderr, "tunnel_pair: %s\n", p->sctx ? err : "setup");
		return -1;
	}
	return tp_run(p, NULL, NULL, 5);
}

/* ---- bounded loop runs ---- */

static void expire_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ONE);
}

/* NULL done: both tunnels up. */
static int is_done(struct tunnel_pair *p, int (*done)(void *arg), void *arg)
{
	return done ? done(arg) : p->up == 2;
}

static int run(struct tunnel_pair *p, int (*done)(void *arg), void *arg,
	       double secs)
{
	ev_timer t;
	int expired = 0;

	ev_now_update(p->loop);
	ev_timer_init(&t, expire_cb, secs, 0.);
	t.data = &expired;
	ev_timer_start(p->loop, &t);
	while (!is_done(p, done, arg) && !expired)
		ev_run(p->loop, EVRUN_ONCE);
	ev_timer_stop(p->loop, &t);
	return is_done(p, done, arg) ? 0 : -1;
}

int tp_run(struct tunnel_pair *p, int (*done)(void *arg), void *arg,
	   double secs)
{
	if (run(p, done, arg, secs) == 0)
		return 0;
	fprintf(stderr, "tunnel_pair: not done after %.1f s\n", secs);
	return -1;
}

static int never(void *arg)
{
	return 0;
}

void tp_wait(struct tunnel_pair *p, double secs)
{
	run(p, never, NULL, secs); /* always runs out: that is the point */
}

void tp_stop(struct tunnel_pair *p)
{
	/* the test is over: nothing is kept for another tunnel */
	if (p->cli)
		tunnel_keep_into(p->cli, NULL);
	if (p->srv)
		tunnel_keep_into(p->srv, NULL);
	tunnel_free(p->cli);
	tunnel_free(p->srv);
	kept_abort_all(&p->ckept);
	kept_abort_all(&p->skept);
	tls_ctx_free(p->cctx);
	tls_ctx_free(p->sctx);
	if (p->loop)
		ev_loop_destroy(p->loop);
	memset(p, 0, sizeof(*p));
}

/* ---- flows ---- */

static void tflow_result(struct flow *f, uint8_t code, uint8_t reason,
			 const struct addr *bound)
{
	struct tflow *c = container_of(f, struct tflow, f);

	c->result = code;
	if (code == PROTO_OK)
		flow_start(f);
}

static void tflow_closed(struct flow *f, int reason, const char *why)
{
	struct tflow *c = container_of(f, struct tflow, f);

	c->closed = 1;
	c->reason = reason;
	snprintf(c->why, sizeof(c->why), "%s", why);
}

static void tflow_endpoints(struct flow *f, struct addr *src, struct addr *dst)
{
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
}

static const struct flow_ops tflow_ops = {
	.result = tflow_result,
	.closed = tflow_closed,
	.endpoints = tflow_endpoints,
};

struct both {
	struct tflow *cli, *srv;
};

static int both_relay(void *arg)
{
	struct both *b = arg;

	return b->cli->result == PROTO_OK && b->cli->f.relaying &&
	       b->srv->f.relaying;
}

int tflow_pair(struct tunnel_pair *p, struct tflow *cli, struct tflow *srv)
{
	struct both b = { cli, srv };
	struct addr dst;
	int sv[2];

	memset(cli, 0, sizeof(*cli));
	memset(srv, 0, sizeof(*srv));
	cli->result = srv->result = -1;
	cli->app = srv->app = -1;
	if (nb_socketpair(sv))
		return -1;
	cli->app = sv[0];
	addr_parse("192.0.2.1:80", 0, &dst);
	p->accept = srv;
	flow_open(&cli->f, p->cli, &tflow_ops, sv[1], &dst);
	return tp_run(p, both_relay, &b, 5);
}

int tflow_start(struct tunnel_pair *p, const struct tunnel_params *cp,
		const struct tunnel_params *sp, struct tflow *cli,
		struct tflow *srv)
{
	cli->app = srv->app = -1;
	if (tp_start(p, cp, sp))
		return -1;
	return tflow_pair(p, cli, srv);
}

void tflow_stop(struct tunnel_pair *p, struct tflow *cli, struct tflow *srv)
{
	tp_stop(p);
	close(cli->app);
	close(srv->app);
}

/* ---- the test's ends of the sockets ---- */

static void tw_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct twriter *w = container_of(io, struct twriter, io);
	ssize_t n = 0;

	if (w->off < w->len)
		n = write(io->fd, w->p + w->off, w->len - w->off);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		w->err = errno;
		ev_io_stop(loop, io);
		return;
	}
	w->off += (size_t)n;
	if (w->off < w->len)
		return;
	if (w->shut)
		shutdown(io->fd, SHUT_WR);
	w->done = 1;
	ev_io_stop(loop, io);
}

void tw_start(struct ev_loop *loop, struct twriter *w, int fd, const uint8_t *p,
	      size_t len, int shut)
{
	memset(w, 0, sizeof(*w));
	w->p = p;
	w->len = len;
	w->shut = shut;
	ev_io_init(&w->io, tw_cb, fd, EV_WRITE);
	ev_io_start(loop, &w->io);
}

static void tr_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct treader *r = container_of(io, struct treader, io);
	uint8_t extra;
	ssize_t n;

	if (r->len < r->cap)
		n = read(io->fd, r->p + r->len, r->cap - r->len);
	else
		n = read(io->fd, &extra, 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 || (n > 0 && r->len == r->cap)) {
		r->err = n < 0 ? errno : -1;
		ev_io_stop(loop, io);
		return;
	}
	if (n == 0) {
		r->eof = 1;
		ev_io_stop(loop, io);
		return;
	}
	r->len += (size_t)n;
}

void tr_start(struct ev_loop *loop, struct treader *r, int fd, uint8_t *p,
	      size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->cap = cap;
	ev_io_init(&r->io, tr_cb, fd, EV_READ);
	ev_io_start(loop, &r->io);
}

void tr_stop(struct ev_loop *loop, struct treader *r)
{
	ev_io_stop(loop, &r->io);
}

void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}
