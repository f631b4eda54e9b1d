/* The PKI subcommands of proxy-server: init, add-client and revoke.
 *
 * Keys, certificates and the CRL are made in pki_cert.c; every file is
 * written atomically by pki_file.c.
 *
 * DIR/index.txt has one line per client certificate ever issued, "NAME
 * SERIALHEX valid|revoked"; add-client and revoke hold an flock on DIR
 * while they read and rewrite it. */
#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "../common/addr.h"
#include "../common/util.h"
#include "pki_cert.h"
#include "pki_file.h"
#include "server_conf.h"

/* One index.txt line. */
struct idx_ent {
	const char *start, *end; /* in the file's text, without '\n' */
	char serial[80];
	int revoked;
};

/* server.conf as init writes it; %d is the listen port. */
static const char server_conf[] =
	"# proxy-server configuration written by `proxy-server init`.\n"
	"# Every directive is explained in proxy.conf(5) and in the example\n"
	"# server.conf under /usr/share/doc/proxy (conf/ in the source).\n"
	"listen [::]:%d\n"
	"ca ca.crt\n"
	"cert server.crt\n"
	"key server.key\n"
	"crl crl.pem\n"
	"log-level info\n";

/* Added for a PKI outside SERVER_CONF_DIR (a demo, a test, a second
 * server): its usage counts stay beside it, not in the system server's
 * SERVER_STATE_DIR. */
static const char own_state[] =
	"# usage counts: this directory is not " SERVER_CONF_DIR "\n"
	"state-dir state\n";

/* DIR is the system's configuration directory. */
static int is_system_dir(const char *dir)
{
	char real[PATH_MAX];

	return realpath(dir, real) && strcmp(real, SERVER_CONF_DIR) == 0;
}

static int check_days(int days)
{
	if (days >= 1 && days <= 36500)
		return 0;
	pki_fail("--days %d: must be between 1 and 36500", days);
	return -1;
}

/* ---- index.txt -------------------------------------------------------- */

/* Reads DIR/index.txt into *TEXT (none yet: empty) and looks NAME up:
 * 1 and *E filled if found, 0 if not, -1 on an error (reported). Blank
 * lines and lines starting with '#' are skipped. */
static int index_find(const char *dir, const char *name, char **text,
		      struct idx_ent *e)
{
	char *path = pki_path(dir, "index.txt"), *p, *eol;
	int lineno, rc = 0;
	size_t len;

	*text = read_file(path, PKI_FILE_MAX, &len);
	if (!*text && errno == ENOENT)
		*text = xstrdup("");
	if (!*text) {
		pki_fail_sys("%s", path);
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
			pki_fail("%s:%d: malformed line (want \"NAME SERIAL "
				 "valid|revoked\")",
				 path, lineno);
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

/* The CA's name is shown to anyone who completes a handshake with the
 * server (it issued the server's certificate), so the default names no
 * product: "CA" and eight random hex digits. */
static int check_ca_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!name)
		return 0;
	while (*p >= 0x20 && *p != 0x7f)
		p++;
	if (*name && !*p && p - (const unsigned char *)name <= PKI_CN_MAX)
		return 0;
	pki_fail("--ca-name \"%s\": want 1 to %d printable characters", name,
		 PKI_CN_MAX);
	return -1;
}

/* A server that drops root (user/group in server.conf) re-reads crl.pem
 * after every revoke, and SIGHUP re-reads server.conf: the folder must
 * let it in. Search only, no listing; the keys stay 0600 and clients/
 * 0700, so nothing secret becomes readable. */
static int let_server_in(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0 && chmod(dir, (st.st_mode & 07777) | 0111) == 0)
		return 0;
	pki_fail_sys("%s", dir);
	return -1;
}

static int check_names(const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (pki_san_kind(names[i]) != PKI_SAN_NONE)
			continue;
		pki_fail(
			"--server-name \"%s\": not an IP address or a DNS name",
			names[i]);
		return -1;
	}
	return 0;
}

static int init_write(const char *dir, const struct pki_ca *ca, EVP_PKEY *skey,
		      X509 *scert, X509_CRL *crl, const char *conf)
{
	const struct {
		const char *file;
		enum pki_obj_kind kind;
		const void *obj;
		mode_t mode;
		int how;
	} f[] = {
		{ "server.key", PKI_OBJ_KEY, skey, 0600, PKI_WF_REPLACE },
		{ "server.crt", PKI_OBJ_CERT, scert, 0644, PKI_WF_REPLACE },
		{ "crl.pem", PKI_OBJ_CRL, crl, 0644, PKI_WF_REPLACE },
		{ "index.txt", PKI_OBJ_TEXT, "", 0644, PKI_WF_REPLACE },
		{ "server.conf", PKI_OBJ_TEXT, conf, 0644, PKI_WF_REPLACE },
		/* The CA last: until it exists, init can simply be rerun. */
		{ "ca.key", PKI_OBJ_KEY, ca->key, 0600, PKI_WF_NOREPLACE },
		{ "ca.crt", PKI_OBJ_CERT, ca->cert, 0644, PKI_WF_NOREPLACE },
	};
	char *path = pki_path(dir, "clients");
	int rc = pki_make_dir(path);
	size_t i;

	for (i = 0; rc == 0 && i < ARRAY_SIZE(f); i++)
		rc = pki_save_obj(dir, f[i].file, f[i].kind, f[i].obj,
				  f[i].mode, f[i].how);
	free(path);
	if (rc < 0 && i == ARRAY_SIZE(f)) { /* no ca.crt: drop ca.key */
		path = pki_path(dir, "ca.key");
		unlink(path);
		free(path);
	}
	return rc;
}

static void init_report(const char *dir, const char *const *names, int nnames,
			int defaulted)
{
	int i;

	printf("proxy-server init: wrote a new CA, server certificate and "
	       "server.conf in %s\n  the server certificate names",
	       dir);
	for (i = 0; i < nnames; i++)
		printf(" %s:%s",
		       pki_san_kind(names[i]) == PKI_SAN_IP ? "IP" : "DNS",
		       names[i]);
	printf("\n  keep %s/ca.key secret: it can make new clients\n", dir);
	if (defaulted)
		printf("  no --server-name was given: pass add-client "
		       "--server HOST:PORT\n");
	printf("Next: proxy-server add-client %s NAME, and start the server "
	       "with proxy-server -c %s/server.conf\n",
	       dir, dir);
}

int pki_init(const char *dir, const struct pki_init_opts *o)
{
	static const char *const dflt[] = { "proxy-server" };
	static const char exists[] = "refusing to overwrite an existing CA";
	const char *const *names = o->names;
	int nnames = o->nnames, rc = 1, defaulted = nnames <= 0;
	struct pki_ca ca = { NULL, NULL };
	EVP_PKEY *skey = NULL;
	char *base;
	X509 *scert = NULL;
	X509_CRL *crl = NULL;
	unsigned char rnd[4];
	char *cn = NULL, *conf;

	pki_set_cmd("init");
	if (check_days(o->days) < 0 || check_names(names, nnames) < 0 ||
	    check_ca_name(o->ca_name) < 0)
		return 1;
	if (o->port < 1 || o->port > 65535) {
		pki_fail("--port %d: must be between 1 and 65535", o->port);
		return 1;
	}
	if (defaulted) {
		names = dflt;
		nnames = 1;
	}
	if (pki_make_dir(dir) < 0 || pki_absent(dir, "ca.crt", exists) < 0 ||
	    pki_absent(dir, "ca.key", exists) < 0)
		return 1;
	if (let_server_in(dir) < 0)
		return 1;
	if (RAND_bytes(rnd, sizeof(rnd)) == 1) {
		cn = o->ca_name ? xstrdup(o->ca_name) :
				  pki_asprintf("CA %02x%02x%02x%02x", rnd[0],
					       rnd[1], rnd[2], rnd[3]);
		ca.key = pki_key_new();
		skey = pki_key_new();
	}
	if (ca.key && skey)
		ca.cert = pki_cert_make(ca.key, cn, o->days, NULL, NULL, NULL,
					0);
	if (ca.cert)
		scert = pki_cert_make(skey,
				      strlen(names[0]) <= PKI_CN_MAX ?
					      names[0] :
					      "proxy-server",
				      o->days, &ca, "serverAuth", names,
				      nnames);
	if (scert)
		crl = pki_crl_create(&ca);
	base = pki_asprintf(server_conf, o->port);
	conf = pki_asprintf("%s%s", base, is_system_dir(dir) ? "" : own_state);
	free(base);
	if (!crl)
		pki_fail_ssl("%s: making the CA and server certificate", dir);
	else if (init_write(dir, &ca, skey, scert, crl, conf) == 0)
		rc = 0;
	if (rc == 0 && !o->quiet)
		init_report(dir, names, nnames, defaulted);
	free(conf);
	X509_CRL_free(crl);
	X509_free(scert);
	EVP_PKEY_free(skey);
	pki_ca_free(&ca);
	free(cn);
	return rc;
}

/* ---- add-client ------------------------------------------------------- */

/* The host of A as text: its domain, or BUF holding its address. */
static const char *addr_host(const struct addr *a, char *buf, size_t len)
{
	if (a->type == ADDR_DOMAIN)
		return a->u.domain;
	return inet_ntop(a->type == ADDR_IPV4 ? AF_INET : AF_INET6, &a->u, buf,
			 (socklen_t)len);
}

/* --server ARG as the client will read its "server" line (addr_parse,
 * port 443 by default), or without ARG the SAN FIRST, port PORT. A bare
 * IPv6 address is refused: its last group would look like a port. */
static int parse_server(const char *arg, const char *first, int port,
			struct addr *a, char *host, size_t hlen)
{
	const char *colon = arg ? strchr(arg, ':') : NULL;
	const char *h;

	if (!arg) {
		if (addr_parse_host(first, a) == 0 &&
		    addr_host(a, host, hlen)) {
			a->port = (uint16_t)port;
			return 0;
		}
		pki_fail("the server certificate's name %s is no usable host: "
			 "give --server HOST:PORT",
			 first);
		return -1;
	}
	if (arg[0] != '[' && colon && strchr(colon + 1, ':')) {
		pki_fail("--server %s: write an IPv6 address as [ADDRESS]:PORT",
			 arg);
		return -1;
	}
	if (addr_parse(arg, 443, a) == 0 && a->port != 0 &&
	    (h = addr_host(a, host, hlen)) && strcmp(h, "::") != 0 &&
	    strcmp(h, "0.0.0.0") != 0)
		return 0;
	pki_fail("--server %s: expected HOST:PORT or [IPV6]:PORT", arg);
	return -1;
}

/* The profile's "server" value for ARG (NULL: the server certificate's
 * first SAN and server.conf's listen port) in *ENDPOINT, and in *SNI the
 * name to check instead when that host is not one the certificate names
 * (else NULL). */
static int server_endpoint(const char *dir, const char *arg, char **endpoint,
			   char **sni)
{
	int port = arg ? 443 : pki_listen_port(dir);
	X509 *srv = pki_load_obj(dir, "server.crt", PKI_OBJ_CERT);
	char *first = srv ? pki_first_san(srv) : NULL;
	char host[ADDR_STR_MAX], buf[ADDR_STR_MAX];
	struct addr a;
	int rc = -1;

	if (srv && !first) {
		pki_fail("%s/server.crt: no IP or DNS subjectAltName", dir);
	} else if (first && port > 0 &&
		   parse_server(arg, first, port, &a, host, sizeof(host)) ==
			   0) {
		*endpoint = xstrdup(addr_str(&a, buf, sizeof(buf)));
		*sni = pki_cert_names_host(srv,
					   addr_host(&a, host, sizeof(host))) ?
			       NULL :
			       xstrdup(first);
		rc = 0;
	}
	free(first);
	X509_free(srv);
	return rc;
}

/* The profile's text in a new memory BIO B; 0 if filling it failed. */
static int make_profile(BIO *b, const char *name, const char *endpoint,
			const char *sni, const struct pki_ca *ca, X509 *cert,
			EVP_PKEY *key)
{
	int ok;

	ok = BIO_printf(b,
			"# proxy-client profile for %s, written by "
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
	return ok;
}

/* NAME SERIAL appended to the index TEXT, written to DIR/index.txt. */
static int index_append(const char *dir, const char *text, const char *name,
			const char *serial)
{
	size_t len = strlen(text);
	char *out = pki_asprintf("%s%s%s %s valid\n", text,
				 len && text[len - 1] != '\n' ? "\n" : "", name,
				 serial);
	int rc = pki_save_obj(dir, "index.txt", PKI_OBJ_TEXT, out, 0644,
			      PKI_WF_REPLACE);

	free(out);
	return rc;
}

/* --print: the index first, so no profile exists that revoke cannot
 * find; if stdout fails, the index gets its old text back. */
static int print_profile(const char *dir, const char *name, const char *text,
			 const char *serial, BIO *b, int ok)
{
	if (!ok) {
		pki_fail_ssl("making the profile for %s", name);
		pki_membio_free(b);
		return -1;
	}
	if (index_append(dir, text, name, serial) < 0) {
		pki_membio_free(b);
		return -1;
	}
	if (pki_print_bio(b) == 0)
		return 0;
	if (pki_save_obj(dir, "index.txt", PKI_OBJ_TEXT, text, 0644,
			 PKI_WF_REPLACE) < 0)
		pki_fail("%s is in %s/index.txt but its profile was lost: "
			 "revoke it",
			 name, dir);
	return -1;
}

/* Issues NAME's key and certificate, writes DIR/FILE (the profile) and
 * appends NAME to the index TEXT (removing the profile if that fails);
 * with O->print the profile goes to stdout instead of DIR/FILE. */
static int add_client(const char *dir, const char *file, const char *name,
		      const char *text, const struct pki_ca *ca,
		      const char *endpoint, const char *sni,
		      const struct pki_client_opts *o)
{
	EVP_PKEY *key = pki_key_new();
	X509 *cert = NULL;
	char *serial = NULL, *path = pki_path(dir, file);
	BIO *b;
	int rc = -1;

	if (key)
		cert = pki_cert_make(key, name, o->days, ca, "clientAuth", NULL,
				     0);
	if (cert)
		serial = pki_cert_serial_hex(cert);
	if (!serial) {
		pki_fail_ssl("making the certificate for %s", name);
		goto out;
	}
	b = pki_membio();
	if (o->print) {
		rc = print_profile(dir, name, text, serial, b,
				   make_profile(b, name, endpoint, sni, ca,
						cert, key));
	} else if (pki_save_bio(b,
				make_profile(b, name, endpoint, sni, ca, cert,
					     key),
				dir, file, 0600, PKI_WF_NOREPLACE) == 0) {
		rc = index_append(dir, text, name, serial);
		if (rc < 0)
			unlink(path);
	}
	if (rc == 0 && o->print && !o->quiet)
		fprintf(stderr,
			"proxy-server add-client: printed the profile "
			"of client %s (serial %s); no copy is kept on this "
			"machine.\nIt holds a private key: store or move it "
			"only over a safe channel.\n",
			name, serial);
	else if (rc == 0 && !o->quiet)
		printf("proxy-server add-client: wrote %s (client %s, serial "
		       "%s)\nNext: copy it to the client machine over a safe "
		       "channel (it holds a private key) and run: "
		       "proxy-client -c %s.conf\n",
		       path, name, serial, name);
out:
	free(path);
	free(serial);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

int pki_add_client(const char *dir, const char *name,
		   const struct pki_client_opts *o)
{
	char *text = NULL, *endpoint = NULL, *sni = NULL, *file = NULL;
	struct pki_ca ca = { NULL, NULL };
	struct idx_ent e = { NULL, NULL, "", 0 };
	int lock, found, rc = 1;

	pki_set_cmd("add-client");
	if (!pki_valid_client_name(name)) {
		pki_fail("bad client name \"%s\": use 1 to 64 letters, digits, "
			 "'.', '_' or '-', starting with a letter or digit",
			 name);
		return 1;
	}
	if (check_days(o->days) < 0 || (lock = pki_lock_dir(dir)) < 0)
		return 1;
	found = index_find(dir, name, &text, &e);
	if (found > 0)
		pki_fail("%s/index.txt: a client named \"%s\" already exists "
			 "(%s); pick another name",
			 dir, name, e.revoked ? "revoked" : "valid");
	if (found == 0) {
		file = pki_asprintf("clients/%s.conf", name);
		if (!pki_absent(dir, file, "remove it or pick another name") &&
		    pki_ca_load(dir, &ca) == 0 &&
		    server_endpoint(dir, o->server, &endpoint, &sni) == 0 &&
		    add_client(dir, file, name, text, &ca, endpoint, sni, o) ==
			    0)
			rc = 0;
	}
	free(file);
	free(endpoint);
	free(sni);
	free(text);
	pki_ca_free(&ca);
	close(lock);
	return rc;
}

/* ---- revoke ----------------------------------------------------------- */

int pki_revoke(const char *dir, const char *name)
{
	struct idx_ent e = { NULL, NULL, "", 0 };
	char *text = NULL, *out;
	int lock, found, rc = 1;

	pki_set_cmd("revoke");
	if ((lock = pki_lock_dir(dir)) < 0)
		return 1;
	found = index_find(dir, name, &text, &e);
	if (found == 0)
		pki_fail("%s/index.txt: no client named \"%s\"", dir, name);
	else if (found > 0 && e.revoked)
		pki_fail("%s/index.txt: client \"%s\" is already revoked", dir,
			 name);
	if (found > 0 && !e.revoked && pki_crl_revoke(dir, e.serial) == 0) {
		/* crl.pem first: a crash in between leaves the client
		 * revoked but listed as valid, and revoke can be rerun. */
		out = pki_asprintf("%.*s%s %s revoked%s", (int)(e.start - text),
				   text, name, e.serial, e.end);
		if (pki_save_obj(dir, "index.txt", PKI_OBJ_TEXT, out, 0644,
				 PKI_WF_REPLACE) == 0)
			rc = 0;
		free(out);
	}
	if (rc == 0)
		printf("proxy-server revoke: %s (serial %s) is revoked in "
		       "%s/crl.pem.\nA running server refuses %s from its next "
		       "connection on.\n",
		       name, e.serial, dir, name);
	free(text);
	close(lock);
	return rc;
}

/* ---- the listen port -------------------------------------------------- */

int pki_listen_port(const char *dir)
{
	char *path = pki_path(dir, "server.conf"), err[CONF_ERR_MAX];
	int port = 443;

	if (access(path, F_OK) == 0) {
		port = server_conf_listen_port(path, err, sizeof(err));
		if (port < 0)
			pki_fail("%s", err);
	}
	free(path);
	return port;
}
