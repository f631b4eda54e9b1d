#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level cur_level = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

int log_level_parse(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]) || (s[0] == '0' + i && !s[1]))
			return i;
	if (!strcmp(s, "warning"))
		return LOG_WARN;
	return -1;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	/* syslog priorities: err=3 warning=4 info=6 debug=7 */
	static const int prio[] = { 3, 4, 6, 7 };
	static const char *const tag[] = { "error: ", "warning: ", "",
					   "debug: " };
	char line[1024];
	int n;

	/* Under systemd the journal adds the time and reads the <N> prefix;
	 * on a terminal a timestamp is more useful. */
	if (getenv("JOURNAL_STREAM")) {
		n = snprintf(line, sizeof(line), "<%d>%s", prio[lvl], tag[lvl]);
	} else {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		n = (int)strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ",
				  &tm);
		n += snprintf(line + n, sizeof(line) - n, "%s", tag[lvl]);
	}
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > cur_level)
		return;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}
