/* The control socket: a Unix socket (mode 0600) on which a daemon
 * answers one command per connection ("status", "status json"), and the
 * blocking client side that the `status` subcommands use. */
#ifndef COMMON_CTL_H
#define COMMON_CTL_H

#include <stddef.h>

#include "buf.h"

struct ev_loop;
struct ctl;

/* Writes the daemon's status into out: a table, or JSON. */
typedef void (*ctl_status_fn)(void *arg, struct buf *out, int json);

/* NULL with err set (e.g. another live daemon owns the path). */
struct ctl *ctl_open(struct ev_loop *loop, const char *path, ctl_status_fn fn,
		     void *arg, char *err, size_t n);
void ctl_close(struct ctl *c);
/* Before the daemon drops root: the socket's folder (root's) would no
 * longer let it remove the socket, so a child keeps root for that one
 * job, done when the daemon closes the socket (ctl_close() waits for
 * it) or dies. 0, or -1 with err set (the socket then stays at exit). */
int ctl_keep_removable(struct ctl *c, char *err, size_t n);

/* 0 when no other daemon answers on path, the control socket of the
 * config at conf_path (named: set by its `control` line, else the
 * default for prog); else -1 and err says whose it is and which
 * directive to set. The daemons refuse to start then: running on
 * without a socket would let `status -c THIS-FILE` show the other
 * daemon (the default path is named after the config's file name, so
 * two configs called server.conf in two folders meet there). */
int ctl_check_free(const char *path, const char *conf_path, int named,
		   const char *prog, char *err, size_t n);

/* Sends cmd and copies the reply to stdout. 0, or -1 with err set. */
int ctl_query(const char *path, const char *cmd, char *err, size_t n);

/* Looks up the control socket of the config file conf: a copy of its
 * path ("" for 'control none'), or NULL with err set. */
typedef char *(*ctl_path_fn)(const char *conf, char *err, size_t n);

/* The `status` subcommand of both daemons, argv[0] "PROG status":
 * [-c FILE | --control PATH] [--json]. The exit status. */
int ctl_status_main(const char *prog, ctl_path_fn path_of, int argc,
		    char **argv);

/* Where prog keeps its socket for a config file when the config names
 * none: /run/proxy/ as root, else $XDG_RUNTIME_DIR or /tmp. */
void ctl_default_path(const char *prog, const char *conf_path, char *out,
		      size_t n);

#endif
