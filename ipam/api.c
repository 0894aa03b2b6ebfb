/* The Ipam methods, persistence and lease collection.
 *
 * Order of a mutating call: the tree decides (in memory) and lists the
 * rows it changed; the rows go to the store in one transaction; only then
 * is the reply sent. A store failure stops the daemon: an address that is
 * not on disk must never be acknowledged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cidr.h"
#include "ipam.h"
#include "ipam.pb-c.h"
#include "log.h"

uint64_t ipam_wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

uint64_t ipam_now_ms(struct ipam *p)
{
	return uv_now(p->loop);
}

int ipam_persist(struct ipam *p)
{
	char err[256];
	int rc = 0;
	if (p->changes.n &&
	    ipam_store_apply(p->store, p->changes.rows, p->changes.n, err,
			     sizeof(err)) < 0) {
		log_error("store: %s; stopping, since acknowledging an address "
			  "that is not on disk could give it out twice",
			  err);
		p->exit_code = STRAIT_EXIT_FAILURE;
		uv_stop(p->loop);
		rc = -EIO;
	}
	ipam_changes_reset(&p->changes);
	return rc;
}

static Rpc__Code code_of(enum ipam_reason r)
{
	switch (r) {
	case IPAM_NAME_INVALID:
	case IPAM_FAMILY_INVALID:
		return RPC__CODE__INVALID_ARGUMENT;
	case IPAM_UNKNOWN_CONDUIT:
		return RPC__CODE__NOT_FOUND;
	case IPAM_PREFIX_CANNOT_FIT:
		return RPC__CODE__FAILED_PRECONDITION;
	case IPAM_TRENCH_FULL:
	case IPAM_CONDUIT_FULL:
	case IPAM_NODE_FULL:
		return RPC__CODE__RESOURCE_EXHAUSTED;
	case IPAM_BRIDGE_TAKEN:
		return RPC__CODE__ALREADY_EXISTS;
	default:
		return RPC__CODE__INTERNAL;
	}
}

/* Turns a request's child into the core's reference; false (with the call
 * failed) when the request lacks one. */
static bool child_ref(struct rpc_call *call, struct ipam *p,
		      const Ipam__Child *c, struct ipam_child_ref *ref)
{
	if (!c) {
		rpc_call_fail(call, RPC__CODE__INVALID_ARGUMENT, "name_invalid",
			      "the request has no child");
		return false;
	}
	ref->trench = c->trench;
	ref->conduit = c->conduit;
	ref->node = c->node;
	ref->name = c->name;
	ref->family = c->family == IPAM__FAMILY__IPV4	? AF_INET
		      : c->family == IPAM__FAMILY__IPV6 ? AF_INET6
							: 0;
	if (!ref->family) {
		p->stats.errors[IPAM_FAMILY_INVALID]++;
		rpc_call_fail(call, RPC__CODE__INVALID_ARGUMENT,
			      ipam_reason_name(IPAM_FAMILY_INVALID),
			      "family %d is neither IPV4 (1) nor IPV6 (2)",
			      (int)c->family);
		return false;
	}
	return true;
}

static void on_allocate(struct rpc_call *call, const ProtobufCMessage *m,
			void *data)
{
	struct ipam *p = data;
	const Ipam__AllocateRequest *req = (const Ipam__AllocateRequest *)m;
	struct ipam_child_ref ref;
	if (!child_ref(call, p, req->child, &ref))
		return;
	if (!ipam_conduits_ready(p)) {
		rpc_call_fail(call, RPC__CODE__UNAVAILABLE, "nsp_unavailable",
			      "waiting for NSP's configuration to know the "
			      "conduits; try again");
		return;
	}
	struct ipam_result res;
	enum ipam_reason reason = IPAM_OK;
	char err[512];
	int rc = ipam_allocate(p->tree, &ref, req->bridge, ipam_now_ms(p),
			       ipam_wall_ms(), &p->changes, &res, &reason, err,
			       sizeof(err));
	if (rc < 0) {
		ipam_changes_reset(&p->changes);
		if (rc == -ENOMEM) {
			rpc_call_fail(call, RPC__CODE__RESOURCE_EXHAUSTED,
				      "out_of_memory", "out of memory");
			return;
		}
		if ((unsigned)reason < IPAM_REASONS)
			p->stats.errors[reason]++;
		rpc_call_fail(call, code_of(reason), ipam_reason_name(reason),
			      "%s", err);
		return;
	}
	if (ipam_persist(p) < 0) {
		rpc_call_fail(call, RPC__CODE__INTERNAL, "store_failed",
			      "the allocation could not be stored");
		return;
	}
	if (res.created)
		p->stats.allocations++;
	else
		p->stats.refreshes++;

	char addr[CIDR_STRLEN], prefix[CIDR_STRLEN], gw[CIDR_STRLEN];
	cidr_format(&res.address, addr, sizeof(addr));
	cidr_format(&res.node_prefix, prefix, sizeof(prefix));
	cidr_format_ip(&res.gateway, gw, sizeof(gw));
	Ipam__AllocateResponse resp = IPAM__ALLOCATE_RESPONSE__INIT;
	resp.address = addr;
	resp.node_prefix = prefix;
	resp.gateway = gw;
	resp.created = res.created;
	rpc_call_reply(call, &resp.base);
}

static void on_release(struct rpc_call *call, const ProtobufCMessage *m,
		       void *data)
{
	struct ipam *p = data;
	const Ipam__ReleaseRequest *req = (const Ipam__ReleaseRequest *)m;
	struct ipam_child_ref ref;
	if (!child_ref(call, p, req->child, &ref))
		return;
	bool existed = false;
	struct cidr addr;
	char err[512];
	int rc = ipam_release(p->tree, &ref, ipam_wall_ms(), &p->changes,
			      &existed, &addr, err, sizeof(err));
	if (rc < 0) {
		ipam_changes_reset(&p->changes);
		if (rc == -EINVAL) {
			p->stats.errors[IPAM_NAME_INVALID]++;
			rpc_call_fail(call, RPC__CODE__INVALID_ARGUMENT,
				      ipam_reason_name(IPAM_NAME_INVALID), "%s",
				      err);
		} else {
			rpc_call_fail(call, RPC__CODE__INTERNAL, "internal",
				      "release: %s", err);
		}
		return;
	}
	if (ipam_persist(p) < 0) {
		rpc_call_fail(call, RPC__CODE__INTERNAL, "store_failed",
			      "the release could not be stored");
		return;
	}
	char text[CIDR_STRLEN] = "";
	if (existed) {
		p->stats.releases++;
		cidr_format(&addr, text, sizeof(text));
	}
	Ipam__ReleaseResponse resp = IPAM__RELEASE_RESPONSE__INIT;
	resp.existed = existed;
	resp.address = text;
	rpc_call_reply(call, &resp.base);
}

static void on_collect(uv_timer_t *t)
{
	struct ipam *p = t->data;
	size_t n = ipam_collect(p->tree, ipam_now_ms(p), ipam_wall_ms(),
				&p->changes);
	if (ipam_persist(p) < 0)
		return;
	if (n) {
		p->stats.collected += n;
		log_info("leases: %zu allocation(s) collected (not refreshed "
			 "within the lease time)",
			 n);
	}
}

int ipam_collector_start(struct ipam *p)
{
	uv_timer_init(p->loop, &p->collector);
	p->collector.data = p;
	return uv_timer_start(&p->collector, on_collect, p->collect_ms,
			      p->collect_ms);
}

void ipam_collector_stop(struct ipam *p)
{
	uv_close((uv_handle_t *)&p->collector, NULL);
}

/* ---- List and Tree ---- */

static Ipam__Family family_of(int af)
{
	return af == AF_INET ? IPAM__FAMILY__IPV4 : IPAM__FAMILY__IPV6;
}

static int af_of(Ipam__Family f)
{
	return f == IPAM__FAMILY__IPV4 ? AF_INET
	       : f == IPAM__FAMILY__IPV6 ? AF_INET6
					 : 0;
}

/* One allocation as sent: the message, its child and the address text in
 * one allocation, so a list frees with one free() per entry. */
struct alloc_out {
	Ipam__Allocation a;
	Ipam__Child c;
	char address[CIDR_STRLEN];
};

struct list_ctx {
	struct alloc_out **v;
	size_t n, cap;
	bool oom;
};

static void list_one(const struct ipam_child_view *v, void *data)
{
	struct list_ctx *l = data;
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct alloc_out **nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv) {
			l->oom = true;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	struct alloc_out *o = calloc(1, sizeof(*o));
	if (!o) {
		l->oom = true;
		return;
	}
	ipam__allocation__init(&o->a);
	ipam__child__init(&o->c);
	/* The view's strings live in the tree, which does not change while
	 * the reply is built and sent. */
	o->c.name = (char *)v->name;
	o->c.trench = (char *)v->trench;
	o->c.conduit = (char *)v->conduit;
	o->c.node = (char *)v->node;
	o->c.family = family_of(v->family);
	cidr_format(&v->address, o->address, sizeof(o->address));
	o->a.child = &o->c;
	o->a.address = o->address;
	o->a.bridge = v->bridge;
	l->v[l->n++] = o;
}

static void on_list(struct rpc_call *call, const ProtobufCMessage *m,
		    void *data)
{
	struct ipam *p = data;
	const Ipam__ListRequest *req = (const Ipam__ListRequest *)m;
	struct ipam_filter f = {
		.trench = req->trench,
		.conduit = req->conduit,
		.node = req->node,
		.family = af_of(req->family),
	};
	struct list_ctx l = { 0 };
	ipam_tree_walk_children(p->tree, &f, list_one, &l);
	if (l.oom) {
		rpc_call_fail(call, RPC__CODE__RESOURCE_EXHAUSTED,
			      "out_of_memory", "out of memory");
	} else {
		Ipam__ListResponse resp = IPAM__LIST_RESPONSE__INIT;
		resp.allocations = (Ipam__Allocation **)l.v;
		resp.n_allocations = l.n;
		rpc_call_reply(call, &resp.base);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
}

/* The tree reply is built as nested PrefixUsage messages from the depth-
 * first walk: a trench opens a level, its conduits hang under it, each
 * conduit's nodes under the conduit. */
struct usage_out {
	Ipam__PrefixUsage u;
	char prefix[CIDR_STRLEN];
	Ipam__PrefixUsage **kids;
	size_t cap;
	struct usage_out *next_free; /* every node, for freeing */
};

struct tree_ctx {
	Ipam__PrefixUsage **trenches;
	size_t n, cap;
	struct usage_out *trench, *conduit;
	struct usage_out *all;
	bool oom;
};

static int add_kid(Ipam__PrefixUsage ***v, size_t *n, size_t *cap,
		   Ipam__PrefixUsage *u)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		Ipam__PrefixUsage **nv = realloc(*v, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = u;
	return 0;
}

static void tree_one(const struct ipam_prefix_view *v, void *data)
{
	static const char *const kinds[] = { "trench", "conduit", "node" };
	struct tree_ctx *t = data;
	if (t->oom)
		return;
	struct usage_out *o = calloc(1, sizeof(*o));
	if (!o) {
		t->oom = true;
		return;
	}
	o->next_free = t->all;
	t->all = o;
	ipam__prefix_usage__init(&o->u);
	o->u.kind = (char *)kinds[v->level];
	o->u.name = (char *)(v->level == IPAM_LEVEL_TRENCH    ? v->trench
			     : v->level == IPAM_LEVEL_CONDUIT ? v->conduit
							      : v->node);
	o->u.family = family_of(v->family);
	cidr_format(&v->prefix, o->prefix, sizeof(o->prefix));
	o->u.prefix = o->prefix;
	o->u.capacity = v->capacity;
	o->u.used = v->used;
	o->u.quarantined = v->quarantined;
	int err = 0;
	if (v->level == IPAM_LEVEL_TRENCH) {
		err = add_kid(&t->trenches, &t->n, &t->cap, &o->u);
		t->trench = o;
		t->conduit = NULL;
	} else if (v->level == IPAM_LEVEL_CONDUIT && t->trench) {
		err = add_kid(&t->trench->kids, &t->trench->u.n_children,
			      &t->trench->cap, &o->u);
		t->trench->u.children = t->trench->kids;
		t->conduit = o;
	} else if (v->level == IPAM_LEVEL_NODE && t->conduit) {
		err = add_kid(&t->conduit->kids, &t->conduit->u.n_children,
			      &t->conduit->cap, &o->u);
		t->conduit->u.children = t->conduit->kids;
	}
	if (err)
		t->oom = true;
}

static void on_tree(struct rpc_call *call, const ProtobufCMessage *m,
		    void *data)
{
	struct ipam *p = data;
	const Ipam__TreeRequest *req = (const Ipam__TreeRequest *)m;
	/* Expired quarantine first, so that the figures are exact. */
	ipam_purge(p->tree, ipam_wall_ms(), &p->changes);
	if (ipam_persist(p) < 0) {
		rpc_call_fail(call, RPC__CODE__INTERNAL, "store_failed",
			      "the store could not be written");
		return;
	}
	struct tree_ctx t = { 0 };
	ipam_tree_walk_prefixes(p->tree, req->trench, tree_one, &t);
	if (t.oom) {
		rpc_call_fail(call, RPC__CODE__RESOURCE_EXHAUSTED,
			      "out_of_memory", "out of memory");
	} else {
		Ipam__TreeResponse resp = IPAM__TREE_RESPONSE__INIT;
		resp.trenches = t.trenches;
		resp.n_trenches = t.n;
		rpc_call_reply(call, &resp.base);
	}
	while (t.all) {
		struct usage_out *o = t.all;
		t.all = o->next_free;
		free(o->kids);
		free(o);
	}
	free(t.trenches);
}

const struct rpc_method ipam_methods[] = {
	{ "ipam.Ipam/Allocate", &ipam__allocate_request__descriptor,
	  on_allocate, false },
	{ "ipam.Ipam/Release", &ipam__release_request__descriptor, on_release,
	  false },
	{ "ipam.Ipam/List", &ipam__list_request__descriptor, on_list, false },
	{ "ipam.Ipam/Tree", &ipam__tree_request__descriptor, on_tree, false },
};
const size_t ipam_n_methods = sizeof(ipam_methods) / sizeof(ipam_methods[0]);
