/* The accounting store: usage.db in the state directory, SQLite in WAL
 * mode. One row per client and UTC day, counts added to it at each
 * flush in one transaction, so a crash loses at most the counts since
 * the last flush and never leaves a half-written store. The only file
 * that includes <sqlite3.h>. */
#ifndef PROXY_SERVER_ACCOUNT_DB_H
#define PROXY_SERVER_ACCOUNT_DB_H

#include <stddef.h>
#include <stdint.h>

/* The columns of a day's row, in this order. */
enum acct_col {
	ACCT_TCP_UP,
	ACCT_TCP_DOWN,
	ACCT_UDP_UP,
	ACCT_UDP_DOWN,
	ACCT_FLOWS,
	ACCT_COLS
};

struct acct_row {
	const char *name;
	const char *key; /* the day "YYYY-MM-DD" or the month "YYYY-MM" */
	uint64_t v[ACCT_COLS];
};

struct acct_db;

#define ACCT_DB_FILE "usage.db"

/* Opens (creating when writable) DIR/usage.db. 0 or -1 with err. */
struct acct_db *acct_db_open(const char *dir, int readonly, char *err,
			     size_t n);
void acct_db_close(struct acct_db *db);

/* One flush: begin, adds, commit. -1 with err; a failed transaction is
 * rolled back whole. */
int acct_db_begin(struct acct_db *db, char *err, size_t n);
int acct_db_add(struct acct_db *db, const char *name, const char *day,
		const uint64_t v[ACCT_COLS], int64_t first, int64_t last,
		char *err, size_t n);
int acct_db_commit(struct acct_db *db, char *err, size_t n);

/* Sum of NAME's rows with from <= day < to (NULL: no bound). */
int acct_db_sum(struct acct_db *db, const char *name, const char *from,
		const char *to, uint64_t v[ACCT_COLS]);
/* Every client ever counted, with first and last seen (Unix time). */
int acct_db_clients(struct acct_db *db,
		    void (*fn)(void *arg, const char *name, int64_t first,
			       int64_t last),
		    void *arg);
/* Rows for `usage`: per day of MONTH ("YYYY-MM") when by_day, else per
 * month; NAME NULL for everyone. */
int acct_db_report(struct acct_db *db, const char *name, const char *month,
		   int by_day, void (*fn)(void *arg, const struct acct_row *r),
		   void *arg);

#endif
