/* proxy-server usage: the accounting store's totals per day and per
 * month, read straight from usage.db (the server need not run; SQLite's
 * WAL lets this read while the server writes). */
#include "usage.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/conf.h"
#include "../common/status.h"
#include "account_db.h"
#include "server_conf.h"

struct report {
	uint64_t sum[ACCT_COLS];
	int rows;
};

static void print_row(void *arg, const struct acct_row *r)
{
	struct report *rep = arg;
	char s[ACCT_COLS][32];

	for (int i = 0; i < ACCT_FLOWS; i++)
		status_bytes(r->v[i], s[i], sizeof(s[i]));
	printf("%-16s %-10s %9s %9s %9s %9s %7llu\n", r->name, r->key,
	       s[ACCT_TCP_UP], s[ACCT_TCP_DOWN], s[ACCT_UDP_UP],
	       s[ACCT_UDP_DOWN], (unsigned long long)r->v[ACCT_FLOWS]);
	for (int i = 0; i < ACCT_COLS; i++)
		rep->sum[i] += r->v[i];
	rep->rows++;
}

static void header(const char *what)
{
	printf("%-16s %-10s %9s %9s %9s %9s %7s\n", "CLIENT", what, "TCP UP",
	       "TCP DOWN", "UDP UP", "UDP DOWN", "FLOWS");
}

static int valid_month(const char *m)
{
	int y, mo, used = 0;

	return sscanf(m, "%4d-%2d%n", &y, &mo, &used) == 2 && used == 7 &&
	       !m[7] && mo >= 1 && mo <= 12;
}

static const char usage_help[] =
	"usage: proxy-server usage [-c FILE | --state-dir DIR] [NAME] "
	"[--month YYYY-MM]\n";

int usage_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "month", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_file = NULL, *dir = SERVER_STATE_DIR, *name = NULL;
	char month[16] = "", err[CONF_ERR_MAX];
	struct server_conf conf = { 0 };
	struct report days = { { 0 }, 0 }, months = { { 0 }, 0 };
	struct acct_db *db;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			conf_file = optarg;
		else if (c == 's')
			dir = optarg;
		else if (c == 'm' && valid_month(optarg))
			snprintf(month, sizeof(month), "%s", optarg);
		else
			goto bad;
	}
	if (argc - optind > 1)
		goto bad;
	name = optind < argc ? argv[optind] : NULL;
	if (!month[0]) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(month, sizeof(month), "%Y-%m", &tm);
	}
	if (conf_file) {
		if (server_conf_load(&conf, conf_file, err, sizeof(err))) {
			fprintf(stderr, "proxy-server usage: %s\n", err);
			server_conf_free(&conf);
			return 1;
		}
		dir = conf.state_dir;
	}
	db = acct_db_open(dir, 1, err, sizeof(err));
	if (!db) {
		fprintf(stderr, "proxy-server usage: %s\n", err);
		server_conf_free(&conf);
		return 1;
	}
	printf("per day of %s (UTC):\n", month);
	header("DAY");
	rc = acct_db_report(db, name, month, 1, print_row, &days);
	printf("\nper month:\n");
	header("MONTH");
	rc |= acct_db_report(db, name, NULL, 0, print_row, &months);
	acct_db_close(db);
	server_conf_free(&conf);
	if (rc) {
		fprintf(stderr, "proxy-server usage: cannot read the store\n");
		return 1;
	}
	return 0;
bad:
	fputs(usage_help, stderr);
	return 2;
}
