#include "tcp_path.h"
#include "util.h"

#include <linux/inet_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

/* Has the kernel's tcp_info got FIELD, in LEN bytes it filled? */
#define HAS(len, field) \
	((len) >= offsetof(struct tcp_info, field) + \
			  sizeof(((struct tcp_info *)0)->field))

/* Whether fd's congestion control is BBR in its start-up (pacing gain
 * 2.89; drain, probing and the rest of its life stay at or below 1.25). */
static int bbr_startup(int fd)
{
	union tcp_cc_info cc;
	char name[16] = "";
	socklen_t len = sizeof(name);

	if (getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) < 0 ||
	    strncmp(name, "bbr", sizeof(name)))
		return 0;
	len = sizeof(cc);
	memset(&cc, 0, sizeof(cc));
	if (getsockopt(fd, IPPROTO_TCP, TCP_CC_INFO, &cc, &len) < 0 ||
	    len < sizeof(cc.bbr))
		return 0;
	return cc.bbr.bbr_pacing_gain > TCP_PATH_STARTUP_GAIN;
}

/* Whether a loss seen AT (0: never) is still remembered NOW. */
static int recent(double at, double now)
{
	return at && now - at < TCP_PATH_LOSS_MEMORY;
}

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
	if (HAS(len, tcpi_dsack_dups)) {
		uint32_t re = ti.tcpi_total_retrans - tp->retrans;
		uint32_t dup = ti.tcpi_dsack_dups - tp->dsacks;

		if (!first && re > dup)
			tp->sent_loss_at = now;
		tp->retrans = ti.tcpi_total_retrans;
		tp->dsacks = ti.tcpi_dsack_dups;
	}
	if (HAS(len, tcpi_delivery_rate) && ti.tcpi_min_rtt) {
		double rt = (double)ti.tcpi_delivery_rate *
			    (ti.tcpi_min_rtt / 1e6);

		tp->round_trip = rt > UINT32_MAX ? UINT32_MAX : (uint32_t)rt;
	}
	tp->startup = ti.tcpi_min_rtt >= TCP_PATH_STARTUP_MIN_RTT_US &&
		      bbr_startup(fd);
}

int tcp_path_lossy(struct tcp_path *tp, int fd, double now)
{
	refresh(tp, fd, now);
	return recent(tp->loss_at, now);
}

double tcp_path_loss_age(struct tcp_path *tp, int fd, double now)
{
	double at;

	refresh(tp, fd, now);
	at = tp->loss_at > tp->sent_loss_at ? tp->loss_at : tp->sent_loss_at;
	return at ? now - at : -1;
}

uint32_t tcp_path_unsent(struct tcp_path *tp, int fd, double now,
			 uint32_t floor, int alone)
{
	double rt;
	uint32_t b;

	refresh(tp, fd, now);
	rt = tp->round_trip;
	if (tp->startup)
		b = TCP_PATH_UNSENT_ALL;
	else if (alone && recent(tp->sent_loss_at, now))
		b = (uint32_t)MIN(rt * TCP_PATH_ALONE_RTTS,
				  TCP_PATH_UNSENT_ALL);
	else
		b = (uint32_t)MIN(rt * TCP_PATH_UNSENT_RTT_SHARE,
				  TCP_PATH_UNSENT_MAX);
	return b > floor ? b : floor;
}
