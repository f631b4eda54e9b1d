#include "tcp_path.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

/* Has the kernel's tcp_info got FIELD, in LEN bytes it filled? */
#define HAS(len, field)                                         \
	((len) >= offsetof(struct tcp_info, field) +            \
			  sizeof(((struct tcp_info *)0)->field))

static void refresh(struct tcp_path *tp, int fd, double now)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int first = !tp->checked_at;

	if (!first && now - tp->checked_at < TCP_PATH_CHECK)
		return;
	tp->checked_at = now;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return;
	if (HAS(len, tcpi_rcv_ooopack)) {
		uint32_t ooo = ti.tcpi_rcv_ooopack - tp->ooo;
		uint32_t in = ti.tcpi_segs_in - tp->segs_in;

		/* The first look only sets the baseline: what came before
		 * (a handshake's retransmitted SYN) is history. */
		if (!first && ooo && ooo >= in / TCP_PATH_OOO_SHARE)
			tp->loss_at = now;
		tp->ooo = ti.tcpi_rcv_ooopack;
		tp->segs_in = ti.tcpi_segs_in;
	}
	if (HAS(len, tcpi_delivery_rate) && ti.tcpi_min_rtt) {
		double b = (double)ti.tcpi_delivery_rate *
			   (ti.tcpi_min_rtt / 1e6) * TCP_PATH_UNSENT_RTT_SHARE;

		tp->unsent = b > TCP_PATH_UNSENT_MAX ? TCP_PATH_UNSENT_MAX :
						       (uint32_t)b;
	}
}

int tcp_path_lossy(struct tcp_path *tp, int fd, double now)
{
	refresh(tp, fd, now);
	return tp->loss_at && now - tp->loss_at < TCP_PATH_LOSS_MEMORY;
}

uint32_t tcp_path_unsent(struct tcp_path *tp, int fd, double now,
			 uint32_t floor)
{
	refresh(tp, fd, now);
	return tp->unsent > floor ? tp->unsent : floor;
}
