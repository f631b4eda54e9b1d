/* The PKI subcommands: a private CA, the server certificate, one client
 * profile per user, and revocation, so nobody has to walk easy-rsa.
 * These run once from the command line (not in the event loop) and print
 * their own errors to stderr. Each returns 0 or 1 (the exit status). */
#ifndef PROXY_SERVER_PKI_H
#define PROXY_SERVER_PKI_H

/* ca_name: the CA's common name, NULL for a neutral random one. */
int pki_init(const char *dir, const char *const *names, int nnames,
	     int days, const char *ca_name);
int pki_add_client(const char *dir, const char *name, const char *server,
		   int days);
int pki_revoke(const char *dir, const char *name);

#endif
