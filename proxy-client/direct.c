/* Direct TCP flows (direct.h). */
#include "direct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/dial.h"
#include "../common/errcode.h"
#include "../common/frame.h"
#include "../common/log.h"
#include "../common/resolver.h"
#include "../common/util.h"
#include "relay.h"

struct direct {
	struct dial dial;
	struct relay relay;
	const struct direct_params *p;
	const struct direct_ops *ops;
	void *conn;
	int fd; /* the application's, until relaying */
	int relaying, over;
	struct addr dst;
	struct route_tag tag;
	uint8_t *early;
	size_t nearly;
	ev_timer fail_later; /* a failure known at open, from the loop */
	uint8_t code;
};

static void log_end(struct direct *d, const char *why)
{
	char tag[320], dst[ADDR_STR_MAX];
	struct relay *r = &d->relay;

	log_msg(LOG_INFO,
		"%s (%s): direct flow to %s ended after %.1f s: "
		"%s (%llu bytes up, %llu down)",
		d->p->name, router_tag_str(&d->tag, tag, sizeof(tag)),
		addr_str(&d->dst, dst, sizeof(dst)), ev_now(r->loop) - r->start,
		why, (unsigned long long)r->up.bytes,
		(unsigned long long)r->down.bytes);
}

static void relay_done(struct relay *r, const char *why)
{
	struct direct *d = container_of(r, struct direct, relay);

	log_end(d, why);
	router_tag_end(&d->tag, r->up.bytes, r->down.bytes);
	d->relaying = 0;
	d->over = 1;
	d->ops->ended(d->conn);
}

static void failed(struct direct *d, uint8_t code)
{
	char tag[320], dst[ADDR_STR_MAX];

	log_info("%s: %s: direct connect failed (reply %u; %s)", d->p->name,
		 addr_str(&d->dst, dst, sizeof(dst)), code,
		 router_tag_str(&d->tag, tag, sizeof(tag)));
	router_tag_end(&d->tag, 0, 0);
	d->over = 1;
	d->ops->reply(d->conn, code, NULL);
	d->ops->ended(d->conn);
}

static void dialled(struct dial *dl, int fd, int err)
{
	struct direct *d = container_of(dl, struct direct, dial);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct addr bound;
	char dst[ADDR_STR_MAX];

	if (fd < 0) {
		failed(d, errno_to_code(err));
		return;
	}
	memset(&bound, 0, sizeof(bound));
	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		addr_from_sockaddr(&bound, (struct sockaddr *)&ss);
	log_debug("%s: %s: connected directly", d->p->name,
		  addr_str(&d->dst, dst, sizeof(dst)));
	d->ops->reply(d->conn, PROTO_OK, bound.type ? &bound : NULL);
	d->relaying = 1;
	relay_start(&d->relay, d->p->loop, d->fd, fd, d->early, d->nearly,
		    d->p->idle_timeout, relay_done);
	d->fd = -1;
	free(d->early);
	d->early = NULL;
}

static void fail_later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct direct *d = container_of(w, struct direct, fail_later);

	failed(d, d->code);
}

struct direct *direct_open(const struct direct_params *p,
			   const struct direct_ops *ops, void *conn, int fd,
			   const struct addr *dst,
			   const struct route_verdict *v, const void *early,
			   size_t n)
{
	struct direct *d = xmalloc(sizeof(*d));

	*d = (struct direct){
		.p = p,
		.ops = ops,
		.conn = conn,
		.fd = fd,
		.dst = *dst,
		.tag = v->tag,
	};
	if (n) {
		d->early = xmalloc(n);
		memcpy(d->early, early, n);
		d->nearly = n;
	}
	ev_timer_init(&d->fail_later, fail_later_cb, 0., 0.);
	if (!v->naddrs) {
		/* the name did not resolve on the client */
		d->code = PROTO_HOST_UNREACHABLE;
		ev_timer_start(p->loop, &d->fail_later);
		return d;
	}
	dial_start(&d->dial, p->loop, v->addrs, v->naddrs, p->connect_timeout,
		   p->mark, dialled);
	return d;
}

void direct_free(struct direct *d)
{
	if (!d)
		return;
	ev_timer_stop(d->p->loop, &d->fail_later);
	dial_cancel(&d->dial);
	if (d->relaying) {
		relay_stop(&d->relay);
		log_end(d, "shutting down");
		router_tag_end(&d->tag, d->relay.up.bytes, d->relay.down.bytes);
	} else if (!d->over) {
		router_tag_end(&d->tag, 0, 0);
	}
	if (d->fd >= 0)
		close(d->fd);
	free(d->early);
	free(d);
}
