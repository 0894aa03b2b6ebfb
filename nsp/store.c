#include "errtext.h"
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/random.h>

#include "log.h"

/* "STRT": what `PRAGMA application_id` says of a strait file, so that
 * `file` and a reader can tell it from any other SQLite database. */
#define STORE_APP_ID 0x53545254
#define STORE_SCHEMA 1

/* How long open waits for a store held by a process that is still
 * exiting (a restart right after a kill). */
#define STORE_BUSY_MS 1000

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_UPSERT,
	ST_DELETE,
	ST_SET_REVISION,
	ST_LOAD,
	ST_COUNT
};

static const char *const statements[ST_COUNT] = {
    /* IMMEDIATE takes the write lock at once, so a failure to get it
     * shows at BEGIN and not half way through a batch. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_UPSERT] = "INSERT INTO targets(key, target) VALUES(?1, ?2) "
		  "ON CONFLICT(key) DO UPDATE SET target = excluded.target",
    [ST_DELETE] = "DELETE FROM targets WHERE key = ?1",
    [ST_SET_REVISION] = "UPDATE meta SET value = ?1 WHERE name = "
			"'revision'",
    [ST_LOAD] = "SELECT key, target FROM targets ORDER BY key",
};

static const char schema[] =
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE targets (key TEXT PRIMARY KEY, target BLOB NOT NULL)"
    " WITHOUT ROWID;";

struct nsp_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	uint64_t id;
	uint64_t revision;
	uint8_t *buf; /* packing space, grown on demand */
	size_t bufcap;
	char *path;
};

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

/* Runs a statement that returns at most one integer. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
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

static int create(struct nsp_store *s, char *err, size_t errlen)
{
	uint64_t id = 0;
	/* 0 means "no store" in a watch request, so it is never an id. */
	while (id == 0) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return errtext(-EIO, err, errlen,
				    "%s: getrandom for the store id: %s",
				    s->path, strerror(errno));
	}
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "BEGIN;%s"
		 "INSERT INTO meta VALUES('store_id', %lld);"
		 "INSERT INTO meta VALUES('revision', 0);"
		 "PRAGMA application_id = %d;"
		 "PRAGMA user_version = %d;"
		 "COMMIT;",
		 schema, (long long)id, STORE_APP_ID, STORE_SCHEMA);
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen,
			  "%s: creating the store: %s", s->path,
			  msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return 0;
}

/* Reads what open needs from the file and decides whether it is new,
 * ours, or something else. */
static int check(struct nsp_store *s, char *err, size_t errlen)
{
	int64_t app = 0, version = 0, tables = 0;
	int rc;

	/* The first statement that reads page 1: a file that is not SQLite
	 * fails here with SQLITE_NOTADB. */
	rc = query_int(s->db, "PRAGMA application_id", &app);
	if (rc != SQLITE_OK)
		return errtext(open_errno(rc), err, errlen, "%s: %s%s", s->path,
			    sqlite3_errmsg(s->db),
			    (rc & 0xff) == SQLITE_BUSY
				? " (another strait-nsp holds the store)"
				: " (not an SQLite database, or damaged)");
	rc = query_int(s->db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, "SELECT count(*) FROM sqlite_master",
			       &tables);
	if (rc != SQLITE_OK)
		return errtext(open_errno(rc), err, errlen, "%s: %s", s->path,
			    sqlite3_errmsg(s->db));
	if (app == 0 && version == 0 && tables == 0)
		return 1; /* new: to be created */
	if (app != STORE_APP_ID)
		return errtext(-EPROTO, err, errlen,
			    "%s: an SQLite database but not a strait NSP store "
			    "(application_id %lld, expected %d)",
			    s->path, (long long)app, STORE_APP_ID);
	if (version != STORE_SCHEMA)
		return errtext(-EPROTO, err, errlen,
			    "%s: store schema version %lld, this strait-nsp "
			    "reads version %d",
			    s->path, (long long)version, STORE_SCHEMA);
	return 0;
}

static int read_meta(struct nsp_store *s, char *err, size_t errlen)
{
	int64_t id = 0, revision = -1;
	int rc = query_int(
	    s->db, "SELECT value FROM meta WHERE name = 'store_id'", &id);
	if (rc == SQLITE_OK)
		rc = query_int(s->db,
			       "SELECT value FROM meta WHERE name = 'revision'",
			       &revision);
	if (rc != SQLITE_OK)
		return errtext(-EIO, err, errlen, "%s: reading meta: %s", s->path,
			    sqlite3_errmsg(s->db));
	if (id == 0 || revision < 0)
		return errtext(-EPROTO, err, errlen,
			    "%s: the meta table lacks the store id or the "
			    "revision",
			    s->path);
	s->id = (uint64_t)id;
	s->revision = (uint64_t)revision;
	return 0;
}

int nsp_store_open(const char *path, bool sync_full, struct nsp_store **out,
		   char *err, size_t errlen)
{
	struct nsp_store *s;
	char mode[16];
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		rc = errtext(-ENOMEM, err, errlen, "out of memory");
		goto fail;
	}
	s->path = strdup(path);
	if (!s->path) {
		rc = errtext(-ENOMEM, err, errlen, "out of memory");
		goto free_s;
	}
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen, "%s: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto close_db;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);

	/* Before the first read, so the lock is taken exclusively from the
	 * start and WAL mode needs no shared-memory file. */
	rc = sqlite3_exec(s->db, "PRAGMA locking_mode = EXCLUSIVE", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen, "%s: %s", path,
			  sqlite3_errmsg(s->db));
		goto close_db;
	}
	rc = check(s, err, errlen);
	if (rc < 0)
		goto close_db;
	bool fresh = rc == 1;

	rc = query_text(s->db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
	if (rc != SQLITE_OK || strcmp(mode, "wal")) {
		rc = errtext(rc != SQLITE_OK ? open_errno(rc) : -EIO, err, errlen,
			  "%s: cannot switch to WAL mode: %s", path,
			  rc != SQLITE_OK ? sqlite3_errmsg(s->db) : mode);
		goto close_db;
	}
	rc = sqlite3_exec(s->db,
			  sync_full ? "PRAGMA synchronous = FULL"
				    : "PRAGMA synchronous = NORMAL",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = errtext(open_errno(rc), err, errlen, "%s: %s", path,
			  sqlite3_errmsg(s->db));
		goto close_db;
	}

	if (fresh) {
		rc = create(s, err, errlen);
		if (rc < 0)
			goto close_db;
	} else {
		char verdict[256];
		rc = query_text(s->db, "PRAGMA quick_check", verdict,
				sizeof(verdict));
		if (rc != SQLITE_OK || strcmp(verdict, "ok")) {
			rc = errtext(-EIO, err, errlen,
				  "%s: integrity check failed: %s", path,
				  rc != SQLITE_OK ? sqlite3_errmsg(s->db)
						  : verdict);
			goto close_db;
		}
	}
	rc = read_meta(s, err, errlen);
	if (rc < 0)
		goto close_db;

	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, statements[i], -1,
					SQLITE_PREPARE_PERSISTENT, &s->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			/* A store of our version whose tables are not what
			 * the version says. */
			rc = errtext(-EPROTO, err, errlen,
				  "%s: the store's tables do not match schema "
				  "version %d: %s",
				  path, STORE_SCHEMA, sqlite3_errmsg(s->db));
			goto finalize;
		}
	}
	*out = s;
	return 0;

finalize:
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
close_db:
	sqlite3_close(s->db);
	free(s->path);
free_s:
	free(s);
fail:
	return rc;
}

uint64_t nsp_store_id(const struct nsp_store *s)
{
	return s->id;
}

uint64_t nsp_store_revision(const struct nsp_store *s)
{
	return s->revision;
}

int nsp_store_load(struct nsp_store *s,
		   int (*fn)(const Nsp__Target *t, void *data), void *data)
{
	sqlite3_stmt *st = s->st[ST_LOAD];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		Nsp__Target *t =
		    nsp__target__unpack(NULL, len, (const uint8_t *)blob);
		if (!t) {
			/* One bad row must not keep every other registration
			 * from coming back; its owner registers again within
			 * a refresh interval. */
			log_warn("store %s: target %s does not decode; skipped",
				 s->path,
				 (const char *)sqlite3_column_text(st, 0));
			continue;
		}
		rc = fn(t, data);
		nsp__target__free_unpacked(t, NULL);
		if (rc < 0)
			goto reset;
	}
	if (rc != SQLITE_DONE) {
		log_error("store %s: reading targets: %s", s->path,
			  sqlite3_errmsg(s->db));
		rc = -EIO;
		goto reset;
	}
	rc = 0;
reset:
	sqlite3_reset(st);
	return rc;
}

/* Runs a prepared statement that returns no rows and resets it. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int pack(struct nsp_store *s, const Nsp__Target *t, size_t *len)
{
	size_t need = nsp__target__get_packed_size(t);
	if (need > s->bufcap) {
		size_t cap = need < 4096 ? 4096 : need;
		uint8_t *buf = realloc(s->buf, cap);
		if (!buf)
			return -ENOMEM;
		s->buf = buf;
		s->bufcap = cap;
	}
	*len = nsp__target__pack(t, s->buf);
	return 0;
}

/* Writes one event inside the open transaction. */
static int apply_one(struct nsp_store *s, const struct nsp_event *e, size_t i,
		     char *err, size_t errlen)
{
	const Nsp__Target *t = e->new_ ? e->new_ : e->old;
	char key[NSP_TARGET_KEY_MAX];
	size_t len;
	int rc;

	if (!t)
		return errtext(-EINVAL, err, errlen,
			    "event %zu (revision %llu) has neither side", i,
			    (unsigned long long)e->revision);
	if (nsp_target_key(t, key, sizeof(key)) < 0)
		return errtext(-EINVAL, err, errlen,
			    "event %zu (revision %llu): no key for its target",
			    i, (unsigned long long)e->revision);
	if (e->new_) {
		if (pack(s, e->new_, &len) < 0)
			return errtext(-ENOMEM, err, errlen, "out of memory");
		sqlite3_stmt *st = s->st[ST_UPSERT];
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, s->buf, (int)len, SQLITE_STATIC);
		rc = run(st);
	} else {
		sqlite3_stmt *st = s->st[ST_DELETE];
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = run(st);
	}
	if (rc != SQLITE_OK)
		return errtext(-EIO, err, errlen, "%s: writing %s: %s", s->path,
			    key, sqlite3_errmsg(s->db));
	return 0;
}

int nsp_store_apply(struct nsp_store *s, const struct nsp_event *ev, size_t n,
		    uint64_t revision, char *err, size_t errlen)
{
	int rc = run(s->st[ST_BEGIN]);
	if (rc != SQLITE_OK)
		return errtext(-EIO, err, errlen, "%s: begin: %s", s->path,
			    sqlite3_errmsg(s->db));
	for (size_t i = 0; i < n; i++) {
		rc = apply_one(s, &ev[i], i, err, errlen);
		if (rc < 0)
			goto rollback;
	}
	sqlite3_bind_int64(s->st[ST_SET_REVISION], 1, (sqlite3_int64)revision);
	rc = run(s->st[ST_SET_REVISION]);
	if (rc != SQLITE_OK) {
		rc = errtext(-EIO, err, errlen, "%s: storing the revision: %s",
			  s->path, sqlite3_errmsg(s->db));
		goto rollback;
	}
	rc = run(s->st[ST_COMMIT]);
	if (rc != SQLITE_OK) {
		rc = errtext(-EIO, err, errlen, "%s: commit: %s", s->path,
			  sqlite3_errmsg(s->db));
		goto rollback;
	}
	s->revision = revision;
	return 0;

rollback:
	/* A failed COMMIT may or may not have ended the transaction
	 * (SQLITE_FULL leaves it open); only roll back what is open. */
	if (!sqlite3_get_autocommit(s->db))
		run(s->st[ST_ROLLBACK]);
	return rc;
}

void nsp_store_close(struct nsp_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	/* sqlite3_close checkpoints the WAL into the main file and
	 * removes it, so a cleanly stopped store is one file. */
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_warn("store %s: close: %s", s->path, sqlite3_errmsg(s->db));
	free(s->buf);
	free(s->path);
	free(s);
}
