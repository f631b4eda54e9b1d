/* The config directives both daemons share: credentials (file or inline
 * block), log level, keepalive and window sizes. Each daemon's config
 * struct starts with a struct tunnel_conf, so the shared set() handlers
 * work on either, and its directive table includes TUNNEL_DIRECTIVES. */
#ifndef COMMON_TUNNEL_CONF_H
#define COMMON_TUNNEL_CONF_H

#include <stddef.h>

#include "conf.h"
#include "tunnel.h"

struct tunnel_conf {
	char *path; /* the config file, as given */
	char *dir;  /* folder of the config file: base of relative paths */
	char *ca_pem, *cert_pem, *key_pem;
	struct tunnel_params tp;
	int log_level; /* -1 when not set */
	char *control; /* control socket path, or NULL for the default */
};

int tc_set_ca(void *cfg, const struct conf_line *l, char *err, size_t n);
int tc_set_cert(void *cfg, const struct conf_line *l, char *err, size_t n);
int tc_set_key(void *cfg, const struct conf_line *l, char *err, size_t n);
int tc_set_log_level(void *cfg, const struct conf_line *l, char *err, size_t n);
int tc_set_keepalive(void *cfg, const struct conf_line *l, char *err, size_t n);
int tc_set_idle_timeout(void *cfg, const struct conf_line *l, char *err,
			size_t n);
int tc_set_resume_window(void *cfg, const struct conf_line *l, char *err,
			 size_t n);
int tc_set_control(void *cfg, const struct conf_line *l, char *err, size_t n);
int tc_set_max_buffer(void *cfg, const struct conf_line *l, char *err,
		      size_t n);
int tc_set_window(void *cfg, const struct conf_line *l, char *err, size_t n);
int tc_set_max_window(void *cfg, const struct conf_line *l, char *err,
		      size_t n);
int tc_set_udp_path(void *cfg, const struct conf_line *l, char *err, size_t n);

#define TUNNEL_DIRECTIVES \
	{ "ca", 1, 1, 1, tc_set_ca }, { "cert", 1, 1, 1, tc_set_cert }, \
		{ "key", 1, 1, 1, tc_set_key }, \
		{ "log-level", 1, 1, 0, tc_set_log_level }, \
		{ "keepalive", 2, 2, 0, tc_set_keepalive }, \
		{ "idle-timeout", 1, 1, 0, tc_set_idle_timeout }, \
		{ "control", 1, 1, 0, tc_set_control }, \
		{ "window", 1, 1, 0, tc_set_window }, \
		{ "max-window", 1, 1, 0, tc_set_max_window }, \
		{ "max-buffer", 1, 1, 0, tc_set_max_buffer }, \
		{ "udp-path", 1, 1, 0, tc_set_udp_path }, \
	{ \
		"resume-window", 1, 1, 0, tc_set_resume_window \
	}

void tunnel_conf_init(struct tunnel_conf *c, const char *conf_path,
		      int is_server);
/* After parsing: ca, cert and key are present and the numbers agree. */
int tunnel_conf_check(const struct tunnel_conf *c, char *err, size_t n);
void tunnel_conf_free(struct tunnel_conf *c);

/* The control socket path of a config file, reading nothing but its
 * `control` directive (keys stay untouched): the configured path, the
 * default for prog, or "" for none. Heap string; NULL with err set. */
char *conf_control_path(const char *conf_path,
			const struct conf_directive *table, const char *prog,
			char *err, size_t n);
/* For a loaded config: the same answer. */
char *tunnel_conf_control(const struct tunnel_conf *c, const char *prog);

/* A path from the config, made absolute against the config's folder. */
char *conf_path(const struct tunnel_conf *c, const char *path);

#endif
