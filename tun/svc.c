/* strait-tun's tables and per-flow decisions; see svc.h. */
#include "svc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "maglev.h"

/* The flow table's stream field: the entry's kind and a service or 0. */
#define KIND_SHIFT 24
#define KIND_FWD (1u << KIND_SHIFT)
#define KIND_REV (2u << KIND_SHIFT)
#define KIND_RET (3u << KIND_SHIFT)
#define KIND_MASK (0xffu << KIND_SHIFT)
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

uint64_t tun_flow_hash(const struct conn_key *k)
{
	return XXH3_64bits_withSeed(k, sizeof(*k), FLOW_HASH_SEED);
}

/* ---- the core ---- */

struct tun_core {
	struct tun_view *view;
	struct conntab *flows;
	struct fragtab *frags;
	struct cidr *prefixes;
	size_t n_prefixes;
	struct tun_core_stats stats;
	uint32_t free_slots[TUN_HOLD_SLOTS]; /* hold slots not taken */
	size_t n_free;
};

static const char *const reason_names[TUN_R_NREASONS] = {
    [TUN_R_OK] = "ok",
    [TUN_R_NO_SERVICE] = "no_service",
    [TUN_R_NO_INSTANCE] = "no_instance",
    [TUN_R_NO_NODE] = "no_node",
    [TUN_R_NO_FLOW] = "no_flow",
    [TUN_R_FRAG] = "fragment_early",
    [TUN_R_FAMILY] = "no_instance_address",
    [TUN_R_NOT_LOCAL] = "not_local",
};

const char *tun_reason_name(enum tun_reason r)
{
	return r < TUN_R_NREASONS ? reason_names[r] : "?";
}

/* fragtab gives a held fragment up (expiry, eviction, destroy): its slot
 * is free again. */
static void slot_dropped(void *ctx, uint32_t slot)
{
	struct tun_core *c = ctx;
	c->free_slots[c->n_free++] = slot;
	c->stats.reasons[TUN_R_FRAG]++;
}

int tun_core_create(size_t capacity, uint64_t seed, struct tun_core **out)
{
	struct tun_core *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* Slot 0 is taken first: the free list is a stack. */
	for (uint32_t i = 0; i < TUN_HOLD_SLOTS; i++)
		c->free_slots[i] = TUN_HOLD_SLOTS - 1 - i;
	c->n_free = TUN_HOLD_SLOTS;
	struct conntab_config cc = {.capacity = capacity, .seed = seed};
	/* max_held = the slots, so fragtab refuses exactly when none is
	 * free. */
	struct fragtab_config fc = {.seed = seed ^ 0x5a5a,
				    .timeout_ms = TUN_HOLD_MS,
				    .hold = TUN_HOLD_PER_DATAGRAM,
				    .max_held = TUN_HOLD_SLOTS,
				    .drop = slot_dropped,
				    .ctx = c};
	int rc = conntab_create(&cc, &c->flows);
	if (rc == 0)
		rc = fragtab_create(&fc, &c->frags);
	if (rc == 0)
		rc = tun_view_build(&(struct tun_spec){0}, "", NULL, NULL,
				    &c->view, &(size_t){0}, NULL, 0);
	if (rc < 0) {
		tun_core_destroy(c);
		return rc;
	}
	*out = c;
	return 0;
}

void tun_core_destroy(struct tun_core *c)
{
	if (!c)
		return;
	conntab_destroy(c->flows);
	fragtab_destroy(c->frags); /* counts what it held as dropped */
	tun_view_free(c->view);
	free(c->prefixes);
	free(c);
}

int tun_core_set_prefixes(struct tun_core *c, const struct cidr *p, size_t n)
{
	struct cidr *copy = calloc(n + 1, sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, p, n * sizeof(*p));
	free(c->prefixes);
	c->prefixes = copy;
	c->n_prefixes = n;
	return 0;
}

static bool same_inst(const struct tun_vinst *a, const struct tun_vinst *b)
{
	if (!a || !b)
		return false;
	for (int f = 0; f < 2; f++)
		if (a->addr[f].family != b->addr[f].family ||
		    (a->addr[f].family &&
		     memcmp(a->addr[f].addr, b->addr[f].addr, 16) != 0))
			return false;
	return (a->node ? a->node->id : 0) == (b->node ? b->node->id : 0);
}

struct tun_view *tun_core_set_view(struct tun_core *c, struct tun_view *v)
{
	struct tun_view *old = c->view;
	size_t n = 0;
	for (size_t i = 0; old && i < old->n_services; i++) {
		const struct tun_vsvc *os = &old->services[i];
		const struct tun_vsvc *ns = tun_view_service_by_id(v, os->id);
		for (uint32_t id = 1; id <= os->max_instances; id++) {
			const struct tun_vinst *oi = os->by_ident[id];
			if (!oi ||
			    (ns && same_inst(oi, tun_view_instance(ns, id))))
				continue;
			n += conntab_forget_target(c->flows, KIND_FWD | os->id,
						   id);
			n += conntab_forget_target(c->flows, KIND_REV | os->id,
						   id);
		}
	}
	for (size_t i = 0; old && i < old->n_nodes; i++) {
		const struct tun_vnode *on = &old->nodes[i];
		const struct tun_vnode *nn = tun_view_node(v, on->id);
		if (nn && memcmp(&nn->addr, &on->addr, sizeof(on->addr)) == 0)
			continue;
		n += conntab_forget_target(c->flows, KIND_RET, on->id);
	}
	c->stats.flows_forgotten += n;
	c->view = v;
	return old;
}

const struct tun_view *tun_core_view(const struct tun_core *c)
{
	return c->view;
}

static int fam(const struct pkt *p)
{
	return p->family == AF_INET ? 4 : 6;
}

static size_t alen(const struct pkt *p)
{
	return p->family == AF_INET ? 4 : 16;
}

static int fail(struct tun_core *c, struct tun_decision *d, enum tun_action a,
		enum tun_reason r)
{
	d->action = a;
	d->reason = r;
	c->stats.reasons[r]++;
	return 0;
}

static bool in_prefixes(const struct tun_core *c, const struct pkt *p)
{
	struct cidr x = {.family = p->family};
	memcpy(x.addr, p->dst, alen(p));
	x.len = (uint8_t)(alen(p) * 8);
	for (size_t i = 0; i < c->n_prefixes; i++)
		if (cidr_contains(&c->prefixes[i], &x))
			return true;
	return false;
}

/* The key of the replies of flow k once its destination is dst. */
static void reverse_key(struct conn_key *r, const struct conn_key *k,
			const uint8_t *dst)
{
	*r = *k;
	memcpy(r->src, dst, 16);
	memcpy(r->dst, k->src, 16);
	r->sport = k->dport;
	r->dport = k->sport;
	if (k->family == 4) {
		memset(r->src + 4, 0, 12);
		memset(r->dst + 4, 0, 12);
	}
}

/* A flow to instance in of service s: the DNAT, then local or remote. */
static int to_instance(struct tun_core *c, const struct pkt *p,
		       const struct tun_vsvc *s, const struct tun_vinst *in,
		       struct tun_decision *d)
{
	const struct cidr *a = &in->addr[p->family == AF_INET ? 0 : 1];
	d->service = s->id;
	d->instance = in->ident;
	d->nat = TUN_NAT_DNAT;
	memcpy(d->old_addr, p->dst, alen(p));
	memcpy(d->new_addr, a->addr, alen(p));
	if (in->local) {
		d->action = TUN_DELIVER;
		return 0;
	}
	if (!in->node)
		return fail(c, d, TUN_DROP, TUN_R_NO_NODE);
	d->action = TUN_SEND;
	d->node = in->node;
	return 0;
}

/* Acts on a flow table entry (kind | service, target). */
static int follow(struct tun_core *c, const struct pkt *p, uint32_t stream,
		  uint32_t target, struct tun_decision *d)
{
	uint32_t kind = stream & KIND_MASK, sid = stream & ~KIND_MASK;
	const struct tun_vsvc *s = tun_view_service_by_id(c->view, sid);
	const struct tun_vinst *in = s ? tun_view_instance(s, target) : NULL;
	switch (kind) {
	case KIND_FWD:
		if (!in)
			return -ENOENT;
		return to_instance(c, p, s, in, d);
	case KIND_REV: {
		if (!s)
			return -ENOENT;
		const struct cidr *a = &s->addr[p->family == AF_INET ? 0 : 1];
		if (!a->family)
			return -ENOENT;
		d->service = sid;
		d->instance = target;
		d->nat = TUN_NAT_SNAT;
		memcpy(d->old_addr, p->src, alen(p));
		memcpy(d->new_addr, a->addr, alen(p));
		d->action = TUN_DELIVER;
		return 0;
	}
	case KIND_RET: {
		const struct tun_vnode *n = tun_view_node(c->view, target);
		if (!n)
			return -ENOENT;
		d->action = TUN_SEND;
		d->node = n;
		d->reply = true;
		return 0;
	}
	}
	return -ENOENT;
}

/* A hit on one entry of a client flow keeps its pair alive too: a flow
 * busy in one direction must not lose the other (a UDP stream that only
 * the client sends on still needs its replies' entry, and the reverse). */
static void touch_pair(struct tun_core *c, const struct conn_key *k,
		       uint32_t stream, const struct tun_decision *d,
		       uint64_t now_ms)
{
	uint32_t kind = stream & KIND_MASK, t, st;
	struct conn_key r = *k;
	size_t n = k->family == 4 ? 4 : 16;
	r.sport = k->dport;
	r.dport = k->sport;
	memset(r.src, 0, sizeof(r.src));
	memset(r.dst, 0, sizeof(r.dst));
	if (kind == KIND_FWD) { /* client -> service: the instance's reply */
		memcpy(r.src, d->new_addr, n);
		memcpy(r.dst, k->src, n);
	} else if (kind == KIND_REV) { /* instance -> client: the forward */
		memcpy(r.src, k->dst, n);
		memcpy(r.dst, d->new_addr, n);
	} else {
		return;
	}
	conntab_lookup(c->flows, &r, now_ms, &t, &st);
}

/* A later fragment: follows its first, or waits for it in a free slot
 * (the top of the stack, taken only when fragtab holds it; with none free
 * fragtab refuses, since its max_held is the slot count). */
static int later_fragment(struct tun_core *c, const struct pkt *p,
			  uint64_t now_ms, struct tun_decision *d)
{
	struct frag_key fk;
	uint32_t target = 0, stream = 0;
	uint32_t slot = c->n_free ? c->free_slots[c->n_free - 1] : UINT32_MAX;
	frag_key_from_packet(&fk, p);
	switch (fragtab_rest(c->frags, &fk, slot, now_ms, &target, &stream)) {
	case FRAG_FORWARD:
		if (follow(c, p, stream, target, d) == 0)
			return 0;
		break;
	case FRAG_HELD:
		c->n_free--;
		c->stats.frags_held++;
		d->action = TUN_HOLD;
		d->hold_id = slot;
		return 0;
	case FRAG_REFUSED:
		break;
	}
	return fail(c, d, TUN_DROP, TUN_R_FRAG);
}

/* A first fragment: records where its datagram goes and hands back the
 * slots of the fragments that came before it. */
static void note_first(struct tun_core *c, const struct pkt *p, uint32_t stream,
		       uint32_t target, uint64_t now_ms, struct tun_decision *d)
{
	if (!p->fragment || !p->first_fragment)
		return;
	struct frag_key fk;
	frag_key_from_packet(&fk, p);
	size_t n =
	    fragtab_first(c->frags, &fk, target, stream, now_ms, d->released);
	for (size_t i = 0; i < n; i++)
		c->free_slots[c->n_free++] = d->released[i];
	d->n_released = (uint32_t)n;
	c->stats.frags_released += n;
}

int tun_decide_out(struct tun_core *c, const struct pkt *p, uint64_t now_ms,
		   struct tun_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (p->fragment && !p->first_fragment)
		return later_fragment(c, p, now_ms, d);

	struct conn_key k;
	uint32_t target = 0, stream = 0;
	conn_key_from_packet(&k, p);
	if (conntab_lookup(c->flows, &k, now_ms, &target, &stream) == 0 &&
	    follow(c, p, stream, target, d) == 0) {
		touch_pair(c, &k, stream, d, now_ms);
		note_first(c, p, stream, target, now_ms, d);
		return 0;
	}
	memset(d, 0, sizeof(*d));
	const struct tun_vsvc *s = tun_view_service(c->view, fam(p), p->dst);
	/* An ICMP error never starts a flow, nor gets an error back. */
	if (p->icmp_error)
		return fail(c, d, TUN_DROP, TUN_R_NO_FLOW);
	if (!s)
		return in_prefixes(c, p)
			   ? fail(c, d, TUN_UNREACH, TUN_R_NO_SERVICE)
			   : fail(c, d, TUN_DROP, TUN_R_NO_FLOW);
	uint32_t ident = tun_view_choose(s, tun_flow_hash(&k));
	const struct tun_vinst *in = tun_view_instance(s, ident);
	if (!in)
		return fail(c, d, TUN_UNREACH, TUN_R_NO_INSTANCE);
	const struct cidr *a = &in->addr[p->family == AF_INET ? 0 : 1];
	if (!a->family)
		return fail(c, d, TUN_UNREACH, TUN_R_FAMILY);

	struct conn_key r;
	reverse_key(&r, &k, a->addr);
	conntab_insert(c->flows, &k, ident, KIND_FWD | s->id, now_ms);
	conntab_insert(c->flows, &r, ident, KIND_REV | s->id, now_ms);
	c->stats.flows_new++;
	d->new_flow = true;
	note_first(c, p, KIND_FWD | s->id, ident, now_ms, d);
	return to_instance(c, p, s, in, d);
}

int tun_decide_in(struct tun_core *c, const struct pkt *p, bool reply,
		  const struct tun_vnode *from, uint64_t now_ms,
		  struct tun_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (!reply) {
		/* A client's packet for an instance here: learn where the
		 * replies of its flow go, hand it to the kernel. */
		uint8_t key[20];
		addr_key(key, fam(p), p->dst);
		if (!amap_get(&c->view->local_addr, key))
			return fail(c, d, TUN_DROP, TUN_R_NOT_LOCAL);
		if (!p->fragment || p->first_fragment) {
			struct conn_key k, r;
			conn_key_from_packet(&k, p);
			reverse_key(&r, &k, k.dst);
			conntab_insert(c->flows, &r, from->id, KIND_RET,
				       now_ms);
		}
		d->action = TUN_DELIVER;
		return 0;
	}
	if (p->fragment && !p->first_fragment)
		return later_fragment(c, p, now_ms, d);
	struct conn_key k;
	uint32_t target = 0, stream = 0;
	conn_key_from_packet(&k, p);
	if (conntab_lookup(c->flows, &k, now_ms, &target, &stream) == 0 &&
	    (stream & KIND_MASK) == KIND_REV &&
	    follow(c, p, stream, target, d) == 0) {
		touch_pair(c, &k, stream, d, now_ms);
		note_first(c, p, stream, target, now_ms, d);
		return 0;
	}
	memset(d, 0, sizeof(*d));
	return fail(c, d, TUN_DROP, TUN_R_NO_FLOW);
}

uint64_t tun_core_expire(struct tun_core *c, uint64_t now_ms)
{
	conntab_expire(c->flows, now_ms, 4096);
	fragtab_expire(c->frags, now_ms);
	uint64_t a = conntab_next_expiry(c->flows);
	uint64_t b = fragtab_next_expiry(c->frags);
	return a < b ? a : b;
}

void tun_core_stats(const struct tun_core *c, struct tun_core_stats *s,
		    struct conntab_stats *flows)
{
	*s = c->stats;
	if (flows)
		conntab_stats(c->flows, flows);
}
