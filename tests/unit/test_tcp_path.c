/* Unit tests for common/tcp_path.c over real sockets: a descriptor that
 * is no TCP socket (a pipe) says nothing, so it counts as loss-free and
 * gets the floor; a loopback TCP connection that carried 4 MiB in order
 * shows no loss and, its round trip being microseconds, no send budget
 * above the floor, BBR's start-up or not, a flow sending alone or not;
 * with a loss of ours remembered, a flow alone gets two round trips'
 * worth. (A path that does lose segments is the integration test's:
 * test_lossy.sh.) */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/tcp_path.h"
#include "test.h"

#define FLOOR (64u << 10)

/* A connected loopback pair in c[0] (client) and c[1] (accepted). */
static int tcp_pair(int c[2])
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return -1;
	c[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (c[0] < 0 || connect(c[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	c[1] = accept(l, NULL, NULL);
	close(l);
	return c[1] < 0 ? -1 : 0;
}

/* Sends n bytes from one end and reads them all at the other. */
static int carry(int from, int to, size_t n)
{
	static char b[65536];

	while (n) {
		size_t k = n < sizeof(b) ? n : sizeof(b);
		ssize_t w = write(from, b, k), r;

		if (w <= 0)
			return -1;
		for (r = 0; r < w;) {
			ssize_t got = read(to, b, (size_t)(w - r));

			if (got <= 0)
				return -1;
			r += got;
		}
		n -= (size_t)w;
	}
	return 0;
}

int main(void)
{
	struct tcp_path tp;
	int p[2], c[2] = { -1, -1 };

	CHECK(pipe(p) == 0);
	memset(&tp, 0, sizeof(tp));
	CHECK(tcp_path_lossy(&tp, p[0], 10.0) == 0);
	CHECK(tcp_path_unsent(&tp, p[0], 10.2, FLOOR, 0) == FLOOR);
	close(p[0]);
	close(p[1]);

	CHECK(tcp_pair(c) == 0);
	memset(&tp, 0, sizeof(tp));
	CHECK(tcp_path_lossy(&tp, c[1], 20.0) == 0); /* the baseline */
	CHECK(carry(c[0], c[1], 4u << 20) == 0);
	CHECK(tcp_path_lossy(&tp, c[1], 20.2) == 0);
	CHECK(tcp_path_unsent(&tp, c[0], 20.4, FLOOR, 0) == FLOOR);
	/* a floor above anything the path asks for is what comes back */
	CHECK(tcp_path_unsent(&tp, c[0], 20.6, 1u << 30, 0) == 1u << 30);
	/* a flow sending alone gets more than the floor only while our
	 * segments are being lost: on a loss-free path, the floor still */
	CHECK(carry(c[0], c[1], 4u << 20) == 0);
	CHECK(tcp_path_unsent(&tp, c[0], 20.8, FLOOR, 1) == FLOOR);
	/* with a loss of ours remembered (the look itself skipped: a
	 * loopback pair loses nothing), a flow alone gets its round trips'
	 * worth (the round trip set here: loopback's are microseconds), one
	 * not alone the floor, until the loss is old */
	tp.checked_at = 21.0;
	tp.sent_loss_at = 21.0;
	tp.round_trip = 4 * FLOOR; /* an eighth of it is below the floor */
	CHECK(tcp_path_unsent(&tp, c[0], 21.05, FLOOR, 1) ==
	      TCP_PATH_ALONE_RTTS * 4 * FLOOR);
	CHECK(tcp_path_unsent(&tp, c[0], 21.05, FLOOR, 0) == FLOOR);
	tp.checked_at = 21.0 + TCP_PATH_LOSS_MEMORY + 1;
	CHECK(tcp_path_unsent(&tp, c[0], tp.checked_at, FLOOR, 1) == FLOOR);
	close(c[0]);
	close(c[1]);

	/* BBR in its start-up (a fresh connection) gets the big budget only
	 * on a path of TCP_PATH_STARTUP_MIN_RTT_US or more: not on
	 * loopback, whose every send would otherwise queue 4 MiB */
	CHECK(tcp_pair(c) == 0);
	if (setsockopt(c[0], IPPROTO_TCP, TCP_CONGESTION, "bbr", 3) < 0)
		printf("# no bbr here: the default congestion control\n");
	CHECK(carry(c[0], c[1], 64u << 10) == 0);
	memset(&tp, 0, sizeof(tp));
	CHECK(tcp_path_unsent(&tp, c[0], 30.0, FLOOR, 0) == FLOOR);
	close(c[0]);
	close(c[1]);
	return test_summary("tcp_path");
}
