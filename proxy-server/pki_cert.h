/* Keys, certificates and the CRL of the PKI subcommands (internal to
 * pki.c). Functions returning a pointer give NULL on an OpenSSL error,
 * left queued for pki_fail_ssl(); pki_ca_load() and pki_crl_revoke()
 * report their own errors and return 0 or -1. */
#ifndef PROXY_SERVER_PKI_CERT_H
#define PROXY_SERVER_PKI_CERT_H

#include <openssl/types.h>

#define PKI_CN_MAX 64 /* ub-common-name */

enum { PKI_SAN_NONE, PKI_SAN_IP, PKI_SAN_DNS };

struct pki_ca {
	X509 *cert;
	EVP_PKEY *key;
};

int pki_valid_client_name(const char *s);
int pki_san_kind(const char *name);

EVP_PKEY *pki_key_new(void);
X509 *pki_cert_make(EVP_PKEY *key, const char *cn, int days,
		    const struct pki_ca *ca, const char *eku,
		    const char *const *sans, int nsans);
char *pki_cert_serial_hex(const X509 *x);
char *pki_first_san(X509 *x);
int pki_cert_names_host(X509 *x, const char *host);

int pki_ca_load(const char *dir, struct pki_ca *ca);
void pki_ca_free(struct pki_ca *ca);
X509_CRL *pki_crl_create(const struct pki_ca *ca);
int pki_crl_revoke(const char *dir, const char *serial);

#endif
