/* strait-tun's per-flow decisions over the view (svc.h, "the core"). */
#include "svc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* The flow table's stream field: the entry's kind and a service or 0. */
#define KIND_SHIFT 24
#define KIND_FWD (1u << KIND_SHIFT)
#define KIND_REV (2u << KIND_SHIFT)
#define KIND_RET (3u << KIND_SHIFT)
#define KIND_MASK (0xffu << KIND_SHIFT)

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
	const struct tun_vsvc *const *svcs = NULL;
	const struct tun_vnode *const *nodes = NULL;
	size_t n_svcs = old ? tun_view_services(old, &svcs) : 0;
	size_t n_nodes = old ? tun_view_nodes(old, &nodes) : 0;
	for (size_t i = 0; i < n_svcs; i++) {
		const struct tun_vsvc *os = svcs[i];
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
	for (size_t i = 0; i < n_nodes; i++) {
		const struct tun_vnode *on = nodes[i];
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

/* A packet of flow k that the table knows (of that kind, when kind is not
 * 0): decided as its entry says, its pair kept alive, and a first
 * fragment's held ones released. False: not known, d to be filled anew. */
static bool known_flow(struct tun_core *c, const struct pkt *p,
		       const struct conn_key *k, uint32_t kind, uint64_t now_ms,
		       struct tun_decision *d)
{
	uint32_t target = 0, stream = 0;
	if (conntab_lookup(c->flows, k, now_ms, &target, &stream) < 0 ||
	    (kind && (stream & KIND_MASK) != kind) ||
	    follow(c, p, stream, target, d) < 0)
		return false;
	touch_pair(c, k, stream, d, now_ms);
	note_first(c, p, stream, target, now_ms, d);
	return true;
}

int tun_decide_out(struct tun_core *c, const struct pkt *p, uint64_t now_ms,
		   struct tun_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (p->fragment && !p->first_fragment)
		return later_fragment(c, p, now_ms, d);

	struct conn_key k;
	conn_key_from_packet(&k, p);
	if (known_flow(c, p, &k, 0, now_ms, d))
		return 0;
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
		if (!tun_view_is_local(c->view, fam(p), p->dst))
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
	conn_key_from_packet(&k, p);
	if (known_flow(c, p, &k, KIND_REV, now_ms, d))
		return 0;
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
