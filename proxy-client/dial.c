#include "dial.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/addr.h"
#include "../common/util.h"

static void finish(struct dial *d, int fd, int err)
{
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->timer);
	if (fd < 0 && d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->done(d, fd, err);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = container_of(w, struct dial, io);
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		finish(d, -1, err);
		return;
	}
	finish(d, d->fd, 0);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial *d = container_of(w, struct dial, timer);

	finish(d, -1, d->fd < 0 ? d->err : ETIMEDOUT);
}

void dial_init(struct dial *d, struct ev_loop *loop, dial_cb done)
{
	d->loop = loop;
	d->fd = -1;
	d->done = done;
	ev_init(&d->io, io_cb);
	ev_init(&d->timer, timer_cb);
}

void dial_start(struct dial *d, const struct sockaddr_storage *ss,
		unsigned mark, ev_tstamp timeout)
{
	int fd;

	dial_cancel(d);
	d->err = 0;
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd >= 0 && mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (fd >= 0 &&
	    connect(fd, (const struct sockaddr *)ss,
		    sockaddr_len(ss->ss_family)) &&
	    errno != EINPROGRESS) {
		d->err = errno;
		close(fd);
		fd = -1;
	} else if (fd < 0) {
		d->err = errno;
	}
	d->fd = fd;
	if (fd < 0) {
		/* reported from the loop, like every other outcome */
		ev_timer_set(&d->timer, 0., 0.);
		ev_timer_start(d->loop, &d->timer);
		return;
	}
	ev_io_set(&d->io, fd, EV_WRITE);
	ev_io_start(d->loop, &d->io);
	ev_timer_set(&d->timer, timeout, 0.);
	ev_timer_start(d->loop, &d->timer);
}

int dial_active(const struct dial *d)
{
	return ev_is_active(&d->timer);
}

void dial_cancel(struct dial *d)
{
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->timer);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
