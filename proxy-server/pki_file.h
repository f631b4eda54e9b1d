/* Messages and files of the PKI subcommands: errors told on stderr as
 * "proxy-server CMD: ...", and the files of the PKI directory read whole
 * or written atomically (temp file, fsync, rename or link). Internal to
 * pki.c and pki_cert.c. Unless said otherwise, functions return 0 or -1
 * (or NULL) and have reported the failure. */
#ifndef PROXY_SERVER_PKI_FILE_H
#define PROXY_SERVER_PKI_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/types.h>

enum { R_NONE, R_ERRNO, R_SSL };	/* what complain() appends */
enum { WF_REPLACE, WF_NOREPLACE };
enum obj_kind { OBJ_CERT, OBJ_KEY, OBJ_CRL, OBJ_TEXT };

extern const char *pki_cmd;	/* the subcommand, for messages */

void complain(int why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define fail(...) complain(R_NONE, __VA_ARGS__)
#define fail_sys(...) complain(R_ERRNO, __VA_ARGS__)
#define fail_ssl(...) complain(R_SSL, __VA_ARGS__)

char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *path_join(const char *dir, const char *name);

#define PKI_FILE_MAX (1 << 24)	/* largest file we read (read_file) */

/* Writes what memory BIO B holds to DIR/FILE (OK: filling B worked),
 * then wipes and frees B. WF_NOREPLACE never replaces an existing file. */
BIO *membio(void);
int save_bio(BIO *b, int ok, const char *dir, const char *file, mode_t mode,
	     int how);

/* A PEM object (OBJ_TEXT: a string) written to or read from DIR/FILE. */
int save_obj(const char *dir, const char *file, enum obj_kind kind,
	     const void *obj, mode_t mode, int how);
void *load_obj(const char *dir, const char *file, enum obj_kind kind);

/* PATH as a directory (made with mode 0700 if missing). */
int make_dir(const char *path);
/* 0 if DIR/FILE does not exist; else says so, with WHY. */
int absent(const char *dir, const char *file, const char *why);
/* An fd holding an flock on DIR (add-client and revoke), or -1. */
int lock_dir(const char *dir);

#endif
