/* libFuzzer target: the config line parser (common/conf.c).
 *
 * The input is a config file. It is parsed twice with a directive table
 * shaped like the daemons' (inline-block directives ca/cert/key, fixed,
 * ranged and unbounded argument counts, a directive with no handler,
 * one whose handler always fails), whose handlers call the same value
 * parsers the daemons use:
 *
 *  - line by line through conf_parser_line/conf_parser_finish, as a
 *    stream parser is fed;
 *  - whole, through conf_load on a temporary file.
 *
 * Every handler checks what the parser hands it (argument counts within
 * the table's, NUL-terminated arguments, block text and length). Both
 * ways must give the same result and the same error message; after an
 * error every call fails with the first error. An input holding a NUL
 * byte is compared only in that conf_load must refuse it. */
#include "fuzz.h"

#include <stdbool.h>
#include <unistd.h>

#include "../../common/addr.h"
#include "../../common/conf.h"

#define CONF_NAME "fuzz.conf"
#define MIN(a, b) ((a) < (b) ? (a) : (b))

struct cfg {
	char *pem[3]; /* ca, cert, key */
	int calls;
};

static const struct conf_directive table[];

static const struct conf_directive *find(const char *name)
{
	const struct conf_directive *d;

	for (d = table; d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* What every handler may rely on; counts the calls. */
static void check_line(void *cfg, const struct conf_line *l)
{
	const struct conf_directive *d = find(l->argv[0]);
	int i;

	((struct cfg *)cfg)->calls++;
	FUZZ_ASSERT(d != NULL && l->file != NULL && l->line >= 1);
	FUZZ_ASSERT(l->argc >= 1 && l->argc <= CONF_MAX_ARGS);
	for (i = 0; i < l->argc; i++)
		FUZZ_ASSERT(l->argv[i] != NULL && strlen(l->argv[i]) <= 4096);
	if (l->block) {
		FUZZ_ASSERT(d->block_ok && l->argc == 1);
		FUZZ_ASSERT(strlen(l->block) == l->block_len);
		FUZZ_ASSERT(l->block_len == 0 ||
			    l->block[l->block_len - 1] == '\n');
		FUZZ_ASSERT(l->block_len <= 1024 * 1024);
	} else {
		FUZZ_ASSERT(l->argc - 1 >= d->min_args);
		FUZZ_ASSERT(d->max_args < 0 ||
			    d->max_args >= CONF_MAX_ARGS - 1 ||
			    l->argc - 1 <= d->max_args);
	}
}

static int set_pem(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct cfg *c = cfg;
	int i = !strcmp(l->argv[0], "ca")   ? 0 :
		!strcmp(l->argv[0], "cert") ? 1 :
					      2;
	const char *text = l->block ? l->block : l->argv[1];

	check_line(cfg, l);
	if (c->pem[i]) {
		snprintf(err, n, "given twice");
		return -1;
	}
	c->pem[i] = strdup(text);
	FUZZ_ASSERT(c->pem[i] != NULL);
	return 0;
}

static int set_addr(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct addr a;
	int i;

	check_line(cfg, l);
	for (i = 1; i < l->argc; i++) {
		if (addr_parse(l->argv[i], 443, &a)) {
			snprintf(err, n, "bad address '%s'", l->argv[i]);
			return -1;
		}
	}
	return 0;
}

static int set_cidr(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct cidr c;
	int i;

	check_line(cfg, l);
	for (i = 1; i < l->argc; i++) {
		if (cidr_parse(l->argv[i], &c)) {
			snprintf(err, n, "bad network '%s'", l->argv[i]);
			return -1;
		}
	}
	return 0;
}

static int set_duration(void *cfg, const struct conf_line *l, char *err,
			size_t n)
{
	double v;
	int i;

	check_line(cfg, l);
	for (i = 1; i < l->argc; i++)
		if (conf_seconds(l->argv[i], CONF_DAY_MS, &v, err, n))
			return -1;
	return 0;
}

static int set_size(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	unsigned long v;

	check_line(cfg, l);
	if (conf_parse_size(l->argv[1], &v)) {
		snprintf(err, n, "bad size '%s'", l->argv[1]);
		return -1;
	}
	return 0;
}

static int set_uint(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	unsigned long v;

	check_line(cfg, l);
	if (conf_parse_uint(l->argv[1], 1, 1000000, &v)) {
		snprintf(err, n, "bad number '%s'", l->argv[1]);
		return -1;
	}
	FUZZ_ASSERT(v >= 1 && v <= 1000000);
	return 0;
}

static int set_any(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	check_line(cfg, l);
	return 0;
}

/* Fails without a message: the parser supplies "invalid value". */
static int set_fail(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	check_line(cfg, l);
	return -1;
}

static const struct conf_directive table[] = {
	{ "ca", 1, 1, 1, set_pem },
	{ "cert", 1, 1, 1, set_pem },
	{ "key", 1, 1, 1, set_pem },
	{ "log-level", 1, 1, 0, set_any },
	{ "keepalive", 2, 2, 0, set_duration },
	{ "window", 1, 1, 0, set_size },
	{ "listen", 1, 1, 0, set_addr },
	{ "dns", 1, CONF_MAX_ARGS - 1, 0, set_addr },
	{ "allow", 1, CONF_MAX_ARGS - 1, 0, set_cidr },
	{ "deny", 1, -1, 0, set_cidr },
	{ "socks-user", 2, 2, 0, set_any },
	{ "max-flows", 1, 1, 0, set_uint },
	{ "range", 1, 3, 0, set_any },
	{ "flag", 0, 0, 0, set_any },
	{ "banner", 0, 1, 1, set_any }, /* a block with no argument needed */
	{ "ignored", 0, 3, 0, NULL },
	{ "broken", 0, 2, 1, set_fail },
	{ NULL, 0, 0, 0, NULL },
};

static void cfg_free(struct cfg *c)
{
	for (int i = 0; i < 3; i++)
		free(c->pem[i]);
	memset(c, 0, sizeof(*c));
}

/* Line by line: each line with its '\n' (when it has one) as a string of
 * its own, in an exact-size block. */
static int feed_lines(const uint8_t *data, size_t size, struct cfg *c,
		      char *err, size_t errlen)
{
	struct conf_parser *p = conf_parser_new(CONF_NAME, table, c);
	size_t off = 0;
	int r = 0, r2;

	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) + 1 : size - off;
		char *line = fuzz_str(data + off, len);

		r2 = conf_parser_line(p, line);
		free(line);
		/* once failed, always failed, with the first error */
		FUZZ_ASSERT(r == 0 || r2 == -1);
		if (r2)
			FUZZ_ASSERT(!strncmp(conf_error(p), CONF_NAME ":",
					     strlen(CONF_NAME ":")));
		r = r2;
		off += len;
	}
	r2 = conf_parser_finish(p);
	FUZZ_ASSERT(r == 0 || r2 == -1);
	snprintf(err, errlen, "%s", r2 ? conf_error(p) : "");
	FUZZ_ASSERT(r2 == 0 || err[0]);
	/* more calls after the end change nothing */
	if (r2) {
		FUZZ_ASSERT(conf_parser_line(p, "flag") == -1);
		FUZZ_ASSERT(!strcmp(conf_error(p), err));
	}
	conf_parser_free(p);
	return r2;
}

static char tmp_dir[4096], tmp_file[4096 + sizeof(CONF_NAME) + 1];

static void remove_tmp(void)
{
	unlink(tmp_file);
	rmdir(tmp_dir);
}

/* A file in a folder of its own, made on first use, removed at exit. */
static const char *tmp_path(void)
{
	const char *base;

	if (tmp_file[0])
		return tmp_file;
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	       getenv("TMPDIR")              ? getenv("TMPDIR") :
					       "/tmp";
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/fuzz_conf.XXXXXX", base);
	FUZZ_ASSERT(mkdtemp(tmp_dir) != NULL);
	snprintf(tmp_file, sizeof(tmp_file), "%s/" CONF_NAME, tmp_dir);
	atexit(remove_tmp);
	return tmp_file;
}

/* The whole input through conf_load, from a file. */
static int load_file(const uint8_t *data, size_t size, struct cfg *c, char *err,
		     size_t errlen)
{
	const char *p = tmp_path();
	FILE *f = fopen(p, "w");

	FUZZ_ASSERT(f != NULL);
	FUZZ_ASSERT(fwrite(data, 1, size, f) == size);
	FUZZ_ASSERT(fclose(f) == 0);
	return conf_load(p, table, c, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err1[CONF_ERR_MAX], err2[CONF_ERR_MAX];
	const char *m1, *m2;
	struct cfg c1, c2;
	int r1, r2;

	memset(&c1, 0, sizeof(c1));
	memset(&c2, 0, sizeof(c2));
	r1 = feed_lines(data, size, &c1, err1, sizeof(err1));
	r2 = load_file(data, size, &c2, err2, sizeof(err2));
	if (memchr(data, 0, size)) {
		/* conf_load refuses a NUL byte (or fails before it) */
		FUZZ_ASSERT(r2 == -1);
	} else {
		FUZZ_ASSERT(r1 == r2 && c1.calls == c2.calls);
		if (r2) {
			/* the same message but for the file name (either may
			 * be cut short at CONF_ERR_MAX) */
			FUZZ_ASSERT(!strncmp(err2, tmp_path(),
					     strlen(tmp_path())));
			m1 = err1 + strlen(CONF_NAME);
			m2 = err2 + strlen(tmp_path());
			FUZZ_ASSERT(!strncmp(m1, m2,
					     MIN(strlen(m1), strlen(m2))));
		}
	}
	cfg_free(&c1);
	cfg_free(&c2);
	return 0;
}
