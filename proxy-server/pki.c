/* The PKI subcommands of proxy-server: init, add-client and revoke.
 *
 * Keys are EC P-256, signatures SHA-256, serials 127 random bits. Every
 * file is written to a temp file beside it (mkstemp: O_EXCL, mode 0600),
 * flushed, given its mode and renamed into place, so a crash leaves the
 * old file or the new one, never half of one. PEM text holding a private
 * key is wiped before its memory is freed.
 *
 * DIR/index.txt has one line per client certificate ever issued, "NAME
 * SERIALHEX valid|revoked"; add-client and revoke hold an flock on DIR
 * while they read and rewrite it. */
#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/addr.h"
#include "../common/util.h"

#define CN_MAX 64		/* ub-common-name */
#define FILE_MAX (1 << 24)	/* largest file we read */

enum { R_NONE, R_ERRNO, R_SSL };	/* what complain() appends */
enum { WF_REPLACE, WF_NOREPLACE };
enum obj_kind { OBJ_CERT, OBJ_KEY, OBJ_CRL, OBJ_TEXT };

struct ext {
	int nid;
	const char *value;	/* NULL: the extended key usage asked for */
};

struct ca {
	X509 *cert;
	EVP_PKEY *key;
};

/* One index.txt line. */
struct idx_ent {
	const char *start, *end;	/* in the file's text, without '\n' */
	char serial[80];
	int revoked;
};

static const struct ext ca_exts[] = {
	{ NID_basic_constraints, "critical,CA:TRUE" },
	{ NID_key_usage, "critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier, "hash" },
};

static const struct ext leaf_exts[] = {
	{ NID_basic_constraints, "CA:FALSE" },
	{ NID_key_usage, "critical,digitalSignature" },
	{ NID_ext_key_usage, NULL },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
};

static const char server_conf[] =
	"# proxy-server configuration written by `proxy-server init`.\n"
	"# Every directive is explained in /usr/local/share/doc/proxy/server.conf"
	" (conf/server.conf in the source).\n"
	"listen [::]:443\n"
	"ca ca.crt\n"
	"cert server.crt\n"
	"key server.key\n"
	"crl crl.pem\n"
	"log-level info\n";

static const char *pki_cmd = "pki";	/* the subcommand, for messages */

/* ---- messages --------------------------------------------------------- */

/* "proxy-server CMD: MESSAGE[: strerror(errno) or the OpenSSL error]". */
static void __attribute__((format(printf, 2, 3)))
complain(int why, const char *fmt, ...)
{
	char reason[256] = "unknown OpenSSL error";
	int err = errno;
	unsigned long e = ERR_peek_last_error();
	va_list ap;

	if (why == R_ERRNO)
		snprintf(reason, sizeof(reason), "%s", strerror(err));
	else if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	fprintf(stderr, "proxy-server %s: ", pki_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (why == R_NONE)
		fputc('\n', stderr);
	else
		fprintf(stderr, ": %s\n", reason);
}

#define fail(...) complain(R_NONE, __VA_ARGS__)
#define fail_sys(...) complain(R_ERRNO, __VA_ARGS__)
#define fail_ssl(...) complain(R_SSL, __VA_ARGS__)

static void __attribute__((noreturn)) oom(void)
{
	fputs("proxy-server: out of memory\n", stderr);
	abort();
}

static char *__attribute__((format(printf, 1, 2)))
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- files ------------------------------------------------------------ */

static char *path_join(const char *dir, const char *name)
{
	int n = (int)strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", n, dir, name);
}

/* A small file, NUL-terminated, read into one allocation so that no
 * stray copy of a key is left in freed memory. NULL with errno set. */
static char *slurp(const char *path, size_t *lenp)
{
	size_t len = 0, size;
	struct stat st;
	ssize_t n = 1;
	char *buf;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	e = fstat(fd, &st) < 0 ? errno : st.st_size > FILE_MAX ? EFBIG : 0;
	size = e ? 0 : (size_t)st.st_size;
	buf = xmalloc(size + 1);
	while (!e && len < size && n != 0) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno != EINTR)
			e = errno;
		len += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	if (e) {
		OPENSSL_clear_free(buf, size + 1);
		errno = e;
		return NULL;
	}
	return buf;
}

/* Writes PATH through a temp file beside it, renamed over PATH, or with
 * WF_NOREPLACE linked to it so an existing PATH is never replaced. */
static int write_file(const char *path, const char *data, size_t len,
		      mode_t mode, int how)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd = mkstemp(tmp), rc = fd < 0 ? -1 : 0;
	ssize_t n;

	while (rc == 0 && len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno != EINTR)
			rc = -1;
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if (rc == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
		rc = -1;
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	if (rc == 0)
		rc = how == WF_NOREPLACE ? link(tmp, path) : rename(tmp, path);
	if (rc < 0)
		fail_sys("%s", path);
	if (fd >= 0 && (rc < 0 || how == WF_NOREPLACE))
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Writes what memory BIO B holds to DIR/FILE (OK: filling B worked),
 * then wipes and frees B. */
static int save_bio(BIO *b, int ok, const char *dir, const char *file,
		    mode_t mode, int how)
{
	char *path = path_join(dir, file);
	BUF_MEM *bm = NULL;
	int rc = -1;

	BIO_get_mem_ptr(b, &bm);
	if (!ok || !bm)
		fail_ssl("%s", path);
	else
		rc = write_file(path, bm->data, bm->length, mode, how);
	if (bm && bm->data)
		OPENSSL_cleanse(bm->data, bm->length);
	BIO_free(b);
	free(path);
	return rc;
}

static BIO *membio(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (!b)
		oom();
	return b;
}

static int save_obj(const char *dir, const char *file, enum obj_kind kind,
		    const void *obj, mode_t mode, int how)
{
	BIO *b = membio();
	int ok = 0;

	if (kind == OBJ_CERT)
		ok = PEM_write_bio_X509(b, obj);
	else if (kind == OBJ_KEY)	/* PKCS#8, unencrypted */
		ok = PEM_write_bio_PrivateKey(b, obj, NULL, NULL, 0, NULL, NULL);
	else if (kind == OBJ_CRL)
		ok = PEM_write_bio_X509_CRL(b, obj);
	else
		ok = BIO_puts(b, obj) >= 0;
	return save_bio(b, ok, dir, file, mode, how);
}

/* Fails on an encrypted key instead of prompting for a passphrase. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static void *load_obj(const char *dir, const char *file, enum obj_kind kind)
{
	char *path = path_join(dir, file), *text;
	void *obj = NULL;
	size_t len;
	BIO *b;

	text = slurp(path, &len);
	if (!text) {
		fail_sys("%s", path);
		free(path);
		return NULL;
	}
	b = BIO_new_mem_buf(text, (int)len);
	if (!b)
		oom();
	if (kind == OBJ_CERT)
		obj = PEM_read_bio_X509(b, NULL, no_password, NULL);
	else if (kind == OBJ_KEY)
		obj = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
	else
		obj = PEM_read_bio_X509_CRL(b, NULL, no_password, NULL);
	if (!obj)
		fail_ssl("%s", path);
	BIO_free(b);
	OPENSSL_clear_free(text, len + 1);
	free(path);
	return obj;
}

static int make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST || stat(path, &st) < 0) {
		fail_sys("%s", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return 0;
	fail("%s: exists and is not a directory", path);
	return -1;
}

/* 0 if DIR/FILE does not exist; else says so, with WHY. */
static int absent(const char *dir, const char *file, const char *why)
{
	char *path = path_join(dir, file);
	struct stat st;
	int rc = -1;

	if (lstat(path, &st) == 0)
		fail("%s: exists; %s", path, why);
	else if (errno != ENOENT)
		fail_sys("%s", path);
	else
		rc = 0;
	free(path);
	return rc;
}

/* Serialises add-client and revoke on DIR: both rewrite index.txt. The
 * lock lives as long as the returned fd. */
static int lock_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX) == 0)
		return fd;
	fail_sys("%s", dir);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- names ------------------------------------------------------------ */

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}: safe as a file name and as a CN. */
static int valid_client_name(const char *s)
{
	size_t i;

	if (!is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i]; i++)
		if (i >= CN_MAX ||
		    (!is_alnum((unsigned char)s[i]) && !strchr("._-", s[i])))
			return 0;
	return 1;
}

/* Dot-separated labels of 1 to 63 letters, digits, '-' or '_'. */
static int valid_dns_name(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || label > 63)
				return 0;
			label = 0;
		} else if (is_alnum((unsigned char)s[i]) || s[i] == '-' ||
			   s[i] == '_') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* 4 or 16 (the bytes put in IP) for an IPv4 or IPv6 literal, else 0. */
static int parse_ip(const char *s, unsigned char ip[16])
{
	if (inet_pton(AF_INET, s, ip) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, ip) == 1)
		return 16;
	return 0;
}

static int check_days(int days)
{
	if (days >= 1 && days <= 36500)
		return 0;
	fail("--days %d: must be between 1 and 36500", days);
	return -1;
}

/* ---- certificates ----------------------------------------------------- */

/* A positive 128-bit serial with its top bit clear. */
static ASN1_INTEGER *rand_serial(void)
{
	unsigned char b[16];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return NULL;
	b[0] &= 0x7f;
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (bn)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/* Uppercase hex, as `openssl x509 -serial` prints it; free() it. */
static char *serial_hex(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	char *s = hex ? xstrdup(hex) : NULL;

	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509_EXTENSION *e;
	X509V3_CTX ctx;
	int ok;

	memset(&ctx, 0, sizeof(ctx));
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

static GENERAL_NAME *san_entry(const char *name)
{
	unsigned char ip[16];
	int iplen = parse_ip(name, ip);
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_STRING *s;

	s = ASN1_STRING_type_new(iplen ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
	if (!g || !s || !(iplen ? ASN1_STRING_set(s, ip, iplen) :
				  ASN1_STRING_set(s, name, -1))) {
		GENERAL_NAME_free(g);
		ASN1_STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, iplen ? GEN_IPADD : GEN_DNS, s);
	return g;
}

/* subjectAltName: an IP entry for each IP literal, DNS for the rest. */
static int add_san(X509 *x, const char *const *names, int n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	int i, ok = gens != NULL;

	for (i = 0; ok && i < n; i++) {
		GENERAL_NAME *g = san_entry(names[i]);

		ok = g && sk_GENERAL_NAME_push(gens, g) > 0;
		if (!ok)
			GENERAL_NAME_free(g);
	}
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
				     X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(gens);
	return ok;
}

/* A v3 certificate for KEY named CN, valid from an hour ago (a little
 * clock skew between the two ends must not matter) for DAYS days but
 * not past the CA, signed by the CA. CA NULL: a self-signed CA
 * certificate; else a leaf with extended key usage EKU and SANS. */
static X509 *cert_make(EVP_PKEY *key, const char *cn, int days,
		       const struct ca *ca, const char *eku,
		       const char *const *sans, int nsans)
{
	ASN1_INTEGER *serial = rand_serial();
	const struct ext *exts = ca ? leaf_exts : ca_exts;
	size_t i, nexts = ca ? ARRAY_SIZE(leaf_exts) : ARRAY_SIZE(ca_exts);
	X509 *x = X509_new();
	X509 *iss = ca ? ca->cert : x;
	int ok;

	ok = x && serial && X509_set_version(x, X509_VERSION_3) &&
	     X509_set_serialNumber(x, serial) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) &&
	     X509_set_pubkey(x, key) &&
	     X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) &&
	     X509_set_issuer_name(x, X509_get_subject_name(iss));
	ASN1_INTEGER_free(serial);
	if (ok && ca && ASN1_TIME_compare(X509_get0_notAfter(x),
					  X509_get0_notAfter(iss)) > 0)
		ok = X509_set1_notAfter(x, X509_get0_notAfter(iss));
	for (i = 0; ok && i < nexts; i++)
		ok = add_ext(x, iss, exts[i].nid,
			     exts[i].value ? exts[i].value : eku);
	ok = ok && (nsans == 0 || add_san(x, sans, nsans));
	ok = ok && X509_sign(x, ca ? ca->key : key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The first subjectAltName usable as a host (IP or DNS), or NULL. */
static char *first_san(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name,
					       NULL, NULL);
	char buf[INET6_ADDRSTRLEN], *s = NULL;
	int i, type, len;

	for (i = 0; !s && i < sk_GENERAL_NAME_num(gens); i++) {
		ASN1_STRING *v = GENERAL_NAME_get0_value(
			sk_GENERAL_NAME_value(gens, i), &type);
		const unsigned char *d = ASN1_STRING_get0_data(v);

		len = ASN1_STRING_length(v);
		if (type == GEN_DNS) {
			s = xasprintf("%.*s", len, (const char *)d);
			if ((int)strlen(s) != len || !valid_dns_name(s)) {
				free(s);
				s = NULL;
			}
		} else if (type == GEN_IPADD && (len == 4 || len == 16) &&
			   inet_ntop(len == 4 ? AF_INET : AF_INET6, d, buf,
				     sizeof(buf))) {
			s = xstrdup(buf);
		}
	}
	GENERAL_NAMES_free(gens);
	return s;
}

/* 1 if the certificate's SANs name HOST (an IP or a DNS name). */
static int cert_names_host(X509 *x, const char *host)
{
	unsigned char ip[16];

	if (parse_ip(host, ip))
		return X509_check_ip_asc(x, host, 0) == 1;
	return X509_check_host(x, host, 0,
			       X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) == 1;
}

/* ---- the CA and its CRL ----------------------------------------------- */

static void ca_free(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

static int ca_load(const char *dir, struct ca *ca)
{
	ca->cert = load_obj(dir, "ca.crt", OBJ_CERT);
	ca->key = ca->cert ? load_obj(dir, "ca.key", OBJ_KEY) : NULL;
	if (!ca->key)
		return -1;
	if (X509_check_private_key(ca->cert, ca->key) == 1)
		return 0;
	ERR_clear_error();
	fail("%s: ca.crt and ca.key do not belong together", dir);
	return -1;
}

static X509_CRL *crl_new(X509 *ca)
{
	X509_CRL *crl = X509_CRL_new();
	X509_EXTENSION *e = NULL;
	X509V3_CTX ctx;
	int ok;

	ok = crl && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
	     X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	if (ok) {
		memset(&ctx, 0, sizeof(ctx));
		X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
		e = X509V3_EXT_conf_nid(NULL, &ctx,
					NID_authority_key_identifier,
					"keyid:always");
		ok = e && X509_CRL_add_ext(crl, e, -1);
	}
	X509_EXTENSION_free(e);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

/* Bumps the CRL number, sets lastUpdate to now and nextUpdate to the
 * CA's own expiry (so the CRL needs no refresh job), sorts and signs. */
static int crl_sign(X509_CRL *crl, const struct ca *ca)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
						 NULL);
	BIGNUM *bn = num ? ASN1_INTEGER_to_BN(num, NULL) : BN_new();
	ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
	int ok;

	ASN1_INTEGER_free(num);
	num = NULL;
	ok = bn && now && BN_add_word(bn, 1) &&
	     (num = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	     X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
				   X509V3_ADD_REPLACE) == 1 &&
	     X509_CRL_set1_lastUpdate(crl, now) &&
	     X509_CRL_set1_nextUpdate(crl, X509_get0_notAfter(ca->cert)) &&
	     X509_CRL_sort(crl) &&
	     X509_CRL_sign(crl, ca->key, EVP_sha256()) > 0;
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(now);
	BN_free(bn);
	return ok ? 0 : -1;
}

/* Adds SERIAL, revoked now, unless the CRL already lists it. */
static int crl_add(X509_CRL *crl, ASN1_INTEGER *serial)
{
	X509_REVOKED *r = NULL;
	ASN1_TIME *now;
	int ok;

	if (X509_CRL_get0_by_serial(crl, &r, serial) > 0)
		return 0;
	r = X509_REVOKED_new();
	now = ASN1_TIME_set(NULL, time(NULL));
	ok = r && now && X509_REVOKED_set_serialNumber(r, serial) &&
	     X509_REVOKED_set_revocationDate(r, now) &&
	     X509_CRL_add0_revoked(crl, r);
	ASN1_TIME_free(now);
	if (!ok)
		X509_REVOKED_free(r);
	return ok ? 0 : -1;
}

/* DIR/crl.pem, checked to be the CA's, or a new CRL if there is none. */
static X509_CRL *crl_open(const char *dir, const struct ca *ca)
{
	char *path = path_join(dir, "crl.pem");
	X509_CRL *crl;

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		crl = crl_new(ca->cert);
		if (!crl)
			fail_ssl("%s: making a new CRL", path);
	} else {
		crl = load_obj(dir, "crl.pem", OBJ_CRL);
		if (crl &&
		    X509_CRL_verify(crl, X509_get0_pubkey(ca->cert)) != 1) {
			fail("%s: not signed by the CA in ca.crt", path);
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
	free(path);
	return crl;
}

/* ---- index.txt -------------------------------------------------------- */

/* Reads DIR/index.txt into *TEXT (none yet: empty) and looks NAME up:
 * 1 and *E filled if found, 0 if not, -1 on an error (reported). Blank
 * lines and lines starting with '#' are skipped. */
static int index_find(const char *dir, const char *name, char **text,
		      struct idx_ent *e)
{
	char *path = path_join(dir, "index.txt"), *p, *eol;
	int lineno, rc = 0;
	size_t len;

	*text = slurp(path, &len);
	if (!*text && errno == ENOENT)
		*text = xstrdup("");
	if (!*text) {
		fail_sys("%s", path);
		rc = -1;
	}
	for (lineno = 1, p = *text; rc == 0 && p && *p; lineno++) {
		char line[256], nm[80], status[16], extra;
		int n = 0;

		eol = p + strcspn(p, "\n");
		if (eol - p < (int)sizeof(line)) {
			memcpy(line, p, (size_t)(eol - p));
			line[eol - p] = '\0';
			n = sscanf(line, "%79s %79s %15s %c", nm, e->serial,
				   status, &extra);
		}
		if (n == EOF || (n >= 1 && nm[0] == '#')) {
			/* blank or comment */
		} else if (n != 3 || (strcmp(status, "valid") != 0 &&
				      strcmp(status, "revoked") != 0)) {
			fail("%s:%d: malformed line (want \"NAME SERIAL "
			     "valid|revoked\")", path, lineno);
			rc = -1;
		} else if (strcmp(nm, name) == 0) {
			e->start = p;
			e->end = eol;
			e->revoked = status[0] == 'r';
			rc = 1;
		}
		p = *eol ? eol + 1 : eol;
	}
	free(path);
	return rc;
}

/* ---- init ------------------------------------------------------------- */

static int check_names(const char *const *names, int n)
{
	unsigned char ip[16];
	int i;

	for (i = 0; i < n; i++) {
		if (parse_ip(names[i], ip) || valid_dns_name(names[i]))
			continue;
		fail("--server-name \"%s\": not an IP address or a DNS name",
		     names[i]);
		return -1;
	}
	return 0;
}

static int init_write(const char *dir, const struct ca *ca, EVP_PKEY *skey,
		      X509 *scert, X509_CRL *crl)
{
	const struct {
		const char *file;
		enum obj_kind kind;
		const void *obj;
		mode_t mode;
		int how;
	} f[] = {
		{ "server.key", OBJ_KEY, skey, 0600, WF_REPLACE },
		{ "server.crt", OBJ_CERT, scert, 0644, WF_REPLACE },
		{ "crl.pem", OBJ_CRL, crl, 0644, WF_REPLACE },
		{ "index.txt", OBJ_TEXT, "", 0644, WF_REPLACE },
		{ "server.conf", OBJ_TEXT, server_conf, 0644, WF_REPLACE },
		/* The CA last: until it exists, init can simply be rerun. */
		{ "ca.key", OBJ_KEY, ca->key, 0600, WF_NOREPLACE },
		{ "ca.crt", OBJ_CERT, ca->cert, 0644, WF_NOREPLACE },
	};
	char *path = path_join(dir, "clients");
	int rc = make_dir(path);
	size_t i;

	for (i = 0; rc == 0 && i < ARRAY_SIZE(f); i++)
		rc = save_obj(dir, f[i].file, f[i].kind, f[i].obj, f[i].mode,
			      f[i].how);
	free(path);
	if (rc < 0 && i == ARRAY_SIZE(f)) {	/* no ca.crt: drop ca.key */
		path = path_join(dir, "ca.key");
		unlink(path);
		free(path);
	}
	return rc;
}

static void init_report(const char *dir, const char *const *names,
			int nnames, int defaulted)
{
	unsigned char ip[16];
	int i;

	printf("proxy-server init: wrote a new CA, server certificate and "
	       "server.conf in %s\n  the server certificate names", dir);
	for (i = 0; i < nnames; i++)
		printf(" %s:%s", parse_ip(names[i], ip) ? "IP" : "DNS",
		       names[i]);
	printf("\n  keep %s/ca.key secret: it can make new clients\n", dir);
	if (defaulted)
		printf("  no --server-name was given: pass add-client "
		       "--server HOST:PORT\n");
	printf("Next: proxy-server add-client %s NAME, and start the server "
	       "with proxy-server -c %s/server.conf\n", dir, dir);
}

int pki_init(const char *dir, const char *const *names, int nnames,
	     int days)
{
	static const char *const dflt[] = { "proxy-server" };
	static const char exists[] = "refusing to overwrite an existing CA";
	struct ca ca = { NULL, NULL };
	EVP_PKEY *skey = NULL;
	X509 *scert = NULL;
	X509_CRL *crl = NULL;
	unsigned char rnd[4];
	char *cn = NULL;
	int rc = 1, defaulted = nnames <= 0;

	pki_cmd = "init";
	if (check_days(days) < 0 || check_names(names, nnames) < 0)
		return 1;
	if (defaulted) {
		names = dflt;
		nnames = 1;
	}
	if (make_dir(dir) < 0 || absent(dir, "ca.crt", exists) < 0 ||
	    absent(dir, "ca.key", exists) < 0)
		return 1;
	if (RAND_bytes(rnd, sizeof(rnd)) == 1) {
		cn = xasprintf("proxy CA %02x%02x%02x%02x", rnd[0], rnd[1],
			       rnd[2], rnd[3]);
		ca.key = EVP_EC_gen("P-256");
		skey = EVP_EC_gen("P-256");
	}
	if (ca.key && skey)
		ca.cert = cert_make(ca.key, cn, days, NULL, NULL, NULL, 0);
	if (ca.cert)
		scert = cert_make(skey, strlen(names[0]) <= CN_MAX ?
					names[0] : "proxy-server",
				  days, &ca, "serverAuth", names, nnames);
	if (scert)
		crl = crl_new(ca.cert);
	if (!crl || crl_sign(crl, &ca) < 0)
		fail_ssl("%s: making the CA and server certificate", dir);
	else if (init_write(dir, &ca, skey, scert, crl) == 0)
		rc = 0;
	if (rc == 0)
		init_report(dir, names, nnames, defaulted);
	X509_CRL_free(crl);
	X509_free(scert);
	EVP_PKEY_free(skey);
	ca_free(&ca);
	free(cn);
	return rc;
}

/* ---- add-client ------------------------------------------------------- */

/* The host of A as text: its domain, or BUF holding its address. */
static const char *addr_host(const struct addr *a, char *buf, size_t len)
{
	if (a->type == ADDR_DOMAIN)
		return a->u.domain;
	return inet_ntop(a->type == ADDR_IPV4 ? AF_INET : AF_INET6, &a->u,
			 buf, (socklen_t)len);
}

/* --server ARG as the client will read its "server" line (addr_parse,
 * port 443 by default), or without ARG the SAN FIRST, port 443. A bare
 * IPv6 address is refused: its last group would look like a port. */
static int parse_server(const char *arg, const char *first, struct addr *a,
			char *host, size_t hlen)
{
	const char *colon = arg ? strchr(arg, ':') : NULL;
	const char *h;

	if (!arg) {
		if (addr_parse_host(first, a) == 0 &&
		    addr_host(a, host, hlen)) {
			a->port = 443;
			return 0;
		}
		fail("the server certificate's name %s is no usable host: "
		     "give --server HOST:PORT", first);
		return -1;
	}
	if (arg[0] != '[' && colon && strchr(colon + 1, ':')) {
		fail("--server %s: write an IPv6 address as [ADDRESS]:PORT",
		     arg);
		return -1;
	}
	if (addr_parse(arg, 443, a) == 0 && a->port != 0 &&
	    (h = addr_host(a, host, hlen)) && strcmp(h, "::") != 0 &&
	    strcmp(h, "0.0.0.0") != 0)
		return 0;
	fail("--server %s: expected HOST:PORT or [IPV6]:PORT", arg);
	return -1;
}

/* The profile's "server" value for ARG (NULL: the server certificate's
 * first SAN) in *ENDPOINT, and in *SNI the name to check instead when
 * that host is not one the certificate names (else NULL). */
static int server_endpoint(const char *dir, const char *arg, char **endpoint,
			   char **sni)
{
	X509 *srv = load_obj(dir, "server.crt", OBJ_CERT);
	char *first = srv ? first_san(srv) : NULL;
	char host[ADDR_STR_MAX], buf[ADDR_STR_MAX];
	struct addr a;
	int rc = -1;

	if (srv && !first) {
		fail("%s/server.crt: no IP or DNS subjectAltName", dir);
	} else if (first && parse_server(arg, first, &a, host,
					 sizeof(host)) == 0) {
		*endpoint = xstrdup(addr_str(&a, buf, sizeof(buf)));
		*sni = cert_names_host(srv, addr_host(&a, host, sizeof(host))) ?
			       NULL : xstrdup(first);
		rc = 0;
	}
	free(first);
	X509_free(srv);
	return rc;
}

static int write_profile(const char *dir, const char *file, const char *name,
			 const char *endpoint, const char *sni,
			 const struct ca *ca, X509 *cert, EVP_PKEY *key)
{
	BIO *b = membio();
	int ok;

	ok = BIO_printf(b, "# proxy-client profile for %s, written by "
			"`proxy-server add-client`.\n# Run: proxy-client -c "
			"%s.conf    (then point SOCKS5 clients at "
			"127.0.0.1:1080)\nserver %s\n",
			name, name, endpoint) > 0;
	if (ok && sni)
		ok = BIO_printf(b, "server-name %s\n", sni) > 0;
	ok = ok &&
	     BIO_puts(b, "socks 127.0.0.1:1080\nlog-level info\n<ca>\n") > 0 &&
	     PEM_write_bio_X509(b, ca->cert) &&
	     BIO_puts(b, "</ca>\n<cert>\n") > 0 &&
	     PEM_write_bio_X509(b, cert) &&
	     BIO_puts(b, "</cert>\n<key>\n") > 0 &&
	     PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) &&
	     BIO_puts(b, "</key>\n") > 0;
	return save_bio(b, ok, dir, file, 0600, WF_NOREPLACE);
}

/* Issues NAME's key and certificate, writes DIR/FILE (the profile) and
 * appends NAME to the index TEXT (removing the profile if that fails). */
static int add_client(const char *dir, const char *file, const char *name,
		      const char *text, const struct ca *ca,
		      const char *endpoint, const char *sni, int days)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = NULL;
	char *serial = NULL, *out, *path = path_join(dir, file);
	size_t len = strlen(text);
	int rc = -1;

	if (key)
		cert = cert_make(key, name, days, ca, "clientAuth", NULL, 0);
	if (cert)
		serial = serial_hex(X509_get0_serialNumber(cert));
	if (!serial)
		fail_ssl("making the certificate for %s", name);
	else if (write_profile(dir, file, name, endpoint, sni, ca, cert,
			       key) == 0) {
		out = xasprintf("%s%s%s %s valid\n", text,
				len && text[len - 1] != '\n' ? "\n" : "",
				name, serial);
		rc = save_obj(dir, "index.txt", OBJ_TEXT, out, 0644,
			      WF_REPLACE);
		if (rc < 0)
			unlink(path);
		free(out);
	}
	if (rc == 0)
		printf("proxy-server add-client: wrote %s (client %s, serial "
		       "%s)\nNext: copy it to the client machine over a safe "
		       "channel (it holds a private key) and run: "
		       "proxy-client -c %s.conf\n", path, name, serial, name);
	free(path);
	free(serial);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

int pki_add_client(const char *dir, const char *name, const char *server,
		   int days)
{
	char *text = NULL, *endpoint = NULL, *sni = NULL, *file = NULL;
	struct ca ca = { NULL, NULL };
	struct idx_ent e = { NULL, NULL, "", 0 };
	int lock, found, rc = 1;

	pki_cmd = "add-client";
	if (!valid_client_name(name)) {
		fail("bad client name \"%s\": use 1 to 64 letters, digits, "
		     "'.', '_' or '-', starting with a letter or digit", name);
		return 1;
	}
	if (check_days(days) < 0 || (lock = lock_dir(dir)) < 0)
		return 1;
	found = index_find(dir, name, &text, &e);
	if (found > 0)
		fail("%s/index.txt: a client named \"%s\" already exists "
		     "(%s); pick another name", dir, name,
		     e.revoked ? "revoked" : "valid");
	if (found == 0) {
		file = xasprintf("clients/%s.conf", name);
		if (absent(dir, file, "remove it or pick another name") == 0 &&
		    ca_load(dir, &ca) == 0 &&
		    server_endpoint(dir, server, &endpoint, &sni) == 0 &&
		    add_client(dir, file, name, text, &ca, endpoint, sni,
			       days) == 0)
			rc = 0;
	}
	free(file);
	free(endpoint);
	free(sni);
	free(text);
	ca_free(&ca);
	close(lock);
	return rc;
}

/* ---- revoke ----------------------------------------------------------- */

/* Adds SERIAL (hex) to DIR/crl.pem, signed again by the CA. */
static int revoke_serial(const char *dir, const char *serial)
{
	struct ca ca = { NULL, NULL };
	ASN1_INTEGER *ai = NULL;
	X509_CRL *crl = NULL;
	BIGNUM *bn = NULL;
	int rc = -1;

	if (BN_hex2bn(&bn, serial) != (int)strlen(serial) ||
	    !(ai = BN_to_ASN1_INTEGER(bn, NULL)))
		fail("%s/index.txt: bad serial %s", dir, serial);
	else if (ca_load(dir, &ca) == 0 && (crl = crl_open(dir, &ca))) {
		if (crl_add(crl, ai) < 0 || crl_sign(crl, &ca) < 0)
			fail_ssl("%s/crl.pem: signing", dir);
		else
			rc = save_obj(dir, "crl.pem", OBJ_CRL, crl, 0644,
				      WF_REPLACE);
	}
	X509_CRL_free(crl);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	ca_free(&ca);
	return rc;
}

int pki_revoke(const char *dir, const char *name)
{
	struct idx_ent e = { NULL, NULL, "", 0 };
	char *text = NULL, *out;
	int lock, found, rc = 1;

	pki_cmd = "revoke";
	if ((lock = lock_dir(dir)) < 0)
		return 1;
	found = index_find(dir, name, &text, &e);
	if (found == 0)
		fail("%s/index.txt: no client named \"%s\"", dir, name);
	else if (found > 0 && e.revoked)
		fail("%s/index.txt: client \"%s\" is already revoked", dir,
		     name);
	if (found > 0 && !e.revoked && revoke_serial(dir, e.serial) == 0) {
		/* crl.pem first: a crash in between leaves the client
		 * revoked but listed as valid, and revoke can be rerun. */
		out = xasprintf("%.*s%s %s revoked%s", (int)(e.start - text),
				text, name, e.serial, e.end);
		if (save_obj(dir, "index.txt", OBJ_TEXT, out, 0644,
			     WF_REPLACE) == 0)
			rc = 0;
		free(out);
	}
	if (rc == 0)
		printf("proxy-server revoke: %s (serial %s) is revoked in "
		       "%s/crl.pem.\nA running server refuses %s from its next "
		       "connection on.\n", name, e.serial, dir, name);
	free(text);
	close(lock);
	return rc;
}
