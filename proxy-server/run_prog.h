/* Running another program from a subcommand (setup: systemctl, ufw,
 * nft, iptables) and waiting for it. Not for the event loop. */
#ifndef PROXY_SERVER_RUN_PROG_H
#define PROXY_SERVER_RUN_PROG_H

#include <stddef.h>

/* Where PROG is: found in PATH, /usr/sbin or /sbin (an admin's tools
 * live there but a user's PATH may lack them); NULL if nowhere. The
 * string is static, valid until the next call. */
const char *run_prog_find(const char *prog);

/* Runs ARGV (argv[0] looked up with run_prog_find) and waits. Its
 * stdout and stderr go to OUT (NUL-terminated, cut at N - 1 bytes) when
 * OUT is given, else to /dev/null. Its exit status; 127 when it could
 * not be run (not found), 128 + N when killed by signal N. */
int run_prog(const char *const argv[], char *out, size_t n);

#endif
