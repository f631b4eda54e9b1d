#include "tunnel_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "ctl.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define PEM_MAX (1u << 20)

void tunnel_conf_init(struct tunnel_conf *c, const char *path, int is_server)
{
	const char *slash = strrchr(path, '/');

	memset(c, 0, sizeof(*c));
	c->path = xstrdup(path);
	if (slash) {
		c->dir = xmalloc((size_t)(slash - path) + 2);
		memcpy(c->dir, path, (size_t)(slash - path) + 1);
		c->dir[slash - path + 1] = 0;
	} else {
		c->dir = xstrdup("");
	}
	c->log_level = -1;
	c->tp.is_server = is_server;
	c->tp.window = 256u << 10;
	c->tp.max_window = 8u << 20;
	c->tp.keepalive = 10;
	c->tp.timeout = 30;
	c->tp.handshake_timeout = 10;
	c->tp.idle_timeout = 3600;
	c->tp.max_buffer = 64u << 20;
	/* auto: the TLS path is always there; UDP is used only after a
	 * probe proved it works both ways, and left within DPATH_SILENCE
	 * when it stops (docs/PROTOCOL.md section 15) */
	c->tp.udp_path = UDP_PATH_AUTO;
	c->tp.resume_window = 60;
}

void tunnel_conf_free(struct tunnel_conf *c)
{
	free(c->path);
	free(c->dir);
	free(c->control);
	free(c->ca_pem);
	free(c->cert_pem);
	if (c->key_pem) {
		OPENSSL_cleanse(c->key_pem, strlen(c->key_pem));
		free(c->key_pem);
	}
	memset(c, 0, sizeof(*c));
}

char *conf_path(const struct tunnel_conf *c, const char *path)
{
	char *p;

	if (path[0] == '/' || !c->dir[0])
		return xstrdup(path);
	p = xmalloc(strlen(c->dir) + strlen(path) + 1);
	strcpy(p, c->dir);
	strcat(p, path);
	return p;
}

/* Whole file into a NUL-terminated heap string; NULL with err set. */
static char *read_text_file(const char *path, size_t max, char *err, size_t n)
{
	size_t len;
	char *text = read_file(path, max, &len);

	if (!text)
		snprintf(err, n, "%s: %s", path,
			 errno == EFBIG ? "file too large" : strerror(errno));
	return text;
}

/* Inline block, or a file named relative to the config. */
static int set_pem(struct tunnel_conf *c, char **dst, const struct conf_line *l,
		   enum tls_pem kind, char *err, size_t n)
{
	int secret = kind == TLS_PEM_KEY;
	char *path, *text, why[CONF_ERR_MAX];
	struct stat st;

	if (*dst) {
		snprintf(err, n, "given twice");
		return -1;
	}
	if (l->block) {
		/* a profile that carries its key inline is itself a secret */
		if (secret && l->file && !stat(l->file, &st) &&
		    (st.st_mode & 0077)) {
			snprintf(err, n,
				 "%s holds a private key and is readable "
				 "by other users; run: chmod 600 %s",
				 l->file, l->file);
			return -1;
		}
		if (tls_pem_check(l->block, kind, err, n))
			return -1;
		*dst = xstrdup(l->block);
		return 0;
	}
	path = conf_path(c, l->argv[1]);
	if (secret && !stat(path, &st) && (st.st_mode & 0077)) {
		snprintf(err, n,
			 "%s is readable by other users; "
			 "run: chmod 600 %s",
			 path, path);
		free(path);
		return -1;
	}
	text = read_text_file(path, PEM_MAX, err, n);
	if (text && tls_pem_check(text, kind, why, sizeof(why))) {
		snprintf(err, n, "%s: %s", path, why);
		free(text);
		text = NULL;
	}
	free(path);
	if (!text)
		return -1;
	*dst = text;
	return 0;
}

int tc_set_ca(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct tunnel_conf *c = cfg;

	return set_pem(c, &c->ca_pem, l, TLS_PEM_CA, err, n);
}

int tc_set_cert(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct tunnel_conf *c = cfg;

	return set_pem(c, &c->cert_pem, l, TLS_PEM_CERT, err, n);
}

int tc_set_key(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct tunnel_conf *c = cfg;

	return set_pem(c, &c->key_pem, l, TLS_PEM_KEY, err, n);
}

int tc_set_log_level(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct tunnel_conf *c = cfg;
	int lvl = log_level_parse(l->argv[1]);

	if (lvl < 0) {
		snprintf(err, n,
			 "unknown level '%s' (error, warn, info, debug)",
			 l->argv[1]);
		return -1;
	}
	c->log_level = lvl;
	return 0;
}

int tc_set_idle_timeout(void *cfg, const struct conf_line *l, char *err,
			size_t n)
{
	struct tunnel_conf *c = cfg;

	/* "0" turns it off */
	if (!strcmp(l->argv[1], "0")) {
		c->tp.idle_timeout = 0;
		return 0;
	}
	return conf_seconds(l->argv[1], CONF_DAY_MS, &c->tp.idle_timeout, err,
			    n);
}

int tc_set_resume_window(void *cfg, const struct conf_line *l, char *err,
			 size_t n)
{
	struct tunnel_conf *c = cfg;

	/* "off" or "0": flows end with their tunnel, as before resume */
	if (!strcmp(l->argv[1], "off") || !strcmp(l->argv[1], "0")) {
		c->tp.resume_window = 0;
		return 0;
	}
	if (conf_seconds(l->argv[1], CONF_HOUR_MS, &c->tp.resume_window, err,
			 n)) {
		snprintf(err, n,
			 "bad value '%s' (off or a duration such as "
			 "60s)",
			 l->argv[1]);
		return -1;
	}
	return 0;
}

char *tunnel_conf_control(const struct tunnel_conf *c, const char *prog)
{
	char path[256];

	if (c->control)
		return xstrdup(c->control);
	ctl_default_path(prog, c->path, path, sizeof(path));
	return xstrdup(path);
}

char *conf_control_path(const char *conf_path,
			const struct conf_directive *table, const char *prog,
			char *err, size_t n)
{
	struct conf_directive *only;
	struct tunnel_conf tc;
	size_t count = 0;
	char *path = NULL;

	while (table[count].name)
		count++;
	only = xcalloc(count + 1, sizeof(*only));
	memcpy(only, table, count * sizeof(*only));
	for (size_t i = 0; i < count; i++)
		if (only[i].set != tc_set_control)
			only[i].set = NULL;
	tunnel_conf_init(&tc, conf_path, 0);
	if (!conf_load(conf_path, only, &tc, err, n))
		path = tunnel_conf_control(&tc, prog);
	tunnel_conf_free(&tc);
	free(only);
	return path;
}

int tc_set_control(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct tunnel_conf *c = cfg;

	free(c->control);
	c->control = !strcmp(l->argv[1], "none") ? xstrdup("") :
						   conf_path(c, l->argv[1]);
	return 0;
}

int tc_set_keepalive(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct tunnel_conf *c = cfg;

	if (conf_seconds(l->argv[1], CONF_DAY_MS, &c->tp.keepalive, err, n) ||
	    conf_seconds(l->argv[2], CONF_DAY_MS, &c->tp.timeout, err, n))
		return -1;
	if (c->tp.timeout <= c->tp.keepalive) {
		snprintf(err, n,
			 "the timeout must be longer than the interval");
		return -1;
	}
	return 0;
}

static int window(const char *s, uint32_t *out, char *err, size_t n)
{
	unsigned long v;

	if (conf_parse_size(s, &v) || v < 16384 || v > (256ul << 20)) {
		snprintf(err, n, "bad size '%s' (16k to 256M)", s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int tc_set_max_buffer(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct tunnel_conf *c = cfg;
	unsigned long v;

	if (conf_parse_size(l->argv[1], &v) || v < (1ul << 20)) {
		snprintf(err, n, "bad size '%s' (at least 1M)", l->argv[1]);
		return -1;
	}
	c->tp.max_buffer = v;
	return 0;
}

int tc_set_window(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return window(l->argv[1], &((struct tunnel_conf *)cfg)->tp.window, err,
		      n);
}

int tc_set_max_window(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	return window(l->argv[1], &((struct tunnel_conf *)cfg)->tp.max_window,
		      err, n);
}

int tc_set_udp_path(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	const char *v = l->argv[1];
	int *mode = &((struct tunnel_conf *)cfg)->tp.udp_path;

	if (!strcmp(v, "auto"))
		*mode = UDP_PATH_AUTO;
	else if (!strcmp(v, "always"))
		*mode = UDP_PATH_ALWAYS;
	else if (!strcmp(v, "off"))
		*mode = UDP_PATH_OFF;
	else {
		snprintf(err, n, "bad value '%s' (auto, always or off)", v);
		return -1;
	}
	return 0;
}

int tunnel_conf_check(const struct tunnel_conf *c, char *err, size_t n)
{
	const char *missing = !c->ca_pem   ? "ca" :
			      !c->cert_pem ? "cert" :
			      !c->key_pem  ? "key" :
					     NULL;

	if (missing) {
		snprintf(err, n,
			 "no '%s' given (a file, or an inline <%s> block)",
			 missing, missing);
		return -1;
	}
	if (c->tp.max_window < c->tp.window) {
		snprintf(err, n, "max-window is smaller than window");
		return -1;
	}
	return 0;
}
