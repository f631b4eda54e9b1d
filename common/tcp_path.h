/* What the kernel knows about the tunnel's TCP path (TCP_INFO), read at
 * most every TCP_PATH_CHECK seconds, for the two decisions that depend
 * on the path more than on us:
 *
 * - loss: whether many segments from the peer have lately arrived out
 *   of order (behind a hole a loss left). The kernel holds every byte behind
 *   such a hole until the retransmission arrives, about one more round
 *   trip; flow windows then must cover that wait (flow.c).
 * - the send budget: how many bytes may wait unsent in the socket
 *   (TCP_NOTSENT_LOWAT, tunnel_out.c). A control or UDP frame queued next
 *   waits behind them, so few is fast; but on a long path the kernel
 *   drains a few in a millisecond or two, and the proxy, woken too late
 *   on a busy machine, leaves the connection idle (a plain TCP sender
 *   fills its whole send buffer). The budget is an eighth of a round trip
 *   at the rate the path delivers, never below a floor: what a frame
 *   waits is then a small part of the round trip it travels anyway.
 *
 * - loss either way (for the datagram path, dpath.c): the above, or our
 *   own segments lately retransmitted for want of an acknowledgement
 *   (less those the peer said it had already: a D-SACK marks a
 *   retransmission that was not needed, as a late ACK on a busy host
 *   causes).
 *
 * A socket or kernel that does not say counts as loss-free and gets the
 * floor. */
#ifndef COMMON_TCP_PATH_H
#define COMMON_TCP_PATH_H

#include <stdint.h>

#define TCP_PATH_CHECK 0.1
/* Loss is remembered this long after the last look that saw it. */
#define TCP_PATH_LOSS_MEMORY 5.0
/* A look sees loss when at least 1/this of the segments received since
 * the last one came out of order. Behind a loss, everything that arrives
 * in the round trip until its retransmission is out of order: over 50
 * ms with 1 % loss, more than half of all segments. A reordering of a
 * few packets on a busy host is not worth bigger windows. */
#define TCP_PATH_OOO_SHARE 16
/* The send budget: this share of a round trip at the delivery rate,
 * within [floor given by the caller, TCP_PATH_UNSENT_MAX]. */
#define TCP_PATH_UNSENT_RTT_SHARE 0.125
#define TCP_PATH_UNSENT_MAX (1u << 20)
/* BBR leaves its start-up once three round trips' samples show the
 * bandwidth no longer growing, but a sample taken while the sender had
 * nothing queued (it was "application-limited") does not count. Paced at
 * 2.89 times the path's rate, BBR empties the budget above in a few
 * milliseconds, and a proxy not scheduled by then left a 50 ms, 1 %-loss
 * tunnel in start-up for 3-5 s, its queue at the bottleneck up to
 * 90 ms deep, where a plain TCP connection (megabytes unsent) left it
 * after 1.5 s. So while BBR is in start-up on a path of at least
 * TCP_PATH_STARTUP_MIN_RTT_US, the budget is this: no budget in effect,
 * since the kernel's send buffer stops at 4 MiB by default (tcp_wmem),
 * unsent and unacknowledged bytes together. */
#define TCP_PATH_UNSENT_ALL (4u << 20)
/* A flow alone on a path losing our segments: this many round trips at
 * the delivery rate (at most TCP_PATH_UNSENT_ALL; see tcp_path_unsent). */
#define TCP_PATH_ALONE_RTTS 2
#define TCP_PATH_STARTUP_MIN_RTT_US 5000
#define TCP_PATH_STARTUP_GAIN (2u << 8) /* pacing gain, <<8 as the kernel's */

struct tcp_path {
	double checked_at;   /* when we last looked (0: never) */
	double loss_at;      /* when the out-of-order count last grew */
	double sent_loss_at; /* when a segment of ours was last lost */
	uint32_t ooo;        /* the kernel's out-of-order count then */
	uint32_t segs_in;    /* and its count of segments received */
	uint32_t retrans;    /* its count of our retransmissions */
	uint32_t dsacks;     /* and of those the peer had already */
	uint32_t round_trip; /* bytes a round trip at the delivery rate */
	int startup;         /* BBR in its start-up on a long path */
};

/* 1 when segments from the peer arrived out of order on FD within the
 * last TCP_PATH_LOSS_MEMORY seconds (now: any monotonic seconds). */
int tcp_path_lossy(struct tcp_path *tp, int fd, double now);
/* Seconds since a segment was lost either way on FD (as far as the
 * kernel tells), or -1: none seen. */
double tcp_path_loss_age(struct tcp_path *tp, int fd, double now);
/* Bytes that may wait unsent in FD's socket: at least FLOOR. ALONE:
 * one flow has been sending by itself, so no frame of another waits
 * behind what is queued; then, while our segments are being lost, two
 * round trips at the delivery rate (at most TCP_PATH_UNSENT_ALL). A
 * repaired loss frees much window at once and the kernel sends only
 * what it holds: with one round trip's worth a download alone at 1-2 %
 * loss over 50 ms left the kernel with nothing to send 3-9 % of the
 * time (tcpi_sndbuf_limited) and moved 0.92-0.93x of a plain connection
 * over 25 s; with no budget short of the send buffer, 0.99-1.00x, and
 * with two round trips, 1.02 / 0.97x at 1 / 2 % (the buffer's 4 MiB
 * hold the megabytes unacknowledged behind a hole too, and left about
 * 1.1 MB unsent on average). On a short path two round trips stay
 * small, where the whole buffer would be tens of milliseconds for a
 * flow that joins to wait behind. */
uint32_t tcp_path_unsent(struct tcp_path *tp, int fd, double now,
			 uint32_t floor, int alone);

#endif
