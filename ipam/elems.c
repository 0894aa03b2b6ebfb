/* The elements of the tree (tree_int.h): their keys, prefixes and
 * addresses, their allocation, order and freeing, and a node's quarantine
 * heap. tree.c changes the tree with them; restore.c rebuilds it. */
#include "tree_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers shared with restore.c and walk.c ---- */

void ipam_key(char *buf, int family, const char *const *names, size_t n)
{
	size_t o = 0;
	buf[o++] = family == AF_INET ? '4' : '6';
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		buf[o++] = '|';
		memcpy(buf + o, names[i], len);
		o += len;
	}
	buf[o] = '\0';
}

const struct ipam_family_spec *ipam_default_spec(const struct ipam_tree *t,
						 int family)
{
	return family == AF_INET ? &t->cfg.v4 : &t->cfg.v6;
}

bool ipam_spec_equal(const struct ipam_family_spec *a,
		     const struct ipam_family_spec *b)
{
	return cidr_equal(&a->prefix, &b->prefix) &&
	       a->conduit_len == b->conduit_len && a->node_len == b->node_len;
}

const char *ipam_family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

uint64_t ipam_last_index(unsigned len, unsigned sub_len)
{
	unsigned bits = sub_len - len;
	return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

ipam_u128 ipam_addr_get(const struct cidr *c)
{
	ipam_u128 v = 0;
	for (unsigned i = 0; i < cidr_width(c) / 8; i++)
		v = v << 8 | c->addr[i];
	return v;
}

void ipam_addr_set(struct cidr *c, ipam_u128 v)
{
	for (unsigned i = cidr_width(c) / 8; i-- > 0; v >>= 8)
		c->addr[i] = (uint8_t)v;
}

/* The prefix of sub-prefix index idx of parent, with length sub_len. */
static struct cidr sub_prefix(const struct cidr *parent, unsigned sub_len,
			      uint64_t idx)
{
	struct cidr c = *parent;
	c.len = (uint8_t)sub_len;
	unsigned shift = cidr_width(parent) - sub_len;
	ipam_addr_set(&c, ipam_addr_get(parent) | (ipam_u128)idx << shift);
	return c;
}

struct cidr ipam_node_addr(const struct ipam_node *no, uint64_t offset)
{
	struct cidr c = no->prefix;
	ipam_addr_set(&c, ipam_addr_get(&c) | offset);
	return c;
}

int ipam_rows_reserve(struct ipam_changes *c, size_t k)
{
	/* rows.h offers only an append; appending placeholders and cutting
	 * them off grows the array without a second allocator of its rows. */
	static const struct ipam_row none;
	size_t n0 = c->n;
	while (c->cap < n0 + k) {
		if (ipam_changes_add(c, &none) < 0) {
			c->n = n0;
			return -ENOMEM;
		}
	}
	c->n = n0;
	return 0;
}

/* ---- elements ---- */

/* Copies key and points *name at its last component. */
static char *dup_key(const char *key, const char **name, uint64_t *hash)
{
	char *k = strdup(key);
	if (!k)
		return NULL;
	*name = strrchr(k, '|') + 1;
	*hash = ipam_htab_hash(k);
	return k;
}

struct ipam_trench *ipam_trench_alloc(const char *key, int family,
				      const struct ipam_family_spec *spec)
{
	struct ipam_trench *tr = calloc(1, sizeof(*tr));
	if (!tr)
		return NULL;
	tr->key = dup_key(key, &tr->name, &tr->hash);
	if (!tr->key) {
		free(tr);
		return NULL;
	}
	tr->family = family;
	tr->spec = *spec;
	/* A spec that cannot form a tree gets an empty span; it is refused
	 * before any index is taken (prefix_cannot_fit). */
	uint64_t last = spec->conduit_len > spec->prefix.len
				? ipam_last_index(spec->prefix.len,
						  spec->conduit_len)
				: 0;
	ipam_slots_init(&tr->conduits, 0, last);
	list_init(&tr->link);
	list_init(&tr->conduit_list);
	return tr;
}

struct ipam_conduit *ipam_conduit_alloc(const char *key,
					struct ipam_trench *tr, uint64_t index)
{
	struct ipam_conduit *co = calloc(1, sizeof(*co));
	if (!co)
		return NULL;
	co->key = dup_key(key, &co->name, &co->hash);
	if (!co->key) {
		free(co);
		return NULL;
	}
	co->trench = tr;
	co->index = index;
	co->prefix = sub_prefix(&tr->spec.prefix, tr->spec.conduit_len, index);
	ipam_slots_init(&co->nodes, 0,
			ipam_last_index(tr->spec.conduit_len,
					tr->spec.node_len));
	list_init(&co->link);
	list_init(&co->node_list);
	return co;
}

struct ipam_node *ipam_node_alloc(const char *key, struct ipam_conduit *co,
				  uint64_t index)
{
	struct ipam_node *no = calloc(1, sizeof(*no));
	if (!no)
		return NULL;
	no->key = dup_key(key, &no->name, &no->hash);
	if (!no->key) {
		free(no);
		return NULL;
	}
	const struct ipam_family_spec *s = &co->trench->spec;
	no->conduit = co;
	no->index = index;
	no->prefix = sub_prefix(&co->prefix, s->node_len, index);
	no->last = ipam_last_index(s->node_len, cidr_width(&s->prefix));
	ipam_slots_init(&no->addrs, 2, no->last - 1);
	list_init(&no->link);
	list_init(&no->children);
	list_init(&no->qlink);
	return no;
}

struct ipam_child *ipam_child_alloc(const char *key, struct ipam_node *no,
				    uint64_t offset, bool bridge)
{
	struct ipam_child *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->key = dup_key(key, &ch->name, &ch->hash);
	if (!ch->key) {
		free(ch);
		return NULL;
	}
	ch->node = no;
	ch->offset = offset;
	ch->bridge = bridge;
	list_init(&ch->link);
	list_init(&ch->lease);
	return ch;
}

void ipam_child_free(struct ipam_child *ch)
{
	if (ch) {
		free(ch->key);
		free(ch);
	}
}

void ipam_node_free(struct ipam_node *no)
{
	if (!no)
		return;
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &no->children)
		ipam_child_free(list_entry(pos, struct ipam_child, link));
	ipam_child_free(no->bridge);
	ipam_slots_destroy(&no->addrs);
	free(no->quar);
	free(no->key);
	free(no);
}

void ipam_conduit_free(struct ipam_conduit *co)
{
	if (!co)
		return;
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &co->node_list)
		ipam_node_free(list_entry(pos, struct ipam_node, link));
	ipam_slots_destroy(&co->nodes);
	free(co->key);
	free(co);
}

void ipam_trench_free(struct ipam_trench *tr)
{
	if (!tr)
		return;
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &tr->conduit_list)
		ipam_conduit_free(list_entry(pos, struct ipam_conduit, link));
	ipam_slots_destroy(&tr->conduits);
	free(tr->key);
	free(tr);
}

/* Inserts n before the first element of head for which after(n, elem) is
 * false; lists of trenches, conduits and nodes are short (at most a few
 * hundred), so a linear walk keeps them in order cheaply. */
#define INSERT_SORTED(head, n, type, member, before)                           \
	do {                                                                   \
		struct list_node *p_ = (head)->next;                           \
		while (p_ != (head) &&                                         \
		       !(before((n), list_entry(p_, type, member))))           \
			p_ = p_->next;                                         \
		list_add(p_->prev, &(n)->member);                              \
	} while (0)

static bool trench_before(const struct ipam_trench *a,
			  const struct ipam_trench *b)
{
	int c = strcmp(a->name, b->name);
	return c < 0 || (c == 0 && a->family == AF_INET);
}

static bool conduit_before(const struct ipam_conduit *a,
			   const struct ipam_conduit *b)
{
	return a->index < b->index;
}

static bool node_before(const struct ipam_node *a, const struct ipam_node *b)
{
	return a->index < b->index;
}

void ipam_trench_link(struct ipam_tree *t, struct ipam_trench *tr)
{
	ipam_htab_put(&t->tab, tr->key, tr->hash, tr);
	INSERT_SORTED(&t->trenches, tr, struct ipam_trench, link,
		      trench_before);
}

void ipam_conduit_link(struct ipam_tree *t, struct ipam_conduit *co)
{
	ipam_htab_put(&t->tab, co->key, co->hash, co);
	INSERT_SORTED(&co->trench->conduit_list, co, struct ipam_conduit, link,
		      conduit_before);
}

void ipam_node_link(struct ipam_tree *t, struct ipam_node *no)
{
	ipam_htab_put(&t->tab, no->key, no->hash, no);
	INSERT_SORTED(&no->conduit->node_list, no, struct ipam_node, link,
		      node_before);
}

/* ---- the quarantine heap of a node ---- */

int ipam_quar_reserve(struct ipam_node *no)
{
	if (no->nq < no->qcap)
		return 0;
	size_t cap = no->qcap ? 2 * no->qcap : 8;
	struct ipam_quar *q = realloc(no->quar, cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	no->quar = q;
	no->qcap = cap;
	return 0;
}

void ipam_quar_push(struct ipam_tree *t, struct ipam_node *no,
		    uint64_t offset, uint64_t until_ms)
{
	if (no->nq == 0)
		list_add(t->quarantined.prev, &no->qlink);
	size_t i = no->nq++;
	while (i > 0 && no->quar[(i - 1) / 2].until_ms > until_ms) {
		no->quar[i] = no->quar[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	no->quar[i] = (struct ipam_quar){ until_ms, offset };
}

struct ipam_quar ipam_quar_pop(struct ipam_node *no)
{
	struct ipam_quar top = no->quar[0], x = no->quar[--no->nq];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= no->nq)
			break;
		if (c + 1 < no->nq &&
		    no->quar[c + 1].until_ms < no->quar[c].until_ms)
			c++;
		if (no->quar[c].until_ms >= x.until_ms)
			break;
		no->quar[i] = no->quar[c];
		i = c;
	}
	if (no->nq)
		no->quar[i] = x;
	else
		list_del(&no->qlink);
	return top;
}

