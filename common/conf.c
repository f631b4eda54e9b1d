/* The config parser: a line-at-a-time state machine (directive lines, or
 * the inside of an inline <tag> block) driven by a directive table.
 * Nothing here logs; the first error is kept as "file:line: what" and
 * every later call fails with it. */
#include "conf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CONF_LINE_MAX 4096           /* bytes, without the line end */
#define CONF_BLOCK_MAX (1024 * 1024) /* bytes of block text */
#define CONF_TAG_MAX 64              /* longest <tag> name + NUL */

struct conf_parser {
	char *file;
	const struct conf_directive *table;
	void *cfg;
	int lineno; /* lines seen so far */
	bool failed;
	char err[CONF_ERR_MAX];

	/* inside <tag>...</tag> when block_dir is set */
	const struct conf_directive *block_dir;
	int block_line;
	char *block;
	size_t block_len, block_size;

	/* the tokens of the current line; argv points in here */
	char work[CONF_LINE_MAX + 1];
};

static int fail(struct conf_parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct conf_parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return -1;
	n = snprintf(p->err, sizeof(p->err), "%s:%d: ", p->file, line);
	if (n < 0 || (size_t)n >= sizeof(p->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(p->err + n, sizeof(p->err) - (size_t)n, fmt, ap);
	va_end(ap);
	p->failed = true;
	return -1;
}

/* "file: strerror", for a file that cannot be read. */
static int fail_errno(struct conf_parser *p, int e)
{
	snprintf(p->err, sizeof(p->err), "%s: %s", p->file, strerror(e));
	p->failed = true;
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies a name for an error message: short, printable. */
static const char *printable(const char *s, char *out, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	return out;
}

static const struct conf_directive *lookup(const struct conf_parser *p,
					   const char *name)
{
	const struct conf_directive *d;

	for (d = p->table; d && d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* "<name>" or "</name>" alone on the line (blanks around it allowed).
 * On a match the name is copied to name[CONF_TAG_MAX]. */
static bool parse_tag(const char *s, size_t len, char *name, bool *closing)
{
	size_t i;

	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	if (len < 3 || s[0] != '<' || s[len - 1] != '>')
		return false;
	s++;
	len -= 2;
	*closing = *s == '/';
	if (*closing) {
		s++;
		len--;
	}
	if (len == 0 || len >= CONF_TAG_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	memcpy(name, s, len);
	name[len] = '\0';
	return true;
}

static void wipe_block(struct conf_parser *p)
{
	if (p->block)
		explicit_bzero(p->block, p->block_size);
	free(p->block);
	p->block = NULL;
	p->block_len = p->block_size = 0;
	p->block_dir = NULL;
}

/* max_args < 0, or as many as a line can hold: no upper bound */
static bool no_max(const struct conf_directive *d)
{
	return d->max_args < 0 || d->max_args >= CONF_MAX_ARGS - 1;
}

static int arg_count_error(struct conf_parser *p, int line,
			   const struct conf_directive *d)
{
	int lo = d->min_args, hi = d->max_args;

	if (no_max(d))
		return fail(p, line, "'%s' takes at least %d argument%s",
			    d->name, lo, lo == 1 ? "" : "s");
	if (lo == hi && lo == 0)
		return fail(p, line, "'%s' takes no arguments", d->name);
	if (lo == hi)
		return fail(p, line, "'%s' takes %d argument%s", d->name, lo,
			    lo == 1 ? "" : "s");
	return fail(p, line, "'%s' takes %d to %d arguments", d->name, lo, hi);
}

static int call_set(struct conf_parser *p, const struct conf_directive *d,
		    const struct conf_line *l)
{
	char msg[CONF_ERR_MAX];

	if (!d->set)
		return 0;
	msg[0] = '\0';
	if (d->set(p->cfg, l, msg, sizeof(msg)) == 0)
		return 0;
	return fail(p, l->line, "'%s': %s", d->name,
		    msg[0] ? msg : "invalid value");
}

/* Splits s[0..len) into p->work: blanks separate, '#' ends the line
 * outside quotes, "..." groups with \" and \\ escapes. argc or -1. */
static int tokenize(struct conf_parser *p, const char *s, size_t len,
		    char **argv)
{
	const char *end = s + len;
	char *o = p->work;
	int argc = 0;

	while (s < end && is_blank(*s))
		s++;
	if (s < end && *s == ';')
		return 0;
	for (;;) {
		while (s < end && is_blank(*s))
			s++;
		if (s == end || *s == '#')
			return argc;
		if (argc == CONF_MAX_ARGS)
			return fail(p, p->lineno, "too many arguments (max %d)",
				    CONF_MAX_ARGS - 1);
		argv[argc++] = o;
		while (s < end && !is_blank(*s) && *s != '#') {
			if (*s != '"') {
				*o++ = *s++;
				continue;
			}
			for (s++;; s++) {
				if (s == end)
					return fail(p, p->lineno,
						    "unterminated quote");
				if (*s == '"')
					break;
				if (*s == '\\' && end - s > 1 &&
				    (s[1] == '"' || s[1] == '\\'))
					s++;
				*o++ = *s;
			}
			s++;
		}
		*o++ = '\0';
	}
}

static int open_block(struct conf_parser *p, const char *name)
{
	const struct conf_directive *d = lookup(p, name);

	if (!d || !d->block_ok)
		return fail(p, p->lineno, "unknown block <%s>", name);
	p->block_dir = d;
	p->block_line = p->lineno;
	p->block_len = 0;
	return 0;
}

static int close_block(struct conf_parser *p)
{
	const struct conf_directive *d = p->block_dir;
	struct conf_line l;
	int r;

	memset(&l, 0, sizeof(l));
	l.file = p->file;
	l.line = p->block_line;
	l.argc = 1;
	snprintf(p->work, sizeof(p->work), "%s", d->name);
	l.argv[0] = p->work;
	l.block = p->block ? p->block : "";
	l.block_len = p->block_len;
	r = call_set(p, d, &l);
	wipe_block(p);
	return r;
}

static int block_line(struct conf_parser *p, const char *s, size_t len)
{
	char tag[CONF_TAG_MAX];
	bool closing;
	size_t need;

	if (parse_tag(s, len, tag, &closing)) {
		if (!closing)
			return fail(p, p->lineno, "<%s> inside <%s> block", tag,
				    p->block_dir->name);
		if (strcmp(tag, p->block_dir->name))
			return fail(p, p->lineno, "</%s> does not close <%s>",
				    tag, p->block_dir->name);
		return close_block(p);
	}
	if (p->block_len + len + 1 > CONF_BLOCK_MAX)
		return fail(p, p->lineno, "<%s> block larger than %d bytes",
			    p->block_dir->name, CONF_BLOCK_MAX);
	need = p->block_len + len + 2; /* '\n' and the final NUL */
	if (need > p->block_size) {
		size_t size = p->block_size ? p->block_size : 4096;
		char *nb;

		while (size < need)
			size *= 2;
		/* copy by hand so no stale key material is left behind */
		nb = xmalloc(size);
		if (p->block_len)
			memcpy(nb, p->block, p->block_len);
		if (p->block)
			explicit_bzero(p->block, p->block_size);
		free(p->block);
		p->block = nb;
		p->block_size = size;
	}
	memcpy(p->block + p->block_len, s, len);
	p->block_len += len;
	p->block[p->block_len++] = '\n';
	p->block[p->block_len] = '\0';
	return 0;
}

static int run_directive(struct conf_parser *p, const struct conf_line *l)
{
	const struct conf_directive *d = lookup(p, l->argv[0]);
	int nargs = l->argc - 1;
	char name[64];

	if (!d)
		return fail(p, l->line, "unknown directive '%s'",
			    printable(l->argv[0], name, sizeof(name)));
	if (nargs < d->min_args || (!no_max(d) && nargs > d->max_args))
		return arg_count_error(p, l->line, d);
	return call_set(p, d, l);
}

static int directive_line(struct conf_parser *p, const char *s, size_t len)
{
	struct conf_line l;
	char tag[CONF_TAG_MAX];
	bool closing;
	int r;

	if (parse_tag(s, len, tag, &closing)) {
		if (closing)
			return fail(p, p->lineno, "</%s> without <%s>", tag,
				    tag);
		return open_block(p, tag);
	}
	memset(&l, 0, sizeof(l));
	l.file = p->file;
	l.line = p->lineno;
	l.argc = tokenize(p, s, len, l.argv);
	r = l.argc > 0 ? run_directive(p, &l) : l.argc;
	/* arguments may be secrets (passwords) */
	explicit_bzero(p->work, len + 1);
	return r;
}

struct conf_parser *conf_parser_new(const char *file,
				    const struct conf_directive *table,
				    void *cfg)
{
	struct conf_parser *p = xcalloc(1, sizeof(*p));

	p->file = xstrdup(file ? file : "(config)");
	p->table = table;
	p->cfg = cfg;
	return p;
}

int conf_parser_line(struct conf_parser *p, const char *line)
{
	size_t len = strlen(line);

	if (p->failed)
		return -1;
	p->lineno++;
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\n', len))
		return fail(p, p->lineno, "newline inside a line");
	if (len > CONF_LINE_MAX)
		return fail(p, p->lineno, "line longer than %d bytes",
			    CONF_LINE_MAX);
	/* a UTF-8 byte order mark, as some Windows editors write */
	if (p->lineno == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;
		len -= 3;
	}
	if (p->block_dir)
		return block_line(p, line, len);
	return directive_line(p, line, len);
}

int conf_parser_finish(struct conf_parser *p)
{
	if (p->failed)
		return -1;
	if (p->block_dir)
		return fail(p, p->block_line, "<%s> block not closed",
			    p->block_dir->name);
	return 0;
}

const char *conf_error(const struct conf_parser *p)
{
	return p->err;
}

void conf_parser_free(struct conf_parser *p)
{
	if (!p)
		return;
	wipe_block(p);
	explicit_bzero(p->work, sizeof(p->work));
	free(p->file);
	free(p);
}

enum { READ_LINE, READ_EOF, READ_ERROR, READ_NUL, READ_LONG };

/* One line of at most cap - 1 bytes (line end included, not stored)
 * into buf, NUL-terminated. */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t len = 0;
	int c;

	while ((c = getc(f)) != EOF) {
		if (c == '\n')
			break;
		if (c == '\0')
			return READ_NUL;
		if (len + 1 >= cap)
			return READ_LONG;
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	if (c == EOF && ferror(f))
		return READ_ERROR;
	if (c == EOF && len == 0)
		return READ_EOF;
	return READ_LINE;
}

static int load_stream(struct conf_parser *p, FILE *f)
{
	/* CONF_LINE_MAX bytes, a '\r' and the NUL */
	char buf[CONF_LINE_MAX + 2];
	int r;

	do {
		switch (read_line(f, buf, sizeof(buf))) {
		case READ_LINE:
			r = conf_parser_line(p, buf);
			break;
		case READ_EOF:
			r = conf_parser_finish(p);
			goto out;
		case READ_NUL:
			r = fail(p, p->lineno + 1, "NUL byte");
			break;
		case READ_LONG:
			r = fail(p, p->lineno + 1, "line longer than %d bytes",
				 CONF_LINE_MAX);
			break;
		default:
			r = fail_errno(p, errno);
			break;
		}
	} while (r == 0);
out:
	explicit_bzero(buf, sizeof(buf));
	return r;
}

int conf_load(const char *path, const struct conf_directive *table, void *cfg,
	      char *err, size_t errlen)
{
	struct conf_parser *p;
	FILE *f;
	int r;

	if (errlen)
		err[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	p = conf_parser_new(path, table, cfg);
	r = load_stream(p, f);
	if (r < 0)
		snprintf(err, errlen, "%s", conf_error(p));
	conf_parser_free(p);
	fclose(f);
	return r;
}

/* Leading decimal digits of s into *v; NULL if none or on overflow. */
static const char *parse_digits(const char *s, unsigned long *v)
{
	unsigned long n = 0;
	const char *start = s;

	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (n > (ULONG_MAX - d) / 10)
			return NULL;
		n = n * 10 + d;
	}
	if (s == start)
		return NULL;
	*v = n;
	return s;
}

static int scale(unsigned long n, unsigned long mul, unsigned long *out)
{
	if (n > ULONG_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

int conf_parse_uint(const char *s, unsigned long min, unsigned long max,
		    unsigned long *out)
{
	unsigned long n;
	const char *end = parse_digits(s, &n);

	if (!end || *end || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* A number followed by one of the units (all of what follows it). */
struct unit {
	const char *name;
	unsigned long mul;
};

static int parse_with_unit(const char *s, const struct unit *units,
			   size_t nunits, unsigned long *out)
{
	unsigned long n;
	const char *end = parse_digits(s, &n);
	size_t i;

	if (!end)
		return -1;
	for (i = 0; i < nunits; i++)
		if (!strcmp(end, units[i].name))
			return scale(n, units[i].mul, out);
	return -1;
}

int conf_parse_duration_ms(const char *s, unsigned long *ms)
{
	static const struct unit units[] = {
		{ "", 1000 },
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
	};

	return parse_with_unit(s, units, ARRAY_SIZE(units), ms);
}

int conf_seconds(const char *s, unsigned long max_ms, double *out, char *err,
		 size_t n)
{
	unsigned long ms;

	if (conf_parse_duration_ms(s, &ms) || ms < 100 || ms > max_ms) {
		snprintf(err, n, "bad duration '%s' (e.g. 10s, 500ms, 2m)", s);
		return -1;
	}
	*out = ms / 1000.0;
	return 0;
}

int conf_count(const char *s, unsigned max, unsigned *out, char *err, size_t n)
{
	unsigned long v;

	if (conf_parse_uint(s, 1, max, &v)) {
		snprintf(err, n, "bad number '%s' (1 to %u)", s, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int conf_parse_size(const char *s, unsigned long *bytes)
{
	static const struct unit units[] = {
		{ "", 1 },          { "k", 1UL << 10 }, { "K", 1UL << 10 },
		{ "m", 1UL << 20 }, { "M", 1UL << 20 }, { "g", 1UL << 30 },
		{ "G", 1UL << 30 }, { "t", 1UL << 40 }, { "T", 1UL << 40 },
	};

	return parse_with_unit(s, units, ARRAY_SIZE(units), bytes);
}
