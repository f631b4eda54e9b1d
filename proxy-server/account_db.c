#include "account_db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

/* A writer in another process (or a `usage` reader during a
 * checkpoint) waits at most this long: the server's loop must not. */
#define BUSY_TIMEOUT_MS 200

struct acct_db {
	sqlite3 *db;
	sqlite3_stmt *add_day, *add_client;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS usage ("
	" name TEXT NOT NULL, day TEXT NOT NULL,"
	" tcp_up INTEGER NOT NULL, tcp_down INTEGER NOT NULL,"
	" udp_up INTEGER NOT NULL, udp_down INTEGER NOT NULL,"
	" flows INTEGER NOT NULL, PRIMARY KEY (name, day)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS clients ("
	" name TEXT PRIMARY KEY, first_seen INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL);";

static const char add_day_sql[] =
	"INSERT INTO usage VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	" ON CONFLICT (name, day) DO UPDATE SET"
	" tcp_up = tcp_up + ?3, tcp_down = tcp_down + ?4,"
	" udp_up = udp_up + ?5, udp_down = udp_down + ?6,"
	" flows = flows + ?7";

static const char add_client_sql[] =
	"INSERT INTO clients VALUES (?1, ?2, ?3)"
	" ON CONFLICT (name) DO UPDATE SET"
	" first_seen = min(first_seen, ?2), last_seen = max(last_seen, ?3)";

static int fail(struct acct_db *db, const char *what, char *err, size_t n)
{
	snprintf(err, n, "%s: %s", what, sqlite3_errmsg(db->db));
	return -1;
}

struct acct_db *acct_db_open(const char *dir, int readonly, char *err, size_t n)
{
	struct acct_db *db = xcalloc(1, sizeof(*db));
	char path[4096];
	int flags = readonly ? SQLITE_OPEN_READONLY :
			       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	snprintf(path, sizeof(path), "%s/%s", dir, ACCT_DB_FILE);
	if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, n, "%s: %s", path,
			 db->db ? sqlite3_errmsg(db->db) : "out of memory");
		goto bad;
	}
	sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);
	/* WAL: a flush appends and a crash mid-flush rolls back to the
	 * last commit. NORMAL syncs at checkpoints, not at each commit: a
	 * power cut may lose the last flushes, never the store. */
	if (!readonly &&
	    (sqlite3_exec(db->db,
			  "PRAGMA journal_mode=WAL;"
			  "PRAGMA synchronous=NORMAL;",
			  NULL, NULL, NULL) ||
	     sqlite3_exec(db->db, schema, NULL, NULL, NULL) ||
	     sqlite3_prepare_v2(db->db, add_day_sql, -1, &db->add_day, NULL) ||
	     sqlite3_prepare_v2(db->db, add_client_sql, -1, &db->add_client,
				NULL))) {
		fail(db, path, err, n);
		goto bad;
	}
	return db;
bad:
	acct_db_close(db);
	return NULL;
}

void acct_db_close(struct acct_db *db)
{
	if (!db)
		return;
	sqlite3_finalize(db->add_day);
	sqlite3_finalize(db->add_client);
	sqlite3_close(db->db);
	free(db);
}

int acct_db_begin(struct acct_db *db, char *err, size_t n)
{
	/* IMMEDIATE: the write lock now, not halfway through */
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
		return fail(db, "begin", err, n);
	return 0;
}

int acct_db_commit(struct acct_db *db, char *err, size_t n)
{
	if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL)) {
		fail(db, "commit", err, n);
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int acct_db_add(struct acct_db *db, const char *name, const char *day,
		const uint64_t v[ACCT_COLS], int64_t first, int64_t last,
		char *err, size_t n)
{
	sqlite3_bind_text(db->add_day, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(db->add_day, 2, day, -1, SQLITE_STATIC);
	for (int i = 0; i < ACCT_COLS; i++)
		sqlite3_bind_int64(db->add_day, 3 + i, (sqlite3_int64)v[i]);
	if (step_done(db->add_day)) {
		fail(db, "add", err, n);
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	sqlite3_bind_text(db->add_client, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->add_client, 2, first);
	sqlite3_bind_int64(db->add_client, 3, last);
	if (step_done(db->add_client)) {
		fail(db, "add", err, n);
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

#define SUMS \
	"sum(tcp_up), sum(tcp_down), sum(udp_up), sum(udp_down), " \
	"sum(flows)"

static void read_sums(sqlite3_stmt *st, int first, uint64_t v[ACCT_COLS])
{
	for (int i = 0; i < ACCT_COLS; i++)
		v[i] = (uint64_t)sqlite3_column_int64(st, first + i);
}

int acct_db_sum(struct acct_db *db, const char *name, const char *from,
		const char *to, uint64_t v[ACCT_COLS])
{
	sqlite3_stmt *st;
	int rc;

	memset(v, 0, ACCT_COLS * sizeof(*v));
	if (sqlite3_prepare_v2(db->db,
			       "SELECT " SUMS " FROM usage WHERE "
			       "name = ?1 AND (?2 IS NULL OR day >= ?2) AND "
			       "(?3 IS NULL OR day < ?3)",
			       -1, &st, NULL))
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	if (to)
		sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_sums(st, 0, v);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int acct_db_clients(struct acct_db *db,
		    void (*fn)(void *arg, const char *name, int64_t first,
			       int64_t last),
		    void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db->db,
			       "SELECT name, first_seen, last_seen "
			       "FROM clients ORDER BY name",
			       -1, &st, NULL))
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0),
		   sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int acct_db_report(struct acct_db *db, const char *name, const char *month,
		   int by_day, void (*fn)(void *arg, const struct acct_row *r),
		   void *arg)
{
	sqlite3_stmt *st;
	int rc;
	const char *sql =
		by_day ? "SELECT name, day, " SUMS " FROM usage WHERE"
			 " (?1 IS NULL OR name = ?1) AND substr(day, 1, 7) = ?2"
			 " GROUP BY name, day ORDER BY name, day" :
			 "SELECT name, substr(day, 1, 7) AS m, " SUMS
			 " FROM usage"
			 " WHERE (?1 IS NULL OR name = ?1) GROUP BY name, m"
			 " ORDER BY name, m";

	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL))
		return -1;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (by_day)
		sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct acct_row r = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.key = (const char *)sqlite3_column_text(st, 1),
		};

		read_sums(st, 2, r.v);
		fn(arg, &r);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
