/* Keys, certificates and the CRL of the PKI subcommands.
 *
 * Keys are EC P-256, signatures SHA-256, serials 127 random bits. */
#include "pki_cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/util.h"
#include "pki_file.h"

struct ext {
	int nid;
	const char *value; /* NULL: the extended key usage asked for */
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

/* ---- names ------------------------------------------------------------ */

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}: safe as a file name and as a CN. */
int pki_valid_client_name(const char *s)
{
	size_t i;

	if (!is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i]; i++)
		if (i >= PKI_CN_MAX ||
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

/* PKI_SAN_IP, PKI_SAN_DNS or PKI_SAN_NONE: what NAME would be in a
 * subjectAltName. */
int pki_san_kind(const char *name)
{
	unsigned char ip[16];

	if (parse_ip(name, ip))
		return PKI_SAN_IP;
	return valid_dns_name(name) ? PKI_SAN_DNS : PKI_SAN_NONE;
}

/* ---- keys and certificates -------------------------------------------- */

/* A new EC P-256 key. */
EVP_PKEY *pki_key_new(void)
{
	return EVP_EC_gen("P-256");
}

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
char *pki_cert_serial_hex(const X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
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

	s = ASN1_STRING_type_new(iplen ? V_ASN1_OCTET_STRING :
					 V_ASN1_IA5STRING);
	if (!g || !s ||
	    !(iplen ? ASN1_STRING_set(s, ip, iplen) :
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
X509 *pki_cert_make(EVP_PKEY *key, const char *cn, int days,
		    const struct pki_ca *ca, const char *eku,
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
	if (ok && ca &&
	    ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(iss)) >
		    0)
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
char *pki_first_san(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
					       NULL);
	char buf[INET6_ADDRSTRLEN], *s = NULL;
	int i, type, len;

	for (i = 0; !s && i < sk_GENERAL_NAME_num(gens); i++) {
		ASN1_STRING *v =
			GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i),
						&type);
		const unsigned char *d = ASN1_STRING_get0_data(v);

		len = ASN1_STRING_length(v);
		if (type == GEN_DNS) {
			s = pki_asprintf("%.*s", len, (const char *)d);
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
int pki_cert_names_host(X509 *x, const char *host)
{
	unsigned char ip[16];

	if (parse_ip(host, ip))
		return X509_check_ip_asc(x, host, 0) == 1;
	return X509_check_host(x, host, 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
			       NULL) == 1;
}

/* ---- the CA and its CRL ----------------------------------------------- */

void pki_ca_free(struct pki_ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

int pki_ca_load(const char *dir, struct pki_ca *ca)
{
	ca->cert = pki_load_obj(dir, "ca.crt", PKI_OBJ_CERT);
	ca->key = ca->cert ? pki_load_obj(dir, "ca.key", PKI_OBJ_KEY) : NULL;
	if (!ca->key)
		return -1;
	if (X509_check_private_key(ca->cert, ca->key) == 1)
		return 0;
	ERR_clear_error();
	pki_fail("%s: ca.crt and ca.key do not belong together", dir);
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
static int crl_sign(X509_CRL *crl, const struct pki_ca *ca)
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
static X509_CRL *crl_open(const char *dir, const struct pki_ca *ca)
{
	char *path = pki_path(dir, "crl.pem");
	X509_CRL *crl;

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		crl = crl_new(ca->cert);
		if (!crl)
			pki_fail_ssl("%s: making a new CRL", path);
	} else {
		crl = pki_load_obj(dir, "crl.pem", PKI_OBJ_CRL);
		if (crl &&
		    X509_CRL_verify(crl, X509_get0_pubkey(ca->cert)) != 1) {
			pki_fail("%s: not signed by the CA in ca.crt", path);
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
	free(path);
	return crl;
}

/* A new CRL of the CA, listing nothing, signed. */
X509_CRL *pki_crl_create(const struct pki_ca *ca)
{
	X509_CRL *crl = crl_new(ca->cert);

	if (crl && crl_sign(crl, ca) < 0) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

/* Adds SERIAL (hex) to DIR/crl.pem, signed again by the CA. */
int pki_crl_revoke(const char *dir, const char *serial)
{
	struct pki_ca ca = { NULL, NULL };
	ASN1_INTEGER *ai = NULL;
	X509_CRL *crl = NULL;
	BIGNUM *bn = NULL;
	int rc = -1;

	if (BN_hex2bn(&bn, serial) != (int)strlen(serial) ||
	    !(ai = BN_to_ASN1_INTEGER(bn, NULL)))
		pki_fail("%s/index.txt: bad serial %s", dir, serial);
	else if (pki_ca_load(dir, &ca) == 0 && (crl = crl_open(dir, &ca))) {
		if (crl_add(crl, ai) < 0 || crl_sign(crl, &ca) < 0)
			pki_fail_ssl("%s/crl.pem: signing", dir);
		else
			rc = pki_save_obj(dir, "crl.pem", PKI_OBJ_CRL, crl,
					  0644, PKI_WF_REPLACE);
	}
	X509_CRL_free(crl);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	pki_ca_free(&ca);
	return rc;
}
