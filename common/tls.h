/* TLS 1.3 with certificates both ways. The only module that talks to
 * OpenSSL's SSL layer; everything above sees non-blocking reads and
 * writes that return bytes or a TLS_* status. */
#ifndef COMMON_TLS_H
#define COMMON_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum tls_status {
	TLS_WANT_READ = -1,
	TLS_WANT_WRITE = -2,
	TLS_EOF = -3, /* orderly close or the peer vanished */
	TLS_ERR = -4, /* protocol or certificate error: see tls_error() */
};

/* Certificates and keys as PEM text (the config layer reads files or
 * takes inline blocks). crl_path may be NULL; verify_name (client only)
 * is the host name or IP the server certificate must carry. */
struct tls_params {
	const char *ca_pem;
	const char *cert_pem;
	const char *key_pem;
	const char *crl_path;
	const char *verify_name;
	int cert_optional; /* server: request, but do not require, one */
};

struct tls_ctx;
struct tls;

/* What a PEM directive must hold: certificates (ca), a certificate
 * (cert), a private key (key). */
enum tls_pem { TLS_PEM_CA, TLS_PEM_CERT, TLS_PEM_KEY };

/* Whether pem holds what kind wants, so a config check can name the
 * line; whether they fit together is for tls_ctx_*() to say. */
int tls_pem_check(const char *pem, enum tls_pem kind, char *err, size_t errlen);
/* Whether the file at path holds a revocation list in PEM. */
int tls_crl_check(const char *path, char *err, size_t errlen);

struct tls_ctx *tls_ctx_server(const struct tls_params *p, char *err,
			       size_t errlen);
struct tls_ctx *tls_ctx_client(const struct tls_params *p, char *err,
			       size_t errlen);
/* Server: re-reads the CRL if its file changed since the last look.
 * 1 reloaded, 0 unchanged, -1 error (the old list stays in force; with
 * none read yet, every client certificate is refused). */
int tls_ctx_refresh_crl(struct tls_ctx *c, char *err, size_t errlen);
/* Server: reads the CRL now, changed or not (after dropping privileges:
 * can we still?). 0 or -1 as above. */
int tls_ctx_reload_crl(struct tls_ctx *c, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *c);

struct tls *tls_new(struct tls_ctx *c, int fd);
void tls_free(struct tls *t);

/* 0 when done, else a TLS_* status. */
int tls_handshake(struct tls *t);
/* Bytes (> 0) or a TLS_* status. */
ssize_t tls_read(struct tls *t, void *buf, size_t n);
/* Bytes taken (> 0, whole records; may be less than n) or a TLS_*
 * status. The records wait in the TLS layer until tls_flush(), so many
 * of them leave in one write(); TLS_WANT_WRITE means that queue is full.
 * After TLS_WANT_*, call again with the same bytes and length. */
ssize_t tls_write(struct tls *t, const void *buf, size_t n);
/* Writes the queued records: 0 when none are left, else a TLS_* status
 * (TLS_WANT_WRITE: wait until the socket is writable). */
int tls_flush(struct tls *t);
/* Bytes of records not yet handed to the kernel. */
size_t tls_unsent(const struct tls *t);
/* Frees the record queue's memory if it is empty (an idle connection). */
void tls_trim(struct tls *t);
/* Best effort close_notify (and whatever else is queued); never blocks. */
void tls_shutdown(struct tls *t);

/* Did the peer present a (valid) certificate? */
int tls_peer_has_cert(const struct tls *t);
/* Server: is the peer's certificate on the current revocation list? */
int tls_peer_revoked(const struct tls *t);
/* The peer certificate's common name (the user name on the server). */
const char *tls_peer_name(const struct tls *t);
/* SHA-256 of the peer certificate (DER): which certificate, not only
 * which name. -1 without one. */
#define TLS_CERT_ID_LEN 32
int tls_peer_cert_id(const struct tls *t, uint8_t id[TLS_CERT_ID_LEN]);
/* "TLSv1.3 TLS_AES_128_GCM_SHA256" */
const char *tls_describe(const struct tls *t, char *buf, size_t n);
/* Keying material from the session (RFC 8446 section 7.5, no context):
 * n bytes for label into out, the same on both ends. 0 or -1. */
int tls_export(const struct tls *t, const char *label, uint8_t *out, size_t n);
/* Why the last call failed, in words (certificate errors included). */
const char *tls_error(const struct tls *t);

#endif
