/* The line-oriented config format shared by both daemons (SPEC 4):
 * "directive arg..." per line, '#' comments, double quotes around an
 * argument that holds spaces, and inline blocks <ca>...</ca>,
 * <cert>...</cert>, <key>...</key> that stand in for a file path.
 *
 * The parser is a streaming state machine over lines with no globals;
 * each complete directive is handed to the directive table. */
#ifndef COMMON_CONF_H
#define COMMON_CONF_H

#include <stddef.h>

#define CONF_MAX_ARGS 16
#define CONF_ERR_MAX 512

struct conf_line {
	const char *file;
	int line; /* line of the directive, or of the block's <tag> */
	int argc; /* argv[0] is the directive name */
	char *argv[CONF_MAX_ARGS];
	const char *block; /* inline block text (NUL-terminated), else NULL */
	size_t block_len;
};

/* set() gets the line and fills err (without file:line; the parser adds
 * it) on failure. A directive with block_ok may come as <name>...</name>;
 * then argc == 1 and block holds the text. */
struct conf_directive {
	const char *name;
	int min_args, max_args; /* not counting the name */
	int block_ok;
	int (*set)(void *cfg, const struct conf_line *l, char *err, size_t n);
};

struct conf_parser;

struct conf_parser *conf_parser_new(const char *file,
				    const struct conf_directive *table,
				    void *cfg);
/* Feeds one line (without or with its trailing newline). 0 or -1; on -1
 * conf_error() says "file:line: what". */
int conf_parser_line(struct conf_parser *p, const char *line);
/* End of input: -1 if a block is still open. */
int conf_parser_finish(struct conf_parser *p);
const char *conf_error(const struct conf_parser *p);
void conf_parser_free(struct conf_parser *p);

/* Reads and parses a whole file; on error err holds "file:line: what"
 * or "file: strerror". 0 or -1. */
int conf_load(const char *path, const struct conf_directive *table, void *cfg,
	      char *err, size_t errlen);

/* Helpers for set() functions. */
int conf_parse_uint(const char *s, unsigned long min, unsigned long max,
		    unsigned long *out);
/* "30", "30s", "5m", "1h", "250ms" into milliseconds. */
int conf_parse_duration_ms(const char *s, unsigned long *ms);
/* A directive's duration, 100 ms to max_ms (usually one of the two
 * bounds below), into seconds; or -1 with a message in err. */
int conf_seconds(const char *s, unsigned long max_ms, double *out, char *err,
		 size_t n);
#define CONF_HOUR_MS 3600000ul
/* A directive's count, 1 to max, or -1 with a message in err. */
int conf_count(const char *s, unsigned max, unsigned *out, char *err, size_t n);
#define CONF_DAY_MS 86400000ul
/* "262144", "256k", "4M", "3G", "1T" into bytes (binary units). */
int conf_parse_size(const char *s, unsigned long *bytes);

#endif
