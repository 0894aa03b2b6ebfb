#include "sqlfile.h"
#include "errtext.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long open waits for a store held by a process that is still
 * exiting (a restart right after a kill). */
#define SQLFILE_BUSY_MS 1000

/* Maps SQLite's failure at open time to the errno the header promises. */
static int open_errno(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int sqlfile_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Runs a statement returning one text value into buf. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	buf[0] = '\0';
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(buf, len, "%s", t ? (const char *)t : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Reads what open needs from the file and decides whether it is new (1),
 * ours (0), or something else (a negative errno). */
static int check(sqlite3 *db, const char *path, const struct sqlfile_kind *k,
		 char *err, size_t errlen)
{
	int64_t app = 0, version = 0, tables = 0;
	int rc;

	/* The first statement that reads page 1: a file that is not SQLite
	 * fails here with SQLITE_NOTADB, a held one with SQLITE_BUSY. */
	rc = sqlfile_query_int(db, "PRAGMA application_id", &app);
	if (rc != SQLITE_OK && (rc & 0xff) == SQLITE_BUSY)
		return errtext(-EBUSY, err, errlen,
			       "%s: %s (another %s holds the store)", path,
			       sqlite3_errmsg(db), k->owner);
	if (rc != SQLITE_OK)
		return errtext(open_errno(rc), err, errlen,
			       "%s: %s (not an SQLite database, or damaged)",
			       path, sqlite3_errmsg(db));
	rc = sqlfile_query_int(db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = sqlfile_query_int(db, "SELECT count(*) FROM sqlite_master",
				       &tables);
	if (rc != SQLITE_OK)
		return errtext(open_errno(rc), err, errlen, "%s: %s", path,
			       sqlite3_errmsg(db));
	if (app == 0 && version == 0 && tables == 0)
		return 1;
	if (app != k->app_id)
		return errtext(-EPROTO, err, errlen,
			       "%s: an SQLite database but not a %s "
			       "(application_id 0x%08llx, expected 0x%08lx)",
			       path, k->what, (unsigned long long)app,
			       (unsigned long)k->app_id);
	if (version != k->version)
		return errtext(-EPROTO, err, errlen,
			       "%s: store schema version %lld, this %s reads "
			       "version %d",
			       path, (long long)version, k->owner, k->version);
	return 0;
}

static int create(sqlite3 *db, const char *path, const struct sqlfile_kind *k,
		  char *err, size_t errlen)
{
	char pragmas[128];
	char *msg = NULL;
	int rc;

	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA application_id = %ld; PRAGMA user_version = %d;",
		 (long)k->app_id, k->version);
	rc = sqlite3_exec(db, "BEGIN", NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, k->create, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, pragmas, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen,
			     "%s: creating the store: %s", path,
			     msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return 0;
}

static int verify(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char verdict[256];
	int rc = query_text(db, "PRAGMA quick_check", verdict, sizeof(verdict));
	if (rc != SQLITE_OK || strcmp(verdict, "ok"))
		return errtext(-EIO, err, errlen,
			       "%s: integrity check failed: %s", path,
			       rc != SQLITE_OK ? sqlite3_errmsg(db) : verdict);
	return 0;
}

int sqlfile_open(const char *path, const struct sqlfile_kind *k, bool sync_full,
		 sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char mode[16];
	int rc;

	rc = sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen, "%s: %s", path,
			     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto close_db;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, SQLFILE_BUSY_MS);

	/* Before the first read, so the lock is taken exclusively from the
	 * start and WAL mode needs no shared-memory file. */
	rc = sqlite3_exec(db, "PRAGMA locking_mode = EXCLUSIVE", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen, "%s: %s", path,
			     sqlite3_errmsg(db));
		goto close_db;
	}
	rc = check(db, path, k, err, errlen);
	if (rc < 0)
		goto close_db;
	bool fresh = rc == 1;

	rc = query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
	if (rc != SQLITE_OK || strcmp(mode, "wal")) {
		rc = errtext(rc != SQLITE_OK ? open_errno(rc) : -EIO, err,
			     errlen, "%s: cannot switch to WAL mode: %s", path,
			     rc != SQLITE_OK ? sqlite3_errmsg(db) : mode);
		goto close_db;
	}
	rc = sqlite3_exec(db,
			  sync_full ? "PRAGMA synchronous = FULL"
				    : "PRAGMA synchronous = NORMAL",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen, "%s: %s", path,
			     sqlite3_errmsg(db));
		goto close_db;
	}
	rc = fresh ? create(db, path, k, err, errlen)
		   : verify(db, path, err, errlen);
	if (rc < 0)
		goto close_db;
	*out = db;
	return 0;

close_db:
	sqlite3_close(db); /* NULL is a no-op */
	return rc;
}

int sqlfile_prepare(sqlite3 *db, const char *path, const struct sqlfile_kind *k,
		    const char *const *sql, sqlite3_stmt **st, int n, char *err,
		    size_t errlen)
{
	int rc;

	for (int i = 0; i < n; i++)
		st[i] = NULL;
	for (int i = 0; i < n; i++) {
		rc = sqlite3_prepare_v3(
		    db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL);
		if (rc != SQLITE_OK) {
			rc = errtext(-EPROTO, err, errlen,
				     "%s: the store's tables do not match "
				     "schema version %d: %s",
				     path, k->version, sqlite3_errmsg(db));
			goto finalize;
		}
	}
	return 0;

finalize:
	for (int i = 0; i < n; i++) {
		sqlite3_finalize(st[i]);
		st[i] = NULL;
	}
	return rc;
}

int sqlfile_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}
