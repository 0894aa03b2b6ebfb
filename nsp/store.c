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
#include "sqlfile.h"

/* "STRT": what `PRAGMA application_id` says of a strait NSP file, so that
 * `file` and a reader can tell it from any other SQLite database. */
#define STORE_APP_ID 0x53545254
#define STORE_SCHEMA 1

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

/* The SQL that makes a new file: the tables, a new random store id and
 * revision 0. Made on every open, used only when the file is new. */
static int create_sql(const char *path, char *sql, size_t len, char *err,
		      size_t errlen)
{
	uint64_t id = 0;
	/* 0 means "no store" in a watch request, so it is never an id. */
	while (id == 0) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return errtext(-EIO, err, errlen,
				       "%s: getrandom for the store id: %s",
				       path, strerror(errno));
	}
	snprintf(sql, len,
		 "%s"
		 "INSERT INTO meta VALUES('store_id', %lld);"
		 "INSERT INTO meta VALUES('revision', 0);",
		 schema, (long long)id);
	return 0;
}

static int read_meta(struct nsp_store *s, char *err, size_t errlen)
{
	int64_t id = 0, revision = -1;
	int rc = sqlfile_query_int(
	    s->db, "SELECT value FROM meta WHERE name = 'store_id'", &id);
	if (rc == SQLITE_OK)
		rc = sqlfile_query_int(s->db,
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
	struct sqlfile_kind kind = {
	    .what = "strait NSP store",
	    .owner = "strait-nsp",
	    .app_id = STORE_APP_ID,
	    .version = STORE_SCHEMA,
	};
	struct nsp_store *s;
	char sql[512];
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
	rc = create_sql(path, sql, sizeof(sql), err, errlen);
	if (rc < 0)
		goto free_path;
	kind.create = sql;
	rc = sqlfile_open(path, &kind, sync_full, &s->db, err, errlen);
	if (rc < 0)
		goto free_path;
	rc = read_meta(s, err, errlen);
	if (rc < 0)
		goto close_db;
	rc = sqlfile_prepare(s->db, path, &kind, statements, s->st, ST_COUNT,
			     err, errlen);
	if (rc < 0)
		goto close_db;
	*out = s;
	return 0;

close_db:
	sqlite3_close(s->db);
free_path:
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
		rc = sqlfile_run(st);
	} else {
		sqlite3_stmt *st = s->st[ST_DELETE];
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlfile_run(st);
	}
	if (rc != SQLITE_OK)
		return errtext(-EIO, err, errlen, "%s: writing %s: %s", s->path,
			    key, sqlite3_errmsg(s->db));
	return 0;
}

int nsp_store_apply(struct nsp_store *s, const struct nsp_event *ev, size_t n,
		    uint64_t revision, char *err, size_t errlen)
{
	int rc = sqlfile_run(s->st[ST_BEGIN]);
	if (rc != SQLITE_OK)
		return errtext(-EIO, err, errlen, "%s: begin: %s", s->path,
			    sqlite3_errmsg(s->db));
	for (size_t i = 0; i < n; i++) {
		rc = apply_one(s, &ev[i], i, err, errlen);
		if (rc < 0)
			goto rollback;
	}
	sqlite3_bind_int64(s->st[ST_SET_REVISION], 1, (sqlite3_int64)revision);
	rc = sqlfile_run(s->st[ST_SET_REVISION]);
	if (rc != SQLITE_OK) {
		rc = errtext(-EIO, err, errlen, "%s: storing the revision: %s",
			  s->path, sqlite3_errmsg(s->db));
		goto rollback;
	}
	rc = sqlfile_run(s->st[ST_COMMIT]);
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
		sqlfile_run(s->st[ST_ROLLBACK]);
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
