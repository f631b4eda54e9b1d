/* Probe resistance: the first byte decides between TLS and the fallback
 * site, and visitors are relayed to the site. Only a valid client
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
#define TLS_RECORD_FIRST_BYTE 0x16  /* handshake record */

struct fallback {
	struct ev_loop *loop;
	struct addr site;
	double sniff_timeout;
	unsigned max_visitors;
	fallback_tls_fn *tls_cb;
	void *arg;
	struct sniff *sniffs;        /* first byte not seen yet */
	struct relay *relays;        /* visitors shown the site */
	unsigned nrelays;
};

struct sniff {
	struct fallback *fb;
	struct sniff *next, **pprev;
	ev_io io;
	ev_timer timer;
	char peer[ADDR_STR_MAX];
};

/* One visitor relayed to the fallback site. The visitor's side is TLS
 * (tls != NULL) or raw bytes; the site's side is plain TCP. */
struct relay {
	struct fallback *fb;
	struct relay *next, **pprev;
	struct tls *tls;
	ev_io vio, sio;       /* visitor, site */
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
	if (r->tls) {
		tls_shutdown(r->tls);
		tls_free(r->tls);
	}
	close(r->vio.fd);
	close(r->sio.fd);
	buf_release(&r->to_site);
	buf_release(&r->to_visitor);
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	r->fb->nrelays--;
	free(r);
}

static ssize_t visitor_read(struct relay *r, void *p, size_t n)
{
	ssize_t rc;

	if (r->tls) {
		rc = tls_read(r->tls, p, n);
		return rc == TLS_WANT_READ || rc == TLS_WANT_WRITE ? -2 :
		       rc < 0 ? 0 : rc;
	}
	rc = read(r->vio.fd, p, n);
	return rc < 0 && (errno == EAGAIN || errno == EINTR) ? -2 :
	       rc < 0 ? 0 : rc;
}

static ssize_t visitor_write(struct relay *r, const void *p, size_t n)
{
	ssize_t rc;

	if (r->tls) {
		rc = tls_write(r->tls, p, n);
		if (rc > 0 || rc == TLS_WANT_WRITE) {
			int f = tls_flush(r->tls);

			if (f == TLS_EOF || f == TLS_ERR)
				return -1;
		}
		return rc == TLS_WANT_READ || rc == TLS_WANT_WRITE ? -2 : rc;
	}
	rc = write(r->vio.fd, p, n);
	return rc < 0 && (errno == EAGAIN || errno == EINTR) ? -2 : rc;
}

/* Records the visitor's socket has not taken yet. */
static int visitor_unsent(const struct relay *r)
{
	return r->tls && tls_unsent(r->tls);
}

static void set_events(struct relay *r)
{
	struct ev_loop *loop = r->fb->loop;
	int v = 0, s = 0;

	if (!r->visitor_eof && buf_room(&r->to_site))
		v |= EV_READ;
	if (buf_len(&r->to_visitor) || visitor_unsent(r))
		v |= EV_WRITE | (r->tls ? EV_READ : 0);
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
	while (!r->visitor_eof &&
	       (want = MIN(buf_room(&r->to_site), 16384)) &&
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

	addr_to_sockaddr(&fb->site, &ss, &len);
	sfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sfd < 0 || (connect(sfd, (struct sockaddr *)&ss, len) &&
			errno != EINPROGRESS)) {
		log_warn("fallback: connect: %s", strerror(errno));
		if (sfd >= 0)
			close(sfd);
		if (tls)
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
	fb->nrelays++;
	log_info("connection from %s: %s, relayed to the fallback site",
		 peer, tls ? "no client certificate" : "not TLS");
	set_events(r);
}

static void sniff_free(struct sniff *sn, int close_fd)
{
	ev_io_stop(sn->fb->loop, &sn->io);
	ev_timer_stop(sn->fb->loop, &sn->timer);
	if (close_fd)
		close(sn->io.fd);
	*sn->pprev = sn->next;
	if (sn->next)
		sn->next->pprev = sn->pprev;
	free(sn);
}

static void sniff_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sniff *sn = container_of(w, struct sniff, io);
	struct fallback *fb = sn->fb;
	char peer[ADDR_STR_MAX];
	uint8_t b;
	ssize_t n = recv(w->fd, &b, 1, MSG_PEEK);
	int fd = w->fd;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		sniff_free(sn, 1);
		return;
	}
	snprintf(peer, sizeof(peer), "%s", sn->peer);
	sniff_free(sn, 0);
	if (b == TLS_RECORD_FIRST_BYTE)
		fb->tls_cb(fb->arg, fd, peer);
	else
		fallback_relay(fb, fd, NULL, peer);
}

static void sniff_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	sniff_free(container_of(w, struct sniff, timer), 1);
}

int fallback_sniff(struct fallback *fb, int fd, const char *peer)
{
	struct sniff *sn;

	/* visitors have a quota of their own, so a prober holding pages
	 * open cannot lock real clients out */
	if (fb->nrelays >= fb->max_visitors)
		return -1;
	sn = xcalloc(1, sizeof(*sn));
	sn->fb = fb;
	snprintf(sn->peer, sizeof(sn->peer), "%s", peer);
	ev_io_init(&sn->io, sniff_cb, fd, EV_READ);
	ev_io_start(fb->loop, &sn->io);
	ev_timer_init(&sn->timer, sniff_timeout, fb->sniff_timeout, 0.);
	ev_timer_start(fb->loop, &sn->timer);
	sn->next = fb->sniffs;
	if (sn->next)
		sn->next->pprev = &sn->next;
	sn->pprev = &fb->sniffs;
	fb->sniffs = sn;
	return 0;
}

struct fallback *fallback_new(struct ev_loop *loop, const struct addr *site,
			      double sniff_timeout, unsigned max_visitors,
			      fallback_tls_fn *tls_cb, void *arg)
{
	struct fallback *fb = xcalloc(1, sizeof(*fb));

	fb->loop = loop;
	fb->site = *site;
	fb->sniff_timeout = sniff_timeout;
	fb->max_visitors = max_visitors;
	fb->tls_cb = tls_cb;
	fb->arg = arg;
	return fb;
}

void fallback_free(struct fallback *fb)
{
	if (!fb)
		return;
	while (fb->sniffs)
		sniff_free(fb->sniffs, 1);
	while (fb->relays)
		relay_free(fb->relays);
	free(fb);
}
