/* Unit tests of IPAM's SQLite store (ipam/store.c), on files in a
 * temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* The Makefile puts only lib/ and the generated code on the include path. */
#include "../../ipam/store.h"
#include "../../nsp/store.h"

struct dir {
	char path[64];
	char db[128];
	char copy[128];
	char err[512];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/strait-ipam-store-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	snprintf(d->db, sizeof(d->db), "%s/ipam.db", d->path);
	snprintf(d->copy, sizeof(d->copy), "%s/copy.db", d->path);
	*state = d;
	return 0;
}

/* Removes every file the test made (databases, their WAL and shm files)
 * and the directory. */
static int teardown(void **state)
{
	struct dir *d = *state;
	DIR *dir = opendir(d->path);
	if (dir) {
		struct dirent *e;
		char p[384];
		while ((e = readdir(dir))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name);
			if (unlink(p) < 0)
				rmdir(p);
		}
		closedir(dir);
	}
	rmdir(d->path);
	free(d);
	return 0;
}

/* ---- rows ---- */

static struct cidr prefix(const char *text)
{
	struct cidr c;
	if (cidr_parse(text, &c) < 0)
		fail_msg("bad prefix in the test: %s", text);
	return c;
}

static struct ipam_row trench(const char *t, const char *p, int clen, int nlen)
{
	struct cidr c = prefix(p);
	return (struct ipam_row){.kind = IPAM_ROW_TRENCH,
				 .family = c.family,
				 .trench = t,
				 .prefix = c,
				 .conduit_len = (uint8_t)clen,
				 .node_len = (uint8_t)nlen};
}

static struct ipam_row conduit(const char *t, const char *cd, const char *p)
{
	struct cidr c = prefix(p);
	return (struct ipam_row){.kind = IPAM_ROW_CONDUIT,
				 .family = c.family,
				 .trench = t,
				 .conduit = cd,
				 .prefix = c};
}

static struct ipam_row node(const char *t, const char *cd, const char *n,
			    const char *p)
{
	struct cidr c = prefix(p);
	return (struct ipam_row){.kind = IPAM_ROW_NODE,
				 .family = c.family,
				 .trench = t,
				 .conduit = cd,
				 .node = n,
				 .prefix = c};
}

static struct ipam_row child(const char *t, const char *cd, const char *n,
			     const char *name, const char *p, bool bridge)
{
	struct cidr c = prefix(p);
	return (struct ipam_row){.kind = IPAM_ROW_CHILD,
				 .family = c.family,
				 .trench = t,
				 .conduit = cd,
				 .node = n,
				 .name = name,
				 .prefix = c,
				 .bridge = bridge};
}

static struct ipam_row quarantined(const char *t, const char *cd, const char *n,
				   const char *p, uint64_t until)
{
	struct cidr c = prefix(p);
	return (struct ipam_row){.kind = IPAM_ROW_QUARANTINE,
				 .family = c.family,
				 .trench = t,
				 .conduit = cd,
				 .node = n,
				 .prefix = c,
				 .until_ms = until};
}

static struct ipam_row del(struct ipam_row r)
{
	r.del = true;
	return r;
}

/* A row as one line of text: kind letter, key, values. */
static void row_text(const struct ipam_row *r, char *buf, size_t len)
{
	char p[CIDR_STRLEN];
	assert_int_equal(cidr_format(&r->prefix, p, sizeof(p)), 0);
	assert_false(r->del);
	int v = r->family == AF_INET ? 4 : r->family == AF_INET6 ? 6 : 0;
	switch (r->kind) {
	case IPAM_ROW_TRENCH:
		assert_null(r->conduit);
		snprintf(buf, len, "T %s %d %s %u %u", r->trench, v, p,
			 r->conduit_len, r->node_len);
		break;
	case IPAM_ROW_CONDUIT:
		snprintf(buf, len, "C %s/%s %d %s", r->trench, r->conduit, v,
			 p);
		break;
	case IPAM_ROW_NODE:
		snprintf(buf, len, "N %s/%s/%s %d %s", r->trench, r->conduit,
			 r->node, v, p);
		break;
	case IPAM_ROW_CHILD:
		snprintf(buf, len, "K %s/%s/%s/%s %d %s%s", r->trench,
			 r->conduit, r->node, r->name, v, p,
			 r->bridge ? " bridge" : "");
		break;
	case IPAM_ROW_QUARANTINE:
		assert_null(r->name);
		snprintf(buf, len, "Q %s/%s/%s %d %s %llu", r->trench,
			 r->conduit, r->node, v, p,
			 (unsigned long long)r->until_ms);
		break;
	default:
		fail_msg("kind %d", (int)r->kind);
	}
}

/* What load gives, one row a line. */
struct dump {
	char text[8192];
	size_t n;
	int last_kind;
	bool in_order;
};

static int dump_fn(const struct ipam_row *r, void *data)
{
	struct dump *d = data;
	char line[256];
	if ((int)r->kind < d->last_kind)
		d->in_order = false;
	d->last_kind = (int)r->kind;
	d->n++;
	row_text(r, line, sizeof(line));
	size_t o = strlen(d->text);
	snprintf(d->text + o, sizeof(d->text) - o, "%s\n", line);
	return 0;
}

static void load(struct ipam_store *s, struct dump *d)
{
	char err[512];
	memset(d, 0, sizeof(*d));
	d->in_order = true;
	int rc = ipam_store_load(s, dump_fn, d, err, sizeof(err));
	if (rc)
		fail_msg("load: %d %s", rc, err);
	assert_true(d->in_order);
}

static struct ipam_store *open_path(struct dir *d, const char *path)
{
	struct ipam_store *s = NULL;
	int rc = ipam_store_open(path, false, &s, d->err, sizeof(d->err));
	if (rc)
		fail_msg("open %s: %d %s", path, rc, d->err);
	assert_non_null(s);
	return s;
}

static struct ipam_store *open_ok(struct dir *d)
{
	return open_path(d, d->db);
}

static void apply_ok(struct ipam_store *s, const struct ipam_row *rows,
		     size_t n)
{
	char err[512];
	int rc = ipam_store_apply(s, rows, n, err, sizeof(err));
	if (rc)
		fail_msg("apply: %d %s", rc, err);
}

/* One tree of each family in trench t1, and a second trench. */
static void fill(struct ipam_store *s)
{
	const struct ipam_row rows[] = {
	    trench("t1", "169.255.0.0/16", 20, 24),
	    trench("t1", "fd00::/48", 56, 64),
	    trench("t2", "10.0.0.0/8", 16, 24),
	    conduit("t1", "lb", "169.255.16.0/20"),
	    conduit("t1", "lb", "fd00:0:0:100::/56"),
	    node("t1", "lb", "node-2", "169.255.17.0/24"),
	    node("t1", "lb", "node-2", "fd00:0:0:101::/64"),
	    child("t1", "lb", "node-2", "proxy", "169.255.17.1/24", true),
	    child("t1", "lb", "node-2", "pod-a", "169.255.17.2/24", false),
	    child("t1", "lb", "node-2", "pod-a", "fd00:0:0:101::2/64", false),
	    quarantined("t1", "lb", "node-2", "169.255.17.3/24",
			1700000000123ULL),
	};
	apply_ok(s, rows, sizeof(rows) / sizeof(rows[0]));
}

static const char filled[] = "T t1 4 169.255.0.0/16 20 24\n"
			     "T t1 6 fd00::/48 56 64\n"
			     "T t2 4 10.0.0.0/8 16 24\n"
			     "C t1/lb 4 169.255.16.0/20\n"
			     "C t1/lb 6 fd00:0:0:100::/56\n"
			     "N t1/lb/node-2 4 169.255.17.0/24\n"
			     "N t1/lb/node-2 6 fd00:0:0:101::/64\n"
			     "K t1/lb/node-2/pod-a 4 169.255.17.2/24\n"
			     "K t1/lb/node-2/pod-a 6 fd00:0:0:101::2/64\n"
			     "K t1/lb/node-2/proxy 4 169.255.17.1/24 bridge\n"
			     "Q t1/lb/node-2 4 169.255.17.3/24 1700000000123\n";

/* ---- tests ---- */

static void test_round_trip(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d);
	struct dump got;
	load(s, &got);
	assert_int_equal(got.n, 0);
	assert_int_equal(ipam_store_apply(s, NULL, 0, d->err, sizeof(d->err)),
			 0);
	fill(s);
	load(s, &got);
	assert_string_equal(got.text, filled);
	ipam_store_close(s);

	s = open_ok(d);
	load(s, &got);
	assert_string_equal(got.text, filled);

	/* Replace one row of each kind by its key; delete one of each. */
	const struct ipam_row change[] = {
	    trench("t2", "10.0.0.0/8", 12, 20),
	    del(trench("t1", "fd00::/48", 0, 0)),
	    conduit("t1", "lb", "169.255.32.0/20"),
	    del(conduit("t1", "lb", "::/0")), /* a DEL needs no prefix */
	    node("t1", "lb", "node-2", "169.255.33.0/24"),
	    del(node("t1", "lb", "node-2", "fd00::/64")),
	    child("t1", "lb", "node-2", "pod-a", "169.255.33.9/24", true),
	    del(child("t1", "lb", "node-2", "proxy", "0.0.0.0/0", false)),
	    del(child("t1", "lb", "node-2", "pod-a", "fd00::/128", false)),
	    quarantined("t1", "lb", "node-2", "169.255.17.3/24", 5),
	    quarantined("t1", "lb", "node-2", "fd00:0:0:101::7/64", 6),
	    /* A DEL of a row that is not there is no error. */
	    del(child("t9", "x", "y", "z", "10.0.0.1/32", false)),
	};
	apply_ok(s, change, sizeof(change) / sizeof(change[0]));
	ipam_store_close(s);

	static const char changed[] =
	    "T t1 4 169.255.0.0/16 20 24\n"
	    "T t2 4 10.0.0.0/8 12 20\n"
	    "C t1/lb 4 169.255.32.0/20\n"
	    "N t1/lb/node-2 4 169.255.33.0/24\n"
	    "K t1/lb/node-2/pod-a 4 169.255.33.9/24 bridge\n"
	    "Q t1/lb/node-2 4 169.255.17.3/24 5\n"
	    "Q t1/lb/node-2 6 fd00:0:0:101::7/64 6\n";
	s = open_ok(d);
	load(s, &got);
	assert_string_equal(got.text, changed);

	/* A quarantine entry is keyed by its address: the same address
	 * with the same length removes it, another does not. */
	const struct ipam_row unq[] = {
	    del(quarantined("t1", "lb", "node-2", "169.255.17.3/24", 0)),
	    del(quarantined("t1", "lb", "node-2", "fd00:0:0:101::8/64", 0)),
	};
	apply_ok(s, unq, 2);
	ipam_store_close(s);
	s = open_ok(d);
	load(s, &got);
	assert_null(strstr(got.text, "169.255.17.3"));
	assert_non_null(strstr(got.text, "fd00:0:0:101::7/64 6"));
	ipam_store_close(s);

	/* sync_full opens the same file. */
	assert_int_equal(
	    ipam_store_open(d->db, true, &s, d->err, sizeof(d->err)), 0);
	load(s, &got);
	assert_int_equal(got.n, 6);
	ipam_store_close(s);
	ipam_store_close(NULL);
}

/* Rows written children first come back trenches first, each kind in
 * key order. */
static void test_load_order(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d);
	const struct ipam_row rows[] = {
	    quarantined("b", "c", "n", "10.1.1.9/24", 1),
	    quarantined("a", "c", "n", "10.1.1.8/24", 2),
	    child("b", "c", "n", "z", "10.1.1.3/24", false),
	    child("a", "c", "n", "y", "fd00::3/64", false),
	    child("a", "c", "n", "y", "10.1.1.3/24", false),
	    node("b", "c", "n", "10.1.1.0/24"),
	    node("a", "c", "n", "10.1.1.0/24"),
	    conduit("b", "c", "10.1.0.0/16"),
	    conduit("a", "c", "10.1.0.0/16"),
	    trench("b", "fd00::/48", 56, 64),
	    trench("b", "10.0.0.0/8", 16, 24),
	    trench("a", "10.0.0.0/8", 16, 24),
	};
	apply_ok(s, rows, sizeof(rows) / sizeof(rows[0]));
	ipam_store_close(s);
	s = open_ok(d);
	struct dump got;
	load(s, &got);
	assert_string_equal(got.text, "T a 4 10.0.0.0/8 16 24\n"
				      "T b 4 10.0.0.0/8 16 24\n"
				      "T b 6 fd00::/48 56 64\n"
				      "C a/c 4 10.1.0.0/16\n"
				      "C b/c 4 10.1.0.0/16\n"
				      "N a/c/n 4 10.1.1.0/24\n"
				      "N b/c/n 4 10.1.1.0/24\n"
				      "K a/c/n/y 4 10.1.1.3/24\n"
				      "K a/c/n/y 6 fd00::3/64\n"
				      "K b/c/n/z 4 10.1.1.3/24\n"
				      "Q a/c/n 4 10.1.1.8/24 2\n"
				      "Q b/c/n 4 10.1.1.9/24 1\n");
	ipam_store_close(s);
}

static int stop_at(const struct ipam_row *r, void *data)
{
	(void)r;
	int *n = data;
	return ++*n == 4 ? -42 : 0;
}

static void test_load_abort(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d);
	fill(s);
	int n = 0;
	assert_int_equal(
	    ipam_store_load(s, stop_at, &n, d->err, sizeof(d->err)), -42);
	assert_int_equal(n, 4);
	/* The walk starts afresh, and the store still writes. */
	n = 0;
	assert_int_equal(
	    ipam_store_load(s, stop_at, &n, d->err, sizeof(d->err)), -42);
	assert_int_equal(n, 4);
	const struct ipam_row r = trench("t3", "10.0.0.0/8", 16, 24);
	apply_ok(s, &r, 1);
	ipam_store_close(s);
}

/* Each bad row in the middle of a batch: the batch fails with -EINVAL
 * naming the row, and nothing of it is written. */
static void test_failed_batch(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d);
	fill(s);

	struct ipam_row bad[10];
	const char *why[10];
	size_t nbad = 0;

	bad[nbad] = child("t1", "lb", NULL, "pod-x", "169.255.17.9/24", false);
	why[nbad++] = "node is NULL";
	bad[nbad] = child("t1", "lb", "node-2", "", "169.255.17.9/24", false);
	why[nbad++] = "name is empty";
	bad[nbad] = del(conduit(NULL, "lb", "169.255.16.0/20"));
	why[nbad++] = "trench is NULL";
	bad[nbad] = node("t1", "lb", "node-3", "169.255.18.0/24");
	bad[nbad].family = AF_UNIX;
	why[nbad++] = "neither AF_INET nor AF_INET6";
	bad[nbad] = node("t1", "lb", "node-3", "169.255.18.0/24");
	bad[nbad].family = AF_INET6;
	why[nbad++] = "not an IPv6 prefix";
	bad[nbad] = del(quarantined("t1", "lb", "node-2", "10.0.0.1/32", 0));
	bad[nbad].prefix.family = 0;
	why[nbad++] = "not an IPv4 prefix";
	bad[nbad] = trench("t4", "10.0.0.0/8", 33, 24);
	why[nbad++] = "exceeds 32 bits";
	bad[nbad] =
	    quarantined("t1", "lb", "node-2", "10.0.0.1/32", UINT64_MAX);
	why[nbad++] = "beyond INT64_MAX";
	bad[nbad] = trench("t4", "10.0.0.0/8", 16, 24);
	bad[nbad].kind = (enum ipam_row_kind)7;
	why[nbad++] = "unknown kind 7";

	struct dump before, after;
	load(s, &before);
	for (size_t i = 0; i < nbad; i++) {
		const struct ipam_row batch[] = {
		    child("t1", "lb", "node-2", "pod-new", "169.255.17.4/24",
			  false),
		    del(child("t1", "lb", "node-2", "pod-a", "0.0.0.0/0",
			      false)),
		    bad[i],
		    trench("t5", "10.0.0.0/8", 16, 24),
		};
		int rc = ipam_store_apply(s, batch, 4, d->err, sizeof(d->err));
		assert_int_equal(rc, -EINVAL);
		if (!strstr(d->err, why[i]) || !strstr(d->err, "row 2"))
			fail_msg("case %zu: %s", i, d->err);
		if (i == 0)
			print_message("failed batch: %s\n", d->err);
		load(s, &after);
		assert_string_equal(after.text, before.text);
	}
	ipam_store_close(s);

	/* Nothing reached the file either, and the store still works. */
	s = open_ok(d);
	load(s, &after);
	assert_string_equal(after.text, before.text);
	const struct ipam_row ok =
	    child("t1", "lb", "node-2", "pod-new", "169.255.17.4/24", false);
	apply_ok(s, &ok, 1);
	load(s, &after);
	assert_non_null(strstr(after.text, "pod-new 4 169.255.17.4/24\n"));
	ipam_store_close(s);
}

/* ---- raw SQL on the file ---- */

static void sql(const char *path, const char *text)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", text, msg);
	sqlite3_close(db);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(in >= 0 && out >= 0);
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* Corrupts a copy of a good store with one statement; load must refuse
 * it with the table, the key and the fault named. */
static void test_corrupt_row(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d);
	fill(s);
	ipam_store_close(s);

	static const struct {
		const char *sql;
		const char *expect[3];
	} cases[] = {
	    {"UPDATE children SET address = 'bogus' WHERE name = 'pod-a'"
	     " AND family = 4",
	     {"table children", "name='pod-a', family=4",
	      "address is not a prefix"}},
	    {"UPDATE nodes SET family = 5 WHERE family = 6",
	     {"table nodes",
	      "trench='t1', conduit='lb', node='node-2', family=5",
	      "family is neither 4 nor 6"}},
	    {"UPDATE conduits SET prefix = 'FD00:0:0:100::/56' WHERE family = "
	     "6",
	     {"table conduits", "conduit='lb', family=6",
	      "not in canonical form ('fd00:0:0:100::/56')"}},
	    {"UPDATE trenches SET prefix = 'fd00::/48' WHERE trench = 't2'",
	     {"table trenches", "trench='t2', family=4",
	      "is not of the row's family"}},
	    {"UPDATE trenches SET node_len = 33 WHERE trench = 't2'",
	     {"table trenches", "trench='t2'", "node_len is not in 0..32"}},
	    {"UPDATE children SET bridge = 2 WHERE name = 'proxy'",
	     {"table children", "name='proxy'", "bridge is neither 0 nor 1"}},
	    {"UPDATE quarantine SET until_ms = 'soon'",
	     {"table quarantine", "address='169.255.17.3/24'",
	      "until_ms is not a time"}},
	    {"UPDATE children SET node = '' WHERE name = 'proxy'",
	     {"table children", "node='', name='proxy'",
	      "node is not a non-empty text"}},
	    {"UPDATE conduits SET conduit = CAST('l' || x'00' || 'b' AS TEXT)"
	     " WHERE family = 4",
	     {"table conduits", "family=4", "conduit is not a non-empty text"}},
	    {"UPDATE quarantine SET address = '169.255.17.3/24 '",
	     {"table quarantine", "family=4", "address is not a prefix"}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		copy_file(d->db, d->copy);
		sql(d->copy, cases[i].sql);
		s = open_path(d, d->copy);
		struct dump got;
		memset(&got, 0, sizeof(got));
		int rc =
		    ipam_store_load(s, dump_fn, &got, d->err, sizeof(d->err));
		if (rc != -EPROTO)
			fail_msg("case %zu: load gave %d", i, rc);
		for (int j = 0; j < 3; j++)
			if (!strstr(d->err, cases[i].expect[j]))
				fail_msg("case %zu: '%s' not in: %s", i,
					 cases[i].expect[j], d->err);
		assert_non_null(strstr(d->err, d->copy));
		if (i == 0)
			print_message("corrupt: %s\n", d->err);
		ipam_store_close(s);
	}

	/* The original is untouched. */
	s = open_ok(d);
	struct dump got;
	load(s, &got);
	assert_string_equal(got.text, filled);
	ipam_store_close(s);
}

static void test_garbage_file(void **state)
{
	struct dir *d = *state;
	FILE *f = fopen(d->db, "w");
	assert_non_null(f);
	for (int i = 0; i < 300; i++)
		fputs("this is not a database, it is a text file\n", f);
	fclose(f);
	struct ipam_store *s = NULL;
	assert_int_equal(
	    ipam_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EIO);
	assert_null(s);
	print_message("garbage: %s\n", d->err);
	assert_non_null(strstr(d->err, d->db));
	assert_non_null(strstr(d->err, "not a database"));

	/* A directory where the file should be. */
	char sub[160];
	snprintf(sub, sizeof(sub), "%s/dir.db", d->path);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(
	    ipam_store_open(sub, false, &s, d->err, sizeof(d->err)), -EIO);
	assert_null(s);
}

static void test_foreign_database(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = NULL;
	sql(d->db, "CREATE TABLE photos (name TEXT, data BLOB)");
	assert_int_equal(
	    ipam_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EPROTO);
	print_message("foreign: %s\n", d->err);
	assert_non_null(strstr(d->err, "not a strait IPAM store"));
	unlink(d->db);

	/* NSP's store is strait's too, but not IPAM's; and the other way
	 * round. */
	struct nsp_store *ns = NULL;
	assert_int_equal(
	    nsp_store_open(d->db, false, &ns, d->err, sizeof(d->err)), 0);
	nsp_store_close(ns);
	assert_int_equal(
	    ipam_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EPROTO);
	print_message("nsp's: %s\n", d->err);
	assert_non_null(strstr(d->err, "not a strait IPAM store"));
	unlink(d->db);
	s = open_ok(d);
	ipam_store_close(s);
	assert_int_equal(
	    nsp_store_open(d->db, false, &ns, d->err, sizeof(d->err)), -EPROTO);
	assert_non_null(strstr(d->err, "not a strait NSP store"));
	unlink(d->db);

	/* Ours, but from a newer version. */
	s = open_ok(d);
	ipam_store_close(s);
	sql(d->db, "PRAGMA user_version = 2");
	assert_int_equal(
	    ipam_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EPROTO);
	print_message("newer: %s\n", d->err);
	assert_non_null(strstr(d->err, "version 2"));
	unlink(d->db);

	/* Ours by its header, but a table is gone. */
	s = open_ok(d);
	ipam_store_close(s);
	sql(d->db, "DROP TABLE children");
	s = NULL;
	assert_int_equal(
	    ipam_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EPROTO);
	assert_non_null(strstr(d->err, "children"));
	assert_null(s);
}

static void test_in_use(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d), *s2 = NULL;
	fill(s);
	assert_int_equal(
	    ipam_store_open(d->db, false, &s2, d->err, sizeof(d->err)), -EBUSY);
	print_message("in use: %s\n", d->err);
	assert_non_null(strstr(d->err, "another strait-ipam holds the store"));
	assert_null(s2);

	/* Another process, as a second strait-ipam would be; against a
	 * store that was reopened and has not written since, so the lock
	 * is seen to come from the open, not from a write. */
	ipam_store_close(s);
	s = open_ok(d);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = ipam_store_open(d->db, false, &s2, NULL, 0);
		_exit(rc == -EBUSY ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	ipam_store_close(s);
	s = open_ok(d);
	struct dump got;
	load(s, &got);
	assert_string_equal(got.text, filled);
	ipam_store_close(s);
}

/* A process that dies half way through a transaction: a child writes
 * thousands of rows without committing, with a cache so small that
 * SQLite spills the uncommitted pages into the WAL, then SIGKILLs itself.
 * Recovery must ignore those frames. The child speaks SQL to the file
 * directly because ipam_store_apply has no half-way point to stop at; the
 * table names are the schema of store.h. */
static void test_crash_mid_transaction(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d);
	fill(s);
	ipam_store_close(s);

	char wal[160];
	snprintf(wal, sizeof(wal), "%s-wal", d->db);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db;
		if (sqlite3_open(d->db, &db) != SQLITE_OK)
			_exit(1);
		if (sqlite3_exec(db,
				 "PRAGMA locking_mode = EXCLUSIVE;"
				 "PRAGMA cache_size = 2;"
				 "BEGIN;"
				 "DELETE FROM quarantine;"
				 "UPDATE trenches SET prefix = '10.9.0.0/16';"
				 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
				 "SELECT i + 1 FROM n WHERE i < 5000) "
				 "INSERT INTO children SELECT 't1', 'lb', "
				 "'node-2', 'junk' || i || hex(randomblob(40)),"
				 " 4, '169.255.17.9/24', 0 FROM n;",
				 NULL, NULL, NULL) != SQLITE_OK)
			_exit(2);
		struct stat st;
		if (stat(wal, &st) < 0 || st.st_size < 100000)
			_exit(3); /* no spill: the test would prove little */
		raise(SIGKILL);
		_exit(4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fail_msg("child exited with %d", WEXITSTATUS(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	s = open_ok(d);
	struct dump got;
	load(s, &got);
	assert_string_equal(got.text, filled);
	ipam_store_close(s);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n children in one node prefix, one transaction each, as the daemon
 * writes one allocation; prints the cost of one. */
static double one_by_one(struct ipam_store *s, int n, const char *node)
{
	double t0 = seconds();
	for (int i = 0; i < n; i++) {
		char name[32], addr[64];
		snprintf(name, sizeof(name), "pod-%05d", i);
		snprintf(addr, sizeof(addr), "fd00:0:0:%s::%x/64", node, i + 2);
		char nname[16];
		snprintf(nname, sizeof(nname), "node-%s", node);
		const struct ipam_row r =
		    child("t1", "lb", nname, name, addr, false);
		apply_ok(s, &r, 1);
	}
	return (seconds() - t0) / n;
}

static int count_fn(const struct ipam_row *r, void *data)
{
	size_t *n = data;
	if (r->kind == IPAM_ROW_CHILD)
		++*n;
	return 0;
}

static void test_many_single_row(void **state)
{
	struct dir *d = *state;
	struct ipam_store *s = open_ok(d);
	fill(s);
	double normal = one_by_one(s, 10000, "101");
	print_message("10000 children, one transaction each, synchronous "
		      "NORMAL: %.1f us per transaction\n",
		      normal * 1e6);
	ipam_store_close(s);

	assert_int_equal(
	    ipam_store_open(d->db, true, &s, d->err, sizeof(d->err)), 0);
	double full = one_by_one(s, 1000, "102");
	print_message("1000 children, one transaction each, synchronous FULL "
		      "(fsync): %.1f us per transaction\n",
		      full * 1e6);
	ipam_store_close(s);

	s = open_ok(d);
	size_t n = 0;
	double t0 = seconds();
	assert_int_equal(
	    ipam_store_load(s, count_fn, &n, d->err, sizeof(d->err)), 0);
	print_message("load of %zu children: %.1f ms\n", n,
		      (seconds() - t0) * 1e3);
	assert_int_equal(n, 3 + 10000 + 1000);
	ipam_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_abort, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_database, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_in_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_mid_transaction, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_many_single_row, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
