#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "util.h"

/* AES-GCM first: every x86 and ARMv8 server has instructions for it. */
#define TLS_SUITES \
	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:" \
	"TLS_AES_256_GCM_SHA384"

struct tls_ctx {
	SSL_CTX *ssl;
	int is_server;
	char *verify_name;
	/* server: the revocation list, re-read when its file changes */
	char *crl_path;
	X509_CRL *crl;
	EVP_PKEY *ca_key; /* to check the CRL's signature */
	struct stat crl_st;
};

/* Ciphertext waits here until tls_flush() sends it: many records, one
 * send(). With partial writes on, each SSL_write makes one record, and
 * a system call per 16 KiB record costs more than copying it here. The
 * buffer stays while the connection is busy (tls_trim() gives it back),
 * so a steady stream does not allocate it again for every batch. */
#define TXQ_CAP (512u << 10)
/* A TLS 1.3 record: 16 KiB of plaintext, header, type byte, tag. */
#define RECORD_MAX (16384 + 5 + 1 + 256)

struct tls {
	SSL *ssl;
	int fd;
	int rx_short; /* the last recv() emptied the socket */
	int rx_eof;
	struct buf txq;
	struct tls_ctx *ctx;
	char peer[256];
	char err[256];
};

static int ctx_index = -1;

static void set_ssl_err(char *err, size_t n, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[200];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, n, "%s: %s", what, buf);
	} else {
		snprintf(err, n, "%s", what);
	}
	ERR_clear_error();
}

/* SSL_get_error() is only right with an empty error queue, so one is
 * made sure of before each I/O call. ERR_clear_error() walks every slot
 * of the queue; on the data path, where the queue is almost always
 * empty, looking first is cheaper. */
static void errors_reset(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

static BIO *pem_bio(const char *pem)
{
	return BIO_new_mem_buf(pem, (int)strlen(pem));
}

static int load_ca(struct tls_ctx *c, const char *pem, char *err, size_t n)
{
	X509_STORE *store = SSL_CTX_get_cert_store(c->ssl);
	BIO *bio = pem_bio(pem);
	X509 *x;
	int count = 0;

	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!count && !c->ca_key)
			c->ca_key = X509_get_pubkey(x);
		X509_STORE_add_cert(store, x);
		X509_free(x);
		count++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!count) {
		snprintf(err, n, "ca: no certificate found");
		return -1;
	}
	return 0;
}

static int load_cert_key(struct tls_ctx *c, const struct tls_params *p,
			 char *err, size_t n)
{
	BIO *bio = pem_bio(p->cert_pem);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	EVP_PKEY *key;
	int rc;

	BIO_free(bio);
	if (!x) {
		set_ssl_err(err, n, "cert: cannot read certificate");
		return -1;
	}
	rc = SSL_CTX_use_certificate(c->ssl, x);
	X509_free(x);
	if (rc != 1) {
		set_ssl_err(err, n, "cert: unusable certificate");
		return -1;
	}
	bio = pem_bio(p->key_pem);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!key) {
		set_ssl_err(err, n, "key: cannot read private key");
		return -1;
	}
	rc = SSL_CTX_use_PrivateKey(c->ssl, key);
	EVP_PKEY_free(key);
	if (rc != 1 || SSL_CTX_check_private_key(c->ssl) != 1) {
		set_ssl_err(err, n, "key: does not match the certificate");
		return -1;
	}
	return 0;
}

int tls_pem_check(const char *pem, enum tls_pem kind, char *err, size_t n)
{
	BIO *bio = pem_bio(pem);
	EVP_PKEY *key = NULL;
	X509 *x = NULL;

	if (kind == TLS_PEM_KEY)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!key && !x) {
		set_ssl_err(err, n,
			    kind == TLS_PEM_KEY ? "no private key (PEM) found" :
						  "no certificate (PEM) found");
		return -1;
	}
	EVP_PKEY_free(key);
	X509_free(x);
	return 0;
}

/* The list in the file at path, and the file's identity in *st. */
static X509_CRL *read_crl(const char *path, struct stat *st, char *err,
			  size_t n)
{
	X509_CRL *crl;
	FILE *f;

	f = fopen(path, "re");
	if (!f || fstat(fileno(f), st)) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	if (!crl) {
		char what[300];

		snprintf(what, sizeof(what),
			 "%s: no revocation list (PEM) in it", path);
		set_ssl_err(err, n, what);
	}
	return crl;
}

int tls_crl_check(const char *path, char *err, size_t n)
{
	struct stat st;
	X509_CRL *crl = read_crl(path, &st, err, n);
	int ok = crl != NULL;

	X509_CRL_free(crl);
	return ok ? 0 : -1;
}

static int load_crl(struct tls_ctx *c, char *err, size_t n)
{
	struct stat st;
	X509_CRL *crl;
	char why[256];

	crl = read_crl(c->crl_path, &st, why, sizeof(why));
	if (!crl) {
		snprintf(err, n, "crl: %s", why);
		return -1;
	}
	if (!c->ca_key || X509_CRL_verify(crl, c->ca_key) != 1) {
		X509_CRL_free(crl);
		set_ssl_err(err, n, "crl: not signed by the configured CA");
		return -1;
	}
	X509_CRL_free(c->crl);
	c->crl = crl;
	c->crl_st = st;
	return 0;
}

int tls_ctx_reload_crl(struct tls_ctx *c, char *err, size_t n)
{
	return c->crl_path ? load_crl(c, err, n) : 0;
}

int tls_ctx_refresh_crl(struct tls_ctx *c, char *err, size_t n)
{
	struct stat st;

	if (!c->crl_path)
		return 0;
	if (stat(c->crl_path, &st)) {
		snprintf(err, n, "crl: %s: %s", c->crl_path, strerror(errno));
		return -1;
	}
	if (st.st_ino == c->crl_st.st_ino && st.st_size == c->crl_st.st_size &&
	    st.st_mtim.tv_sec == c->crl_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == c->crl_st.st_mtim.tv_nsec)
		return 0;
	return load_crl(c, err, n) ? -1 : 1;
}

/* X509_V_OK, or why cert must be refused: it is on the list, or a list
 * is configured and none could be read yet (revocation fails closed). */
static int crl_verdict(const struct tls_ctx *c, X509 *cert)
{
	X509_REVOKED *rev;

	if (!c->crl_path)
		return X509_V_OK;
	if (!c->crl)
		return X509_V_ERR_UNABLE_TO_GET_CRL;
	if (X509_CRL_get0_by_serial(c->crl, &rev,
				    X509_get0_serialNumber(cert)) == 1)
		return X509_V_ERR_CERT_REVOKED;
	return X509_V_OK;
}

/* OpenSSL's own CRL checking would also want the CRL's nextUpdate to lie
 * in the future; a home-made PKI should not stop working on that date,
 * so the leaf's serial is looked up in our list instead. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	struct tls_ctx *c;
	X509 *cert;
	int why;

	if (!ok || X509_STORE_CTX_get_error_depth(xs) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs,
					 SSL_get_ex_data_X509_STORE_CTX_idx());
	c = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
	cert = X509_STORE_CTX_get_current_cert(xs);
	why = c && cert ? crl_verdict(c, cert) : X509_V_OK;
	if (why != X509_V_OK) {
		X509_STORE_CTX_set_error(xs, why);
		return 0;
	}
	return ok;
}

static struct tls_ctx *ctx_new(const struct tls_params *p, int server,
			       char *err, size_t n)
{
	struct tls_ctx *c = xcalloc(1, sizeof(*c));

	if (ctx_index < 0)
		ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	c->is_server = server;
	c->ssl = SSL_CTX_new(server ? TLS_server_method() :
				      TLS_client_method());
	if (!c->ssl) {
		set_ssl_err(err, n, "cannot create TLS context");
		free(c);
		return NULL;
	}
	SSL_CTX_set_ex_data(c->ssl, ctx_index, c);
	SSL_CTX_set_min_proto_version(c->ssl, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(c->ssl, TLS1_3_VERSION);
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_COMPRESSION |
					    SSL_OP_NO_RENEGOTIATION |
					    SSL_OP_NO_TICKET |
					    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(c->ssl, 0);
	SSL_CTX_set_read_ahead(c->ssl, 1);
	/* room for several records per read() of the tunnel socket */
	SSL_CTX_set_default_read_buffer_len(c->ssl, 4 * (16384 + 256));
	if (SSL_CTX_set_ciphersuites(c->ssl, TLS_SUITES) != 1 ||
	    load_ca(c, p->ca_pem, err, n) || load_cert_key(c, p, err, n))
		goto fail;
	/* With a fallback site, a visitor without a certificate completes
	 * the handshake and is shown that site instead of a tunnel. */
	SSL_CTX_set_verify(c->ssl,
			   SSL_VERIFY_PEER |
				   (server && !p->cert_optional ?
					    SSL_VERIFY_FAIL_IF_NO_PEER_CERT :
					    0),
			   verify_cb);
	SSL_CTX_set_verify_depth(c->ssl, 4);
	/* The peer's certificate must be made for its role, so a client
	 * certificate cannot pose as the server. */
	SSL_CTX_set_purpose(c->ssl, server ? X509_PURPOSE_SSL_CLIENT :
					     X509_PURPOSE_SSL_SERVER);
	return c;
fail:
	if (!*err)
		set_ssl_err(err, n, "TLS setup failed");
	tls_ctx_free(c);
	return NULL;
}

struct tls_ctx *tls_ctx_server(const struct tls_params *p, char *err, size_t n)
{
	struct tls_ctx *c;

	err[0] = 0;
	c = ctx_new(p, 1, err, n);
	if (!c)
		return NULL;
	if (p->crl_path) {
		c->crl_path = xstrdup(p->crl_path);
		if (load_crl(c, err, n)) {
			tls_ctx_free(c);
			return NULL;
		}
	}
	return c;
}

struct tls_ctx *tls_ctx_client(const struct tls_params *p, char *err, size_t n)
{
	struct tls_ctx *c;

	err[0] = 0;
	c = ctx_new(p, 0, err, n);
	if (c && p->verify_name)
		c->verify_name = xstrdup(p->verify_name);
	return c;
}

void tls_ctx_free(struct tls_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ssl);
	X509_CRL_free(c->crl);
	EVP_PKEY_free(c->ca_key);
	free(c->crl_path);
	free(c->verify_name);
	free(c);
}

static int is_ip_literal(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 ||
	       inet_pton(AF_INET6, s, tmp) == 1;
}

static int set_peer_check(SSL *ssl, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

	if (is_ip_literal(name))
		return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1 ? 0 : -1;
	if (SSL_set_tlsext_host_name(ssl, name) != 1)
		return -1;
	return SSL_set1_host(ssl, name) == 1 ? 0 : -1;
}

/* ---- the socket BIO: reads from the socket, writes append to txq ---- */

/* A recv() that returned less than asked for emptied the socket, so the
 * next one would only say EAGAIN: that system call is skipped (once),
 * and the event loop is asked instead. Level-triggered polling makes
 * the guess safe: bytes that arrived in between wake the loop at once. */
static int sock_read(BIO *b, char *p, int n)
{
	struct tls *t = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	if (n <= 0)
		return 0;
	if (t->rx_short) {
		t->rx_short = 0;
		errno = EAGAIN;
		BIO_set_retry_read(b);
		return -1;
	}
	r = recv(t->fd, p, (size_t)n, 0);
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			BIO_set_retry_read(b);
		return -1;
	}
	if (r == 0)
		t->rx_eof = 1;
	else if (r < n)
		t->rx_short = 1;
	return (int)r;
}

static int txq_write(BIO *b, const char *p, int n)
{
	struct tls *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (n <= 0)
		return 0;
	if (buf_put(&t->txq, p, (size_t)n)) {
		BIO_set_retry_write(b); /* tls_write keeps room: not reached */
		return -1;
	}
	return n;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls *t = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1; /* tls_flush() sends, after every call that writes */
	case BIO_CTRL_EOF:
		return t && t->rx_eof;
	case BIO_CTRL_WPENDING:
	case BIO_CTRL_PENDING:
		return t ? (long)buf_len(&t->txq) : 0;
	default:
		return 0;
	}
}

static int sock_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *sock_bio;

static void sock_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "tunnel socket");

	if (!m || !BIO_meth_set_read(m, sock_read) ||
	    !BIO_meth_set_write(m, txq_write) ||
	    !BIO_meth_set_ctrl(m, sock_ctrl) ||
	    !BIO_meth_set_create(m, sock_create)) {
		BIO_meth_free(m);
		m = NULL;
	}
	sock_bio = m;
}

/* Made once, by whichever thread (a server worker) gets there first. */
static BIO_METHOD *sock_method(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sock_method_init);
	return sock_bio;
}

static int set_bio(struct tls *t)
{
	BIO_METHOD *m = sock_method();
	BIO *b = m ? BIO_new(m) : NULL;

	if (!b)
		return -1;
	BIO_set_data(b, t);
	SSL_set_bio(t->ssl, b, b);
	return 0;
}

struct tls *tls_new(struct tls_ctx *c, int fd)
{
	struct tls *t = xcalloc(1, sizeof(*t));

	t->ctx = c;
	t->fd = fd;
	buf_init(&t->txq, TXQ_CAP);
	t->ssl = SSL_new(c->ssl);
	if (!t->ssl || set_bio(t))
		goto fail;
	if (c->is_server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (c->verify_name && set_peer_check(t->ssl, c->verify_name))
			goto fail;
	}
	return t;
fail:
	ERR_clear_error();
	tls_free(t);
	return NULL;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	buf_release(&t->txq);
	free(t);
}

/* The alerts a peer sends about our certificate or our protocol, in
 * words a user can act on (the raw reason follows in parentheses). */
static const char *alert_words(unsigned long e)
{
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return NULL;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
		return "refused our certificate: revoked";
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
		return "refused our certificate: expired, or not valid yet "
		       "(check both clocks)";
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		return "refused our certificate: made by a CA it does not "
		       "trust (a profile of another PKI?)";
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
		return "refused our certificate (its log says why)";
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		return "wants a client certificate";
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return "does not speak TLS 1.3";
	default:
		return NULL;
	}
}

static int status(struct tls *t, int rc, const char *what)
{
	int e = SSL_get_error(t->ssl, rc);
	unsigned long last;
	const char *words;
	long v;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		snprintf(t->err, sizeof(t->err),
			 "%s: connection closed by peer", what);
		return TLS_EOF;
	case SSL_ERROR_SYSCALL:
		if (!ERR_peek_error()) {
			if (errno && errno != EPIPE && errno != ECONNRESET)
				snprintf(t->err, sizeof(t->err), "%s",
					 strerror(errno));
			else
				snprintf(t->err, sizeof(t->err),
					 "%s: connection closed by peer", what);
			return TLS_EOF;
		}
		break;
	}
	v = SSL_get_verify_result(t->ssl);
	last = ERR_peek_last_error();
	words = alert_words(last);
	if (words) {
		snprintf(t->err, sizeof(t->err), "%s: the %s %s (%s)", what,
			 t->ctx->is_server ? "client" : "server", words,
			 ERR_reason_error_string(last));
		ERR_clear_error();
	} else if (v != X509_V_OK) {
		snprintf(t->err, sizeof(t->err),
			 "%s: certificate verify failed: %s", what,
			 X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else {
		set_ssl_err(t->err, sizeof(t->err), what);
	}
	return TLS_ERR;
}

size_t tls_unsent(const struct tls *t)
{
	return buf_len(&t->txq);
}

/* A connect that failed shows as EPIPE on the first write: the socket's
 * own error says why ("Connection refused"). */
static int write_failed(struct tls *t, int err)
{
	int so = 0;
	socklen_t len = sizeof(so);

	if (!getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &so, &len) && so)
		err = so;
	if (err == EPIPE || err == ECONNRESET) {
		snprintf(t->err, sizeof(t->err), "connection closed by peer");
		return TLS_EOF;
	}
	snprintf(t->err, sizeof(t->err), "%s", strerror(err));
	return TLS_ERR;
}

int tls_flush(struct tls *t)
{
	while (buf_len(&t->txq)) {
		ssize_t n = send(t->fd, buf_peek(&t->txq), buf_len(&t->txq),
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return TLS_WANT_WRITE;
			return write_failed(t, errno);
		}
		buf_consume(&t->txq, (size_t)n);
	}
	return 0;
}

void tls_trim(struct tls *t)
{
	if (!buf_len(&t->txq))
		buf_release(&t->txq);
}

/* A call that made records sends them; a socket that cannot take them
 * yet turns "done" or "wants to read" into "wants to write". */
static int flushed(struct tls *t, int rc)
{
	int f;

	if (rc == TLS_EOF || rc == TLS_ERR)
		return rc; /* the first error says why */
	f = tls_flush(t);
	if (f == TLS_EOF || f == TLS_ERR)
		return f;
	return f == TLS_WANT_WRITE && rc == TLS_WANT_READ ? TLS_WANT_WRITE : rc;
}

int tls_handshake(struct tls *t)
{
	int rc;
	X509 *peer;

	errors_reset();
	errno = 0;
	rc = SSL_do_handshake(t->ssl);
	if (rc != 1)
		return flushed(t, status(t, rc, "handshake"));
	peer = SSL_get0_peer_certificate(t->ssl);
	if (peer)
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
					  NID_commonName, t->peer,
					  sizeof(t->peer));
	/* the last flight may still wait in txq: the next flush sends it */
	return flushed(t, 0);
}

ssize_t tls_read(struct tls *t, void *buf, size_t n)
{
	int rc;

	/* The last recv() emptied the socket and OpenSSL holds no byte of
	 * it: SSL_read() would only learn that from sock_read(), at the
	 * cost of a pass through the record layer and SSL_get_error(). */
	if (t->rx_short && !SSL_has_pending(t->ssl)) {
		t->rx_short = 0;
		return TLS_WANT_READ;
	}
	errors_reset();
	errno = 0;
	rc = SSL_read(t->ssl, buf, (int)MIN(n, (size_t)INT32_MAX));
	if (buf_len(&t->txq))
		tls_flush(t); /* an alert or key update answer; best effort */
	return rc > 0 ? rc : status(t, rc, "read");
}

ssize_t tls_write(struct tls *t, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int rc = 1;

	n = MIN(n, (size_t)INT32_MAX);
	/* room for all of it at once: growing step by step would copy */
	buf_reserve(&t->txq, MIN(n + (n / 16384 + 1) * (RECORD_MAX - 16384),
				 buf_room(&t->txq)));
	while (done < n && buf_room(&t->txq) >= RECORD_MAX) {
		errors_reset();
		errno = 0;
		rc = SSL_write(t->ssl, p + done, (int)(n - done));
		if (rc <= 0)
			break;
		done += (size_t)rc;
	}
	if (done)
		return (ssize_t)done;
	if (rc > 0)
		return TLS_WANT_WRITE; /* txq full: flush first */
	return status(t, rc, "write");
}

void tls_shutdown(struct tls *t)
{
	ERR_clear_error();
	SSL_shutdown(t->ssl);
	ERR_clear_error();
	/* one try, and the error that closed us stays the one reported */
	if (buf_len(&t->txq))
		(void)send(t->fd, buf_peek(&t->txq), buf_len(&t->txq),
			   MSG_NOSIGNAL);
	buf_release(&t->txq);
}

int tls_peer_has_cert(const struct tls *t)
{
	return SSL_get0_peer_certificate(t->ssl) != NULL;
}

int tls_peer_revoked(const struct tls *t)
{
	X509 *peer = SSL_get0_peer_certificate(t->ssl);

	return peer && crl_verdict(t->ctx, peer) != X509_V_OK;
}

int tls_peer_cert_id(const struct tls *t, uint8_t id[TLS_CERT_ID_LEN])
{
	X509 *peer = SSL_get0_peer_certificate(t->ssl);
	unsigned len = TLS_CERT_ID_LEN;

	if (!peer || !X509_digest(peer, EVP_sha256(), id, &len) ||
	    len != TLS_CERT_ID_LEN)
		return -1;
	return 0;
}

const char *tls_peer_name(const struct tls *t)
{
	return t->peer;
}

const char *tls_describe(const struct tls *t, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s", SSL_get_version(t->ssl),
		 SSL_CIPHER_get_name(SSL_get_current_cipher(t->ssl)));
	return buf;
}

const char *tls_error(const struct tls *t)
{
	return t->err[0] ? t->err : "unknown TLS error";
}

int tls_export(const struct tls *t, const char *label, uint8_t *out, size_t n)
{
	/* TLS 1.3 makes no difference between no context and an empty
	 * one (RFC 8446 section 7.5): none is given */
	return SSL_export_keying_material(t->ssl, out, n, label, strlen(label),
					  NULL, 0, 0) == 1 ?
		       0 :
		       -1;
}
