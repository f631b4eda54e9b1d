/* The datagram path of one tunnel (docs/PROTOCOL.md section 15): its
 * UDP_DATA frames as sealed UDP packets between client and server,
 * beside the TLS connection, when UDP gets through both ways.
 *
 * Client: its own UDP socket, connected to the server's address and
 * port. It probes; once a probe is answered the path is up, and while
 * it is wanted (udp-path always, or the TLS connection lately lost
 * packets: dpath.c) it sends UDP_PATH 1 inside TLS and its datagrams
 * by UDP; it keeps probing, and when nothing came by UDP for
 * DPATH_SILENCE while a probe is overdue, or the path is no longer
 * wanted, it sends UDP_PATH 0 and its datagrams go inside TLS again.
 *
 * Server: packets come in on the server's sockets (dpath_srv.c finds
 * the path by the packet's tunnel id); it answers probes, and sends its
 * datagrams by UDP while the client said UDP_PATH 1 and was heard from
 * by UDP within DPATH_SERVER_SILENCE.
 *
 * The tunnel owns its path (tunnel_set_dpath()) and frees it when it
 * closes; nothing is sent on a path, and nothing answered, before its
 * keys were exported from the tunnel's TLS session. */
#ifndef COMMON_DPATH_H
#define COMMON_DPATH_H

#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "dpkt.h"
#include "idmap.h"
#include "tunnel.h"

/* Nothing heard by UDP this long, a probe overdue: UDP has stopped
 * (client). */
#define DPATH_SILENCE 1.5
/* Nothing from the client by UDP this long (over two of its idle
 * probes): its datagrams go inside TLS (server; the client's UDP_PATH 0
 * normally says so first). */
#define DPATH_SERVER_SILENCE 6.0
/* Receive buffer of the path's UDP sockets (as far as net.core.rmem_max
 * allows): the kernel's default holds about 270 small datagrams, a
 * few milliseconds of a busy tunnel, and a reader not scheduled that
 * long lost the rest (the TLS path's TCP buffers absorb such a wait). */
#define DPATH_RCVBUF (2 << 20)

struct dpath_stats {
	uint64_t tx_pkts, rx_pkts;     /* sealed packets sent, accepted */
	uint64_t tx_dgrams, rx_dgrams; /* of them UDP_DATA frames */
	uint64_t tls_dgrams;           /* sent inside TLS meanwhile */
	uint64_t probes, acks;         /* client: sent, answered;
					* server: received, answered */
	uint64_t drop_auth, drop_replay, drop_bad;
	uint64_t send_errors;
	unsigned fallbacks, recoveries;
};

struct dpath;

/* Client: a UDP socket to the tunnel's server (with SO_MARK mark when
 * not 0), probing at once. NULL with err set when it cannot (the tunnel
 * goes on without). */
struct dpath *dpath_client(struct tunnel *t, unsigned mark, char *err,
			   size_t n);
/* Server: a path found in reg (key: dpath_key() of its id) while it
 * lives. NULL with err set when it cannot (ids collide, no keys). */
struct dpath *dpath_server(struct tunnel *t, struct idmap *reg, char *err,
			   size_t n);
/* Deferred while one of its own callbacks runs. */
void dpath_free(struct dpath *d);

/* The registry key of a tunnel id (never 0); a server path's own. */
uint32_t dpath_key(const uint8_t id[DPKT_ID_LEN]);
uint32_t dpath_reg_key(const struct dpath *d);

/* Where a packet reached the server: the socket, the sender, and a
 * control message (IP_PKTINFO or IPV6_PKTINFO, of at most DPATH_CTL_MAX
 * bytes) that makes an answer leave from the address it was sent to
 * (ctl_len 0: none; the kernel picks, right on a host of one address). */
#define DPATH_CTL_MAX 64
struct dpath_from {
	int fd;
	const struct sockaddr *addr;
	socklen_t addr_len;
	const void *ctl;
	size_t ctl_len;
};

/* Server: a packet for this path came in. 0 when it was authentic and
 * new, else a dpkt_err/dseal_err (counted here; the packet was dropped
 * and nothing answered). */
int dpath_input(struct dpath *d, const struct dpath_from *from,
		const uint8_t *pkt, size_t n);

/* The tunnel's UDP_DATA frame: 0 when the path took it (sent, or lost
 * as UDP may be), -1 when it goes inside TLS. */
int dpath_send(struct dpath *d, const uint8_t *frame, size_t len);
/* Server: the client's UDP_PATH frame. */
void dpath_peer_mode(struct dpath *d, int on);

/* "up", "probing", "down" (client); "udp", "tls" (server). */
const char *dpath_state(const struct dpath *d);
const struct dpath_stats *dpath_stats(const struct dpath *d);
/* The status lines (text), or a "udp_path":{...} member (json). */
void dpath_status(const struct dpath *d, struct buf *b, int json);

#endif
