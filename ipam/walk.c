/* Read-only walks of the tree, for List, Tree and /metrics. */
#include "tree_int.h"

#include <stdlib.h>
#include <string.h>

static bool match(const char *want, const char *have)
{
	return !want || !want[0] || strcmp(want, have) == 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct ipam_child *x = *(const struct ipam_child *const *)a;
	const struct ipam_child *y = *(const struct ipam_child *const *)b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void visit(const struct ipam_child *ch,
		  void (*fn)(const struct ipam_child_view *v, void *data),
		  void *data)
{
	const struct ipam_node *no = ch->node;
	const struct ipam_conduit *co = no->conduit;
	struct ipam_child_view v = {
		.trench = co->trench->name,
		.conduit = co->name,
		.node = no->name,
		.name = ch->name,
		.family = co->trench->family,
		.address = ipam_node_addr(no, ch->offset),
		.bridge = ch->bridge,
		.refreshed_ms = ch->refreshed_ms,
	};
	fn(&v, data);
}

/* Visits a node's children by address. The sort needs a buffer (sorted is
 * what a reader of `straitctl ipam list` expects); without memory for it
 * they come in the order they were allocated. */
static void visit_node(const struct ipam_node *no, const struct ipam_child **buf,
		       void (*fn)(const struct ipam_child_view *v, void *data),
		       void *data)
{
	struct list_node *pos, *tmp;
	if (no->bridge)
		visit(no->bridge, fn, data);
	if (!buf) {
		list_for_each_safe(pos, tmp, &no->children)
			visit(list_entry(pos, struct ipam_child, link), fn,
			      data);
		return;
	}
	size_t n = 0;
	list_for_each_safe(pos, tmp, &no->children)
		buf[n++] = list_entry(pos, struct ipam_child, link);
	qsort(buf, n, sizeof(*buf), by_offset);
	for (size_t i = 0; i < n; i++)
		visit(buf[i], fn, data);
}

size_t ipam_tree_walk_children(const struct ipam_tree *t,
			       const struct ipam_filter *f,
			       void (*fn)(const struct ipam_child_view *v,
					  void *data),
			       void *data)
{
	static const struct ipam_filter all;
	struct list_node *a, *at, *b, *bt, *c, *ct;
	size_t visited = 0, most = 0;
	if (!f)
		f = &all;
	/* One buffer for the largest node visited, not one per node. */
	list_for_each_safe(a, at, &t->trenches) {
		struct ipam_trench *tr = list_entry(a, struct ipam_trench, link);
		if (!tr->live || !match(f->trench, tr->name) ||
		    (f->family && f->family != tr->family))
			continue;
		list_for_each_safe(b, bt, &tr->conduit_list) {
			struct ipam_conduit *co =
				list_entry(b, struct ipam_conduit, link);
			if (!match(f->conduit, co->name))
				continue;
			list_for_each_safe(c, ct, &co->node_list) {
				struct ipam_node *no =
					list_entry(c, struct ipam_node, link);
				if (!match(f->node, no->name))
					continue;
				if (no->n_children > most)
					most = no->n_children;
				visited += no->n_children;
			}
		}
	}
	const struct ipam_child **buf = most ? malloc(most * sizeof(*buf))
					     : NULL;
	list_for_each_safe(a, at, &t->trenches) {
		struct ipam_trench *tr = list_entry(a, struct ipam_trench, link);
		if (!tr->live || !match(f->trench, tr->name) ||
		    (f->family && f->family != tr->family))
			continue;
		list_for_each_safe(b, bt, &tr->conduit_list) {
			struct ipam_conduit *co =
				list_entry(b, struct ipam_conduit, link);
			if (!match(f->conduit, co->name))
				continue;
			list_for_each_safe(c, ct, &co->node_list) {
				struct ipam_node *no =
					list_entry(c, struct ipam_node, link);
				if (match(f->node, no->name))
					visit_node(no, buf, fn, data);
			}
		}
	}
	free(buf);
	return visited;
}

/* 2^(sub_len - len) sub-prefixes, saturated. */
static uint64_t capacity(unsigned len, unsigned sub_len)
{
	uint64_t last = ipam_last_index(len, sub_len);
	return last == UINT64_MAX ? UINT64_MAX : last + 1;
}

void ipam_tree_walk_prefixes(const struct ipam_tree *t, const char *trench,
			     void (*fn)(const struct ipam_prefix_view *v,
					void *data),
			     void *data)
{
	struct list_node *a, *at, *b, *bt, *c, *ct;
	list_for_each_safe(a, at, &t->trenches) {
		struct ipam_trench *tr = list_entry(a, struct ipam_trench, link);
		if (!tr->live || !match(trench, tr->name))
			continue;
		const struct ipam_family_spec *s = &tr->spec;
		struct ipam_prefix_view v = {
			.level = IPAM_LEVEL_TRENCH,
			.trench = tr->name,
			.family = tr->family,
			.prefix = s->prefix,
			.capacity = capacity(s->prefix.len, s->conduit_len),
			.used = ipam_slots_count(&tr->conduits),
		};
		fn(&v, data);
		list_for_each_safe(b, bt, &tr->conduit_list) {
			struct ipam_conduit *co =
				list_entry(b, struct ipam_conduit, link);
			v.level = IPAM_LEVEL_CONDUIT;
			v.conduit = co->name;
			v.node = NULL;
			v.prefix = co->prefix;
			v.capacity = capacity(s->conduit_len, s->node_len);
			v.used = ipam_slots_count(&co->nodes);
			v.quarantined = 0;
			fn(&v, data);
			list_for_each_safe(c, ct, &co->node_list) {
				struct ipam_node *no =
					list_entry(c, struct ipam_node, link);
				v.level = IPAM_LEVEL_NODE;
				v.node = no->name;
				v.prefix = no->prefix;
				/* Every offset but the network and the last:
				 * 1 .. last - 1. */
				v.capacity = no->last - 1;
				v.used = no->n_children;
				v.quarantined = no->nq;
				fn(&v, data);
			}
		}
	}
}
