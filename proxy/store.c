/* The proxy's store: one row per attachment (pod or LB), so a restarted
 * proxy knows which links in its bridge are its own and which addresses
 * they hold. Written after each link is made and after each removal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"
#include "log.h"
#include "proxy.h"
#include "sqlfile.h"

#define STORE_APP_ID 0x53545058 /* "STPX" */
#define STORE_SCHEMA 1

static const struct sqlfile_kind kind = {
	.what = "strait proxy store",
	.owner = "strait-proxy",
	.app_id = STORE_APP_ID,
	.version = STORE_SCHEMA,
	.create = "CREATE TABLE atts ("
		  " name TEXT PRIMARY KEY, kind INTEGER NOT NULL,"
		  " netns TEXT NOT NULL, ns_dev INTEGER, ns_ino INTEGER,"
		  " port TEXT NOT NULL, ifname TEXT NOT NULL,"
		  " ipv4 TEXT, ipv6 TEXT, mac TEXT) WITHOUT ROWID;",
};

enum { ST_PUT, ST_DEL, ST_LOAD };

static const char *const sql[] = {
	[ST_PUT] = "INSERT OR REPLACE INTO atts VALUES "
		   "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_DEL] = "DELETE FROM atts WHERE name = ?1",
	[ST_LOAD] = "SELECT name, kind, netns, ns_dev, ns_ino, port, ifname, "
		    "ipv4, ipv6, mac FROM atts ORDER BY name",
};

int proxy_store_open(struct proxy *p, char *err, size_t len)
{
	int rc = sqlfile_open(p->opt->store, &kind, p->opt->sync_full, &p->db,
			      err, len);
	if (rc < 0)
		return rc;
	rc = sqlfile_prepare(p->db, p->opt->store, &kind, sql, p->st, 3, err,
			     len);
	if (rc < 0) {
		sqlite3_close(p->db);
		p->db = NULL;
	}
	return rc;
}

void proxy_store_close(struct proxy *p)
{
	for (int i = 0; i < 3; i++)
		sqlite3_finalize(p->st[i]);
	sqlite3_close(p->db);
	p->db = NULL;
}

static const char *col_text(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	return t ? (const char *)t : "";
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

int proxy_store_load(struct proxy *p, char *err, size_t len)
{
	sqlite3_stmt *st = p->st[ST_LOAD];
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int k = sqlite3_column_int(st, 1);
		struct proxy_att *a = proxy_att_new(
			p, k == PROXY_LB ? PROXY_LB : PROXY_POD,
			col_text(st, 0), col_text(st, 2));
		if (!a) {
			sqlite3_reset(st);
			return errtext(-ENOMEM, err, len, "out of memory");
		}
		a->ns_dev = (uint64_t)sqlite3_column_int64(st, 3);
		a->ns_ino = (uint64_t)sqlite3_column_int64(st, 4);
		copy(a->port, sizeof(a->port), col_text(st, 5));
		copy(a->ifname, sizeof(a->ifname), col_text(st, 6));
		if (cidr_parse(col_text(st, 7), &a->addr[0]) < 0)
			a->addr[0].family = 0;
		if (cidr_parse(col_text(st, 8), &a->addr[1]) < 0)
			a->addr[1].family = 0;
		if (proxy_mac_parse(col_text(st, 9), a->mac) < 0)
			memset(a->mac, 0, sizeof(a->mac));
		a->state = ATT_LINKED; /* to be checked by the first sweep */
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return errtext(-EIO, err, len, "%s: %s", p->opt->store,
			       sqlite3_errmsg(p->db));
	return 0;
}

static void bind_cidr(sqlite3_stmt *st, int i, const struct cidr *c)
{
	char s[64];
	if (c->family && cidr_format(c, s, sizeof(s)) == 0)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int done(struct proxy *p, int rc, const char *what)
{
	if (rc == SQLITE_OK)
		return 0;
	log_error("store: cannot %s: %s", what, sqlite3_errmsg(p->db));
	return -EIO;
}

int proxy_store_put(struct proxy *p, const struct proxy_att *a)
{
	sqlite3_stmt *st = p->st[ST_PUT];
	char mac[18];
	proxy_mac_format(a->mac, mac);
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)a->kind);
	sqlite3_bind_text(st, 3, a->netns, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)a->ns_dev);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)a->ns_ino);
	sqlite3_bind_text(st, 6, a->port, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->ifname, -1, SQLITE_STATIC);
	bind_cidr(st, 8, &a->addr[0]);
	bind_cidr(st, 9, &a->addr[1]);
	sqlite3_bind_text(st, 10, mac, -1, SQLITE_TRANSIENT);
	return done(p, sqlfile_run(st), "save an attachment");
}

int proxy_store_del(struct proxy *p, const char *name)
{
	sqlite3_stmt *st = p->st[ST_DEL];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return done(p, sqlfile_run(st), "remove an attachment");
}
