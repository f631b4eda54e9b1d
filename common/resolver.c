#include "resolver.h"

#include <arpa/inet.h>
#include <ares.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct sock_watch {
	ev_io io;
	struct resolver *r;
	struct sock_watch *next;
};

struct resolver {
	struct ev_loop *loop;
	ares_channel channel;
	ev_timer timer;
	struct sock_watch *socks;
	unsigned mark;
};

struct resolve_req {
	resolve_cb cb; /* NULL once cancelled */
	void *arg;
	int starting; /* inside ares_getaddrinfo() */
	int done;
};

static void rearm_timer(struct resolver *r)
{
	struct timeval tv, *tvp;

	tvp = ares_timeout(r->channel, NULL, &tv);
	ev_timer_stop(r->loop, &r->timer);
	if (tvp) {
		ev_timer_set(&r->timer, tvp->tv_sec + tvp->tv_usec / 1e6, 0.);
		ev_timer_start(r->loop, &r->timer);
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock_watch *s = container_of(w, struct sock_watch, io);
	struct resolver *r = s->r;
	int fd = w->fd;

	ares_process_fd(r->channel, revents & EV_READ ? fd : ARES_SOCKET_BAD,
			revents & EV_WRITE ? fd : ARES_SOCKET_BAD);
	rearm_timer(r);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolver *r = container_of(w, struct resolver, timer);

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm_timer(r);
}

/* c-ares tells us which sockets it has and what it waits for. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct resolver *r = data;
	struct sock_watch **pp, *s;

	for (pp = &r->socks; (s = *pp); pp = &s->next)
		if (s->io.fd == fd)
			break;
	if (!readable && !writable) {
		if (s) {
			ev_io_stop(r->loop, &s->io);
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->r = r;
		s->next = r->socks;
		r->socks = s;
		ev_io_init(&s->io, io_cb, fd, 0);
	}
	ev_io_stop(r->loop, &s->io);
	ev_io_set(&s->io, fd,
		  (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	ev_io_start(r->loop, &s->io);
}

struct resolver *resolver_new(struct ev_loop *loop, const char *servers,
			      char *err, size_t n)
{
	static int lib_ready;
	struct resolver *r = xcalloc(1, sizeof(*r));
	struct ares_options opt;
	int rc;

	if (!lib_ready) {
		rc = ares_library_init(ARES_LIB_INIT_ALL);
		if (rc) {
			snprintf(err, n, "c-ares: %s", ares_strerror(rc));
			free(r);
			return NULL;
		}
		lib_ready = 1;
	}
	r->loop = loop;
	memset(&opt, 0, sizeof(opt));
	opt.sock_state_cb = sock_state_cb;
	opt.sock_state_cb_data = r;
	opt.timeout = 2000;
	opt.tries = 3;
	rc = ares_init_options(&r->channel, &opt,
			       ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
				       ARES_OPT_TRIES);
	if (rc) {
		snprintf(err, n, "c-ares: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	if (servers) {
		rc = ares_set_servers_ports_csv(r->channel, servers);
		if (rc) {
			snprintf(err, n, "dns servers '%s': %s", servers,
				 ares_strerror(rc));
			ares_destroy(r->channel);
			free(r);
			return NULL;
		}
	}
	ev_init(&r->timer, timer_cb);
	return r;
}

static int map_status(int st)
{
	switch (st) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_EBADNAME:
		return RESOLVE_ERR_NOTFOUND;
	case ARES_ETIMEOUT:
		return RESOLVE_ERR_TIMEOUT;
	default:
		return RESOLVE_ERR_FAIL;
	}
}

static void addrinfo_cb(void *arg, int st, int timeouts,
			struct ares_addrinfo *ai)
{
	struct resolve_req *q = arg;
	struct sockaddr_storage *addrs = NULL;
	struct ares_addrinfo_node *nd;
	int n = 0, status = map_status(st);

	if (q->cb && !status && ai) {
		for (nd = ai->nodes; nd; nd = nd->ai_next)
			n++;
		addrs = xcalloc(n, sizeof(*addrs));
		n = 0;
		for (nd = ai->nodes; nd; nd = nd->ai_next) {
			if (nd->ai_addrlen > sizeof(*addrs) ||
			    (nd->ai_family != AF_INET &&
			     nd->ai_family != AF_INET6))
				continue;
			memcpy(&addrs[n++], nd->ai_addr, nd->ai_addrlen);
		}
		if (!n)
			status = RESOLVE_ERR_NOTFOUND;
	}
	if (ai)
		ares_freeaddrinfo(ai);
	if (q->cb)
		q->cb(q->arg, status, addrs, n);
	free(addrs);
	q->done = 1;
	if (!q->starting)
		free(q);
}

struct resolve_req *resolver_lookup(struct resolver *r, const char *name,
				    uint16_t port, resolve_cb cb, void *arg)
{
	struct resolve_req *q = xcalloc(1, sizeof(*q));
	struct ares_addrinfo_hints hints;
	char service[8];

	q->cb = cb;
	q->arg = arg;
	q->starting = 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = ARES_AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", port);
	ares_getaddrinfo(r->channel, name, service, &hints, addrinfo_cb, q);
	q->starting = 0;
	if (q->done) {
		free(q);
		return NULL;
	}
	rearm_timer(r);
	return q;
}

static int mark_socket(ares_socket_t fd, int type, void *data)
{
	struct resolver *r = data;

	if (r->mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &r->mark, sizeof(r->mark));
	return ARES_SUCCESS;
}

void resolver_set_mark(struct resolver *r, unsigned mark)
{
	r->mark = mark;
	ares_set_socket_callback(r->channel, mark_socket, r);
}

int resolver_first_server(struct resolver *r, struct sockaddr_storage *ss)
{
	struct ares_addr_port_node *list = NULL;
	int rc = -1;

	if (ares_get_servers_ports(r->channel, &list) != ARES_SUCCESS || !list)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (list->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr = list->addr.addr4;
		in->sin_port = htons(list->udp_port ? list->udp_port : 53);
		rc = 0;
	} else if (list->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, &list->addr.addr6, 16);
		in6->sin6_port = htons(list->udp_port ? list->udp_port : 53);
		rc = 0;
	}
	ares_free_data(list);
	return rc;
}

void resolver_cancel(struct resolve_req *q)
{
	if (q)
		q->cb = NULL;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	/* Pending callbacks run with ARES_EDESTRUCTION; cancelled ones
	 * only free their request. */
	ares_destroy(r->channel);
	ev_timer_stop(r->loop, &r->timer);
	while (r->socks) {
		struct sock_watch *s = r->socks;

		r->socks = s->next;
		ev_io_stop(r->loop, &s->io);
		free(s);
	}
	free(r);
}

const char *resolve_strerror(int status)
{
	switch (status) {
	case 0:
		return "ok";
	case RESOLVE_ERR_NOTFOUND:
		return "name not found";
	case RESOLVE_ERR_TIMEOUT:
		return "DNS timeout";
	default:
		return "DNS failure";
	}
}
