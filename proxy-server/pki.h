/* The PKI subcommands: a private CA, the server certificate, one client
 * profile per user, and revocation, so nobody has to walk easy-rsa.
 * These run once from the command line (not in the event loop) and print
 * their own errors to stderr. Each returns 0 or 1 (the exit status). */
#ifndef PROXY_SERVER_PKI_H
#define PROXY_SERVER_PKI_H

struct pki_init_opts {
	const char *const *names; /* the server certificate's names */
	int nnames;
	int days;
	const char *ca_name; /* the CA's common name; NULL: neutral */
	int port;            /* server.conf's listen port */
	int quiet;           /* no report on stdout (setup has its own) */
};

struct pki_client_opts {
	const char *server; /* HOST:PORT; NULL: first SAN, listen port */
	int days;
	int print; /* profile to stdout, no file kept */
	int quiet; /* no report on stdout */
};

int pki_init(const char *dir, const struct pki_init_opts *o);
int pki_add_client(const char *dir, const char *name,
		   const struct pki_client_opts *o);
int pki_revoke(const char *dir, const char *name);

/* The port of DIR/server.conf's first listen line: 443 when the file or
 * the line is missing, -1 when the file is bad (told on stderr). */
int pki_listen_port(const char *dir);

#endif
