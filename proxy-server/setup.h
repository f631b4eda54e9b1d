/* proxy-server setup: from a bare VPS to a client profile in one
 * command (PKI, listen port, first client, service, firewall), and the
 * same command again changes nothing. Run from the command line only. */
#ifndef PROXY_SERVER_SETUP_H
#define PROXY_SERVER_SETUP_H

struct setup_opts {
	const char *dir;          /* the PKI folder; NULL: /etc/proxy */
	const char *const *names; /* --server-name; none: the interfaces' */
	int nnames;
	int port;           /* --port; 0: not given (443) */
	const char *client; /* the first client; NULL: client1 */
	int open_firewall;
	int no_start; /* print the start command, run nothing */
};

/* The exit status: 0, or 1 (told on stderr). */
int setup_run(const struct setup_opts *o);
/* One line of what setup did or found, "proxy-server setup: " first. */
void setup_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
