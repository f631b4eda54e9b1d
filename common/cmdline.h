/* The command line both daemons share: -c FILE, -v LEVEL, -t, -h and
 * --version, plus options of their own, each taking one string. */
#ifndef COMMON_CMDLINE_H
#define COMMON_CMDLINE_H

struct cmdline_opt {
	const char *name; /* long form */
	int key;          /* short form; 256 and up: a long option only */
	const char **val; /* where its argument goes */
};

struct cmdline {
	const char *prog;  /* "proxy-client": starts every message */
	const char *usage; /* printed for -h and after a mistake */
	const char *what;  /* "profile": "no profile given (-c FILE)" */
	const struct cmdline_opt *own; /* ends with a NULL name */
	const char *config;
	int level;     /* -v, or -1 */
	int test_only; /* -t */
};

/* Fills config, level and test_only and the own options' values from
 * argv. -1 to go on, else the exit status: 0 after -h or --version, 2
 * after a mistake (told on stderr). */
int cmdline_parse(struct cmdline *c, int argc, char **argv);
/* -v's level, else conf_level (-1: not set), else the default stays. */
void cmdline_log_level(const struct cmdline *c, int conf_level);

#endif
