/* Reconciliation: from the configuration and targets NSP gave (lb.h) to
 * routes, a published data plane and the iptables chain.
 *
 * One pass, run from a short timer so that a burst of NSP events makes
 * one plane:
 *
 *   A  every stream of the configuration keeps (or gets) its mark block;
 *      every enabled target of a known stream with an identifier in range
 *      is routed with its mark (a target not reachable yet waits, and a
 *      retry timer runs the pass again)
 *   B  a plane with the ready targets is built and published; the old one
 *      is retired (freed once every queue thread is past it)
 *   C  targets that left, or whose mark is no longer wanted, are unrouted
 *      now that no plane sends packets to them
 *   D  the chain queues exactly the VIPs our flows name
 *
 * A failure in B (a configuration the classifier refuses) keeps the last
 * good plane and says why; NSP has validated the configuration, so that is
 * a bug or a version skew, not an input error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "lb.h"
#include "log.h"
#include "rules.h"

#define COALESCE_MS 10
#define RETRY_MS 1000
#define RECLAIM_MS 20

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_apply(uv_timer_t *t);

void lb_schedule(struct lb *lb)
{
	if (!uv_is_active((uv_handle_t *)&lb->apply_timer))
		uv_timer_start(&lb->apply_timer, on_apply, COALESCE_MS, 0);
}

static void on_retry(uv_timer_t *t)
{
	lb_schedule(t->data);
}

void lb_target_gone(struct lb *lb, struct lb_target *t)
{
	struct lb_target **g = realloc(lb->gone, (lb->n_gone + 1) * sizeof(*g));
	if (!g) {
		lb_unroute_target(lb, t);
		lb_target_free(t);
		return;
	}
	lb->gone = g;
	g[lb->n_gone++] = t;
	lb_schedule(lb);
}

static uint32_t stream_max(const Nsp__Stream *s)
{
	return s->max_targets ? s->max_targets : 100;
}

static int in_config(const char *name, void *data)
{
	const Nsp__ConfigResponse *c = data;
	for (size_t i = 0; i < c->n_streams; i++)
		if (strcmp(c->streams[i]->name, name) == 0)
			return 1;
	return 0;
}

/* The mark a target should have: 0 when it should have none. */
static uint32_t wanted_mark(const struct lb *lb, const struct lb_target *t)
{
	const struct lb_mark_block *b = lb_marks_find(&lb->marks, t->stream);
	if (!b || !t->enabled || t->id == 0 || t->id > b->max_targets)
		return 0;
	return b->offset + t->id;
}

/* A: blocks and routes. Returns true when some target waits. */
static bool route_all(struct lb *lb)
{
	const Nsp__ConfigResponse *c = lb->config;
	lb_marks_retain(&lb->marks, in_config, (void *)c);
	for (size_t i = 0; i < c->n_streams; i++) {
		const struct lb_mark_block *b;
		int rc = lb_marks_get(&lb->marks, c->streams[i]->name,
				      stream_max(c->streams[i]), &b);
		if (rc < 0)
			log_error("stream %s: no marks for %u targets in "
				  "%u..%u: %s",
				  c->streams[i]->name, stream_max(c->streams[i]),
				  lb->opt->mark_base,
				  lb->opt->mark_base + lb->opt->mark_span - 1,
				  strerror(-rc));
	}
	bool waiting = false;
	for (size_t i = 0; i < lb->n_targets; i++) {
		struct lb_target *t = lb->targets[i];
		uint32_t m = wanted_mark(lb, t);
		if (!m) {
			snprintf(t->waiting, sizeof(t->waiting), "%s",
				 !t->enabled ? "disabled" :
				 lb_marks_find(&lb->marks, t->stream) ?
					       "identifier out of range" :
					       "unknown stream");
			continue; /* unrouted in C, after the plane */
		}
		if (t->mark == m && t->ready)
			continue;
		if (lb_route_target(lb, t, m) < 0)
			waiting = true;
	}
	return waiting;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void retire(struct lb *lb, struct lb_plane *old);

/* B: the next plane. */
static int publish(struct lb *lb)
{
	const Nsp__ConfigResponse *c = lb->config;
	size_t ns = lb->marks.n;
	struct lb_plane_stream_input *in = calloc(ns ? ns : 1, sizeof(*in));
	uint32_t *ids = calloc(lb->n_targets ? lb->n_targets : 1, sizeof(*ids));
	int rc = -ENOMEM;
	if (!in || !ids)
		goto out;
	size_t used = 0, n = 0;
	for (size_t i = 0; i < c->n_streams; i++) {
		const Nsp__Stream *s = c->streams[i];
		const struct lb_mark_block *b = lb_marks_find(&lb->marks, s->name);
		if (!b)
			continue;
		struct lb_plane_stream_input *si = &in[n++];
		si->name = s->name;
		si->conduit = s->conduit;
		si->uid = b->uid;
		si->offset = b->offset;
		si->max_targets = b->max_targets;
		si->table_size = lb->opt->table_size;
		si->ids = ids + used;
		for (size_t j = 0; j < lb->n_targets; j++) {
			const struct lb_target *t = lb->targets[j];
			if (t->ready && t->mark && t->mark == wanted_mark(lb, t) &&
			    strcmp(t->stream, s->name) == 0)
				ids[used + si->n_ids++] = t->id;
		}
		/* Two registrations with one identifier cannot happen in
		 * one NSP; drop a repeat rather than refuse the stream. */
		qsort(ids + used, si->n_ids, sizeof(*ids), cmp_u32);
		size_t k = 0;
		for (size_t j = 0; j < si->n_ids; j++)
			if (k == 0 || ids[used + k - 1] != ids[used + j])
				ids[used + k++] = ids[used + j];
		si->n_ids = k;
		used += k;
	}
	struct lb_plane_input pin = {
		.generation = lb->generation + 1,
		.flows = c->flows,
		.n_flows = c->n_flows,
		.vips = c->vips,
		.n_vips = c->n_vips,
		.streams = in,
		.n_streams = n,
	};
	struct lb_plane *p;
	uint64_t t0 = now_ns();
	rc = lb_plane_build(&pin, lb_plane_now(lb), &p, lb->last_error,
			    sizeof(lb->last_error));
	if (rc < 0) {
		lb->rebuild.failures++;
		log_error("configuration revision %llu not applied, the last "
			  "good one stays: %s",
			  (unsigned long long)c->revision, lb->last_error);
		goto out;
	}
	lb->last_error[0] = '\0';
	lb->rebuild.last_plane_ns = now_ns() - t0;
	lb->rebuild.planes++;
	for (size_t i = 0; i < p->n_streams; i++) {
		lb->rebuild.tables++;
		lb->rebuild.table_ns_sum += p->streams[i].build_ns;
	}
	lb->generation = p->generation;
	retire(lb, atomic_exchange(&lb->shared.plane, p));
	log_debug("plane %llu: %zu stream(s), %zu flow(s), %zu target(s) "
		  "ready, built in %.3f ms",
		  (unsigned long long)p->generation, p->n_streams,
		  lb_flows_count(p->flows), used,
		  (double)lb->rebuild.last_plane_ns / 1e6);
out:
	free(in);
	free(ids);
	return rc;
}

/* C: routes no plane uses any more. A gone target whose mark a current
 * target now holds handed its rule and table over (the route was
 * replaced): only families the new holder lacks are removed. */
static const struct lb_target *holder(const struct lb *lb, uint32_t mark)
{
	for (size_t i = 0; i < lb->n_targets; i++)
		if (lb->targets[i]->mark == mark)
			return lb->targets[i];
	return NULL;
}

static void unroute_stale(struct lb *lb)
{
	for (size_t i = 0; i < lb->n_gone; i++) {
		struct lb_target *t = lb->gone[i];
		const struct lb_target *h = t->mark ? holder(lb, t->mark) : NULL;
		if (h) {
			for (int f = 0; f < 2; f++)
				if (h->routed[f])
					t->routed[f] = false;
		}
		lb_unroute_target(lb, t);
		lb_target_free(t);
	}
	free(lb->gone);
	lb->gone = NULL;
	lb->n_gone = 0;
	for (size_t i = 0; i < lb->n_targets; i++) {
		struct lb_target *t = lb->targets[i];
		if (t->mark && wanted_mark(lb, t) != t->mark)
			lb_unroute_target(lb, t);
	}
}

/* D: the VIPs our flows name, as text, so that an unchanged set costs
 * nothing. */
static int vip_set(const struct lb *lb, struct cidr **out, size_t *n,
		   struct buf *text)
{
	const Nsp__ConfigResponse *c = lb->config;
	struct cidr *v = calloc(c->n_vips ? c->n_vips : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*n = 0;
	for (size_t i = 0; i < c->n_vips; i++) {
		bool named = false;
		for (size_t j = 0; j < c->n_flows && !named; j++) {
			const Nsp__Flow *f = c->flows[j];
			if (!lb_marks_find(&lb->marks, f->stream))
				continue;
			for (size_t k = 0; k < f->n_vips && !named; k++)
				named = strcmp(f->vips[k], c->vips[i]->name) == 0;
		}
		struct cidr a;
		if (!named || (cidr_parse(c->vips[i]->address, &a) < 0 &&
			       cidr_parse_ip(c->vips[i]->address, &a) < 0))
			continue;
		v[(*n)++] = a;
		char s[CIDR_STRLEN];
		cidr_format(&a, s, sizeof(s));
		buf_printf(text, "%s ", s);
	}
	*out = v;
	return 0;
}

static bool apply_rules(struct lb *lb)
{
	struct cidr *vips;
	size_t n;
	struct buf text = { 0 };
	if (vip_set(lb, &vips, &n, &text) < 0)
		return false;
	const char *now = buf_str(&text);
	bool ok = true;
	if (!lb->vips_applied || strcmp(lb->vips_applied, now) != 0) {
		struct lb_rules_spec spec = {
			.chain = lb->opt->chain,
			.queue_first = lb->opt->queue_first,
			.queue_last = lb->opt->queue_last,
			.fail_open = lb->opt->fail_open,
			.comment = "strait-lb",
			.vips = vips,
			.n_vips = n,
		};
		char err[512];
		if (lb_rules_apply(&spec, err, sizeof(err)) < 0) {
			lb->rebuild.rules_failed++;
			log_error("iptables: %s", err);
			ok = false;
		} else {
			lb->rebuild.rules_applied++;
			free(lb->vips_applied);
			lb->vips_applied = strdup(now);
			log_info("iptables: chain %s queues %zu VIP(s): %s",
				 lb->opt->chain, n, n ? now : "none");
		}
	}
	free(vips);
	buf_free(&text);
	return ok;
}

static void on_apply(uv_timer_t *timer)
{
	struct lb *lb = timer->data;
	if (!lb->config || !lb->targets_synced)
		return; /* a first plane needs both */
	bool waiting = route_all(lb);
	publish(lb);
	unroute_stale(lb);
	bool rules_ok = apply_rules(lb);
	if (waiting || !rules_ok)
		uv_timer_start(&lb->retry_timer, on_retry, RETRY_MS, 0);
}

/* ---- reclamation ---- */

static void on_reclaim(uv_timer_t *t)
{
	struct lb *lb = t->data;
	struct lb_retired **pp = &lb->retired;
	while (*pp) {
		struct lb_retired *r = *pp;
		bool free_now = true;
		for (size_t i = 0; i < lb->n_workers && free_now; i++)
			free_now = lb_worker_quiescent_since(lb->workers[i],
							     r->epochs[i]);
		if (!free_now) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		lb_plane_free(r->plane);
		free(r->epochs);
		free(r);
		lb->rebuild.freed++;
	}
	if (lb->retired)
		uv_timer_start(&lb->reclaim_timer, on_reclaim, RECLAIM_MS, 0);
}

static void retire(struct lb *lb, struct lb_plane *old)
{
	if (!old)
		return;
	struct lb_retired *r = calloc(1, sizeof(*r));
	uint64_t *e = calloc(lb->n_workers ? lb->n_workers : 1, sizeof(*e));
	if (!r || !e) {
		/* Leaking one plane beats freeing it under a reader. */
		log_error("out of memory: plane %llu is leaked",
			  (unsigned long long)old->generation);
		free(r);
		free(e);
		return;
	}
	for (size_t i = 0; i < lb->n_workers; i++)
		e[i] = lb_worker_epoch(lb->workers[i]);
	r->plane = old;
	r->epochs = e;
	r->next = lb->retired;
	lb->retired = r;
	if (!uv_is_active((uv_handle_t *)&lb->reclaim_timer))
		uv_timer_start(&lb->reclaim_timer, on_reclaim, RECLAIM_MS, 0);
}

/* ---- life ---- */

int lb_cleanup_stale(const struct lb_options *o, char *err, size_t errlen)
{
	int rc = lb_rules_cleanup_stale(o->chain, err, errlen);
	if (rc < 0)
		return rc;
	struct rtnl *r;
	rc = rtnl_open(&r);
	if (rc < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(-rc));
		return rc;
	}
	rc = lb_routes_flush_range(r, o->mark_base,
				   o->mark_base + o->mark_span - 1, err, errlen);
	rtnl_close(r);
	return rc;
}

int lb_apply_init(struct lb *lb, char *err, size_t errlen)
{
	int rc = rtnl_open(&lb->rtnl);
	if (rc < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(-rc));
		return rc;
	}
	lb_marks_init(&lb->marks, lb->opt->mark_base, lb->opt->mark_span);
	uv_timer_init(lb->loop, &lb->apply_timer);
	uv_timer_init(lb->loop, &lb->retry_timer);
	uv_timer_init(lb->loop, &lb->reclaim_timer);
	lb->apply_timer.data = lb->retry_timer.data = lb->reclaim_timer.data =
	    lb;
	return 0;
}

void lb_apply_unqueue(struct lb *lb)
{
	char err[512];
	uv_timer_stop(&lb->apply_timer);
	uv_timer_stop(&lb->retry_timer);
	if (lb->vips_applied && lb_rules_remove(lb->opt->chain, err, sizeof(err)) < 0)
		log_warn("iptables: %s", err);
	free(lb->vips_applied);
	lb->vips_applied = NULL;
}

/* After the queue threads have stopped: nothing reads a plane any more. */
void lb_apply_fini(struct lb *lb)
{
	char err[512];
	lb_apply_unqueue(lb);
	for (size_t i = 0; i < lb->n_targets; i++)
		lb_unroute_target(lb, lb->targets[i]);
	for (size_t i = 0; i < lb->n_gone; i++) {
		lb_unroute_target(lb, lb->gone[i]);
		lb_target_free(lb->gone[i]);
	}
	free(lb->gone);
	lb->gone = NULL;
	lb->n_gone = 0;
	if (lb_routes_flush_range(lb->rtnl, lb->opt->mark_base,
				  lb->opt->mark_base + lb->opt->mark_span - 1,
				  err, sizeof(err)) < 0)
		log_warn("routes: %s", err);
	while (lb->retired) {
		struct lb_retired *r = lb->retired;
		lb->retired = r->next;
		lb_plane_free(r->plane);
		free(r->epochs);
		free(r);
	}
	lb_plane_free(atomic_exchange(&lb->shared.plane, NULL));
	lb_marks_free(&lb->marks);
	rtnl_close(lb->rtnl);
	lb->rtnl = NULL;
	uv_close((uv_handle_t *)&lb->apply_timer, NULL);
	uv_close((uv_handle_t *)&lb->retry_timer, NULL);
	uv_close((uv_handle_t *)&lb->reclaim_timer, NULL);
}
