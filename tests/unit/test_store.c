/* Unit tests of the SQLite store (nsp/store.c), on files in a temporary
 * directory. */
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
#include <unistd.h>

#include <cmocka.h>

/* The Makefile puts only lib/ and the generated code on the include path. */
#include "../../nsp/registry.h"
#include "../../nsp/store.h"

struct dir {
	char path[64];
	char db[128];
	char err[512];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/strait-store-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	snprintf(d->db, sizeof(d->db), "%s/nsp.db", d->path);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char p[160];
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", d->db, suffix[i]);
		unlink(p);
	}
	rmdir(d->path);
	free(d);
	return 0;
}

/* A registry whose every stream exists with max-targets 100. */
static struct nsp_registry *registry(void)
{
	struct nsp_registry_config cfg = {.ttl_ms = 1000};
	struct nsp_registry *r = nsp_registry_new(&cfg, 0);
	assert_non_null(r);
	return r;
}

static const Nsp__Target *reg(struct nsp_registry *r, const char *stream,
			      const char *ip, int status, const char *ctx)
{
	Nsp__StreamRef ref = NSP__STREAM_REF__INIT;
	Nsp__Target t = NSP__TARGET__INIT;
	Nsp__Target__ContextEntry e = NSP__TARGET__CONTEXT_ENTRY__INIT;
	Nsp__Target__ContextEntry *ep = &e;
	char *ips[1] = {(char *)ip};
	ref.trench = "t1";
	ref.conduit = "c1";
	ref.stream = (char *)stream;
	t.stream = &ref;
	t.ips = ips;
	t.n_ips = 1;
	t.status = (Nsp__TargetStatus)status;
	if (ctx) {
		e.key = "k";
		e.value = (char *)ctx;
		t.context = &ep;
		t.n_context = 1;
	}
	const Nsp__Target *stored;
	bool changed;
	char err[256];
	int rc = nsp_registry_register(r, &t, 0, &stored, &changed, err,
				       sizeof(err));
	if (rc)
		fail_msg("register: %s", err);
	return stored;
}

static bool unreg(struct nsp_registry *r, const char *stream, const char *ip)
{
	Nsp__StreamRef ref = NSP__STREAM_REF__INIT;
	Nsp__Target t = NSP__TARGET__INIT;
	char *ips[1] = {(char *)ip};
	bool existed;
	ref.trench = "t1";
	ref.conduit = "c1";
	ref.stream = (char *)stream;
	t.stream = &ref;
	t.ips = ips;
	t.n_ips = 1;
	assert_int_equal(nsp_registry_unregister(r, &t, &existed, NULL, 0), 0);
	return existed;
}

/* Applies every event of r after `after` to s. */
static void sync_store(struct nsp_store *s, struct nsp_registry *r,
		       uint64_t after)
{
	struct nsp_event ev[64];
	char err[256];
	ssize_t n = nsp_registry_events(r, after, ev, 64);
	assert_true(n >= 0);
	int rc = nsp_store_apply(s, ev, (size_t)n, nsp_registry_revision(r),
				 err, sizeof(err));
	if (rc)
		fail_msg("apply: %s", err);
}

/* What load gives, as one comparable string: "key=id/status/ctx;..." */
struct dump {
	char text[4096];
	size_t n;
	struct nsp_registry *into;
};

static int dump_fn(const Nsp__Target *t, void *data)
{
	struct dump *d = data;
	char key[NSP_TARGET_KEY_MAX];
	assert_int_equal(nsp_target_key(t, key, sizeof(key)), 0);
	size_t o = strlen(d->text);
	snprintf(d->text + o, sizeof(d->text) - o, "%s=%u/%d/%s;", key,
		 t->identifier, (int)t->status,
		 t->n_context ? t->context[0]->value : "");
	d->n++;
	if (d->into) {
		char err[256];
		int rc = nsp_registry_restore(d->into, t, 0, err, sizeof(err));
		if (rc)
			fail_msg("restore: %s", err);
	}
	return 0;
}

static void load(struct nsp_store *s, struct dump *d)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(nsp_store_load(s, dump_fn, d), 0);
}

static struct nsp_store *open_ok(struct dir *d)
{
	struct nsp_store *s = NULL;
	int rc = nsp_store_open(d->db, false, &s, d->err, sizeof(d->err));
	if (rc)
		fail_msg("open: %d %s", rc, d->err);
	return s;
}

static void test_round_trip(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = open_ok(d);
	uint64_t id = nsp_store_id(s);
	assert_int_not_equal(id, 0);
	assert_int_equal(nsp_store_revision(s), 0);
	struct dump got;
	load(s, &got);
	assert_int_equal(got.n, 0);

	struct nsp_registry *r = registry();
	reg(r, "s1", "10.0.0.1/24", 0, "a");
	reg(r, "s1", "10.0.0.2/24", 0, NULL);
	reg(r, "s2", "fd00::1/64", 0, NULL);
	sync_store(s, r, 0);
	assert_int_equal(nsp_store_revision(s), 3);

	/* An update, a removal and an add in one batch. */
	reg(r, "s1", "10.0.0.1/24", NSP__TARGET_STATUS__DISABLED, "b");
	assert_true(unreg(r, "s1", "10.0.0.2/24"));
	reg(r, "s1", "10.0.0.3/24", 0, NULL);
	sync_store(s, r, 3);
	assert_int_equal(nsp_store_revision(s), 6);
	load(s, &got);
	assert_string_equal(got.text, "1|t1|c1|s1|10.0.0.1/24=1/2/b;"
				      "1|t1|c1|s1|10.0.0.3/24=2/1/;"
				      "1|t1|c1|s2|fd00::1/64=1/1/;");
	nsp_store_close(s);

	/* Everything persists across close and open: targets, revision,
	 * store id; and the restored registry keeps the identifiers. */
	s = open_ok(d);
	assert_int_equal(nsp_store_id(s), id);
	assert_int_equal(nsp_store_revision(s), 6);
	struct nsp_registry *r2 = nsp_registry_new(NULL, nsp_store_revision(s));
	assert_non_null(r2);
	struct dump again;
	memset(&again, 0, sizeof(again));
	again.into = r2;
	assert_int_equal(nsp_store_load(s, dump_fn, &again), 0);
	assert_string_equal(again.text, got.text);
	assert_int_equal(nsp_registry_count(r2), 3);
	assert_int_equal(nsp_registry_revision(r2), 6);
	/* The lowest free identifier of s1 is now 3. */
	assert_int_equal(reg(r2, "s1", "10.0.0.9/24", 0, NULL)->identifier, 3);
	nsp_store_close(s);
	nsp_registry_free(r);
	nsp_registry_free(r2);

	/* A new file gets a new id. */
	char other[160];
	snprintf(other, sizeof(other), "%s/other.db", d->path);
	assert_int_equal(
	    nsp_store_open(other, true, &s, d->err, sizeof(d->err)), 0);
	assert_int_not_equal(nsp_store_id(s), id);
	nsp_store_close(s);
	unlink(other);
}

static int stop_at_two(const Nsp__Target *t, void *data)
{
	(void)t;
	int *n = data;
	return ++*n == 2 ? -42 : 0;
}

static void test_load_abort(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = open_ok(d);
	struct nsp_registry *r = registry();
	for (int i = 1; i <= 5; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.0.%d/24", i);
		reg(r, "s1", ip, 0, NULL);
	}
	sync_store(s, r, 0);
	int n = 0;
	assert_int_equal(nsp_store_load(s, stop_at_two, &n), -42);
	assert_int_equal(n, 2);
	/* The walk starts afresh next time. */
	n = 0;
	assert_int_equal(nsp_store_load(s, stop_at_two, &n), -42);
	nsp_store_close(s);
	nsp_registry_free(r);
}

static void test_garbage_file(void **state)
{
	struct dir *d = *state;
	FILE *f = fopen(d->db, "w");
	assert_non_null(f);
	for (int i = 0; i < 300; i++)
		fputs("this is not a database, it is a text file\n", f);
	fclose(f);
	struct nsp_store *s = NULL;
	assert_int_equal(
	    nsp_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EIO);
	assert_null(s);
	print_message("garbage: %s\n", d->err);
	assert_non_null(strstr(d->err, d->db));
	assert_non_null(strstr(d->err, "not a database"));

	/* A directory where the file should be. */
	char sub[160];
	snprintf(sub, sizeof(sub), "%s/dir.db", d->path);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(nsp_store_open(sub, false, &s, d->err, sizeof(d->err)),
			 -EIO);
	rmdir(sub);
}

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

static void test_foreign_database(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = NULL;
	sql(d->db, "CREATE TABLE photos (name TEXT, data BLOB)");
	assert_int_equal(
	    nsp_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EPROTO);
	print_message("foreign: %s\n", d->err);
	assert_non_null(strstr(d->err, "not a strait NSP store"));
	unlink(d->db);

	/* Ours, but from a future version. */
	s = open_ok(d);
	nsp_store_close(s);
	sql(d->db, "PRAGMA user_version = 7");
	assert_int_equal(
	    nsp_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EPROTO);
	assert_non_null(strstr(d->err, "version 7"));
	unlink(d->db);

	/* Ours by its header, but the tables are gone. */
	s = open_ok(d);
	nsp_store_close(s);
	sql(d->db, "DROP TABLE targets");
	assert_int_equal(
	    nsp_store_open(d->db, false, &s, d->err, sizeof(d->err)), -EPROTO);
	assert_non_null(strstr(d->err, "targets"));
}

static void test_in_use(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = open_ok(d), *s2 = NULL;
	assert_int_equal(
	    nsp_store_open(d->db, false, &s2, d->err, sizeof(d->err)), -EBUSY);
	print_message("in use: %s\n", d->err);
	assert_null(s2);
	nsp_store_close(s);
	s = open_ok(d);
	nsp_store_close(s);
}

static void test_failed_apply_changes_nothing(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = open_ok(d);
	struct nsp_registry *r = registry();
	reg(r, "s1", "10.0.0.1/24", 0, NULL);
	sync_store(s, r, 0);
	struct dump before, after;
	load(s, &before);

	reg(r, "s1", "10.0.0.2/24", 0, NULL);
	assert_true(unreg(r, "s1", "10.0.0.1/24"));
	struct nsp_event ev[3];
	assert_int_equal(nsp_registry_events(r, 1, ev, 2), 2);
	ev[2] = (struct nsp_event){.revision = 4}; /* neither side */
	assert_int_equal(nsp_store_apply(s, ev, 3, 4, d->err, sizeof(d->err)),
			 -EINVAL);
	assert_non_null(strstr(d->err, "event 2"));
	assert_int_equal(nsp_store_revision(s), 1);
	load(s, &after);
	assert_string_equal(after.text, before.text);
	nsp_store_close(s);

	s = open_ok(d);
	assert_int_equal(nsp_store_revision(s), 1);
	load(s, &after);
	assert_string_equal(after.text, before.text);
	/* The store still works after a failed apply. */
	sync_store(s, r, 1);
	assert_int_equal(nsp_store_revision(s), 3);
	load(s, &after);
	assert_string_equal(after.text, "1|t1|c1|s1|10.0.0.2/24=2/1/;");
	nsp_store_close(s);
	nsp_registry_free(r);
}

/* A process that dies half way through a transaction: a child writes
 * thousands of rows and a new revision without committing, with a cache
 * so small that SQLite spills the uncommitted pages into the WAL, then
 * SIGKILLs itself. Recovery must ignore those frames. The child speaks SQL
 * to the file directly because nsp_store_apply has no half-way point to
 * stop at; the table names are the schema of store.h. */
static void test_crash_mid_transaction(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = open_ok(d);
	struct nsp_registry *r = registry();
	reg(r, "s1", "10.0.0.1/24", 0, "x");
	reg(r, "s1", "10.0.0.2/24", 0, NULL);
	sync_store(s, r, 0);
	uint64_t id = nsp_store_id(s);
	struct dump before;
	load(s, &before);
	nsp_store_close(s);

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
				 "DELETE FROM targets;"
				 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
				 "SELECT i + 1 FROM n WHERE i < 5000) "
				 "INSERT INTO targets SELECT 'junk' || i, "
				 "randomblob(200) FROM n;"
				 "UPDATE meta SET value = 999 "
				 "WHERE name = 'revision';",
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
	assert_int_equal(nsp_store_id(s), id);
	assert_int_equal(nsp_store_revision(s), 2);
	struct dump after;
	load(s, &after);
	assert_string_equal(after.text, before.text);
	assert_int_equal(after.n, 2);
	nsp_store_close(s);
	nsp_registry_free(r);
}

static void test_undecodable_row_skipped(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = open_ok(d);
	struct nsp_registry *r = registry();
	reg(r, "s1", "10.0.0.1/24", 0, NULL);
	sync_store(s, r, 0);
	nsp_store_close(s);
	sql(d->db, "INSERT INTO targets VALUES('bad', x'ffffffffff')");
	s = open_ok(d);
	struct dump got;
	load(s, &got);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.text, "1|t1|c1|s1|10.0.0.1/24=1/1/;");
	nsp_store_close(s);
	nsp_registry_free(r);
}

static void test_many(void **state)
{
	struct dir *d = *state;
	struct nsp_store *s = open_ok(d);
	struct nsp_registry *r = registry();
	struct nsp_event ev[256];
	uint64_t done = 0;
	for (int i = 0; i < 2000; i++) {
		char ip[32], stream[16];
		snprintf(ip, sizeof(ip), "10.1.%d.%d/16", i / 250, i % 250);
		snprintf(stream, sizeof(stream), "s%d", i % 20);
		reg(r, stream, ip, 0, NULL);
		if (i % 100 == 99) {
			ssize_t n = nsp_registry_events(r, done, ev, 256);
			assert_int_equal(n, 100);
			assert_int_equal(
			    nsp_store_apply(s, ev, (size_t)n,
					    nsp_registry_revision(r), d->err,
					    sizeof(d->err)),
			    0);
			done = nsp_registry_revision(r);
		}
	}
	nsp_store_close(s);
	s = open_ok(d);
	struct nsp_registry *r2 = nsp_registry_new(NULL, nsp_store_revision(s));
	struct dump got;
	memset(&got, 0, sizeof(got));
	got.into = r2;
	/* The dump text overflows quietly; only the count matters here. */
	assert_int_equal(nsp_store_load(s, dump_fn, &got), 0);
	assert_int_equal(got.n, 2000);
	assert_int_equal(nsp_registry_count(r2), 2000);
	assert_int_equal(nsp_registry_revision(r2), 2000);
	nsp_store_close(s);
	nsp_registry_free(r);
	nsp_registry_free(r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_abort, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_database, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_in_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_apply_changes_nothing,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_mid_transaction, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_undecodable_row_skipped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
