/* Non-blocking connect over an address list (dial.h). */
#include "dial.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "util.h"

/* With more addresses to try, one attempt gets at most this long. */
#define ATTEMPT_TIMEOUT 3.0

static void try_next(struct dial *d);

static void stop_attempt(struct dial *d)
{
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->timer);
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
}

void dial_cancel(struct dial *d)
{
	if (!d->loop)
		return;
	stop_attempt(d);
	ev_timer_stop(d->loop, &d->later);
	free(d->addrs);
	d->addrs = NULL;
	d->loop = NULL;
}

static void finish(struct dial *d, int fd, int err)
{
	dial_cb done = d->done;

	d->fd = -1;
	dial_cancel(d);
	done(d, fd, err);
}

int dial_active(const struct dial *d)
{
	return d->loop != NULL;
}

static void connected(struct dial *d)
{
	int one = 1, fd = d->fd;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->timer);
	finish(d, fd, 0);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = container_of(w, struct dial, io);
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err == EINPROGRESS || err == EINTR)
		return;
	if (!err) {
		connected(d);
		return;
	}
	d->err = err;
	stop_attempt(d);
	try_next(d);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial *d = container_of(w, struct dial, timer);

	d->err = ETIMEDOUT;
	stop_attempt(d);
	if (ev_now(loop) >= d->deadline) {
		finish(d, -1, ETIMEDOUT);
		return;
	}
	try_next(d);
}

/* The first attempt starts from the loop, so the caller never sees its
 * callback run before its own call returns. */
static void later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	try_next(container_of(w, struct dial, later));
}

static void try_next(struct dial *d)
{
	while (d->next < d->naddrs) {
		struct sockaddr *sa = (struct sockaddr *)&d->addrs[d->next++];
		ev_tstamp left = d->deadline - ev_now(d->loop);

		d->fd = socket(sa->sa_family,
			       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (d->fd < 0) {
			d->err = errno;
			continue;
		}
		if (d->mark)
			setsockopt(d->fd, SOL_SOCKET, SO_MARK, &d->mark,
				   sizeof(d->mark));
		if (connect(d->fd, sa, sockaddr_len(sa->sa_family)) &&
		    errno != EINPROGRESS) {
			d->err = errno;
			stop_attempt(d);
			continue;
		}
		ev_io_init(&d->io, io_cb, d->fd, EV_WRITE);
		ev_io_start(d->loop, &d->io);
		if (d->next < d->naddrs && left > ATTEMPT_TIMEOUT)
			left = ATTEMPT_TIMEOUT;
		ev_timer_set(&d->timer, MAX(left, 0.01), 0.);
		ev_timer_start(d->loop, &d->timer);
		return;
	}
	finish(d, -1, d->err ? d->err : EHOSTUNREACH);
}

void dial_start(struct dial *d, struct ev_loop *loop,
		const struct sockaddr_storage *addrs, int naddrs,
		double timeout, unsigned mark, dial_cb done)
{
	dial_cancel(d);
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->done = done;
	d->fd = -1;
	d->mark = mark;
	d->naddrs = naddrs;
	d->addrs = xcalloc(naddrs > 0 ? (size_t)naddrs : 1, sizeof(*addrs));
	if (naddrs > 0)
		memcpy(d->addrs, addrs, (size_t)naddrs * sizeof(*addrs));
	d->deadline = ev_now(loop) + timeout;
	ev_init(&d->io, io_cb);
	ev_init(&d->timer, timer_cb);
	ev_timer_init(&d->later, later_cb, 0., 0.);
	ev_timer_start(loop, &d->later);
}
