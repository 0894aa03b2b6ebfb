/* Unit tests of IPAM's address tree (ipam/tree.c, restore.c, walk.c) in
 * virtual time: now_ms and wall_ms are plain numbers the tests move.
 *
 * A small model store (below) keeps the rows every call hands back, as the
 * SQLite store would, so that the tests can restore a tree from exactly
 * what was persisted and compare. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../ipam/tree.h"

#define LEASE 1000u
#define DELAY 500u

/* ---- the model store: PUT replaces the row of its key, DEL removes ---- */

struct srow {
	struct ipam_row r;
	char *s[4];
};

struct store {
	struct srow *v;
	size_t n, cap;
};

static bool streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_key(const struct ipam_row *a, const struct ipam_row *b)
{
	if (a->kind != b->kind || a->family != b->family ||
	    !streq(a->trench, b->trench))
		return false;
	switch (a->kind) {
	case IPAM_ROW_TRENCH:
		return true;
	case IPAM_ROW_CONDUIT:
		return streq(a->conduit, b->conduit);
	case IPAM_ROW_NODE:
		return streq(a->conduit, b->conduit) && streq(a->node, b->node);
	case IPAM_ROW_CHILD:
		return streq(a->conduit, b->conduit) &&
		       streq(a->node, b->node) && streq(a->name, b->name);
	case IPAM_ROW_QUARANTINE:
		return streq(a->conduit, b->conduit) &&
		       streq(a->node, b->node) &&
		       cidr_equal(&a->prefix, &b->prefix);
	}
	return false;
}

static void srow_free(struct srow *s)
{
	for (int i = 0; i < 4; i++)
		free(s->s[i]);
}

static void store_put(struct store *st, const struct ipam_row *r)
{
	size_t i;
	for (i = 0; i < st->n; i++)
		if (same_key(&st->v[i].r, r))
			break;
	if (r->del) {
		assert_true(i < st->n); /* a DEL of a row never written */
		srow_free(&st->v[i]);
		st->v[i] = st->v[--st->n];
		return;
	}
	if (i == st->n) {
		if (st->n == st->cap) {
			st->cap = st->cap ? 2 * st->cap : 64;
			st->v = realloc(st->v, st->cap * sizeof(*st->v));
			assert_non_null(st->v);
		}
		st->n++;
	} else {
		srow_free(&st->v[i]);
	}
	struct srow *s = &st->v[i];
	s->r = *r;
	const char *in[4] = { r->trench, r->conduit, r->node, r->name };
	const char **out[4] = { &s->r.trench, &s->r.conduit, &s->r.node,
				&s->r.name };
	for (int k = 0; k < 4; k++) {
		s->s[k] = in[k] ? strdup(in[k]) : NULL;
		*out[k] = s->s[k];
	}
}

static void store_free(struct store *st)
{
	for (size_t i = 0; i < st->n; i++)
		srow_free(&st->v[i]);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

/* Restores every row, kind by kind (the store's load order). */
static void store_restore(const struct store *st, struct ipam_tree *t,
			  uint64_t now_ms)
{
	char err[512];
	for (int kind = IPAM_ROW_TRENCH; kind <= IPAM_ROW_QUARANTINE; kind++)
		for (size_t i = 0; i < st->n; i++) {
			if ((int)st->v[i].r.kind != kind)
				continue;
			if (ipam_tree_restore(t, &st->v[i].r, now_ms, err,
					      sizeof(err)) != 0)
				fail_msg("restore: %s", err);
		}
}

static size_t store_count(const struct store *st, enum ipam_row_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < st->n; i++)
		n += st->v[i].r.kind == kind;
	return n;
}

/* ---- fixture ---- */

struct fx {
	struct ipam_tree *t;
	struct ipam_changes ch; /* the last call's rows */
	struct store st;	/* everything persisted */
	enum ipam_reason why;
	char err[512];
	char addr[CIDR_STRLEN];
	struct ipam_result res;
};

static struct fx *fx_new(const struct ipam_tree_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	struct ipam_tree_config def = { .lease_ms = LEASE,
					.reuse_delay_ms = DELAY };
	f->t = ipam_tree_new(cfg ? cfg : &def);
	assert_non_null(f->t);
	return f;
}

static void fx_free(struct fx *f)
{
	ipam_tree_free(f->t);
	ipam_changes_free(&f->ch);
	store_free(&f->st);
	free(f);
}

/* Writes the last call's rows to the model store, as the daemon would
 * before its next call. */
static void persist(struct fx *f)
{
	for (size_t i = 0; i < f->ch.n; i++)
		store_put(&f->st, &f->ch.rows[i]);
	ipam_changes_reset(&f->ch);
}

/* Allocates trench/conduit/node/name; leaves the address text in f->addr
 * ("" on error) and persists. Returns the call's result. */
static int alloc_at(struct fx *f, const char *path, int family, bool bridge,
		    uint64_t now_ms, uint64_t wall_ms)
{
	char buf[600];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save, *p[4];
	p[0] = strtok_r(buf, "/", &save);
	for (int i = 1; i < 4; i++)
		p[i] = strtok_r(NULL, "/", &save);
	struct ipam_child_ref ref = { p[0], p[1], p[2], p[3], family };
	size_t n0 = f->ch.n;
	f->err[0] = '\0';
	f->why = IPAM_OK;
	memset(&f->res, 0, sizeof(f->res));
	int rc = ipam_allocate(f->t, &ref, bridge, now_ms, wall_ms, &f->ch,
			       &f->res, &f->why, f->err, sizeof(f->err));
	f->addr[0] = '\0';
	if (rc == 0) {
		assert_int_equal(cidr_format(&f->res.address, f->addr,
					     sizeof(f->addr)),
				 0);
		assert_int_equal(f->why, IPAM_OK);
	} else {
		assert_int_equal(f->ch.n, n0); /* nothing appended */
		assert_int_not_equal(f->why, IPAM_OK);
	}
	persist(f);
	return rc;
}

static int alloc4(struct fx *f, const char *path, uint64_t now_ms)
{
	return alloc_at(f, path, AF_INET, false, now_ms, now_ms);
}

static void expect4(struct fx *f, const char *path, uint64_t now_ms,
		    const char *want, bool created)
{
	int rc = alloc4(f, path, now_ms);
	if (rc != 0)
		fail_msg("%s: %d %s", path, rc, f->err);
	assert_string_equal(f->addr, want);
	assert_int_equal(f->res.created, created);
}

static int release_at(struct fx *f, const char *path, int family,
		      uint64_t wall_ms, bool *existed)
{
	char buf[600];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save, *p[4];
	p[0] = strtok_r(buf, "/", &save);
	for (int i = 1; i < 4; i++)
		p[i] = strtok_r(NULL, "/", &save);
	struct ipam_child_ref ref = { p[0], p[1], p[2], p[3], family };
	struct cidr a;
	int rc = ipam_release(f->t, &ref, wall_ms, &f->ch, existed, &a,
			      f->err, sizeof(f->err));
	f->addr[0] = '\0';
	if (rc == 0 && *existed)
		cidr_format(&a, f->addr, sizeof(f->addr));
	persist(f);
	return rc;
}

/* Snapshots of the walks, one line per child or prefix. */
struct text {
	char *s;
	size_t n, cap;
};

static void text_add(struct text *t, const char *line)
{
	size_t len = strlen(line);
	if (t->n + len + 1 > t->cap) {
		t->cap = 2 * (t->n + len + 1);
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	memcpy(t->s + t->n, line, len + 1);
	t->n += len;
}

static void child_line(const struct ipam_child_view *v, void *data)
{
	char a[CIDR_STRLEN], line[700];
	cidr_format(&v->address, a, sizeof(a));
	snprintf(line, sizeof(line), "%s/%s/%s/%s %d %s%s\n", v->trench,
		 v->conduit, v->node, v->name, v->family == AF_INET ? 4 : 6,
		 a, v->bridge ? " bridge" : "");
	text_add(data, line);
}

static void prefix_line(const struct ipam_prefix_view *v, void *data)
{
	char a[CIDR_STRLEN], line[700];
	cidr_format(&v->prefix, a, sizeof(a));
	snprintf(line, sizeof(line), "%d %s/%s/%s %s cap=%llu used=%llu q=%llu\n",
		 (int)v->level, v->trench, v->conduit ? v->conduit : "-",
		 v->node ? v->node : "-", a, (unsigned long long)v->capacity,
		 (unsigned long long)v->used,
		 (unsigned long long)v->quarantined);
	text_add(data, line);
}

static char *children_text(const struct ipam_tree *t,
			   const struct ipam_filter *flt)
{
	struct text x = { 0 };
	text_add(&x, "");
	ipam_tree_walk_children(t, flt, child_line, &x);
	return x.s;
}

static char *prefixes_text(const struct ipam_tree *t, const char *trench)
{
	struct text x = { 0 };
	text_add(&x, "");
	ipam_tree_walk_prefixes(t, trench, prefix_line, &x);
	return x.s;
}

/* A tree of small prefixes: 10.0.0.0/28 cut into two /29 conduits, each
 * into two /30 nodes of exactly one child address (.2; .0, .1 and .3 are
 * the network, the bridge and the last). */
static struct fx *small_fx(void)
{
	struct ipam_tree_config cfg = { .lease_ms = LEASE,
					.reuse_delay_ms = DELAY };
	assert_int_equal(cidr_parse("10.0.0.0/28", &cfg.v4.prefix), 0);
	cfg.v4.conduit_len = 29;
	cfg.v4.node_len = 30;
	return fx_new(&cfg);
}

/* ---- tests ---- */

static void test_first_fit_and_rows(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	char a[CIDR_STRLEN];

	/* The first allocation creates the trench, conduit and node. */
	assert_int_equal(alloc4(f, "trench-a/lb/node-2/pod-0", 1), 0);
	assert_string_equal(f->addr, "169.255.0.2/24");
	assert_true(f->res.created);
	cidr_format(&f->res.node_prefix, a, sizeof(a));
	assert_string_equal(a, "169.255.0.0/24");
	cidr_format(&f->res.gateway, a, sizeof(a));
	assert_string_equal(a, "169.255.0.1/32");
	assert_int_equal(f->st.n, 4);
	assert_int_equal(store_count(&f->st, IPAM_ROW_TRENCH), 1);
	assert_int_equal(store_count(&f->st, IPAM_ROW_CONDUIT), 1);
	assert_int_equal(store_count(&f->st, IPAM_ROW_NODE), 1);
	assert_int_equal(store_count(&f->st, IPAM_ROW_CHILD), 1);
	const struct ipam_row *tr = &f->st.v[0].r;
	assert_int_equal(tr->kind, IPAM_ROW_TRENCH);
	assert_string_equal(tr->trench, "trench-a");
	cidr_format(&tr->prefix, a, sizeof(a));
	assert_string_equal(a, "169.255.0.0/16");
	assert_int_equal(tr->conduit_len, 20);
	assert_int_equal(tr->node_len, 24);

	expect4(f, "trench-a/lb/node-2/pod-1", 2, "169.255.0.3/24", true);
	expect4(f, "trench-a/lb/node-2/pod-2", 3, "169.255.0.4/24", true);
	/* Only a child row this time. */
	assert_int_equal(f->st.n, 6);
	/* The next node and conduit take the next prefixes. */
	expect4(f, "trench-a/lb/node-3/pod-0", 4, "169.255.1.2/24", true);
	expect4(f, "trench-a/lb2/node-2/pod-0", 5, "169.255.16.2/24", true);
	expect4(f, "trench-b/lb/node-2/pod-0", 6, "169.255.0.2/24", true);

	/* v6 is its own tree: same names, its own prefixes. */
	assert_int_equal(alloc_at(f, "trench-a/lb/node-2/pod-0", AF_INET6,
				  false, 7, 7),
			 0);
	assert_string_equal(f->addr, "fd00::2/64");
	assert_int_equal(alloc_at(f, "trench-a/lb2/node-9/pod-0", AF_INET6,
				  false, 7, 7),
			 0);
	assert_string_equal(f->addr, "fd00:0:0:100::2/64");
	assert_int_equal(ipam_tree_children(f->t), 8);
	fx_free(f);
}

static void test_reserved_offsets_and_bridge(void **state)
{
	(void)state;
	struct fx *f = small_fx();
	char a[CIDR_STRLEN];
	expect4(f, "t/c/n/pod-a", 1, "10.0.0.2/30", true);
	/* A /30 holds one child: .0, .1 (bridge) and .3 are never given. */
	assert_int_equal(alloc4(f, "t/c/n/pod-b", 1), -ENOSPC);
	assert_int_equal(f->why, IPAM_NODE_FULL);
	assert_string_equal(ipam_reason_name(f->why), "node_prefix_full");
	assert_string_equal(f->err, "node prefix 10.0.0.0/30 of t/c/n is "
				    "full: 1 addresses in use, 0 quarantined");

	/* .1 goes to the bridge only, and to one bridge per node. */
	assert_int_equal(alloc_at(f, "t/c/n/proxy", AF_INET, true, 1, 1), 0);
	assert_string_equal(f->addr, "10.0.0.1/30");
	cidr_format(&f->res.gateway, a, sizeof(a));
	assert_string_equal(a, "10.0.0.1/32");
	assert_int_equal(alloc_at(f, "t/c/n/proxy2", AF_INET, true, 1, 1),
			 -EEXIST);
	assert_int_equal(f->why, IPAM_BRIDGE_TAKEN);
	assert_string_equal(ipam_reason_name(f->why), "bridge_taken");
	assert_string_equal(f->err,
			    "the bridge 10.0.0.1 of node t/c/n is held by proxy");
	/* The same bridge again: the same address, no rows. */
	size_t rows = f->st.n;
	assert_int_equal(alloc_at(f, "t/c/n/proxy", AF_INET, true, 2, 2), 0);
	assert_string_equal(f->addr, "10.0.0.1/30");
	assert_false(f->res.created);
	assert_int_equal(f->st.n, rows);
	/* The key decides: the bridge asking as an ordinary child gets .1. */
	assert_int_equal(alloc4(f, "t/c/n/proxy", 3), 0);
	assert_string_equal(f->addr, "10.0.0.1/30");
	/* The full message counts the bridge among the addresses in use. */
	assert_int_equal(alloc4(f, "t/c/n/pod-b", 1), -ENOSPC);
	assert_string_equal(f->err, "node prefix 10.0.0.0/30 of t/c/n is "
				    "full: 2 addresses in use, 0 quarantined");

	/* A bridge is the first allocation of a node: offset 1, and the
	 * next ordinary child still starts at offset 2. */
	assert_int_equal(alloc_at(f, "t/c/n2/proxy", AF_INET, true, 1, 1), 0);
	assert_string_equal(f->addr, "10.0.0.5/30");
	expect4(f, "t/c/n2/pod-a", 1, "10.0.0.6/30", true);

	/* A released bridge is free at once (no quarantine), for the next
	 * bridge of the node. */
	bool existed;
	assert_int_equal(release_at(f, "t/c/n/proxy", AF_INET, 10, &existed),
			 0);
	assert_true(existed);
	assert_string_equal(f->addr, "10.0.0.1/30");
	assert_int_equal(store_count(&f->st, IPAM_ROW_QUARANTINE), 0);
	assert_int_equal(alloc_at(f, "t/c/n/proxy2", AF_INET, true, 11, 11),
			 0);
	assert_string_equal(f->addr, "10.0.0.1/30");
	fx_free(f);
}

static void test_idempotent_and_refresh(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct ipam_changes c = { 0 };
	expect4(f, "t/c/n/a", 0, "169.255.0.2/24", true);
	expect4(f, "t/c/n/b", 0, "169.255.0.3/24", true);
	assert_int_equal(ipam_next_expiry(f->t), LEASE);
	/* a refreshes just before its lease runs out; b does not. */
	size_t rows = f->st.n;
	expect4(f, "t/c/n/a", LEASE - 1, "169.255.0.2/24", false);
	assert_int_equal(f->st.n, rows);
	assert_int_equal(ipam_next_expiry(f->t), LEASE); /* b's */
	assert_int_equal(ipam_collect(f->t, LEASE - 1, 0, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(ipam_collect(f->t, LEASE, 0, &c), 1);
	/* b: a child DEL and a quarantine PUT. */
	assert_int_equal(c.n, 2);
	assert_int_equal(c.rows[0].kind, IPAM_ROW_CHILD);
	assert_true(c.rows[0].del);
	assert_string_equal(c.rows[0].name, "b");
	assert_int_equal(c.rows[1].kind, IPAM_ROW_QUARANTINE);
	assert_false(c.rows[1].del);
	assert_int_equal(c.rows[1].until_ms, DELAY);
	char a[CIDR_STRLEN];
	cidr_format(&c.rows[1].prefix, a, sizeof(a));
	assert_string_equal(a, "169.255.0.3/24");
	ipam_changes_reset(&c);
	assert_int_equal(ipam_next_expiry(f->t), 2 * LEASE - 1);
	assert_int_equal(ipam_collect(f->t, 2 * LEASE - 2, 0, &c), 0);
	assert_int_equal(ipam_collect(f->t, 2 * LEASE - 1, 0, &c), 1);
	assert_int_equal(ipam_next_expiry(f->t), UINT64_MAX);
	assert_int_equal(ipam_tree_children(f->t), 0);
	ipam_changes_free(&c);
	fx_free(f);
}

static void test_release_and_reuse_delay(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	bool existed;
	uint64_t wall = 1000000;
	for (int i = 0; i < 5; i++) {
		char p[64];
		snprintf(p, sizeof(p), "t/c/n/p%d", i);
		assert_int_equal(alloc_at(f, p, AF_INET, false, 1, wall), 0);
	}
	/* p1 (.3) released: quarantined until wall + DELAY. */
	assert_int_equal(release_at(f, "t/c/n/p1", AF_INET, wall, &existed),
			 0);
	assert_true(existed);
	assert_string_equal(f->addr, "169.255.0.3/24");
	assert_int_equal(store_count(&f->st, IPAM_ROW_QUARANTINE), 1);
	assert_int_equal(store_count(&f->st, IPAM_ROW_CHILD), 4);
	/* A second release of the same child: nothing there. */
	assert_int_equal(release_at(f, "t/c/n/p1", AF_INET, wall, &existed),
			 0);
	assert_false(existed);
	assert_string_equal(f->addr, "");

	/* Before the delay, .3 is skipped; p1 coming back gets a new one. */
	assert_int_equal(alloc_at(f, "t/c/n/p5", AF_INET, false, 2,
				  wall + DELAY - 1),
			 0);
	assert_string_equal(f->addr, "169.255.0.7/24");
	assert_int_equal(store_count(&f->st, IPAM_ROW_QUARANTINE), 1);
	/* At the delay, .3 is the lowest free again, and the allocation
	 * deletes its quarantine row before the child's PUT. */
	struct ipam_child_ref ref = { "t", "c", "n", "p6", AF_INET };
	struct ipam_result r;
	assert_int_equal(ipam_allocate(f->t, &ref, false, 3, wall + DELAY,
				       &f->ch, &r, NULL, NULL, 0),
			 0);
	assert_int_equal(f->ch.n, 2);
	assert_int_equal(f->ch.rows[0].kind, IPAM_ROW_QUARANTINE);
	assert_true(f->ch.rows[0].del);
	assert_int_equal(f->ch.rows[1].kind, IPAM_ROW_CHILD);
	assert_true(cidr_equal(&f->ch.rows[0].prefix, &f->ch.rows[1].prefix));
	persist(f);
	char a[CIDR_STRLEN];
	cidr_format(&r.address, a, sizeof(a));
	assert_string_equal(a, "169.255.0.3/24");
	assert_int_equal(store_count(&f->st, IPAM_ROW_QUARANTINE), 0);

	/* A full node whose quarantine expired is not full. */
	struct fx *s = small_fx();
	assert_int_equal(alloc_at(s, "t/c/n/a", AF_INET, false, 1, wall), 0);
	assert_int_equal(release_at(s, "t/c/n/a", AF_INET, wall, &existed), 0);
	assert_int_equal(alloc_at(s, "t/c/n/b", AF_INET, false, 2, wall + 1),
			 -ENOSPC);
	assert_string_equal(s->err, "node prefix 10.0.0.0/30 of t/c/n is "
				    "full: 0 addresses in use, 1 quarantined");
	assert_int_equal(alloc_at(s, "t/c/n/b", AF_INET, false, 2,
				  wall + DELAY),
			 0);
	assert_string_equal(s->addr, "10.0.0.2/30");
	fx_free(s);
	fx_free(f);
}

static void test_purge_and_walk_figures(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	bool existed;
	assert_int_equal(alloc_at(f, "t/c/n/a", AF_INET, true, 1, 100), 0);
	assert_int_equal(alloc_at(f, "t/c/n/b", AF_INET, false, 1, 100), 0);
	assert_int_equal(alloc_at(f, "t/c/n/c", AF_INET, false, 1, 100), 0);
	assert_int_equal(release_at(f, "t/c/n/c", AF_INET, 100, &existed), 0);
	char *p = prefixes_text(f->t, NULL);
	assert_string_equal(
		p, "0 t/-/- 169.255.0.0/16 cap=16 used=1 q=0\n"
		   "1 t/c/- 169.255.0.0/20 cap=16 used=1 q=0\n"
		   "2 t/c/n 169.255.0.0/24 cap=254 used=2 q=1\n");
	free(p);
	/* Not yet expired: nothing purged. */
	assert_int_equal(ipam_purge(f->t, 100 + DELAY - 1, &f->ch), 0);
	assert_int_equal(f->ch.n, 0);
	assert_int_equal(ipam_purge(f->t, 100 + DELAY, &f->ch), 1);
	assert_int_equal(f->ch.n, 1);
	assert_true(f->ch.rows[0].del);
	assert_int_equal(f->ch.rows[0].kind, IPAM_ROW_QUARANTINE);
	persist(f);
	p = prefixes_text(f->t, "t");
	assert_non_null(strstr(p, "cap=254 used=2 q=0\n"));
	free(p);
	p = prefixes_text(f->t, "other");
	assert_string_equal(p, "");
	free(p);
	/* v6 capacities: 2^8 conduits of /56, 2^8 nodes of /64, 2^64 - 2
	 * usable addresses. */
	assert_int_equal(alloc_at(f, "t/c/n/a", AF_INET6, false, 1, 100), 0);
	p = prefixes_text(f->t, "t");
	assert_non_null(strstr(p, "0 t/-/- fd00::/48 cap=256 used=1 q=0\n"
				  "1 t/c/- fd00::/56 cap=256 used=1 q=0\n"
				  "2 t/c/n fd00::/64 cap=18446744073709551614 "
				  "used=1 q=0\n"));
	free(p);
	fx_free(f);
}

static void test_collect_spares_bridges(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct ipam_changes c = { 0 };
	assert_int_equal(alloc_at(f, "t/c/n/proxy", AF_INET, true, 0, 0), 0);
	assert_int_equal(alloc_at(f, "t/c/n/pod", AF_INET, false, 0, 0), 0);
	assert_int_equal(alloc_at(f, "t/c/n/pod", AF_INET6, false, 0, 0), 0);
	assert_int_equal(ipam_collect(f->t, 100 * LEASE, 7, &c), 2);
	assert_int_equal(c.n, 4);
	/* The strings of removed children stay valid until the next
	 * mutating call (ASan would see otherwise). */
	assert_string_equal(c.rows[0].name, "pod");
	assert_string_equal(c.rows[2].name, "pod");
	assert_int_equal(ipam_tree_children(f->t), 1);
	char *s = children_text(f->t, NULL);
	assert_string_equal(s, "t/c/n/proxy 4 169.255.0.1/24 bridge\n");
	free(s);
	ipam_changes_reset(&c);
	/* Expired quarantine is purged by the collector too. */
	assert_int_equal(ipam_collect(f->t, 100 * LEASE, 7 + DELAY, &c), 0);
	assert_int_equal(c.n, 2);
	assert_true(c.rows[0].del && c.rows[1].del);
	ipam_changes_free(&c);
	fx_free(f);
}

static void test_exhaustion_at_every_level(void **state)
{
	(void)state;
	struct fx *f = small_fx();
	expect4(f, "t/c1/n1/a", 1, "10.0.0.2/30", true);
	expect4(f, "t/c1/n2/a", 1, "10.0.0.6/30", true);
	assert_int_equal(alloc4(f, "t/c1/n3/a", 1), -ENOSPC);
	assert_int_equal(f->why, IPAM_CONDUIT_FULL);
	assert_string_equal(ipam_reason_name(f->why), "conduit_prefix_full");
	assert_string_equal(f->err, "conduit prefix 10.0.0.0/29 of t/c1 is "
				    "full: 2 node prefixes of /30 in use");
	expect4(f, "t/c2/n1/a", 1, "10.0.0.10/30", true);
	assert_int_equal(alloc4(f, "t/c3/n1/a", 1), -ENOSPC);
	assert_int_equal(f->why, IPAM_TRENCH_FULL);
	assert_string_equal(ipam_reason_name(f->why), "trench_prefix_full");
	assert_string_equal(f->err, "trench prefix 10.0.0.0/28 of t is full: "
				    "2 conduit prefixes of /29 in use");
	assert_int_equal(alloc4(f, "t/c2/n1/b", 1), -ENOSPC);
	assert_int_equal(f->why, IPAM_NODE_FULL);
	/* Refusals changed nothing. */
	char *s = prefixes_text(f->t, NULL);
	assert_string_equal(s, "0 t/-/- 10.0.0.0/28 cap=2 used=2 q=0\n"
			       "1 t/c1/- 10.0.0.0/29 cap=2 used=2 q=0\n"
			       "2 t/c1/n1 10.0.0.0/30 cap=2 used=1 q=0\n"
			       "2 t/c1/n2 10.0.0.4/30 cap=2 used=1 q=0\n"
			       "1 t/c2/- 10.0.0.8/29 cap=2 used=1 q=0\n"
			       "2 t/c2/n1 10.0.0.8/30 cap=2 used=1 q=0\n");
	free(s);
	/* Other trenches are served. */
	expect4(f, "u/c3/n1/a", 1, "10.0.0.2/30", true);
	fx_free(f);
}

static void test_invalid_names_and_family(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	assert_int_equal(alloc4(f, "t/c/n/a b", 1), -EINVAL);
	assert_int_equal(f->why, IPAM_NAME_INVALID);
	assert_string_equal(ipam_reason_name(f->why), "name_invalid");
	assert_string_equal(f->err, "child name \"a b\" holds a space");
	assert_int_equal(alloc4(f, "t/c|x/n/a", 1), -EINVAL);
	assert_string_equal(f->err, "conduit name \"c|x\" holds '|'");
	char longname[200] = "t/c/";
	memset(longname + 4, 'n', 129);
	strcat(longname, "/a");
	assert_int_equal(alloc4(f, longname, 1), -EINVAL);
	assert_non_null(strstr(f->err, "node name \"nnn"));
	struct ipam_child_ref ref = { "t", "c", "n", "", AF_INET };
	assert_int_equal(ipam_allocate(f->t, &ref, false, 1, 1, &f->ch, NULL,
				       &f->why, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_string_equal(f->err, "child name is empty");
	assert_int_equal(alloc_at(f, "t/c/n/a", 7, false, 1, 1), -EINVAL);
	assert_int_equal(f->why, IPAM_FAMILY_INVALID);
	assert_string_equal(ipam_reason_name(f->why), "family_invalid");
	assert_non_null(strstr(f->err, "family 7 is neither"));
	bool existed = true;
	assert_int_equal(release_at(f, "t/c/n/a b", AF_INET, 1, &existed),
			 -EINVAL);
	assert_false(existed);
	assert_int_equal(f->st.n, 0);
	assert_string_equal(ipam_reason_name(IPAM_OK), "");
	assert_string_equal(ipam_reason_name(IPAM_UNKNOWN_CONDUIT),
			    "unknown_conduit");
	assert_string_equal(ipam_reason_name(IPAM_PREFIX_CANNOT_FIT),
			    "prefix_cannot_fit");
	fx_free(f);
}

static bool only_lb(void *ctx, const char *trench, const char *conduit)
{
	int *calls = ctx;
	(*calls)++;
	return !strcmp(trench, "t") && !strcmp(conduit, "lb");
}

static void test_unknown_conduit(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	int calls = 0;
	ipam_tree_set_conduit_check(f->t, only_lb, &calls);
	assert_int_equal(alloc4(f, "t/other/n/a", 1), -ENOENT);
	assert_int_equal(f->why, IPAM_UNKNOWN_CONDUIT);
	assert_string_equal(f->err,
			    "conduit t/other is not in the configuration");
	assert_int_equal(f->st.n, 0);
	expect4(f, "t/lb/n/a", 1, "169.255.0.2/24", true);
	expect4(f, "t/lb/n2/a", 1, "169.255.1.2/24", true);
	/* Asked only while the conduit was new. */
	assert_int_equal(calls, 2);

	/* ipam_conduit_ensure lays a conduit out without a child. */
	struct ipam_child_ref ref = { "t", "lb", NULL, NULL, AF_INET6 };
	struct cidr p;
	char a[CIDR_STRLEN];
	assert_int_equal(ipam_conduit_ensure(f->t, &ref, &f->ch, &p, &f->why,
					     f->err, sizeof(f->err)),
			 0);
	cidr_format(&p, a, sizeof(a));
	assert_string_equal(a, "fd00::/56");
	assert_int_equal(f->ch.n, 2); /* trench and conduit */
	persist(f);
	assert_int_equal(ipam_conduit_ensure(f->t, &ref, &f->ch, &p, NULL,
					     NULL, 0),
			 0);
	assert_int_equal(f->ch.n, 0);
	ref.conduit = "nope";
	assert_int_equal(ipam_conduit_ensure(f->t, &ref, &f->ch, &p, &f->why,
					     f->err, sizeof(f->err)),
			 -ENOENT);
	assert_int_equal(f->why, IPAM_UNKNOWN_CONDUIT);
	ipam_tree_set_conduit_check(f->t, NULL, NULL);
	assert_int_equal(ipam_conduit_ensure(f->t, &ref, &f->ch, &p, &f->why,
					     f->err, sizeof(f->err)),
			 0);
	cidr_format(&p, a, sizeof(a));
	assert_string_equal(a, "fd00:0:0:100::/56");
	fx_free(f);
}

static void test_per_trench_override(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct ipam_family_spec fs = { .conduit_len = 20, .node_len = 28 };
	char err[256];
	assert_int_equal(cidr_parse("10.1.0.0/16", &fs.prefix), 0);
	assert_int_equal(ipam_tree_set_trench(f->t, "t2", AF_INET, &fs, err,
					      sizeof(err)),
			 0);
	expect4(f, "t2/c/n/a", 1, "10.1.0.2/28", true);
	expect4(f, "t2/c/n2/a", 1, "10.1.0.18/28", true);
	expect4(f, "t1/c/n/a", 1, "169.255.0.2/24", true);
	/* The trench row holds the override. */
	for (size_t i = 0; i < f->st.n; i++)
		if (f->st.v[i].r.kind == IPAM_ROW_TRENCH &&
		    !strcmp(f->st.v[i].r.trench, "t2"))
			assert_int_equal(f->st.v[i].r.node_len, 28);
	/* The same shape again is fine; another one once live is not. */
	assert_int_equal(ipam_tree_set_trench(f->t, "t2", AF_INET, &fs, err,
					      sizeof(err)),
			 0);
	fs.node_len = 27;
	assert_int_equal(ipam_tree_set_trench(f->t, "t2", AF_INET, &fs, err,
					      sizeof(err)),
			 -EBUSY);
	assert_string_equal(err, "trench t2 (IPv4) has its tree in "
				 "10.1.0.0/16:20:28 already; it cannot become "
				 "10.1.0.0/16:20:27");
	/* Before its first allocation a trench may change its mind. */
	assert_int_equal(ipam_tree_set_trench(f->t, "t3", AF_INET, &fs, err,
					      sizeof(err)),
			 0);
	fs.node_len = 26;
	assert_int_equal(ipam_tree_set_trench(f->t, "t3", AF_INET, &fs, err,
					      sizeof(err)),
			 0);
	expect4(f, "t3/c/n/a", 1, "10.1.0.2/26", true);
	/* Refusals. */
	fs.node_len = 31;
	assert_int_equal(ipam_tree_set_trench(f->t, "t4", AF_INET, &fs, err,
					      sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "fewer than 4 addresses"));
	fs.node_len = 24;
	assert_int_equal(ipam_tree_set_trench(f->t, "t4", AF_INET6, &fs, err,
					      sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "trench t4: the IPv6 tree needs an IPv6 "
				 "prefix");
	assert_int_equal(ipam_tree_set_trench(f->t, "t 4", AF_INET, &fs, err,
					      sizeof(err)),
			 -EINVAL);
	/* A trench with a shape but no tree is not walked. */
	char *s = prefixes_text(f->t, "t4");
	assert_string_equal(s, "");
	free(s);
	fx_free(f);
}

static void test_prefix_cannot_fit(void **state)
{
	(void)state;
	struct ipam_tree_config cfg = { 0 };
	assert_int_equal(cidr_parse("10.0.0.0/24", &cfg.v4.prefix), 0);
	cfg.v4.conduit_len = 28;
	cfg.v4.node_len = 31;
	struct fx *f = fx_new(&cfg);
	assert_int_equal(alloc4(f, "t/c/n/a", 1), -EDOM);
	assert_int_equal(f->why, IPAM_PREFIX_CANNOT_FIT);
	assert_string_equal(f->err,
			    "trench t (IPv4) cannot form a tree: node length "
			    "/31 of 10.0.0.0/24 leaves fewer than 4 addresses "
			    "per node (at most /30)");
	assert_int_equal(f->st.n, 0);
	/* The v6 default still works. */
	assert_int_equal(alloc_at(f, "t/c/n/a", AF_INET6, false, 1, 1), 0);
	fx_free(f);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_v6_hundred_thousand_in_one_node(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct ipam_tree_config cfg = { .lease_ms = LEASE,
					.reuse_delay_ms = DELAY };
	struct ipam_tree *t = ipam_tree_new(&cfg);
	struct ipam_changes c = { 0 };
	struct ipam_result r;
	char name[32], a[CIDR_STRLEN];
	double t0 = seconds();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		struct ipam_child_ref ref = { "t", "c", "n", name, AF_INET6 };
		assert_int_equal(ipam_allocate(t, &ref, false, 1, 1, &c, &r,
					       NULL, NULL, 0),
				 0);
		ipam_changes_reset(&c);
	}
	double t1 = seconds();
	cidr_format(&r.address, a, sizeof(a));
	assert_string_equal(a, "fd00::1:86a1/64"); /* offset 100,001 */
	/* Repeats: one hash lookup each. */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		struct ipam_child_ref ref = { "t", "c", "n", name, AF_INET6 };
		assert_int_equal(ipam_allocate(t, &ref, false, 2, 2, &c, &r,
					       NULL, NULL, 0),
				 0);
		assert_false(r.created);
	}
	double t2 = seconds();
	print_message("100,000 v6 children in one /64: %.0f ms to allocate, "
		      "%.0f ms to refresh\n",
		      (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	assert_true(t1 - t0 < 3.0);
	assert_int_equal(ipam_tree_children(t), N);
	/* Every third released, then reused after the delay, lowest first. */
	for (int i = 0; i < N; i += 3) {
		snprintf(name, sizeof(name), "pod-%d", i);
		struct ipam_child_ref ref = { "t", "c", "n", name, AF_INET6 };
		bool existed;
		assert_int_equal(ipam_release(t, &ref, 10, &c, &existed, NULL,
					      NULL, 0),
				 0);
		assert_true(existed);
	}
	ipam_changes_reset(&c);
	struct ipam_child_ref ref = { "t", "c", "n", "late", AF_INET6 };
	assert_int_equal(ipam_allocate(t, &ref, false, 3, 10 + DELAY, &c, &r,
				       NULL, NULL, 0),
			 0);
	cidr_format(&r.address, a, sizeof(a));
	assert_string_equal(a, "fd00::2/64");
	/* One quarantine DEL per released address, then the child. */
	assert_int_equal(c.n, (N + 2) / 3 + 1);
	ipam_changes_free(&c);
	ipam_tree_free(t);
}

/* 40,000 children over 160 v4 nodes, as a big cluster would have. */
static void test_forty_thousand(void **state)
{
	(void)state;
	struct ipam_tree_config cfg = { 0 };
	struct ipam_tree *t = ipam_tree_new(&cfg);
	struct ipam_changes c = { 0 };
	char name[32], node[32], conduit[32];
	double t0 = seconds();
	for (int i = 0; i < 40000; i++) {
		/* 16 nodes of /24 fill a /20 conduit: 10 conduits. */
		snprintf(name, sizeof(name), "pod-%d", i);
		snprintf(node, sizeof(node), "node-%d", i % 160);
		snprintf(conduit, sizeof(conduit), "lb-%d", i % 160 % 10);
		struct ipam_child_ref ref = { "t", conduit, node, name,
					      AF_INET };
		assert_int_equal(ipam_allocate(t, &ref, false, 1, 1, &c, NULL,
					       NULL, NULL, 0),
				 0);
		ipam_changes_reset(&c);
	}
	double t1 = seconds();
	print_message("40,000 v4 children on 160 nodes: %.0f ms\n",
		      (t1 - t0) * 1e3);
	assert_true(t1 - t0 < 2.0);
	assert_int_equal(ipam_tree_children(t), 40000);
	ipam_changes_free(&c);
	ipam_tree_free(t);
}

/* Builds a tree with a bit of everything, persists it, restores it into a
 * new tree and checks both answer alike. */
static void test_restore_round_trip(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct ipam_family_spec fs = { .conduit_len = 24, .node_len = 28 };
	char err[512];
	bool existed;
	assert_int_equal(cidr_parse("10.9.0.0/16", &fs.prefix), 0);
	assert_int_equal(ipam_tree_set_trench(f->t, "own", AF_INET, &fs, err,
					      sizeof(err)),
			 0);
	for (int i = 0; i < 12; i++) {
		char p[64];
		snprintf(p, sizeof(p), "t%d/c%d/n%d/pod-%d", i % 2, i % 3,
			 i % 4, i);
		assert_int_equal(alloc_at(f, p, AF_INET, false, 1, 1000), 0);
		assert_int_equal(alloc_at(f, p, AF_INET6, false, 1, 1000), 0);
		snprintf(p, sizeof(p), "own/c%d/n%d/pod-%d", i % 2, i % 3, i);
		assert_int_equal(alloc_at(f, p, AF_INET, false, 1, 1000), 0);
	}
	assert_int_equal(alloc_at(f, "t0/c0/n0/proxy", AF_INET, true, 1, 1000),
			 0);
	assert_int_equal(alloc_at(f, "t0/c0/n0/proxy", AF_INET6, true, 1,
				  1000),
			 0);
	assert_int_equal(release_at(f, "t0/c0/n0/pod-0", AF_INET, 1000,
				    &existed),
			 0);
	assert_int_equal(release_at(f, "own/c0/n0/pod-0", AF_INET, 1000,
				    &existed),
			 0);
	assert_int_equal(store_count(&f->st, IPAM_ROW_QUARANTINE), 2);

	struct ipam_tree_config cfg = { .lease_ms = LEASE,
					.reuse_delay_ms = DELAY };
	struct ipam_tree *t2 = ipam_tree_new(&cfg);
	assert_int_equal(ipam_tree_set_trench(t2, "own", AF_INET, &fs, err,
					      sizeof(err)),
			 0);
	store_restore(&f->st, t2, 5);
	char *a = children_text(f->t, NULL), *b = children_text(t2, NULL);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "t0/c0/n0/proxy 4 169.255.0.1/24 bridge\n"));
	free(a);
	free(b);
	a = prefixes_text(f->t, NULL);
	b = prefixes_text(t2, NULL);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_int_equal(ipam_tree_children(t2), ipam_tree_children(f->t));

	/* The same answers: a repeat, a new child (the quarantined .2 is
	 * skipped in both), a new node. */
	struct ipam_changes c = { 0 };
	const struct ipam_child_ref refs[] = {
		{ "t0", "c0", "n0", "pod-6", AF_INET },
		{ "t0", "c0", "n0", "fresh", AF_INET },
		{ "own", "c0", "n0", "fresh", AF_INET },
		{ "t1", "c2", "n9", "fresh", AF_INET6 },
		{ "t0", "c0", "n0", "proxy", AF_INET6 },
	};
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		struct ipam_result r1, r2;
		assert_int_equal(ipam_allocate(f->t, &refs[i], false, 6, 1001,
					       &f->ch, &r1, NULL, NULL, 0),
				 0);
		assert_int_equal(ipam_allocate(t2, &refs[i], false, 6, 1001, &c,
					       &r2, NULL, NULL, 0),
				 0);
		assert_true(cidr_equal(&r1.address, &r2.address));
		assert_int_equal(r1.created, r2.created);
		assert_int_equal(f->ch.n, c.n);
		persist(f);
		ipam_changes_reset(&c);
	}
	/* Leases start afresh at the restore's now_ms, bridges have none. */
	assert_int_equal(ipam_next_expiry(t2), 5 + LEASE);
	/* The restored quarantine is kept until its wall time. */
	struct ipam_child_ref q = { "t0", "c0", "n0", "q", AF_INET };
	struct ipam_result r;
	assert_int_equal(ipam_allocate(t2, &q, false, 7, 1000 + DELAY, &c, &r,
				       NULL, NULL, 0),
				 0);
	assert_int_equal(c.n, 2); /* the quarantine DEL, the child */
	char s[CIDR_STRLEN];
	cidr_format(&r.address, s, sizeof(s));
	assert_string_equal(s, "169.255.0.2/24");
	ipam_changes_free(&c);
	ipam_tree_free(t2);
	fx_free(f);
}

/* One row given to a tree that holds t/c/n (169.255.0.0/24) with child a
 * (.2): restore must refuse it with code and a message holding needle,
 * and change nothing. */
static void expect_refused(const struct ipam_row *row, int code,
			   const char *needle)
{
	struct ipam_tree_config cfg = { 0 };
	struct ipam_tree *t = ipam_tree_new(&cfg);
	struct ipam_row base[4] = {
		{ .kind = IPAM_ROW_TRENCH, .family = AF_INET, .trench = "t",
		  .conduit_len = 20, .node_len = 24 },
		{ .kind = IPAM_ROW_CONDUIT, .family = AF_INET, .trench = "t",
		  .conduit = "c" },
		{ .kind = IPAM_ROW_NODE, .family = AF_INET, .trench = "t",
		  .conduit = "c", .node = "n" },
		{ .kind = IPAM_ROW_CHILD, .family = AF_INET, .trench = "t",
		  .conduit = "c", .node = "n", .name = "a" },
	};
	char err[512] = "";
	assert_int_equal(cidr_parse("169.255.0.0/16", &base[0].prefix), 0);
	assert_int_equal(cidr_parse("169.255.0.0/20", &base[1].prefix), 0);
	assert_int_equal(cidr_parse("169.255.0.0/24", &base[2].prefix), 0);
	assert_int_equal(cidr_parse("169.255.0.2/24", &base[3].prefix), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ipam_tree_restore(t, &base[i], 0, err,
						   sizeof(err)),
				 0);
	char *before = prefixes_text(t, NULL);
	int rc = ipam_tree_restore(t, row, 0, err, sizeof(err));
	if (rc != code || !strstr(err, needle))
		fail_msg("got %d \"%s\", want %d \"%s\"", rc, err, code,
			 needle);
	char *after = prefixes_text(t, NULL);
	assert_string_equal(before, after);
	assert_int_equal(ipam_tree_children(t), 1);
	free(before);
	free(after);
	ipam_tree_free(t);
}

static struct ipam_row row_of(enum ipam_row_kind kind, const char *path,
			      const char *prefix)
{
	static char buf[8][256];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, 256, "%s", path);
	struct ipam_row r = { .kind = kind, .family = AF_INET };
	char *save;
	r.trench = strtok_r(b, "/", &save);
	r.conduit = strtok_r(NULL, "/", &save);
	r.node = strtok_r(NULL, "/", &save);
	r.name = strtok_r(NULL, "/", &save);
	assert_int_equal(cidr_parse(prefix, &r.prefix), 0);
	if (strchr(prefix, ':'))
		r.family = AF_INET6;
	return r;
}

static void test_restore_refusals(void **state)
{
	(void)state;
	struct ipam_row r;

	/* Trench rows. */
	r = row_of(IPAM_ROW_TRENCH, "t", "169.255.0.0/16");
	r.conduit_len = 20;
	r.node_len = 24;
	expect_refused(&r, -EEXIST, "trench row t (IPv4, 169.255.0.0/16) "
				    "appears twice");
	r = row_of(IPAM_ROW_TRENCH, "u", "10.0.0.0/16");
	r.conduit_len = 20;
	r.node_len = 24;
	expect_refused(&r, -EINVAL,
		       "trench row u (IPv4, 10.0.0.0/16) holds the tree "
		       "10.0.0.0/16:20:24 but the configuration says "
		       "169.255.0.0/16:20:24; refusing to renumber");
	r = row_of(IPAM_ROW_TRENCH, "u", "169.255.0.0/16");
	r.conduit_len = 20;
	r.node_len = 25;
	expect_refused(&r, -EINVAL, "refusing to renumber");
	r.node_len = 24;
	r.del = true;
	expect_refused(&r, -EINVAL, "is a DEL");

	/* Conduit rows. */
	r = row_of(IPAM_ROW_CONDUIT, "t/c2", "10.0.0.0/20");
	expect_refused(&r, -ERANGE,
		       "conduit row t/c2 (IPv4, 10.0.0.0/20) lies outside its "
		       "parent's prefix 169.255.0.0/16");
	r = row_of(IPAM_ROW_CONDUIT, "t/c2", "169.255.0.0/21");
	expect_refused(&r, -EINVAL, "the conduit prefixes of 169.255.0.0/16 "
				    "are /20");
	r = row_of(IPAM_ROW_CONDUIT, "t/c2", "169.255.1.0/20");
	expect_refused(&r, -EINVAL, "host bits are set");
	r = row_of(IPAM_ROW_CONDUIT, "t/c2", "169.255.0.0/20");
	expect_refused(&r, -EEXIST, "conduit row t/c2 (IPv4, 169.255.0.0/20) "
				    "overlaps conduit c of the same trench");
	r = row_of(IPAM_ROW_CONDUIT, "t/c", "169.255.16.0/20");
	expect_refused(&r, -EEXIST, "appears twice");
	r = row_of(IPAM_ROW_CONDUIT, "x/c", "169.255.16.0/20");
	expect_refused(&r, -EINVAL, "has no trench row before it");
	r = row_of(IPAM_ROW_CONDUIT, "t/c", "fd00::/56");
	expect_refused(&r, -EINVAL, "has no trench row before it");

	/* Node rows. */
	r = row_of(IPAM_ROW_NODE, "t/c/n2", "169.255.16.0/24");
	expect_refused(&r, -ERANGE,
		       "node row t/c/n2 (IPv4, 169.255.16.0/24) lies outside "
		       "its parent's prefix 169.255.0.0/20");
	r = row_of(IPAM_ROW_NODE, "t/c/n2", "169.255.0.0/24");
	expect_refused(&r, -EEXIST, "overlaps node n of the same conduit");
	r = row_of(IPAM_ROW_NODE, "t/c9/n2", "169.255.0.0/24");
	expect_refused(&r, -EINVAL, "has no conduit row before it");

	/* Child rows. */
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.1.2/24");
	expect_refused(&r, -ERANGE,
		       "child row t/c/n/b (IPv4, 169.255.1.2/24) lies outside "
		       "its node prefix 169.255.0.0/24");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.2/24");
	expect_refused(&r, -EEXIST,
		       "child row t/c/n/b (IPv4, 169.255.0.2/24) shares its "
		       "address with child a");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.0/24");
	expect_refused(&r, -ERANGE, "holds the network address");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.255/24");
	expect_refused(&r, -ERANGE, "holds the last address");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.1/24");
	expect_refused(&r, -ERANGE, "holds the bridge address of "
				    "169.255.0.0/24 but is no bridge");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.5/24");
	r.bridge = true;
	expect_refused(&r, -ERANGE, "a bridge must hold the first host");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.5/32");
	expect_refused(&r, -EINVAL, "must carry its node prefix length /24");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/a", "169.255.0.9/24");
	expect_refused(&r, -EEXIST, "child row t/c/n/a (IPv4, 169.255.0.9/24) "
				    "appears twice");
	r = row_of(IPAM_ROW_CHILD, "t/c/m/b", "169.255.0.9/24");
	expect_refused(&r, -EINVAL, "has no node row before it");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b c", "169.255.0.9/24");
	expect_refused(&r, -EINVAL, "child row: child name \"b c\" holds a "
				    "space");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.9/24");
	r.family = 0;
	expect_refused(&r, -EINVAL, "family 0 is neither");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/b", "169.255.0.9/24");
	r.kind = (enum ipam_row_kind)9;
	expect_refused(&r, -EINVAL, "unknown kind 9");

	/* Quarantine rows. */
	r = row_of(IPAM_ROW_QUARANTINE, "t/c/n", "169.255.0.2/24");
	expect_refused(&r, -EEXIST,
		       "quarantine row t/c/n (IPv4, 169.255.0.2/24) shares "
		       "its address with child a");
	r = row_of(IPAM_ROW_QUARANTINE, "t/c/n", "169.255.0.1/24");
	expect_refused(&r, -ERANGE, "holds the bridge address");
	r = row_of(IPAM_ROW_QUARANTINE, "t/c/n", "169.255.9.3/24");
	expect_refused(&r, -ERANGE, "lies outside its node prefix");
}

static void test_restore_two_bridges_and_quarantines(void **state)
{
	(void)state;
	struct ipam_tree_config cfg = { 0 };
	struct ipam_tree *t = ipam_tree_new(&cfg);
	char err[512];
	struct ipam_row rows[] = {
		row_of(IPAM_ROW_TRENCH, "t", "169.255.0.0/16"),
		row_of(IPAM_ROW_CONDUIT, "t/c", "169.255.0.0/20"),
		row_of(IPAM_ROW_NODE, "t/c/n", "169.255.0.0/24"),
		row_of(IPAM_ROW_CHILD, "t/c/n/p1", "169.255.0.1/24"),
		row_of(IPAM_ROW_QUARANTINE, "t/c/n", "169.255.0.7/24"),
	};
	rows[0].conduit_len = 20;
	rows[0].node_len = 24;
	rows[3].bridge = true;
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(ipam_tree_restore(t, &rows[i], 0, err,
						   sizeof(err)),
				 0);
	struct ipam_row r = row_of(IPAM_ROW_CHILD, "t/c/n/p2",
				   "169.255.0.1/24");
	r.bridge = true;
	assert_int_equal(ipam_tree_restore(t, &r, 0, err, sizeof(err)),
			 -EEXIST);
	assert_string_equal(err, "child row t/c/n/p2 (IPv4, 169.255.0.1/24): "
				 "the bridge is child p1 already");
	assert_int_equal(ipam_tree_restore(t, &rows[4], 0, err, sizeof(err)),
			 -EEXIST);
	assert_string_equal(err, "quarantine row t/c/n (IPv4, 169.255.0.7/24) "
				 "shares its address with a quarantine entry");
	r = row_of(IPAM_ROW_CHILD, "t/c/n/p3", "169.255.0.7/24");
	assert_int_equal(ipam_tree_restore(t, &r, 0, err, sizeof(err)),
			 -EEXIST);
	char *p = prefixes_text(t, NULL);
	assert_non_null(strstr(p, "2 t/c/n 169.255.0.0/24 cap=254 used=1 "
				  "q=1\n"));
	free(p);
	ipam_tree_free(t);
}

static void test_walk_filters(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	assert_int_equal(alloc4(f, "b/c/n/z", 1), 0);
	assert_int_equal(alloc4(f, "b/c/n/y", 1), 0);
	assert_int_equal(alloc4(f, "a/c/n/x", 1), 0);
	assert_int_equal(alloc_at(f, "a/c/n/x", AF_INET6, false, 1, 1), 0);
	assert_int_equal(alloc4(f, "a/d/n/x", 1), 0);
	assert_int_equal(alloc4(f, "a/c/m/x", 1), 0);
	bool existed;
	/* A hole at .2 refilled by w: walks go by address, not by age. */
	assert_int_equal(release_at(f, "b/c/n/z", AF_INET, 1, &existed), 0);
	assert_int_equal(alloc_at(f, "b/c/n/v", AF_INET, false, 1, 1 + DELAY),
			 0);
	assert_int_equal(alloc_at(f, "b/c/n/w", AF_INET, false, 1, 1 + DELAY),
			 0);
	char *s = children_text(f->t, NULL);
	assert_string_equal(s, "a/c/n/x 4 169.255.0.2/24\n"
			       "a/c/m/x 4 169.255.1.2/24\n"
			       "a/d/n/x 4 169.255.16.2/24\n"
			       "a/c/n/x 6 fd00::2/64\n"
			       "b/c/n/v 4 169.255.0.2/24\n"
			       "b/c/n/y 4 169.255.0.3/24\n"
			       "b/c/n/w 4 169.255.0.4/24\n");
	free(s);
	struct ipam_filter flt = { .trench = "a", .conduit = "c" };
	s = children_text(f->t, &flt);
	assert_string_equal(s, "a/c/n/x 4 169.255.0.2/24\n"
			       "a/c/m/x 4 169.255.1.2/24\n"
			       "a/c/n/x 6 fd00::2/64\n");
	free(s);
	flt = (struct ipam_filter){ .node = "n", .family = AF_INET6 };
	s = children_text(f->t, &flt);
	assert_string_equal(s, "a/c/n/x 6 fd00::2/64\n");
	free(s);
	flt = (struct ipam_filter){ .trench = "", .node = "nothing" };
	s = children_text(f->t, &flt);
	assert_string_equal(s, "");
	free(s);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_fit_and_rows),
		cmocka_unit_test(test_reserved_offsets_and_bridge),
		cmocka_unit_test(test_idempotent_and_refresh),
		cmocka_unit_test(test_release_and_reuse_delay),
		cmocka_unit_test(test_purge_and_walk_figures),
		cmocka_unit_test(test_collect_spares_bridges),
		cmocka_unit_test(test_exhaustion_at_every_level),
		cmocka_unit_test(test_invalid_names_and_family),
		cmocka_unit_test(test_unknown_conduit),
		cmocka_unit_test(test_per_trench_override),
		cmocka_unit_test(test_prefix_cannot_fit),
		cmocka_unit_test(test_v6_hundred_thousand_in_one_node),
		cmocka_unit_test(test_forty_thousand),
		cmocka_unit_test(test_restore_round_trip),
		cmocka_unit_test(test_restore_refusals),
		cmocka_unit_test(test_restore_two_bridges_and_quarantines),
		cmocka_unit_test(test_walk_filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
