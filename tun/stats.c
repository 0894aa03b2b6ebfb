/* strait-tun's /metrics text. */
#include <stdio.h>

#include "buf.h"
#include "metrics.h"
#include "rpc.h"
#include "tun.h"

static void one(struct buf *out, const char *name, const char *type,
		const char *help, double v)
{
	metrics_family(out, name, type, help);
	metrics_sample(out, name, NULL, v);
}

void tun_stats_drops(const struct tun_daemon *d,
		     struct tun_drop out[TUN_NDROPS])
{
	const struct tun_counters *c = &d->c;
	struct tun_core_stats cs;
	struct conntab_stats fs;
	tun_core_stats(d->core, &cs, &fs);
	size_t n = 0;
	for (int r = 1; r < TUN_R_NREASONS; r++)
		out[n++] = (struct tun_drop){
		    tun_reason_name((enum tun_reason)r), cs.reasons[r]};
	out[n++] = (struct tun_drop){"bad_header", c->bad_header};
	out[n++] = (struct tun_drop){"unknown_sender", c->unknown_sender};
	out[n++] = (struct tun_drop){"bad_packet", c->bad_packet};
	out[n++] = (struct tun_drop){"send_error", c->send_errors};
	out[n++] = (struct tun_drop){"not_ready", c->not_ready};
}

void tun_stats_collect(struct buf *out, void *data)
{
	const struct tun_daemon *d = data;
	const struct tun_counters *c = &d->c;
	struct tun_core_stats cs;
	struct conntab_stats fs;
	tun_core_stats(d->core, &cs, &fs);

	metrics_family(out, "strait_tun_packets_total", "counter",
		       "packets by leg and direction (UDP: datagrams)");
	metrics_sample(out, "strait_tun_packets_total",
		       "leg=\"device\",dir=\"rx\"", (double)c->tun_rx);
	metrics_sample(out, "strait_tun_packets_total",
		       "leg=\"device\",dir=\"tx\"", (double)c->tun_tx);
	metrics_sample(out, "strait_tun_packets_total",
		       "leg=\"udp\",dir=\"rx\"", (double)c->udp_rx);
	metrics_sample(out, "strait_tun_packets_total",
		       "leg=\"udp\",dir=\"tx\"", (double)c->udp_tx);
	metrics_family(out, "strait_tun_bytes_total", "counter",
		       "bytes by leg and direction");
	metrics_sample(out, "strait_tun_bytes_total",
		       "leg=\"device\",dir=\"rx\"", (double)c->tun_rx_bytes);
	metrics_sample(out, "strait_tun_bytes_total",
		       "leg=\"device\",dir=\"tx\"", (double)c->tun_tx_bytes);
	metrics_sample(out, "strait_tun_bytes_total", "leg=\"udp\",dir=\"rx\"",
		       (double)c->udp_rx_bytes);
	metrics_sample(out, "strait_tun_bytes_total", "leg=\"udp\",dir=\"tx\"",
		       (double)c->udp_tx_bytes);

	metrics_family(out, "strait_tun_drops_total", "counter",
		       "packets dropped or refused, by reason");
	char labels[160];
	struct tun_drop drops[TUN_NDROPS];
	tun_stats_drops(d, drops);
	for (size_t i = 0; i < TUN_NDROPS; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
			 drops[i].name);
		metrics_sample(out, "strait_tun_drops_total", labels,
			       (double)drops[i].value);
	}
	one(out, "strait_tun_udp_sends_total", "counter",
	    "messages sent (each up to 64 datagrams with UDP_SEGMENT)",
	    (double)c->udp_tx_sends);
	one(out, "strait_tun_udp_send_calls_total", "counter",
	    "sendmmsg calls (each any number of messages, to any nodes)",
	    (double)c->udp_tx_calls);
	one(out, "strait_tun_udp_receive_batches_total", "counter",
	    "recvmmsg calls that returned datagrams",
	    (double)c->udp_rx_batches);
	one(out, "strait_tun_merged_segments_total", "counter",
	    "received TCP segments written to the device as part of a "
	    "merged packet",
	    (double)c->tun_tx_merged);
	one(out, "strait_tun_unreachable_sent_total", "counter",
	    "ICMP unreachables answered", (double)c->unreach_sent);
	one(out, "strait_tun_mss_clamped_total", "counter",
	    "TCP SYNs whose MSS was lowered", (double)c->mss_clamped);
	one(out, "strait_tun_flows", "gauge",
	    "flow table entries (forward, reverse and return)",
	    (double)fs.size);
	one(out, "strait_tun_flows_new_total", "counter",
	    "flows placed on an instance", (double)cs.flows_new);
	one(out, "strait_tun_flows_forgotten_total", "counter",
	    "flow entries dropped because their instance or node went",
	    (double)cs.flows_forgotten);
	one(out, "strait_tun_fragments_held_total", "counter",
	    "later fragments held until their first came",
	    (double)cs.frags_held);
	one(out, "strait_tun_fragments_released_total", "counter",
	    "held fragments sent on when their first came (the rest are "
	    "drops, reason fragment_early)",
	    (double)cs.frags_released);
	const struct tun_view *v = tun_core_view(d->core);
	const struct tun_vsvc *const *svcs;
	const struct tun_vnode *const *nodes;
	size_t ns = tun_view_services(v, &svcs);
	size_t nn = tun_view_nodes(v, &nodes);
	metrics_family(out, "strait_tun_instances", "gauge",
		       "instances per service (all, and on this node)");
	for (size_t i = 0; i < ns; i++) {
		snprintf(labels, sizeof(labels), "service=\"%s\",where=\"all\"",
			 svcs[i]->name);
		metrics_sample(out, "strait_tun_instances", labels,
			       (double)svcs[i]->n_instances);
		snprintf(labels, sizeof(labels),
			 "service=\"%s\",where=\"local\"", svcs[i]->name);
		metrics_sample(out, "strait_tun_instances", labels,
			       (double)svcs[i]->n_local);
	}
	one(out, "strait_tun_services", "gauge", "services in the tables",
	    (double)ns);
	one(out, "strait_tun_nodes", "gauge", "tunnel nodes in the tables",
	    (double)nn);
	one(out, "strait_tun_tables_ready", "gauge",
	    "1 once every NSP watch has answered", d->synced ? 1 : 0);
	one(out, "strait_tun_nsp_registered", "gauge",
	    "1 while the node's TUNNEL registration stands",
	    d->registered ? 1 : 0);
	if (d->control)
		rpc_server_write_metrics(d->control, "strait_tun_control", out);
}
