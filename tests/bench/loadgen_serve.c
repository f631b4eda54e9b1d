/*
 * loadgen serve: the targets in the "internet" namespace (TCP echo, source
 * and sink; UDP echo), one epoll loop, never the bottleneck (the bench
 * checks that against the no-proxy path).
 */
#include "loadgen.h"

#include <errno.h>
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
#define REPORT_NS 100000000u /* upload reports every 100 ms */
#define PCHUNK (64 * 1024)   /* 'P': pattern bytes made per send */

static uint8_t iobuf[IOBUF];
static uint8_t pbuf[PCHUNK];

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
	char mode;   /* 0 until the first byte */
	uint64_t rx; /* upload: bytes read */
	uint64_t tx; /* pattern: bytes sent */
	uint64_t last_report;
	uint8_t *pend; /* echo: bytes not yet written back */
	size_t plen, poff;
};

static int tag_listen, tag_udp; /* their addresses tag epoll events */

static void tconn_close(struct tconn *c)
{
	close(c->fd); /* also leaves the epoll set */
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
			if (c->mode == 'D' || c->mode == 'P')
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
		case 'P':
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
		ssize_t w;

		if (c->mode == 'P') {
			/* made anew from the offset: a short send is fine */
			pattern_fill(pbuf, c->tx, PCHUNK);
			w = send(c->fd, pbuf, PCHUNK, MSG_NOSIGNAL);
		} else {
			w = send(c->fd, iobuf, IOBUF, MSG_NOSIGNAL);
		}
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->tx += (uint64_t)w;
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
