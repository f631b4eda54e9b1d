/* Sealing and opening the datagram path's packets (dpkt.h) with
 * ChaCha20-Poly1305, one key per direction, both exported from the
 * tunnel's TLS session (tls_export()). The counter of each packet is
 * its nonce and is never reused: each direction counts up from 0 under
 * its own key, and every TLS session exports new keys. */
#ifndef COMMON_DSEAL_H
#define COMMON_DSEAL_H

#include <stddef.h>
#include <stdint.h>

#include "dpkt.h"

/* The exporter (RFC 8446 section 7.5, no context) gives 72 bytes: the
 * client-to-server key, the server-to-client key, the tunnel id. */
#define DSEAL_LABEL "EXPORTER-pxt1 udp path"
#define DSEAL_KEY_LEN 32
#define DSEAL_MATERIAL_LEN (2 * DSEAL_KEY_LEN + DPKT_ID_LEN)
/* A sender stops (the path falls back to TLS) long before the counter
 * could wrap. */
#define DSEAL_CTR_MAX ((uint64_t)1 << 62)

enum dseal_err {
	DSEAL_ERR_ID = -10,     /* another tunnel's packet */
	DSEAL_ERR_REPLAY = -11, /* counter seen already, or too old */
	DSEAL_ERR_AUTH = -12,   /* tag check failed: forged or damaged */
	DSEAL_ERR_SPENT = -13,  /* our counter reached DSEAL_CTR_MAX */
	DSEAL_ERR_CRYPTO = -14, /* the library failed */
};

struct dseal {
	void *tx, *rx; /* cipher contexts, opaque here */
	uint8_t id[DPKT_ID_LEN];
	uint64_t tx_ctr;   /* the next counter we send */
	struct replay win; /* counters received */
};

/* Keys from the exported material; is_server picks the direction. 0 or
 * DSEAL_ERR_CRYPTO. The caller wipes the material. */
int dseal_init(struct dseal *s, const uint8_t m[DSEAL_MATERIAL_LEN],
	       int is_server);
void dseal_free(struct dseal *s);

/* A packet of kind with body (n bytes) into out: its length, or a
 * negative error (DSEAL_ERR_SPENT, DPKT_ERR_SIZE when it cannot fit). */
int dseal_seal(struct dseal *s, uint8_t kind, const uint8_t *body, size_t n,
	       uint8_t *out, size_t cap);
/* Opens a packet of n bytes into plain (DPKT_MAX_PLAIN bytes): the
 * plaintext's length, or an error (dpkt_err or dseal_err). *newest is
 * set when its counter is the highest seen so far. Nothing is marked
 * unless the tag is good. */
int dseal_open(struct dseal *s, const uint8_t *pkt, size_t n, uint8_t *plain,
	       int *newest);
const char *dseal_strerror(int err);

#endif
