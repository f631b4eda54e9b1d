/* The datagram path of one tunnel: see dpath.h. */
#include "dpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dgram.h"
#include "dseal.h"
#include "log.h"
#include "status.h"
#include "tls.h"
#include "util.h"

/* Client probes: the first few close together so that a path that
 * works is used within a second; while up, one per PROBE_BUSY while
 * datagrams flow (so a dead path is noticed within DPATH_SILENCE of the
 * last packet heard), one per PROBE_IDLE otherwise (it keeps NAT
 * mappings open); while down, one per PROBE_DOWN, then PROBE_DOWN_LONG
 * after PROBE_DOWN_N of them. Every rate is bounded. */
#define PROBE_FIRST 0.2
#define PROBE_FIRST_N 5
#define PROBE_BUSY 0.5
#define PROBE_IDLE 2.5
#define IDLE_AFTER 10.0
#define PROBE_DOWN 1.0
#define PROBE_DOWN_N 30
#define PROBE_DOWN_LONG 5.0
/* Unanswered probes before a path never seen up is reported as
 * blocked (once). */
#define PROBES_BEFORE_BLOCKED 8
/* udp-path auto: the path carries datagrams while the tunnel's
 * connection has lost a segment (either way) within this many seconds.
 * On a path that loses nothing, the connection holds no datagram back,
 * and inside TLS many of them share a TCP segment and a write(): sent
 * one UDP packet each, a 64-byte datagram costs both hosts a trip
 * through the kernel's network stack more (one run on two loopback
 * namespaces: 55,000 datagrams/s by UDP against 78,000 inside TLS, and
 * a third more delay beside a download). Loss on a Wi-Fi or a busy
 * uplink comes and goes, so the path stays in use a while. */
#define LOSS_MEMORY 60.0

enum dpath_cstate { DP_PROBING, DP_UP, DP_DOWN };

struct dpath {
	struct tunnel *t;
	struct ev_loop *loop;
	int is_server;
	struct dseal seal;
	struct dpath_stats st;
	int busy;   /* inside one of its callbacks */
	int doomed; /* freed meanwhile: free once out of it */

	/* client */
	int fd;
	ev_io io;
	ev_timer tick;
	struct dgram_batch *in;
	enum dpath_cstate cs;
	ev_tstamp next_probe;
	ev_tstamp unanswered;  /* first probe sent since last heard, or 0 */
	ev_tstamp last_use;    /* a datagram went or came by UDP */
	unsigned quiet_probes; /* sent since last heard */
	int said_blocked;
	int in_use; /* UDP_PATH 1 said: datagrams go by UDP */
	double rtt;

	/* server */
	struct idmap *reg;
	uint32_t key;
	int peer_on; /* the client's UDP_PATH */
	int peer_fd; /* the socket its newest packet came to */
	uint8_t peer_ctl[DPATH_CTL_MAX]; /* sends from where it came to */
	size_t peer_ctl_len;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	ev_tstamp last_heard; /* an authentic packet came by UDP */
};

/* One packet at a time, synchronously: scratch space for all paths of
 * a thread (the server's workers each have theirs). */
static _Thread_local uint8_t rx_plain[DPKT_MAX_PLAIN];

uint32_t dpath_key(const uint8_t id[DPKT_ID_LEN])
{
	uint32_t k = get_be32(id) ^ get_be32(id + 4);

	return k ? k : 1;
}

uint32_t dpath_reg_key(const struct dpath *d)
{
	return d->key;
}

static int keys(struct dpath *d, char *err, size_t n)
{
	uint8_t m[DSEAL_MATERIAL_LEN];
	int rc;

	if (tls_export(tunnel_tls(d->t), DSEAL_LABEL, m, sizeof(m))) {
		snprintf(err, n, "no keys from the TLS session");
		return -1;
	}
	rc = dseal_init(&d->seal, m, d->is_server);
	OPENSSL_cleanse(m, sizeof(m));
	if (rc) {
		snprintf(err, n, "%s", dseal_strerror(rc));
		return -1;
	}
	return 0;
}

static void txq_flush(void);

static void really_free(struct dpath *d)
{
	dseal_free(&d->seal);
	dgram_batch_free(d->in);
	free(d);
}

void dpath_free(struct dpath *d)
{
	if (!d || d->doomed)
		return;
	d->doomed = 1;
	txq_flush(); /* its packets still queued go; none points at it then */
	if (d->is_server) {
		if (d->reg && idmap_get(d->reg, d->key) == d)
			idmap_del(d->reg, d->key);
	} else {
		ev_io_stop(d->loop, &d->io);
		ev_timer_stop(d->loop, &d->tick);
		if (d->fd >= 0)
			close(d->fd);
		d->fd = -1;
	}
	if (!d->busy)
		really_free(d);
}

static void enter(struct dpath *d)
{
	d->busy++;
}

/* 1 when the path was freed meanwhile (and is gone now). */
static int leave(struct dpath *d)
{
	if (--d->busy || !d->doomed)
		return d->doomed;
	really_free(d);
	return 1;
}

/* ---- sending ---- */

/* Sealed packets wait in one queue per thread (one event loop each: the
 * client's, a server worker's) and leave together just before the loop
 * sleeps:
 * one sendmmsg() for all that a batch of reads produced. A system call
 * per datagram each way (the TLS path writes one record for many) cut
 * the datagrams a tunnel carried per second in half on a clean link. */
#define TXQ_MAX 32
#define TXQ_BYTES (64u << 10)

static _Thread_local struct {
	struct ev_loop *loop;
	ev_prepare prep;
	int n;
	size_t used;
	struct dpath *owner[TXQ_MAX];
	int fd[TXQ_MAX];
	struct mmsghdr m[TXQ_MAX];
	struct iovec iov[TXQ_MAX];
	struct sockaddr_storage name[TXQ_MAX];
	uint8_t ctl[TXQ_MAX][DPATH_CTL_MAX];
	uint8_t buf[TXQ_BYTES];
} txq;

/* Packets [i, j) all go to one socket. A full buffer loses the rest of
 * them, as UDP may; any other error (ICMP unreachable, no route) loses
 * one, and the probes will notice. */
static void txq_send_run(int i, int j)
{
	while (i < j) {
		int sent = sendmmsg(txq.fd[i], txq.m + i, (unsigned)(j - i),
				    MSG_DONTWAIT);

		if (sent > 0) {
			for (int k = i; k < i + sent; k++)
				txq.owner[k]->st.tx_pkts++;
			i += sent;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS) {
			for (; i < j; i++)
				txq.owner[i]->st.send_errors++;
			return;
		}
		txq.owner[i++]->st.send_errors++;
	}
}

static void txq_flush(void)
{
	int i = 0;

	while (i < txq.n) {
		int j = i + 1;

		while (j < txq.n && txq.fd[j] == txq.fd[i])
			j++;
		txq_send_run(i, j);
		i = j;
	}
	txq.n = 0;
	txq.used = 0;
	if (txq.loop)
		ev_prepare_stop(txq.loop, &txq.prep);
}

static void txq_prep_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	txq_flush();
}

/* Seals and queues: the client's for its connected socket, the server's
 * to where a packet came from (to NULL: the client's newest packet),
 * from the address it came to. */
static int put_to(struct dpath *d, const struct dpath_from *to, uint8_t kind,
		  const uint8_t *body, size_t n)
{
	struct msghdr *m;
	int i, len;

	if (txq.loop != d->loop) {
		txq_flush();
		txq.loop = d->loop;
		ev_prepare_init(&txq.prep, txq_prep_cb);
	}
	if (txq.n == TXQ_MAX ||
	    TXQ_BYTES - txq.used < DPKT_HDR_LEN + 1 + n + DPKT_TAG_LEN)
		txq_flush();
	i = txq.n;
	len = dseal_seal(&d->seal, kind, body, n, txq.buf + txq.used,
			 TXQ_BYTES - txq.used);
	if (len < 0) {
		d->st.send_errors++;
		return len;
	}
	m = &txq.m[i].msg_hdr;
	memset(m, 0, sizeof(*m));
	txq.iov[i].iov_base = txq.buf + txq.used;
	txq.iov[i].iov_len = (size_t)len;
	m->msg_iov = &txq.iov[i];
	m->msg_iovlen = 1;
	if (!d->is_server) {
		txq.fd[i] = d->fd;
	} else {
		const struct sockaddr *a = to ? to->addr : (void *)&d->peer;
		socklen_t alen = to ? to->addr_len : d->peer_len;
		const void *c = to ? to->ctl : d->peer_ctl;
		size_t clen = to ? to->ctl_len : d->peer_ctl_len;

		if (alen > sizeof(txq.name[i]) || clen > DPATH_CTL_MAX) {
			d->st.send_errors++;
			return -EINVAL;
		}
		txq.fd[i] = to ? to->fd : d->peer_fd;
		memcpy(&txq.name[i], a, alen);
		m->msg_name = &txq.name[i];
		m->msg_namelen = alen;
		if (clen) {
			memcpy(txq.ctl[i], c, clen);
			m->msg_control = txq.ctl[i];
			m->msg_controllen = clen;
		}
	}
	txq.owner[i] = d;
	txq.used += (size_t)len;
	txq.n++;
	if (txq.n == TXQ_MAX)
		txq_flush();
	else
		ev_prepare_start(txq.loop, &txq.prep);
	return 0;
}

static int put(struct dpath *d, uint8_t kind, const uint8_t *body, size_t n)
{
	return put_to(d, NULL, kind, body, n);
}

static int server_sends(const struct dpath *d)
{
	return d->peer_on && d->peer_len &&
	       ev_now(d->loop) - d->last_heard < DPATH_SERVER_SILENCE;
}

static void send_probe(struct dpath *d);
static void rearm(struct dpath *d);
static void settle(struct dpath *d, int say);

int dpath_send(struct dpath *d, const uint8_t *frame, size_t len)
{
	ev_tstamp now = ev_now(d->loop);

	if (!d->is_server && !d->doomed)
		settle(d, 1);
	if (d->doomed || (d->is_server ? !server_sends(d) : !d->in_use)) {
		d->st.tls_dgrams++;
		return -1;
	}
	if (!d->is_server) {
		int was_idle = now - d->last_use >= IDLE_AFTER;

		d->last_use = now;
		/* back from idle: probe now, so a path that died meanwhile
		 * is noticed within DPATH_SILENCE */
		if (was_idle && !d->unanswered) {
			send_probe(d);
			rearm(d);
		}
	}
	if (put(d, DPKT_FRAME, frame, len) == 0)
		d->st.tx_dgrams++;
	return 0;
}

/* ---- client: probing ---- */

static void udp_path_frame(struct dpath *d, int on)
{
	uint8_t b[FRAME_HDR_LEN + 1];

	frame_code(b, sizeof(b), FRAME_UDP_PATH, 0, (uint8_t)on);
	tunnel_send(d->t, b, sizeof(b));
}

static ev_tstamp probe_interval(const struct dpath *d)
{
	switch (d->cs) {
	case DP_UP:
		return ev_now(d->loop) - d->last_use < IDLE_AFTER ? PROBE_BUSY :
								    PROBE_IDLE;
	case DP_PROBING:
		return d->st.probes < PROBE_FIRST_N ? PROBE_FIRST : PROBE_DOWN;
	default:
		return d->quiet_probes < PROBE_DOWN_N ? PROBE_DOWN :
							PROBE_DOWN_LONG;
	}
}

static void send_probe(struct dpath *d)
{
	ev_tstamp now = ev_now(d->loop), sent = ev_time();
	uint8_t op[DPKT_PROBE_LEN];

	memcpy(op, &sent, sizeof(op));
	put(d, DPKT_PROBE, op, sizeof(op));
	d->st.probes++;
	d->quiet_probes++;
	if (!d->unanswered)
		d->unanswered = now;
	d->next_probe = now + probe_interval(d);
}

/* Whether datagrams should go by UDP now (client). */
static int wanted(struct dpath *d)
{
	double age;

	if (d->cs != DP_UP)
		return 0;
	if (tunnel_params(d->t)->udp_path == UDP_PATH_ALWAYS)
		return 1;
	age = tunnel_path_loss_age(d->t);
	return age >= 0 && age < LOSS_MEMORY;
}

/* Start or stop using the path as wanted() says, and tell the server;
 * say: log it (go_up() and go_down() say it their way). */
static void settle(struct dpath *d, int say)
{
	int on = wanted(d);

	if (on == d->in_use)
		return;
	d->in_use = on;
	udp_path_frame(d, on);
	if (!say)
		return;
	if (on) {
		log_info("%s: datagram path: the connection is losing packets: "
			 "datagrams go by UDP",
			 tunnel_name(d->t));
		/* unused, it was probed only now and then: a path that died
		 * meanwhile is noticed within DPATH_SILENCE */
		if (!d->unanswered) {
			send_probe(d);
			rearm(d);
		}
	} else {
		log_info("%s: datagram path: no packet lost for %.0f s: "
			 "datagrams go inside TLS",
			 tunnel_name(d->t), LOSS_MEMORY);
	}
}

static void go_down(struct dpath *d, const char *why)
{
	int was_used = d->in_use;

	d->cs = DP_DOWN;
	d->st.fallbacks++;
	d->quiet_probes = 0;
	if (was_used)
		log_warn("%s: datagram path: %s: datagrams go inside TLS "
			 "again",
			 tunnel_name(d->t), why);
	else
		log_info("%s: datagram path: %s (it was not in use)",
			 tunnel_name(d->t), why);
	settle(d, 0);
}

static void go_up(struct dpath *d)
{
	int again = d->cs == DP_DOWN;
	const char *use;

	d->cs = DP_UP;
	use = wanted(d) ? "datagrams go by UDP" :
			  "used while the connection loses packets";
	if (again)
		d->st.recoveries++;
	if (again || d->said_blocked)
		log_info("%s: datagram path: UDP gets through again: %s",
			 tunnel_name(d->t), use);
	else
		log_info("%s: datagram path: UDP reaches the server both ways "
			 "(%.1f ms): %s",
			 tunnel_name(d->t), d->rtt * 1000, use);
	d->said_blocked = 0;
	settle(d, 0);
}

/* An answer to a probe takes a round trip: one unanswered for
 * PROBE_WAIT (or 3 round trips on a long path) is overdue. */
#define PROBE_WAIT 1.0

/* Up, when UDP counts as stopped: nothing heard by UDP for
 * DPATH_SILENCE and a probe overdue. On a busy path (a probe every
 * PROBE_BUSY) that is DPATH_SILENCE after the last packet came. */
static ev_tstamp dead_at(const struct dpath *d)
{
	ev_tstamp wait = MAX(PROBE_WAIT, 3 * d->rtt);

	return MAX(d->last_heard + MAX(DPATH_SILENCE, wait),
		   d->unanswered + wait);
}

static void rearm(struct dpath *d)
{
	ev_tstamp at = d->next_probe;

	if (d->cs == DP_UP && d->unanswered)
		at = MIN(at, dead_at(d));
	ev_timer_stop(d->loop, &d->tick);
	ev_timer_set(&d->tick, MAX(at - ev_now(d->loop), 0.001), 0.);
	ev_timer_start(d->loop, &d->tick);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dpath *d = container_of(w, struct dpath, tick);
	ev_tstamp now = ev_now(loop);
	char why[64];

	if (d->cs == DP_UP && d->unanswered && now >= dead_at(d)) {
		snprintf(why, sizeof(why), "no answer by UDP for %.1f s",
			 now - d->last_heard);
		go_down(d, why);
		d->next_probe = now; /* and go on probing at the down rate */
	}
	if (d->cs == DP_PROBING && !d->said_blocked &&
	    d->quiet_probes >= PROBES_BEFORE_BLOCKED) {
		log_info("%s: datagram path: no answer by UDP (blocked on "
			 "the way?): datagrams stay inside TLS; probing on",
			 tunnel_name(d->t));
		d->said_blocked = 1;
	}
	if (now >= d->next_probe)
		send_probe(d);
	settle(d, 1);
	rearm(d);
}

/* ---- receiving ---- */

static void got_frame(struct dpath *d, const struct frame *f)
{
	d->st.rx_dgrams++;
	if (!d->is_server)
		d->last_use = ev_now(d->loop);
	tunnel_input_udp(d->t, f);
}

/* An authentic packet for us: 0, or a dpkt_err (counted). from: where
 * it came from (server), or NULL. */
static int got_plain(struct dpath *d, size_t n, const struct dpath_from *from)
{
	struct frame f;
	uint8_t kind;
	int rc = dpkt_parse_plain(rx_plain, n, &kind, &f);

	if (!rc && kind == (d->is_server ? DPKT_PROBE_ACK : DPKT_PROBE))
		rc = DPKT_ERR_KIND; /* only the other side sends those */
	if (rc) {
		d->st.drop_bad++;
		return rc;
	}
	d->st.rx_pkts++;
	switch (kind) {
	case DPKT_PROBE: /* server: answered where it came from */
		d->st.probes++;
		d->st.acks++;
		put_to(d, from, DPKT_PROBE_ACK, rx_plain + 1, DPKT_PROBE_LEN);
		return 0;
	case DPKT_PROBE_ACK: { /* client */
		ev_tstamp sent;

		memcpy(&sent, rx_plain + 1, sizeof(sent));
		d->st.acks++;
		if (ev_time() - sent >= 0 && ev_time() - sent < 60)
			d->rtt = ev_time() - sent;
		return 0;
	}
	default:
		got_frame(d, &f);
		return 0;
	}
}

/* The plaintext's length (in rx_plain), or an error (counted). */
static int open_pkt(struct dpath *d, const uint8_t *pkt, size_t n, int *newest)
{
	int rc = dseal_open(&d->seal, pkt, n, rx_plain, newest);

	if (rc == DSEAL_ERR_REPLAY)
		d->st.drop_replay++;
	else if (rc == DSEAL_ERR_AUTH)
		d->st.drop_auth++;
	else if (rc < 0)
		d->st.drop_bad++;
	return rc;
}

/* The server's place to answer: the client's newest packet's. */
static void remember_peer(struct dpath *d, const struct dpath_from *from)
{
	if (from->addr_len > sizeof(d->peer) ||
	    from->ctl_len > sizeof(d->peer_ctl))
		return;
	if (d->peer_len && (from->addr_len != d->peer_len ||
			    memcmp(&d->peer, from->addr, from->addr_len)))
		log_debug("%s: datagram path: the client moved",
			  tunnel_name(d->t));
	memcpy(&d->peer, from->addr, from->addr_len);
	d->peer_len = from->addr_len;
	memcpy(d->peer_ctl, from->ctl, from->ctl_len);
	d->peer_ctl_len = from->ctl_len;
	d->peer_fd = from->fd;
}

int dpath_input(struct dpath *d, const struct dpath_from *from,
		const uint8_t *pkt, size_t n)
{
	int newest, rc;

	if (d->doomed)
		return DSEAL_ERR_ID;
	rc = open_pkt(d, pkt, n, &newest);
	if (rc < 0)
		return rc;
	d->last_heard = ev_now(d->loop);
	/* the client's address is that of its newest packet: a delayed
	 * older one cannot move it (and a replayed one never gets here) */
	if (newest)
		remember_peer(d, from);
	enter(d);
	rc = got_plain(d, (size_t)rc, from);
	leave(d);
	return rc;
}

static int client_packet(void *arg, const struct dgram *g)
{
	struct dpath *d = arg;
	int newest, rc = open_pkt(d, g->data, g->len, &newest);

	if (rc < 0)
		return 0;
	d->unanswered = 0;
	d->quiet_probes = 0;
	d->last_heard = ev_now(d->loop);
	if (got_plain(d, (size_t)rc, NULL))
		return d->doomed;
	if (d->cs != DP_UP && !d->doomed)
		go_up(d);
	return d->doomed;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dpath *d = container_of(w, struct dpath, io);

	enter(d);
	dgram_each(d->in, d->fd, client_packet, d);
	if (leave(d))
		return;
	rearm(d);
}

/* ---- setup ---- */

static struct dpath *dpath_new(struct tunnel *t, int is_server)
{
	struct dpath *d = xcalloc(1, sizeof(*d));

	d->t = t;
	d->loop = tunnel_loop(t);
	d->is_server = is_server;
	d->fd = -1;
	d->peer_fd = -1;
	return d;
}

struct dpath *dpath_client(struct tunnel *t, unsigned mark, char *err, size_t n)
{
	struct dpath *d = dpath_new(t, 0);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (keys(d, err, n))
		goto fail;
	if (tunnel_peer_sockaddr(t, &ss, &len)) {
		snprintf(err, n, "server address: %s", strerror(errno));
		goto fail;
	}
	d->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	/* marked as the tunnel's TCP socket is: transparent-mode rules
	 * let both pass instead of looping them into the client */
	if (d->fd >= 0 && mark)
		setsockopt(d->fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (d->fd >= 0)
		setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &(int){ DPATH_RCVBUF },
			   sizeof(int));
	if (d->fd < 0 || connect(d->fd, (struct sockaddr *)&ss, len)) {
		snprintf(err, n, "UDP socket: %s", strerror(errno));
		goto fail;
	}
	d->in = dgram_batch_new(0, DPKT_MAX_LEN, 0);
	ev_io_init(&d->io, io_cb, d->fd, EV_READ);
	ev_io_start(d->loop, &d->io);
	ev_init(&d->tick, tick_cb);
	d->cs = DP_PROBING;
	send_probe(d);
	rearm(d);
	return d;
fail:
	dpath_free(d);
	return NULL;
}

struct dpath *dpath_server(struct tunnel *t, struct idmap *reg, char *err,
			   size_t n)
{
	struct dpath *d = dpath_new(t, 1);

	if (keys(d, err, n))
		goto fail;
	d->key = dpath_key(d->seal.id);
	if (idmap_get(reg, d->key)) {
		snprintf(err, n, "tunnel id in use (1 in 2^32 chance)");
		goto fail;
	}
	d->reg = reg;
	idmap_put(reg, d->key, d);
	return d;
fail:
	dpath_free(d);
	return NULL;
}

void dpath_peer_mode(struct dpath *d, int on)
{
	if (!d->is_server || d->peer_on == on)
		return;
	d->peer_on = on;
	if (on)
		d->st.recoveries += d->st.fallbacks > 0;
	else
		d->st.fallbacks++;
	log_debug("%s: datagram path: the client asks for its datagrams %s",
		  tunnel_name(d->t), on ? "by UDP" : "inside TLS");
}

/* ---- status ---- */

const char *dpath_state(const struct dpath *d)
{
	static const char *const names[] = {
		[DP_PROBING] = "probing",
		[DP_UP] = "up",
		[DP_DOWN] = "down",
	};

	if (d->is_server)
		return server_sends(d) ? "udp" : "tls";
	if (d->cs == DP_UP && !d->in_use)
		return "standby";
	return names[d->cs];
}

const struct dpath_stats *dpath_stats(const struct dpath *d)
{
	return &d->st;
}

void dpath_status(const struct dpath *d, struct buf *b, int json)
{
	const struct dpath_stats *s = &d->st;

	if (json) {
		status_printf(
			b,
			"\"udp_path\":{\"state\":\"%s\",\"rtt_ms\":%.3f,"
			"\"tx_packets\":%llu,\"rx_packets\":%llu,"
			"\"tx_datagrams\":%llu,\"rx_datagrams\":%llu,"
			"\"tls_datagrams\":%llu,\"probes\":%llu,"
			"\"acks\":%llu,\"fallbacks\":%u,\"recoveries\":%u,"
			"\"dropped_forged\":%llu,\"dropped_replayed\":%llu,"
			"\"dropped_malformed\":%llu,\"send_errors\":%llu}",
			dpath_state(d), d->rtt * 1000,
			(unsigned long long)s->tx_pkts,
			(unsigned long long)s->rx_pkts,
			(unsigned long long)s->tx_dgrams,
			(unsigned long long)s->rx_dgrams,
			(unsigned long long)s->tls_dgrams,
			(unsigned long long)s->probes,
			(unsigned long long)s->acks, s->fallbacks,
			s->recoveries, (unsigned long long)s->drop_auth,
			(unsigned long long)s->drop_replay,
			(unsigned long long)s->drop_bad,
			(unsigned long long)s->send_errors);
		return;
	}
	status_printf(b,
		      "udp path  %s; by UDP %llu datagrams sent, %llu "
		      "received; %llu inside TLS; probes %llu, answers %llu; "
		      "fallbacks %u, recoveries %u; dropped %llu forged, %llu "
		      "replayed, %llu malformed\n",
		      dpath_state(d), (unsigned long long)s->tx_dgrams,
		      (unsigned long long)s->rx_dgrams,
		      (unsigned long long)s->tls_dgrams,
		      (unsigned long long)s->probes,
		      (unsigned long long)s->acks, s->fallbacks, s->recoveries,
		      (unsigned long long)s->drop_auth,
		      (unsigned long long)s->drop_replay,
		      (unsigned long long)s->drop_bad);
}
