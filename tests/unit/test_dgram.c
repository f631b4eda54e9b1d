/* Unit tests for common/dgram.c, batched datagram reads, on real UDP
 * sockets on 127.0.0.1: an empty socket, a batch in order with its
 * senders and the room in front, a datagram too long for its slot
 * dropped alone, a backlog read DGRAM_BATCH at a time, and dgram_each()
 * handing over a backlog in order, skipping the too long (counted, with
 * the first one's real length, for the drop's log line), and stopping
 * when its callback says so. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/dgram.h"
#include "test.h"

#define ROOM 27
#define MAX_LEN 1000

static int udp_socket(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) ||
	    getsockname(fd, (struct sockaddr *)a, &len))
		return -1;
	return fd;
}

static void send_n(int fd, const struct sockaddr_in *to, size_t len,
		   uint8_t fill)
{
	uint8_t b[MAX_LEN + 10];

	memset(b, fill, len);
	CHECK_EQ(sendto(fd, b, len, 0, (const struct sockaddr *)to,
			sizeof(*to)),
		 (long long)len);
}

static int all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

struct seen {
	int n, stop_at;
	uint8_t first[64];
};

static int note(void *arg, const struct dgram *d)
{
	struct seen *s = arg;

	if (s->n < 64)
		s->first[s->n] = d->data[0];
	s->n++;
	return s->n == s->stop_at;
}

static void test_each(int rx, int tx, const struct sockaddr_in *ra,
		      struct dgram_batch *b)
{
	struct seen s = { 0 };
	int ordered = 1;
	size_t len;

	for (int i = 0; i < 20; i++)
		send_n(tx, ra, i == 5 || i == 9 ? MAX_LEN + 1 + (size_t)i : 8,
		       (uint8_t)i);
	dgram_each(b, rx, note, &s);
	CHECK_EQ(s.n, 18);
	/* the two too long are counted, the first one's real length kept */
	CHECK_EQ(dgram_too_long(b, &len), 2);
	CHECK_EQ(len, MAX_LEN + 6);
	for (int i = 0; i < s.n; i++)
		ordered &= s.first[i] == (i < 5 ? i : i < 8 ? i + 1 : i + 2);
	CHECK(ordered);
	CHECK_EQ(dgram_recv(b, rx), 0);

	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	for (int i = 0; i < 10; i++)
		send_n(tx, ra, 8, (uint8_t)i);
	dgram_each(b, rx, note, &s);
	CHECK_EQ(s.n, 3);
	/* counted per call */
	CHECK_EQ(dgram_too_long(b, &len), 0);
	CHECK_EQ(len, 0);
}

int main(void)
{
	struct sockaddr_in ra, sa;
	int rx = udp_socket(&ra), tx = udp_socket(&sa);
	struct dgram_batch *b = dgram_batch_new(ROOM, MAX_LEN, 0);
	static const size_t lens[3] = { 1, 100, MAX_LEN };
	struct dgram d;
	int n;

	CHECK(rx >= 0 && tx >= 0);
	CHECK_EQ(dgram_recv(b, rx), 0);

	for (int i = 0; i < 3; i++)
		send_n(tx, &ra, lens[i], (uint8_t)('a' + i));
	CHECK_EQ(dgram_recv(b, rx), 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(dgram_get(b, i, &d), 0);
		CHECK_EQ(d.len, lens[i]);
		CHECK(all(d.data, d.len, (uint8_t)('a' + i)));
		CHECK_EQ(d.from->ss_family, AF_INET);
		CHECK_EQ(((const struct sockaddr_in *)d.from)->sin_port,
			 sa.sin_port);
		/* the room is the caller's: a header written there leaves
		 * the datagram alone */
		memset(d.data - ROOM, 0xee, ROOM);
		CHECK(all(d.data, d.len, (uint8_t)('a' + i)));
	}
	CHECK_EQ(dgram_recv(b, rx), 0);

	/* too long: dropped, its neighbours are not */
	send_n(tx, &ra, 10, 'x');
	send_n(tx, &ra, MAX_LEN + 1, 'y');
	send_n(tx, &ra, 20, 'z');
	CHECK_EQ(dgram_recv(b, rx), 3);
	CHECK_EQ(dgram_get(b, 0, &d), 0);
	CHECK(d.len == 10 && all(d.data, 10, 'x'));
	CHECK_EQ(dgram_get(b, 1, &d), -1);
	CHECK_EQ(dgram_get(b, 2, &d), 0);
	CHECK(d.len == 20 && all(d.data, 20, 'z'));

	/* a backlog: full batches, then the rest, then nothing */
	for (int i = 0; i < 2 * DGRAM_BATCH + 3; i++)
		send_n(tx, &ra, 8, (uint8_t)i);
	CHECK_EQ(dgram_recv(b, rx), DGRAM_BATCH);
	CHECK_EQ(dgram_get(b, DGRAM_BATCH - 1, &d), 0);
	CHECK(all(d.data, 8, DGRAM_BATCH - 1));
	CHECK_EQ(dgram_recv(b, rx), DGRAM_BATCH);
	CHECK_EQ(dgram_get(b, 0, &d), 0);
	CHECK(all(d.data, 8, DGRAM_BATCH));
	n = dgram_recv(b, rx);
	CHECK_EQ(n, 3);
	CHECK_EQ(dgram_get(b, 2, &d), 0);
	CHECK(all(d.data, 8, 2 * DGRAM_BATCH + 2));
	CHECK_EQ(dgram_recv(b, rx), 0);

	test_each(rx, tx, &ra, b);

	dgram_batch_free(b);
	close(rx);
	close(tx);
	return test_summary("dgram");
}
