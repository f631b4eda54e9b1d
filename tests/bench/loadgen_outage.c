/*
 * loadgen hold and newflow: what a download and new flows see when the
 * link under the proxy goes silent and comes back (the bench's outage
 * section). The bench cuts the link and tells these tools by signal:
 *   SIGUSR2  the link is cut (hold);
 *   SIGUSR1  the link is back (hold and newflow).
 * Both print "ready 1" once their handlers are in, so that no signal
 * finds a tool without them; times are taken when the signal arrives.
 *
 * hold: one 'P' download of --bytes through the proxy, read at --rate
 * bytes/s until the cut (the download is still under way when the link
 * goes, however fast the path), then as fast as it comes, every byte
 * checked against the pattern. It ends complete, reset (the connection
 * failed), closed (an EOF before the end), corrupt (a byte not where it
 * belongs) or stalled (--seconds after the return without the end).
 *
 * newflow: from the return on, a new flow every --interval-ms (an echo
 * flow: SOCKS5 CONNECT, one byte, its echo), each on its own thread and
 * given --timeout-ms for each step; reports when the first echo byte
 * came, or -1 when none within --seconds.
 */
#include "loadgen.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOLD_BUF (256 * 1024)
#define HOLD_MAX_S 600 /* the whole run, whatever the signals */

/* CLOCK_MONOTONIC ns, 0: not yet; set once, by the handler (a 64-bit
 * store is one instruction on the machines the bench runs on). */
static volatile uint64_t cut_at, back_at;

static void on_signal(int sig)
{
	if (sig == SIGUSR2 && !cut_at)
		cut_at = now_ns();
	if (sig == SIGUSR1 && !back_at)
		back_at = now_ns();
}

static void handle_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
}

static double since_back_s(uint64_t t)
{
	return back_at && t ? ((double)t - (double)back_at) / 1e9 : -1;
}

/* ------------------------------------------------------------ hold */

struct hold {
	uint64_t got, at_cut, at_back;
	uint64_t first_back; /* the first byte read after the return */
	int cut_seen, back_seen;
};

/* How many bytes the pace allows now (all of them once the link is cut). */
static size_t hold_allowed(const struct lg_opts *o, const struct hold *h,
			   uint64_t t0, uint64_t t)
{
	double due;

	if (cut_at || o->rate <= 0)
		return HOLD_BUF;
	due = o->rate * (double)(t - t0) / 1e9 - (double)h->got;
	if (due <= 0)
		return 0;
	return due > HOLD_BUF ? HOLD_BUF : (size_t)due;
}

/* Reads until the end; returns how it ended. */
static const char *hold_read(const struct lg_opts *o, int fd, struct hold *h,
			     uint64_t t0)
{
	static uint8_t buf[HOLD_BUF], want[HOLD_BUF];

	while (h->got < o->bytes) {
		uint64_t t = now_ns();
		size_t n = hold_allowed(o, h, t0, t);
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (cut_at && !h->cut_seen) {
			h->cut_seen = 1;
			h->at_cut = h->got;
		}
		if (back_at && !h->back_seen) {
			h->back_seen = 1;
			h->at_back = h->got;
		}
		if ((back_at && t > back_at + (uint64_t)(o->seconds * 1e9)) ||
		    t > t0 + HOLD_MAX_S * 1000000000ULL)
			return "stalled";
		if (n == 0) {
			sleep_ns(2000000); /* 2 ms: the pace's grain */
			continue;
		}
		if (n > o->bytes - h->got)
			n = (size_t)(o->bytes - h->got);
		if (poll(&pfd, 1, 10) <= 0)
			continue; /* a signal or 10 ms: look at the clock again */
		r = read(fd, buf, n);
		if (r == 0)
			return "closed";
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			warnx_("hold: read: %s", strerror(errno));
			return "reset";
		}
		pattern_fill(want, h->got, (size_t)r);
		if (memcmp(buf, want, (size_t)r) != 0) {
			warnx_("hold: wrong bytes at %llu..%llu",
			       (unsigned long long)h->got,
			       (unsigned long long)(h->got + (uint64_t)r));
			return "corrupt";
		}
		if (h->back_seen && !h->first_back)
			h->first_back = now_ns();
		h->got += (uint64_t)r;
	}
	return "complete";
}

int mode_hold(const struct lg_opts *o)
{
	struct hold h;
	const char *end;
	uint64_t t0;
	int fd;

	memset(&h, 0, sizeof(h));
	handle_signals();
	fd = flow_open(o, 'P', 5000);
	if (fd < 0)
		return 1;
	out("ready", "1");
	t0 = now_ns();
	end = hold_read(o, fd, &h, t0);
	if (!h.cut_seen)
		h.at_cut = h.got;
	if (!h.back_seen)
		h.at_back = h.got;
	/* the end, from the return (-1: before it) and from the cut */
	t0 = now_ns();
	out("end_s", "%.3f", h.back_seen ? since_back_s(t0) : -1);
	out("end_cut_s", "%.3f",
	    cut_at ? ((double)t0 - (double)cut_at) / 1e9 : -1);
	close(fd);
	out("size", "%llu", (unsigned long long)o->bytes);
	out("bytes", "%llu", (unsigned long long)h.got);
	out("at_cut", "%llu", (unsigned long long)h.at_cut);
	out("at_back", "%llu", (unsigned long long)h.at_back);
	out("resume_s", "%.3f", since_back_s(h.first_back));
	out("end", "%s", end);
	return 0;
}

/* ------------------------------------------------------------ newflow */

static const struct lg_opts *nf_opts;
static uint64_t nf_first; /* the first echo byte back, ns; 0: none yet */
static pthread_mutex_t nf_lock = PTHREAD_MUTEX_INITIALIZER;

/* One attempt: a new flow, one byte, its echo. */
static void *nf_try(void *arg)
{
	char b;
	int fd = flow_open(nf_opts, 'E', nf_opts->timeout_ms);

	(void)arg;
	if (fd < 0)
		return NULL;
	/* the mode byte 'E' is the byte sent: it comes back first */
	if (read_full(fd, &b, 1, nf_opts->timeout_ms) == 0 && b == 'E') {
		uint64_t t = now_ns();

		pthread_mutex_lock(&nf_lock);
		if (!nf_first || t < nf_first)
			nf_first = t;
		pthread_mutex_unlock(&nf_lock);
	}
	close(fd);
	return NULL;
}

int mode_newflow(const struct lg_opts *o)
{
	uint64_t step = (uint64_t)(o->interval_ms * 1e6), end, next;
	pthread_attr_t attr;
	long tries = 0;
	int done = 0;

	nf_opts = o;
	handle_signals();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	out("ready", "1");
	end = now_ns() + HOLD_MAX_S * 1000000000ULL;
	while (!back_at && now_ns() < end)
		sleep_ns(1000000);
	if (!back_at)
		return 1;
	end = back_at + (uint64_t)(o->seconds * 1e9);
	for (next = back_at; !done && now_ns() < end;) {
		uint64_t t = now_ns();
		pthread_t th;

		if (t >= next) {
			if (pthread_create(&th, &attr, nf_try, NULL) == 0)
				tries++;
			next += step;
		}
		pthread_mutex_lock(&nf_lock);
		done = nf_first != 0;
		pthread_mutex_unlock(&nf_lock);
		sleep_ns(1000000);
	}
	/* the threads still trying end with the process */
	pthread_mutex_lock(&nf_lock);
	next = nf_first;
	pthread_mutex_unlock(&nf_lock);
	out("back_s", "%.3f", since_back_s(next));
	out("tries", "%ld", tries);
	return 0;
}
