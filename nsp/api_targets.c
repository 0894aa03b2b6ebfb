/* The TargetRegistry methods, persistence of changes, and the watch pump.
 *
 * Order of a mutating call: the registry decides (in memory), the change
 * goes to the store, and only then is the reply sent; watchers hear of it
 * after the loop turn's I/O (the pump), so the requests read in one turn
 * reach each watcher as one batch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nsp.h"
#include "pbcopy.h"

#define BATCH 512 /* events or snapshot entries per message */

struct target_watch {
	struct nsp *n;
	struct rpc_call *call;
	Nsp__TargetFilter *filter; /* NULL = everything */
	uint64_t cursor;           /* the last revision this watcher has */
	bool need_snapshot;
	bool waiting;              /* for its connection to drain */
	struct list_node node;     /* in nsp->twatches */
};

/* Scratch for building one message; the daemon is single-threaded. */
static struct nsp_event evbuf[BATCH];
static Nsp__TargetEvent evs[BATCH];
static Nsp__TargetEvent *evptrs[BATCH];

uint64_t nsp_now_ms(struct nsp *n)
{
	return uv_now(n->loop);
}

static Rpc__Code code_of(int rc, struct nsp *n)
{
	enum nsp_refusal why;
	Rpc__Code code;
	switch (rc) {
	case -EINVAL:
		why = NSP_REFUSED_INVALID;
		code = RPC__CODE__INVALID_ARGUMENT;
		break;
	case -ENOENT:
		why = NSP_REFUSED_UNKNOWN_STREAM;
		code = RPC__CODE__NOT_FOUND;
		break;
	case -EEXIST:
		why = NSP_REFUSED_ID_TAKEN;
		code = RPC__CODE__ALREADY_EXISTS;
		break;
	case -ERANGE:
		why = NSP_REFUSED_ID_RANGE;
		code = RPC__CODE__OUT_OF_RANGE;
		break;
	case -ENOSPC:
		why = NSP_REFUSED_FULL;
		code = RPC__CODE__RESOURCE_EXHAUSTED;
		break;
	default:
		why = NSP_REFUSED_OTHER;
		code = RPC__CODE__INTERNAL;
		break;
	}
	n->stats.refused[why]++;
	return code;
}

int nsp_targets_persist(struct nsp *n)
{
	uint64_t rev = nsp_registry_revision(n->reg);
	char err[256];
	while (n->persisted < rev) {
		ssize_t k = nsp_registry_events(n->reg, n->persisted, evbuf,
						BATCH);
		if (k <= 0) {
			/* Cannot happen while every mutation is persisted
			 * before the next (expiry runs in slices smaller than
			 * the log); if it does, the store would miss changes. */
			snprintf(err, sizeof(err),
				 "events after revision %llu are gone from the log",
				 (unsigned long long)n->persisted);
			goto fail;
		}
		if (nsp_store_apply(n->store, evbuf, (size_t)k,
				    evbuf[k - 1].revision, err, sizeof(err)) < 0)
			goto fail;
		n->persisted = evbuf[k - 1].revision;
	}
	return 0;
fail:
	log_error("store: cannot write revision %llu: %s; stopping, since "
		  "acknowledging changes that are not on disk would break the "
		  "durability promise",
		  (unsigned long long)rev, err);
	n->exit_code = STRAIT_EXIT_FAILURE;
	uv_stop(n->loop);
	return -EIO;
}

static void on_expiry(uv_timer_t *t);

static void arm_expiry(struct nsp *n)
{
	uint64_t next = nsp_registry_next_expiry(n->reg);
	if (next == UINT64_MAX) {
		uv_timer_stop(&n->expiry);
		return;
	}
	uint64_t now = nsp_now_ms(n);
	uv_timer_start(&n->expiry, on_expiry, next > now ? next - now : 0, 0);
}

static void on_expiry(uv_timer_t *t)
{
	struct nsp *n = t->data;
	uint64_t now = nsp_now_ms(n);
	size_t gone = 0, k;
	/* In slices of one store batch, each persisted before the next, so
	 * that mass expiry (a whole node gone) never outruns the event log. */
	do {
		k = nsp_registry_expire(n->reg, now, BATCH);
		gone += k;
		if (k && nsp_targets_persist(n) < 0)
			return;
	} while (k == BATCH);
	if (gone) {
		n->stats.expired += gone;
		n->dirty = true;
		log_info("registry: %zu registration(s) expired (no refresh "
			 "within the ttl)",
			 gone);
	}
	arm_expiry(n);
}

static void on_register(struct rpc_call *call, const ProtobufCMessage *m,
			void *data)
{
	struct nsp *n = data;
	const Nsp__RegisterRequest *req = (const Nsp__RegisterRequest *)m;
	if (!req->target) {
		n->stats.refused[NSP_REFUSED_INVALID]++;
		rpc_call_end(call, RPC__CODE__INVALID_ARGUMENT,
			     "register: the request has no target");
		return;
	}
	const Nsp__Target *stored;
	bool changed;
	char err[512];
	int rc = nsp_registry_register(n->reg, req->target, nsp_now_ms(n),
				       &stored, &changed, err, sizeof(err));
	if (rc < 0) {
		rpc_call_end(call, code_of(rc, n), "%s", err);
		return;
	}
	n->stats.registers++;
	if (!changed)
		n->stats.refreshes++;
	if (changed) {
		if (nsp_targets_persist(n) < 0) {
			rpc_call_end(call, RPC__CODE__INTERNAL,
				     "the registration could not be stored");
			return;
		}
		n->dirty = true;
	}
	arm_expiry(n);

	Nsp__RegisterResponse resp = NSP__REGISTER_RESPONSE__INIT;
	resp.target = (Nsp__Target *)stored;
	resp.revision = nsp_registry_revision(n->reg);
	resp.changed = changed;
	rpc_call_reply(call, &resp.base);
}

static void on_unregister(struct rpc_call *call, const ProtobufCMessage *m,
			  void *data)
{
	struct nsp *n = data;
	const Nsp__UnregisterRequest *req = (const Nsp__UnregisterRequest *)m;
	if (!req->target) {
		rpc_call_end(call, RPC__CODE__INVALID_ARGUMENT,
			     "unregister: the request has no target");
		return;
	}
	bool existed;
	char err[512];
	int rc = nsp_registry_unregister(n->reg, req->target, &existed, err,
					 sizeof(err));
	if (rc < 0) {
		rpc_call_end(call, RPC__CODE__INVALID_ARGUMENT, "%s", err);
		return;
	}
	if (existed) {
		n->stats.unregisters++;
		if (nsp_targets_persist(n) < 0) {
			rpc_call_end(call, RPC__CODE__INTERNAL,
				     "the removal could not be stored");
			return;
		}
		n->dirty = true;
		arm_expiry(n);
	}
	Nsp__UnregisterResponse resp = NSP__UNREGISTER_RESPONSE__INIT;
	resp.revision = nsp_registry_revision(n->reg);
	resp.existed = existed;
	rpc_call_reply(call, &resp.base);
}

/* Collects the registrations a filter selects. */
struct collect {
	const Nsp__TargetFilter *filter;
	Nsp__Target **items;
	size_t n, cap;
	bool oom;
};

static void collect_one(const Nsp__Target *t, void *data)
{
	struct collect *c = data;
	if (c->oom || !nsp_filter_match(c->filter, t))
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		Nsp__Target **items = realloc(c->items, cap * sizeof(*items));
		if (!items) {
			c->oom = true;
			return;
		}
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n++] = (Nsp__Target *)t;
}

static void on_list(struct rpc_call *call, const ProtobufCMessage *m,
		    void *data)
{
	struct nsp *n = data;
	const Nsp__TargetListRequest *req = (const Nsp__TargetListRequest *)m;
	struct collect c = { .filter = req->filter };
	nsp_registry_foreach(n->reg, collect_one, &c);
	if (c.oom) {
		free(c.items);
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory");
		return;
	}
	Nsp__TargetListResponse resp = NSP__TARGET_LIST_RESPONSE__INIT;
	resp.revision = nsp_registry_revision(n->reg);
	resp.targets = c.items;
	resp.n_targets = c.n;
	rpc_call_reply(call, &resp.base);
	free(c.items);
}

/* ---- watches ---- */

static int send_batch(struct target_watch *w, size_t k, uint64_t revision,
		      bool reset, bool synced)
{
	Nsp__TargetWatchResponse resp = NSP__TARGET_WATCH_RESPONSE__INIT;
	resp.store_id = nsp_store_id(w->n->store);
	resp.revision = revision;
	resp.reset = reset;
	resp.synced = synced;
	resp.events = evptrs;
	resp.n_events = k;
	int err = rpc_call_send(w->call, &resp.base);
	if (err == 0)
		w->n->stats.events_sent += k;
	return err;
}

static void set_event(size_t i, Nsp__TargetEvent__Kind kind,
		      const Nsp__Target *t, uint64_t revision)
{
	nsp__target_event__init(&evs[i]);
	evs[i].kind = kind;
	evs[i].target = (Nsp__Target *)t;
	evs[i].revision = revision;
	evptrs[i] = &evs[i];
}

/* A snapshot goes out whole within one call, so that it is consistent at
 * one revision; it is the one place a watcher may queue more than the
 * congestion mark, bounded by the size of the registry. */
static int send_snapshot(struct target_watch *w)
{
	struct nsp *n = w->n;
	struct collect c = { .filter = w->filter };
	nsp_registry_foreach(n->reg, collect_one, &c);
	if (c.oom) {
		free(c.items);
		return -ENOMEM;
	}
	uint64_t rev = nsp_registry_revision(n->reg);
	size_t done = 0;
	int err = 0;
	do {
		size_t k = c.n - done < BATCH ? c.n - done : BATCH;
		for (size_t i = 0; i < k; i++)
			set_event(i, NSP__TARGET_EVENT__KIND__ADDED,
				  c.items[done + i], rev);
		err = send_batch(w, k, rev, done == 0, done + k == c.n);
		done += k;
	} while (!err && done < c.n);
	free(c.items);
	if (err)
		return err;
	n->stats.snapshots_sent++;
	w->cursor = rev;
	w->need_snapshot = false;
	return 0;
}

static void on_drain(struct rpc_call *call, void *data);

/* Sends the watcher what it has not seen yet, until it has everything or
 * its connection is congested. */
static void pump_one(struct target_watch *w)
{
	struct nsp *n = w->n;
	while (!w->waiting) {
		if (rpc_call_congested(w->call)) {
			w->waiting = true;
			rpc_call_on_drain(w->call, on_drain);
			return;
		}
		if (w->need_snapshot) {
			if (send_snapshot(w) < 0)
				return;
			continue;
		}
		if (w->cursor >= nsp_registry_revision(n->reg))
			return;
		ssize_t k = nsp_registry_events(n->reg, w->cursor, evbuf, BATCH);
		if (k < 0) {
			/* It fell behind the log: start over from a snapshot. */
			w->need_snapshot = true;
			continue;
		}
		size_t out = 0;
		for (ssize_t i = 0; i < k; i++) {
			Nsp__TargetEvent__Kind kind;
			const Nsp__Target *t;
			if (nsp_event_view(w->filter, &evbuf[i], &kind, &t))
				set_event(out++, kind, t, evbuf[i].revision);
		}
		uint64_t last = evbuf[k - 1].revision;
		if (out && send_batch(w, out, last, false, true) < 0)
			return;
		w->cursor = last;
	}
}

static void on_drain(struct rpc_call *call, void *data)
{
	struct target_watch *w = data;
	(void)call;
	w->waiting = false;
	pump_one(w);
}

static void unlink_watch(struct target_watch *w)
{
	list_del(&w->node);
	w->n->n_twatches--;
	if (w->filter)
		nsp__target_filter__free_unpacked(w->filter, NULL);
	free(w);
}

static void on_watch_closed(struct rpc_call *call, void *data)
{
	(void)call;
	unlink_watch(data);
}

static void on_watch(struct rpc_call *call, const ProtobufCMessage *m,
		     void *data)
{
	struct nsp *n = data;
	const Nsp__TargetWatchRequest *req = (const Nsp__TargetWatchRequest *)m;
	struct target_watch *w = calloc(1, sizeof(*w));
	if (w && req->filter)
		w->filter = (Nsp__TargetFilter *)pb_copy(&req->filter->base);
	if (!w || (req->filter && !w->filter)) {
		free(w);
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory");
		return;
	}
	w->n = n;
	w->call = call;
	uint64_t rev = nsp_registry_revision(n->reg);
	/* Resume only from this store's past: a revision from another store,
	 * or one ahead of ours, means the watcher's view is not ours. */
	if (req->from_revision == 0 || req->store_id != nsp_store_id(n->store) ||
	    req->from_revision > rev)
		w->need_snapshot = true;
	else
		w->cursor = req->from_revision;
	list_add(&n->twatches, &w->node);
	n->n_twatches++;
	rpc_call_on_close(call, on_watch_closed, w);
	log_debug("watch: %s from revision %llu%s", rpc_call_peer(call),
		  (unsigned long long)req->from_revision,
		  w->need_snapshot ? " (snapshot)" : "");
	pump_one(w);
}

static void on_pump(uv_check_t *h)
{
	struct nsp *n = h->data;
	if (!n->dirty)
		return;
	n->dirty = false;
	struct list_node *pos, *tmp;
	list_for_each_safe(pos, tmp, &n->twatches)
		pump_one(list_entry(pos, struct target_watch, node));
}

int nsp_targets_start(struct nsp *n)
{
	list_init(&n->twatches);
	uv_timer_init(n->loop, &n->expiry);
	n->expiry.data = n;
	uv_check_init(n->loop, &n->pump);
	n->pump.data = n;
	int err = uv_check_start(&n->pump, on_pump);
	if (err)
		return err;
	arm_expiry(n);
	return 0;
}

void nsp_targets_stop(struct nsp *n)
{
	uv_close((uv_handle_t *)&n->expiry, NULL);
	uv_close((uv_handle_t *)&n->pump, NULL);
}

const struct rpc_method nsp_target_methods[] = {
	{ "nsp.TargetRegistry/Register", &nsp__register_request__descriptor,
	  on_register, false },
	{ "nsp.TargetRegistry/Unregister",
	  &nsp__unregister_request__descriptor, on_unregister, false },
	{ "nsp.TargetRegistry/List", &nsp__target_list_request__descriptor,
	  on_list, false },
	{ "nsp.TargetRegistry/Watch", &nsp__target_watch_request__descriptor,
	  on_watch, true },
};
const size_t nsp_n_target_methods =
	sizeof(nsp_target_methods) / sizeof(nsp_target_methods[0]);
