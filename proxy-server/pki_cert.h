/* Keys, certificates and the CRL of the PKI subcommands (internal to
 * pki.c). Functions returning a pointer give NULL on an OpenSSL error,
 * left queued for pki_fail_ssl(); ca_load() and crl_revoke() report their
 * own errors and return 0 or -1. */
#ifndef PROXY_SERVER_PKI_CERT_H
#define PROXY_SERVER_PKI_CERT_H

#include <openssl/types.h>

#define CN_MAX 64		/* ub-common-name */

enum { SAN_NONE, SAN_IP, SAN_DNS };

struct ca {
	X509 *cert;
	EVP_PKEY *key;
};

int valid_client_name(const char *s);
int san_kind(const char *name);

EVP_PKEY *key_new(void);
X509 *cert_make(EVP_PKEY *key, const char *cn, int days, const struct ca *ca,
		 const char *eku, const char *const *sans, int nsans);
char *cert_serial_hex(const X509 *x);
char *first_san(X509 *x);
int cert_names_host(X509 *x, const char *host);

int ca_load(const char *dir, struct ca *ca);
void ca_free(struct ca *ca);
X509_CRL *crl_create(const struct ca *ca);
int crl_revoke(const char *dir, const char *serial);

#endif
