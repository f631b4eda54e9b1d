/*
 * loadgen serve: the targets in the "internet" namespace (TCP echo, source
 * and sink; UDP echo), one epoll loop, never the bottleneck (the bench
 * checks that against the no-proxy path).
 *
 * loadgen delay: a packet delay line between two namespaces, for a link
 * with a known round-trip time (the kernel here has no netem).
 */
#include "loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IOBUF (256 * 1024)
#define UDP_BATCH 64
#define UDP_MAX 9216
#define REPORT_NS 100000000u	/* upload reports every 100 ms */

static uint8_t iobuf[IOBUF];

static int listen_on(const struct sockaddr_in *a, int type)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, big = 8 << 20;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	}
	if (bind(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		warnx_("bind/listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ serve */

struct tconn {
	int fd;
	char mode;		/* 0 until the first byte */
	uint64_t rx;		/* upload: bytes read */
	uint64_t last_report;
	uint8_t *pend;		/* echo: bytes not yet written back */
	size_t plen, poff;
};

static int tag_listen, tag_udp;	/* their addresses tag epoll events */

static void tconn_close(struct tconn *c)
{
	close(c->fd);	/* also leaves the epoll set */
	free(c->pend);
	free(c);
}

static void set_events(int ep, struct tconn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Echo N bytes of iobuf; what does not fit waits, reading stops. */
static int echo(int ep, struct tconn *c, size_t n)
{
	ssize_t w = send(c->fd, iobuf, n, MSG_NOSIGNAL);

	if (w < 0 && errno != EAGAIN)
		return -1;
	if (w < 0)
		w = 0;
	if ((size_t)w < n) {
		c->plen = n - (size_t)w;
		c->poff = 0;
		c->pend = malloc(c->plen);
		if (!c->pend)
			return -1;
		memcpy(c->pend, iobuf + w, c->plen);
		set_events(ep, c, EPOLLOUT);
	}
	return 0;
}

static void upload_report(struct tconn *c)
{
	uint64_t t = now_ns();
	uint8_t r[16];
	int i;

	if (t - c->last_report < REPORT_NS)
		return;
	c->last_report = t;
	for (i = 0; i < 8; i++) {
		r[i] = (uint8_t)(c->rx >> (56 - 8 * i));
		r[8 + i] = (uint8_t)(t >> (56 - 8 * i));
	}
	send(c->fd, r, sizeof(r), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int on_readable(int ep, struct tconn *c)
{
	int i;

	for (i = 0; i < 16; i++) {
		ssize_t r = read(c->fd, iobuf, IOBUF);
		size_t off = 0;

		if (r == 0)
			return -1;
		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		if (!c->mode) {
			c->mode = (char)iobuf[0];
			if (c->mode == 'D')
				set_events(ep, c, EPOLLIN | EPOLLOUT);
			if (c->mode != 'E')
				off = 1;
		}
		switch (c->mode) {
		case 'E':
			return echo(ep, c, (size_t)r);
		case 'U':
			c->rx += (uint64_t)r - off;
			upload_report(c);
			break;
		case 'D':
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static int on_writable(int ep, struct tconn *c)
{
	int i;

	if (c->mode == 'E') {
		ssize_t w = send(c->fd, c->pend + c->poff, c->plen - c->poff,
				 MSG_NOSIGNAL);

		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->poff += (size_t)w;
		if (c->poff == c->plen) {
			free(c->pend);
			c->pend = NULL;
			set_events(ep, c, EPOLLIN);
		}
		return 0;
	}
	for (i = 0; i < 16; i++) {
		ssize_t w = send(c->fd, iobuf, IOBUF, MSG_NOSIGNAL);

		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
	}
	return 0;
}

static void on_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event e = { .events = EPOLLIN };
		struct tconn *c;

		if (fd < 0) {
			if (errno != EAGAIN)
				warnx_("accept: %s", strerror(errno));
			return;
		}
		tune_tcp(fd);
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		e.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
	}
}

static void on_udp(int fd)
{
	static uint8_t bufs[UDP_BATCH][UDP_MAX];
	struct mmsghdr m[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_in from[UDP_BATCH];
	int i, n, round;

	for (round = 0; round < 16; round++) {
		memset(m, 0, sizeof(m));
		for (i = 0; i < UDP_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = UDP_MAX;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, m, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		sendmmsg(fd, m, (unsigned)n, MSG_DONTWAIT);
	}
}

int mode_serve(const struct lg_opts *o)
{
	struct epoll_event ev[256];
	struct epoll_event e = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int lfd = listen_on(&o->tcp, SOCK_STREAM);
	int ufd = listen_on(&o->udp, SOCK_DGRAM);

	if (ep < 0 || lfd < 0 || ufd < 0)
		return 1;
	memset(iobuf, 'x', sizeof(iobuf));
	e.data.ptr = &tag_listen;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	e.data.ptr = &tag_udp;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &e);
	fprintf(stderr, "loadgen serve: ready\n");
	for (;;) {
		int i, n = epoll_wait(ep, ev, 256, -1);

		for (i = 0; i < n; i++) {
			struct tconn *c = ev[i].data.ptr;
			int rc = 0;

			if (ev[i].data.ptr == &tag_listen) {
				on_accept(ep, lfd);
				continue;
			}
			if (ev[i].data.ptr == &tag_udp) {
				on_udp(ufd);
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				rc = on_readable(ep, c);
			if (rc == 0 && (ev[i].events & EPOLLOUT))
				rc = on_writable(ep, c);
			if (rc < 0)
				tconn_close(c);
		}
	}
}

/* ------------------------------------------------------------ delay */

/*
 * A packet delay line between two network namespaces: a TUN device
 * "bdelay0" in the namespace loadgen starts in and "bdelay1" in the one
 * named by --ns; every IP packet read from one is written to the other
 * --ms later. Unlike a relay at the TCP level it delays SYNs and
 * handshakes too, so a flow's set-up costs its real round trips. The bench
 * addresses the two devices once "ready" is printed.
 */
#define DELAY_QMAX 50000	/* packets held per direction; more drop */

struct pkt {
	struct pkt *next;
	uint64_t due;
	size_t len;
	uint8_t data[];
};

struct pktq {
	struct pkt *head, *tail;
	int n;
};

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

static void delay_read(int fd, struct pktq *q, uint64_t delay)
{
	int i;

	for (i = 0; i < 64; i++) {
		ssize_t n = read(fd, iobuf, 65536);
		struct pkt *p;

		if (n <= 0)
			return;
		if (q->n >= DELAY_QMAX)
			continue;
		p = malloc(sizeof(*p) + (size_t)n);
		if (!p)
			return;
		p->next = NULL;
		p->due = now_ns() + delay;
		p->len = (size_t)n;
		memcpy(p->data, iobuf, (size_t)n);
		if (q->tail)
			q->tail->next = p;
		else
			q->head = p;
		q->tail = p;
		q->n++;
	}
}

/* Writes the due packets of Q to FD; returns when the next one is due. */
static uint64_t delay_flush(int fd, struct pktq *q, uint64_t t)
{
	while (q->head && q->head->due <= t) {
		struct pkt *p = q->head;

		if (write(fd, p->data, p->len) < 0 && errno == EAGAIN)
			return t + 100000;	/* try again in 0.1 ms */
		q->head = p->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
		free(p);
	}
	return q->head ? q->head->due : 0;
}

int mode_delay(const struct lg_opts *o)
{
	struct epoll_event ev[2], e = { .events = EPOLLIN };
	struct pktq q[2];
	uint64_t delay = (uint64_t)(o->delay_ms * 1e6);
	int fd[2], nsfd, ep, i;

	memset(q, 0, sizeof(q));
	fd[0] = tun_open("bdelay0");
	nsfd = open(o->ns, O_RDONLY | O_CLOEXEC);
	if (fd[0] < 0 || nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		warnx_("delay: tun or %s: %s", o->ns, strerror(errno));
		return 1;
	}
	fd[1] = tun_open("bdelay1");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (fd[1] < 0 || ep < 0) {
		warnx_("delay: tun: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < 2; i++) {
		e.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &e);
	}
	out("ready", "%.1f", o->delay_ms);
	for (;;) {
		uint64_t t = now_ns(), next = 0, d;
		struct timespec ts = { 0, 0 };
		int n;

		for (i = 0; i < 2; i++) {
			d = delay_flush(fd[!i], &q[i], t);
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
			delay_read(fd[ev[i].data.u32], &q[ev[i].data.u32], delay);
	}
}
