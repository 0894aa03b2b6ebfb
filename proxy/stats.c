/* strait-proxy's /metrics text. */
#include <stdio.h>

#include "buf.h"
#include "metrics.h"
#include "proxy.h"

static void one(struct buf *out, const char *name, const char *type,
		const char *help, double v)
{
	metrics_family(out, name, type, help);
	metrics_sample(out, name, NULL, v);
}

void proxy_stats_collect(struct buf *out, void *data)
{
	struct proxy *p = data;
	const struct proxy_stats *s = &p->stats;
	size_t n[2] = { 0, 0 }, linked[2] = { 0, 0 };
	for (struct proxy_att *a = p->atts; a; a = a->next) {
		if (a->gone)
			continue;
		n[a->kind]++;
		linked[a->kind] += a->state == ATT_LINKED;
	}
	metrics_family(out, "strait_proxy_attachments", "gauge",
		       "attachments by kind, and of them linked");
	static const char *const kind[2] = { "pod", "lb" };
	char labels[64];
	for (int k = 0; k < 2; k++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\",state=\"all\"",
			 kind[k]);
		metrics_sample(out, "strait_proxy_attachments", labels,
			       (double)n[k]);
		snprintf(labels, sizeof(labels), "kind=\"%s\",state=\"linked\"",
			 kind[k]);
		metrics_sample(out, "strait_proxy_attachments", labels,
			       (double)linked[k]);
	}
	metrics_family(out, "strait_proxy_egress_nexthops", "gauge",
		       "LBs in the egress multipath route, by family");
	for (int f = 0; f < 2; f++) {
		size_t k = p->n_nexthops[f] == (size_t)-1 ? 0 : p->n_nexthops[f];
		metrics_sample(out, "strait_proxy_egress_nexthops",
			       f ? "family=\"ipv6\"" : "family=\"ipv4\"",
			       (double)k);
	}
	one(out, "strait_proxy_egress_rules", "gauge",
	    "'from VIP lookup T' rules in place", (double)p->n_ruled);
	one(out, "strait_proxy_attach_total", "counter",
	    "Attach calls answered with a link", (double)s->attach_ok);
	one(out, "strait_proxy_attach_failed_total", "counter",
	    "Attach calls refused", (double)s->attach_failed);
	one(out, "strait_proxy_detach_total", "counter", "Detach calls",
	    (double)s->detach);
	one(out, "strait_proxy_links_created_total", "counter",
	    "veth pairs made", (double)s->links_created);
	one(out, "strait_proxy_links_removed_total", "counter",
	    "veth pairs removed", (double)s->links_removed);
	one(out, "strait_proxy_links_adopted_total", "counter",
	    "links of an earlier run kept at start", (double)s->links_adopted);
	one(out, "strait_proxy_stale_links_removed_total", "counter",
	    "bridge ports no attachment owned, removed",
	    (double)s->stale_removed);
	one(out, "strait_proxy_ipam_calls_total", "counter",
	    "Allocate and Release calls to IPAM", (double)s->ipam_calls);
	one(out, "strait_proxy_ipam_failures_total", "counter",
	    "IPAM calls that gave no address", (double)s->ipam_failed);
	one(out, "strait_proxy_neighbour_flushes_total", "counter",
	    "neighbour caches flushed after a link change",
	    (double)s->neigh_flushes);
	one(out, "strait_proxy_announcements_total", "counter",
	    "gratuitous ARPs and unsolicited neighbour advertisements sent",
	    (double)s->announcements);
	one(out, "strait_proxy_egress_updates_total", "counter",
	    "egress multipath route changes", (double)s->egress_updates);
	one(out, "strait_proxy_rule_changes_total", "counter",
	    "egress rules added or removed", (double)s->rule_changes);
	one(out, "strait_proxy_nsp_registered", "gauge",
	    "1 while registered in NSP as PROXY", p->registered ? 1 : 0);
	if (p->local)
		rpc_server_write_metrics(p->local, "strait_proxy_local", out);
}
