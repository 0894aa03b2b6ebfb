/* The address tree: allocation, release, leases and quarantine. The
 * layout is drawn in tree_int.h, its elements live in elems.c; restore.c
 * loads and checks a stored tree and walk.c reads it for List and Tree. */
#include "tree_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"

#define SPEC_STRLEN (CIDR_STRLEN + 8)

/* Appends a row into reserved room. */
static void add_row(struct ipam_changes *c, const struct ipam_row *r)
{
	(void)ipam_changes_add(c, r);
}


/* Frees the node's expired quarantine, a DEL row each. Every step first
 * makes room for its row plus `spare` more and for two more runs (its
 * release, and the take that may follow), so that out of memory it stops
 * between two consistent steps. Returns how many it freed. */
static size_t purge_node(struct ipam_node *no,
			 uint64_t wall_ms, struct ipam_changes *c,
			 size_t spare)
{
	size_t n = 0;
	while (ipam_quar_expired(no, wall_ms)) {
		if (ipam_rows_reserve(c, 1 + spare) < 0 ||
		    ipam_slots_reserve(&no->addrs, 2) < 0)
			break;
		struct ipam_quar q = ipam_quar_pop(no);
		(void)ipam_slots_release(&no->addrs, q.offset);
		const struct ipam_conduit *co = no->conduit;
		add_row(c, &(struct ipam_row){
				   .kind = IPAM_ROW_QUARANTINE,
				   .del = true,
				   .family = co->trench->family,
				   .trench = co->trench->name,
				   .conduit = co->name,
				   .node = no->name,
				   .prefix = ipam_node_addr(no, q.offset),
				   .until_ms = q.until_ms,
			   });
		n++;
	}
	return n;
}

/* ---- the tree ---- */

/* Frees the children removed by the previous mutating call: their rows
 * have been written by now (tree.h). */
static void bury(struct ipam_tree *t)
{
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &t->dead)
		ipam_child_free(list_entry(pos, struct ipam_child, link));
	list_init(&t->dead);
}

struct ipam_tree *ipam_tree_new(const struct ipam_tree_config *cfg)
{
	struct ipam_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (!t->cfg.lease_ms)
		t->cfg.lease_ms = IPAM_DEFAULT_LEASE_MS;
	if (!t->cfg.reuse_delay_ms)
		t->cfg.reuse_delay_ms = IPAM_DEFAULT_REUSE_DELAY_MS;
	if (!t->cfg.v4.prefix.family) {
		(void)cidr_parse("169.255.0.0/16", &t->cfg.v4.prefix);
		t->cfg.v4.conduit_len = 20;
		t->cfg.v4.node_len = 24;
	}
	if (!t->cfg.v6.prefix.family) {
		(void)cidr_parse("fd00::/48", &t->cfg.v6.prefix);
		t->cfg.v6.conduit_len = 56;
		t->cfg.v6.node_len = 64;
	}
	list_init(&t->trenches);
	list_init(&t->leases);
	list_init(&t->quarantined);
	list_init(&t->dead);
	return t;
}

void ipam_tree_free(struct ipam_tree *t)
{
	if (!t)
		return;
	bury(t);
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &t->trenches)
		ipam_trench_free(list_entry(pos, struct ipam_trench, link));
	ipam_htab_destroy(&t->tab);
	free(t);
}

void ipam_tree_set_conduit_check(struct ipam_tree *t,
				 bool (*known)(void *ctx, const char *trench,
					       const char *conduit),
				 void *ctx)
{
	t->known = known;
	t->known_ctx = ctx;
}

size_t ipam_tree_children(const struct ipam_tree *t)
{
	return t->n_children;
}

const char *ipam_reason_name(enum ipam_reason r)
{
	switch (r) {
	case IPAM_NAME_INVALID:
		return "name_invalid";
	case IPAM_FAMILY_INVALID:
		return "family_invalid";
	case IPAM_UNKNOWN_CONDUIT:
		return "unknown_conduit";
	case IPAM_PREFIX_CANNOT_FIT:
		return "prefix_cannot_fit";
	case IPAM_TRENCH_FULL:
		return "trench_prefix_full";
	case IPAM_CONDUIT_FULL:
		return "conduit_prefix_full";
	case IPAM_NODE_FULL:
		return "node_prefix_full";
	case IPAM_BRIDGE_TAKEN:
		return "bridge_taken";
	case IPAM_OK:
		break;
	}
	return "";
}

static int check_family(int family, char *err, size_t errlen)
{
	if (family == AF_INET || family == AF_INET6)
		return 0;
	return errtext(-EINVAL, err, errlen,
		       "family %d is neither IPv4 (%d) nor IPv6 (%d)", family,
		       AF_INET, AF_INET6);
}

/* Checks the first n names of ref (trench, conduit, node, child) and its
 * family. */
static int check_ref(const struct ipam_child_ref *ref, size_t n,
		     enum ipam_reason *reason, char *err, size_t errlen)
{
	static const char *const what[] = { "trench", "conduit", "node",
					    "child" };
	const char *names[] = { ref->trench, ref->conduit, ref->node,
				ref->name };
	for (size_t i = 0; i < n; i++) {
		int rc = ipam_name_check(what[i], names[i], err, errlen);
		if (rc < 0) {
			*reason = IPAM_NAME_INVALID;
			return rc;
		}
	}
	if (check_family(ref->family, err, errlen) < 0) {
		*reason = IPAM_FAMILY_INVALID;
		return -EINVAL;
	}
	return 0;
}

static void *lookup(const struct ipam_tree *t, const struct ipam_child_ref *ref,
		    size_t n, char *key)
{
	const char *names[] = { ref->trench, ref->conduit, ref->node,
				ref->name };
	ipam_key(key, ref->family, names, n);
	return ipam_htab_get(&t->tab, key, ipam_htab_hash(key));
}

int ipam_tree_set_trench(struct ipam_tree *t, const char *trench, int family,
			 const struct ipam_family_spec *fs, char *err,
			 size_t errlen)
{
	char key[IPAM_KEY_MAX], want[SPEC_STRLEN], have[SPEC_STRLEN];
	int rc = ipam_name_check("trench", trench, err, errlen);
	if (rc < 0)
		return rc;
	rc = check_family(family, err, errlen);
	if (rc < 0)
		return rc;
	if (fs->prefix.family != family)
		return errtext(-EINVAL, err, errlen,
			       "trench %s: the %s tree needs an %s prefix",
			       trench, ipam_family_name(family),
			       ipam_family_name(family));
	rc = ipam_spec_check(fs, err, errlen);
	if (rc < 0)
		return rc;
	ipam_key(key, family, &trench, 1);
	struct ipam_trench *tr = ipam_htab_get(&t->tab, key, ipam_htab_hash(key));
	if (tr && tr->live && !ipam_spec_equal(&tr->spec, fs)) {
		ipam_spec_format(&tr->spec, have, sizeof(have));
		ipam_spec_format(fs, want, sizeof(want));
		return errtext(-EBUSY, err, errlen,
			       "trench %s (%s) has its tree in %s already; it "
			       "cannot become %s",
			       trench, ipam_family_name(family), have, want);
	}
	if (tr) {
		if (tr->live)
			return 0; /* the same shape again */
		/* No conduit yet, but maybe an array reserved by an
		 * allocation that then ran out of memory. */
		tr->spec = *fs;
		ipam_slots_destroy(&tr->conduits);
		ipam_slots_init(&tr->conduits, 0,
				ipam_last_index(fs->prefix.len,
						fs->conduit_len));
		return 0;
	}
	if (ipam_htab_reserve(&t->tab, 1) < 0 ||
	    !(tr = ipam_trench_alloc(key, family, fs)))
		return errtext(-ENOMEM, err, errlen, "out of memory");
	ipam_trench_link(t, tr);
	return 0;
}

/* ---- allocation ---- */

/* Where a new child goes: the elements that exist, and the indexes the
 * missing ones will take. Planning changes nothing, so that every refusal
 * comes before the first change. */
struct path {
	struct ipam_trench *tr; /* NULL: create */
	struct ipam_conduit *co;
	struct ipam_node *no;
	const struct ipam_family_spec *spec;
	uint64_t co_index, no_index;
	char tr_key[IPAM_KEY_MAX], co_key[IPAM_KEY_MAX], no_key[IPAM_KEY_MAX];
};

/* Plans the trench and conduit of ref. */
static int plan_conduit(struct ipam_tree *t, const struct ipam_child_ref *ref,
			struct path *p, enum ipam_reason *reason, char *err,
			size_t errlen)
{
	char pfx[CIDR_STRLEN], msg[256];
	p->tr = lookup(t, ref, 1, p->tr_key);
	p->co = lookup(t, ref, 2, p->co_key);
	p->spec = p->tr ? &p->tr->spec : ipam_default_spec(t, ref->family);
	if (p->co)
		return 0;
	if (t->known && !t->known(t->known_ctx, ref->trench, ref->conduit)) {
		*reason = IPAM_UNKNOWN_CONDUIT;
		return errtext(-ENOENT, err, errlen,
			       "conduit %s/%s is not in the configuration",
			       ref->trench, ref->conduit);
	}
	if (!(p->tr && p->tr->live) &&
	    (p->spec->prefix.family != ref->family ||
	     ipam_spec_check(p->spec, msg, sizeof(msg)) < 0)) {
		if (p->spec->prefix.family != ref->family)
			snprintf(msg, sizeof(msg), "its prefix is not %s",
				 ipam_family_name(ref->family));
		*reason = IPAM_PREFIX_CANNOT_FIT;
		return errtext(-EDOM, err, errlen,
			       "trench %s (%s) cannot form a tree: %s",
			       ref->trench, ipam_family_name(ref->family), msg);
	}
	p->co_index = 0;
	if (p->tr && ipam_slots_lowest(&p->tr->conduits, &p->co_index) < 0) {
		cidr_format(&p->spec->prefix, pfx, sizeof(pfx));
		*reason = IPAM_TRENCH_FULL;
		return errtext(-ENOSPC, err, errlen,
			       "trench prefix %s of %s is full: %llu conduit "
			       "prefixes of /%u in use",
			       pfx, ref->trench,
			       (unsigned long long)ipam_slots_count(
				       &p->tr->conduits),
			       p->spec->conduit_len);
	}
	return 0;
}

/* Plans the node of ref, after plan_conduit. */
static int plan_node(struct ipam_tree *t, const struct ipam_child_ref *ref,
		     struct path *p, enum ipam_reason *reason, char *err,
		     size_t errlen)
{
	char pfx[CIDR_STRLEN];
	p->no = lookup(t, ref, 3, p->no_key);
	if (p->no)
		return 0;
	p->no_index = 0;
	if (p->co && ipam_slots_lowest(&p->co->nodes, &p->no_index) < 0) {
		cidr_format(&p->co->prefix, pfx, sizeof(pfx));
		*reason = IPAM_CONDUIT_FULL;
		return errtext(-ENOSPC, err, errlen,
			       "conduit prefix %s of %s/%s is full: %llu node "
			       "prefixes of /%u in use",
			       pfx, ref->trench, ref->conduit,
			       (unsigned long long)ipam_slots_count(
				       &p->co->nodes),
			       p->co->trench->spec.node_len);
	}
	return 0;
}

/* The new elements of a path, allocated before anything is linked. */
struct fresh {
	struct ipam_trench *tr;
	struct ipam_conduit *co;
	struct ipam_node *no;
	struct ipam_child *ch;
};

static void fresh_free(struct fresh *f)
{
	ipam_child_free(f->ch);
	ipam_node_free(f->no);
	ipam_conduit_free(f->co);
	ipam_trench_free(f->tr);
}

/* Allocates the missing trench and conduit of p (and the node when
 * with_node), and reserves room in the table and the index sets, so that
 * linking them cannot fail. Rows are reserved by the caller. */
static int prepare(struct ipam_tree *t, struct path *p, int family,
		   bool with_node, struct fresh *f)
{
	struct ipam_trench *tr = p->tr;
	struct ipam_conduit *co = p->co;
	if (ipam_htab_reserve(&t->tab, 4) < 0)
		return -ENOMEM;
	if (!tr) {
		tr = f->tr = ipam_trench_alloc(p->tr_key, family, p->spec);
		if (!tr)
			return -ENOMEM;
	}
	if (!co) {
		if (ipam_slots_reserve(&tr->conduits, 1) < 0)
			return -ENOMEM;
		co = f->co = ipam_conduit_alloc(p->co_key, tr, p->co_index);
		if (!co)
			return -ENOMEM;
	}
	if (with_node && !p->no) {
		if (ipam_slots_reserve(&co->nodes, 1) < 0)
			return -ENOMEM;
		f->no = ipam_node_alloc(p->no_key, co, p->no_index);
		if (!f->no)
			return -ENOMEM;
	}
	return 0;
}

/* Links what prepare allocated, with a PUT row each, and fills p. */
static void commit(struct ipam_tree *t, struct path *p, struct fresh *f,
		   struct ipam_changes *c)
{
	if (f->tr) {
		ipam_trench_link(t, f->tr);
		p->tr = f->tr;
		f->tr = NULL;
	}
	if (!p->tr->live) {
		p->tr->live = true;
		add_row(c, &(struct ipam_row){
				   .kind = IPAM_ROW_TRENCH,
				   .family = p->tr->family,
				   .trench = p->tr->name,
				   .prefix = p->tr->spec.prefix,
				   .conduit_len = p->tr->spec.conduit_len,
				   .node_len = p->tr->spec.node_len,
			   });
	}
	if (f->co) {
		(void)ipam_slots_take(&p->tr->conduits, f->co->index);
		ipam_conduit_link(t, f->co);
		p->co = f->co;
		f->co = NULL;
		add_row(c, &(struct ipam_row){
				   .kind = IPAM_ROW_CONDUIT,
				   .family = p->tr->family,
				   .trench = p->tr->name,
				   .conduit = p->co->name,
				   .prefix = p->co->prefix,
			   });
	}
	if (f->no) {
		(void)ipam_slots_take(&p->co->nodes, f->no->index);
		ipam_node_link(t, f->no);
		p->no = f->no;
		f->no = NULL;
		add_row(c, &(struct ipam_row){
				   .kind = IPAM_ROW_NODE,
				   .family = p->tr->family,
				   .trench = p->tr->name,
				   .conduit = p->co->name,
				   .node = p->no->name,
				   .prefix = p->no->prefix,
			   });
	}
}

static void fill_result(const struct ipam_node *no, uint64_t offset,
			bool created, struct ipam_result *out)
{
	if (!out)
		return;
	out->address = ipam_node_addr(no, offset);
	out->node_prefix = no->prefix;
	out->gateway = ipam_node_addr(no, 1);
	out->gateway.len = (uint8_t)cidr_width(&no->prefix);
	out->created = created;
}

static struct ipam_row child_row(const struct ipam_child *ch, bool del)
{
	const struct ipam_node *no = ch->node;
	const struct ipam_conduit *co = no->conduit;
	return (struct ipam_row){
		.kind = IPAM_ROW_CHILD,
		.del = del,
		.family = co->trench->family,
		.trench = co->trench->name,
		.conduit = co->name,
		.node = no->name,
		.name = ch->name,
		.prefix = ipam_node_addr(no, ch->offset),
		.bridge = ch->bridge,
	};
}

/* Refuses a new child the node cannot hold. */
static int check_room(const struct ipam_node *no,
		      const struct ipam_child_ref *ref, bool bridge,
		      uint64_t wall_ms, enum ipam_reason *reason, char *err,
		      size_t errlen)
{
	char pfx[CIDR_STRLEN], gw[CIDR_STRLEN];
	uint64_t idx;
	if (bridge && no->bridge) {
		struct cidr g = ipam_node_addr(no, 1);
		cidr_format_ip(&g, gw, sizeof(gw));
		*reason = IPAM_BRIDGE_TAKEN;
		return errtext(-EEXIST, err, errlen,
			       "the bridge %s of node %s/%s/%s is held by %s",
			       gw, ref->trench, ref->conduit, ref->node,
			       no->bridge->name);
	}
	if (bridge || ipam_slots_lowest(&no->addrs, &idx) == 0 ||
	    ipam_quar_expired(no, wall_ms))
		return 0;
	cidr_format(&no->prefix, pfx, sizeof(pfx));
	*reason = IPAM_NODE_FULL;
	return errtext(-ENOSPC, err, errlen,
		       "node prefix %s of %s/%s/%s is full: %zu addresses in "
		       "use, %zu quarantined",
		       pfx, ref->trench, ref->conduit, ref->node,
		       no->n_children, no->nq);
}

static void lease_refresh(struct ipam_tree *t, struct ipam_child *ch,
			  uint64_t now_ms)
{
	if (ch->bridge)
		return;
	ch->refreshed_ms = now_ms;
	list_del(&ch->lease);
	list_add(t->leases.prev, &ch->lease);
}

int ipam_allocate(struct ipam_tree *t, const struct ipam_child_ref *ref,
		  bool bridge, uint64_t now_ms, uint64_t wall_ms,
		  struct ipam_changes *changes, struct ipam_result *out,
		  enum ipam_reason *reason, char *err, size_t errlen)
{
	enum ipam_reason dummy;
	char key[IPAM_KEY_MAX];
	struct path p;
	struct fresh f = { 0 };
	if (!reason)
		reason = &dummy;
	*reason = IPAM_OK;
	bury(t);
	int rc = check_ref(ref, 4, reason, err, errlen);
	if (rc < 0)
		return rc;

	struct ipam_child *ch = lookup(t, ref, 4, key);
	if (ch) {
		lease_refresh(t, ch, now_ms);
		fill_result(ch->node, ch->offset, false, out);
		return 0;
	}

	rc = plan_conduit(t, ref, &p, reason, err, errlen);
	if (rc < 0)
		return rc;
	rc = plan_node(t, ref, &p, reason, err, errlen);
	if (rc < 0)
		return rc;
	if (p.no) {
		rc = check_room(p.no, ref, bridge, wall_ms, reason, err,
				errlen);
		if (rc < 0)
			return rc;
	}

	/* Everything that can fail for lack of memory happens here, before
	 * the first change. */
	rc = prepare(t, &p, ref->family, true, &f);
	if (rc < 0)
		goto fail_fresh;
	struct ipam_node *no = p.no ? p.no : f.no;
	uint64_t offset;
	if (ipam_rows_reserve(changes, 4) < 0 ||
	    (!bridge && ipam_slots_reserve(&no->addrs, 1) < 0))
		goto fail_fresh;
	f.ch = ipam_child_alloc(key, no, 1, bridge);
	if (!f.ch)
		goto fail_fresh;
	if (!bridge) {
		/* Purging the node's expired quarantine first makes those
		 * addresses free for "lowest first". Out of memory it may
		 * free nothing, and a node full of expired quarantine would
		 * still be full: then nothing has changed yet. Only an
		 * existing node has quarantine, so f holds just the child. */
		purge_node(no, wall_ms, changes, 4);
		if (ipam_slots_lowest(&no->addrs, &offset) < 0)
			goto fail_fresh;
	}

	commit(t, &p, &f, changes);
	ch = f.ch;
	if (!bridge) {
		(void)ipam_slots_take_lowest(&no->addrs, &ch->offset);
		ch->refreshed_ms = now_ms;
		list_add(t->leases.prev, &ch->lease);
		list_add(no->children.prev, &ch->link);
	} else {
		no->bridge = ch;
	}
	ipam_htab_put(&t->tab, ch->key, ch->hash, ch);
	no->n_children++;
	t->n_children++;
	struct ipam_row row = child_row(ch, false);
	add_row(changes, &row);
	fill_result(no, ch->offset, true, out);
	return 0;

fail_fresh:
	fresh_free(&f);
	*reason = IPAM_OK;
	return errtext(-ENOMEM, err, errlen, "out of memory");
}

int ipam_conduit_ensure(struct ipam_tree *t, const struct ipam_child_ref *ref,
			struct ipam_changes *changes, struct cidr *prefix,
			enum ipam_reason *reason, char *err, size_t errlen)
{
	enum ipam_reason dummy;
	struct path p;
	struct fresh f = { 0 };
	if (!reason)
		reason = &dummy;
	*reason = IPAM_OK;
	bury(t);
	int rc = check_ref(ref, 2, reason, err, errlen);
	if (rc < 0)
		return rc;
	rc = plan_conduit(t, ref, &p, reason, err, errlen);
	if (rc < 0)
		return rc;
	if (!p.co) {
		if (prepare(t, &p, ref->family, false, &f) < 0 ||
		    ipam_rows_reserve(changes, 2) < 0) {
			fresh_free(&f);
			return errtext(-ENOMEM, err, errlen, "out of memory");
		}
		commit(t, &p, &f, changes);
	}
	if (prefix)
		*prefix = p.co->prefix;
	return 0;
}

/* ---- release, leases, quarantine ---- */

/* Takes ch out of the tree with a DEL row and, unless it is the bridge, a
 * quarantine PUT; rows and heap room reserved. Its strings live on in
 * tree->dead until the next mutating call. */
static void unlink_child(struct ipam_tree *t, struct ipam_child *ch,
			 uint64_t wall_ms, struct ipam_changes *c)
{
	struct ipam_node *no = ch->node;
	ipam_htab_del(&t->tab, ch->key, ch->hash);
	list_del(&ch->lease);
	list_del(&ch->link);
	no->n_children--;
	t->n_children--;
	struct ipam_row row = child_row(ch, true);
	add_row(c, &row);
	if (ch->bridge) {
		no->bridge = NULL;
	} else {
		uint64_t until = wall_ms + t->cfg.reuse_delay_ms;
		if (until < wall_ms)
			until = UINT64_MAX;
		ipam_quar_push(t, no, ch->offset, until);
		struct ipam_row q = child_row(ch, false);
		q.kind = IPAM_ROW_QUARANTINE;
		q.name = NULL;
		q.bridge = false;
		q.until_ms = until;
		add_row(c, &q);
	}
	list_add(t->dead.prev, &ch->link);
}

int ipam_release(struct ipam_tree *t, const struct ipam_child_ref *ref,
		 uint64_t wall_ms, struct ipam_changes *changes, bool *existed,
		 struct cidr *address, char *err, size_t errlen)
{
	enum ipam_reason reason;
	char key[IPAM_KEY_MAX];
	bury(t);
	if (existed)
		*existed = false;
	int rc = check_ref(ref, 4, &reason, err, errlen);
	if (rc < 0)
		return rc;
	struct ipam_child *ch = lookup(t, ref, 4, key);
	if (!ch)
		return 0;
	if (ipam_rows_reserve(changes, 2) < 0 ||
	    (!ch->bridge && ipam_quar_reserve(ch->node) < 0))
		return errtext(-ENOMEM, err, errlen, "out of memory");
	if (address)
		*address = ipam_node_addr(ch->node, ch->offset);
	unlink_child(t, ch, wall_ms, changes);
	if (existed)
		*existed = true;
	return 0;
}

static size_t purge_all(struct ipam_tree *t, uint64_t wall_ms,
			struct ipam_changes *c)
{
	size_t n = 0;
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &t->quarantined) {
		struct ipam_node *no = list_entry(pos, struct ipam_node, qlink);
		size_t k = purge_node(no, wall_ms, c, 0);
		n += k;
		if (ipam_quar_expired(no, wall_ms))
			break; /* out of memory: the rest waits */
	}
	return n;
}

size_t ipam_purge(struct ipam_tree *t, uint64_t wall_ms,
		  struct ipam_changes *changes)
{
	bury(t);
	return purge_all(t, wall_ms, changes);
}

static bool lease_over(const struct ipam_tree *t, const struct ipam_child *ch,
		       uint64_t now_ms)
{
	return now_ms >= ch->refreshed_ms &&
	       now_ms - ch->refreshed_ms >= t->cfg.lease_ms;
}

size_t ipam_collect(struct ipam_tree *t, uint64_t now_ms, uint64_t wall_ms,
		    struct ipam_changes *changes)
{
	size_t n = 0;
	bury(t);
	while (!list_empty(&t->leases)) {
		struct ipam_child *ch =
			list_entry(t->leases.next, struct ipam_child, lease);
		if (!lease_over(t, ch, now_ms))
			break;
		if (ipam_rows_reserve(changes, 2) < 0 ||
		    ipam_quar_reserve(ch->node) < 0)
			break;
		unlink_child(t, ch, wall_ms, changes);
		n++;
	}
	purge_all(t, wall_ms, changes);
	return n;
}

uint64_t ipam_next_expiry(const struct ipam_tree *t)
{
	if (list_empty(&t->leases))
		return UINT64_MAX;
	const struct ipam_child *ch =
		list_entry(t->leases.next, struct ipam_child, lease);
	uint64_t at = ch->refreshed_ms + t->cfg.lease_ms;
	return at < ch->refreshed_ms ? UINT64_MAX : at;
}
