/* strait-lb's /metrics text. Counters of the queue threads are summed or
 * labelled by queue; per-flow and per-target counters come from the
 * current plane and the per-mark counters. */
#include <stdio.h>

#include "buf.h"
#include "lb.h"
#include "metrics.h"

static void one(struct buf *out, const char *name, const char *type,
		const char *help, double v)
{
	metrics_family(out, name, type, help);
	metrics_sample(out, name, NULL, v);
}

static void packets(struct buf *out, struct lb *lb)
{
	struct lb_totals t;
	lb_worker_totals(lb->workers, lb->n_workers, &t);
	metrics_family(out, "strait_lb_packets_total", "counter",
		       "packets given a verdict, by verdict and drop reason");
	metrics_sample(out, "strait_lb_packets_total",
		       "verdict=\"accept\",reason=\"\"", (double)t.accepted);
	char labels[96];
	for (int d = 0; d < LB_DROP_NCOUNT; d++) {
		snprintf(labels, sizeof(labels), "verdict=\"drop\",reason=\"%s\"",
			 lb_drop_reason_name(d));
		metrics_sample(out, "strait_lb_packets_total", labels,
			       (double)t.dropped[d]);
	}
	metrics_family(out, "strait_lb_placed_total", "counter",
		       "accepted packets by what chose their target (icmp_error "
		       "also counts in the others)");
	for (int i = 0; i < LB_PLACED_NCOUNT; i++) {
		snprintf(labels, sizeof(labels), "by=\"%s\"", lb_placed_name(i));
		metrics_sample(out, "strait_lb_placed_total", labels,
			       (double)t.placed[i]);
	}
}

static void queues(struct buf *out, struct lb *lb)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "strait_lb_queue_packets_total", "counter",
		  "packets read from the queue" },
		{ "strait_lb_queue_drops_total", "counter",
		  "times the kernel could not queue to us (ENOBUFS): packets "
		  "dropped, or accepted unbalanced with --fail-open" },
		{ "strait_lb_queue_batch_verdicts_total", "counter",
		  "batch verdict messages sent" },
		{ "strait_lb_conntab_entries", "gauge",
		  "connection-table entries" },
		{ "strait_lb_conntab_capacity", "gauge",
		  "connection-table capacity" },
		{ "strait_lb_conntab_evictions_total", "counter",
		  "live entries pushed out by a full connection table" },
		{ "strait_lb_fragments_held", "gauge",
		  "fragments waiting for their first fragment" },
		{ "strait_lb_fragment_datagrams", "gauge",
		  "datagrams in the fragment table" },
	};
	enum { N = sizeof(fam) / sizeof(fam[0]) };
	struct buf s[N] = { 0 };
	for (size_t i = 0; i < lb->n_workers; i++) {
		struct lb_nfq_stats nq;
		struct conntab_stats cs = { 0 };
		struct fragtab_stats fs;
		lb_worker_snapshot(lb->workers[i], &nq, &cs, &fs);
		const double v[N] = {
			(double)nq.received, (double)nq.enobufs,
			(double)nq.batches,  (double)cs.size,
			(double)cs.capacity, (double)cs.evictions,
			(double)fs.held,     (double)fs.size,
		};
		char labels[32];
		snprintf(labels, sizeof(labels), "queue=\"%u\"",
			 lb_worker_queue(lb->workers[i]));
		for (int f = 0; f < N; f++)
			metrics_sample(&s[f], fam[f].name, labels, v[f]);
	}
	for (int f = 0; f < N; f++) {
		metrics_family(out, fam[f].name, fam[f].type, fam[f].help);
		buf_append(out, s[f].data, s[f].len);
		buf_free(&s[f]);
	}
}

static void per_flow_and_target(struct buf *out, struct lb *lb)
{
	const struct lb_plane *p = lb_plane_now(lb);
	if (!p)
		return;
	struct buf l = { 0 };
	metrics_family(out, "strait_lb_flow_packets_total", "counter",
		       "packets classified into each flow");
	for (size_t i = 0; i < lb_flows_count(p->flows); i++) {
		const struct lb_flow *fl = lb_flows_at(p->flows, i);
		buf_reset(&l);
		buf_printf(&l, "flow=\"");
		metrics_label_escape(&l, lb_flow_name(fl));
		buf_printf(&l, "\",stream=\"");
		metrics_label_escape(&l, lb_flow_stream(fl));
		buf_printf(&l, "\"");
		metrics_sample(out, "strait_lb_flow_packets_total", buf_str(&l),
			       (double)__atomic_load_n(lb_flow_counter(fl),
						       __ATOMIC_RELAXED));
	}
	metrics_family(out, "strait_lb_target_packets_total", "counter",
		       "packets accepted towards each target (by its mark)");
	struct buf ready = { 0 };
	for (size_t i = 0; i < lb->n_targets; i++) {
		const struct lb_target *t = lb->targets[i];
		buf_reset(&l);
		buf_printf(&l, "stream=\"");
		metrics_label_escape(&l, t->stream);
		buf_printf(&l, "\",identifier=\"%u\"", t->id);
		uint64_t n = t->mark ? lb_worker_mark_total(lb->workers,
							    lb->n_workers,
							    t->mark)
				     : 0;
		metrics_sample(out, "strait_lb_target_packets_total",
			       buf_str(&l), (double)n);
		metrics_sample(&ready, "strait_lb_target_ready", buf_str(&l),
			       t->ready);
	}
	metrics_family(out, "strait_lb_target_ready", "gauge",
		       "1 when the target is routed and in its stream's table");
	if (ready.len)
		buf_append(out, ready.data, ready.len);
	buf_free(&ready);
	buf_free(&l);
}

void lb_stats_collect(struct buf *out, void *data)
{
	struct lb *lb = data;
	const struct lb_rebuild_stats *r = &lb->rebuild;
	packets(out, lb);
	queues(out, lb);
	per_flow_and_target(out, lb);
	one(out, "strait_lb_plane_rebuilds_total", "counter",
	    "data planes built and published", (double)r->planes);
	one(out, "strait_lb_plane_rebuild_failures_total", "counter",
	    "configurations the plane builder refused", (double)r->failures);
	one(out, "strait_lb_plane_build_seconds", "gauge",
	    "how long the last plane took to build", (double)r->last_plane_ns / 1e9);
	one(out, "strait_lb_table_builds_total", "counter",
	    "Maglev tables built", (double)r->tables);
	one(out, "strait_lb_table_build_seconds_total", "counter",
	    "time spent building Maglev tables", (double)r->table_ns_sum / 1e9);
	one(out, "strait_lb_planes_reclaimed_total", "counter",
	    "old planes freed once no queue thread could read them",
	    (double)r->freed);
	metrics_family(out, "strait_lb_iptables_updates_total", "counter",
		       "iptables-restore runs of the LB's chain");
	metrics_sample(out, "strait_lb_iptables_updates_total",
		       "result=\"ok\"", (double)r->rules_applied);
	metrics_sample(out, "strait_lb_iptables_updates_total",
		       "result=\"failed\"", (double)r->rules_failed);
	metrics_family(out, "strait_lb_route_changes_total", "counter",
		       "policy routes to targets, by what happened");
	metrics_sample(out, "strait_lb_route_changes_total", "op=\"added\"",
		       (double)r->routes_added);
	metrics_sample(out, "strait_lb_route_changes_total", "op=\"removed\"",
		       (double)r->routes_removed);
	metrics_sample(out, "strait_lb_route_changes_total",
		       "op=\"unreachable\"", (double)r->routes_failed);
	one(out, "strait_lb_nsp_connected", "gauge", "1 while NSP is connected",
	    lb->nsp && rpc_client_connected(lb->nsp));
}
