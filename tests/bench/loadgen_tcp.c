/*
 * loadgen TCP modes: dl, ul (bulk), ttfb and idle (many new flows, the
 * SOCKS5 exchange as a non-blocking state machine), pingpong, and load
 * (RTT probes while a download saturates the proxy).
 */
#include "loadgen.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BULK (256 * 1024)
#define FLOW_TIMEOUT_NS 10000000000ull /* one new flow, at most */

static uint8_t bulk[BULK];

static uint64_t secs_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

/* ------------------------------------------------------------ dl, ul */

struct ulflow {
	int fd;
	uint8_t rep[16];
	size_t have;
	uint64_t rx0, t0; /* first report inside the window */
	uint64_t rx1, t1; /* last report */
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int open_bulk(const struct lg_opts *o, char mode, int *fds, int ep)
{
	int i;

	for (i = 0; i < o->flows; i++) {
		struct epoll_event e = { .events = EPOLLIN,
					 .data.u32 = (uint32_t)i };

		fds[i] = flow_open(o, mode, 10000);
		if (fds[i] < 0)
			return -1;
		set_nb(fds[i]);
		if (mode == 'U')
			e.events |= EPOLLOUT;
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
	}
	return 0;
}

int mode_dl(const struct lg_opts *o)
{
	int fds[256], ep = epoll_create1(0), i;
	uint64_t t0, w0, w1, total = 0, win = 0, t;
	struct epoll_event ev[256];

	if (open_bulk(o, 'D', fds, ep) < 0)
		return 1;
	t0 = now_ns();
	w0 = t0 + secs_ns(o->warmup);
	w1 = w0 + secs_ns(o->seconds);
	while ((t = now_ns()) < w1) {
		int n = epoll_wait(ep, ev, 256, 100);

		for (i = 0; i < n; i++) {
			int fd = fds[ev[i].data.u32], k;

			for (k = 0; k < 8; k++) {
				ssize_t r = read(fd, bulk, BULK);

				if (r == 0 || (r < 0 && errno != EAGAIN)) {
					warnx_("dl: flow ended early");
					return 1;
				}
				if (r < 0)
					break;
				total += (uint64_t)r;
				if (t >= w0)
					win += (uint64_t)r;
			}
		}
	}
	out("mbps", "%.1f", (double)win / 1e6 / ((double)(t - w0) / 1e9));
	out("bytes", "%llu", (unsigned long long)total);
	for (i = 0; i < o->flows; i++)
		close(fds[i]);
	return 0;
}

int mode_ul(const struct lg_opts *o)
{
	int fds[256], ep = epoll_create1(0), i;
	struct ulflow f[256];
	uint64_t t0, w0, w1, sent = 0;
	double mbps = 0;
	struct epoll_event ev[256];

	memset(f, 0, sizeof(f));
	if (open_bulk(o, 'U', fds, ep) < 0)
		return 1;
	t0 = now_ns();
	w0 = t0 + secs_ns(o->warmup);
	w1 = w0 + secs_ns(o->seconds);
	while (now_ns() < w1 + 200000000u) {
		int n = epoll_wait(ep, ev, 256, 50);

		for (i = 0; i < n; i++) {
			int k = (int)ev[i].data.u32;
			struct ulflow *u = &f[k];
			ssize_t r;

			if ((ev[i].events & EPOLLOUT) && now_ns() < w1) {
				r = send(fds[k], bulk, BULK, MSG_NOSIGNAL);
				if (r > 0)
					sent += (uint64_t)r;
			}
			if (!(ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			r = read(fds[k], u->rep + u->have, 16 - u->have);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				warnx_("ul: flow ended early");
				return 1;
			}
			if (r < 0)
				continue;
			u->have += (size_t)r;
			if (u->have < 16)
				continue;
			u->have = 0;
			if (be64(u->rep + 8) < w0)
				continue;
			if (!u->t0) {
				u->rx0 = be64(u->rep);
				u->t0 = be64(u->rep + 8);
			}
			if (be64(u->rep + 8) <= w1) {
				u->rx1 = be64(u->rep);
				u->t1 = be64(u->rep + 8);
			}
		}
		if (now_ns() >= w1) /* stop sending, collect reports */
			for (i = 0; i < o->flows; i++) {
				struct epoll_event e = {
					.events = EPOLLIN,
					.data.u32 = (uint32_t)i
				};

				epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &e);
			}
	}
	for (i = 0; i < o->flows; i++) {
		if (f[i].t1 <= f[i].t0) {
			warnx_("ul: flow %d: too few reports from the target",
			       i);
			return 1;
		}
		mbps += (double)(f[i].rx1 - f[i].rx0) / 1e6 /
			((double)(f[i].t1 - f[i].t0) / 1e9);
		close(fds[i]);
	}
	out("mbps", "%.1f", mbps);
	out("bytes", "%llu", (unsigned long long)sent);
	return 0;
}

/* ------------------------------------------------------------ new flows */

enum { ST_FREE, ST_CONN, ST_GREET, ST_REPLY, ST_ECHO };

struct pend {
	int fd, st;
	uint64_t t0;
	size_t have;
	uint8_t b[300];
};

struct opener {
	const struct lg_opts *o;
	int ep, conc;
	struct pend *p;
	int inflight;
	uint64_t *lat; /* ttfb: samples, or NULL */
	size_t nlat, cap;
	int *kept; /* idle: open flows, or NULL */
	int nkept;
	int ok, errors;
	int err_at[5]; /* errors by state, for diagnosis */
};

static void pend_fail(struct opener *op, struct pend *p)
{
	op->err_at[p->st]++;
	close(p->fd);
	p->st = ST_FREE;
	op->inflight--;
	op->errors++;
}

static void pend_done(struct opener *op, struct pend *p)
{
	uint64_t t = now_ns();

	op->ok++;
	op->inflight--;
	p->st = ST_FREE;
	if (op->lat && op->nlat < op->cap)
		op->lat[op->nlat++] = t - p->t0;
	if (op->kept) {
		epoll_ctl(op->ep, EPOLL_CTL_DEL, p->fd, NULL);
		op->kept[op->nkept++] = p->fd;
	} else {
		close(p->fd);
	}
}

static int pend_start(struct opener *op, int slot)
{
	struct pend *p = &op->p[slot];
	const struct sockaddr_in *a = op->o->use_socks ? &op->o->socks :
							 &op->o->tcp;
	struct epoll_event e = { .events = EPOLLOUT,
				 .data.u32 = (uint32_t)slot };

	p->t0 = now_ns();
	p->have = 0;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (p->fd < 0) {
		op->errors++;
		return -1;
	}
	tune_tcp(p->fd);
	if (connect(p->fd, (const struct sockaddr *)a, sizeof(*a)) < 0 &&
	    errno != EINPROGRESS) {
		close(p->fd);
		op->errors++;
		return -1;
	}
	p->st = ST_CONN;
	op->inflight++;
	epoll_ctl(op->ep, EPOLL_CTL_ADD, p->fd, &e);
	return 0;
}

static int send_small(int fd, const void *b, size_t n)
{
	return send(fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* One event on a flow being opened. */
static void pend_step(struct opener *op, struct pend *p, int slot)
{
	struct epoll_event e = { .events = EPOLLIN,
				 .data.u32 = (uint32_t)slot };
	uint8_t req[16];
	ssize_t r;
	int len, err = 0;
	socklen_t sl = sizeof(err);

	switch (p->st) {
	case ST_CONN:
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err)
			goto fail;
		epoll_ctl(op->ep, EPOLL_CTL_MOD, p->fd, &e);
		if (op->o->use_socks) {
			p->st = ST_GREET;
			if (send_small(p->fd, req, socks_greeting(req)) < 0)
				goto fail;
		} else {
			p->st = ST_ECHO;
			if (send_small(p->fd, "E", 1) < 0)
				goto fail;
		}
		return;
	case ST_GREET:
	case ST_REPLY:
		r = read(p->fd, p->b + p->have, sizeof(p->b) - p->have);
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0)
			goto fail;
		p->have += (size_t)r;
		if (p->st == ST_GREET) {
			if (p->have < 2)
				return;
			if (p->b[0] != 5 || p->b[1] != 0)
				goto fail;
			p->st = ST_REPLY;
			p->have = 0;
			if (send_small(p->fd, req,
				       socks_request(req, 1, &op->o->tcp)) < 0)
				goto fail;
			return;
		}
		len = socks_reply_len(p->b, p->have);
		if (len == 0)
			return;
		if (len < 0 || p->b[1] != 0)
			goto fail;
		p->st = ST_ECHO;
		if (send_small(p->fd, "E", 1) < 0)
			goto fail;
		return;
	case ST_ECHO:
		r = read(p->fd, p->b, 1);
		if (r < 0 && errno == EAGAIN)
			return;
		if (r != 1 || p->b[0] != 'E')
			goto fail;
		pend_done(op, p);
		return;
	}
	return;
fail:
	pend_fail(op, p);
}

/*
 * Opens flows CONC at a time until WANT have answered their first echo, the
 * DEADLINE passes, or too many failed. Returns the number opened.
 */
static int run_opens(struct opener *op, int want, uint64_t deadline)
{
	struct epoll_event ev[256];
	int max_err = op->errors + 100 + want / 20;
	int i, goal = op->ok + want;

	for (;;) {
		uint64_t t = now_ns();
		int n;

		for (i = 0; i < op->conc && t < deadline; i++) {
			if (op->p[i].st != ST_FREE)
				continue;
			if (op->ok + op->inflight >= goal ||
			    op->errors >= max_err)
				break;
			pend_start(op, i);
		}
		if (op->inflight == 0)
			break;
		n = epoll_wait(op->ep, ev, 256, 50);
		for (i = 0; i < n; i++) {
			int s = (int)ev[i].data.u32;

			if (op->p[s].st != ST_FREE)
				pend_step(op, &op->p[s], s);
		}
		t = now_ns();
		for (i = 0; i < op->conc; i++) {
			struct pend *p = &op->p[i];

			if (p->st == ST_FREE)
				continue;
			if (t - p->t0 > FLOW_TIMEOUT_NS) {
				pend_fail(op, p);
			} else if (t >= deadline) { /* abandoned, not failed */
				pend_fail(op, p);
				op->errors--;
				op->err_at[ST_FREE]++;
			}
		}
	}
	return op->ok;
}

static void opener_report(const struct opener *op)
{
	if (op->errors)
		warnx_("%d flows failed: %d connecting, %d at the greeting, "
		       "%d at the reply, %d waiting for the echo",
		       op->errors, op->err_at[ST_CONN], op->err_at[ST_GREET],
		       op->err_at[ST_REPLY], op->err_at[ST_ECHO]);
}

static int opener_init(struct opener *op, const struct lg_opts *o)
{
	memset(op, 0, sizeof(*op));
	op->o = o;
	op->conc = o->conc;
	op->ep = epoll_create1(0);
	op->p = calloc((size_t)op->conc, sizeof(*op->p));
	return op->ep < 0 || !op->p ? -1 : 0;
}

int mode_ttfb(const struct lg_opts *o)
{
	struct opener op;
	uint64_t t0, t1;

	if (opener_init(&op, o) < 0)
		return 1;
	op.cap = (size_t)o->count;
	op.lat = calloc(op.cap, sizeof(*op.lat));
	if (!op.lat)
		return 1;
	t0 = now_ns();
	run_opens(&op, o->count, t0 + secs_ns(o->seconds));
	t1 = now_ns();
	opener_report(&op);
	print_pcts("ttfb", op.lat, op.nlat);
	out("flows_per_s", "%.1f", (double)op.ok / ((double)(t1 - t0) / 1e9));
	out("errors", "%d", op.errors);
	return op.ok > 0 ? 0 : 1;
}

/*
 * idle: open flows up to each of --steps (echo flows, each confirmed by
 * its first echoed byte), print "ready N", wait for a line on stdin, go
 * on; the bench reads the proxies' memory in between.
 */
int mode_idle(const struct lg_opts *o)
{
	struct opener op;
	char line[64];
	int i;

	if (opener_init(&op, o) < 0)
		return 1;
	op.kept = calloc(LG_MAX_FLOWS, sizeof(int));
	if (!op.kept)
		return 1;
	for (i = 0; i < o->nsteps; i++) {
		int want = o->steps[i] - op.ok;

		if (want > LG_MAX_FLOWS - op.ok)
			want = LG_MAX_FLOWS - op.ok;
		uint64_t t0 = now_ns();

		if (want > 0)
			run_opens(&op, want, t0 + secs_ns(o->seconds));
		opener_report(&op);
		out("open_s", "%.2f", (double)(now_ns() - t0) / 1e9);
		out("ready", "%d", op.ok);
		out("errors", "%d", op.errors);
		if (!fgets(line, sizeof(line), stdin))
			break;
	}
	for (i = 0; i < op.nkept; i++)
		close(op.kept[i]);
	return 0;
}

/* ------------------------------------------------------------ pingpong */

/* 1-byte round trips on an open echo flow, every INTERVAL_NS (0: back to
 * back) until END or CAP samples. Returns the number of samples, -1. */
static long pingpong(int fd, uint64_t *lat, size_t cap, uint64_t end,
		     uint64_t interval_ns, volatile int *stop)
{
	size_t n = 0;
	uint64_t next = now_ns();

	while (n < cap && !(stop && *stop)) {
		uint64_t t = now_ns();
		char c = 'p';

		if (t >= end)
			break;
		if (interval_ns) {
			if (t < next) {
				sleep_ns(next - t);
				continue;
			}
			next += interval_ns;
			t = now_ns();
		}
		if (write_full(fd, &c, 1) < 0 || read_full(fd, &c, 1, 2000) < 0)
			return -1;
		lat[n++] = now_ns() - t;
	}
	return (long)n;
}

static int open_echo(const struct lg_opts *o)
{
	int fd = flow_open(o, 'E', 10000);
	char c;

	if (fd >= 0 && (read_full(fd, &c, 1, 10000) < 0 || c != 'E')) {
		warnx_("echo flow: no echo");
		close(fd);
		return -1;
	}
	return fd;
}

int mode_pingpong(const struct lg_opts *o)
{
	uint64_t *lat = calloc((size_t)o->count, sizeof(*lat));
	int fd = open_echo(o);
	long n;

	if (fd < 0 || !lat)
		return 1;
	n = pingpong(fd, lat, (size_t)o->count, now_ns() + secs_ns(o->seconds),
		     0, NULL);
	close(fd);
	if (n < 0) {
		warnx_("pingpong: %s", strerror(errno));
		return 1;
	}
	print_pcts("rtt", lat, (size_t)n);
	return 0;
}

/* ------------------------------------------------------------ load */

struct load {
	const struct lg_opts *o;
	volatile int stop;
	uint64_t w0, w1; /* probe window */
	/* download */
	int dl_fd;
	uint64_t dl_bytes;
	int dl_err;
	/* TCP probe */
	int tcp_fd;
	uint64_t *tcp_lat;
	long tcp_n;
	/* UDP probe */
	struct udp_path up;
	int have_udp;
	uint64_t *udp_lat;
	size_t udp_n;
	long udp_lost;
};

static void *load_dl(void *arg)
{
	struct load *l = arg;

	while (!l->stop) {
		ssize_t r = read(l->dl_fd, bulk, BULK);

		if (r <= 0) {
			l->dl_err = !l->stop;
			break;
		}
		{
			uint64_t t = now_ns();

			if (t >= l->w0 && t < l->w1)
				l->dl_bytes += (uint64_t)r;
		}
	}
	return NULL;
}

static void *load_tcp(void *arg)
{
	struct load *l = arg;
	uint64_t t = now_ns();

	if (t < l->w0)
		sleep_ns(l->w0 - t);
	l->tcp_n = pingpong(l->tcp_fd, l->tcp_lat, 1000000, l->w1,
			    (uint64_t)(l->o->interval_ms * 1e6), &l->stop);
	return NULL;
}

static void *load_udp(void *arg)
{
	struct load *l = arg;
	uint64_t t = now_ns();

	if (t < l->w0)
		sleep_ns(l->w0 - t);
	l->udp_lost = udp_probe(&l->up, l->o, l->w1, l->udp_lat, 1000000,
				&l->udp_n);
	return NULL;
}

/*
 * load: a TCP echo flow and (unless --udp is not given) a UDP association
 * are opened first; then one download starts, and after the warm-up both
 * are probed every --interval-ms for --seconds.
 */
int mode_load(const struct lg_opts *o)
{
	struct load l;
	pthread_t th[3];

	memset(&l, 0, sizeof(l));
	l.o = o;
	l.tcp_lat = calloc(1000000, sizeof(uint64_t));
	l.udp_lat = calloc(1000000, sizeof(uint64_t));
	l.tcp_fd = open_echo(o);
	if (l.tcp_fd < 0 || !l.tcp_lat || !l.udp_lat)
		return 1;
	l.have_udp = o->udp.sin_port != 0;
	if (l.have_udp && udp_path_open(&l.up, o) < 0)
		return 1;
	l.dl_fd = flow_open(o, 'D', 10000);
	if (l.dl_fd < 0)
		return 1;
	l.w0 = now_ns() + secs_ns(o->warmup < 1 ? 1 : o->warmup);
	l.w1 = l.w0 + secs_ns(o->seconds);
	pthread_create(&th[0], NULL, load_dl, &l);
	pthread_create(&th[1], NULL, load_tcp, &l);
	if (l.have_udp)
		pthread_create(&th[2], NULL, load_udp, &l);
	pthread_join(th[1], NULL);
	if (l.have_udp)
		pthread_join(th[2], NULL);
	l.stop = 1;
	shutdown(l.dl_fd, SHUT_RDWR);
	pthread_join(th[0], NULL);
	out("dl_mbps", "%.1f", (double)l.dl_bytes / 1e6 / o->seconds);
	if (l.dl_err)
		warnx_("load: the download ended early");
	if (l.tcp_n < 0) {
		warnx_("load: TCP probe failed");
		return 1;
	}
	print_pcts("tcp", l.tcp_lat, (size_t)l.tcp_n);
	if (l.have_udp) {
		print_pcts("udp", l.udp_lat, l.udp_n);
		out("udp_lost", "%ld", l.udp_lost);
	}
	return 0;
}
