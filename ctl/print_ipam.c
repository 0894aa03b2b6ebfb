/* strait-ipam's answers as straitctl prints them. See print_ipam.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "print_ipam.h"
#include "table.h"

const char *ctl_ipam_family_name(int family)
{
	switch (family) {
	case IPAM__FAMILY__FAMILY_UNSPECIFIED:
		return "unspecified";
	case IPAM__FAMILY__IPV4:
		return "ipv4";
	case IPAM__FAMILY__IPV6:
		return "ipv6";
	}
	return "unknown";
}

static const char *const family_keys[2] = {"ipv4", "ipv6"};

static const char *str(const char *s)
{
	return s ? s : "";
}

static const char *yes_no(protobuf_c_boolean v)
{
	return v ? "yes" : "no";
}

int ctl_allocate_json(struct json *j, const Ipam__AllocateResponse *resp[2])
{
	json_object_begin(j);
	for (size_t f = 0; f < 2; f++) {
		const Ipam__AllocateResponse *r = resp[f];
		if (!r)
			continue;
		json_key(j, family_keys[f]);
		json_object_begin(j);
		json_key(j, "address");
		json_string(j, str(r->address));
		json_key(j, "node_prefix");
		json_string(j, str(r->node_prefix));
		json_key(j, "gateway");
		json_string(j, str(r->gateway));
		json_key(j, "created");
		json_bool(j, r->created);
		json_object_end(j);
	}
	return json_object_end(j);
}

int ctl_allocate_table(struct buf *b, const Ipam__AllocateResponse *resp[2])
{
	static const char *const head[] = {"FAMILY", "ADDRESS", "NODE-PREFIX",
					   "GATEWAY", "CREATED"};
	struct ctl_table tab;
	ctl_table_init(&tab, 5);
	int err = ctl_table_add(&tab, head);
	for (size_t f = 0; f < 2 && !err; f++) {
		const Ipam__AllocateResponse *r = resp[f];
		if (!r)
			continue;
		const char *cells[] = {family_keys[f], r->address,
				       r->node_prefix, r->gateway,
				       yes_no(r->created)};
		err = ctl_table_add(&tab, cells);
	}
	if (!err)
		err = ctl_table_render(&tab, b, "");
	ctl_table_free(&tab);
	return err;
}

int ctl_release_json(struct json *j, const Ipam__ReleaseResponse *resp[2])
{
	json_object_begin(j);
	for (size_t f = 0; f < 2; f++) {
		const Ipam__ReleaseResponse *r = resp[f];
		if (!r)
			continue;
		json_key(j, family_keys[f]);
		json_object_begin(j);
		json_key(j, "existed");
		json_bool(j, r->existed);
		json_key(j, "address");
		json_string(j, str(r->address));
		json_object_end(j);
	}
	return json_object_end(j);
}

int ctl_release_table(struct buf *b, const Ipam__ReleaseResponse *resp[2])
{
	static const char *const head[] = {"FAMILY", "EXISTED", "ADDRESS"};
	struct ctl_table tab;
	ctl_table_init(&tab, 3);
	int err = ctl_table_add(&tab, head);
	for (size_t f = 0; f < 2 && !err; f++) {
		const Ipam__ReleaseResponse *r = resp[f];
		if (!r)
			continue;
		const char *cells[] = {family_keys[f], yes_no(r->existed),
				       r->address};
		err = ctl_table_add(&tab, cells);
	}
	if (!err)
		err = ctl_table_render(&tab, b, "");
	ctl_table_free(&tab);
	return err;
}

int ctl_allocations_json(struct json *j, const Ipam__ListResponse *resp)
{
	static const Ipam__Child none = IPAM__CHILD__INIT;
	json_object_begin(j);
	json_key(j, "allocations");
	json_array_begin(j);
	for (size_t i = 0; i < resp->n_allocations; i++) {
		const Ipam__Allocation *a = resp->allocations[i];
		const Ipam__Child *c = a->child ? a->child : &none;
		json_object_begin(j);
		json_key(j, "trench");
		json_string(j, str(c->trench));
		json_key(j, "conduit");
		json_string(j, str(c->conduit));
		json_key(j, "node");
		json_string(j, str(c->node));
		json_key(j, "name");
		json_string(j, str(c->name));
		json_key(j, "family");
		json_string(j, ctl_ipam_family_name(c->family));
		json_key(j, "address");
		json_string(j, str(a->address));
		json_key(j, "bridge");
		json_bool(j, a->bridge);
		json_object_end(j);
	}
	json_array_end(j);
	return json_object_end(j);
}

int ctl_allocations_table(struct buf *b, const Ipam__ListResponse *resp)
{
	static const char *const head[] = {"TRENCH", "CONDUIT", "NODE",
					   "NAME",   "FAMILY",  "ADDRESS",
					   "BRIDGE"};
	static const Ipam__Child none = IPAM__CHILD__INIT;
	if (!resp->n_allocations)
		return 0;
	struct ctl_table tab;
	ctl_table_init(&tab, 7);
	int err = ctl_table_add(&tab, head);
	for (size_t i = 0; i < resp->n_allocations && !err; i++) {
		const Ipam__Allocation *a = resp->allocations[i];
		const Ipam__Child *c = a->child ? a->child : &none;
		const char *cells[] = {
		    c->trench,	c->conduit, c->node,
		    c->name,	ctl_ipam_family_name(c->family),
		    a->address, yes_no(a->bridge),
		};
		err = ctl_table_add(&tab, cells);
	}
	if (!err)
		err = ctl_table_render(&tab, b, "");
	ctl_table_free(&tab);
	return err;
}

static int prefix_json(struct json *j, const Ipam__PrefixUsage *p,
		       unsigned depth)
{
	if (depth >= CTL_TREE_MAX_DEPTH)
		return -E2BIG;
	json_object_begin(j);
	json_key(j, "kind");
	json_string(j, str(p->kind));
	json_key(j, "name");
	json_string(j, str(p->name));
	json_key(j, "family");
	json_string(j, ctl_ipam_family_name(p->family));
	json_key(j, "prefix");
	json_string(j, str(p->prefix));
	json_key(j, "capacity");
	json_uint(j, p->capacity);
	json_key(j, "used");
	json_uint(j, p->used);
	json_key(j, "quarantined");
	json_uint(j, p->quarantined);
	json_key(j, "children");
	int err = json_array_begin(j);
	for (size_t i = 0; i < p->n_children && !err; i++)
		err = prefix_json(j, p->children[i], depth + 1);
	if (err)
		return err;
	json_array_end(j);
	return json_object_end(j);
}

int ctl_tree_json(struct json *j, const Ipam__TreeResponse *resp)
{
	json_object_begin(j);
	json_key(j, "trenches");
	int err = json_array_begin(j);
	for (size_t i = 0; i < resp->n_trenches && !err; i++)
		err = prefix_json(j, resp->trenches[i], 0);
	if (err)
		return err;
	json_array_end(j);
	return json_object_end(j);
}

/* What a prefix holds, by its kind. */
static const char *unit(const char *kind)
{
	if (strcmp(kind, "trench") == 0)
		return "conduits";
	if (strcmp(kind, "conduit") == 0)
		return "nodes";
	if (strcmp(kind, "node") == 0)
		return "addresses";
	return "used";
}

/* One row per prefix: the name indented by level (a trench's with its
 * family, since a trench has one tree per family), the prefix, the use. */
static int prefix_rows(struct ctl_table *tab, const Ipam__PrefixUsage *p,
		       unsigned depth)
{
	if (depth >= CTL_TREE_MAX_DEPTH)
		return -E2BIG;
	const char *kind = str(p->kind);
	struct buf label = {0}, use = {0};
	int err = buf_printf(&label, "%*s", (int)(2 * depth), "");
	if (!err)
		err = buf_puts(&label, str(p->name));
	if (!err && depth == 0)
		err = buf_printf(&label, " %s",
				 ctl_ipam_family_name(p->family));
	if (!err)
		err = buf_printf(&use, "%s %" PRIu64 "/%" PRIu64, unit(kind),
				 p->used, p->capacity);
	if (!err && (p->quarantined || strcmp(kind, "node") == 0))
		err = buf_printf(&use, " (%" PRIu64 " quarantined)",
				 p->quarantined);
	if (!err) {
		const char *cells[] = {buf_str(&label), p->prefix,
				       buf_str(&use)};
		err = ctl_table_add(tab, cells);
	}
	buf_free(&label);
	buf_free(&use);
	for (size_t i = 0; i < p->n_children && !err; i++)
		err = prefix_rows(tab, p->children[i], depth + 1);
	return err;
}

int ctl_tree_text(struct buf *b, const Ipam__TreeResponse *resp)
{
	struct ctl_table tab;
	ctl_table_init(&tab, 3);
	int err = 0;
	for (size_t i = 0; i < resp->n_trenches && !err; i++)
		err = prefix_rows(&tab, resp->trenches[i], 0);
	if (!err)
		err = ctl_table_render(&tab, b, "");
	ctl_table_free(&tab);
	return err;
}
