#include "store.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "errtext.h"
#include "log.h"
#include "sqlfile.h"

/* "STIP": what `PRAGMA application_id` says of a strait IPAM file; NSP's
 * is "STRT", so neither daemon takes the other's file. */
#define STORE_APP_ID 0x53544950
#define STORE_SCHEMA 1

#define KINDS (IPAM_ROW_QUARANTINE + 1)

/* Every statement binds and every load reads the same numbered columns,
 * so one bind() and one decode() serve all five tables. A table selects
 * NULL for a column its kind does not have.
 *
 *   ?1 trench  ?2 conduit  ?3 node  ?4 name  ?5 family  ?6 prefix
 *   ?7 conduit_len  ?8 node_len  ?9 bridge  ?10 until_ms
 */
enum {
	C_TRENCH,
	C_CONDUIT,
	C_NODE,
	C_NAME,
	C_FAMILY,
	C_PREFIX,
	C_CONDUIT_LEN,
	C_NODE_LEN,
	C_BRIDGE,
	C_UNTIL,
	C_COUNT
};

#define COL(c) (1u << (c))

struct table {
	const char *name;   /* the SQL table */
	const char *prefix; /* the name of its C_PREFIX column */
	unsigned keys;	    /* the columns of its primary key */
	unsigned cols;	    /* every column it has */
};

static const struct table tables[KINDS] = {
    [IPAM_ROW_TRENCH] = {"trenches", "prefix", COL(C_TRENCH) | COL(C_FAMILY),
			 COL(C_TRENCH) | COL(C_FAMILY) | COL(C_PREFIX) |
			     COL(C_CONDUIT_LEN) | COL(C_NODE_LEN)},
    [IPAM_ROW_CONDUIT] = {"conduits", "prefix",
			  COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_FAMILY),
			  COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_FAMILY) |
			      COL(C_PREFIX)},
    [IPAM_ROW_NODE] = {"nodes", "prefix",
		       COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_NODE) |
			   COL(C_FAMILY),
		       COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_NODE) |
			   COL(C_FAMILY) | COL(C_PREFIX)},
    [IPAM_ROW_CHILD] = {"children", "address",
			COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_NODE) |
			    COL(C_NAME) | COL(C_FAMILY),
			COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_NODE) |
			    COL(C_NAME) | COL(C_FAMILY) | COL(C_PREFIX) |
			    COL(C_BRIDGE)},
    [IPAM_ROW_QUARANTINE] = {"quarantine", "address",
			     COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_NODE) |
				 COL(C_FAMILY) | COL(C_PREFIX),
			     COL(C_TRENCH) | COL(C_CONDUIT) | COL(C_NODE) |
				 COL(C_FAMILY) | COL(C_PREFIX) | COL(C_UNTIL)},
};

static const char *const colnames[C_COUNT] = {
    "trench", "conduit",     "node",	 "name",   "family",
    "prefix", "conduit_len", "node_len", "bridge", "until_ms",
};

/* Text columns hold what an operator reads: names, and prefixes in
 * cidr_format's form. No CHECK constraints and no STRICT tables: load
 * checks every value anyway, and a plain schema stays readable by any
 * sqlite3 CLI an operator has at hand. */
static const char schema[] =
    "CREATE TABLE trenches ("
    " trench TEXT NOT NULL, family INTEGER NOT NULL,"
    " prefix TEXT NOT NULL, conduit_len INTEGER NOT NULL,"
    " node_len INTEGER NOT NULL,"
    " PRIMARY KEY (trench, family)) WITHOUT ROWID;"
    "CREATE TABLE conduits ("
    " trench TEXT NOT NULL, conduit TEXT NOT NULL,"
    " family INTEGER NOT NULL, prefix TEXT NOT NULL,"
    " PRIMARY KEY (trench, conduit, family)) WITHOUT ROWID;"
    "CREATE TABLE nodes ("
    " trench TEXT NOT NULL, conduit TEXT NOT NULL, node TEXT NOT NULL,"
    " family INTEGER NOT NULL, prefix TEXT NOT NULL,"
    " PRIMARY KEY (trench, conduit, node, family)) WITHOUT ROWID;"
    "CREATE TABLE children ("
    " trench TEXT NOT NULL, conduit TEXT NOT NULL, node TEXT NOT NULL,"
    " name TEXT NOT NULL, family INTEGER NOT NULL,"
    " address TEXT NOT NULL, bridge INTEGER NOT NULL,"
    " PRIMARY KEY (trench, conduit, node, name, family)) WITHOUT ROWID;"
    "CREATE TABLE quarantine ("
    " trench TEXT NOT NULL, conduit TEXT NOT NULL, node TEXT NOT NULL,"
    " family INTEGER NOT NULL, address TEXT NOT NULL,"
    " until_ms INTEGER NOT NULL,"
    " PRIMARY KEY (trench, conduit, node, family, address)) WITHOUT ROWID;";

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PUT,
	ST_DEL = ST_PUT + KINDS,
	ST_LOAD = ST_DEL + KINDS,
	ST_COUNT = ST_LOAD + KINDS
};

static const char *const statements[ST_COUNT] = {
    /* IMMEDIATE takes the write lock at once, so a failure to get it
     * shows at BEGIN and not half way through a batch. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",

    [ST_PUT + IPAM_ROW_TRENCH] =
	"INSERT OR REPLACE INTO trenches"
	"(trench, family, prefix, conduit_len, node_len)"
	" VALUES(?1, ?5, ?6, ?7, ?8)",
    [ST_PUT + IPAM_ROW_CONDUIT] = "INSERT OR REPLACE INTO conduits"
				  "(trench, conduit, family, prefix)"
				  " VALUES(?1, ?2, ?5, ?6)",
    [ST_PUT + IPAM_ROW_NODE] = "INSERT OR REPLACE INTO nodes"
			       "(trench, conduit, node, family, prefix)"
			       " VALUES(?1, ?2, ?3, ?5, ?6)",
    [ST_PUT + IPAM_ROW_CHILD] =
	"INSERT OR REPLACE INTO children"
	"(trench, conduit, node, name, family, address, bridge)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?9)",
    [ST_PUT + IPAM_ROW_QUARANTINE] =
	"INSERT OR REPLACE INTO quarantine"
	"(trench, conduit, node, family, address, until_ms)"
	" VALUES(?1, ?2, ?3, ?5, ?6, ?10)",

    [ST_DEL + IPAM_ROW_TRENCH] =
	"DELETE FROM trenches WHERE trench = ?1 AND family = ?5",
    [ST_DEL + IPAM_ROW_CONDUIT] = "DELETE FROM conduits WHERE trench = ?1"
				  " AND conduit = ?2 AND family = ?5",
    [ST_DEL + IPAM_ROW_NODE] =
	"DELETE FROM nodes WHERE trench = ?1 AND conduit = ?2"
	" AND node = ?3 AND family = ?5",
    [ST_DEL + IPAM_ROW_CHILD] =
	"DELETE FROM children WHERE trench = ?1 AND conduit = ?2"
	" AND node = ?3 AND name = ?4 AND family = ?5",
    [ST_DEL + IPAM_ROW_QUARANTINE] =
	"DELETE FROM quarantine WHERE trench = ?1 AND conduit = ?2"
	" AND node = ?3 AND family = ?5 AND address = ?6",

    /* In primary-key order, which SQLite reads straight off the table's
     * b-tree without sorting. */
    [ST_LOAD + IPAM_ROW_TRENCH] =
	"SELECT trench, NULL, NULL, NULL, family, prefix, conduit_len,"
	" node_len, NULL, NULL FROM trenches ORDER BY trench, family",
    [ST_LOAD + IPAM_ROW_CONDUIT] =
	"SELECT trench, conduit, NULL, NULL, family, prefix, NULL, NULL,"
	" NULL, NULL FROM conduits ORDER BY trench, conduit, family",
    [ST_LOAD + IPAM_ROW_NODE] =
	"SELECT trench, conduit, node, NULL, family, prefix, NULL, NULL,"
	" NULL, NULL FROM nodes ORDER BY trench, conduit, node, family",
    [ST_LOAD + IPAM_ROW_CHILD] =
	"SELECT trench, conduit, node, name, family, address, NULL, NULL,"
	" bridge, NULL FROM children"
	" ORDER BY trench, conduit, node, name, family",
    [ST_LOAD + IPAM_ROW_QUARANTINE] =
	"SELECT trench, conduit, node, NULL, family, address, NULL, NULL,"
	" NULL, until_ms FROM quarantine"
	" ORDER BY trench, conduit, node, family, address",
};

struct ipam_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	char *path;
};

static const struct sqlfile_kind kind = {
    .what = "strait IPAM store",
    .owner = "strait-ipam",
    .app_id = STORE_APP_ID,
    .version = STORE_SCHEMA,
    .create = schema,
};

int ipam_store_open(const char *path, bool sync_full, struct ipam_store **out,
		    char *err, size_t errlen)
{
	struct ipam_store *s;
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
	rc = sqlfile_open(path, &kind, sync_full, &s->db, err, errlen);
	if (rc < 0)
		goto free_path;
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

void ipam_store_close(struct ipam_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	/* sqlite3_close checkpoints the WAL into the main file and
	 * removes it, so a cleanly stopped store is one file. */
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_warn("store %s: close: %s", s->path, sqlite3_errmsg(s->db));
	free(s->path);
	free(s);
}

/* The key of a row for a message, as an operator would look it up:
 * "trench='t1', conduit='c1', family=4". Each value is given as text,
 * NULL when absent. */
static void describe(char *buf, size_t len, const struct table *t,
		     const char *const val[C_COUNT])
{
	size_t o = 0;
	buf[0] = '\0';
	for (int c = 0; c < C_COUNT && o < len; c++) {
		if (!(t->keys & COL(c)))
			continue;
		const char *name = c == C_PREFIX ? t->prefix : colnames[c];
		int n;
		if (!val[c])
			n = snprintf(buf + o, len - o, "%s%s=NULL",
				     o ? ", " : "", name);
		else if (c == C_FAMILY)
			n = snprintf(buf + o, len - o, "%s%s=%s", o ? ", " : "",
				     name, val[c]);
		else
			n = snprintf(buf + o, len - o, "%s%s='%s'",
				     o ? ", " : "", name, val[c]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* ---- apply ---- */

static int family_number(int af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 6 : 0;
}

/* Checks that a row has what its kind needs, so that apply refuses what
 * load would refuse later: a store must never take a row it cannot give
 * back. Returns NULL or the fault. prefix is the row's prefix as text. */
static const char *check_row(const struct ipam_row *r, const char *prefix,
			     char *fault, size_t len)
{
	const struct table *t = &tables[r->kind];
	const char *keys[4] = {r->trench, r->conduit, r->node, r->name};
	unsigned width = r->family == AF_INET ? 32 : 128;

	if (!family_number(r->family)) {
		snprintf(fault, len,
			 "family %d is neither AF_INET nor AF_INET6",
			 r->family);
		return fault;
	}
	for (int c = C_TRENCH; c <= C_NAME; c++) {
		if ((t->keys & COL(c)) && (!keys[c] || !keys[c][0])) {
			snprintf(fault, len, "%s is %s", colnames[c],
				 keys[c] ? "empty" : "NULL");
			return fault;
		}
	}
	if (!(t->keys & COL(C_PREFIX)) && r->del)
		return NULL;
	if (r->prefix.family != r->family || r->prefix.len > width || !prefix) {
		snprintf(fault, len,
			 "%s (family %d, length %u) is not an IPv%d "
			 "prefix",
			 t->prefix, r->prefix.family, (unsigned)r->prefix.len,
			 family_number(r->family));
		return fault;
	}
	if (r->del)
		return NULL;
	if (r->kind == IPAM_ROW_TRENCH &&
	    (r->conduit_len > width || r->node_len > width)) {
		snprintf(
		    fault, len, "conduit_len %u or node_len %u exceeds %u bits",
		    (unsigned)r->conduit_len, (unsigned)r->node_len, width);
		return fault;
	}
	if (r->kind == IPAM_ROW_QUARANTINE && r->until_ms > INT64_MAX) {
		snprintf(fault, len, "until_ms %llu is beyond INT64_MAX",
			 (unsigned long long)r->until_ms);
		return fault;
	}
	return NULL;
}

/* Binds the row's values to the columns its statement uses (see the
 * numbering above); a statement ignores what it does not name. */
static void bind_row(sqlite3_stmt *st, const struct ipam_row *r,
		     const char *prefix)
{
	const struct table *t = &tables[r->kind];
	unsigned use = r->del ? t->keys : t->cols;

	if (use & COL(C_TRENCH))
		sqlite3_bind_text(st, 1 + C_TRENCH, r->trench, -1,
				  SQLITE_STATIC);
	if (use & COL(C_CONDUIT))
		sqlite3_bind_text(st, 1 + C_CONDUIT, r->conduit, -1,
				  SQLITE_STATIC);
	if (use & COL(C_NODE))
		sqlite3_bind_text(st, 1 + C_NODE, r->node, -1, SQLITE_STATIC);
	if (use & COL(C_NAME))
		sqlite3_bind_text(st, 1 + C_NAME, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 1 + C_FAMILY, family_number(r->family));
	if (use & COL(C_PREFIX))
		sqlite3_bind_text(st, 1 + C_PREFIX, prefix, -1, SQLITE_STATIC);
	if (use & COL(C_CONDUIT_LEN))
		sqlite3_bind_int(st, 1 + C_CONDUIT_LEN, r->conduit_len);
	if (use & COL(C_NODE_LEN))
		sqlite3_bind_int(st, 1 + C_NODE_LEN, r->node_len);
	if (use & COL(C_BRIDGE))
		sqlite3_bind_int(st, 1 + C_BRIDGE, r->bridge);
	if (use & COL(C_UNTIL))
		sqlite3_bind_int64(st, 1 + C_UNTIL, (sqlite3_int64)r->until_ms);
}

/* Writes row i inside the open transaction. */
static int apply_one(struct ipam_store *s, const struct ipam_row *r, size_t i,
		     char *err, size_t errlen)
{
	char prefix[CIDR_STRLEN] = "", fault[160], key[512];
	char family[8];
	bool formatted = false;
	int rc;

	if ((unsigned)r->kind >= KINDS)
		return errtext(-EINVAL, err, errlen,
			       "%s: row %zu is of unknown kind %d", s->path, i,
			       (int)r->kind);
	const struct table *t = &tables[r->kind];
	/* cidr_format prints any length; check_row bounds it. */
	if ((r->prefix.family == AF_INET || r->prefix.family == AF_INET6) &&
	    cidr_format(&r->prefix, prefix, sizeof(prefix)) == 0)
		formatted = true;
	snprintf(family, sizeof(family), "%d", family_number(r->family));
	const char *val[C_COUNT] = {
	    [C_TRENCH] = r->trench, [C_CONDUIT] = r->conduit,
	    [C_NODE] = r->node,	    [C_NAME] = r->name,
	    [C_FAMILY] = family,    [C_PREFIX] = formatted ? prefix : NULL,
	};
	describe(key, sizeof(key), t, val);

	const char *bad =
	    check_row(r, formatted ? prefix : NULL, fault, sizeof(fault));
	if (bad)
		return errtext(-EINVAL, err, errlen,
			       "%s: row %zu (%s %s %s): %s", s->path, i,
			       r->del ? "DEL" : "PUT", t->name, key, bad);

	sqlite3_stmt *st = s->st[(r->del ? ST_DEL : ST_PUT) + r->kind];
	bind_row(st, r, prefix);
	rc = sqlfile_run(st);
	if (rc != SQLITE_OK)
		return errtext(-EIO, err, errlen, "%s: row %zu (%s %s %s): %s",
			       s->path, i, r->del ? "DEL" : "PUT", t->name, key,
			       sqlite3_errmsg(s->db));
	return 0;
}

int ipam_store_apply(struct ipam_store *s, const struct ipam_row *rows,
		     size_t n, char *err, size_t errlen)
{
	int rc;

	if (n == 0)
		return 0;
	rc = sqlfile_run(s->st[ST_BEGIN]);
	if (rc != SQLITE_OK)
		return errtext(-EIO, err, errlen, "%s: begin: %s", s->path,
			       sqlite3_errmsg(s->db));
	for (size_t i = 0; i < n; i++) {
		rc = apply_one(s, &rows[i], i, err, errlen);
		if (rc < 0)
			goto rollback;
	}
	rc = sqlfile_run(s->st[ST_COMMIT]);
	if (rc != SQLITE_OK) {
		rc = errtext(-EIO, err, errlen, "%s: commit: %s", s->path,
			     sqlite3_errmsg(s->db));
		goto rollback;
	}
	return 0;

rollback:
	/* A failed COMMIT may or may not have ended the transaction
	 * (SQLITE_FULL leaves it open); only roll back what is open. */
	if (!sqlite3_get_autocommit(s->db))
		sqlfile_run(s->st[ST_ROLLBACK]);
	return rc;
}

/* ---- load ---- */

/* A text column that holds a non-empty string without a NUL inside, or
 * NULL. */
static const char *text_column(sqlite3_stmt *st, int c)
{
	if (sqlite3_column_type(st, c) != SQLITE_TEXT)
		return NULL;
	const char *t = (const char *)sqlite3_column_text(st, c);
	if (!t || !t[0] || strlen(t) != (size_t)sqlite3_column_bytes(st, c))
		return NULL;
	return t;
}

/* An integer column (type is its type as read before any conversion)
 * within [lo, hi]; false otherwise. */
static bool int_column(sqlite3_stmt *st, int c, int type, int64_t lo,
		       int64_t hi, int64_t *out)
{
	if (type != SQLITE_INTEGER)
		return false;
	*out = sqlite3_column_int64(st, c);
	return *out >= lo && *out <= hi;
}

/* Fills row from the current result row of its table's load statement.
 * Returns NULL, or the fault with the row's key in key. */
static const char *decode(sqlite3_stmt *st, enum ipam_row_kind k,
			  struct ipam_row *row, char *key, size_t keylen,
			  char *fault, size_t len)
{
	const struct table *t = &tables[k];
	const char *text[C_COUNT] = {0};
	int type[C_COUNT];
	int64_t v;

	/* The types first: reading a column as text converts it. */
	for (int c = 0; c < C_COUNT; c++)
		type[c] = sqlite3_column_type(st, c);
	for (int c = C_TRENCH; c <= C_NAME; c++)
		if (t->cols & COL(c))
			text[c] = text_column(st, c);
	text[C_PREFIX] = text_column(st, C_PREFIX);

	/* The key as stored, whatever it holds, to name the row. */
	const char *shown[C_COUNT];
	for (int c = 0; c < C_COUNT; c++)
		shown[c] = t->keys & COL(c)
			       ? (const char *)sqlite3_column_text(st, c)
			       : NULL;
	describe(key, keylen, t, shown);

	memset(row, 0, sizeof(*row));
	row->kind = k;
	for (int c = C_TRENCH; c <= C_NAME; c++) {
		if ((t->cols & COL(c)) && !text[c]) {
			snprintf(fault, len, "%s is not a non-empty text",
				 colnames[c]);
			return fault;
		}
	}
	row->trench = text[C_TRENCH];
	row->conduit = text[C_CONDUIT];
	row->node = text[C_NODE];
	row->name = text[C_NAME];

	if (!int_column(st, C_FAMILY, type[C_FAMILY], 4, 6, &v) || v == 5) {
		snprintf(fault, len, "family is neither 4 nor 6");
		return fault;
	}
	row->family = v == 4 ? AF_INET : AF_INET6;

	char canon[CIDR_STRLEN];
	if (!text[C_PREFIX] || cidr_parse(text[C_PREFIX], &row->prefix) < 0 ||
	    cidr_format(&row->prefix, canon, sizeof(canon)) < 0) {
		snprintf(fault, len, "%s is not a prefix", t->prefix);
		return fault;
	}
	if (strcmp(canon, text[C_PREFIX])) {
		snprintf(fault, len, "%s '%s' is not in canonical form ('%s')",
			 t->prefix, text[C_PREFIX], canon);
		return fault;
	}
	if (row->prefix.family != row->family) {
		snprintf(fault, len, "%s '%s' is not of the row's family",
			 t->prefix, text[C_PREFIX]);
		return fault;
	}

	unsigned width = cidr_width(&row->prefix);
	if (t->cols & COL(C_CONDUIT_LEN)) {
		if (!int_column(st, C_CONDUIT_LEN, type[C_CONDUIT_LEN], 0,
				width, &v)) {
			snprintf(fault, len, "conduit_len is not in 0..%u",
				 width);
			return fault;
		}
		row->conduit_len = (uint8_t)v;
	}
	if (t->cols & COL(C_NODE_LEN)) {
		if (!int_column(st, C_NODE_LEN, type[C_NODE_LEN], 0, width,
				&v)) {
			snprintf(fault, len, "node_len is not in 0..%u", width);
			return fault;
		}
		row->node_len = (uint8_t)v;
	}
	if (t->cols & COL(C_BRIDGE)) {
		if (!int_column(st, C_BRIDGE, type[C_BRIDGE], 0, 1, &v)) {
			snprintf(fault, len, "bridge is neither 0 nor 1");
			return fault;
		}
		row->bridge = v;
	}
	if (t->cols & COL(C_UNTIL)) {
		if (!int_column(st, C_UNTIL, type[C_UNTIL], 0, INT64_MAX, &v)) {
			snprintf(fault, len, "until_ms is not a time");
			return fault;
		}
		row->until_ms = (uint64_t)v;
	}
	return NULL;
}

int ipam_store_load(struct ipam_store *s,
		    int (*fn)(const struct ipam_row *row, void *data),
		    void *data, char *err, size_t errlen)
{
	struct ipam_row row;
	sqlite3_stmt *st = NULL;
	char key[512], fault[192];
	int rc;

	for (int k = 0; k < KINDS; k++) {
		st = s->st[ST_LOAD + k];
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *bad =
			    decode(st, (enum ipam_row_kind)k, &row, key,
				   sizeof(key), fault, sizeof(fault));
			if (bad) {
				rc = errtext(-EPROTO, err, errlen,
					     "%s: table %s, row (%s): %s",
					     s->path, tables[k].name, key, bad);
				goto reset;
			}
			rc = fn(&row, data);
			if (rc < 0)
				goto reset;
		}
		if (rc != SQLITE_DONE) {
			rc = errtext(-EIO, err, errlen, "%s: reading %s: %s",
				     s->path, tables[k].name,
				     sqlite3_errmsg(s->db));
			goto reset;
		}
		sqlite3_reset(st);
	}
	return 0;

reset:
	/* So that the next load starts afresh, and the read transaction
	 * ends. */
	sqlite3_reset(st);
	return rc;
}
