/* strait-ipam's /metrics text. */
#include <stdio.h>

#include "ipam.h"
#include "metrics.h"

static void counter(struct buf *out, const char *name, const char *help,
		    uint64_t v)
{
	metrics_family(out, name, "counter", help);
	metrics_sample(out, name, NULL, (double)v);
}

/* One walk of the tree fills the samples of all three per-prefix gauges,
 * each into its own buffer, so a scrape costs one walk, not three. */
struct prefix_ctx {
	struct buf samples[3]; /* capacity, used, quarantined */
};

static const char *const gauge_names[3] = {
	"strait_ipam_prefix_capacity",
	"strait_ipam_prefix_used",
	"strait_ipam_prefix_quarantined",
};

static void prefix_one(const struct ipam_prefix_view *v, void *data)
{
	static const char *const levels[] = { "trench", "conduit", "node" };
	struct prefix_ctx *c = data;
	struct buf labels = { 0 };
	char prefix[CIDR_STRLEN];
	cidr_format(&v->prefix, prefix, sizeof(prefix));
	buf_printf(&labels, "level=\"%s\",trench=\"", levels[v->level]);
	metrics_label_escape(&labels, v->trench);
	buf_printf(&labels, "\",conduit=\"");
	metrics_label_escape(&labels, v->conduit ? v->conduit : "");
	buf_printf(&labels, "\",node=\"");
	metrics_label_escape(&labels, v->node ? v->node : "");
	buf_printf(&labels, "\",family=\"%s\",prefix=\"%s\"",
		   v->family == AF_INET ? "ipv4" : "ipv6", prefix);
	const uint64_t values[3] = { v->capacity, v->used, v->quarantined };
	for (int g = 0; g < 3; g++)
		metrics_sample(&c->samples[g], gauge_names[g], labels.data,
			       (double)values[g]);
	buf_free(&labels);
}

void ipam_stats_collect(struct buf *out, void *data)
{
	struct ipam *p = data;
	const struct ipam_stats *s = &p->stats;

	metrics_family(out, "strait_ipam_children", "gauge",
		       "live allocations, bridges included");
	metrics_sample(out, "strait_ipam_children", NULL,
		       (double)ipam_tree_children(p->tree));
	counter(out, "strait_ipam_allocations_total",
		"Allocate calls that created a child", s->allocations);
	counter(out, "strait_ipam_refreshes_total",
		"Allocate calls for a child that held its address",
		s->refreshes);
	counter(out, "strait_ipam_releases_total",
		"Release calls that freed an address", s->releases);
	counter(out, "strait_ipam_collected_total",
		"allocations collected for want of a refresh", s->collected);
	metrics_family(out, "strait_ipam_errors_total", "counter",
		       "calls refused, by reason");
	for (int r = IPAM_OK + 1; r <= IPAM_BRIDGE_TAKEN; r++) {
		const char *name = ipam_reason_name((enum ipam_reason)r);
		char labels[64];
		snprintf(labels, sizeof(labels), "reason=\"%s\"", name);
		metrics_sample(out, "strait_ipam_errors_total", labels,
			       (double)s->errors[r]);
	}

	static const char *const helps[3] = {
		"sub-prefixes a prefix can hold, or a node's usable addresses",
		"of which in use",
		"addresses waiting out the reuse delay",
	};
	struct prefix_ctx c = { 0 };
	ipam_tree_walk_prefixes(p->tree, NULL, prefix_one, &c);
	for (int g = 0; g < 3; g++) {
		metrics_family(out, gauge_names[g], "gauge", helps[g]);
		buf_append(out, c.samples[g].data ? c.samples[g].data : "",
			   c.samples[g].len);
		buf_free(&c.samples[g]);
	}
	if (p->rpc)
		rpc_server_write_metrics(p->rpc, "strait_ipam", out);
}
