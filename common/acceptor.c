#include "acceptor.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* After EMFILE/ENFILE, accepting pauses this long instead of spinning. */
#define ACCEPT_PAUSE 0.5
/* Connections taken per callback before other watchers get a turn. */
#define ACCEPT_BUDGET 64

static void pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_io_start(loop, &container_of(w, struct acceptor, pause)->io);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct acceptor *a = container_of(w, struct acceptor, io);

	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			a->accepted(a, fd, (struct sockaddr *)&ss);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("%s: accept: %s; pausing new connections",
				 a->name, strerror(errno));
			ev_io_stop(loop, w);
			ev_timer_set(&a->pause, ACCEPT_PAUSE, 0.);
			ev_timer_start(loop, &a->pause);
		}
		return;
	}
}

static int open_with(struct acceptor *a, struct ev_loop *loop,
		     const struct addr *addr, acceptor_cb cb, int reuseport,
		     char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, off = 0;

	memset(a, 0, sizeof(*a));
	addr_str(addr, a->name, sizeof(a->name));
	if (addr_to_sockaddr(addr, &ss, &len)) {
		snprintf(err, n, "%s: not an IP address", a->name);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		snprintf(err, n, "%s: %s", a->name, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		snprintf(err, n, "%s: SO_REUSEPORT: %s", a->name,
			 strerror(errno));
		close(fd);
		return -1;
	}
	/* accepted sockets inherit it: no system call per connection */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		snprintf(err, n, "%s: %s", a->name, strerror(errno));
		close(fd);
		return -1;
	}
	a->loop = loop;
	a->accepted = cb;
	ev_io_init(&a->io, accept_cb, fd, EV_READ);
	ev_init(&a->pause, pause_cb);
	ev_io_start(loop, &a->io);
	return 0;
}

/* Binding a socket of our own there without SO_REUSEPORT succeeds only
 * when nobody listens on addr: with SO_REUSEPORT alone a second server
 * of the same user would share the port and take some of the clients. */
int acceptor_check_free(const struct addr *addr, char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char name[ADDR_STR_MAX];
	int fd, one = 1, off = 0, rc = 0;

	addr_str(addr, name, sizeof(name));
	if (addr_to_sockaddr(addr, &ss, &len)) {
		snprintf(err, n, "%s: not an IP address", name);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "%s: %s", name, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		snprintf(err, n, "%s: %s", name, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

int acceptor_open(struct acceptor *a, struct ev_loop *loop,
		  const struct addr *addr, acceptor_cb cb, char *err, size_t n)
{
	return open_with(a, loop, addr, cb, 0, err, n);
}

int acceptor_open_shared(struct acceptor *a, struct ev_loop *loop,
			 const struct addr *addr, acceptor_cb cb, char *err,
			 size_t n)
{
	return open_with(a, loop, addr, cb, 1, err, n);
}

void acceptor_close(struct acceptor *a)
{
	if (!a->loop)
		return;
	ev_io_stop(a->loop, &a->io);
	ev_timer_stop(a->loop, &a->pause);
	close(a->io.fd);
	a->loop = NULL;
}
