#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_item.h"
#include "config_yaml.h"

const char *const nsp_config_file[NSP_CFG_KINDS] = {
    [NSP_CFG_TRENCH] = "trench",     [NSP_CFG_CONDUITS] = "conduits",
    [NSP_CFG_STREAMS] = "streams",   [NSP_CFG_FLOWS] = "flows",
    [NSP_CFG_VIPS] = "vips",	     [NSP_CFG_ATTRACTORS] = "attractors",
    [NSP_CFG_GATEWAYS] = "gateways", [NSP_CFG_SERVICES] = "services",
};

/* Files are read so that every reference points back to a kind already
 * read and sorted: a flow names a stream and VIPs, a stream a conduit, a
 * conduit's port NATs VIPs, an attractor VIPs, gateways and conduits; a
 * service's addresses are checked against the VIPs'. */
static const enum nsp_config_kind order[NSP_CFG_KINDS] = {
    NSP_CFG_TRENCH,  NSP_CFG_VIPS,  NSP_CFG_GATEWAYS,	NSP_CFG_CONDUITS,
    NSP_CFG_STREAMS, NSP_CFG_FLOWS, NSP_CFG_ATTRACTORS, NSP_CFG_SERVICES,
};

/* The message's name, or its other string field named field. */
static const char *text_field(const ProtobufCMessage *msg, const char *field)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(msg->descriptor,
							    field);

	return f ? *(char *const *)((const char *)msg + f->offset) : NULL;
}

static int cmp_by_name(const void *a, const void *b)
{
	const struct cfg_entry *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	/* Ties in file order, so that the later duplicate is the one named. */
	return d ? d : (x->index > y->index) - (x->index < y->index);
}

/* Sorts a kind by name and refuses a name used twice; for VIPs and
 * gateways also an address used twice. */
static int sort_and_check(struct cfg_ctx *c, struct cfg_items *it)
{
	struct cfg_entry *tmp;
	const char *field = NULL;
	int rc = 0;

	qsort(it->v, it->n, sizeof(*it->v), cmp_by_name);
	for (size_t i = 1; i < it->n; i++) {
		if (strcmp(it->v[i - 1].name, it->v[i].name) != 0)
			continue;
		c->index = it->v[i].index;
		c->name = it->v[i].name;
		return cfg_fail(c, nsp_yaml_get(it->v[i].node, "name"), "name",
				"\"%s\" is already the name of item %zu",
				it->v[i].name, it->v[i - 1].index);
	}
	if (c->kind == NSP_CFG_VIPS || c->kind == NSP_CFG_GATEWAYS)
		field = "address";
	if (!field || it->n < 2)
		return 0;
	/* Addresses are canonical already, so equal text is equal address. */
	tmp = malloc(it->n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < it->n; i++) {
		tmp[i] = it->v[i];
		tmp[i].name = text_field(tmp[i].msg, field);
	}
	qsort(tmp, it->n, sizeof(*tmp), cmp_by_name);
	for (size_t i = 1; i < it->n && rc == 0; i++) {
		if (strcmp(tmp[i - 1].name, tmp[i].name) != 0)
			continue;
		c->index = tmp[i].index;
		c->name = text_field(tmp[i].msg, "name");
		rc = cfg_fail(c, nsp_yaml_get(tmp[i].node, field), field,
			      "%s is already the address of item %zu (%s)",
			      tmp[i].name, tmp[i - 1].index,
			      text_field(tmp[i - 1].msg, "name"));
	}
	free(tmp);
	return rc;
}

static int read_items(struct cfg_ctx *c, const struct nsp_yaml_node *root)
{
	struct cfg_items *it = &c->items[c->kind];
	const struct nsp_yaml_node *items = NULL;
	int rc;

	if (root->type != NSP_YAML_MAP)
		return cfg_fail(c, root, NULL,
				"expected a mapping with \"items\"");
	for (size_t i = 0; i + 1 < root->n_kids; i += 2) {
		char q[CFG_QUOTE];

		if (strcmp(root->kids[i]->text, "items") != 0)
			return cfg_fail(
			    c, root->kids[i], NULL,
			    "%s: unknown field (expected "
			    "\"items\")",
			    cfg_quote(root->kids[i]->text, q, sizeof(q)));
		if (items)
			return cfg_fail(c, root->kids[i], "items",
					"given twice");
		items = root->kids[i + 1];
	}
	if (!items || nsp_yaml_is_null(items))
		return 0;
	if (items->type != NSP_YAML_SEQ)
		return cfg_fail(c, items, "items", "expected a list");
	if (items->n_kids > NSP_CONFIG_MAX_ITEMS)
		return cfg_fail(c, items, "items", "more than %d items",
				NSP_CONFIG_MAX_ITEMS);
	if (items->n_kids == 0)
		return 0;
	it->v = calloc(items->n_kids, sizeof(*it->v));
	if (!it->v)
		return -ENOMEM;
	for (size_t i = 0; i < items->n_kids; i++) {
		struct cfg_entry *e = &it->v[i];

		c->index = i + 1;
		c->name = NULL;
		rc = cfg_item_decode(c, items->kids[i], &e->msg);
		if (rc < 0)
			return rc;
		e->name = text_field(e->msg, "name");
		e->node = items->kids[i];
		e->index = i + 1;
		it->n++;
	}
	c->index = 0;
	c->name = NULL;
	rc = sort_and_check(c, it);
	if (rc == 0 && cfg_kinds[c->kind].post_all)
		rc = cfg_kinds[c->kind].post_all(c, it);
	return rc;
}

static int read_trench(struct cfg_ctx *c, const struct nsp_yaml_node *root,
		       const char *default_trench)
{
	struct cfg_items *it = &c->items[NSP_CFG_TRENCH];
	int rc;

	it->v = calloc(1, sizeof(*it->v));
	if (!it->v)
		return -ENOMEM;
	if (root && !nsp_yaml_is_null(root)) {
		rc = cfg_item_decode(c, root, &it->v[0].msg);
		if (rc < 0)
			return rc;
	} else if (!default_trench) {
		return cfg_fail(c, NULL, NULL,
				"missing, and no default trench (from a "
				"directory named meridio-configuration-"
				"<trench>)");
	} else if (!cfg_valid_name(default_trench)) {
		char q[CFG_QUOTE];

		return cfg_fail(c, NULL, NULL,
				"missing, and the default trench %s is not a "
				"valid name",
				cfg_quote(default_trench, q, sizeof(q)));
	} else {
		Nsp__Trench *t = malloc(sizeof(*t));

		if (!t)
			return -ENOMEM;
		nsp__trench__init(t);
		t->name = strdup(default_trench);
		it->v[0].msg = &t->base;
		it->n = 1; /* from here free_items() frees it */
		if (!t->name)
			return -ENOMEM;
	}
	it->v[0].name = text_field(it->v[0].msg, "name");
	it->v[0].index = 1;
	it->n = 1;
	c->trench = it->v[0].name;
	return 0;
}

static void free_items(struct cfg_items *it)
{
	for (size_t i = 0; i < it->n; i++)
		protobuf_c_message_free_unpacked(it->v[i].msg, NULL);
	/* A message whose decoding failed half way was freed there. */
	free(it->v);
	it->v = NULL;
	it->n = 0;
}

/* Moves the messages of a kind into a new array of the configuration. */
static int take(struct cfg_items *it, void *arrp, size_t *n)
{
	ProtobufCMessage **arr = calloc(it->n ? it->n : 1, sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < it->n; i++)
		arr[i] = it->v[i].msg;
	*(ProtobufCMessage ***)arrp = arr;
	*n = it->n;
	free(it->v);
	it->v = NULL;
	it->n = 0;
	return 0;
}

static int build(struct cfg_ctx *c, struct nsp_config **out)
{
	struct nsp_config *cfg = calloc(1, sizeof(*cfg));
	size_t one;
	Nsp__Trench **trench = NULL;
	int rc;

	if (!cfg)
		return -ENOMEM;
	rc = take(&c->items[NSP_CFG_TRENCH], &trench, &one);
	if (rc == 0) {
		cfg->trench = trench[0];
		free(trench);
	}
#define TAKE(k, f)                                                             \
	if (rc == 0)                                                           \
	rc = take(&c->items[k], &cfg->f, &cfg->n_##f)
	TAKE(NSP_CFG_CONDUITS, conduits);
	TAKE(NSP_CFG_STREAMS, streams);
	TAKE(NSP_CFG_FLOWS, flows);
	TAKE(NSP_CFG_VIPS, vips);
	TAKE(NSP_CFG_ATTRACTORS, attractors);
	TAKE(NSP_CFG_GATEWAYS, gateways);
	TAKE(NSP_CFG_SERVICES, services);
#undef TAKE
	if (rc < 0) {
		nsp_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int nsp_config_parse(const char *const texts[NSP_CFG_KINDS],
		     const size_t lens[NSP_CFG_KINDS],
		     const char *default_trench, struct nsp_config **out,
		     char *err, size_t errlen)
{
	struct cfg_ctx c = {.err = err, .errlen = errlen};
	struct nsp_yaml_node *trees[NSP_CFG_KINDS] = {NULL};
	int rc = 0;

	if (errlen > 0)
		err[0] = '\0';
	for (size_t i = 0; i < NSP_CFG_KINDS && rc == 0; i++) {
		enum nsp_config_kind k = order[i];
		char yerr[NSP_CONFIG_ERRLEN];

		c.kind = k;
		if (texts[k] && lens[k] > NSP_CONFIG_MAX_FILE) {
			rc = cfg_fail(&c, NULL, NULL,
				      "the file is larger than %u bytes",
				      NSP_CONFIG_MAX_FILE);
			break;
		}
		if (texts[k]) {
			rc = nsp_yaml_parse(texts[k], lens[k], &trees[k], yerr,
					    sizeof(yerr));
			if (rc == -EINVAL)
				rc = cfg_fail(&c, NULL, NULL, "%s", yerr);
			if (rc < 0)
				break;
		}
		if (k == NSP_CFG_TRENCH)
			rc = read_trench(&c, trees[k], default_trench);
		else if (trees[k] && !nsp_yaml_is_null(trees[k]))
			rc = read_items(&c, trees[k]);
	}
	if (rc == 0)
		rc = build(&c, out);
	for (size_t k = 0; k < NSP_CFG_KINDS; k++) {
		free_items(&c.items[k]);
		nsp_yaml_free(trees[k]);
	}
	return rc;
}

void nsp_config_free(struct nsp_config *cfg)
{
	if (!cfg)
		return;
#define FREE(f)                                                                \
	do {                                                                   \
		for (size_t i_ = 0; cfg->f && i_ < cfg->n_##f; i_++)           \
			protobuf_c_message_free_unpacked(&cfg->f[i_]->base,    \
							 NULL);                \
		free(cfg->f);                                                  \
	} while (0)
	FREE(conduits);
	FREE(streams);
	FREE(flows);
	FREE(vips);
	FREE(attractors);
	FREE(gateways);
	FREE(services);
#undef FREE
	if (cfg->trench)
		protobuf_c_message_free_unpacked(&cfg->trench->base, NULL);
	free(cfg);
}

/* Equal messages pack to equal bytes: protobuf-c writes fields in number
 * order and leaves default values out, and the configuration holds only
 * canonical text. */
static bool msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = protobuf_c_message_get_packed_size(a);
	size_t nb = protobuf_c_message_get_packed_size(b);
	uint8_t sa[512], sb[512], *pa = sa, *pb = sb;
	bool eq = false;

	if (a->descriptor != b->descriptor || na != nb)
		return false;
	if (na > sizeof(sa)) {
		pa = malloc(na);
		pb = malloc(nb);
	}
	if (pa && pb) {
		protobuf_c_message_pack(a, pa);
		protobuf_c_message_pack(b, pb);
		eq = memcmp(pa, pb, na) == 0;
	}
	if (pa != sa) {
		free(pa);
		free(pb);
	}
	return eq;
}

static bool list_equal(void *const *a, size_t na, void *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!msg_equal(a[i], b[i]))
			return false;
	return true;
}

bool nsp_config_equal(const struct nsp_config *a, const struct nsp_config *b)
{
	if (!a || !b)
		return a == b;
#define SAME(f)                                                                \
	list_equal((void *const *)a->f, a->n_##f, (void *const *)b->f, b->n_##f)
	return msg_equal(&a->trench->base, &b->trench->base) &&
	       SAME(conduits) && SAME(streams) && SAME(flows) && SAME(vips) &&
	       SAME(attractors) && SAME(gateways) && SAME(services);
#undef SAME
}

/* Every array holds messages that start with the name, sorted by it. */
static const void *find(void *const *arr, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	if (!name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = text_field(arr[mid], "name");
		int d = strcmp(name, m);

		if (d == 0)
			return arr[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const Nsp__Conduit *nsp_config_find_conduit(const struct nsp_config *cfg,
					    const char *name)
{
	return find((void *const *)cfg->conduits, cfg->n_conduits, name);
}

const Nsp__Vip *nsp_config_find_vip(const struct nsp_config *cfg,
				    const char *name)
{
	return find((void *const *)cfg->vips, cfg->n_vips, name);
}

const Nsp__Gateway *nsp_config_find_gateway(const struct nsp_config *cfg,
					    const char *name)
{
	return find((void *const *)cfg->gateways, cfg->n_gateways, name);
}

const Nsp__Service *nsp_config_find_service(const struct nsp_config *cfg,
					    const char *name)
{
	return find((void *const *)cfg->services, cfg->n_services, name);
}

const Nsp__Stream *nsp_config_find_stream(const struct nsp_config *cfg,
					  const char *conduit,
					  const char *stream)
{
	const Nsp__Stream *s =
	    find((void *const *)cfg->streams, cfg->n_streams, stream);

	if (s && conduit && strcmp(s->conduit, conduit) != 0)
		return NULL;
	return s;
}
