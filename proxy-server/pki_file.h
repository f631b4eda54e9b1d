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

enum { PKI_R_NONE, PKI_R_ERRNO, PKI_R_SSL }; /* what pki_complain() appends */
enum { PKI_WF_REPLACE, PKI_WF_NOREPLACE };
enum pki_obj_kind { PKI_OBJ_CERT, PKI_OBJ_KEY, PKI_OBJ_CRL, PKI_OBJ_TEXT };

/* The subcommand that runs, named by every message. */
void pki_set_cmd(const char *cmd);

void pki_complain(int why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pki_fail(...) pki_complain(PKI_R_NONE, __VA_ARGS__)
#define pki_fail_sys(...) pki_complain(PKI_R_ERRNO, __VA_ARGS__)
#define pki_fail_ssl(...) pki_complain(PKI_R_SSL, __VA_ARGS__)

char *pki_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *pki_path(const char *dir, const char *name);

#define PKI_FILE_MAX (1 << 24) /* largest file we read (read_file) */

/* Writes what memory BIO B holds to DIR/FILE (OK: filling B worked),
 * then wipes and frees B. PKI_WF_NOREPLACE never replaces an existing file. */
BIO *pki_membio(void);
int pki_save_bio(BIO *b, int ok, const char *dir, const char *file, mode_t mode,
		 int how);
/* The same to stdout (add-client --print), then wiped and freed. */
int pki_print_bio(BIO *b);
/* Wipes what B holds and frees it. */
void pki_membio_free(BIO *b);

/* A PEM object (PKI_OBJ_TEXT: a string) written to or read from DIR/FILE. */
int pki_save_obj(const char *dir, const char *file, enum pki_obj_kind kind,
		 const void *obj, mode_t mode, int how);
void *pki_load_obj(const char *dir, const char *file, enum pki_obj_kind kind);

/* PATH as a directory (made with mode 0700 if missing). */
int pki_make_dir(const char *path);
/* 0 if DIR/FILE does not exist; else says so, with WHY. */
int pki_absent(const char *dir, const char *file, const char *why);
/* An fd holding an flock on DIR (add-client and revoke), or -1. */
int pki_lock_dir(const char *dir);

#endif
