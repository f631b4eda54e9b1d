#include "cmdline.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "util.h"
#include "version.h"

static const struct option common_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "log-level", required_argument, NULL, 'v' },
	{ "test-config", no_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

/* The option that sets key's value, or NULL. */
static const char **own_val(const struct cmdline *c, int key)
{
	for (const struct cmdline_opt *o = c->own; o->name; o++)
		if (o->key == key)
			return o->val;
	return NULL;
}

/* One option: -1 to go on, else the exit status. */
static int one(struct cmdline *c, int key)
{
	const char **val = own_val(c, key);

	if (val) {
		*val = optarg;
		return -1;
	}
	switch (key) {
	case 'c':
		c->config = optarg;
		return -1;
	case 'v':
		c->level = log_level_parse(optarg);
		if (c->level >= 0)
			return -1;
		fprintf(stderr, "%s: unknown log level '%s'\n", c->prog,
			optarg);
		return 2;
	case 't':
		c->test_only = 1;
		return -1;
	case 'h':
		fputs(c->usage, stdout);
		return 0;
	case 'V':
		printf("%s %s\n", c->prog, PROXY_VERSION);
		return 0;
	default:
		fputs(c->usage, stderr);
		return 2;
	}
}

int cmdline_parse(struct cmdline *c, int argc, char **argv)
{
	size_t nown = 0, ncommon = ARRAY_SIZE(common_opts), i;
	struct option *opts;
	char *shorts, *p;
	int key, rc = -1;

	while (c->own[nown].name)
		nown++;
	opts = xcalloc(ncommon + nown + 1, sizeof(*opts));
	p = shorts = xcalloc(sizeof("c:v:th") + 2 * nown, 1);
	p += sprintf(p, "c:v:th");
	for (i = 0; i < ncommon; i++)
		opts[i] = common_opts[i];
	for (i = 0; i < nown; i++) {
		opts[ncommon + i] = (struct option){ c->own[i].name,
						     required_argument, NULL,
						     c->own[i].key };
		if (c->own[i].key < 256) /* else a long option only */
			p += sprintf(p, "%c:", c->own[i].key);
	}
	c->config = NULL;
	c->level = -1;
	c->test_only = 0;
	while (rc < 0 &&
	       (key = getopt_long(argc, argv, shorts, opts, NULL)) != -1)
		rc = one(c, key);
	free(opts);
	free(shorts);
	if (rc >= 0 || (optind == argc && c->config))
		return rc;
	if (optind < argc)
		fprintf(stderr, "%s: unexpected '%s'\n", c->prog, argv[optind]);
	else
		fprintf(stderr, "%s: no %s given (-c FILE)\n", c->prog,
			c->what);
	fputs(c->usage, stderr);
	return 2;
}

void cmdline_log_level(const struct cmdline *c, int conf_level)
{
	if (c->level >= 0)
		log_set_level(c->level);
	else if (conf_level >= 0)
		log_set_level(conf_level);
}
