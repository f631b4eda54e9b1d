/* Unit tests for common/conf.c: tokenizing, directive table, inline
 * blocks, every error message, conf_load edge cases and the value
 * helpers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/conf.h"
#include "test.h"

/* Every call to set() is appended to log as "line:name[arg|arg]" or
 * "line:name{block}" followed by ';'. */
struct rec {
	char log[16384];
	size_t block_len; /* of the last block */
};

static void append(struct rec *r, const char *s)
{
	size_t n = strlen(r->log);

	snprintf(r->log + n, sizeof(r->log) - n, "%s", s);
}

static int set_rec(void *cfg, const struct conf_line *l, char *err, size_t n)
{
	struct rec *r = cfg;
	char tmp[64];
	int i;

	snprintf(tmp, sizeof(tmp), "%d:%s", l->line, l->argv[0]);
	append(r, tmp);
	if (l->block) {
		append(r, "{");
		append(r, l->block);
		append(r, "}");
		r->block_len = l->block_len;
		CHECK_EQ(l->argc, 1);
		CHECK_EQ(strlen(l->block), l->block_len);
	} else {
		append(r, "[");
		for (i = 1; i < l->argc; i++) {
			if (i > 1)
				append(r, "|");
			append(r, l->argv[i]);
		}
		append(r, "]");
	}
	append(r, ";");
	CHECK(l->file != NULL);
	/* "bad" as any argument, or a block starting with "bad", fails */
	for (i = 1; i < l->argc; i++) {
		if (!strcmp(l->argv[i], "bad")) {
			snprintf(err, n, "bad value '%s'", l->argv[i]);
			return -1;
		}
	}
	if (l->block && !strncmp(l->block, "bad", 3))
		return -1; /* no message: the parser supplies one */
	return 0;
}

static const struct conf_directive table[] = {
	{ "listen", 1, 1, 0, set_rec },
	{ "dns", 1, -1, 0, set_rec },
	{ "deny", 2, CONF_MAX_ARGS - 1, 0, set_rec },
	{ "keepalive", 1, 2, 0, set_rec },
	{ "user", 2, 2, 0, set_rec },
	{ "flag", 0, 0, 0, set_rec },
	{ "ca", 1, 1, 1, set_rec },
	{ "key", 1, 1, 1, set_rec },
	{ "cert", 1, 1, 0, set_rec }, /* no block form */
	{ "ignored", 0, 3, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};

/* Feeds text line by line (each with its '\n' when it has one) to a new
 * parser named "t.conf", finishes, and returns 0/-1; the error or "" is
 * copied to err, the set() log to r. */
static int feed(const char *text, struct rec *r, char *err)
{
	struct conf_parser *p = conf_parser_new("t.conf", table, r);
	char line[8192];
	const char *s = text;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	while (*s && rc == 0) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s + 1) : strlen(s);

		if (n >= sizeof(line))
			abort();
		memcpy(line, s, n);
		line[n] = '\0';
		rc = conf_parser_line(p, line);
		s += n;
	}
	if (rc == 0)
		rc = conf_parser_finish(p);
	snprintf(err, CONF_ERR_MAX, "%s", conf_error(p));
	conf_parser_free(p);
	return rc;
}

static char tmpl[64];

static const char *write_tmp(const void *data, size_t len)
{
	int fd;

	snprintf(tmpl, sizeof(tmpl), "/tmp/test_conf.XXXXXX");
	fd = mkstemp(tmpl);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return tmpl;
}

/* conf_load on a temp file holding data; the message has the temp name
 * replaced by "t.conf". */
static int load(const void *data, size_t len, struct rec *r, char *err)
{
	char raw[CONF_ERR_MAX];
	const char *path = write_tmp(data, len);
	size_t pl = strlen(path);
	int rc;

	memset(r, 0, sizeof(*r));
	rc = conf_load(path, table, r, raw, sizeof(raw));
	unlink(path);
	if (!strncmp(raw, path, pl))
		snprintf(err, CONF_ERR_MAX, "t.conf%s", raw + pl);
	else
		snprintf(err, CONF_ERR_MAX, "%s", raw);
	return rc;
}

/* text with every "\n" turned into "\r\n" */
static char *crlf(const char *text)
{
	char *out = malloc(2 * strlen(text) + 1), *o = out;

	for (; *text; text++) {
		if (*text == '\n')
			*o++ = '\r';
		*o++ = *text;
	}
	*o = '\0';
	return out;
}

static const char sample[] =
	"# a comment line\n"
	"\n"
	"   ; an OpenVPN style comment\n"
	"  listen [::]:443   # trailing comment\n"
	"\tdns\t1.1.1.1  \"[2606:4700::1111]:53\"\n"
	"user alice \"correct horse # battery\"\n"
	"user \"a \\\"quoted\\\" name\" \"back\\\\slash\"\n"
	"keepalive 10s\n"
	"keepalive 10s 30s#comment glued\n"
	"flag\n"
	"ignored a b\n"
	"<ca>\n"
	"-----BEGIN CERTIFICATE-----\n"
	"  # kept verbatim; \"quotes\" too\n"
	"\n"
	"-----END CERTIFICATE-----\n"
	"</ca>\n"
	"  <key>  \n"
	"secret\n"
	"\t</key>\t\n"
	"ca file.crt\n"
	"user \"\" x\n"
	"user a\"b c\"d e\n"
	"user c:\\path \"c:\\path\"\n";

static const char sample_log[] = "4:listen[[::]:443];"
				 "5:dns[1.1.1.1|[2606:4700::1111]:53];"
				 "6:user[alice|correct horse # battery];"
				 "7:user[a \"quoted\" name|back\\slash];"
				 "8:keepalive[10s];"
				 "9:keepalive[10s|30s];"
				 "10:flag[];"
				 "12:ca{-----BEGIN CERTIFICATE-----\n"
				 "  # kept verbatim; \"quotes\" too\n"
				 "\n"
				 "-----END CERTIFICATE-----\n};"
				 "18:key{secret\n};"
				 "21:ca[file.crt];"
				 "22:user[|x];"
				 "23:user[ab cd|e];"
				 "24:user[c:\\path|c:\\path];";

static void test_sample(void)
{
	struct rec r;
	char err[CONF_ERR_MAX], *text = crlf(sample), *bom;
	size_t len = strlen(sample);

	CHECK_EQ(feed(sample, &r, err), 0);
	CHECK_STR(err, "");
	CHECK_STR(r.log, sample_log);

	CHECK_EQ(feed(text, &r, err), 0);
	CHECK_STR(r.log, sample_log);

	CHECK_EQ(load(sample, len, &r, err), 0);
	CHECK_STR(err, "");
	CHECK_STR(r.log, sample_log);
	/* no newline after the last line */
	CHECK_EQ(load(sample, len - 1, &r, err), 0);
	CHECK_STR(r.log, sample_log);
	CHECK_EQ(load(text, strlen(text), &r, err), 0);
	CHECK_STR(r.log, sample_log);
	CHECK_EQ(load(text, strlen(text) - 2, &r, err), 0);
	CHECK_STR(r.log, sample_log);
	/* a final line that ends in "\r" only */
	CHECK_EQ(load(text, strlen(text) - 1, &r, err), 0);
	CHECK_STR(r.log, sample_log);

	/* a UTF-8 byte order mark on the first line is skipped */
	bom = malloc(len + 4);
	memcpy(bom, "\xef\xbb\xbf", 3);
	memcpy(bom + 3, sample, len + 1);
	CHECK_EQ(load(bom, len + 3, &r, err), 0);
	CHECK_STR(r.log, sample_log);
	free(bom);
	free(text);
}

/* Lines fed one at a time: with and without their line end. */
static void test_line_ends(void)
{
	static const char *const forms[] = {
		"listen 1.2.3.4:80",           "listen 1.2.3.4:80\n",
		"listen 1.2.3.4:80\r\n",       "listen 1.2.3.4:80\r",
		"  listen   1.2.3.4:80  \r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct rec r;
		struct conf_parser *p = conf_parser_new("t.conf", table, &r);

		memset(&r, 0, sizeof(r));
		CHECK_EQ(conf_parser_line(p, forms[i]), 0);
		CHECK_EQ(conf_parser_line(p, "flag"), 0);
		CHECK_EQ(conf_parser_finish(p), 0);
		CHECK_STR(r.log, "1:listen[1.2.3.4:80];2:flag[];");
		CHECK_STR(conf_error(p), "");
		conf_parser_free(p);
	}
	conf_parser_free(NULL);
}

struct err_case {
	const char *text;
	const char *err;
};

static const struct err_case err_cases[] = {
	{ "flag\nfoo bar\n", "t.conf:2: unknown directive 'foo'" },
	{ "\"\" x\n", "t.conf:1: unknown directive ''" },
	{ "Listen x\n", "t.conf:1: unknown directive 'Listen'" },
	{ "listen\n", "t.conf:1: 'listen' takes 1 argument" },
	{ "listen a b\n", "t.conf:1: 'listen' takes 1 argument" },
	{ "user a\n", "t.conf:1: 'user' takes 2 arguments" },
	{ "keepalive\n", "t.conf:1: 'keepalive' takes 1 to 2 arguments" },
	{ "keepalive a b c\n", "t.conf:1: 'keepalive' takes 1 to 2 arguments" },
	{ "dns # none\n", "t.conf:1: 'dns' takes at least 1 argument" },
	{ "flag x\n", "t.conf:1: 'flag' takes no arguments" },
	{ "deny x\n", "t.conf:1: 'deny' takes at least 2 arguments" },
	{ "\n\nlisten bad\n", "t.conf:3: 'listen': bad value 'bad'" },
	{ "dns 1 2 3 bad\n", "t.conf:1: 'dns': bad value 'bad'" },
	{ "user \"a b\n", "t.conf:1: unterminated quote" },
	{ "user \"a b\\\"\n", "t.conf:1: unterminated quote" },
	{ "user a \"b\\\\\"\"\n", "t.conf:1: unterminated quote" },
	{ "dns 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
	  "t.conf:1: too many arguments (max 15)" },
	{ "<foo>\nx\n</foo>\n", "t.conf:1: unknown block <foo>" },
	{ "<cert>\n", "t.conf:1: unknown block <cert>" },
	{ "<listen>\n", "t.conf:1: unknown block <listen>" },
	{ "</ca>\n", "t.conf:1: </ca> without <ca>" },
	{ "flag\n<ca>\nabc\n", "t.conf:2: <ca> block not closed" },
	{ "<ca>\n", "t.conf:1: <ca> block not closed" },
	{ "<ca>\nabc\n<key>\n</key>\n</ca>\n",
	  "t.conf:3: <key> inside <ca> block" },
	{ "<ca>\n<ca>\n", "t.conf:2: <ca> inside <ca> block" },
	{ "<ca>\nabc\n</key>\n", "t.conf:3: </key> does not close <ca>" },
	{ "\n<ca>\nbad\n</ca>\n", "t.conf:2: 'ca': invalid value" },
	{ "<ca>\nx\n</ca>\nlisten 1\nlisten\n",
	  "t.conf:5: 'listen' takes 1 argument" },
	{ "<ca> # not alone\n", "t.conf:1: unknown directive '<ca>'" },
	{ "\x01\x7f\xff x\n", "t.conf:1: unknown directive '?\?\?'" },
	{ "line\nwith\n\ninside\n", "t.conf:1: unknown directive 'line'" },
};

static void test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		char err[CONF_ERR_MAX], *text = crlf(c->text);
		struct rec r;

		CHECK_EQ(feed(c->text, &r, err), -1);
		CHECK_STR(err, c->err);
		CHECK_EQ(feed(text, &r, err), -1);
		CHECK_STR(err, c->err);
		CHECK_EQ(load(c->text, strlen(c->text), &r, err), -1);
		CHECK_STR(err, c->err);
		CHECK_EQ(load(text, strlen(text), &r, err), -1);
		CHECK_STR(err, c->err);
		free(text);
	}
}

/* 15 arguments is the most; argv is full then. */
static void test_max_args(void)
{
	struct rec r;
	char err[CONF_ERR_MAX];

	CHECK_EQ(feed("dns 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 # c\n", &r, err),
		 0);
	CHECK_STR(r.log, "1:dns[1|2|3|4|5|6|7|8|9|10|11|12|13|14|15];");
	CHECK_EQ(feed("deny 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n", &r, err),
		 0);
	CHECK_STR(r.log, "1:deny[1|2|3|4|5|6|7|8|9|10|11|12|13|14|15];");
	CHECK_EQ(feed("deny 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", &r, err),
		 -1);
	CHECK_STR(err, "t.conf:1: too many arguments (max 15)");
}

/* After an error every call fails and the first message stays. */
static void test_sticky(void)
{
	struct rec r;
	struct conf_parser *p = conf_parser_new(NULL, table, &r);

	memset(&r, 0, sizeof(r));
	CHECK_EQ(conf_parser_line(p, "nope"), -1);
	CHECK_STR(conf_error(p), "(config):1: unknown directive 'nope'");
	CHECK_EQ(conf_parser_line(p, "flag"), -1);
	CHECK_EQ(conf_parser_line(p, "other"), -1);
	CHECK_EQ(conf_parser_finish(p), -1);
	CHECK_STR(conf_error(p), "(config):1: unknown directive 'nope'");
	CHECK_STR(r.log, "");
	conf_parser_free(p);

	/* a newline inside a line fed directly */
	p = conf_parser_new("t.conf", table, &r);
	CHECK_EQ(conf_parser_line(p, "flag\nflag\n"), -1);
	CHECK_STR(conf_error(p), "t.conf:1: newline inside a line");
	conf_parser_free(p);

	/* finish while a block is open, and the error stays */
	p = conf_parser_new("t.conf", table, &r);
	CHECK_EQ(conf_parser_line(p, "<key>"), 0);
	CHECK_EQ(conf_parser_finish(p), -1);
	CHECK_STR(conf_error(p), "t.conf:1: <key> block not closed");
	CHECK_EQ(conf_parser_finish(p), -1);
	conf_parser_free(p);
}

static void test_blocks(void)
{
	struct rec r;
	char err[CONF_ERR_MAX];

	CHECK_EQ(feed("<ca>\n</ca>\n", &r, err), 0);
	CHECK_STR(r.log, "1:ca{};");
	CHECK_EQ(r.block_len, 0);

	/* lines inside are kept as they are, blanks and '#' included */
	CHECK_EQ(feed("<key>\n  a b \t\n#x\n\"q\n<keyx\n</key>\n", &r, err), 0);
	CHECK_STR(r.log, "1:key{  a b \t\n#x\n\"q\n<keyx\n};");
	CHECK_EQ(r.block_len, 20);

	/* CRLF is a line end inside blocks too */
	CHECK_EQ(feed("<ca>\r\nA\r\n\r\n</ca>\r\n", &r, err), 0);
	CHECK_STR(r.log, "1:ca{A\n\n};");
	CHECK_EQ(r.block_len, 3);

	/* tags may be surrounded by blanks; a malformed one is content */
	CHECK_EQ(feed(" \t<ca>\t \n< /ca>\n<ca >\n</ca>", &r, err), 0);
	CHECK_STR(r.log, "1:ca{< /ca>\n<ca >\n};");

	/* two blocks, the second after directives */
	CHECK_EQ(feed("<ca>\nA\n</ca>\nflag\n<key>\nB\n</key>\n", &r, err), 0);
	CHECK_STR(r.log, "1:ca{A\n};4:flag[];5:key{B\n};");
}

/* Exactly 1 MiB of block text passes; one more byte does not. */
static void test_block_cap(void)
{
	struct conf_parser *p;
	struct rec r;
	char line[1024];
	int i;

	memset(line, 'A', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0'; /* 1023 bytes + '\n' = 1 KiB */

	p = conf_parser_new("t.conf", table, &r);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(conf_parser_line(p, "<ca>"), 0);
	for (i = 0; i < 1024; i++)
		if (conf_parser_line(p, line))
			break;
	CHECK_EQ(i, 1024);
	CHECK_EQ(conf_parser_line(p, "</ca>"), 0);
	CHECK_EQ(r.block_len, 1024 * 1024);
	CHECK_EQ(conf_parser_finish(p), 0);
	conf_parser_free(p);

	p = conf_parser_new("t.conf", table, &r);
	memset(&r, 0, sizeof(r));
	CHECK_EQ(conf_parser_line(p, "<ca>"), 0);
	for (i = 0; i < 1024; i++)
		CHECK_EQ(conf_parser_line(p, line), 0);
	CHECK_EQ(conf_parser_line(p, ""), -1);
	CHECK_STR(conf_error(p),
		  "t.conf:1026: <ca> block larger than 1048576 bytes");
	CHECK_STR(r.log, "");
	conf_parser_free(p);
}

/* Lines of 4096 bytes pass, longer ones fail, in either entry point. */
static void test_long_lines(void)
{
	size_t sizes[] = { 4095, 4096, 4097, 4098, 4099, 10000 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *text = malloc(n + 16), err[CONF_ERR_MAX];
		struct conf_parser *p;
		struct rec r;
		int want = n <= 4096 ? 0 : -1;

		/* "flag\n" then "dns xxxx...   " of n bytes, then "\r\n" */
		memcpy(text, "flag\ndns ", 9);
		memset(text + 9, 'x', n - 4);
		memcpy(text + 5 + n, "\r\n", 3);

		CHECK_EQ(load(text, n + 7, &r, err), want);
		CHECK_STR(err,
			  want ? "t.conf:2: line longer than 4096 bytes" : "");
		/* the same without the line end */
		CHECK_EQ(load(text, n + 5, &r, err), want);
		CHECK_STR(err,
			  want ? "t.conf:2: line longer than 4096 bytes" : "");

		p = conf_parser_new("t.conf", table, &r);
		memset(&r, 0, sizeof(r));
		CHECK_EQ(conf_parser_line(p, "flag"), 0);
		CHECK_EQ(conf_parser_line(p, text + 5), want);
		CHECK_STR(conf_error(p),
			  want ? "t.conf:2: line longer than 4096 bytes" : "");
		conf_parser_free(p);
		free(text);
	}
}

static void test_load_errors(void)
{
	static const char nul[] = "flag\nflag\nlisten a\0b\nflag\n";
	static const char nul_last[] = "flag\n\0";
	struct rec r;
	char err[CONF_ERR_MAX];
	char dir[] = "/tmp/test_conf_dir.XXXXXX";

	CHECK_EQ(conf_load("/nonexistent/x.conf", table, &r, err, sizeof(err)),
		 -1);
	CHECK_STR(err, "/nonexistent/x.conf: No such file or directory");

	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(conf_load(dir, table, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, ": Is a directory") != NULL);
	CHECK(!strncmp(err, dir, strlen(dir)));
	rmdir(dir);

	CHECK_EQ(load(nul, sizeof(nul) - 1, &r, err), -1);
	CHECK_STR(err, "t.conf:3: NUL byte");
	CHECK_STR(r.log, "1:flag[];2:flag[];");
	CHECK_EQ(load(nul_last, sizeof(nul_last) - 1, &r, err), -1);
	CHECK_STR(err, "t.conf:2: NUL byte");

	/* empty files and files of blanks and comments are fine */
	CHECK_EQ(load("", 0, &r, err), 0);
	CHECK_EQ(load("\n\n  \t\n# x\r\n;y", 13, &r, err), 0);
	CHECK_STR(r.log, "");

	/* a truncated error buffer stays terminated; size 0 is allowed */
	CHECK_EQ(conf_load("/nonexistent/x.conf", table, &r, err, 5), -1);
	CHECK_STR(err, "/non");
	CHECK_EQ(conf_load("/nonexistent/x.conf", table, &r, err, 0), -1);
}

static void test_uint(void)
{
	unsigned long v = 7;
	char big[64];

	CHECK_EQ(conf_parse_uint("0", 0, 10, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(conf_parse_uint("10", 0, 10, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(conf_parse_uint("0010", 0, 10, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(conf_parse_uint("11", 0, 10, &v), -1);
	CHECK_EQ(conf_parse_uint("4", 5, 10, &v), -1);
	CHECK_EQ(v, 10);
	CHECK_EQ(conf_parse_uint("", 0, 10, &v), -1);
	CHECK_EQ(conf_parse_uint("-1", 0, ULONG_MAX, &v), -1);
	CHECK_EQ(conf_parse_uint("+1", 0, ULONG_MAX, &v), -1);
	CHECK_EQ(conf_parse_uint(" 1", 0, ULONG_MAX, &v), -1);
	CHECK_EQ(conf_parse_uint("1 ", 0, ULONG_MAX, &v), -1);
	CHECK_EQ(conf_parse_uint("1x", 0, ULONG_MAX, &v), -1);
	CHECK_EQ(conf_parse_uint("0x10", 0, ULONG_MAX, &v), -1);
	snprintf(big, sizeof(big), "%lu", ULONG_MAX);
	CHECK_EQ(conf_parse_uint(big, 0, ULONG_MAX, &v), 0);
	CHECK(v == ULONG_MAX);
	snprintf(big, sizeof(big), "%lu0", ULONG_MAX);
	CHECK_EQ(conf_parse_uint(big, 0, ULONG_MAX, &v), -1);
	snprintf(big, sizeof(big), "%lu", ULONG_MAX);
	big[strlen(big) - 1]++; /* ULONG_MAX + 1 */
	CHECK_EQ(conf_parse_uint(big, 0, ULONG_MAX, &v), -1);
}

static void test_duration(void)
{
	static const struct {
		const char *s;
		unsigned long ms;
	} ok[] = {
		{ "0", 0 },       { "30", 30000 },  { "30s", 30000 },
		{ "250ms", 250 }, { "5m", 300000 }, { "1h", 3600000 },
		{ "0ms", 0 },     { "007s", 7000 },
	};
	static const char *const bad[] = {
		"",    "s",     "ms",  "-1",    "+1",  "1.5s", "10 s",
		"10S", "10sec", "10d", "10msx", "1hh", " 1",   "1m1",
	};
	unsigned long ms;
	char big[64];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = 12345;
		CHECK_EQ(conf_parse_duration_ms(ok[i].s, &ms), 0);
		CHECK_EQ(ms, ok[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 12345;
		CHECK_EQ(conf_parse_duration_ms(bad[i], &ms), -1);
		CHECK_EQ(ms, 12345);
	}
	snprintf(big, sizeof(big), "%lums", ULONG_MAX);
	CHECK_EQ(conf_parse_duration_ms(big, &ms), 0);
	CHECK(ms == ULONG_MAX);
	snprintf(big, sizeof(big), "%lu", ULONG_MAX / 1000 + 1);
	CHECK_EQ(conf_parse_duration_ms(big, &ms), -1);
	snprintf(big, sizeof(big), "%lu", ULONG_MAX / 1000);
	CHECK_EQ(conf_parse_duration_ms(big, &ms), 0);
	snprintf(big, sizeof(big), "%luh", ULONG_MAX / 3600000 + 1);
	CHECK_EQ(conf_parse_duration_ms(big, &ms), -1);
	snprintf(big, sizeof(big), "%lum", ULONG_MAX / 60000 + 1);
	CHECK_EQ(conf_parse_duration_ms(big, &ms), -1);
}

/* A directive's duration: 100 ms up to the bound, else a message that
 * names the value; nothing is written on failure. */
static void test_seconds(void)
{
	static const char *const bad[] = { "99ms", "0", "2h", "soon" };
	char err[128];
	double v = 0;
	size_t i;

	CHECK_EQ(conf_seconds("100ms", 3600000ul, &v, err, sizeof(err)), 0);
	CHECK(v == 0.1);
	CHECK_EQ(conf_seconds("1h", 3600000ul, &v, err, sizeof(err)), 0);
	CHECK(v == 3600.0);
	CHECK_EQ(conf_seconds("90s", 3600000ul, &v, err, sizeof(err)), 0);
	CHECK(v == 90.0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		err[0] = 0;
		CHECK_EQ(conf_seconds(bad[i], 3600000ul, &v, err, sizeof(err)),
			 -1);
		CHECK(v == 7);
		CHECK(strstr(err, "bad duration") != NULL);
		CHECK(strstr(err, bad[i]) != NULL);
	}
}

static void test_size(void)
{
	static const struct {
		const char *s;
		unsigned long n;
	} ok[] = {
		{ "0", 0 },
		{ "262144", 262144 },
		{ "256k", 262144 },
		{ "256K", 262144 },
		{ "4M", 4194304 },
		{ "4m", 4194304 },
		{ "1g", 1073741824 },
		{ "1G", 1073741824 },
		{ "0k", 0 },
		{ "4T", 4398046511104 },
		{ "1t", 1099511627776 },
	};
	static const char *const bad[] = {
		"",    "k",   "-1", "+1", "1.5M", "4 M",  "4MB",
		"4Mi", "4kk", "4P", " 4", "4 ",   "0x10",
	};
	unsigned long n;
	char big[64];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = 12345;
		CHECK_EQ(conf_parse_size(ok[i].s, &n), 0);
		CHECK_EQ(n, ok[i].n);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 12345;
		CHECK_EQ(conf_parse_size(bad[i], &n), -1);
		CHECK_EQ(n, 12345);
	}
	snprintf(big, sizeof(big), "%luk", ULONG_MAX / 1024 + 1);
	CHECK_EQ(conf_parse_size(big, &n), -1);
	snprintf(big, sizeof(big), "%luk", ULONG_MAX / 1024);
	CHECK_EQ(conf_parse_size(big, &n), 0);
	CHECK(n == ULONG_MAX / 1024 * 1024);
	snprintf(big, sizeof(big), "%luG", ULONG_MAX / (1UL << 30) + 1);
	CHECK_EQ(conf_parse_size(big, &n), -1);
	snprintf(big, sizeof(big), "%lu0", ULONG_MAX);
	CHECK_EQ(conf_parse_size(big, &n), -1);
}

int main(void)
{
	test_sample();
	test_line_ends();
	test_errors();
	test_max_args();
	test_sticky();
	test_blocks();
	test_block_cap();
	test_long_lines();
	test_load_errors();
	test_uint();
	test_duration();
	test_seconds();
	test_size();
	return test_summary("conf");
}
