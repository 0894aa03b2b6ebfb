#include "errtext.h"
#include "registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "idset.h"
#include "target.h"

_Static_assert(NSP_IDENTIFIER_MAX == NSP_IDSET_MAX,
	       "one limit for identifiers");

/* A live registration. It sits in three structures at once:
 *   - the key table (hnext), for O(1) register/unregister;
 *   - the expiry list (prev/next), ordered by deadline: the ttl is the same
 *     for everyone, so a refresh moves an entry to the tail and the head is
 *     always the next to run out;
 *   - its stream's identifier set (TARGETs and INSTANCEs only), as the
 *     holder of its identifier. */
struct entry {
	struct nsp_tgt *tgt;
	struct entry *hnext;
	struct entry *prev, *next;
	struct stream *stream; /* NULL for a type without identifiers */
	uint64_t deadline;
};

/* The identifiers of one trench/conduit/stream, or of one service (an
 * INSTANCE's trench/""/service: no stream has an empty conduit, so the
 * keys never meet). It exists while at least one of its identifiers is
 * held. */
struct stream {
	struct stream *hnext;
	uint64_t hash;
	struct nsp_idset ids;
	bool service; /* for messages: "service t/s", not "stream t/c/s" */
	size_t keylen;
	char key[]; /* "trench|conduit|stream" */
};

/* One slot of the event log; it holds a reference on each side. */
struct slot {
	uint64_t revision;
	struct nsp_tgt *old, *new_;
};

struct nsp_registry {
	struct nsp_registry_config cfg;
	uint64_t revision;

	struct entry **table; /* chained; nbuckets is a power of two */
	size_t nbuckets;
	size_t count;

	struct stream **streams;
	size_t nstreambuckets;
	size_t nstreams;

	struct entry *head, *tail; /* expiry order */

	/* Slot of revision v is ring[v % log_size]; the log holds revisions
	 * revision - logged + 1 .. revision. */
	struct slot *ring;
	size_t logged;
};

#define MIN_BUCKETS 64

static int default_lookup(void *ctx, Nsp__TargetType type,
			  const Nsp__StreamRef *ref)
{
	(void)ctx;
	(void)type;
	(void)ref;
	return 100;
}

struct nsp_registry *nsp_registry_new(const struct nsp_registry_config *cfg,
				      uint64_t revision)
{
	struct nsp_registry *r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	if (cfg)
		r->cfg = *cfg;
	if (!r->cfg.ttl_ms)
		r->cfg.ttl_ms = NSP_REGISTRY_DEFAULT_TTL_MS;
	if (!r->cfg.log_size)
		r->cfg.log_size = NSP_REGISTRY_DEFAULT_LOG_SIZE;
	if (!r->cfg.lookup)
		r->cfg.lookup = default_lookup;
	r->revision = revision;
	r->nbuckets = MIN_BUCKETS;
	r->table = calloc(r->nbuckets, sizeof(*r->table));
	if (!r->table)
		goto free_r;
	r->nstreambuckets = MIN_BUCKETS;
	r->streams = calloc(r->nstreambuckets, sizeof(*r->streams));
	if (!r->streams)
		goto free_table;
	r->ring = calloc(r->cfg.log_size, sizeof(*r->ring));
	if (!r->ring)
		goto free_streams;
	return r;

free_streams:
	free(r->streams);
free_table:
	free(r->table);
free_r:
	free(r);
fail:
	return NULL;
}

void nsp_registry_free(struct nsp_registry *r)
{
	if (!r)
		return;
	for (struct entry *e = r->head, *next; e; e = next) {
		next = e->next;
		nsp_tgt_put(e->tgt);
		free(e);
	}
	for (size_t b = 0; b < r->nstreambuckets; b++) {
		for (struct stream *s = r->streams[b], *next; s; s = next) {
			next = s->hnext;
			nsp_idset_free(&s->ids);
			free(s);
		}
	}
	for (size_t i = 0; i < r->cfg.log_size; i++) {
		nsp_tgt_put(r->ring[i].old);
		nsp_tgt_put(r->ring[i].new_);
	}
	free(r->ring);
	free(r->streams);
	free(r->table);
	free(r);
}

/* ---- the key table ---- */

static struct entry **find_slot(const struct nsp_registry *r, uint64_t hash,
				const char *key, size_t keylen)
{
	struct entry **p = &r->table[hash & (r->nbuckets - 1)];
	for (; *p; p = &(*p)->hnext) {
		const struct nsp_tgt *t = (*p)->tgt;
		if (t->hash == hash && t->keylen == keylen &&
		    !memcmp(t->key, key, keylen))
			break;
	}
	return p;
}

/* Doubling at load 1 keeps chains short. A failed allocation is not an
 * error: the table still works with longer chains, and the next insert
 * tries again. */
static void grow_table(struct nsp_registry *r)
{
	size_t n = r->nbuckets * 2;
	struct entry **table = calloc(n, sizeof(*table));
	if (!table)
		return;
	for (size_t b = 0; b < r->nbuckets; b++) {
		for (struct entry *e = r->table[b], *next; e; e = next) {
			next = e->hnext;
			struct entry **head = &table[e->tgt->hash & (n - 1)];
			e->hnext = *head;
			*head = e;
		}
	}
	free(r->table);
	r->table = table;
	r->nbuckets = n;
}

static void table_add(struct nsp_registry *r, struct entry *e)
{
	if (r->count >= r->nbuckets)
		grow_table(r);
	struct entry **head = &r->table[e->tgt->hash & (r->nbuckets - 1)];
	e->hnext = *head;
	*head = e;
	r->count++;
}

/* ---- streams ---- */

static size_t stream_key(const Nsp__StreamRef *ref, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s|%s|%s", ref->trench, ref->conduit,
			 ref->stream);
	return n < 0 ? 0 : (size_t)n;
}

static struct stream **find_stream(const struct nsp_registry *r,
				   const char *key, size_t keylen,
				   uint64_t hash)
{
	struct stream **p = &r->streams[hash & (r->nstreambuckets - 1)];
	for (; *p; p = &(*p)->hnext)
		if ((*p)->hash == hash && (*p)->keylen == keylen &&
		    !memcmp((*p)->key, key, keylen))
			break;
	return p;
}

static void grow_streams(struct nsp_registry *r)
{
	size_t n = r->nstreambuckets * 2;
	struct stream **t = calloc(n, sizeof(*t));
	if (!t)
		return;
	for (size_t b = 0; b < r->nstreambuckets; b++) {
		for (struct stream *s = r->streams[b], *next; s; s = next) {
			next = s->hnext;
			s->hnext = t[s->hash & (n - 1)];
			t[s->hash & (n - 1)] = s;
		}
	}
	free(r->streams);
	r->streams = t;
	r->nstreambuckets = n;
}

/* The stream (or service) of the registration n, created empty if it is
 * not there. NULL when out of memory. */
static struct stream *get_stream(struct nsp_registry *r,
				 const struct nsp_tgt *n)
{
	const Nsp__StreamRef *ref = &n->ref;
	char key[3 * (NSP_NAME_MAX + 1)];
	size_t keylen = stream_key(ref, key, sizeof(key));
	uint64_t hash = XXH3_64bits(key, keylen);
	struct stream **p = find_stream(r, key, keylen, hash);
	if (*p)
		return *p;
	struct stream *s = calloc(1, sizeof(*s) + keylen + 1);
	if (!s)
		return NULL;
	s->hash = hash;
	s->service = n->msg.type == NSP__TARGET_TYPE__INSTANCE;
	s->keylen = keylen;
	memcpy(s->key, key, keylen + 1);
	if (r->nstreams >= r->nstreambuckets) {
		grow_streams(r);
		p = find_stream(r, key, keylen, hash);
	}
	*p = s;
	r->nstreams++;
	return s;
}

/* Frees s once it holds no identifier, so that streams which come and go
 * do not accumulate. */
static void put_stream(struct nsp_registry *r, struct stream *s)
{
	if (!s || s->ids.count)
		return;
	struct stream **p = find_stream(r, s->key, s->keylen, s->hash);
	*p = s->hnext;
	r->nstreams--;
	nsp_idset_free(&s->ids);
	free(s);
}

/* ---- the expiry list ---- */

static void list_unlink(struct nsp_registry *r, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		r->tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_append(struct nsp_registry *r, struct entry *e,
			uint64_t now_ms)
{
	/* The list must stay sorted for expire() to stop at the first live
	 * entry; should a caller's clock step back, the deadline is raised
	 * to the tail's rather than break that order. */
	uint64_t deadline = now_ms + r->cfg.ttl_ms;
	if (deadline < now_ms)
		deadline = UINT64_MAX - 1;
	if (r->tail && deadline < r->tail->deadline)
		deadline = r->tail->deadline;
	e->deadline = deadline;
	e->prev = r->tail;
	e->next = NULL;
	if (r->tail)
		r->tail->next = e;
	else
		r->head = e;
	r->tail = e;
}

static void refresh(struct nsp_registry *r, struct entry *e, uint64_t now_ms)
{
	list_unlink(r, e);
	list_append(r, e, now_ms);
}

/* ---- the event log ---- */

/* Records one mutation, taking a reference on each side given. The slot
 * it overwrites drops the references of the event that leaves the log. */
static void log_event(struct nsp_registry *r, struct nsp_tgt *old,
		      struct nsp_tgt *new_)
{
	r->revision++;
	struct slot *s = &r->ring[r->revision % r->cfg.log_size];
	nsp_tgt_put(s->old);
	nsp_tgt_put(s->new_);
	s->revision = r->revision;
	s->old = old ? nsp_tgt_get(old) : NULL;
	s->new_ = new_ ? nsp_tgt_get(new_) : NULL;
	if (r->logged < r->cfg.log_size)
		r->logged++;
}

ssize_t nsp_registry_events(const struct nsp_registry *r, uint64_t after,
			    struct nsp_event *out, size_t max)
{
	if (after >= r->revision)
		return 0;
	uint64_t oldest = r->revision - r->logged + 1;
	if (after + 1 < oldest)
		return -ERANGE;
	size_t n = 0;
	for (uint64_t v = after + 1; v <= r->revision && n < max; v++, n++) {
		const struct slot *s = &r->ring[v % r->cfg.log_size];
		out[n].revision = s->revision;
		out[n].old = s->old ? &s->old->msg : NULL;
		out[n].new_ = s->new_ ? &s->new_->msg : NULL;
	}
	return (ssize_t)n;
}

/* ---- registration ---- */

/* Removes e from every structure, with an event when `logged`. */
static void drop(struct nsp_registry *r, struct entry *e, bool logged)
{
	struct entry **p =
	    find_slot(r, e->tgt->hash, e->tgt->key, e->tgt->keylen);
	*p = e->hnext;
	r->count--;
	list_unlink(r, e);
	if (e->stream) {
		nsp_idset_release(&e->stream->ids, e->tgt->msg.identifier);
		put_stream(r, e->stream);
	}
	if (logged)
		log_event(r, e->tgt, NULL);
	nsp_tgt_put(e->tgt);
	free(e);
}

/* The stream's name as users write it, "stream trench/conduit/stream"
 * from its key "trench|conduit|stream", or "service trench/service" from
 * "trench||service". */
static const char *stream_name(const struct stream *s, char *buf, size_t len)
{
	const char *conduit_end = strchr(strchr(s->key, '|') + 1, '|');
	size_t trench_len = (size_t)(strchr(s->key, '|') - s->key);
	if (s->service)
		snprintf(buf, len, "service %.*s/%s", (int)trench_len, s->key,
			 conduit_end + 1);
	else
		snprintf(buf, len, "stream %s", s->key);
	for (char *p = buf; *p; p++)
		if (*p == '|')
			*p = '/';
	return buf;
}

/* Settles the identifier of new registration n (whose key may be held by
 * cur already) in stream s with max-targets max. Reserves room in s so that
 * taking the result cannot fail. Returns the identifier or a negative errno
 * with err set. */
static int pick_identifier(struct stream *s, uint32_t max,
			   const struct entry *cur, const struct nsp_tgt *n,
			   char *err, size_t errlen)
{
	uint32_t asked = n->msg.identifier;
	uint32_t own = cur ? cur->tgt->msg.identifier : 0;
	uint32_t id;
	char name[3 * NSP_NAME_MAX + 16];
	int rc;

	if (asked == 0 && own) {
		id = own;
	} else if (asked == 0) {
		id = nsp_idset_lowest_free(&s->ids, max);
		if (!id)
			return errtext(-ENOSPC, err, errlen,
				    "%s is full: all %u identifiers are taken",
				    stream_name(s, name, sizeof(name)), max);
	} else if (asked > max) {
		return errtext(-ERANGE, err, errlen,
			    "identifier %u is out of range 1..%u of %s",
			    asked, max, stream_name(s, name, sizeof(name)));
	} else {
		const struct entry *holder = nsp_idset_holder(&s->ids, asked);
		if (holder && holder != cur) {
			char ips[256];
			nsp_tgt_ips(&holder->tgt->msg, ips, sizeof(ips));
			return errtext(-EEXIST, err, errlen,
				    "identifier %u of %s is held by %s %s",
				    asked, stream_name(s, name, sizeof(name)),
				    s->service ? "instance" : "target", ips);
		}
		id = asked;
	}
	rc = nsp_idset_reserve(&s->ids, id);
	if (rc < 0)
		return errtext(rc, err, errlen, "out of memory");
	return (int)id;
}

/* Makes the entry of new target n (stream s, or NULL for a type without
 * identifiers), whose identifier room in s is reserved already: it takes the
 * identifier and the key, and its lease starts at now_ms. NULL when out of
 * memory, with nothing changed. */
static struct entry *insert(struct nsp_registry *r, struct nsp_tgt *n,
			    struct stream *s, uint64_t now_ms)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->tgt = n;
	e->stream = s;
	if (s)
		nsp_idset_take(&s->ids, n->msg.identifier, e);
	table_add(r, e);
	list_append(r, e, now_ms);
	return e;
}

/* What a registration belongs to, as messages name it: "stream t/c/s",
 * "conduit t/c", "trench t" or "service t/s". */
static void describe(const struct nsp_tgt *n, char *buf, size_t len)
{
	const Nsp__StreamRef *ref = &n->ref;
	switch (n->msg.type) {
	case NSP__TARGET_TYPE__FRONTEND:
	case NSP__TARGET_TYPE__PROXY:
		snprintf(buf, len, "conduit %s/%s", ref->trench, ref->conduit);
		break;
	case NSP__TARGET_TYPE__TUNNEL:
		snprintf(buf, len, "trench %s", ref->trench);
		break;
	case NSP__TARGET_TYPE__INSTANCE:
		snprintf(buf, len, "service %s/%s", ref->trench, ref->stream);
		break;
	default:
		snprintf(buf, len, "stream %s/%s/%s", ref->trench,
			 ref->conduit, ref->stream);
		break;
	}
}

int nsp_registry_register(struct nsp_registry *r, const Nsp__Target *t,
			  uint64_t now_ms, const Nsp__Target **stored,
			  bool *changed, char *err, size_t errlen)
{
	struct nsp_tgt *n;
	struct stream *s = NULL;
	struct entry *e;
	int rc;

	rc = nsp_tgt_new(t, &n, err, errlen);
	if (rc < 0)
		return rc == -ENOMEM ? errtext(rc, err, errlen, "out of memory")
				     : rc;

	rc = r->cfg.lookup(r->cfg.ctx, n->msg.type, &n->ref);
	if (rc < 0) {
		char what[3 * NSP_NAME_MAX + 16];
		describe(n, what, sizeof(what));
		if (rc != -ENOENT)
			errtext(rc, err, errlen, "looking up %s: %s", what,
				strerror(-rc));
		else if (n->msg.type == NSP__TARGET_TYPE__FRONTEND ||
			 n->msg.type == NSP__TARGET_TYPE__PROXY)
			errtext(rc, err, errlen,
			     "trench \"%s\" or its conduit \"%s\" is not in "
			     "the configuration",
			     n->ref.trench, n->ref.conduit);
		else
			errtext(rc, err, errlen,
				"%s is not in the configuration", what);
		goto put_n;
	}
	uint32_t max = (uint32_t)rc > NSP_IDENTIFIER_MAX ? NSP_IDENTIFIER_MAX
							 : (uint32_t)rc;

	struct entry **slot = find_slot(r, n->hash, n->key, n->keylen);
	e = *slot;

	if (nsp_type_has_identifier(n->msg.type)) {
		s = get_stream(r, n);
		if (!s) {
			rc = errtext(-ENOMEM, err, errlen, "out of memory");
			goto put_n;
		}
		rc = pick_identifier(s, max, e, n, err, errlen);
		if (rc < 0)
			goto put_stream;
		n->msg.identifier = (uint32_t)rc;
	}

	if (e && nsp_tgt_same(e->tgt, n)) {
		refresh(r, e, now_ms);
		nsp_tgt_put(n);
		*stored = &e->tgt->msg;
		*changed = false;
		return 0;
	}

	if (e) {
		/* An update keeps the entry and swaps its target; from here
		 * nothing can fail, so the identifier moves last. */
		if (s && e->tgt->msg.identifier != n->msg.identifier) {
			nsp_idset_release(&s->ids, e->tgt->msg.identifier);
			nsp_idset_take(&s->ids, n->msg.identifier, e);
		}
		log_event(r, e->tgt, n);
		nsp_tgt_put(e->tgt);
		e->tgt = n;
		refresh(r, e, now_ms);
	} else {
		e = insert(r, n, s, now_ms);
		if (!e) {
			rc = errtext(-ENOMEM, err, errlen, "out of memory");
			goto put_stream;
		}
		log_event(r, NULL, n);
	}
	*stored = &e->tgt->msg;
	*changed = true;
	return 0;

put_stream:
	put_stream(r, s);
put_n:
	nsp_tgt_put(n);
	return rc;
}

int nsp_registry_unregister(struct nsp_registry *r, const Nsp__Target *t,
			    bool *existed, char *err, size_t errlen)
{
	struct nsp_tkey k;
	int rc = nsp_tgt_key(t, &k, err, errlen);
	if (rc < 0)
		return rc;
	struct entry *e = *find_slot(r, k.hash, k.buf, k.len);
	*existed = e != NULL;
	if (e)
		drop(r, e, true);
	return 0;
}

size_t nsp_registry_expire(struct nsp_registry *r, uint64_t now_ms,
			   size_t max)
{
	size_t n = 0;
	while (n < max && r->head && r->head->deadline <= now_ms) {
		drop(r, r->head, true);
		n++;
	}
	return n;
}

uint64_t nsp_registry_next_expiry(const struct nsp_registry *r)
{
	return r->head ? r->head->deadline : UINT64_MAX;
}

int nsp_registry_restore(struct nsp_registry *r, const Nsp__Target *t,
			 uint64_t now_ms, char *err, size_t errlen)
{
	struct nsp_tgt *n;
	struct stream *s = NULL;
	int rc;

	rc = nsp_tgt_new(t, &n, err, errlen);
	if (rc < 0)
		return rc == -ENOMEM ? errtext(rc, err, errlen, "out of memory")
				     : rc;
	if (*find_slot(r, n->hash, n->key, n->keylen)) {
		rc = errtext(-EEXIST, err, errlen, "target %s is restored twice",
			  n->key);
		goto put_n;
	}
	if (nsp_type_has_identifier(n->msg.type)) {
		uint32_t id = n->msg.identifier;
		if (id == 0 || id > NSP_IDENTIFIER_MAX) {
			rc = errtext(-EINVAL, err, errlen,
				  "target %s has identifier %u, outside "
				  "1..%u",
				  n->key, id, NSP_IDENTIFIER_MAX);
			goto put_n;
		}
		s = get_stream(r, n);
		if (!s) {
			rc = errtext(-ENOMEM, err, errlen, "out of memory");
			goto put_n;
		}
		const struct entry *holder = nsp_idset_holder(&s->ids, id);
		if (holder) {
			rc = errtext(-EEXIST, err, errlen,
				  "target %s has identifier %u, held by %s",
				  n->key, id, holder->tgt->key);
			goto put_stream;
		}
		rc = nsp_idset_reserve(&s->ids, id);
		if (rc < 0) {
			errtext(rc, err, errlen, "out of memory");
			goto put_stream;
		}
	}
	if (!insert(r, n, s, now_ms)) {
		rc = errtext(-ENOMEM, err, errlen, "out of memory");
		goto put_stream;
	}
	return 0;

put_stream:
	put_stream(r, s);
put_n:
	nsp_tgt_put(n);
	return rc;
}

uint64_t nsp_registry_revision(const struct nsp_registry *r)
{
	return r->revision;
}

size_t nsp_registry_count(const struct nsp_registry *r)
{
	return r->count;
}

void nsp_registry_foreach(const struct nsp_registry *r,
			  void (*fn)(const Nsp__Target *t, void *data),
			  void *data)
{
	for (const struct entry *e = r->head; e; e = e->next)
		fn(&e->tgt->msg, data);
}
