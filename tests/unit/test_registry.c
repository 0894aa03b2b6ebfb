/* Unit tests of the target registry (nsp/registry.c) in virtual time. */
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

/* The Makefile puts only lib/ and the generated code on the include path. */
#include "../../nsp/registry.h"

/* The configuration the tests run against: trench t1, conduit c1, streams
 * s1 (max-targets 4), web (4), big (100) and b0..b99 (100 each); services
 * web (max-instances 3), api (65536) and huge (100000, which counts as
 * 65536). */
static int lookup(void *ctx, Nsp__TargetType type, const Nsp__StreamRef *ref)
{
	int *calls = ctx;
	if (calls)
		(*calls)++;
	if (!strcmp(ref->trench, "tio"))
		return -EIO; /* a configuration that cannot answer */
	if (strcmp(ref->trench, "t1"))
		return -ENOENT;
	if (type == NSP__TARGET_TYPE__TUNNEL)
		return 1; /* the trench exists */
	if (type == NSP__TARGET_TYPE__INSTANCE) {
		if (!strcmp(ref->stream, "web"))
			return 3;
		if (!strcmp(ref->stream, "api"))
			return 65536;
		if (!strcmp(ref->stream, "huge"))
			return 100000;
		return -ENOENT;
	}
	if (strcmp(ref->conduit, "c1"))
		return -ENOENT;
	if (!strcmp(ref->stream, ""))
		return 1; /* the conduit exists, for FRONTENDs and PROXYs */
	if (!strcmp(ref->stream, "s1") || !strcmp(ref->stream, "web"))
		return 4;
	if (!strcmp(ref->stream, "big"))
		return 100;
	if (ref->stream[0] == 'b' && strlen(ref->stream) <= 3)
		return 100;
	return -ENOENT;
}

/* A target built on the stack: strings point into the builder. */
struct tb {
	Nsp__Target t;
	Nsp__StreamRef ref;
	char *ips[12];
	char ipbuf[12][64];
	Nsp__Target__ContextEntry ce[40];
	Nsp__Target__ContextEntry *cep[40];
};

static Nsp__Target *mk(struct tb *b, const char *stream, const char *ips)
{
	memset(b, 0, sizeof(*b));
	b->t = (Nsp__Target)NSP__TARGET__INIT;
	b->ref = (Nsp__StreamRef)NSP__STREAM_REF__INIT;
	b->ref.trench = "t1";
	b->ref.conduit = "c1";
	b->ref.stream = (char *)stream;
	b->t.stream = &b->ref;
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s", ips);
	char *save = NULL;
	for (char *ip = strtok_r(tmp, " ", &save); ip;
	     ip = strtok_r(NULL, " ", &save)) {
		snprintf(b->ipbuf[b->t.n_ips], sizeof(b->ipbuf[0]), "%s", ip);
		b->ips[b->t.n_ips] = b->ipbuf[b->t.n_ips];
		b->t.n_ips++;
	}
	b->t.ips = b->ips;
	b->t.context = b->cep;
	return &b->t;
}

static void ctx_add(struct tb *b, const char *key, const char *value)
{
	size_t i = b->t.n_context++;
	b->ce[i] = (Nsp__Target__ContextEntry)NSP__TARGET__CONTEXT_ENTRY__INIT;
	b->ce[i].key = (char *)key;
	b->ce[i].value = (char *)value;
	b->cep[i] = &b->ce[i];
}

struct fix {
	struct nsp_registry *r;
	int calls;
	char err[256];
	const Nsp__Target *stored;
	bool changed;
};

static struct fix *fix_new(uint64_t ttl, size_t log_size, uint64_t rev)
{
	struct fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	struct nsp_registry_config cfg = {
	    .ttl_ms = ttl,
	    .log_size = log_size,
	    .lookup = lookup,
	    .ctx = &f->calls,
	};
	f->r = nsp_registry_new(&cfg, rev);
	assert_non_null(f->r);
	return f;
}

static void fix_free(struct fix *f)
{
	nsp_registry_free(f->r);
	free(f);
}

static int reg(struct fix *f, const Nsp__Target *t, uint64_t now)
{
	f->err[0] = '\0';
	f->stored = NULL;
	return nsp_registry_register(f->r, t, now, &f->stored, &f->changed,
				     f->err, sizeof(f->err));
}

/* Registers stream/ips asking for identifier id; returns the identifier
 * given. */
static uint32_t reg_id(struct fix *f, const char *stream, const char *ips,
		       uint32_t id, uint64_t now)
{
	struct tb b;
	mk(&b, stream, ips)->identifier = id;
	int rc = reg(f, &b.t, now);
	if (rc)
		fail_msg("register %s: %d %s", ips, rc, f->err);
	return f->stored->identifier;
}

static bool unreg(struct fix *f, const char *stream, const char *ips)
{
	struct tb b;
	bool existed = false;
	assert_int_equal(nsp_registry_unregister(f->r, mk(&b, stream, ips),
						 &existed, f->err,
						 sizeof(f->err)),
			 0);
	return existed;
}

static void test_lowest_free_with_holes(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	assert_int_equal(reg_id(f, "big", "10.0.0.1/24", 0, 0), 1);
	assert_int_equal(reg_id(f, "big", "10.0.0.2/24", 0, 0), 2);
	assert_int_equal(reg_id(f, "big", "10.0.0.3/24", 0, 0), 3);
	assert_int_equal(reg_id(f, "big", "10.0.0.4/24", 0, 0), 4);
	assert_true(unreg(f, "big", "10.0.0.2/24"));
	assert_true(unreg(f, "big", "10.0.0.3/24"));
	/* Holes are filled lowest first, then the end grows. */
	assert_int_equal(reg_id(f, "big", "10.0.0.5/24", 0, 0), 2);
	assert_int_equal(reg_id(f, "big", "10.0.0.6/24", 0, 0), 3);
	assert_int_equal(reg_id(f, "big", "10.0.0.7/24", 0, 0), 5);
	/* Identifiers are per stream. */
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24", 0, 0), 1);
	/* An explicit free identifier far out is fine; the lowest free one
	 * is still 6 afterwards. */
	assert_int_equal(reg_id(f, "big", "10.0.0.8/24", 90, 0), 90);
	assert_int_equal(reg_id(f, "big", "10.0.0.9/24", 0, 0), 6);
	assert_int_equal(nsp_registry_count(f->r), 8);
	fix_free(f);
}

static void test_explicit_taken(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24 fd00::1/64", 0, 0), 1);
	uint64_t rev = nsp_registry_revision(f->r);
	mk(&b, "s1", "10.0.0.2/24")->identifier = 1;
	assert_int_equal(reg(f, &b.t, 0), -EEXIST);
	assert_non_null(strstr(f->err, "10.0.0.1/24,fd00::1/64"));
	assert_non_null(strstr(f->err, "identifier 1"));
	assert_int_equal(nsp_registry_revision(f->r), rev);
	assert_int_equal(nsp_registry_count(f->r), 1);
	/* The same identifier in another stream is free. */
	assert_int_equal(reg_id(f, "big", "10.0.0.2/24", 1, 0), 1);
	fix_free(f);
}

static void test_out_of_range_and_full(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	mk(&b, "s1", "10.0.0.9/24")->identifier = 5;
	assert_int_equal(reg(f, &b.t, 0), -ERANGE);
	assert_non_null(strstr(f->err, "identifier 5"));
	assert_non_null(strstr(f->err, "1..4"));
	mk(&b, "s1", "10.0.0.9/24")->identifier = UINT32_MAX;
	assert_int_equal(reg(f, &b.t, 0), -ERANGE);

	for (uint32_t i = 1; i <= 4; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.0.%u/24", i);
		assert_int_equal(reg_id(f, "s1", ip, 0, 0), i);
	}
	uint64_t rev = nsp_registry_revision(f->r);
	mk(&b, "s1", "10.0.0.9/24");
	assert_int_equal(reg(f, &b.t, 0), -ENOSPC);
	assert_non_null(strstr(f->err, "full"));
	assert_int_equal(nsp_registry_revision(f->r), rev);
	assert_int_equal(nsp_registry_count(f->r), 4);
	/* Refreshing a member of a full stream still works. */
	assert_int_equal(reg_id(f, "s1", "10.0.0.3/24", 0, 0), 3);
	assert_false(f->changed);
	assert_int_equal(reg_id(f, "s1", "10.0.0.3/24", 3, 0), 3);
	assert_false(f->changed);
	fix_free(f);
}

static void test_reregister_keeps_identifier(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct nsp_event ev[8];
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24", 0, 0), 1);
	assert_int_equal(reg_id(f, "s1", "10.0.0.2/24", 0, 0), 2);
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24", 0, 10), 1);
	assert_false(f->changed);
	/* Moving to a free identifier is an update and frees the old one. */
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24", 3, 20), 3);
	assert_true(f->changed);
	assert_int_equal(nsp_registry_revision(f->r), 3);
	assert_int_equal(nsp_registry_events(f->r, 2, ev, 8), 1);
	assert_int_equal(ev[0].old->identifier, 1);
	assert_int_equal(ev[0].new_->identifier, 3);
	assert_int_equal(reg_id(f, "s1", "10.0.0.3/24", 0, 30), 1);
	/* Moving onto a taken one is refused and changes nothing. */
	struct tb b;
	mk(&b, "s1", "10.0.0.1/24")->identifier = 2;
	assert_int_equal(reg(f, &b.t, 40), -EEXIST);
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24", 0, 50), 3);
	assert_false(f->changed);
	fix_free(f);
}

static void test_refresh_without_change(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	struct nsp_event ev[4];

	mk(&b, "s1", "fd00::5/64 10.0.0.5/24");
	ctx_add(&b, "node", "worker-1");
	ctx_add(&b, "app", "web");
	assert_int_equal(reg(f, &b.t, 0), 0);
	assert_true(f->changed);
	assert_int_equal(nsp_registry_revision(f->r), 1);

	/* The same content told differently: other ip order and text, other
	 * context order, explicit defaults. */
	mk(&b, "s1", "10.0.0.5/24 fd00:0:0::5/64");
	ctx_add(&b, "app", "web");
	ctx_add(&b, "node", "worker-1");
	b.t.type = NSP__TARGET_TYPE__TARGET;
	b.t.status = NSP__TARGET_STATUS__ENABLED;
	b.t.identifier = 1;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(reg(f, &b.t, 100 + i), 0);
		assert_false(f->changed);
	}
	assert_int_equal(nsp_registry_revision(f->r), 1);
	assert_int_equal(nsp_registry_events(f->r, 1, ev, 4), 0);
	assert_int_equal(nsp_registry_count(f->r), 1);

	/* A context change is a change. */
	b.ce[0].value = "api";
	assert_int_equal(reg(f, &b.t, 200), 0);
	assert_true(f->changed);
	assert_int_equal(nsp_registry_revision(f->r), 2);
	fix_free(f);
}

static void test_stored_is_normalised(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	mk(&b, "s1", "fd00:0::1/64 192.168.1.1/16 10.0.0.5/24");
	ctx_add(&b, "z", "1");
	ctx_add(&b, "a", "2");
	assert_int_equal(reg(f, &b.t, 0), 0);
	const Nsp__Target *s = f->stored;
	assert_int_equal(s->n_ips, 3);
	assert_string_equal(s->ips[0], "10.0.0.5/24");
	assert_string_equal(s->ips[1], "192.168.1.1/16");
	assert_string_equal(s->ips[2], "fd00::1/64");
	assert_int_equal(s->type, NSP__TARGET_TYPE__TARGET);
	assert_int_equal(s->status, NSP__TARGET_STATUS__ENABLED);
	assert_int_equal(s->identifier, 1);
	assert_string_equal(s->context[0]->key, "a");
	assert_string_equal(s->context[1]->key, "z");
	assert_string_equal(s->stream->stream, "s1");

	/* The copy is a valid message: it packs and unpacks to itself. */
	size_t len = nsp__target__get_packed_size(s);
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	assert_int_equal(nsp__target__pack(s, buf), len);
	Nsp__Target *u = nsp__target__unpack(NULL, len, buf);
	assert_non_null(u);
	assert_string_equal(u->ips[2], "fd00::1/64");
	assert_string_equal(u->context[1]->value, "1");
	nsp__target__free_unpacked(u, NULL);
	free(buf);

	/* The caller's message is untouched. */
	assert_string_equal(b.t.ips[0], "fd00:0::1/64");
	assert_int_equal(b.t.identifier, 0);
	fix_free(f);
}

static void test_status_change_is_update(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	struct nsp_event ev[4];
	mk(&b, "s1", "10.0.0.1/24");
	assert_int_equal(reg(f, &b.t, 0), 0);
	b.t.status = NSP__TARGET_STATUS__DISABLED;
	assert_int_equal(reg(f, &b.t, 1), 0);
	assert_true(f->changed);
	assert_int_equal(f->stored->status, NSP__TARGET_STATUS__DISABLED);
	assert_int_equal(nsp_registry_events(f->r, 0, ev, 4), 2);
	assert_null(ev[0].old);
	assert_int_equal(ev[0].revision, 1);
	assert_int_equal(ev[1].revision, 2);
	assert_int_equal(ev[1].old->status, NSP__TARGET_STATUS__ENABLED);
	assert_int_equal(ev[1].new_->status, NSP__TARGET_STATUS__DISABLED);
	assert_int_equal(ev[1].new_->identifier, 1);
	fix_free(f);
}

static void test_expiry(void **state)
{
	(void)state;
	struct fix *f = fix_new(1000, 0, 0);
	struct nsp_event ev[8];
	assert_int_equal(nsp_registry_next_expiry(f->r), UINT64_MAX);
	reg_id(f, "s1", "10.0.0.1/24", 0, 100);
	reg_id(f, "s1", "10.0.0.2/24", 0, 200);
	reg_id(f, "s1", "10.0.0.3/24", 0, 300);
	assert_int_equal(nsp_registry_next_expiry(f->r), 1100);

	/* A refresh (even one that changes nothing) restarts the ttl. */
	reg_id(f, "s1", "10.0.0.1/24", 0, 600);
	assert_false(f->changed);
	assert_int_equal(nsp_registry_next_expiry(f->r), 1200);

	assert_int_equal(nsp_registry_expire(f->r, 1199, SIZE_MAX), 0);
	assert_int_equal(nsp_registry_expire(f->r, 1200, SIZE_MAX), 1);
	assert_int_equal(nsp_registry_count(f->r), 2);
	assert_int_equal(nsp_registry_next_expiry(f->r), 1300);
	assert_int_equal(nsp_registry_events(f->r, 3, ev, 8), 1);
	assert_int_equal(ev[0].revision, 4);
	assert_null(ev[0].new_);
	assert_string_equal(ev[0].old->ips[0], "10.0.0.2/24");

	assert_int_equal(nsp_registry_expire(f->r, 1599, SIZE_MAX), 1);
	assert_int_equal(nsp_registry_next_expiry(f->r), 1600);
	assert_int_equal(nsp_registry_expire(f->r, 1600, SIZE_MAX), 1);
	assert_int_equal(nsp_registry_count(f->r), 0);
	assert_int_equal(nsp_registry_next_expiry(f->r), UINT64_MAX);
	assert_int_equal(nsp_registry_revision(f->r), 6);
	assert_int_equal(nsp_registry_expire(f->r, 99999, SIZE_MAX), 0);
	/* The expired identifiers are free again. */
	assert_int_equal(reg_id(f, "s1", "10.0.0.9/24", 0, 2000), 1);
	fix_free(f);
}

static void test_clock_step_back(void **state)
{
	(void)state;
	struct fix *f = fix_new(1000, 0, 0);
	reg_id(f, "s1", "10.0.0.1/24", 0, 5000);
	reg_id(f, "s1", "10.0.0.2/24", 0, 4000);
	/* The second deadline is raised to keep the list ordered. */
	assert_int_equal(nsp_registry_next_expiry(f->r), 6000);
	assert_int_equal(nsp_registry_expire(f->r, 6000, SIZE_MAX), 2);
	fix_free(f);
}

static void test_event_log(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 4, 0);
	struct nsp_event ev[8];
	assert_int_equal(nsp_registry_events(f->r, 0, ev, 8), 0);
	for (int i = 1; i <= 6; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.0.%d/24", i);
		reg_id(f, "big", ip, 0, 0);
	}
	assert_int_equal(nsp_registry_revision(f->r), 6);
	/* The ring of 4 holds revisions 3..6. */
	assert_int_equal(nsp_registry_events(f->r, 0, ev, 8), -ERANGE);
	assert_int_equal(nsp_registry_events(f->r, 1, ev, 8), -ERANGE);
	assert_int_equal(nsp_registry_events(f->r, 2, ev, 8), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ev[i].revision, 3 + i);
		assert_null(ev[i].old);
		assert_int_equal(ev[i].new_->identifier, 3 + i);
	}
	assert_int_equal(nsp_registry_events(f->r, 2, ev, 2), 2);
	assert_int_equal(ev[1].revision, 4);
	assert_int_equal(nsp_registry_events(f->r, 5, ev, 8), 1);
	assert_int_equal(nsp_registry_events(f->r, 6, ev, 8), 0);
	assert_int_equal(nsp_registry_events(f->r, 60, ev, 8), 0);

	/* Events of a target that has gone stay readable in the log. */
	assert_true(unreg(f, "big", "10.0.0.6/24"));
	assert_false(unreg(f, "big", "10.0.0.6/24"));
	assert_int_equal(nsp_registry_events(f->r, 6, ev, 8), 1);
	assert_string_equal(ev[0].old->ips[0], "10.0.0.6/24");
	assert_null(ev[0].new_);
	assert_int_equal(nsp_registry_revision(f->r), 7);
	fix_free(f);

	/* A registry continuing from a stored revision cannot replay what
	 * came before it. */
	f = fix_new(0, 4, 10);
	assert_int_equal(nsp_registry_revision(f->r), 10);
	assert_int_equal(nsp_registry_events(f->r, 5, ev, 8), -ERANGE);
	assert_int_equal(nsp_registry_events(f->r, 10, ev, 8), 0);
	reg_id(f, "s1", "10.0.0.1/24", 0, 0);
	assert_int_equal(nsp_registry_events(f->r, 10, ev, 8), 1);
	assert_int_equal(ev[0].revision, 11);
	assert_int_equal(nsp_registry_events(f->r, 9, ev, 8), -ERANGE);
	fix_free(f);
}

static void test_filter_and_view(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	struct nsp_event ev[8];
	Nsp__TargetEvent__Kind kind;
	const Nsp__Target *t;

	Nsp__StreamRef fref = NSP__STREAM_REF__INIT;
	Nsp__TargetFilter enabled = NSP__TARGET_FILTER__INIT;
	enabled.status = NSP__TARGET_STATUS__ENABLED;
	Nsp__TargetFilter other = NSP__TARGET_FILTER__INIT;
	fref.stream = "big";
	other.stream = &fref;
	Nsp__TargetFilter frontends = NSP__TARGET_FILTER__INIT;
	frontends.type = NSP__TARGET_TYPE__FRONTEND;

	mk(&b, "s1", "10.0.0.1/24");
	assert_int_equal(reg(f, &b.t, 0), 0); /* 1: added */
	b.t.status = NSP__TARGET_STATUS__DISABLED;
	assert_int_equal(reg(f, &b.t, 0), 0); /* 2: enabled -> disabled */
	ctx_add(&b, "k", "v");
	assert_int_equal(reg(f, &b.t, 0), 0); /* 3: disabled, new context */
	b.t.status = NSP__TARGET_STATUS__ENABLED;
	assert_int_equal(reg(f, &b.t, 0), 0); /* 4: disabled -> enabled */
	ctx_add(&b, "k2", "v");
	assert_int_equal(reg(f, &b.t, 0), 0); /* 5: enabled, new context */
	assert_true(unreg(f, "s1", "10.0.0.1/24")); /* 6: removed */
	assert_int_equal(nsp_registry_events(f->r, 0, ev, 8), 6);

	static const struct {
		int kind; /* -1: not seen */
		bool from_old;
	} want[6] = {
	    {NSP__TARGET_EVENT__KIND__ADDED, false},
	    {NSP__TARGET_EVENT__KIND__REMOVED, true},
	    {-1, false},
	    {NSP__TARGET_EVENT__KIND__ADDED, false},
	    {NSP__TARGET_EVENT__KIND__UPDATED, false},
	    {NSP__TARGET_EVENT__KIND__REMOVED, true},
	};
	for (int i = 0; i < 6; i++) {
		bool seen = nsp_event_view(&enabled, &ev[i], &kind, &t);
		assert_int_equal(seen, want[i].kind >= 0);
		if (!seen)
			continue;
		assert_int_equal(kind, want[i].kind);
		assert_ptr_equal(t, want[i].from_old ? ev[i].old : ev[i].new_);
	}
	/* Without a filter everything is seen as it happened. */
	assert_true(nsp_event_view(NULL, &ev[1], &kind, &t));
	assert_int_equal(kind, NSP__TARGET_EVENT__KIND__UPDATED);
	assert_true(nsp_event_view(NULL, &ev[5], &kind, &t));
	assert_int_equal(kind, NSP__TARGET_EVENT__KIND__REMOVED);
	/* Another stream or type sees nothing. */
	for (int i = 0; i < 6; i++) {
		assert_false(nsp_event_view(&other, &ev[i], &kind, &t));
		assert_false(nsp_event_view(&frontends, &ev[i], &kind, &t));
	}

	/* nsp_filter_match field by field. */
	mk(&b, "s1", "10.0.0.1/24");
	assert_true(nsp_filter_match(NULL, &b.t));
	Nsp__TargetFilter any = NSP__TARGET_FILTER__INIT;
	Nsp__StreamRef empty = NSP__STREAM_REF__INIT;
	any.stream = &empty;
	assert_true(nsp_filter_match(&any, &b.t));
	fref.stream = "s1";
	fref.trench = "t1";
	assert_true(nsp_filter_match(&other, &b.t));
	fref.conduit = "c2";
	assert_false(nsp_filter_match(&other, &b.t));
	any.type = NSP__TARGET_TYPE__TARGET; /* type 0 in t means TARGET */
	assert_true(nsp_filter_match(&any, &b.t));
	fix_free(f);
}

static void test_frontend(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	mk(&b, "", "10.0.0.1/24")->type = NSP__TARGET_TYPE__FRONTEND;
	assert_int_equal(reg(f, &b.t, 0), 0);
	assert_int_equal(f->stored->identifier, 0);
	assert_int_equal(f->stored->type, NSP__TARGET_TYPE__FRONTEND);
	/* A TARGET with the same ips is another key. */
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24", 0, 0), 1);
	assert_int_equal(nsp_registry_count(f->r), 2);
	b.ref.conduit = "nope";
	assert_int_equal(reg(f, &b.t, 0), -ENOENT);
	assert_non_null(strstr(f->err, "nope"));
	fix_free(f);
}

static void list_fn(const Nsp__Target *t, void *data)
{
	const Nsp__Target **out = data;
	while (*out)
		out++;
	*out = t;
}

/* A node's proxy registers like an LB: keyed by trench and conduit, with
 * no stream and no identifier; its node name is in its context. It must
 * stay apart from FRONTENDs and TARGETs wherever a type is asked for,
 * since strait-lb watches TARGETs and the proxies watch FRONTENDs. */
static void test_proxy(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb p, fe;
	struct nsp_event ev[4];
	Nsp__TargetEvent__Kind kind;
	const Nsp__Target *t;

	mk(&fe, "", "169.255.1.1/24")->type = NSP__TARGET_TYPE__FRONTEND;
	assert_int_equal(reg(f, &fe.t, 0), 0); /* 1 */
	mk(&p, "", "169.255.1.1/24 fd00:169:255:1::1/64")->type =
	    NSP__TARGET_TYPE__PROXY;
	ctx_add(&p, "node", "node-1");
	assert_int_equal(reg(f, &p.t, 0), 0); /* 2 */
	assert_true(f->changed);
	assert_int_equal(f->stored->type, NSP__TARGET_TYPE__PROXY);
	assert_int_equal(f->stored->identifier, 0);
	assert_string_equal(f->stored->stream->stream, "");
	assert_string_equal(f->stored->context[0]->value, "node-1");
	reg_id(f, "s1", "169.255.1.1/24", 0, 0); /* 3 */
	/* Three keys: a type is part of the key. */
	assert_int_equal(nsp_registry_count(f->r), 3);
	char key[NSP_TARGET_KEY_MAX];
	assert_int_equal(nsp_target_key(&p.t, key, sizeof(key)), 0);
	assert_string_equal(key,
			    "3|t1|c1||169.255.1.1/24,fd00:169:255:1::1/64");
	/* A refresh is no event. */
	assert_int_equal(reg(f, &p.t, 5), 0);
	assert_false(f->changed);
	assert_int_equal(nsp_registry_revision(f->r), 3);

	/* Listed, and filtered by type. */
	const Nsp__Target *all[4] = {0};
	nsp_registry_foreach(f->r, list_fn, all);
	assert_non_null(all[2]);
	assert_null(all[3]);
	Nsp__TargetFilter by = NSP__TARGET_FILTER__INIT;
	int found[4] = {0};
	for (int type = 0; type <= NSP__TARGET_TYPE__PROXY; type++) {
		by.type = (Nsp__TargetType)type;
		for (int i = 0; i < 3; i++)
			found[type] += nsp_filter_match(&by, all[i]);
	}
	assert_int_equal(found[NSP__TARGET_TYPE__ANY_TYPE], 3);
	assert_int_equal(found[NSP__TARGET_TYPE__TARGET], 1);
	assert_int_equal(found[NSP__TARGET_TYPE__FRONTEND], 1);
	assert_int_equal(found[NSP__TARGET_TYPE__PROXY], 1);
	by.type = NSP__TARGET_TYPE__PROXY;
	assert_true(nsp_filter_match(&by, f->stored));

	/* A watch on FRONTENDs (or TARGETs) never sees the proxy come or
	 * go; a watch on PROXYs sees only it. */
	bool existed = false;
	assert_int_equal(nsp_registry_unregister(f->r, &p.t, &existed, f->err,
						 sizeof(f->err)),
			 0); /* 4 */
	assert_true(existed);
	assert_int_equal(nsp_registry_events(f->r, 0, ev, 4), 4);
	Nsp__TargetFilter fes = NSP__TARGET_FILTER__INIT;
	fes.type = NSP__TARGET_TYPE__FRONTEND;
	Nsp__TargetFilter tgs = NSP__TARGET_FILTER__INIT;
	tgs.type = NSP__TARGET_TYPE__TARGET;
	for (int i = 0; i < 4; i++) {
		bool is_proxy = i == 1 || i == 3;
		assert_int_equal(nsp_event_view(&fes, &ev[i], &kind, &t),
				 i == 0);
		assert_int_equal(nsp_event_view(&tgs, &ev[i], &kind, &t),
				 i == 2);
		assert_int_equal(nsp_event_view(&by, &ev[i], &kind, &t),
				 is_proxy);
		if (is_proxy)
			assert_int_equal(kind,
					 i == 1 ? NSP__TARGET_EVENT__KIND__ADDED
						: NSP__TARGET_EVENT__KIND__REMOVED);
	}

	/* Its conduit must exist, as for a FRONTEND. */
	p.ref.conduit = "nope";
	assert_int_equal(reg(f, &p.t, 0), -ENOENT);
	assert_non_null(strstr(f->err, "conduit \"nope\""));
	/* And it is restored from the store like the others. */
	p.ref.conduit = "c1";
	assert_int_equal(
	    nsp_registry_restore(f->r, &p.t, 0, f->err, sizeof(f->err)), 0);
	assert_int_equal(nsp_registry_count(f->r), 3);
	fix_free(f);
}

/* A TUNNEL (a node's strait-tun) or an INSTANCE of service (stream field),
 * in trench t1 with no conduit, on node. */
static Nsp__Target *mk_tun(struct tb *b, const char *service, const char *ips,
			   const char *node)
{
	mk(b, service ? service : "", ips);
	b->ref.conduit = "";
	b->t.type = service ? NSP__TARGET_TYPE__INSTANCE
			    : NSP__TARGET_TYPE__TUNNEL;
	if (node)
		ctx_add(b, "node", node);
	return &b->t;
}

/* Registers an instance of service asking for identifier id; returns the
 * identifier given. */
static uint32_t reg_inst(struct fix *f, const char *service, const char *ips,
			 uint32_t id, uint64_t now)
{
	struct tb b;
	mk_tun(&b, service, ips, "n1")->identifier = id;
	int rc = reg(f, &b.t, now);
	if (rc)
		fail_msg("register instance %s: %d %s", ips, rc, f->err);
	return f->stored->identifier;
}

/* A node's strait-tun registers in a whole trench, with its underlay
 * addresses and node=NAME, port=N: no conduit, no stream, no identifier. */
static void test_tunnel(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	char key[NSP_TARGET_KEY_MAX];

	mk_tun(&b, NULL, "192.0.2.1/32 2001:db8::1/128", "node-1");
	ctx_add(&b, "port", "7779");
	assert_int_equal(reg(f, &b.t, 0), 0);
	assert_true(f->changed);
	assert_int_equal(f->stored->type, NSP__TARGET_TYPE__TUNNEL);
	assert_int_equal(f->stored->identifier, 0);
	assert_string_equal(f->stored->stream->trench, "t1");
	assert_string_equal(f->stored->stream->conduit, "");
	assert_string_equal(f->stored->stream->stream, "");
	assert_string_equal(f->stored->context[0]->key, "node");
	assert_string_equal(f->stored->context[1]->value, "7779");
	assert_int_equal(nsp_target_key(&b.t, key, sizeof(key)), 0);
	assert_string_equal(key, "4|t1|||192.0.2.1/32,2001:db8::1/128");
	/* A refresh changes nothing; the port may be left out. */
	assert_int_equal(reg(f, &b.t, 5), 0);
	assert_false(f->changed);
	mk_tun(&b, NULL, "192.0.2.2/32", "node-2");
	assert_int_equal(reg(f, &b.t, 5), 0);
	assert_int_equal(nsp_registry_count(f->r), 2);

	/* Its trench must be in the configuration. */
	mk_tun(&b, NULL, "192.0.2.3/32", "node-3");
	b.ref.trench = "t9";
	assert_int_equal(reg(f, &b.t, 0), -ENOENT);
	assert_string_equal(f->err, "trench t9 is not in the configuration");
	b.ref.trench = "tio";
	assert_int_equal(reg(f, &b.t, 0), -EIO);
	assert_non_null(strstr(f->err, "looking up trench tio"));
	assert_int_equal(nsp_registry_count(f->r), 2);

	/* Unregistered by its key like any other. */
	bool existed = false;
	mk_tun(&b, NULL, "192.0.2.2/32", NULL);
	assert_int_equal(nsp_registry_unregister(f->r, &b.t, &existed, f->err,
						 sizeof(f->err)),
			 0);
	assert_true(existed);
	assert_int_equal(nsp_registry_count(f->r), 1);
	fix_free(f);
}

/* INSTANCEs take identifiers 1..max-instances per (trench, service),
 * allocated exactly as a stream's TARGETs are. */
static void test_instance_identifiers(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	char key[NSP_TARGET_KEY_MAX];

	assert_int_equal(reg_inst(f, "web", "10.0.0.1/32", 0, 0), 1);
	assert_int_equal(f->stored->type, NSP__TARGET_TYPE__INSTANCE);
	assert_string_equal(f->stored->stream->stream, "web");
	assert_string_equal(f->stored->stream->conduit, "");
	assert_int_equal(nsp_target_key(f->stored, key, sizeof(key)), 0);
	assert_string_equal(key, "5|t1||web|10.0.0.1/32");
	assert_int_equal(reg_inst(f, "web", "10.0.0.2/32", 0, 0), 2);
	assert_int_equal(reg_inst(f, "web", "10.0.0.3/32 fd00::3/128", 0, 0),
			 3);
	/* A refresh keeps its identifier and changes nothing. */
	assert_int_equal(reg_inst(f, "web", "10.0.0.2/32", 0, 10), 2);
	assert_false(f->changed);
	assert_int_equal(nsp_registry_revision(f->r), 3);

	/* Full, out of range, taken: named after the service. */
	uint64_t rev = nsp_registry_revision(f->r);
	mk_tun(&b, "web", "10.0.0.4/32", "n2");
	assert_int_equal(reg(f, &b.t, 20), -ENOSPC);
	assert_string_equal(f->err, "service t1/web is full: all 3 "
				    "identifiers are taken");
	b.t.identifier = 4;
	assert_int_equal(reg(f, &b.t, 20), -ERANGE);
	assert_string_equal(f->err, "identifier 4 is out of range 1..3 of "
				    "service t1/web");
	b.t.identifier = 2;
	assert_int_equal(reg(f, &b.t, 20), -EEXIST);
	assert_string_equal(f->err, "identifier 2 of service t1/web is held "
				    "by instance 10.0.0.2/32");
	assert_int_equal(nsp_registry_revision(f->r), rev);
	assert_int_equal(nsp_registry_count(f->r), 3);

	/* A freed identifier is the lowest free again. */
	bool existed = false;
	mk_tun(&b, "web", "10.0.0.2/32", NULL);
	assert_int_equal(nsp_registry_unregister(f->r, &b.t, &existed, f->err,
						 sizeof(f->err)),
			 0);
	assert_true(existed);
	assert_int_equal(reg_inst(f, "web", "10.0.0.5/32", 0, 30), 2);

	/* Identifiers are per service: another service, a stream of the
	 * same name (t1/c1/web) and the same ips as another type are all
	 * apart. */
	assert_int_equal(reg_inst(f, "api", "10.0.0.1/32", 0, 40), 1);
	assert_int_equal(reg_id(f, "web", "10.0.0.1/32", 0, 40), 1);
	assert_int_equal(reg_id(f, "web", "10.0.0.9/32", 0, 40), 2);
	assert_int_equal(reg_inst(f, "api", "10.0.0.7/32", 65536, 40), 65536);
	assert_int_equal(reg_inst(f, "api", "10.0.0.8/32", 0, 40), 2);
	/* max-instances above the registry's limit counts as the limit. */
	mk_tun(&b, "huge", "10.0.1.1/32", "n1")->identifier = 65537;
	assert_int_equal(reg(f, &b.t, 40), -ERANGE);
	assert_non_null(strstr(f->err, "1..65536 of service t1/huge"));

	/* An unknown service, in the words operators read. */
	mk_tun(&b, "nope", "10.0.2.1/32", "n1");
	assert_int_equal(reg(f, &b.t, 40), -ENOENT);
	assert_string_equal(f->err,
			    "service t1/nope is not in the configuration");
	b.ref.trench = "t9";
	b.ref.stream = "web";
	assert_int_equal(reg(f, &b.t, 40), -ENOENT);
	assert_string_equal(f->err,
			    "service t9/web is not in the configuration");
	fix_free(f);
}

/* Filters select the new types by type, trench and (for INSTANCEs) the
 * service in the stream field; an empty field matches anything, so a
 * filter with no conduit sees them, and one naming a conduit does not. */
static void test_tunnel_filters(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	struct nsp_event ev[8];
	Nsp__TargetEvent__Kind kind;
	const Nsp__Target *t;

	mk_tun(&b, NULL, "192.0.2.1/32", "n1");
	assert_int_equal(reg(f, &b.t, 0), 0);	 /* 1: tunnel */
	reg_inst(f, "web", "10.0.0.1/32", 0, 0); /* 2: web instance */
	reg_inst(f, "api", "10.0.0.2/32", 0, 0); /* 3: api instance */
	reg_id(f, "web", "10.0.0.3/24", 0, 0);	 /* 4: TARGET in stream web */
	mk(&b, "", "10.0.0.4/24")->type = NSP__TARGET_TYPE__PROXY;
	assert_int_equal(reg(f, &b.t, 0), 0); /* 5: proxy */
	mk_tun(&b, "web", "10.0.0.1/32", NULL);
	bool existed;
	assert_int_equal(nsp_registry_unregister(f->r, &b.t, &existed, f->err,
						 sizeof(f->err)),
			 0); /* 6: web instance removed */
	assert_int_equal(nsp_registry_events(f->r, 0, ev, 8), 6);

	Nsp__StreamRef tref = NSP__STREAM_REF__INIT;
	tref.trench = "t1";
	Nsp__TargetFilter tunnels = NSP__TARGET_FILTER__INIT;
	tunnels.type = NSP__TARGET_TYPE__TUNNEL;
	tunnels.stream = &tref;
	Nsp__StreamRef wref = NSP__STREAM_REF__INIT;
	wref.trench = "t1";
	wref.stream = "web";
	Nsp__TargetFilter web = NSP__TARGET_FILTER__INIT;
	web.type = NSP__TARGET_TYPE__INSTANCE;
	web.stream = &wref;
	Nsp__TargetFilter instances = NSP__TARGET_FILTER__INIT;
	instances.type = NSP__TARGET_TYPE__INSTANCE;
	instances.stream = &tref;
	Nsp__StreamRef cref = NSP__STREAM_REF__INIT;
	cref.conduit = "c1";
	Nsp__TargetFilter in_c1 = NSP__TARGET_FILTER__INIT;
	in_c1.type = NSP__TARGET_TYPE__INSTANCE;
	in_c1.stream = &cref;
	Nsp__StreamRef other = NSP__STREAM_REF__INIT;
	other.trench = "t2";
	Nsp__TargetFilter tunnels_t2 = NSP__TARGET_FILTER__INIT;
	tunnels_t2.type = NSP__TARGET_TYPE__TUNNEL;
	tunnels_t2.stream = &other;

	static const struct {
		bool tunnels, web, instances;
	} want[6] = {
	    {true, false, false}, {false, true, true},	{false, false, true},
	    {false, false, false}, {false, false, false}, {false, true, true},
	};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(nsp_event_view(&tunnels, &ev[i], &kind, &t),
				 want[i].tunnels);
		assert_int_equal(nsp_event_view(&web, &ev[i], &kind, &t),
				 want[i].web);
		assert_int_equal(nsp_event_view(&instances, &ev[i], &kind, &t),
				 want[i].instances);
		assert_false(nsp_event_view(&in_c1, &ev[i], &kind, &t));
		assert_false(nsp_event_view(&tunnels_t2, &ev[i], &kind, &t));
	}
	assert_true(nsp_event_view(&web, &ev[5], &kind, &t));
	assert_int_equal(kind, NSP__TARGET_EVENT__KIND__REMOVED);
	assert_ptr_equal(t, ev[5].old);
	fix_free(f);
}

/* INSTANCEs and TUNNELs come back from the store as TARGETs do: an
 * INSTANCE keeps its stored identifier, which a new one cannot take. */
static void test_instance_restore(void **state)
{
	(void)state;
	struct fix *f = fix_new(1000, 0, 7);
	struct tb b;

	mk_tun(&b, "web", "10.0.0.1/32", "n1")->identifier = 2;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)), 0);
	mk_tun(&b, "gone", "10.0.0.9/32", "n1")->identifier = 1;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)), 0);
	mk_tun(&b, NULL, "192.0.2.1/32", "n1");
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)), 0);
	mk_tun(&b, "web", "10.0.0.3/32", "n1")->identifier = 0;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)),
	    -EINVAL);
	mk_tun(&b, "web", "10.0.0.3/32", "n1")->identifier = 2;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)),
	    -EEXIST);
	assert_int_equal(f->calls, 0);
	assert_int_equal(nsp_registry_count(f->r), 3);
	assert_int_equal(reg_inst(f, "web", "10.0.0.4/32", 0, 10), 1);
	assert_int_equal(reg_inst(f, "web", "10.0.0.5/32", 0, 10), 3);
	assert_int_equal(reg_inst(f, "web", "10.0.0.1/32", 0, 10), 2);
	assert_false(f->changed);
	/* The instance of a service that has left the configuration cannot
	 * be refreshed; it expires with its lease. */
	mk_tun(&b, "gone", "10.0.0.9/32", "n1");
	assert_int_equal(reg(f, &b.t, 10), -ENOENT);
	assert_int_equal(nsp_registry_expire(f->r, 1000, SIZE_MAX), 2);
	fix_free(f);
}

static void test_unknown_stream(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	mk(&b, "s9", "10.0.0.1/24");
	assert_int_equal(reg(f, &b.t, 0), -ENOENT);
	assert_non_null(strstr(f->err, "t1/c1/s9"));
	b.ref.trench = "t9";
	b.ref.stream = "s1";
	assert_int_equal(reg(f, &b.t, 0), -ENOENT);
	b.ref.trench = "tio";
	assert_int_equal(reg(f, &b.t, 0), -EIO);
	assert_non_null(strstr(f->err, "tio/c1/s1"));
	assert_int_equal(nsp_registry_count(f->r), 0);
	assert_int_equal(nsp_registry_revision(f->r), 0);
	fix_free(f);
}

static void test_key(void **state)
{
	(void)state;
	struct tb a, b;
	char ka[NSP_TARGET_KEY_MAX], kb[NSP_TARGET_KEY_MAX];
	mk(&a, "s1", "fd00:0::1/64 10.0.0.1/24");
	mk(&b, "s1", "10.0.0.1/24 fd00::1/64");
	assert_int_equal(nsp_target_key(&a.t, ka, sizeof(ka)), 0);
	assert_int_equal(nsp_target_key(&b.t, kb, sizeof(kb)), 0);
	assert_string_equal(ka, "1|t1|c1|s1|10.0.0.1/24,fd00::1/64");
	assert_string_equal(ka, kb);
	assert_int_equal(nsp_target_key(&a.t, ka, 10), -ENOSPC);
	mk(&a, "s1", "10.0.0.1");
	assert_int_equal(nsp_target_key(&a.t, ka, sizeof(ka)), -EINVAL);
	mk(&a, "", "10.0.0.1/24")->type = NSP__TARGET_TYPE__FRONTEND;
	assert_int_equal(nsp_target_key(&a.t, ka, sizeof(ka)), 0);
	assert_string_equal(ka, "2|t1|c1||10.0.0.1/24");

	/* Both spellings reach the same registration. */
	struct fix *f = fix_new(0, 0, 0);
	mk(&a, "s1", "fd00:0::1/64 10.0.0.1/24");
	mk(&b, "s1", "10.0.0.1/24 fd00::1/64");
	assert_int_equal(reg(f, &a.t, 0), 0);
	assert_int_equal(reg(f, &b.t, 0), 0);
	assert_false(f->changed);
	assert_int_equal(nsp_registry_count(f->r), 1);
	bool existed;
	assert_int_equal(nsp_registry_unregister(f->r, &a.t, &existed, f->err,
						 sizeof(f->err)),
			 0);
	assert_true(existed);
	assert_int_equal(nsp_registry_count(f->r), 0);
	fix_free(f);
}

/* ---- every -EINVAL case ---- */

static char long_name[300];
static char long_key[80];
static char long_value[1100];

enum bad {
	NO_IPS,
	NINE_IPS,
	IP_NO_LEN,
	IP_BAD_LEN,
	IP_GARBAGE,
	IP_DUP,
	IP_DUP_TEXT,
	IP_SAME_ADDR,
	TYPE_BAD,
	STATUS_BAD,
	NO_REF,
	EMPTY_TRENCH,
	EMPTY_CONDUIT,
	EMPTY_STREAM,
	FRONTEND_STREAM,
	PROXY_STREAM,
	NAME_LONG,
	NAME_SLASH,
	NAME_BAR,
	NAME_SPACE,
	NAME_CTRL,
	NAME_DEL,
	FRONTEND_ID,
	PROXY_ID,
	TUNNEL_CONDUIT,
	TUNNEL_STREAM,
	TUNNEL_ID,
	TUNNEL_NO_NODE,
	TUNNEL_PORT_ZERO,
	TUNNEL_PORT_TEXT,
	TUNNEL_PORT_BIG,
	TUNNEL_PORT_LEADING_ZERO,
	INSTANCE_CONDUIT,
	INSTANCE_NO_SERVICE,
	INSTANCE_NO_NODE,
	INSTANCE_EMPTY_NODE,
	CTX_MANY,
	CTX_KEY_LONG,
	CTX_VALUE_LONG,
	CTX_DUP,
	N_BAD
};

static void make_bad(struct tb *b, enum bad which, const char **needle)
{
	mk(b, "s1", "10.0.0.1/24");
	*needle = NULL;
	switch (which) {
	case NO_IPS:
		mk(b, "s1", "");
		*needle = "at least one ip";
		break;
	case NINE_IPS:
		mk(b, "s1",
		   "10.0.0.1/24 10.0.0.2/24 10.0.0.3/24 10.0.0.4/24 "
		   "10.0.0.5/24 10.0.0.6/24 10.0.0.7/24 10.0.0.8/24 "
		   "10.0.0.9/24");
		*needle = "9 ips";
		break;
	case IP_NO_LEN:
		mk(b, "s1", "10.0.0.1");
		*needle = "\"10.0.0.1\"";
		break;
	case IP_BAD_LEN:
		mk(b, "s1", "fd00::1/64 10.0.0.1/33");
		*needle = "\"10.0.0.1/33\"";
		break;
	case IP_GARBAGE:
		b->ips[0] = "10.0.0.1/24\nx";
		*needle = "ip \"10.0.0.1/24?x\"";
		break;
	case IP_DUP:
		mk(b, "s1", "10.0.0.1/24 10.0.0.1/24");
		*needle = "10.0.0.1 is given twice";
		break;
	case IP_DUP_TEXT:
		mk(b, "s1", "fd00::1/64 fd00:0::1/64");
		*needle = "fd00::1 is given twice";
		break;
	case IP_SAME_ADDR:
		mk(b, "s1", "10.0.0.1/24 10.0.0.1/32");
		*needle = "10.0.0.1 is given twice";
		break;
	case TYPE_BAD:
		b->t.type = (Nsp__TargetType)6;
		*needle = "type 6 is not TARGET, FRONTEND, PROXY, TUNNEL or "
			  "INSTANCE";
		break;
	case STATUS_BAD:
		b->t.status = (Nsp__TargetStatus)3;
		*needle = "status 3";
		break;
	case NO_REF:
		b->t.stream = NULL;
		*needle = "trench is empty";
		break;
	case EMPTY_TRENCH:
		b->ref.trench = "";
		*needle = "trench is empty";
		break;
	case EMPTY_CONDUIT:
		b->ref.conduit = "";
		*needle = "conduit is empty";
		break;
	case EMPTY_STREAM:
		b->ref.stream = "";
		*needle = "stream is empty";
		break;
	case FRONTEND_STREAM:
		b->t.type = NSP__TARGET_TYPE__FRONTEND;
		*needle = "a FRONTEND belongs to a conduit, not to stream \"s1\"";
		break;
	case PROXY_STREAM:
		b->t.type = NSP__TARGET_TYPE__PROXY;
		*needle = "a PROXY belongs to a conduit, not to stream \"s1\"";
		break;
	case NAME_LONG:
		b->ref.conduit = long_name;
		*needle = "longer than 253";
		break;
	case NAME_SLASH:
		b->ref.trench = "t/1";
		*needle = "\"t/1\"";
		break;
	case NAME_BAR:
		b->ref.stream = "s|1";
		*needle = "\"s|1\"";
		break;
	case NAME_SPACE:
		b->ref.conduit = "c 1";
		*needle = "\"c 1\"";
		break;
	case NAME_CTRL:
		b->ref.stream = "s\t1";
		*needle = "\"s?1\"";
		break;
	case NAME_DEL:
		b->ref.stream = "s\x7f";
		*needle = "stream";
		break;
	case FRONTEND_ID:
		b->ref.stream = "";
		b->t.type = NSP__TARGET_TYPE__FRONTEND;
		b->t.identifier = 3;
		*needle = "identifier 3 on a FRONTEND; only TARGETs and "
			  "INSTANCEs have identifiers";
		break;
	case PROXY_ID:
		b->ref.stream = "";
		b->t.type = NSP__TARGET_TYPE__PROXY;
		b->t.identifier = 1;
		*needle = "identifier 1 on a PROXY";
		break;
	case TUNNEL_CONDUIT:
		b->ref.stream = "";
		b->t.type = NSP__TARGET_TYPE__TUNNEL;
		ctx_add(b, "node", "n1");
		*needle = "a TUNNEL belongs to a trench, not to conduit \"c1\"";
		break;
	case TUNNEL_STREAM:
		b->ref.conduit = "";
		b->t.type = NSP__TARGET_TYPE__TUNNEL;
		ctx_add(b, "node", "n1");
		*needle = "a TUNNEL belongs to a trench, not to stream \"s1\"";
		break;
	case TUNNEL_ID:
		b->ref.conduit = b->ref.stream = "";
		b->t.type = NSP__TARGET_TYPE__TUNNEL;
		b->t.identifier = 2;
		ctx_add(b, "node", "n1");
		*needle = "identifier 2 on a TUNNEL";
		break;
	case TUNNEL_NO_NODE:
		b->ref.conduit = b->ref.stream = "";
		b->t.type = NSP__TARGET_TYPE__TUNNEL;
		ctx_add(b, "port", "7779");
		*needle = "a TUNNEL needs its node's name in the context "
			  "(node=NAME)";
		break;
	case TUNNEL_PORT_ZERO:
	case TUNNEL_PORT_TEXT:
	case TUNNEL_PORT_BIG:
	case TUNNEL_PORT_LEADING_ZERO: {
		static const char *const ports[] = {"0", "udp", "65536",
						    "07779"};
		const char *port = ports[which - TUNNEL_PORT_ZERO];
		static char want[64];
		b->ref.conduit = b->ref.stream = "";
		b->t.type = NSP__TARGET_TYPE__TUNNEL;
		ctx_add(b, "node", "n1");
		ctx_add(b, "port", port);
		snprintf(want, sizeof(want),
			 "context port \"%s\" of a TUNNEL is not a port", port);
		*needle = want;
		break;
	}
	case INSTANCE_CONDUIT:
		b->ref.stream = "web";
		b->t.type = NSP__TARGET_TYPE__INSTANCE;
		ctx_add(b, "node", "n1");
		*needle = "an INSTANCE belongs to a service of the trench, not "
			  "to conduit \"c1\"";
		break;
	case INSTANCE_NO_SERVICE:
		b->ref.conduit = b->ref.stream = "";
		b->t.type = NSP__TARGET_TYPE__INSTANCE;
		ctx_add(b, "node", "n1");
		*needle = "service (the stream field) is empty";
		break;
	case INSTANCE_NO_NODE:
		b->ref.conduit = "";
		b->ref.stream = "web";
		b->t.type = NSP__TARGET_TYPE__INSTANCE;
		*needle = "an INSTANCE needs its node's name in the context";
		break;
	case INSTANCE_EMPTY_NODE:
		b->ref.conduit = "";
		b->ref.stream = "web";
		b->t.type = NSP__TARGET_TYPE__INSTANCE;
		ctx_add(b, "node", "");
		*needle = "an INSTANCE needs its node's name in the context";
		break;
	case CTX_MANY:
		for (int i = 0; i < 33; i++)
			ctx_add(b, "k", "v");
		*needle = "33 context entries";
		break;
	case CTX_KEY_LONG:
		ctx_add(b, long_key, "v");
		*needle = "longer than 63";
		break;
	case CTX_VALUE_LONG:
		ctx_add(b, "big", long_value);
		*needle = "\"big\"";
		break;
	case CTX_DUP:
		ctx_add(b, "a", "1");
		ctx_add(b, "b", "1");
		ctx_add(b, "a", "2");
		*needle = "\"a\" is given twice";
		break;
	case N_BAD:
		break;
	}
}

static void test_einval(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	memset(long_name, 'n', 254);
	memset(long_key, 'k', 64);
	memset(long_value, 'v', 1025);
	reg_id(f, "s1", "10.0.0.1/24", 0, 0);
	for (int i = 0; i < N_BAD; i++) {
		struct tb b;
		const char *needle;
		make_bad(&b, (enum bad)i, &needle);
		int rc = reg(f, &b.t, 0);
		if (rc != -EINVAL)
			fail_msg("case %d: %d (%s)", i, rc, f->err);
		if (!strstr(f->err, needle))
			fail_msg("case %d: \"%s\" lacks \"%s\"", i, f->err,
				 needle);
		assert_int_equal(nsp_registry_revision(f->r), 1);
		assert_int_equal(nsp_registry_count(f->r), 1);
		/* Restore applies the same rules. */
		assert_int_equal(
		    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)),
		    -EINVAL);
	}
	/* Bad input never reaches the configuration. */
	assert_int_equal(f->calls, 1);

	/* Unregister checks the key fields only. */
	bool existed;
	struct tb b;
	const char *needle;
	make_bad(&b, IP_NO_LEN, &needle);
	assert_int_equal(nsp_registry_unregister(f->r, &b.t, &existed, f->err,
						 sizeof(f->err)),
			 -EINVAL);
	make_bad(&b, CTX_DUP, &needle);
	assert_int_equal(nsp_registry_unregister(f->r, &b.t, &existed, f->err,
						 sizeof(f->err)),
			 0);
	assert_true(existed);
	fix_free(f);
}

static void test_limits_accepted(void **state)
{
	(void)state;
	struct fix *f = fix_new(0, 0, 0);
	struct tb b;
	memset(long_name, 'n', sizeof(long_name));
	long_name[253] = '\0';
	memset(long_key, 'k', sizeof(long_key));
	long_key[63] = '\0';
	memset(long_value, 'v', sizeof(long_value));
	long_value[1024] = '\0';
	mk(&b, "big",
	   "10.0.0.1/24 10.0.0.2/24 10.0.0.3/24 10.0.0.4/24 "
	   "fd00::1/64 fd00::2/64 fd00::3/64 fd00::4/128");
	b.ref.trench = long_name; /* unknown to lookup, so: */
	assert_int_equal(reg(f, &b.t, 0), -ENOENT);
	b.ref.trench = "t1";
	char keys[32][16];
	for (int i = 0; i < 31; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%02d", i);
		ctx_add(&b, keys[i], "v");
	}
	ctx_add(&b, long_key, long_value);
	b.t.identifier = 100;
	b.t.status = NSP__TARGET_STATUS__DISABLED;
	assert_int_equal(reg(f, &b.t, 0), 0);
	assert_int_equal(f->stored->n_ips, 8);
	assert_int_equal(f->stored->n_context, 32);
	assert_int_equal(f->stored->identifier, 100);
	char key[NSP_TARGET_KEY_MAX];
	assert_int_equal(nsp_target_key(f->stored, key, sizeof(key)), 0);
	fix_free(f);
}

static void test_restore(void **state)
{
	(void)state;
	struct fix *f = fix_new(1000, 0, 42);
	struct tb b;
	/* Kept as stored although s1 has only 4 and s9 is unknown. */
	mk(&b, "s1", "10.0.0.1/24")->identifier = 7;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)), 0);
	mk(&b, "s9", "10.0.0.1/24")->identifier = 1;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->calls, 0);
	/* The same key or identifier twice: corrupt. */
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)),
	    -EEXIST);
	mk(&b, "s1", "10.0.0.2/24")->identifier = 7;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)),
	    -EEXIST);
	assert_non_null(strstr(f->err, "10.0.0.1/24"));
	mk(&b, "s1", "10.0.0.2/24")->identifier = 0;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)),
	    -EINVAL);
	mk(&b, "s1", "10.0.0.2/24")->identifier = NSP_IDENTIFIER_MAX + 1;
	assert_int_equal(
	    nsp_registry_restore(f->r, &b.t, 0, f->err, sizeof(f->err)),
	    -EINVAL);
	assert_int_equal(nsp_registry_count(f->r), 2);
	assert_int_equal(nsp_registry_revision(f->r), 42);
	struct nsp_event ev[2];
	assert_int_equal(nsp_registry_events(f->r, 42, ev, 2), 0);

	/* A refresh keeps the restored identifier; an explicit one must be
	 * in range now. */
	assert_int_equal(reg_id(f, "s1", "10.0.0.1/24", 0, 10), 7);
	assert_false(f->changed);
	mk(&b, "s1", "10.0.0.1/24")->identifier = 7;
	assert_int_equal(reg(f, &b.t, 10), -ERANGE);
	/* Restored entries expire like others. */
	assert_int_equal(nsp_registry_expire(f->r, 1000, SIZE_MAX), 1);
	assert_int_equal(nsp_registry_expire(f->r, 1010, SIZE_MAX), 1);
	assert_int_equal(nsp_registry_revision(f->r), 44);
	fix_free(f);
}

struct collect {
	size_t n;
	uint32_t last_id;
};

static void count_fn(const Nsp__Target *t, void *data)
{
	struct collect *c = data;
	c->n++;
	c->last_id = t->identifier;
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_bulk(void **state)
{
	(void)state;
	struct fix *f = fix_new(60000, 0, 0);
	const int streams = 100, per = 100;
	double t0 = secs();
	/* Time only moves forward: half of every stream at t=0, the other
	 * half at t=100, refresh the first half at t=500. */
	for (int half = 0; half < 2; half++) {
		for (int s = 0; s < streams; s++) {
			char stream[16];
			snprintf(stream, sizeof(stream), "b%d", s);
			for (int i = half * per / 2; i < (half + 1) * per / 2;
			     i++) {
				char ips[64];
				snprintf(ips, sizeof(ips),
					 "10.%d.%d.1/16 fd00::%x:%x/64", s, i,
					 s, i);
				assert_int_equal(
				    reg_id(f, stream, ips, 0, half * 100),
				    (uint32_t)i + 1);
			}
		}
	}
	for (int s = 0; s < streams; s++) {
		char stream[16];
		struct tb b;
		snprintf(stream, sizeof(stream), "b%d", s);
		mk(&b, stream, "10.255.255.1/16");
		assert_int_equal(reg(f, &b.t, 100), -ENOSPC);
	}
	double t1 = secs();
	assert_int_equal(nsp_registry_count(f->r), streams * per);
	assert_int_equal(nsp_registry_revision(f->r), streams * per);

	/* Refreshing changes nothing, whatever the spelling. */
	for (int s = 0; s < streams; s++) {
		char stream[16];
		snprintf(stream, sizeof(stream), "b%d", s);
		for (int i = 0; i < per / 2; i++) {
			char ips[64];
			snprintf(ips, sizeof(ips),
				 "fd00::%x:%x/64 10.%d.%d.1/16", s, i, s, i);
			reg_id(f, stream, ips, 0, 500);
			assert_false(f->changed);
		}
	}
	assert_int_equal(nsp_registry_revision(f->r), streams * per);
	struct collect c = {0};
	nsp_registry_foreach(f->r, count_fn, &c);
	assert_int_equal(c.n, streams * per);

	assert_int_equal(nsp_registry_next_expiry(f->r), 60100);
	assert_int_equal(nsp_registry_expire(f->r, 60099, SIZE_MAX), 0);
	assert_int_equal(nsp_registry_expire(f->r, 60100, SIZE_MAX), streams * per / 2);
	assert_int_equal(nsp_registry_next_expiry(f->r), 60500);
	assert_int_equal(nsp_registry_expire(f->r, 60499, SIZE_MAX), 0);
	assert_int_equal(nsp_registry_expire(f->r, 60500, SIZE_MAX), streams * per / 2);
	double t2 = secs();
	assert_int_equal(nsp_registry_count(f->r), 0);
	assert_int_equal(nsp_registry_revision(f->r), 2 * streams * per);
	print_message("10,000 targets: register %.1f ms, refresh+expire %.1f "
		      "ms\n",
		      (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	/* Generous even under ASan; a quadratic path would blow it. */
	assert_true(t2 - t0 < 5.0);
	assert_int_equal(reg_id(f, "b7", "10.7.0.1/16", 0, 70000), 1);
	fix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lowest_free_with_holes),
	    cmocka_unit_test(test_explicit_taken),
	    cmocka_unit_test(test_out_of_range_and_full),
	    cmocka_unit_test(test_reregister_keeps_identifier),
	    cmocka_unit_test(test_refresh_without_change),
	    cmocka_unit_test(test_stored_is_normalised),
	    cmocka_unit_test(test_status_change_is_update),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_clock_step_back),
	    cmocka_unit_test(test_event_log),
	    cmocka_unit_test(test_filter_and_view),
	    cmocka_unit_test(test_frontend),
	    cmocka_unit_test(test_proxy),
	    cmocka_unit_test(test_tunnel),
	    cmocka_unit_test(test_instance_identifiers),
	    cmocka_unit_test(test_tunnel_filters),
	    cmocka_unit_test(test_instance_restore),
	    cmocka_unit_test(test_unknown_stream),
	    cmocka_unit_test(test_key),
	    cmocka_unit_test(test_einval),
	    cmocka_unit_test(test_limits_accepted),
	    cmocka_unit_test(test_restore),
	    cmocka_unit_test(test_bulk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
