/* Unit tests for proxy-client/direct_udp.c over real UDP sockets on the
 * loopback: a datagram to an IPv4 and to an IPv6 peer leaves from a
 * socket of the client's own (one per family, kept), the peers' answers
 * come back to the callback with their source address, and a datagram
 * to a name is sent once the name resolves (c-ares; "localhost", which
 * it answers itself or from /etc/hosts). */
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/dgram.h"
#include "../../common/resolver.h"
#include "../../proxy-client/direct_udp.h"
#include "test.h"

static struct ev_loop *loop;

struct got {
	int calls;
	struct sockaddr_storage from;
	char data[64];
};

static void got_cb(void *arg, const struct sockaddr *from, const uint8_t *data,
		   size_t len)
{
	struct got *g = arg;

	g->calls++;
	memcpy(&g->from, from, sockaddr_len(from->sa_family));
	snprintf(g->data, sizeof(g->data), "%.*s", (int)len,
		 (const char *)data);
}

/* A UDP peer on addr (any port; "::" is dual stack); its port. */
static int peer(const char *addr, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct addr a;
	int off = 0;

	CHECK_EQ(addr_parse(addr, 1, &a), 0);
	a.port = 0;
	addr_to_sockaddr(&a, &ss, &len);
	*fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (ss.ss_family == AF_INET6)
		setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	CHECK_EQ(bind(*fd, (struct sockaddr *)&ss, len), 0);
	len = sizeof(ss);
	getsockname(*fd, (struct sockaddr *)&ss, &len);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* What the peer received (waiting up to 2 s, the loop running): its
 * length, the sender in *from. */
static ssize_t peer_recv(int fd, char *buf, size_t n,
			 struct sockaddr_storage *from)
{
	for (int i = 0; i < 2000; i++) {
		socklen_t fl = sizeof(*from);
		ssize_t got = recvfrom(fd, buf, n, MSG_DONTWAIT,
				       (struct sockaddr *)from, &fl);

		if (got >= 0)
			return got;
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	return -1;
}

static int wait_calls(struct got *g, int calls)
{
	for (int i = 0; i < 2000 && g->calls < calls; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	return g->calls >= calls;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* dst gets "ping" from the client's socket, answers "pong": back at
 * the callback from dst. The client's source port, for comparing. */
static uint16_t round_trip(struct direct_udp *u, struct got *g, int fd,
			   const char *dst_text, int want_family)
{
	struct sockaddr_storage from;
	struct addr dst;
	char buf[64];
	ssize_t n;
	int before = g->calls;

	CHECK_EQ(addr_parse(dst_text, 0, &dst), 0);
	direct_udp_send(u, &dst, (const uint8_t *)"ping", 4);
	n = peer_recv(fd, buf, sizeof(buf), &from);
	CHECK_EQ(n, 4);
	CHECK(n == 4 && !memcmp(buf, "ping", 4));
	if (n != 4)
		return 0;
	CHECK_EQ(sendto(fd, "pong", 4, 0, (struct sockaddr *)&from,
			sockaddr_len(from.ss_family)),
		 4);
	CHECK(wait_calls(g, before + 1));
	CHECK_STR(g->data, "pong");
	if (want_family)
		CHECK_EQ(g->from.ss_family, want_family);
	return port_of(&from);
}

int main(void)
{
	struct direct_params p = { 0 };
	struct dgram_batch *in;
	struct resolver *res;
	struct direct_udp *u;
	struct got g = { 0 };
	char err[256], dst[64];
	int fd4, fd6, fdn, p4, p6, pn;
	uint16_t src4, again, src6;

	loop = ev_default_loop(0);
	p.loop = loop;
	res = resolver_new(loop, NULL, err, sizeof(err));
	CHECK(res != NULL);
	in = dgram_batch_new(16, 2048, 0);
	u = direct_udp_new(&p, res, in, got_cb, &g);

	p4 = peer("127.0.0.1", &fd4);
	p6 = peer("[::1]", &fd6);
	snprintf(dst, sizeof(dst), "127.0.0.1:%d", p4);
	src4 = round_trip(u, &g, fd4, dst, AF_INET);
	CHECK_EQ(port_of(&g.from), p4);
	/* the same socket again: one per family for the association */
	again = round_trip(u, &g, fd4, dst, AF_INET);
	CHECK(src4 && src4 == again);
	snprintf(dst, sizeof(dst), "[::1]:%d", p6);
	src6 = round_trip(u, &g, fd6, dst, AF_INET6);
	CHECK(src6 != 0);
	CHECK_EQ(port_of(&g.from), p6);

	/* a name: resolved on the client, then sent */
	pn = peer("[::]", &fdn);
	snprintf(dst, sizeof(dst), "localhost:%d", pn);
	round_trip(u, &g, fdn, dst, 0);
	CHECK_EQ(port_of(&g.from), pn);
	CHECK_EQ(g.calls, 4);

	direct_udp_free(u);
	direct_udp_free(NULL);
	resolver_free(res);
	dgram_batch_free(in);
	close(fd4);
	close(fd6);
	close(fdn);
	return test_summary("test_direct_udp");
}
