/* The server's UDP sockets of the datagram path: see dpath_srv.h. */
#include "dpath_srv.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/dgram.h"
#include "../common/dpath.h"
#include "../common/idmap.h"
#include "../common/log.h"
#include "../common/status.h"
#include "../common/util.h"

struct dport {
	ev_io io;
	struct dpath_srv *srv;
	struct dport *next;
	char name[ADDR_STR_MAX];
};

struct dpath_srv {
	struct ev_loop *loop;
	struct dport *ports;
	struct dgram_batch *in;
	struct idmap reg; /* dpath_key(id) -> struct dpath */
	uint64_t rx, unknown, malformed, refused;
};

struct one {
	struct dpath_srv *srv;
	int fd;
};

/* Control space for one received packet's destination address. */
#define RX_CTL \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
	 CMSG_SPACE(sizeof(struct in_pktinfo)))

/* From the packet's IP_PKTINFO/IPV6_PKTINFO, the control message that
 * sends an answer from the address it came to: on a host of several
 * addresses the kernel would otherwise pick by route, and a client's
 * connected socket drops what comes from another address. Its length,
 * or 0 (none found). */
static size_t reply_ctl(const struct msghdr *m, uint8_t *out, size_t cap)
{
	struct cmsghdr *c;

	memset(out, 0, cap);
	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		struct cmsghdr *o = (struct cmsghdr *)(void *)out;

		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    CMSG_SPACE(sizeof(struct in_pktinfo)) <= cap) {
			struct in_pktinfo in, pi;

			memcpy(&in, CMSG_DATA(c), sizeof(in));
			memset(&pi, 0, sizeof(pi));
			pi.ipi_spec_dst = in.ipi_addr;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    CMSG_SPACE(sizeof(struct in6_pktinfo)) <= cap) {
			struct in6_pktinfo in, pi;

			memcpy(&in, CMSG_DATA(c), sizeof(in));
			memset(&pi, 0, sizeof(pi));
			pi.ipi6_addr = in.ipi6_addr;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static int packet(void *arg, const struct dgram *g)
{
	struct one *o = arg;
	struct dpath_srv *s = o->srv;
	struct dpkt_hdr h;
	struct dpath *d;
	uint8_t ctl[DPATH_CTL_MAX];
	struct dpath_from from;

	s->rx++;
	if (dpkt_parse_hdr(g->data, g->len, &h)) {
		s->malformed++;
		return 0;
	}
	d = idmap_get(&s->reg, dpath_key(h.id));
	if (!d) {
		s->unknown++;
		return 0;
	}
	from.fd = o->fd;
	from.addr = (const struct sockaddr *)g->from;
	from.addr_len = g->from_len;
	from.ctl = ctl;
	from.ctl_len = reply_ctl(g->msg, ctl, sizeof(ctl));
	/* the path counts what it refuses itself */
	if (dpath_input(d, &from, g->data, g->len))
		s->refused++;
	return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dport *p = container_of(w, struct dport, io);
	struct one o = { p->srv, w->fd };

	dgram_each(p->srv->in, w->fd, packet, &o);
}

static int bind_udp(const struct addr *a, char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0, on = 1, rcvbuf = DPATH_RCVBUF;

	if (addr_to_sockaddr(a, &ss, &len)) {
		snprintf(err, n, "not an IP address");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "%s", strerror(errno));
		return -1;
	}
	/* "[::]" takes IPv4 too, as the TCP listener does (its IPv4
	 * packets then come with an IPV6_PKTINFO of the mapped address) */
	if (ss.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		snprintf(err, n, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct dpath_srv *dpath_srv_open(struct ev_loop *loop,
				 const struct addr *listen, int n)
{
	struct dpath_srv *s = xcalloc(1, sizeof(*s));
	char err[128];

	s->loop = loop;
	for (int i = 0; i < n; i++) {
		struct dport *p = xcalloc(1, sizeof(*p));
		int fd;

		addr_str(&listen[i], p->name, sizeof(p->name));
		fd = bind_udp(&listen[i], err, sizeof(err));
		if (fd < 0) {
			log_warn(
				"udp-path: cannot bind UDP %s: %s (the datagram "
				"path is off there)",
				p->name, err);
			free(p);
			continue;
		}
		p->srv = s;
		ev_io_init(&p->io, io_cb, fd, EV_READ);
		ev_io_start(loop, &p->io);
		p->next = s->ports;
		s->ports = p;
		log_info("datagram path on UDP %s", p->name);
	}
	if (!s->ports) {
		free(s);
		return NULL;
	}
	s->in = dgram_batch_new(0, DPKT_MAX_LEN, RX_CTL);
	return s;
}

void dpath_srv_close(struct dpath_srv *s)
{
	if (!s)
		return;
	while (s->ports) {
		struct dport *p = s->ports;

		s->ports = p->next;
		ev_io_stop(s->loop, &p->io);
		close(p->io.fd);
		free(p);
	}
	/* the tunnels own their paths and are closed by now */
	idmap_free(&s->reg);
	dgram_batch_free(s->in);
	free(s);
}

void dpath_srv_attach(struct dpath_srv *s, struct tunnel *t)
{
	struct dpath *d;
	char err[128];

	if (!s || !(tunnel_peer_flags(t) & HELLO_F_UDP_PATH))
		return;
	d = dpath_server(t, &s->reg, err, sizeof(err));
	if (!d) {
		log_warn("%s: no datagram path: %s", tunnel_name(t), err);
		return;
	}
	tunnel_set_dpath(t, d);
}

void dpath_srv_status(const struct dpath_srv *s, struct buf *b, int json)
{
	if (!s) {
		status_printf(b, json ? ",\"udp_path\":{\"state\":\"off\"}" :
					"udp path: off\n");
		return;
	}
	if (json)
		status_printf(b,
			      ",\"udp_path\":{\"state\":\"on\","
			      "\"rx_packets\":%llu,\"dropped_unknown\":%llu,"
			      "\"dropped_malformed\":%llu,\"refused\":%llu}",
			      (unsigned long long)s->rx,
			      (unsigned long long)s->unknown,
			      (unsigned long long)s->malformed,
			      (unsigned long long)s->refused);
	else
		status_printf(b,
			      "udp path: %llu packets; dropped %llu of no "
			      "tunnel, %llu malformed, %llu refused by a "
			      "tunnel's key or replay window\n",
			      (unsigned long long)s->rx,
			      (unsigned long long)s->unknown,
			      (unsigned long long)s->malformed,
			      (unsigned long long)s->refused);
}
