/*
 * loadgen delay: a packet link between two network namespaces with a
 * known round-trip time, random loss and a bottleneck (the kernel here
 * has no netem).
 *
 * A TUN device NAME0 ("bdelay0" unless --dev says otherwise) in the
 * namespace loadgen starts in and NAME1 in the one named by --ns; every IP
 * packet read from one is written to the other. Each direction on its
 * own, a packet is
 *   1. dropped at random with probability --drop (a seeded generator,
 *      --seed, so that a run can be repeated packet for packet);
 *   2. queued at the bottleneck when --mbit is set: it leaves the
 *      bottleneck once every packet ahead of it has, at --mbit per second,
 *      and is dropped when --queue packets already wait there (a tail-drop
 *      router's buffer);
 *   3. delivered --ms after it left the bottleneck.
 * Unlike a relay at the TCP level it delays SYNs and handshakes too, so a
 * flow's set-up costs its real round trips, and a loss is a lost segment
 * the endpoints' own TCP must repair. The bench addresses the devices once
 * "ready" is printed. SIGUSR1 prints the counters; SIGTERM prints them and
 * ends.
 */
#include "loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define DELAY_QMAX 50000	/* packets held per direction; more drop */
#define PKT_MAX 65536

struct pkt {
	struct pkt *next;
	uint64_t due;
	size_t len;
	uint8_t data[];
};

/* One direction: the packets on their way (in order of due time) and
 * the bottleneck's departure times, a ring of at most --queue entries. */
struct way {
	struct pkt *head, *tail;
	int n;
	uint64_t *dep;		/* departure times of packets at the bottleneck */
	int dep_head, dep_n;
	uint64_t last_dep;
	uint64_t seen, lost, qdropped;
};

struct link {
	uint64_t delay_ns;
	double drop;
	double ns_per_byte;	/* 0: no bottleneck */
	int queue;
	uint64_t rng;
};

static volatile sig_atomic_t want_stats, want_stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stats = 1;
	else
		want_stop = 1;
}

/* xorshift64*: uniform in [0, 1). */
static double rnd(struct link *l)
{
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return (double)((l->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	set_nb(fd);
	return fd;
}

/* When a packet of LEN bytes arriving at T leaves the bottleneck, or 0
 * when the bottleneck's queue is full. */
static uint64_t bottleneck(struct link *l, struct way *w, size_t len,
			   uint64_t t)
{
	uint64_t d;

	if (l->ns_per_byte == 0)
		return t;
	while (w->dep_n > 0 && w->dep[w->dep_head] <= t) {
		w->dep_head = (w->dep_head + 1) % l->queue;
		w->dep_n--;
	}
	if (w->dep_n >= l->queue)
		return 0;
	d = (w->last_dep > t ? w->last_dep : t) +
	    (uint64_t)(l->ns_per_byte * (double)len);
	w->dep[(w->dep_head + w->dep_n) % l->queue] = d;
	w->dep_n++;
	w->last_dep = d;
	return d;
}

static void way_read(struct link *l, int fd, struct way *w)
{
	static uint8_t in[PKT_MAX];
	int i;

	for (i = 0; i < 64; i++) {
		ssize_t n = read(fd, in, sizeof(in));
		uint64_t dep;
		struct pkt *p;

		if (n <= 0)
			return;
		w->seen++;
		if (l->drop > 0 && rnd(l) < l->drop) {
			w->lost++;
			continue;
		}
		dep = bottleneck(l, w, (size_t)n, now_ns());
		if (!dep || w->n >= DELAY_QMAX) {
			w->qdropped++;
			continue;
		}
		p = malloc(sizeof(*p) + (size_t)n);
		if (!p)
			return;
		p->next = NULL;
		p->due = dep + l->delay_ns;
		p->len = (size_t)n;
		memcpy(p->data, in, (size_t)n);
		if (w->tail)
			w->tail->next = p;
		else
			w->head = p;
		w->tail = p;
		w->n++;
	}
}

/* Writes the due packets of W to FD; returns when the next one is due. */
static uint64_t way_flush(int fd, struct way *w, uint64_t t)
{
	while (w->head && w->head->due <= t) {
		struct pkt *p = w->head;

		if (write(fd, p->data, p->len) < 0 && errno == EAGAIN)
			return t + 100000;	/* try again in 0.1 ms */
		w->head = p->next;
		if (!w->head)
			w->tail = NULL;
		w->n--;
		free(p);
	}
	return w->head ? w->head->due : 0;
}

static void print_stats(const struct way *w)
{
	int i;

	for (i = 0; i < 2; i++)
		printf("way%d seen %llu lost %llu qdropped %llu\n", i,
		       (unsigned long long)w[i].seen,
		       (unsigned long long)w[i].lost,
		       (unsigned long long)w[i].qdropped);
	fflush(stdout);
}

int mode_delay(const struct lg_opts *o)
{
	struct epoll_event ev[2], e = { .events = EPOLLIN };
	struct sigaction sa;
	struct way w[2];
	struct link l = {
		.delay_ns = (uint64_t)(o->delay_ms * 1e6),
		.drop = o->drop,
		.ns_per_byte = o->mbit > 0 ? 8e3 / o->mbit : 0,
		.queue = o->queue > 0 ? o->queue : 1000,
		.rng = o->seed ? o->seed : 1,
	};
	char dev[2][IFNAMSIZ];
	int fd[2], nsfd, ep, i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < 2; i++) {
		w[i].dep = calloc((size_t)l.queue, sizeof(uint64_t));
		if (!w[i].dep)
			return 1;
		snprintf(dev[i], sizeof(dev[i]), "%.12s%d",
			 o->dev ? o->dev : "bdelay", i);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd[0] = tun_open(dev[0]);
	nsfd = open(o->ns ? o->ns : "", O_RDONLY | O_CLOEXEC);
	if (fd[0] < 0 || nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		warnx_("delay: tun or %s: %s", o->ns ? o->ns : "no --ns",
		       strerror(errno));
		return 1;
	}
	fd[1] = tun_open(dev[1]);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (fd[1] < 0 || ep < 0) {
		warnx_("delay: tun: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < 2; i++) {
		e.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &e);
	}
	out("ready", "%.1f ms, drop %g, %g Mbit/s, queue %d", o->delay_ms,
	    l.drop, o->mbit, l.queue);
	while (!want_stop) {
		uint64_t t = now_ns(), next = 0, d;
		struct timespec ts = { 0, 0 };
		int n;

		if (want_stats) {
			want_stats = 0;
			print_stats(w);
		}
		for (i = 0; i < 2; i++) {
			d = way_flush(fd[!i], &w[i], t);
			if (d && (!next || d < next))
				next = d;
		}
		if (next) {
			d = next > t ? next - t : 0;
			ts.tv_sec = (time_t)(d / 1000000000u);
			ts.tv_nsec = (long)(d % 1000000000u);
		}
		n = epoll_pwait2(ep, ev, 2, next ? &ts : NULL, NULL);
		for (i = 0; i < n; i++)
			way_read(&l, fd[ev[i].data.u32], &w[ev[i].data.u32]);
	}
	print_stats(w);
	return 0;
}
