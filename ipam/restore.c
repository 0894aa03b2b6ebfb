/* Loading a stored tree, row by row, and the Arktos/Mizar integrity check
 * on the way: a row joins the tree only when it keeps every rule, so a
 * store that breaks one is refused at the first offending row, named. */
#include "tree_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errtext.h"

/* Enough for a row's description: four names, a prefix and the words. */
#define ROW_STRLEN (4 * (IPAM_NAME_MAX + 1) + CIDR_STRLEN + 64)

static const char *const kind_names[] = { "trench", "conduit", "node",
					  "child", "quarantine" };

/* How many names a row of the kind holds: trench ... child. */
static size_t row_levels(enum ipam_row_kind k)
{
	return k == IPAM_ROW_QUARANTINE ? 3 : (size_t)k + 1;
}

/* "child row trench-a/lb/node-2/pod-1 (IPv4, 169.255.17.5/24)", from a row
 * whose names and family have been checked. */
static void describe(const struct ipam_row *r, char *buf, size_t size)
{
	const char *names[] = { r->trench, r->conduit, r->node, r->name };
	char a[CIDR_STRLEN] = "?";
	int o = snprintf(buf, size, "%s row ", kind_names[r->kind]);
	for (size_t i = 0; i < row_levels(r->kind) && o >= 0 &&
			   (size_t)o < size;
	     i++)
		o += snprintf(buf + o, size - (size_t)o, "%s%s", i ? "/" : "",
			      names[i]);
	if (o < 0 || (size_t)o >= size)
		return;
	cidr_format(&r->prefix, a, sizeof(a));
	snprintf(buf + o, size - (size_t)o, " (%s, %s)",
		 ipam_family_name(r->family), a);
}

/* Checks what every row needs before it can be described. */
static int check_row(const struct ipam_row *r, char *err, size_t errlen)
{
	static const char *const what[] = { "trench", "conduit", "node",
					    "child" };
	const char *names[] = { r->trench, r->conduit, r->node, r->name };
	char msg[256];
	if ((unsigned)r->kind > IPAM_ROW_QUARANTINE)
		return errtext(-EINVAL, err, errlen, "a row of unknown kind %d",
			       (int)r->kind);
	for (size_t i = 0; i < row_levels(r->kind); i++)
		if (ipam_name_check(what[i], names[i], msg, sizeof(msg)) < 0)
			return errtext(-EINVAL, err, errlen, "%s row: %s",
				       kind_names[r->kind], msg);
	if (r->family != AF_INET && r->family != AF_INET6)
		return errtext(-EINVAL, err, errlen,
			       "%s row: family %d is neither IPv4 nor IPv6",
			       kind_names[r->kind], r->family);
	if (r->prefix.family != r->family ||
	    r->prefix.len > cidr_width(&r->prefix))
		return errtext(-EINVAL, err, errlen,
			       "%s row of %s: its prefix is not a valid %s one",
			       kind_names[r->kind], r->trench,
			       ipam_family_name(r->family));
	return 0;
}

static void *find(const struct ipam_tree *t, const struct ipam_row *r,
		  size_t levels, char *key)
{
	const char *names[] = { r->trench, r->conduit, r->node, r->name };
	ipam_key(key, r->family, names, levels);
	return ipam_htab_get(&t->tab, key, ipam_htab_hash(key));
}

static int restore_trench(struct ipam_tree *t, const struct ipam_row *r,
			  const char *d, char *err, size_t errlen)
{
	char key[IPAM_KEY_MAX], have[CIDR_STRLEN + 8], want[CIDR_STRLEN + 8];
	char msg[256];
	struct ipam_trench *tr = find(t, r, 1, key);
	if (tr && tr->live)
		return errtext(-EEXIST, err, errlen, "%s appears twice", d);
	const struct ipam_family_spec stored = {
		.prefix = r->prefix,
		.conduit_len = r->conduit_len,
		.node_len = r->node_len,
	};
	const struct ipam_family_spec *conf =
		tr ? &tr->spec : ipam_default_spec(t, r->family);
	if (!ipam_spec_equal(&stored, conf)) {
		ipam_spec_format(&stored, have, sizeof(have));
		ipam_spec_format(conf, want, sizeof(want));
		return errtext(-EINVAL, err, errlen,
			       "%s holds the tree %s but the configuration "
			       "says %s; refusing to renumber",
			       d, have, want);
	}
	if (ipam_spec_check(&stored, msg, sizeof(msg)) < 0)
		return errtext(-EINVAL, err, errlen, "%s: %s", d, msg);
	if (!tr) {
		if (ipam_htab_reserve(&t->tab, 1) < 0 ||
		    !(tr = ipam_trench_alloc(key, r->family, &stored)))
			return errtext(-ENOMEM, err, errlen, "out of memory");
		ipam_trench_link(t, tr);
	}
	tr->live = true;
	return 0;
}

/* Checks a conduit or node row's prefix against its parent and finds its
 * index. Parent prefix ppfx is cut into prefixes of sub_len. */
static int sub_index(const struct ipam_row *r, const struct cidr *ppfx,
		     unsigned sub_len, uint64_t *idx, const char *d,
		     char *err, size_t errlen)
{
	char p[CIDR_STRLEN];
	struct cidr masked = r->prefix;
	cidr_mask(&masked);
	cidr_format(ppfx, p, sizeof(p));
	if (r->prefix.len != sub_len)
		return errtext(-EINVAL, err, errlen,
			       "%s: the %s prefixes of %s are /%u", d,
			       kind_names[r->kind], p, sub_len);
	if (!cidr_equal(&masked, &r->prefix))
		return errtext(-EINVAL, err, errlen, "%s: host bits are set",
			       d);
	if (!cidr_contains(ppfx, &r->prefix))
		return errtext(-ERANGE, err, errlen,
			       "%s lies outside its parent's prefix %s", d, p);
	unsigned bits = sub_len - ppfx->len;
	ipam_u128 v = ipam_addr_get(&r->prefix) >>
		      (cidr_width(ppfx) - sub_len);
	if (bits < 128)
		v &= ((ipam_u128)1 << bits) - 1;
	if (v > UINT64_MAX)
		return errtext(-ERANGE, err, errlen,
			       "%s lies beyond the first 2^64 prefixes of %s",
			       d, p);
	*idx = (uint64_t)v;
	return 0;
}

static int restore_conduit(struct ipam_tree *t, const struct ipam_row *r,
			   const char *d, char *err, size_t errlen)
{
	char key[IPAM_KEY_MAX];
	uint64_t idx;
	struct ipam_trench *tr = find(t, r, 1, key);
	if (!tr || !tr->live)
		return errtext(-EINVAL, err, errlen,
			       "%s has no trench row before it", d);
	if (find(t, r, 2, key))
		return errtext(-EEXIST, err, errlen, "%s appears twice", d);
	int rc = sub_index(r, &tr->spec.prefix, tr->spec.conduit_len, &idx, d,
			   err, errlen);
	if (rc < 0)
		return rc;
	if (ipam_slots_used(&tr->conduits, idx)) {
		const char *other = "?";
		struct list_node *pos, *tmp;
		list_for_each_safe(pos, tmp, &tr->conduit_list) {
			struct ipam_conduit *o =
				list_entry(pos, struct ipam_conduit, link);
			if (o->index == idx)
				other = o->name;
		}
		return errtext(-EEXIST, err, errlen,
			       "%s overlaps conduit %s of the same trench", d,
			       other);
	}
	struct ipam_conduit *co;
	if (ipam_htab_reserve(&t->tab, 1) < 0 ||
	    ipam_slots_reserve(&tr->conduits, 1) < 0 ||
	    !(co = ipam_conduit_alloc(key, tr, idx)))
		return errtext(-ENOMEM, err, errlen, "out of memory");
	(void)ipam_slots_take(&tr->conduits, idx);
	ipam_conduit_link(t, co);
	return 0;
}

static int restore_node(struct ipam_tree *t, const struct ipam_row *r,
			const char *d, char *err, size_t errlen)
{
	char key[IPAM_KEY_MAX];
	uint64_t idx;
	struct ipam_conduit *co = find(t, r, 2, key);
	if (!co)
		return errtext(-EINVAL, err, errlen,
			       "%s has no conduit row before it", d);
	if (find(t, r, 3, key))
		return errtext(-EEXIST, err, errlen, "%s appears twice", d);
	int rc = sub_index(r, &co->prefix, co->trench->spec.node_len, &idx, d,
			   err, errlen);
	if (rc < 0)
		return rc;
	if (ipam_slots_used(&co->nodes, idx)) {
		const char *other = "?";
		struct list_node *pos, *tmp;
		list_for_each_safe(pos, tmp, &co->node_list) {
			struct ipam_node *o =
				list_entry(pos, struct ipam_node, link);
			if (o->index == idx)
				other = o->name;
		}
		return errtext(-EEXIST, err, errlen,
			       "%s overlaps node %s of the same conduit", d,
			       other);
	}
	struct ipam_node *no;
	if (ipam_htab_reserve(&t->tab, 1) < 0 ||
	    ipam_slots_reserve(&co->nodes, 1) < 0 ||
	    !(no = ipam_node_alloc(key, co, idx)))
		return errtext(-ENOMEM, err, errlen, "out of memory");
	(void)ipam_slots_take(&co->nodes, idx);
	ipam_node_link(t, no);
	return 0;
}

/* Checks a child or quarantine row's address against its node and finds
 * its offset; says who holds it already. */
static int address_offset(const struct ipam_node *no, const struct ipam_row *r,
			  uint64_t *offset, const char *d, char *err,
			  size_t errlen)
{
	char p[CIDR_STRLEN];
	bool bridge = r->kind == IPAM_ROW_CHILD && r->bridge;
	cidr_format(&no->prefix, p, sizeof(p));
	if (r->prefix.len != no->prefix.len)
		return errtext(-EINVAL, err, errlen,
			       "%s: the address must carry its node prefix "
			       "length /%u",
			       d, no->prefix.len);
	if (!cidr_contains(&no->prefix, &r->prefix))
		return errtext(-ERANGE, err, errlen,
			       "%s lies outside its node prefix %s", d, p);
	uint64_t off = (uint64_t)(ipam_addr_get(&r->prefix) -
				  ipam_addr_get(&no->prefix));
	if (off == 0 || off == no->last)
		return errtext(-ERANGE, err, errlen,
			       "%s holds the %s address of node prefix %s", d,
			       off ? "last" : "network", p);
	if (bridge && off != 1)
		return errtext(-ERANGE, err, errlen,
			       "%s: a bridge must hold the first host address "
			       "of %s",
			       d, p);
	if (!bridge && off == 1)
		return errtext(-ERANGE, err, errlen,
			       "%s holds the bridge address of %s but is no "
			       "bridge",
			       d, p);
	if (bridge && no->bridge)
		return errtext(-EEXIST, err, errlen,
			       "%s: the bridge is child %s already", d,
			       no->bridge->name);
	if (!bridge && ipam_slots_used(&no->addrs, off)) {
		struct list_node *pos, *tmp;
		list_for_each_safe(pos, tmp, &no->children) {
			struct ipam_child *o =
				list_entry(pos, struct ipam_child, link);
			if (o->offset == off)
				return errtext(-EEXIST, err, errlen,
					       "%s shares its address with "
					       "child %s",
					       d, o->name);
		}
		return errtext(-EEXIST, err, errlen,
			       "%s shares its address with a quarantine entry",
			       d);
	}
	*offset = off;
	return 0;
}

static int restore_child(struct ipam_tree *t, const struct ipam_row *r,
			 uint64_t now_ms, const char *d, char *err,
			 size_t errlen)
{
	char key[IPAM_KEY_MAX];
	uint64_t off;
	struct ipam_node *no = find(t, r, 3, key);
	if (!no)
		return errtext(-EINVAL, err, errlen,
			       "%s has no node row before it", d);
	if (find(t, r, 4, key))
		return errtext(-EEXIST, err, errlen, "%s appears twice", d);
	int rc = address_offset(no, r, &off, d, err, errlen);
	if (rc < 0)
		return rc;
	struct ipam_child *ch;
	if (ipam_htab_reserve(&t->tab, 1) < 0 ||
	    ipam_slots_reserve(&no->addrs, 1) < 0 ||
	    !(ch = ipam_child_alloc(key, no, off, r->bridge)))
		return errtext(-ENOMEM, err, errlen, "out of memory");
	ipam_htab_put(&t->tab, ch->key, ch->hash, ch);
	if (r->bridge) {
		no->bridge = ch;
	} else {
		(void)ipam_slots_take(&no->addrs, off);
		ch->refreshed_ms = now_ms;
		list_add(t->leases.prev, &ch->lease);
		list_add(no->children.prev, &ch->link);
	}
	no->n_children++;
	t->n_children++;
	return 0;
}

static int restore_quarantine(struct ipam_tree *t, const struct ipam_row *r,
			      const char *d, char *err, size_t errlen)
{
	char key[IPAM_KEY_MAX];
	uint64_t off;
	struct ipam_node *no = find(t, r, 3, key);
	if (!no)
		return errtext(-EINVAL, err, errlen,
			       "%s has no node row before it", d);
	int rc = address_offset(no, r, &off, d, err, errlen);
	if (rc < 0)
		return rc;
	if (ipam_quar_reserve(no) < 0 || ipam_slots_reserve(&no->addrs, 1) < 0)
		return errtext(-ENOMEM, err, errlen, "out of memory");
	(void)ipam_slots_take(&no->addrs, off);
	ipam_quar_push(t, no, off, r->until_ms);
	return 0;
}

int ipam_tree_restore(struct ipam_tree *t, const struct ipam_row *row,
		      uint64_t now_ms, char *err, size_t errlen)
{
	char d[ROW_STRLEN];
	int rc = check_row(row, err, errlen);
	if (rc < 0)
		return rc;
	describe(row, d, sizeof(d));
	if (row->del)
		return errtext(-EINVAL, err, errlen,
			       "%s is a DEL; only stored rows can be restored",
			       d);
	switch (row->kind) {
	case IPAM_ROW_TRENCH:
		return restore_trench(t, row, d, err, errlen);
	case IPAM_ROW_CONDUIT:
		return restore_conduit(t, row, d, err, errlen);
	case IPAM_ROW_NODE:
		return restore_node(t, row, d, err, errlen);
	case IPAM_ROW_CHILD:
		return restore_child(t, row, now_ms, d, err, errlen);
	case IPAM_ROW_QUARANTINE:
		return restore_quarantine(t, row, d, err, errlen);
	}
	return -EINVAL;
}
