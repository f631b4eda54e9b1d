/*
 * loadgen UDP modes: udprtt (one datagram in flight, or with --interval-ms
 * one sent every so often whatever came back), udprate (the highest
 * paced rate with less than --loss lost), and the UDP probe of mode load.
 * Datagrams go through a SOCKS5 UDP ASSOCIATE, or straight to the target.
 *
 * Payload: u32 run id, u64 sequence number (host order, only we read it),
 * then filler up to --size bytes.
 */
#include "loadgen.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HDR_MAX 10
#define PKT_MAX (HDR_MAX + 8192)
#define BATCH 64

int udp_path_open(struct udp_path *p, const struct lg_opts *o)
{
	struct sockaddr_in relay;
	const struct sockaddr_in *to = &o->udp;
	int big = 8 << 20;

	memset(p, 0, sizeof(*p));
	p->ctl = -1;
	p->socks = o->use_socks;
	p->dst = o->udp;
	if (p->socks) {
		p->ctl = socks_udp_associate(o, &relay);
		if (p->ctl < 0)
			return -1;
		to = &relay;
	}
	p->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (p->fd < 0 ||
	    connect(p->fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		warnx_("udp: %s", strerror(errno));
		return -1;
	}
	setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	return 0;
}

void udp_path_close(struct udp_path *p)
{
	close(p->fd);
	if (p->ctl >= 0)
		close(p->ctl);
}

size_t udp_path_hdr(const struct udp_path *p, uint8_t *b)
{
	if (!p->socks)
		return 0;
	b[0] = 0; /* RSV */
	b[1] = 0;
	b[2] = 0; /* FRAG */
	b[3] = 1; /* IPv4 */
	memcpy(b + 4, &p->dst.sin_addr, 4);
	memcpy(b + 8, &p->dst.sin_port, 2);
	return 10;
}

int udp_path_payload(const struct udp_path *p, const uint8_t *b, size_t n)
{
	size_t h;

	if (!p->socks)
		return 0;
	if (n < 4 || b[2] != 0)
		return -1;
	switch (b[3]) {
	case 1:
		h = 10;
		break;
	case 4:
		h = 22;
		break;
	case 3:
		h = n > 4 ? (size_t)7 + b[4] : n + 1;
		break;
	default:
		return -1;
	}
	return h <= n ? (int)h : -1;
}

static void put_ids(uint8_t *b, uint32_t run, uint64_t seq)
{
	memcpy(b, &run, 4);
	memcpy(b + 4, &seq, 8);
}

/* Run id and sequence of a received datagram; -1 when not ours. */
static int get_ids(const struct udp_path *p, const uint8_t *b, size_t n,
		   uint32_t *run, uint64_t *seq)
{
	int off = udp_path_payload(p, b, n);

	if (off < 0 || n < (size_t)off + 12)
		return -1;
	memcpy(run, b + off, 4);
	memcpy(seq, b + off + 4, 8);
	return 0;
}

/* One datagram out and its echo back: 0 and *RTT, or -1 (lost). */
static int rtt_one(struct udp_path *p, uint8_t *pkt, size_t len, size_t hdr,
		   uint32_t run, uint64_t seq, int timeout_ms, uint64_t *rtt)
{
	uint8_t in[PKT_MAX];
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)timeout_ms * 1000000u;

	put_ids(pkt + hdr, run, seq);
	if (send(p->fd, pkt, len, 0) < 0)
		return -1;
	for (;;) {
		struct pollfd pfd = { p->fd, POLLIN, 0 };
		uint64_t t = now_ns(), s;
		uint32_t r;
		ssize_t n;

		if (t >= end)
			return -1;
		if (poll(&pfd, 1, (int)((end - t) / 1000000u) + 1) <= 0)
			continue;
		n = recv(p->fd, in, sizeof(in), MSG_DONTWAIT);
		if (n < 0)
			continue;
		if (get_ids(p, in, (size_t)n, &r, &s) == 0 && r == run &&
		    s == seq) {
			*rtt = now_ns() - t0;
			return 0;
		}
	}
}

/* Probes the way a game sends: one datagram every --interval-ms whether
 * or not the last one was answered, each answer matched to its send time
 * by sequence number. Answers are awaited for PROBE_WAIT_NS after END;
 * a probe still unanswered then was lost. */
#define PROBE_WAIT_NS 1000000000u

long udp_probe(struct udp_path *p, const struct lg_opts *o, uint64_t end,
	       uint64_t *lat, size_t cap, size_t *n)
{
	static uint8_t pkt[PKT_MAX], in[PKT_MAX];
	size_t hdr = udp_path_hdr(p, pkt), len = hdr + (size_t)o->size;
	uint64_t step = (uint64_t)(o->interval_ms * 1e6), next = now_ns();
	uint64_t *sent = calloc(cap + 1, sizeof(*sent));
	uint64_t seq = 0;
	uint32_t run = 7;

	*n = 0;
	if (!sent)
		return 0;
	memset(pkt + hdr, 'u', (size_t)o->size);
	for (;;) {
		uint64_t t = now_ns(), wait, s;
		struct pollfd pfd = { p->fd, POLLIN, 0 };
		uint32_t r;
		ssize_t got;

		if (t >= end + PROBE_WAIT_NS || (t >= end && *n == seq))
			break;
		if (t >= next && t < end && seq < cap) {
			put_ids(pkt + hdr, run, ++seq);
			sent[seq] = t;
			if (send(p->fd, pkt, len, 0) < 0)
				sent[seq] = 0;
			next += step;
			continue;
		}
		wait = t < end && seq < cap ? (next > t ? next - t : 0) :
					      end + PROBE_WAIT_NS - t;
		if (poll(&pfd, 1, (int)(wait / 1000000u) + 1) <= 0)
			continue;
		got = recv(p->fd, in, sizeof(in), MSG_DONTWAIT);
		if (got < 0 || get_ids(p, in, (size_t)got, &r, &s) < 0 ||
		    r != run || s == 0 || s > seq || !sent[s])
			continue;
		lat[(*n)++] = now_ns() - sent[s];
		sent[s] = 0; /* a duplicate counts once */
	}
	free(sent);
	return (long)(seq - *n);
}

int mode_udprtt(const struct lg_opts *o)
{
	static uint8_t pkt[PKT_MAX];
	struct udp_path p;
	uint64_t *lat = calloc((size_t)o->count, sizeof(*lat));
	uint64_t end, seq;
	size_t hdr, len, n = 0;
	long lost = 0;

	if (!lat || udp_path_open(&p, o) < 0)
		return 1;
	if (o->interval_set) {
		/* paced: one every --interval-ms, not one at a time */
		lost = udp_probe(&p, o, now_ns() + (uint64_t)(o->seconds * 1e9),
				 lat, (size_t)o->count, &n);
		goto done;
	}
	hdr = udp_path_hdr(&p, pkt);
	len = hdr + (size_t)o->size;
	memset(pkt + hdr, 'r', (size_t)o->size);
	end = now_ns() + (uint64_t)(o->seconds * 1e9);
	for (seq = 1; n < (size_t)o->count && now_ns() < end; seq++) {
		uint64_t rtt;

		if (rtt_one(&p, pkt, len, hdr, 1, seq, 200, &rtt) < 0)
			lost++;
		else
			lat[n++] = rtt;
	}
done:
	udp_path_close(&p);
	print_pcts("rtt", lat, n);
	out("lost", "%ld", lost);
	return n > 0 ? 0 : 1;
}

/* ------------------------------------------------------------ udprate */

struct rate_res {
	uint64_t sent, got;
	double sent_pps; /* the rate really achieved by the sender */
};

static void drain(struct udp_path *p, uint32_t run, uint64_t *got)
{
	static uint8_t bufs[BATCH][PKT_MAX];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	for (;;) {
		memset(m, 0, sizeof(m));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = PKT_MAX;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(p->fd, m, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			uint32_t r;
			uint64_t s;

			if (get_ids(p, bufs[i], m[i].msg_len, &r, &s) == 0 &&
			    r == run)
				(*got)++;
		}
	}
}

/* Sends at RATE datagrams/s for SECONDS, paced in small bursts, then
 * collects echoes for 300 ms more. */
static void rate_step(struct udp_path *p, const struct lg_opts *o, uint32_t run,
		      double rate, struct rate_res *res)
{
	static uint8_t pkts[BATCH][PKT_MAX];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	size_t hdr = udp_path_hdr(p, pkts[0]), len = hdr + (size_t)o->size;
	uint64_t t0 = now_ns(), dur = (uint64_t)(o->seconds * 1e9), t;
	uint64_t gap = (uint64_t)(1e9 / rate);
	int i;

	/* Let what an earlier step left queued in the proxy drain first:
	 * until 200 ms pass without a datagram (3 s at most). */
	for (t = now_ns(); now_ns() - t < 3000000000u;) {
		struct pollfd pfd = { p->fd, POLLIN, 0 };
		uint64_t junk = 0;

		if (poll(&pfd, 1, 200) <= 0)
			break;
		drain(p, 0, &junk);
	}
	t0 = now_ns();
	memset(res, 0, sizeof(*res));
	for (i = 0; i < BATCH; i++) {
		udp_path_hdr(p, pkts[i]);
		memset(pkts[i] + hdr, 'R', (size_t)o->size);
	}
	if (gap < 100000)
		gap = 100000; /* bursts at most every 0.1 ms */
	while ((t = now_ns()) - t0 < dur) {
		uint64_t due = (uint64_t)((double)(t - t0) * rate / 1e9) + 1;

		while (res->sent < due) {
			int k = due - res->sent > BATCH ?
					BATCH :
					(int)(due - res->sent);
			int sent;

			memset(m, 0, sizeof(m));
			for (i = 0; i < k; i++) {
				put_ids(pkts[i] + hdr, run,
					res->sent + (uint64_t)i);
				iov[i].iov_base = pkts[i];
				iov[i].iov_len = len;
				m[i].msg_hdr.msg_iov = &iov[i];
				m[i].msg_hdr.msg_iovlen = 1;
			}
			sent = sendmmsg(p->fd, m, (unsigned)k, MSG_DONTWAIT);
			if (sent <= 0)
				break; /* our own socket is full: behind */
			res->sent += (uint64_t)sent;
		}
		drain(p, run, &res->got);
		sleep_ns(gap);
	}
	res->sent_pps = (double)res->sent / ((double)(now_ns() - t0) / 1e9);
	t = now_ns();
	while (now_ns() - t < 300000000u && res->got < res->sent) {
		struct pollfd pfd = { p->fd, POLLIN, 0 };

		poll(&pfd, 1, 20);
		drain(p, run, &res->got);
	}
}

static int rate_ok(const struct lg_opts *o, double rate,
		   const struct rate_res *r)
{
	double loss = r->sent ? 1.0 - (double)r->got / (double)r->sent : 1;

	fprintf(stderr,
		"loadgen udprate: %8.0f/s asked, %8.0f/s sent, loss %.2f%%\n",
		rate, r->sent_pps, loss * 100);
	return r->sent && loss < o->max_loss && r->sent_pps >= 0.97 * rate;
}

/*
 * The highest rate with loss under --loss: doubling from 4,000/s until it
 * fails, then five bisection steps between the last good and first bad
 * rate. One step lasts --seconds.
 */
int mode_udprate(const struct lg_opts *o)
{
	struct udp_path p;
	struct rate_res r;
	double good = 0, bad = 0, rate = 4000, loss_at_good = 0;
	uint32_t run = 100;
	int i;

	if (udp_path_open(&p, o) < 0)
		return 1;
	while (rate <= 4e6) {
		rate_step(&p, o, ++run, rate, &r);
		if (!rate_ok(o, rate, &r)) {
			bad = rate;
			break;
		}
		good = rate;
		loss_at_good = 1.0 - (double)r.got / (double)r.sent;
		rate *= 2;
	}
	if (good == 0) { /* even the first step failed: go down */
		for (rate = 2000; rate >= 250; rate /= 2) {
			rate_step(&p, o, ++run, rate, &r);
			if (rate_ok(o, rate, &r)) {
				good = rate;
				loss_at_good = 1.0 -
					       (double)r.got / (double)r.sent;
				break;
			}
			bad = rate;
		}
	}
	for (i = 0; i < 5 && good > 0 && bad > 0; i++) {
		rate = (good + bad) / 2;
		rate_step(&p, o, ++run, rate, &r);
		if (rate_ok(o, rate, &r)) {
			good = rate;
			loss_at_good = 1.0 - (double)r.got / (double)r.sent;
		} else {
			bad = rate;
		}
	}
	udp_path_close(&p);
	out("pps", "%.0f", good);
	out("loss_pct", "%.3f", loss_at_good * 100);
	return 0;
}
