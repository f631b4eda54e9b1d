/* Messages and files of the PKI subcommands (pki.c, pki_cert.c).
 *
 * Every file is written to a temp file beside it (mkstemp: O_EXCL, mode
 * 0600), flushed, given its mode and renamed into place, so a crash
 * leaves the old file or the new one, never half of one. PEM text
 * holding a private key is wiped before its memory is freed. */
#include "pki_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../common/util.h"

static const char *pki_cmd = "pki";

void pki_set_cmd(const char *cmd)
{
	pki_cmd = cmd;
}

/* ---- messages --------------------------------------------------------- */

/* "proxy-server CMD: MESSAGE[: strerror(errno) or the OpenSSL error]". */
void pki_complain(int why, const char *fmt, ...)
{
	char reason[256] = "unknown OpenSSL error";
	int err = errno;
	unsigned long e = ERR_peek_last_error();
	va_list ap;

	if (why == PKI_R_ERRNO)
		snprintf(reason, sizeof(reason), "%s", strerror(err));
	else if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	fprintf(stderr, "proxy-server %s: ", pki_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (why == PKI_R_NONE)
		fputc('\n', stderr);
	else
		fprintf(stderr, ": %s\n", reason);
}

static void __attribute__((noreturn)) oom(void)
{
	fputs("proxy-server: out of memory\n", stderr);
	abort();
}

char *pki_asprintf(const char *fmt, ...)
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

char *pki_path(const char *dir, const char *name)
{
	int n = (int)strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return pki_asprintf("%.*s/%s", n, dir, name);
}

/* Writes PATH through a temp file beside it, renamed over PATH, or with
 * PKI_WF_NOREPLACE linked to it so an existing PATH is never replaced. */
static int write_file(const char *path, const char *data, size_t len,
		      mode_t mode, int how)
{
	char *tmp = pki_asprintf("%s.XXXXXX", path);
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
		rc = how == PKI_WF_NOREPLACE ? link(tmp, path) :
					       rename(tmp, path);
	if (rc < 0)
		pki_fail_sys("%s", path);
	if (fd >= 0 && (rc < 0 || how == PKI_WF_NOREPLACE))
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Writes what memory BIO B holds to DIR/FILE (OK: filling B worked),
 * then wipes and frees B. */
int pki_save_bio(BIO *b, int ok, const char *dir, const char *file, mode_t mode,
		 int how)
{
	char *path = pki_path(dir, file);
	BUF_MEM *bm = NULL;
	int rc = -1;

	BIO_get_mem_ptr(b, &bm);
	if (!ok || !bm)
		pki_fail_ssl("%s", path);
	else
		rc = write_file(path, bm->data, bm->length, mode, how);
	pki_membio_free(b);
	free(path);
	return rc;
}

int pki_print_bio(BIO *b)
{
	BUF_MEM *bm = NULL;
	const char *p;
	size_t left;
	ssize_t n = 0;

	BIO_get_mem_ptr(b, &bm);
	p = bm ? bm->data : NULL;
	left = bm ? bm->length : 0;
	if (fflush(stdout) == 0) {
		while (left > 0 && ((n = write(1, p, left)) > 0 ||
				    (n < 0 && errno == EINTR))) {
			if (n > 0) {
				p += n;
				left -= (size_t)n;
			}
		}
	}
	if (!bm || left > 0)
		pki_fail_sys("writing the profile to stdout");
	pki_membio_free(b);
	return bm && left == 0 ? 0 : -1;
}

void pki_membio_free(BIO *b)
{
	BUF_MEM *bm = NULL;

	BIO_get_mem_ptr(b, &bm);
	if (bm && bm->data)
		OPENSSL_cleanse(bm->data, bm->length);
	BIO_free(b);
}

BIO *pki_membio(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (!b)
		oom();
	return b;
}

int pki_save_obj(const char *dir, const char *file, enum pki_obj_kind kind,
		 const void *obj, mode_t mode, int how)
{
	BIO *b = pki_membio();
	int ok = 0;

	if (kind == PKI_OBJ_CERT)
		ok = PEM_write_bio_X509(b, obj);
	else if (kind == PKI_OBJ_KEY) /* PKCS#8, unencrypted */
		ok = PEM_write_bio_PrivateKey(b, obj, NULL, NULL, 0, NULL,
					      NULL);
	else if (kind == PKI_OBJ_CRL)
		ok = PEM_write_bio_X509_CRL(b, obj);
	else
		ok = BIO_puts(b, obj) >= 0;
	return pki_save_bio(b, ok, dir, file, mode, how);
}

/* Fails on an encrypted key instead of prompting for a passphrase. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

void *pki_load_obj(const char *dir, const char *file, enum pki_obj_kind kind)
{
	char *path = pki_path(dir, file), *text;
	void *obj = NULL;
	size_t len;
	BIO *b;

	text = read_file(path, PKI_FILE_MAX, &len);
	if (!text) {
		pki_fail_sys("%s", path);
		free(path);
		return NULL;
	}
	b = BIO_new_mem_buf(text, (int)len);
	if (!b)
		oom();
	if (kind == PKI_OBJ_CERT)
		obj = PEM_read_bio_X509(b, NULL, no_password, NULL);
	else if (kind == PKI_OBJ_KEY)
		obj = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
	else
		obj = PEM_read_bio_X509_CRL(b, NULL, no_password, NULL);
	if (!obj)
		pki_fail_ssl("%s", path);
	BIO_free(b);
	OPENSSL_clear_free(text, len + 1);
	free(path);
	return obj;
}

int pki_make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST || stat(path, &st) < 0) {
		pki_fail_sys("%s", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return 0;
	pki_fail("%s: exists and is not a directory", path);
	return -1;
}

/* 0 if DIR/FILE does not exist; else says so, with WHY. */
int pki_absent(const char *dir, const char *file, const char *why)
{
	char *path = pki_path(dir, file);
	struct stat st;
	int rc = -1;

	if (lstat(path, &st) == 0)
		pki_fail("%s: exists; %s", path, why);
	else if (errno != ENOENT)
		pki_fail_sys("%s", path);
	else
		rc = 0;
	free(path);
	return rc;
}

/* Serialises add-client and revoke on DIR: both rewrite index.txt. The
 * lock lives as long as the returned fd. */
int pki_lock_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX) == 0)
		return fd;
	pki_fail_sys("%s", dir);
	if (fd >= 0)
		close(fd);
	return -1;
}
