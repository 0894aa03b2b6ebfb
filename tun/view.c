/* strait-tun's tables: stable ids and the immutable view of what NSP
 * says (svc.h, "the view"). The decisions are in core.c. */
#include "svc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "maglev.h"

#define FLOW_HASH_SEED 0x73747261697475ull /* "straitu": every node alike */

/* ---- an open-addressing map from a byte key to a pointer ---- */

struct amap {
	struct aslot {
		uint8_t key[20]; /* family byte + address, or a sockaddr's */
		void *val;
	} * slots;
	size_t mask;
};

static int amap_init(struct amap *m, size_t n)
{
	size_t cap = 8;
	while (cap < n * 2)
		cap <<= 1;
	m->slots = calloc(cap, sizeof(*m->slots));
	m->mask = cap - 1;
	return m->slots ? 0 : -ENOMEM;
}

static size_t amap_hash(const struct amap *m, const uint8_t *key)
{
	return (size_t)XXH3_64bits(key, 20) & m->mask;
}

/* Adds key; an existing key keeps its first value (returns -EEXIST). */
static int amap_put(struct amap *m, const uint8_t *key, void *val)
{
	for (size_t i = amap_hash(m, key);; i = (i + 1) & m->mask) {
		struct aslot *s = &m->slots[i];
		if (!s->val) {
			memcpy(s->key, key, 20);
			s->val = val;
			return 0;
		}
		if (memcmp(s->key, key, 20) == 0)
			return -EEXIST;
	}
}

static void *amap_get(const struct amap *m, const uint8_t *key)
{
	if (!m->slots)
		return NULL;
	for (size_t i = amap_hash(m, key);; i = (i + 1) & m->mask) {
		const struct aslot *s = &m->slots[i];
		if (!s->val)
			return NULL;
		if (memcmp(s->key, key, 20) == 0)
			return s->val;
	}
}

static void addr_key(uint8_t *key, int family, const uint8_t *addr)
{
	memset(key, 0, 20);
	key[0] = (uint8_t)family;
	memcpy(key + 4, addr, family == 4 ? 4 : 16);
}

static int cidr_fam(const struct cidr *c)
{
	return c->family == AF_INET ? 4 : 6;
}

/* A sockaddr's key: family, port, address. */
static void sa_key(uint8_t *key, const struct sockaddr *sa)
{
	memset(key, 0, 20);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		key[0] = 4;
		memcpy(key + 2, &in->sin_port, 2);
		memcpy(key + 4, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
		key[0] = 6;
		memcpy(key + 2, &in6->sin6_port, 2);
		if (memcmp(a, mapped, 12) == 0) { /* dual-stack socket */
			key[0] = 4;
			memcpy(key + 4, a + 12, 4);
		} else {
			memcpy(key + 4, a, 16);
		}
	}
}

/* ---- stable ids ---- */

struct tun_ids {
	char **names; /* [id - 1] */
	size_t n, cap;
	struct amap map; /* XXH3 of the name -> id, rebuilt on growth */
};

int tun_ids_create(struct tun_ids **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void tun_ids_destroy(struct tun_ids *ids)
{
	if (!ids)
		return;
	for (size_t i = 0; i < ids->n; i++)
		free(ids->names[i]);
	free(ids->names);
	free(ids->map.slots);
	free(ids);
}

static void name_key(uint8_t *key, const char *name)
{
	memset(key, 0, 20);
	XXH128_hash_t h = XXH3_128bits(name, strlen(name));
	memcpy(key, &h.low64, 8);
	memcpy(key + 8, &h.high64, 8);
}

static uint32_t ids_find(const struct tun_ids *ids, const char *name)
{
	uint8_t key[20];
	name_key(key, name);
	uintptr_t id = (uintptr_t)amap_get(&ids->map, key);
	if (id && strcmp(ids->names[id - 1], name) == 0)
		return (uint32_t)id;
	/* A 128-bit hash collision: fall back to a scan (never seen). */
	for (size_t i = 0; id && i < ids->n; i++)
		if (strcmp(ids->names[i], name) == 0)
			return (uint32_t)(i + 1);
	return 0;
}

uint32_t tun_ids_get(struct tun_ids *ids, const char *name)
{
	uint32_t id = ids_find(ids, name);
	if (id)
		return id;
	if (ids->n >= TUN_IDS_MAX)
		return 0;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 16;
		char **names = realloc(ids->names, cap * sizeof(*names));
		if (!names)
			return 0;
		ids->names = names;
		ids->cap = cap;
		struct amap m;
		if (amap_init(&m, cap) < 0)
			return 0;
		for (size_t i = 0; i < ids->n; i++) {
			uint8_t key[20];
			name_key(key, ids->names[i]);
			amap_put(&m, key, (void *)(uintptr_t)(i + 1));
		}
		free(ids->map.slots);
		ids->map = m;
	}
	char *copy = strdup(name);
	if (!copy)
		return 0;
	ids->names[ids->n++] = copy;
	uint8_t key[20];
	name_key(key, name);
	amap_put(&ids->map, key, (void *)(uintptr_t)ids->n);
	return (uint32_t)ids->n;
}

/* ---- the view ---- */

struct tun_view {
	struct tun_vsvc *services;
	const struct tun_vsvc **service_list;
	size_t n_services;
	struct tun_vinst *instances;
	size_t n_instances;
	struct tun_vnode *nodes;
	const struct tun_vnode **node_list;
	size_t n_nodes;
	const struct tun_vsvc **svc_by_id; /* [max_svc_id + 1] */
	uint32_t max_svc_id;
	const struct tun_vnode **node_by_id; /* [max_node_id + 1] */
	uint32_t max_node_id;
	struct amap svc_by_addr, node_by_addr, local_addr;
};

void tun_view_free(struct tun_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_services; i++) {
		free(v->services[i].by_ident);
		maglev_free(v->services[i].all);
		maglev_free(v->services[i].local);
	}
	free(v->services);
	free(v->service_list);
	free(v->instances);
	free(v->nodes);
	free(v->node_list);
	free(v->svc_by_id);
	free(v->node_by_id);
	free(v->svc_by_addr.slots);
	free(v->node_by_addr.slots);
	free(v->local_addr.slots);
	free(v);
}

static void skip(size_t *skipped, char *err, size_t len, const char *fmt,
		 const char *a, const char *b)
{
	if (!*skipped && err && len)
		snprintf(err, len, fmt, a, b);
	(*skipped)++;
}

static const struct tun_vnode *node_by_name(const struct tun_view *v,
					    const char *name)
{
	for (size_t i = 0; i < v->n_nodes; i++) /* build time only */
		if (strcmp(v->nodes[i].name, name) == 0)
			return &v->nodes[i];
	return NULL;
}

static int build_nodes(struct tun_view *v, const struct tun_spec *spec,
		       const char *self, struct tun_ids *ids, size_t *skipped,
		       char *err, size_t len)
{
	v->nodes = calloc(spec->n_nodes + 1, sizeof(*v->nodes));
	v->node_list = calloc(spec->n_nodes + 1, sizeof(*v->node_list));
	if (!v->nodes || !v->node_list ||
	    amap_init(&v->node_by_addr, spec->n_nodes) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_nodes; i++) {
		const struct tun_node_spec *ns = &spec->nodes[i];
		if (node_by_name(v, ns->name)) {
			skip(skipped, err, len, "node %s%s is registered twice",
			     ns->name, "");
			continue;
		}
		uint32_t id = tun_ids_get(ids, ns->name);
		if (!id)
			return -ENOMEM;
		struct tun_vnode *n = &v->nodes[v->n_nodes];
		n->id = id;
		snprintf(n->name, sizeof(n->name), "%s", ns->name);
		n->addr = ns->addr;
		n->self = strcmp(ns->name, self) == 0;
		uint8_t key[20];
		sa_key(key, (const struct sockaddr *)&n->addr);
		if (amap_put(&v->node_by_addr, key, n) < 0) {
			skip(skipped, err, len,
			     "node %s has the underlay address of another%s",
			     ns->name, "");
			continue;
		}
		v->node_list[v->n_nodes++] = n;
		if (id > v->max_node_id)
			v->max_node_id = id;
	}
	v->node_by_id = calloc(v->max_node_id + 1, sizeof(*v->node_by_id));
	if (!v->node_by_id)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_nodes; i++)
		v->node_by_id[v->nodes[i].id] = &v->nodes[i];
	return 0;
}

static int build_services(struct tun_view *v, const struct tun_spec *spec,
			  struct tun_ids *ids, size_t *skipped, char *err,
			  size_t len)
{
	v->services = calloc(spec->n_services + 1, sizeof(*v->services));
	v->service_list =
	    calloc(spec->n_services + 1, sizeof(*v->service_list));
	if (!v->services || !v->service_list ||
	    amap_init(&v->svc_by_addr, spec->n_services * 2) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_services; i++) {
		const struct tun_service_spec *ss = &spec->services[i];
		uint32_t id = tun_ids_get(ids, ss->name);
		if (!id)
			return -ENOMEM;
		struct tun_vsvc *s = &v->services[v->n_services];
		bool dup = false;
		for (size_t j = 0; j < v->n_services; j++)
			dup |= v->services[j].id == id;
		if (dup || !ss->max_instances ||
		    ss->max_instances > MAGLEV_ID_MAX) {
			skip(skipped, err, len, "service %s: %s", ss->name,
			     dup ? "listed twice" : "bad max_instances");
			continue;
		}
		memset(s, 0, sizeof(*s));
		s->id = id;
		snprintf(s->name, sizeof(s->name), "%s", ss->name);
		s->policy = ss->policy;
		s->max_instances = ss->max_instances;
		s->by_ident =
		    calloc(ss->max_instances + 1, sizeof(*s->by_ident));
		if (!s->by_ident)
			return -ENOMEM;
		for (int f = 0; f < 2; f++) {
			const struct cidr *c = &ss->addr[f];
			if (!c->family)
				continue;
			uint8_t key[20];
			addr_key(key, cidr_fam(c), c->addr);
			if (amap_put(&v->svc_by_addr, key, s) < 0) {
				char txt[CIDR_STRLEN];
				cidr_format_ip(c, txt, sizeof(txt));
				skip(skipped, err, len,
				     "service %s: address %s is taken",
				     ss->name, txt);
				continue;
			}
			s->addr[f] = *c;
		}
		v->service_list[v->n_services++] = s;
		if (id > v->max_svc_id)
			v->max_svc_id = id;
	}
	v->svc_by_id = calloc(v->max_svc_id + 1, sizeof(*v->svc_by_id));
	if (!v->svc_by_id)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_services; i++)
		v->svc_by_id[v->services[i].id] = &v->services[i];
	return 0;
}

static struct tun_vsvc *service_by_name(struct tun_view *v, const char *name)
{
	for (size_t i = 0; i < v->n_services; i++) /* build time only */
		if (strcmp(v->services[i].name, name) == 0)
			return &v->services[i];
	return NULL;
}

static int build_instances(struct tun_view *v, const struct tun_spec *spec,
			   const char *self, size_t *skipped, char *err,
			   size_t len)
{
	v->instances = calloc(spec->n_instances + 1, sizeof(*v->instances));
	if (!v->instances ||
	    amap_init(&v->local_addr, spec->n_instances * 2) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_instances; i++) {
		const struct tun_instance_spec *is = &spec->instances[i];
		struct tun_vsvc *s = service_by_name(v, is->service);
		if (!s) {
			skip(skipped, err, len,
			     "an instance of %s%s, which is not a service",
			     is->service, "");
			continue;
		}
		if (!is->ident || is->ident > s->max_instances ||
		    s->by_ident[is->ident]) {
			skip(
			    skipped, err, len,
			    "an instance of %s%s has a bad or taken identifier",
			    is->service, "");
			continue;
		}
		struct tun_vinst *in = &v->instances[v->n_instances++];
		in->ident = is->ident;
		in->addr[0] = is->addr[0];
		in->addr[1] = is->addr[1];
		in->node = node_by_name(v, is->node);
		/* On this node by name, even before this node's own TUNNEL
		 * registration is in the view: same-node traffic needs none. */
		in->local = strcmp(is->node, self) == 0;
		s->by_ident[in->ident] = in;
		s->n_instances++;
		s->n_local += in->local;
		for (int f = 0; in->local && f < 2; f++) {
			if (!in->addr[f].family)
				continue;
			uint8_t key[20];
			addr_key(key, cidr_fam(&in->addr[f]), in->addr[f].addr);
			amap_put(&v->local_addr, key, in); /* dup: harmless */
		}
	}
	return 0;
}

static int build_tables(struct tun_vsvc *s)
{
	uint32_t *all = calloc(s->n_instances + 1, sizeof(*all));
	uint32_t *local = calloc(s->n_local + 1, sizeof(*local));
	size_t na = 0, nl = 0;
	int rc = -ENOMEM;
	if (!all || !local)
		goto out;
	for (uint32_t id = 1; id <= s->max_instances; id++) {
		const struct tun_vinst *in = s->by_ident[id];
		if (!in)
			continue;
		all[na++] = id;
		if (in->local)
			local[nl++] = id;
	}
	uint32_t m = maglev_default_size(s->max_instances);
	rc = maglev_build(all, na, m, &s->all);
	if (rc == 0 && nl)
		rc = maglev_build(local, nl, m, &s->local);
out:
	free(all);
	free(local);
	return rc;
}

int tun_view_build(const struct tun_spec *spec, const char *self,
		   struct tun_ids *service_ids, struct tun_ids *node_ids,
		   struct tun_view **out, size_t *skipped, char *err,
		   size_t errlen)
{
	struct tun_view *v = calloc(1, sizeof(*v));
	int rc = -ENOMEM;
	*skipped = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!v)
		return rc;
	if ((rc = build_nodes(v, spec, self, node_ids, skipped, err, errlen)) <
		0 ||
	    (rc = build_services(v, spec, service_ids, skipped, err, errlen)) <
		0 ||
	    (rc = build_instances(v, spec, self, skipped, err, errlen)) < 0)
		goto fail;
	for (size_t i = 0; i < v->n_services; i++)
		if ((rc = build_tables(&v->services[i])) < 0)
			goto fail;
	*out = v;
	return 0;
fail:
	tun_view_free(v);
	return rc;
}

const struct tun_vsvc *tun_view_service(const struct tun_view *v, int family,
					const uint8_t *addr)
{
	uint8_t key[20];
	addr_key(key, family, addr);
	return amap_get(&v->svc_by_addr, key);
}

const struct tun_vsvc *tun_view_service_by_id(const struct tun_view *v,
					      uint32_t id)
{
	return id <= v->max_svc_id ? v->svc_by_id[id] : NULL;
}

const struct tun_vinst *tun_view_instance(const struct tun_vsvc *s,
					  uint32_t ident)
{
	return ident && ident <= s->max_instances ? s->by_ident[ident] : NULL;
}

const struct tun_vnode *tun_view_node(const struct tun_view *v, uint32_t id)
{
	return id <= v->max_node_id ? v->node_by_id[id] : NULL;
}

const struct tun_vnode *tun_view_node_by_addr(const struct tun_view *v,
					      const struct sockaddr *sa)
{
	uint8_t key[20];
	sa_key(key, sa);
	return amap_get(&v->node_by_addr, key);
}

uint32_t tun_view_choose(const struct tun_vsvc *s, uint64_t h)
{
	if (s->policy == TUN_POLICY_LOCAL && s->local)
		return maglev_lookup(s->local, h);
	return s->all ? maglev_lookup(s->all, h) : 0;
}

size_t tun_view_services(const struct tun_view *v,
			 const struct tun_vsvc *const **out)
{
	*out = v->service_list;
	return v->n_services;
}

size_t tun_view_nodes(const struct tun_view *v,
		      const struct tun_vnode *const **out)
{
	*out = v->node_list;
	return v->n_nodes;
}

bool tun_view_is_local(const struct tun_view *v, int family,
		       const uint8_t *addr)
{
	uint8_t key[20];
	addr_key(key, family, addr);
	return amap_get(&v->local_addr, key) != NULL;
}

uint64_t tun_flow_hash(const struct conn_key *k)
{
	return XXH3_64bits_withSeed(k, sizeof(*k), FLOW_HASH_SEED);
}
