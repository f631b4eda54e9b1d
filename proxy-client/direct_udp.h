/* The direct side of one UDP association: datagrams the rules send
 * direct leave from a UDP socket of the client's own (one per address
 * family, made on first use, any source port), and whatever comes back
 * to it goes to the application. A datagram to a name is sent once the
 * name resolves on the client (a few at a time; more are dropped, as a
 * datagram may be). */
#ifndef PROXY_CLIENT_DIRECT_UDP_H
#define PROXY_CLIENT_DIRECT_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/addr.h"
#include "direct.h"

struct direct_udp;
struct dgram_batch;
struct resolver;

/* A datagram from a peer, for the application. */
typedef void (*direct_udp_cb)(void *arg, const struct sockaddr *from,
			      const uint8_t *data, size_t len);

struct direct_udp *direct_udp_new(const struct direct_params *p,
				  struct resolver *res, struct dgram_batch *in,
				  direct_udp_cb cb, void *arg);
/* Sends (or drops: no socket, a full queue of lookups) one datagram. */
void direct_udp_send(struct direct_udp *u, const struct addr *dst,
		     const uint8_t *data, size_t len);
/* No-op on NULL. */
void direct_udp_free(struct direct_udp *u);

#endif
