/*
 * loadgen hello: how many TLS server flights a server answers a second,
 * the part of a handshake that costs the server its signature and key
 * exchange (the bench's workers section, to see a server use more than
 * one core on a machine whose clients would otherwise take the other).
 *
 * It sends the same recorded ClientHello (--hello FILE, made once by the
 * bench with Python's ssl module) on --conc connections at a time to
 * --tcp, reads the server's flight as far as its last record and resets
 * the connection (SO_LINGER 0: no TIME_WAIT, nothing left on the server).
 * Replaying a ClientHello costs the server the whole flight each time
 * (TLS 1.3 has no state that would notice it) and this tool almost
 * nothing, so the server, not the tool, is the bottleneck.
 *
 * The flight's length in records is learned first on one connection
 * (read until the server is quiet for 500 ms): every later flight from
 * the same server and certificate has as many.
 */
#include "loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HELLO_MAX 4096
#define QUIET_MS 500

struct tls_reader { /* counts whole TLS records in a byte stream */
	uint8_t hdr[5];
	int hdr_have;
	size_t body_left;
	int records;
};

static void records_feed(struct tls_reader *r, const uint8_t *b, size_t n)
{
	while (n) {
		if (r->body_left) {
			size_t k = n < r->body_left ? n : r->body_left;

			r->body_left -= k;
			b += k;
			n -= k;
			if (!r->body_left)
				r->records++;
			continue;
		}
		r->hdr[r->hdr_have++] = *b++;
		n--;
		if (r->hdr_have == 5) {
			r->hdr_have = 0;
			r->body_left = (size_t)r->hdr[3] << 8 | r->hdr[4];
			if (!r->body_left)
				r->records++;
		}
	}
}

static void reset_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static ssize_t load_hello(const char *path, uint8_t *b)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, b, HELLO_MAX);
	close(fd);
	return n > 5 && b[0] == 22 ? n : -1; /* a handshake record */
}

/* One connection, read until QUIET_MS of silence: the flight's records. */
static int learn_flight(const struct lg_opts *o, const uint8_t *hello, size_t n)
{
	struct tls_reader r = { .records = 0 };
	struct pollfd p;
	uint8_t b[16384];
	ssize_t k;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 ||
	    connect(fd, (const struct sockaddr *)&o->tcp, sizeof(o->tcp)) ||
	    send(fd, hello, n, MSG_NOSIGNAL) != (ssize_t)n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (poll(&p, 1, QUIET_MS) == 1 && (k = read(fd, b, sizeof(b))) > 0)
		records_feed(&r, b, (size_t)k);
	reset_close(fd);
	return r.hdr_have || r.body_left ? -1 : r.records;
}

struct slot {
	int fd;
	uint64_t t0;
	struct tls_reader r;
};

static int slot_open(int ep, struct slot *s, int i, const struct lg_opts *o)
{
	struct epoll_event e = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };

	memset(s, 0, sizeof(*s));
	s->t0 = now_ns();
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -1;
	if (connect(s->fd, (const struct sockaddr *)&o->tcp, sizeof(o->tcp)) &&
	    errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	return epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e);
}

int mode_hello(const struct lg_opts *o)
{
	static uint8_t hello[HELLO_MAX], b[16384];
	struct epoll_event ev[64];
	struct slot *slots;
	uint64_t *lat, start = now_ns(), counted = 0, end;
	size_t nlat = 0, cap = 1u << 20;
	long done = 0, errors = 0;
	ssize_t hn;
	int ep, flight, i;

	if (!o->hello || (hn = load_hello(o->hello, hello)) < 0) {
		fprintf(stderr, "hello: --hello FILE: no ClientHello record\n");
		return 1;
	}
	flight = learn_flight(o, hello, (size_t)hn);
	if (flight < 2) {
		fprintf(stderr, "hello: the server sent no whole flight\n");
		return 1;
	}
	printf("flight_records %d\n", flight);
	slots = calloc((size_t)o->conc, sizeof(*slots));
	lat = malloc(cap * sizeof(*lat));
	ep = epoll_create1(0);
	if (!slots || !lat || ep < 0)
		return 1;
	start = now_ns();
	counted = start + (uint64_t)(o->warmup * 1e9);
	end = counted + (uint64_t)(o->seconds * 1e9);
	for (i = 0; i < o->conc; i++)
		if (slot_open(ep, &slots[i], i, o))
			errors++;
	while (now_ns() < end) {
		int n = epoll_wait(ep, ev, 64, 100);

		for (int j = 0; j < n; j++) {
			struct slot *s = &slots[ev[j].data.u32];
			struct epoll_event in = { .events = EPOLLIN,
						  .data.u32 = ev[j].data.u32 };
			ssize_t k;

			if (ev[j].events & EPOLLOUT) { /* connected (or not) */
				if (send(s->fd, hello, (size_t)hn,
					 MSG_NOSIGNAL) != hn)
					goto failed;
				epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &in);
				continue;
			}
			k = read(s->fd, b, sizeof(b));
			if (k < 0 && errno == EAGAIN)
				continue;
			if (k <= 0)
				goto failed;
			records_feed(&s->r, b, (size_t)k);
			if (s->r.records < flight)
				continue;
			if (s->t0 >= counted) {
				done++;
				if (nlat < cap)
					lat[nlat++] = now_ns() - s->t0;
			}
			reset_close(s->fd);
			if (slot_open(ep, s, (int)ev[j].data.u32, o))
				errors++;
			continue;
failed:
			if (s->t0 >= counted)
				errors++;
			reset_close(s->fd);
			if (slot_open(ep, s, (int)ev[j].data.u32, o))
				errors++;
		}
	}
	printf("hellos %ld\nper_s %.0f\nerrors %ld\n", done,
	       (double)done / o->seconds, errors);
	print_pcts("flight", lat, nlat);
	return 0;
}
