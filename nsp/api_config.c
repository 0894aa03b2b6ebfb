/* The Configuration methods: Get, and one watch per kind (plus WatchAll).
 *
 * A configuration answer is built from the current configurations of all
 * trenches, filtered by the request. A watcher gets an answer at once and
 * again after each reload, but only when its answer's content changed:
 * the server keeps a hash of the last answer it sent each watcher. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "log.h"
#include "nsp.h"
#include "pbcopy.h"

enum {
	K_TRENCH = 1 << 0,
	K_CONDUITS = 1 << 1,
	K_STREAMS = 1 << 2,
	K_FLOWS = 1 << 3,
	K_VIPS = 1 << 4,
	K_ATTRACTORS = 1 << 5,
	K_GATEWAYS = 1 << 6,
	K_SERVICES = 1 << 7,
	K_ALL = (1 << 8) - 1,
};

struct config_watch {
	struct nsp *n;
	struct rpc_call *call;
	unsigned kinds;
	Nsp__ConfigRequest *req;
	uint64_t last_hash;
	bool sent;
	struct list_node node; /* in nsp->cwatches */
};

/* A growable array of message pointers. */
struct plist {
	void **v;
	size_t n, cap;
};

static int push(struct plist *l, void *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
	return 0;
}

static bool match(const char *want, const char *have)
{
	return !want || !*want || strcmp(want, have) == 0;
}

/* Whether the flow's stream is in the requested conduit. */
static bool flow_in_conduit(const struct nsp_config *c, const Nsp__Flow *f,
			    const char *conduit)
{
	if (!conduit || !*conduit)
		return true;
	return nsp_config_find_stream(c, conduit, f->stream) != NULL;
}

/* One list per kind, in the order of ConfigResponse's fields. */
#define N_LISTS 8

struct answer {
	struct plist l[N_LISTS];
};

static int build(struct nsp *n, const Nsp__ConfigRequest *req, unsigned kinds,
		 Nsp__ConfigResponse *resp, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	int err = 0;
	for (size_t t = 0; t < n->n_trenches && !err; t++) {
		const struct nsp_config *c = n->trenches[t].config;
		if (!c || !match(req->trench, c->trench->name))
			continue;
		if (kinds & K_TRENCH)
			err |= push(&a->l[0], c->trench);
		for (size_t i = 0; (kinds & K_CONDUITS) && i < c->n_conduits; i++)
			if (match(req->conduit, c->conduits[i]->name))
				err |= push(&a->l[1], c->conduits[i]);
		for (size_t i = 0; (kinds & K_STREAMS) && i < c->n_streams; i++)
			if (match(req->conduit, c->streams[i]->conduit) &&
			    match(req->stream, c->streams[i]->name))
				err |= push(&a->l[2], c->streams[i]);
		for (size_t i = 0; (kinds & K_FLOWS) && i < c->n_flows; i++)
			if (match(req->stream, c->flows[i]->stream) &&
			    flow_in_conduit(c, c->flows[i], req->conduit))
				err |= push(&a->l[3], c->flows[i]);
		for (size_t i = 0; (kinds & K_VIPS) && i < c->n_vips; i++)
			err |= push(&a->l[4], c->vips[i]);
		for (size_t i = 0; (kinds & K_ATTRACTORS) && i < c->n_attractors;
		     i++)
			err |= push(&a->l[5], c->attractors[i]);
		for (size_t i = 0; (kinds & K_GATEWAYS) && i < c->n_gateways; i++)
			err |= push(&a->l[6], c->gateways[i]);
		for (size_t i = 0; (kinds & K_SERVICES) && i < c->n_services; i++)
			err |= push(&a->l[7], c->services[i]);
	}
	nsp__config_response__init(resp);
	resp->revision = n->config_revision;
	resp->trenches = (Nsp__Trench **)a->l[0].v;
	resp->n_trenches = a->l[0].n;
	resp->conduits = (Nsp__Conduit **)a->l[1].v;
	resp->n_conduits = a->l[1].n;
	resp->streams = (Nsp__Stream **)a->l[2].v;
	resp->n_streams = a->l[2].n;
	resp->flows = (Nsp__Flow **)a->l[3].v;
	resp->n_flows = a->l[3].n;
	resp->vips = (Nsp__Vip **)a->l[4].v;
	resp->n_vips = a->l[4].n;
	resp->attractors = (Nsp__Attractor **)a->l[5].v;
	resp->n_attractors = a->l[5].n;
	resp->gateways = (Nsp__Gateway **)a->l[6].v;
	resp->n_gateways = a->l[6].n;
	resp->services = (Nsp__Service **)a->l[7].v;
	resp->n_services = a->l[7].n;
	return err ? -ENOMEM : 0;
}

static void answer_free(struct answer *a)
{
	for (int i = 0; i < N_LISTS; i++)
		free(a->l[i].v);
}

/* The hash of an answer's content, its revision left out. */
static uint64_t content_hash(Nsp__ConfigResponse *resp)
{
	uint64_t rev = resp->revision;
	resp->revision = 0;
	size_t len = nsp__config_response__get_packed_size(resp);
	uint8_t *buf = malloc(len ? len : 1);
	uint64_t h = 0;
	if (buf) {
		nsp__config_response__pack(resp, buf);
		h = XXH3_64bits(buf, len);
		free(buf);
	}
	resp->revision = rev;
	return h;
}

static void on_get(struct rpc_call *call, const ProtobufCMessage *m,
		   void *data)
{
	struct nsp *n = data;
	Nsp__ConfigResponse resp;
	struct answer a;
	if (build(n, (const Nsp__ConfigRequest *)m, K_ALL, &resp, &a) < 0)
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory");
	else
		rpc_call_reply(call, &resp.base);
	answer_free(&a);
}

static void update(struct config_watch *w)
{
	Nsp__ConfigResponse resp;
	struct answer a;
	if (build(w->n, w->req, w->kinds, &resp, &a) == 0) {
		uint64_t h = content_hash(&resp);
		if (!w->sent || h != w->last_hash) {
			if (rpc_call_send(w->call, &resp.base) == 0) {
				w->n->stats.config_sent++;
				w->sent = true;
				w->last_hash = h;
			}
		}
	}
	answer_free(&a);
}

static void on_watch_closed(struct rpc_call *call, void *data)
{
	struct config_watch *w = data;
	(void)call;
	list_del(&w->node);
	w->n->n_cwatches--;
	nsp__config_request__free_unpacked(w->req, NULL);
	free(w);
}

static unsigned kinds_of(const char *method)
{
	static const struct {
		const char *suffix;
		unsigned kinds;
	} map[] = {
		{ "/WatchTrench", K_TRENCH },	  { "/WatchConduit", K_CONDUITS },
		{ "/WatchStream", K_STREAMS },	  { "/WatchFlow", K_FLOWS },
		{ "/WatchVip", K_VIPS },	  { "/WatchAttractor", K_ATTRACTORS },
		{ "/WatchGateway", K_GATEWAYS }, { "/WatchService", K_SERVICES },
		{ "/WatchAll", K_ALL },
	};
	const char *slash = strrchr(method, '/');
	for (size_t i = 0; slash && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(slash, map[i].suffix) == 0)
			return map[i].kinds;
	return K_ALL;
}

static void on_watch(struct rpc_call *call, const ProtobufCMessage *m,
		     void *data)
{
	struct nsp *n = data;
	const Nsp__ConfigRequest *req = (const Nsp__ConfigRequest *)m;
	struct config_watch *w = calloc(1, sizeof(*w));
	if (w)
		w->req = (Nsp__ConfigRequest *)pb_copy(&req->base);
	if (!w || !w->req) {
		free(w);
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory");
		return;
	}
	w->n = n;
	w->call = call;
	w->kinds = kinds_of(rpc_call_method(call));
	list_add(&n->cwatches, &w->node);
	n->n_cwatches++;
	rpc_call_on_close(call, on_watch_closed, w);
	/* A watcher that already has this revision needs nothing now: count
	 * the current answer as sent. */
	if (req->from_revision && req->from_revision == n->config_revision) {
		Nsp__ConfigResponse resp;
		struct answer a;
		if (build(n, w->req, w->kinds, &resp, &a) == 0) {
			w->last_hash = content_hash(&resp);
			w->sent = true;
		}
		answer_free(&a);
		return;
	}
	update(w);
}

void nsp_config_changed(struct nsp *n)
{
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &n->cwatches)
		update(list_entry(pos, struct config_watch, node));
}

int nsp_config_lookup(void *ctx, Nsp__TargetType type,
		      const Nsp__StreamRef *ref)
{
	struct nsp *n = ctx;
	for (size_t t = 0; t < n->n_trenches; t++) {
		const struct nsp_config *c = n->trenches[t].config;
		if (!c || strcmp(c->trench->name, ref->trench) != 0)
			continue;
		switch (type) {
		case NSP__TARGET_TYPE__TUNNEL:
			return 1;
		case NSP__TARGET_TYPE__INSTANCE: {
			const Nsp__Service *sv =
				nsp_config_find_service(c, ref->stream);
			return sv ? (int)sv->max_instances : -ENOENT;
		}
		case NSP__TARGET_TYPE__FRONTEND:
		case NSP__TARGET_TYPE__PROXY:
			return nsp_config_find_conduit(c, ref->conduit) ? 1
									 : -ENOENT;
		default: {
			const Nsp__Stream *s = nsp_config_find_stream(
				c, ref->conduit, ref->stream);
			return s ? (int)s->max_targets : -ENOENT;
		}
		}
	}
	return -ENOENT;
}

const struct rpc_method nsp_config_methods[] = {
	{ "nsp.Configuration/Get", &nsp__config_request__descriptor, on_get,
	  false },
	{ "nsp.Configuration/WatchTrench", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchConduit", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchStream", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchFlow", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchVip", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchAttractor", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchGateway", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchService", &nsp__config_request__descriptor,
	  on_watch, true },
	{ "nsp.Configuration/WatchAll", &nsp__config_request__descriptor,
	  on_watch, true },
};
const size_t nsp_n_config_methods =
	sizeof(nsp_config_methods) / sizeof(nsp_config_methods[0]);
