/* Probe resistance: a TLS visitor without a client certificate is
 * relayed to the fallback site, and one that does not speak TLS at all
 * gets the 400 a real HTTPS server would give. Only a valid client
 * certificate gets a tunnel. */
#include "fallback.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/tls.h"
#include "../common/util.h"

#define RELAY_BUF (64u << 10)
#define IDLE_TIMEOUT 60.0
/* What nginx and others answer plain HTTP on their TLS port with. */
#define BAD_REQUEST \
	"HTTP/1.1 400 Bad Request\r\n" \
	"Content-Type: text/html\r\nContent-Length: 90\r\n" \
	"Connection: close\r\n\r\n" \
	"<html><head><title>400 Bad Request</title></head>" \
	"<body><h1>Bad Request</h1></body></html>\n"
/* How long a visitor answered 400 may take to close its side. */
#define ANSWER_TIMEOUT 5.0

struct fallback {
	struct ev_loop *loop;
	struct addr site;
	unsigned max_visitors;
	struct relay *relays;   /* visitors shown the site */
	struct answer *answers; /* visitors answered 400 */
	unsigned nvisitors;     /* of both kinds */
};

/* A visitor that did not speak TLS. */
struct answer {
	struct fallback *fb;
	struct answer *next, **pprev;
	ev_io io;
	ev_timer timer;
	int answered;
};

/* One TLS visitor relayed to the fallback site (plain TCP). */
struct relay {
	struct fallback *fb;
	struct relay *next, **pprev;
	struct tls *tls;
	ev_io vio, sio; /* visitor, site */
	ev_timer idle;
	struct buf to_site, to_visitor;
	int visitor_eof, site_eof;
	int connected;
	char peer[ADDR_STR_MAX];
};

static void relay_free(struct relay *r)
{
	struct ev_loop *loop = r->fb->loop;

	ev_io_stop(loop, &r->vio);
	ev_io_stop(loop, &r->sio);
	ev_timer_stop(loop, &r->idle);
	tls_shutdown(r->tls);
	tls_free(r->tls);
	close(r->vio.fd);
	close(r->sio.fd);
	buf_release(&r->to_site);
	buf_release(&r->to_visitor);
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	r->fb->nvisitors--;
	free(r);
}

static ssize_t visitor_read(struct relay *r, void *p, size_t n)
{
	ssize_t rc = tls_read(r->tls, p, n);

	return rc == TLS_WANT_READ || rc == TLS_WANT_WRITE ? -2 :
	       rc < 0                                      ? 0 :
							     rc;
}

static ssize_t visitor_write(struct relay *r, const void *p, size_t n)
{
	ssize_t rc = tls_write(r->tls, p, n);

	if (rc > 0 || rc == TLS_WANT_WRITE) {
		int f = tls_flush(r->tls);

		if (f == TLS_EOF || f == TLS_ERR)
			return -1;
	}
	return rc == TLS_WANT_READ || rc == TLS_WANT_WRITE ? -2 : rc;
}

/* Records the visitor's socket has not taken yet. */
static int visitor_unsent(const struct relay *r)
{
	return tls_unsent(r->tls);
}

static void set_events(struct relay *r)
{
	struct ev_loop *loop = r->fb->loop;
	int v = 0, s = 0;

	if (!r->visitor_eof && buf_room(&r->to_site))
		v |= EV_READ;
	if (buf_len(&r->to_visitor) || visitor_unsent(r))
		v |= EV_WRITE | EV_READ;
	if (!r->connected)
		s = EV_WRITE;
	else {
		if (!r->site_eof && buf_room(&r->to_visitor))
			s |= EV_READ;
		if (buf_len(&r->to_site))
			s |= EV_WRITE;
	}
	ev_io_stop(loop, &r->vio);
	ev_io_stop(loop, &r->sio);
	ev_io_set(&r->vio, r->vio.fd, v);
	ev_io_set(&r->sio, r->sio.fd, s);
	if (v)
		ev_io_start(loop, &r->vio);
	if (s)
		ev_io_start(loop, &r->sio);
}

/* Moves what it can both ways; -1 when the relay is over. */
static int pump(struct relay *r)
{
	ssize_t n;
	size_t want;
	uint8_t *p;

	/* read exactly what was reserved */
	while (!r->visitor_eof && (want = MIN(buf_room(&r->to_site), 16384)) &&
	       (p = buf_reserve(&r->to_site, want))) {
		n = visitor_read(r, p, want);
		if (n == -2)
			break;
		if (n <= 0)
			r->visitor_eof = 1;
		else
			buf_commit(&r->to_site, (size_t)n);
	}
	if (visitor_unsent(r)) {
		n = tls_flush(r->tls);
		if (n == TLS_EOF || n == TLS_ERR)
			return -1;
	}
	while (buf_len(&r->to_visitor)) {
		n = visitor_write(r, buf_peek(&r->to_visitor),
				  buf_len(&r->to_visitor));
		if (n == -2)
			break;
		if (n <= 0)
			return -1;
		buf_consume(&r->to_visitor, (size_t)n);
	}
	if (r->connected) {
		while (buf_len(&r->to_site)) {
			n = write(r->sio.fd, buf_peek(&r->to_site),
				  buf_len(&r->to_site));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				/* the site stopped listening (it may have
				 * answered already): drop the rest, keep its
				 * answer flowing to the visitor */
				buf_consume(&r->to_site, buf_len(&r->to_site));
				r->visitor_eof = 1;
				break;
			}
			buf_consume(&r->to_site, (size_t)n);
		}
		while (!r->site_eof &&
		       (want = MIN(buf_room(&r->to_visitor), 16384)) &&
		       (p = buf_reserve(&r->to_visitor, want))) {
			n = read(r->sio.fd, p, want);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0)
				r->site_eof = 1;
			else
				buf_commit(&r->to_visitor, (size_t)n);
		}
	}
	/* done when one side ended and what it said was passed on */
	if ((r->site_eof && !buf_len(&r->to_visitor) && !visitor_unsent(r)) ||
	    (r->visitor_eof && !buf_len(&r->to_site) && r->connected &&
	     r->site_eof))
		return -1;
	if (r->visitor_eof && !buf_len(&r->to_site) && r->connected)
		shutdown(r->sio.fd, SHUT_WR);
	return 0;
}

static void vio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay *r = container_of(w, struct relay, vio);

	ev_timer_again(loop, &r->idle);
	if (pump(r)) {
		relay_free(r);
		return;
	}
	set_events(r);
}

static void sio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay *r = container_of(w, struct relay, sio);
	int err = 0;
	socklen_t len = sizeof(err);

	if (!r->connected) {
		getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			char site[ADDR_STR_MAX];

			log_warn("fallback site %s (for %s): %s",
				 addr_str(&r->fb->site, site, sizeof(site)),
				 r->peer, strerror(err));
			relay_free(r);
			return;
		}
		r->connected = 1;
	}
	ev_timer_again(loop, &r->idle);
	if (pump(r)) {
		relay_free(r);
		return;
	}
	set_events(r);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	relay_free(container_of(w, struct relay, idle));
}

void fallback_relay(struct fallback *fb, int fd, struct tls *tls,
		    const char *peer)
{
	struct relay *r;
	struct sockaddr_storage ss;
	socklen_t len;
	int sfd;

	/* visitors have a quota of their own, so a prober holding pages
	 * open cannot lock real clients out */
	if (fb->nvisitors >= fb->max_visitors) {
		tls_free(tls);
		close(fd);
		return;
	}
	addr_to_sockaddr(&fb->site, &ss, &len);
	sfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		     0);
	if (sfd < 0 || (connect(sfd, (struct sockaddr *)&ss, len) &&
			errno != EINPROGRESS)) {
		log_warn("fallback: connect: %s", strerror(errno));
		if (sfd >= 0)
			close(sfd);
		tls_free(tls);
		close(fd);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->fb = fb;
	r->tls = tls;
	snprintf(r->peer, sizeof(r->peer), "%s", peer);
	buf_init(&r->to_site, RELAY_BUF);
	buf_init(&r->to_visitor, RELAY_BUF);
	ev_io_init(&r->vio, vio_cb, fd, 0);
	ev_io_init(&r->sio, sio_cb, sfd, 0);
	ev_init(&r->idle, idle_cb);
	r->idle.repeat = IDLE_TIMEOUT;
	ev_timer_again(fb->loop, &r->idle);
	r->next = fb->relays;
	if (r->next)
		r->next->pprev = &r->next;
	r->pprev = &fb->relays;
	fb->relays = r;
	fb->nvisitors++;
	log_info("connection from %s: no client certificate, relayed to the "
		 "fallback site",
		 peer);
	set_events(r);
}

static void answer_free(struct answer *a)
{
	ev_io_stop(a->fb->loop, &a->io);
	ev_timer_stop(a->fb->loop, &a->timer);
	close(a->io.fd);
	*a->pprev = a->next;
	if (a->next)
		a->next->pprev = a->pprev;
	a->fb->nvisitors--;
	free(a);
}

/* Reads and drops what the visitor sends (closing with unread bytes
 * would reset the connection and could destroy the answer in flight);
 * answers once, then waits for the visitor's end. */
static void answer_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct answer *a = container_of(w, struct answer, io);
	char b[4096];
	ssize_t n;

	while ((n = read(w->fd, b, sizeof(b))) > 0)
		;
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (!a->answered) {
			a->answered = 1;
			if (write(w->fd, BAD_REQUEST, sizeof(BAD_REQUEST) - 1) <
				    0 ||
			    shutdown(w->fd, SHUT_WR)) {
				answer_free(a);
				return;
			}
		}
		return;
	}
	answer_free(a);
}

static void answer_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	answer_free(container_of(w, struct answer, timer));
}

void fallback_not_tls(struct fallback *fb, int fd, const char *peer)
{
	struct answer *a;

	if (fb->nvisitors >= fb->max_visitors) {
		close(fd);
		return;
	}
	a = xcalloc(1, sizeof(*a));
	a->fb = fb;
	ev_io_init(&a->io, answer_cb, fd, EV_READ);
	ev_io_start(fb->loop, &a->io);
	ev_timer_init(&a->timer, answer_timeout, ANSWER_TIMEOUT, 0.);
	ev_timer_start(fb->loop, &a->timer);
	a->next = fb->answers;
	if (a->next)
		a->next->pprev = &a->next;
	a->pprev = &fb->answers;
	fb->answers = a;
	fb->nvisitors++;
	log_info("connection from %s: not TLS, answered 400", peer);
}

struct fallback *fallback_new(struct ev_loop *loop, const struct addr *site,
			      unsigned max_visitors)
{
	struct fallback *fb = xcalloc(1, sizeof(*fb));

	fb->loop = loop;
	fb->site = *site;
	fb->max_visitors = max_visitors;
	return fb;
}

void fallback_free(struct fallback *fb)
{
	if (!fb)
		return;
	while (fb->answers)
		answer_free(fb->answers);
	while (fb->relays)
		relay_free(fb->relays);
	free(fb);
}
