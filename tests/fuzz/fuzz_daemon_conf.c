/* libFuzzer target: the daemons' own directive tables, unchanged
 * (proxy-server/server_conf.c, proxy-client/client_conf.c and the shared
 * common/tunnel_conf.c), driven through server_conf_load() and
 * client_conf_load() on a file written from the input.
 *
 * Only pure modules are linked: OpenSSL's OPENSSL_cleanse and the two
 * content checks of common/tls.c (tls_pem_check, tls_crl_check) are what
 * those files use of OpenSSL, and they are given here, the checks as a
 * look for a PEM header (the fixture files are not real certificates, so
 * configs naming them still load and the rest gets exercised). ca/cert/key
 * name files relative to the config: the config sits in a folder of its
 * own holding ca.crt, server.crt, server.key (0600) and open.key (0644,
 * which the key check refuses). open() is wrapped (-Wl,--wrap=open) so
 * a path outside that folder cannot be opened: a fuzzed "ca /dev/..."
 * must not block on a FIFO or read a device.
 *
 * The control-socket lookups (server_conf_control_path and the client's,
 * which read the same file with every other directive ignored) run on it
 * too when the daemons have them.
 *
 * Checked: a loaded config is complete and its values are sane; an error
 * names the file; every allocation is freed (LeakSanitizer). */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/tls.h"
#include "../../proxy-client/client_conf.h"
#include "../../proxy-server/server_conf.h"

#define CONF_NAME "fuzz.conf"

void OPENSSL_cleanse(void *p, size_t n);
void ctl_default_path(const char *prog, const char *conf_path, char *out,
		      size_t n) __attribute__((weak));
/* Weak: called only when the daemons have them (see below). */
char *server_conf_control_path(const char *path, char *err, size_t n)
	__attribute__((weak));
char *client_conf_control_path(const char *path, char *err, size_t n)
	__attribute__((weak));
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

void OPENSSL_cleanse(void *p, size_t n)
{
	explicit_bzero(p, n);
}

int tls_pem_check(const char *pem, enum tls_pem kind, char *err, size_t n)
{
	if (strstr(pem, "-----BEGIN "))
		return 0;
	snprintf(err, n, "no %s (PEM) found",
		 kind == TLS_PEM_KEY ? "private key" : "certificate");
	return -1;
}

int tls_crl_check(const char *path, char *err, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The one function of common/ctl.c (a libev module) that tunnel_conf.c
 * calls: the default control socket path. The real one may mkdir
 * /run/proxy; a fixed name does here. Weak, so this file links whether
 * or not tunnel_conf.c uses it. */
void ctl_default_path(const char *prog, const char *conf_path, char *out,
		      size_t n)
{
	snprintf(out, n, "/nonexistent/%s.sock", prog);
}

static char dir[4096], file[4096 + 64];

int __wrap_open(const char *path, int flags, ...)
{
	size_t n = strlen(dir);
	mode_t mode = 0;
	va_list ap;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (strncmp(path, dir, n) || path[n] != '/' || strstr(path, "/..")) {
		errno = ENOENT;
		return -1;
	}
	return __real_open(path, flags, mode);
}

static const char *const files[][3] = {
	{ "ca.crt",
	  "-----BEGIN CERTIFICATE-----\nY2E=\n"
	  "-----END CERTIFICATE-----\n",
	  "0644" },
	{ "server.crt",
	  "-----BEGIN CERTIFICATE-----\nc2VydmVy\n"
	  "-----END CERTIFICATE-----\n",
	  "0644" },
	{ "server.key",
	  "-----BEGIN PRIVATE KEY-----\na2V5\n"
	  "-----END PRIVATE KEY-----\n",
	  "0600" },
	{ "open.key",
	  "-----BEGIN PRIVATE KEY-----\nb3Blbg==\n"
	  "-----END PRIVATE KEY-----\n",
	  "0644" },
	{ "empty.crt", "", "0644" },
};

static void remove_tmp(void)
{
	char p[sizeof(file)];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
		unlink(p);
	}
	unlink(file);
	rmdir(dir);
}

static void write_file(const char *path, const void *data, size_t n,
		       mode_t mode)
{
	FILE *f = fopen(path, "w");

	FUZZ_ASSERT(f != NULL);
	FUZZ_ASSERT(fwrite(data, 1, n, f) == n);
	FUZZ_ASSERT(fclose(f) == 0);
	FUZZ_ASSERT(chmod(path, mode) == 0);
}

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			   getenv("TMPDIR")              ? getenv("TMPDIR") :
							   "/tmp";
	char p[sizeof(file)];

	snprintf(dir, sizeof(dir), "%s/fuzz_daemon_conf.XXXXXX", base);
	FUZZ_ASSERT(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/" CONF_NAME, dir);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i][0]);
		write_file(p, files[i][1], strlen(files[i][1]),
			   (mode_t)strtol(files[i][2], NULL, 8));
	}
	atexit(remove_tmp);
}

static void check_err(int r, const char *err)
{
	if (r == 0)
		return;
	FUZZ_ASSERT(r == -1);
	FUZZ_ASSERT(!strncmp(err, file, strlen(file)) &&
		    err[strlen(file)] == ':');
}

static void check_tc(const struct tunnel_conf *tc)
{
	FUZZ_ASSERT(tc->ca_pem && tc->cert_pem && tc->key_pem);
	FUZZ_ASSERT(tc->tp.window >= 16384 &&
		    tc->tp.window <= tc->tp.max_window);
	FUZZ_ASSERT(tc->tp.keepalive > 0 && tc->tp.timeout > tc->tp.keepalive);
	FUZZ_ASSERT(tc->log_level >= -1 && tc->log_level <= 3);
}

static void server(void)
{
	struct server_conf c;
	char err[1024];
	int r = server_conf_load(&c, file, err, sizeof(err));

	check_err(r, err);
	if (r == 0) {
		check_tc(&c.tc);
		FUZZ_ASSERT(c.nlisten >= 1);
		for (int i = 0; i < c.nlisten; i++)
			FUZZ_ASSERT(c.listen[i].type == ADDR_IPV4 ||
				    c.listen[i].type == ADDR_IPV6);
		/* the resolver list is what c-ares will be handed: every
		 * element an IP with an optional port */
		if (c.dns) {
			char *copy = strdup(c.dns), *save, *tok;
			struct addr a;

			FUZZ_ASSERT(copy != NULL);
			for (tok = strtok_r(copy, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				FUZZ_ASSERT(addr_parse(tok, 53, &a) == 0 &&
					    a.type != ADDR_DOMAIN);
			free(copy);
		}
		FUZZ_ASSERT(c.connect_timeout >= 0.1);
	}
	server_conf_free(&c);
}

static void client(void)
{
	struct client_conf c;
	char err[1024];
	int r = client_conf_load(&c, file, err, sizeof(err));

	check_err(r, err);
	if (r == 0) {
		check_tc(&c.tc);
		FUZZ_ASSERT(c.socks.type == ADDR_IPV4 ||
			    c.socks.type == ADDR_IPV6);
		for (int i = 0; i < c.nusers; i++)
			FUZZ_ASSERT(c.users[i].name[0] &&
				    strlen(c.users[i].name) <= 255 &&
				    strlen(c.users[i].pass) <= 255);
		if (client_conf_check(&c, err, sizeof(err)) == 0)
			FUZZ_ASSERT(c.server.type != 0);
	}
	client_conf_free(&c);
}

/* The control socket of a config, read with every directive but
 * `control` ignored (so before its keys are checked). */
static void control_path(char *(*fn)(const char *, char *, size_t))
{
	char err[1024];
	char *path;

	if (!fn)
		return;
	path = fn(file, err, sizeof(err));
	check_err(path ? 0 : -1, err);
	free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	write_file(file, data, size, 0600);
	server();
	client();
	control_path(server_conf_control_path);
	control_path(client_conf_control_path);
	return 0;
}
