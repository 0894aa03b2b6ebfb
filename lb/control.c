/* The control socket: lb.Control/Status for straitctl lb (proto/lb.proto).
 * A status is built from the main thread's view and the queue threads'
 * counters, sent, and freed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "lb.pb-c.h"
#include "log.h"

/* Every allocation of one answer, freed together. */
struct arena {
	void **p;
	size_t n, cap;
	bool failed;
};

static void *take(struct arena *a, size_t size)
{
	if (a->failed)
		return NULL;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **np = realloc(a->p, cap * sizeof(*np));
		if (!np)
			goto fail;
		a->p = np;
		a->cap = cap;
	}
	void *m = calloc(1, size ? size : 1);
	if (!m)
		goto fail;
	a->p[a->n++] = m;
	return m;
fail:
	a->failed = true;
	return NULL;
}

static char *arena_dup(struct arena *a, const char *s)
{
	char *d = take(a, strlen(s) + 1);
	if (d)
		strcpy(d, s);
	return d;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
}

static Lb__Counter *counter(struct arena *a, const char *name, uint64_t v)
{
	Lb__Counter *c = take(a, sizeof(*c));
	if (!c)
		return NULL;
	lb__counter__init(c);
	c->name = (char *)name;
	c->value = v;
	return c;
}

static void fill_stream(struct lb *lb, struct arena *a,
			const struct lb_plane_stream *ps, Lb__StreamState *s)
{
	lb__stream_state__init(s);
	s->name = ps->name;
	s->conduit = ps->conduit;
	s->max_targets = ps->max_targets;
	s->mark_offset = ps->offset;
	s->table_size = maglev_size(ps->table);
	s->build_ns = ps->build_ns;
	size_t n = 0;
	for (size_t i = 0; i < lb->n_targets; i++)
		n += strcmp(lb->targets[i]->stream, ps->name) == 0;
	s->targets = take(a, n * sizeof(*s->targets));
	if (!s->targets)
		return;
	for (size_t i = 0; i < lb->n_targets; i++) {
		const struct lb_target *t = lb->targets[i];
		if (strcmp(t->stream, ps->name) != 0)
			continue;
		Lb__TargetState *ts = take(a, sizeof(*ts));
		if (!ts)
			return;
		lb__target_state__init(ts);
		ts->identifier = t->id;
		ts->ips = t->ips;
		ts->n_ips = t->n_ips;
		ts->mark = t->mark;
		ts->ready = lb_plane_target_live(ps, t->id) &&
			    t->mark == ps->offset + t->id;
		ts->waiting = ts->ready ? "" : (char *)t->waiting;
		ts->slots = ts->ready ? maglev_count(ps->table, t->id) : 0;
		ts->packets = t->mark ? lb_worker_mark_total(lb->workers,
							     lb->n_workers,
							     t->mark)
				      : 0;
		if (ts->ready) {
			if (!s->slots_min || ts->slots < s->slots_min)
				s->slots_min = ts->slots;
			if (ts->slots > s->slots_max)
				s->slots_max = ts->slots;
		}
		s->targets[s->n_targets++] = ts;
	}
}

static void fill_queues(struct lb *lb, struct arena *a, Lb__StatusResponse *r)
{
	r->queues = take(a, lb->n_workers * sizeof(*r->queues));
	if (!r->queues)
		return;
	for (size_t i = 0; i < lb->n_workers; i++) {
		struct lb_nfq_stats nq;
		struct conntab_stats cs = { 0 };
		struct fragtab_stats fs;
		lb_worker_snapshot(lb->workers[i], &nq, &cs, &fs);
		Lb__QueueState *q = take(a, sizeof(*q));
		if (!q)
			return;
		lb__queue_state__init(q);
		q->queue = lb_worker_queue(lb->workers[i]);
		q->received = nq.received;
		q->verdicts = nq.verdicts;
		q->batches = nq.batches;
		q->queue_drops = nq.enobufs;
		q->conns = cs.size;
		q->conns_capacity = cs.capacity;
		q->frags = fs.size;
		q->frags_held = fs.held;
		r->conns += cs.size;
		r->conns_capacity += cs.capacity;
		r->queues[r->n_queues++] = q;
	}
}

static void fill_counters(struct lb *lb, struct arena *a, Lb__StatusResponse *r)
{
	struct lb_totals t;
	lb_worker_totals(lb->workers, lb->n_workers, &t);
	r->accepted = t.accepted;
	r->drops = take(a, LB_DROP_NCOUNT * sizeof(*r->drops));
	r->placed = take(a, LB_PLACED_NCOUNT * sizeof(*r->placed));
	if (!r->drops || !r->placed)
		return;
	for (int d = 0; d < LB_DROP_NCOUNT; d++)
		if ((r->drops[r->n_drops] =
			 counter(a, lb_drop_reason_name(d), t.dropped[d])))
			r->n_drops++;
	for (int i = 0; i < LB_PLACED_NCOUNT; i++)
		if ((r->placed[r->n_placed] =
			 counter(a, lb_placed_name(i), t.placed[i])))
			r->n_placed++;
}

static void fill_vips(struct lb *lb, struct arena *a, Lb__StatusResponse *r)
{
	if (!lb->vips_applied)
		return;
	char *text = arena_dup(a, lb->vips_applied);
	r->vips = take(a, (strlen(lb->vips_applied) / 2 + 1) * sizeof(*r->vips));
	if (!text || !r->vips)
		return;
	for (char *save, *tok = strtok_r(text, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		r->vips[r->n_vips++] = tok;
}

static void status(struct rpc_call *call, const ProtobufCMessage *req,
		   void *data)
{
	struct lb *lb = data;
	(void)req;
	struct arena a = { 0 };
	Lb__StatusResponse r = LB__STATUS_RESPONSE__INIT;
	r.trench = (char *)lb->opt->trench;
	r.conduit = (char *)(lb->opt->conduit ? lb->opt->conduit : "");
	r.nsp_connected = lb->nsp && rpc_client_connected(lb->nsp);
	r.config_revision = lb->config ? lb->config->revision : 0;
	r.targets_revision = lb->targets_revision;
	r.last_error = lb->last_error;
	const struct lb_plane *p = lb_plane_now(lb);
	if (p) {
		r.plane_generation = p->generation;
		r.streams = take(&a, p->n_streams * sizeof(*r.streams));
		for (size_t i = 0; r.streams && i < p->n_streams; i++) {
			Lb__StreamState *s = take(&a, sizeof(*s));
			if (!s)
				break;
			fill_stream(lb, &a, &p->streams[i], s);
			r.streams[r.n_streams++] = s;
		}
		size_t nf = lb_flows_count(p->flows);
		r.flows = take(&a, nf * sizeof(*r.flows));
		for (size_t i = 0; r.flows && i < nf; i++) {
			const struct lb_flow *fl = lb_flows_at(p->flows, i);
			Lb__FlowState *f = take(&a, sizeof(*f));
			if (!f)
				break;
			lb__flow_state__init(f);
			f->name = (char *)lb_flow_name(fl);
			f->stream = (char *)lb_flow_stream(fl);
			f->priority = lb_flow_priority(fl);
			f->packets = __atomic_load_n(lb_flow_counter(fl),
						     __ATOMIC_RELAXED);
			r.flows[r.n_flows++] = f;
		}
	}
	fill_vips(lb, &a, &r);
	fill_queues(lb, &a, &r);
	fill_counters(lb, &a, &r);
	if (a.failed)
		rpc_call_end(call, RPC__CODE__RESOURCE_EXHAUSTED,
			     "out of memory for the status");
	else
		rpc_call_reply(call, &r.base);
	arena_free(&a);
}

static const struct rpc_method methods[] = {
	{ "lb.Control/Status", &lb__status_request__descriptor, status, false },
};

int lb_control_start(struct lb *lb, const struct sockaddr *addr)
{
	struct rpc_server_config cfg = {
		.methods = methods,
		.n_methods = sizeof(methods) / sizeof(methods[0]),
		.data = lb,
		.timing = { lb->opt->keepalive_ms, lb->opt->dead_ms },
		.max_conns = 64,
	};
	return rpc_server_start(lb->loop, addr, &cfg, &lb->control);
}

void lb_control_stop(struct lb *lb)
{
	if (lb->control)
		rpc_server_close(lb->control, NULL, NULL);
	lb->control = NULL;
}
