/*
 * loadgen: options, timing, statistics and the SOCKS5 client shared by the
 * modes. See loadgen.h for the modes and the target protocol.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ time */

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double ns_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
			       (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------ pattern */

/* splitmix64's finaliser: neighbouring words differ in every byte. */
uint64_t pattern_word(uint64_t k)
{
	k += 0x9E3779B97F4A7C15ULL;
	k = (k ^ (k >> 30)) * 0xBF58476D1CE4E5B9ULL;
	k = (k ^ (k >> 27)) * 0x94D049BB133111EBULL;
	return k ^ (k >> 31);
}

void pattern_fill(uint8_t *b, uint64_t off, size_t n)
{
	uint64_t w = pattern_word(off / 8);
	size_t i;

	for (i = 0; i < n; i++, off++) {
		if (i > 0 && off % 8 == 0)
			w = pattern_word(off / 8);
		b[i] = (uint8_t)(w >> (8 * (off % 8)));
	}
}

/* ------------------------------------------------------------ statistics */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double pct_ms(uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), cmp_u64);
	i = (size_t)(p * (double)n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return ns_ms(v[i]);
}

/* LOADGEN_SAMPLES=FILE: every sample, in the order taken, appended to FILE
 * ("PREFIX INDEX MS"), to see when a percentile's outliers came. */
static void trace_samples(const char *prefix, const uint64_t *v, size_t n)
{
	const char *path = getenv("LOADGEN_SAMPLES");
	FILE *f;
	size_t i;

	if (!path || !(f = fopen(path, "a")))
		return;
	for (i = 0; i < n; i++)
		fprintf(f, "%s %zu %.3f\n", prefix, i, ns_ms(v[i]));
	fclose(f);
}

/* PREFIX_p50_ms, PREFIX_p99_ms and PREFIX_n; nothing but _n when empty. */
void print_pcts(const char *prefix, uint64_t *v, size_t n)
{
	char k[96];

	snprintf(k, sizeof(k), "%s_n", prefix);
	out(k, "%zu", n);
	if (n == 0)
		return;
	trace_samples(prefix, v, n);
	snprintf(k, sizeof(k), "%s_p50_ms", prefix);
	out(k, "%.4f", pct_ms(v, n, 0.50));
	snprintf(k, sizeof(k), "%s_p99_ms", prefix);
	out(k, "%.4f", pct_ms(v, n, 0.99));
}

/* ------------------------------------------------------------ output */

void out(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------ sockets */

int set_nb(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void tune_tcp(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* 0, or -1 on error, EOF or timeout (errno ETIMEDOUT; EOF: ECONNRESET). */
int read_full(int fd, void *buf, size_t n, int timeout_ms)
{
	uint8_t *p = buf;
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000u;

	while (n > 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t t = now_ns();
		ssize_t r;

		if (t >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)((end - t) / 1000000u) + 1);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		r = read(fd, p, n);
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int write_full(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { fd, POLLOUT, 0 };

				poll(&pfd, 1, 1000);
				continue;
			}
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ------------------------------------------------------------ SOCKS5 */

size_t socks_greeting(uint8_t *b)
{
	b[0] = 5; /* version */
	b[1] = 1; /* one method: */
	b[2] = 0; /* no authentication */
	return 3;
}

size_t socks_request(uint8_t *b, uint8_t cmd, const struct sockaddr_in *a)
{
	b[0] = 5;
	b[1] = cmd;
	b[2] = 0;
	b[3] = 1; /* IPv4 */
	memcpy(b + 4, &a->sin_addr, 4);
	memcpy(b + 8, &a->sin_port, 2);
	return 10;
}

int socks_reply_len(const uint8_t *b, size_t n)
{
	if (n >= 1 && b[0] != 5)
		return -1;
	if (n < 5)
		return 0;
	switch (b[3]) {
	case 1:
		return n >= 10 ? 10 : 0;
	case 4:
		return n >= 22 ? 22 : 0;
	case 3:
		return n >= (size_t)7 + b[4] ? 7 + b[4] : 0;
	default:
		return -1;
	}
}

/* Connects FD to A within TIMEOUT_MS (FD blocking before and after). */
static int connect_to(int fd, const struct sockaddr_in *a, int timeout_ms)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	int err = 0;
	socklen_t len = sizeof(err);

	set_nb(fd);
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	if (poll(&pfd, 1, timeout_ms) != 1) {
		errno = ETIMEDOUT;
		return -1;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		errno = err;
		return -1;
	}
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

/* The SOCKS5 exchange on a connected FD, a client that waits for each
 * answer (as curl and browsers do). Fills REPLY's bound address. */
static int socks_handshake(int fd, uint8_t cmd, const struct sockaddr_in *dst,
			   struct sockaddr_in *bound, int timeout_ms)
{
	uint8_t b[300];
	size_t n;
	int len;

	n = socks_greeting(b);
	if (write_full(fd, b, n) < 0 || read_full(fd, b, 2, timeout_ms) < 0)
		return -1;
	if (b[0] != 5 || b[1] != 0) {
		warnx_("SOCKS5 server refused method 'no auth' (%u %u)", b[0],
		       b[1]);
		return -1;
	}
	n = socks_request(b, cmd, dst);
	if (write_full(fd, b, n) < 0)
		return -1;
	for (n = 0, len = 0; len == 0; n++) {
		if (read_full(fd, b + n, 1, timeout_ms) < 0)
			return -1;
		len = socks_reply_len(b, n + 1);
	}
	if (len < 0 || b[1] != 0) {
		warnx_("SOCKS5 reply code %u", b[1]);
		return -1;
	}
	if (bound) {
		memset(bound, 0, sizeof(*bound));
		bound->sin_family = AF_INET;
		if (b[3] == 1) {
			memcpy(&bound->sin_addr, b + 4, 4);
			memcpy(&bound->sin_port, b + 8, 2);
		}
	}
	return 0;
}

/* The control connection of a UDP association; fills RELAY. */
int socks_udp_associate(const struct lg_opts *o, struct sockaddr_in *relay)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect_to(fd, &o->socks, 5000) < 0 ||
	    socks_handshake(fd, 3, &any, relay, 5000) < 0) {
		warnx_("UDP ASSOCIATE: %s", strerror(errno));
		close(fd);
		return -1;
	}
	tune_tcp(fd);
	/* A relay on 0.0.0.0 is reached at the SOCKS server's address. */
	if (relay->sin_addr.s_addr == htonl(INADDR_ANY))
		relay->sin_addr = o->socks.sin_addr;
	return fd;
}

int flow_open(const struct lg_opts *o, char mode, int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		warnx_("socket: %s", strerror(errno));
		return -1;
	}
	tune_tcp(fd);
	if (o->use_socks) {
		if (connect_to(fd, &o->socks, timeout_ms) < 0 ||
		    socks_handshake(fd, 1, &o->tcp, NULL, timeout_ms) < 0)
			goto fail;
	} else if (connect_to(fd, &o->tcp, timeout_ms) < 0) {
		goto fail;
	}
	if (write_full(fd, &mode, 1) < 0)
		goto fail;
	return fd;
fail:
	warnx_("flow to the target: %s", strerror(errno));
	close(fd);
	return -1;
}

/* ------------------------------------------------------------ options */

static int parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *c = strrchr(s, ':');

	if (!c || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = 0;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static void usage(void)
{
	fputs("usage: loadgen MODE [options]\n"
	      "modes: serve delay dl ul ttfb pingpong idle load udprtt udprate\n"
	      "       hold newflow hello\n"
	      "  --socks IP:PORT|none  SOCKS5 server (none: direct)\n"
	      "  --tcp IP:PORT --udp IP:PORT  targets (serve: listen)\n"
	      "  --ns /run/netns/NAME --ms N   delay line to that namespace\n"
	      "  --dev NAME --drop FRACTION --seed N --mbit N --queue PACKETS\n"
	      "                        delay: devices NAME0/NAME1, random loss,\n"
	      "                        bottleneck rate and its queue\n"
	      "  --seconds S --warmup S --flows N --count N --conc N\n"
	      "  --size BYTES --interval-ms N --loss FRACTION\n"
	      "  --steps N,N,...       idle: flow counts to stop at\n"
	      "  --bytes N --rate BYTES/S  hold: download length, pace\n"
	      "  --timeout-ms N        newflow: each attempt's bound\n"
	      "  --hello FILE          hello: the ClientHello to replay\n",
	      stderr);
	exit(2);
}

static void parse_steps(struct lg_opts *o, char *s)
{
	char *tok, *save = NULL;

	o->nsteps = 0;
	for (tok = strtok_r(s, ",", &save); tok && o->nsteps < 8;
	     tok = strtok_r(NULL, ",", &save))
		o->steps[o->nsteps++] = atoi(tok);
}

static void parse_opts(struct lg_opts *o, int argc, char **argv)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(k, "--socks")) {
			o->use_socks = strcmp(v, "none") != 0;
			if (o->use_socks && parse_addr(v, &o->socks) < 0)
				usage();
		} else if (!strcmp(k, "--tcp")) {
			if (parse_addr(v, &o->tcp) < 0)
				usage();
		} else if (!strcmp(k, "--udp")) {
			if (parse_addr(v, &o->udp) < 0)
				usage();
		} else if (!strcmp(k, "--ns")) {
			o->ns = v;
		} else if (!strcmp(k, "--seconds")) {
			o->seconds = atof(v);
		} else if (!strcmp(k, "--warmup")) {
			o->warmup = atof(v);
		} else if (!strcmp(k, "--ms")) {
			o->delay_ms = atof(v);
		} else if (!strcmp(k, "--interval-ms")) {
			o->interval_ms = atof(v);
			o->interval_set = 1;
		} else if (!strcmp(k, "--dev")) {
			o->dev = v;
		} else if (!strcmp(k, "--drop")) {
			o->drop = atof(v);
		} else if (!strcmp(k, "--seed")) {
			o->seed = strtoull(v, NULL, 0);
		} else if (!strcmp(k, "--mbit")) {
			o->mbit = atof(v);
		} else if (!strcmp(k, "--queue")) {
			o->queue = atoi(v);
		} else if (!strcmp(k, "--loss")) {
			o->max_loss = atof(v);
		} else if (!strcmp(k, "--flows")) {
			o->flows = atoi(v);
		} else if (!strcmp(k, "--count")) {
			o->count = atoi(v);
		} else if (!strcmp(k, "--conc")) {
			o->conc = atoi(v);
		} else if (!strcmp(k, "--size")) {
			o->size = atoi(v);
		} else if (!strcmp(k, "--bytes")) {
			o->bytes = strtoull(v, NULL, 0);
		} else if (!strcmp(k, "--rate")) {
			o->rate = atof(v);
		} else if (!strcmp(k, "--timeout-ms")) {
			o->timeout_ms = atoi(v);
		} else if (!strcmp(k, "--hello")) {
			o->hello = v;
		} else if (!strcmp(k, "--steps")) {
			parse_steps(o, argv[i]);
		} else {
			usage();
		}
	}
	if (o->flows < 1)
		o->flows = 1;
	if (o->flows > 256)
		o->flows = 256;
	if (o->conc < 1)
		o->conc = 1;
	if (o->conc > LG_MAX_FLOWS)
		o->conc = LG_MAX_FLOWS;
	if (o->size < 16)
		o->size = 16;
	if (o->size > 8192)
		o->size = 8192;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct lg_opts *);
	} modes[] = {
		{ "serve", mode_serve },   { "delay", mode_delay },
		{ "dl", mode_dl },         { "ul", mode_ul },
		{ "ttfb", mode_ttfb },     { "pingpong", mode_pingpong },
		{ "idle", mode_idle },     { "load", mode_load },
		{ "udprtt", mode_udprtt }, { "udprate", mode_udprate },
		{ "hold", mode_hold },     { "newflow", mode_newflow },
		{ "hello", mode_hello },
	};
	struct lg_opts o = {
		.use_socks = 0,
		.seconds = 4,
		.warmup = 0.5,
		.interval_ms = 5,
		.delay_ms = 10,
		.max_loss = 0.01,
		.flows = 1,
		.count = 1000,
		.conc = 1,
		.size = 64,
		.bytes = 64u << 20,
		.timeout_ms = 2000,
	};
	size_t i;

	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	parse_opts(&o, argc, argv);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(argv[1], modes[i].name) != 0)
			continue;
		return modes[i].fn(&o);
	}
	usage();
	return 2;
}
