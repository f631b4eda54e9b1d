/* Unit tests for common/acceptor.c's check that a port is free before
 * the SO_REUSEPORT sockets of several workers bind it: a listener of
 * another process with SO_REUSEPORT (as a second server with workers
 * would have) would otherwise let ours share the port; a closed port, or
 * one left in TIME_WAIT, is free; our own shared sockets bind together
 * once the check passed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/acceptor.h"
#include "test.h"

static void nop(struct acceptor *a, int fd, const struct sockaddr *sa)
{
	(void)a;
	(void)sa;
	close(fd);
}

/* A listener on 127.0.0.1 with SO_REUSEPORT, as another server's worker;
 * its port in *port. */
static int other_listener(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

int main(void)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct acceptor a, b;
	struct addr at;
	char err[256], spec[64];
	uint16_t port = 0;
	int other = other_listener(&port);

	CHECK(other >= 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	CHECK_EQ(addr_parse(spec, 0, &at), 0);

	/* another process's SO_REUSEPORT listener: in use */
	err[0] = 0;
	CHECK_EQ(acceptor_check_free(&at, err, sizeof(err)), -1);
	CHECK(strstr(err, "in use") != NULL);
	CHECK(strstr(err, spec) != NULL);
	/* and the shared open alone would have joined it: what the check
	 * is there for */
	CHECK_EQ(acceptor_open_shared(&a, loop, &at, nop, err, sizeof(err)), 0);
	acceptor_close(&a);

	close(other);
	CHECK_EQ(acceptor_check_free(&at, err, sizeof(err)), 0);
	CHECK_EQ(acceptor_open_shared(&a, loop, &at, nop, err, sizeof(err)), 0);
	CHECK_EQ(acceptor_open_shared(&b, loop, &at, nop, err, sizeof(err)), 0);
	/* ours listen now: the next server's check fails */
	CHECK_EQ(acceptor_check_free(&at, err, sizeof(err)), -1);
	acceptor_close(&a);
	acceptor_close(&b);
	return test_summary("acceptor");
}
