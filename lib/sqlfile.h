/* The SQLite file under one of strait's stores (NSP's registry, IPAM's
 * tree): opened one way everywhere, so every store is locked, journalled
 * and recognised alike.
 *
 * sqlfile_open takes an exclusive lock held until sqlite3_close (a second
 * daemon on the file is refused), switches to WAL with synchronous NORMAL
 * (survives kill -9) or FULL (survives power loss too), and tells a file
 * of this kind from a foreign one by PRAGMA application_id and its schema
 * version by PRAGMA user_version. A new (absent or empty) file gets the
 * kind's tables, id and version in one transaction, so a crash while
 * creating leaves an empty file rather than a half-made store. An existing
 * file must pass PRAGMA quick_check.
 *
 * The store keeps the sqlite3 handle and its statements; this module has
 * no state of its own.
 */
#ifndef STRAIT_SQLFILE_H
#define STRAIT_SQLFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct sqlfile_kind {
	const char *what;   /* "strait NSP store": in "not a <what>" */
	const char *owner;  /* "strait-nsp": in "another <owner> holds ..." */
	int32_t app_id;	    /* PRAGMA application_id; never 0 */
	int version;	    /* PRAGMA user_version of this schema; never 0 */
	const char *create; /* SQL making a new file's tables and rows */
};

/* Opens or creates the file at path as a store of kind k. Returns 0 and
 * *db (the caller closes it with sqlite3_close), or a negative errno with
 * a sentence naming path in err:
 *   -EIO     cannot be opened or read, not an SQLite database, or fails
 *            the integrity check;
 *   -EPROTO  an SQLite database, but not of this kind or version;
 *   -EBUSY   another process or connection holds it;
 *   -ENOMEM  out of memory. */
int sqlfile_open(const char *path, const struct sqlfile_kind *k, bool sync_full,
		 sqlite3 **db, char *err, size_t errlen);

/* Prepares n statements for the handle's life (SQLITE_PREPARE_PERSISTENT).
 * Returns 0, or -EPROTO when one does not prepare, which in a file that
 * passed sqlfile_open means its tables are not those of its version; then
 * none is left prepared and err names path and SQLite's reason. */
int sqlfile_prepare(sqlite3 *db, const char *path, const struct sqlfile_kind *k,
		    const char *const *sql, sqlite3_stmt **st, int n, char *err,
		    size_t errlen);

/* Runs a statement that returns at most one integer into *out (left as
 * it was when there is no row). Returns SQLITE_OK or SQLite's error. */
int sqlfile_query_int(sqlite3 *db, const char *sql, int64_t *out);

/* Steps a statement that returns no rows, then resets it and clears its
 * bindings. Returns SQLITE_OK or SQLite's error code. */
int sqlfile_run(sqlite3_stmt *st);

#endif
