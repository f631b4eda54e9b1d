/*
 * loadgen: the benchmark's load tool (tests/bench/run.sh builds and runs it).
 *
 * It speaks SOCKS5 itself (CONNECT and UDP ASSOCIATE, no auth) and also
 * plays the targets the flows go to, so the bench needs nothing but a C
 * compiler. Results are printed as "key value" lines on stdout; errors and
 * progress go to stderr.
 *
 *   loadgen.c       options, timing, statistics, SOCKS5 client, main()
 *   loadgen_tcp.c   dl, ul, ttfb, pingpong, idle, load (TCP side)
 *   loadgen_udp.c   udprtt, udprate, UDP paths through SOCKS5 or direct
 *   loadgen_serve.c serve (TCP source/sink/echo + UDP echo)
 *   loadgen_delay.c delay: a link between namespaces (delay, loss, rate)
 *   loadgen_outage.c hold, newflow: a download and new flows across an
 *                   outage of the link
 *   loadgen_hello.c hello: TLS server flights a second (a server's
 *                   handshake capacity, against a replayed ClientHello)
 *
 * Target protocol (TCP): the first byte a client sends picks the mode.
 *   'E'  echo: everything received, this byte included, is sent back.
 *   'D'  download: the target sends without end until the flow closes.
 *   'P'  pattern download: as 'D', but byte i of the stream is byte i % 8
 *        of pattern_word(i / 8), so that the reader can check every byte
 *        (one lost, repeated or out of place changes what follows).
 *   'U'  upload: the target discards what it reads and, at most every
 *        100 ms while data arrives, sends a 16-byte report: bytes read so
 *        far and its CLOCK_MONOTONIC time in ns (both u64 big-endian). The
 *        clock is shared by every network namespace of the host, so the
 *        upload rate is measured where the bytes arrive, and no proxy has
 *        to support half-close.
 * UDP: every datagram is echoed to its source unchanged.
 */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define LG_MAX_FLOWS 20000

struct lg_opts {
	int use_socks;            /* 0: the no-proxy path */
	struct sockaddr_in socks; /* SOCKS5 server */
	struct sockaddr_in tcp;   /* TCP target (serve: listen) */
	struct sockaddr_in udp;   /* UDP target (serve: listen) */
	const char *ns;           /* delay: the other namespace */
	const char *dev;          /* delay: TUN names' prefix */
	double drop;              /* delay: random loss, fraction */
	double mbit;              /* delay: bottleneck rate, 0: none */
	int queue;                /* delay: bottleneck queue, packets */
	unsigned long long seed;  /* delay: of the loss */
	double seconds;           /* measuring time (hold, newflow: the
	                           * time allowed after the link's return) */
	double warmup;            /* not counted, before measuring */
	double interval_ms;       /* load, udprtt: probe interval */
	int interval_set;         /* udprtt: --interval-ms given */
	double delay_ms;          /* delay: one-way delay */
	double max_loss;          /* udprate: loss allowed, fraction */
	int flows;                /* dl, ul: parallel flows */
	int count;                /* ttfb, pingpong, udprtt: at most */
	int conc;                 /* ttfb, idle: flows opened at once */
	int size;                 /* udp: payload bytes */
	uint64_t bytes;           /* hold: length of the download */
	double rate;              /* hold: bytes/s read until the cut */
	int timeout_ms;           /* newflow: each attempt's bound */
	const char *hello;        /* hello: file holding a ClientHello */
	int steps[8];             /* idle: flow counts to stop at */
	int nsteps;
};

/* Time. */
uint64_t now_ns(void);
double ns_ms(uint64_t ns);
void sleep_ns(uint64_t ns);

/* The 'P' stream: word K of it (little-endian), and bytes [OFF, OFF + N). */
uint64_t pattern_word(uint64_t k);
void pattern_fill(uint8_t *b, uint64_t off, size_t n);

/* Statistics over samples in ns: sorts them. Nearest-rank percentile. */
double pct_ms(uint64_t *v, size_t n, double p);
void print_pcts(const char *prefix, uint64_t *v, size_t n);

/* Output: "key value\n" on stdout, flushed. */
void out(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sockets. */
int set_nb(int fd);
void tune_tcp(int fd);
int read_full(int fd, void *buf, size_t n, int timeout_ms);
int write_full(int fd, const void *buf, size_t n);

/*
 * A TCP flow to o->tcp carrying MODE as its first byte, through the SOCKS5
 * server or directly. Blocking; returns the fd or -1 (message on stderr).
 */
int flow_open(const struct lg_opts *o, char mode, int timeout_ms);
/* The control connection of a UDP ASSOCIATE; fills RELAY. fd or -1. */
int socks_udp_associate(const struct lg_opts *o, struct sockaddr_in *relay);

/* SOCKS5 wire format. */
size_t socks_greeting(uint8_t *b);
size_t socks_request(uint8_t *b, uint8_t cmd, const struct sockaddr_in *a);
/* Length of a complete reply in b[0..n), 0 when more is needed, -1 bad. */
int socks_reply_len(const uint8_t *b, size_t n);

/* Modes. Each returns the process exit status. */
int mode_dl(const struct lg_opts *o);
int mode_ul(const struct lg_opts *o);
int mode_ttfb(const struct lg_opts *o);
int mode_pingpong(const struct lg_opts *o);
int mode_idle(const struct lg_opts *o);
int mode_load(const struct lg_opts *o);
int mode_udprtt(const struct lg_opts *o);
int mode_udprate(const struct lg_opts *o);
int mode_serve(const struct lg_opts *o);
int mode_delay(const struct lg_opts *o);
int mode_hold(const struct lg_opts *o);
int mode_newflow(const struct lg_opts *o);
int mode_hello(const struct lg_opts *o);

/* UDP through a SOCKS5 association or directly (loadgen_udp.c). */
struct udp_path {
	int fd;  /* connected to the relay or the target */
	int ctl; /* SOCKS5 control connection, or -1 */
	int socks;
	struct sockaddr_in dst; /* the UDP target */
};

int udp_path_open(struct udp_path *p, const struct lg_opts *o);
void udp_path_close(struct udp_path *p);
/* Header bytes put before each payload (10 through SOCKS5, 0 direct). */
size_t udp_path_hdr(const struct udp_path *p, uint8_t *b);
/* Payload of a received datagram: offset into b, or -1 when malformed. */
int udp_path_payload(const struct udp_path *p, const uint8_t *b, size_t n);
/* Round trips every --interval-ms until END; samples in LAT (at most CAP,
 * count in *N). Returns how many probes got no answer. */
long udp_probe(struct udp_path *p, const struct lg_opts *o, uint64_t end,
	       uint64_t *lat, size_t cap, size_t *n);

#endif
