/* strait-nsp's /metrics text. */
#include <stdio.h>

#include "metrics.h"
#include "nsp.h"

static const char *const refusal_names[NSP_REFUSED_KINDS] = {
	"invalid", "unknown_stream", "identifier_taken",
	"identifier_out_of_range", "stream_full", "other",
};

/* Registrations by type, indexed by Nsp__TargetType (0 unused: the
 * registry stores TARGET for it). */
#define N_TYPES (NSP__TARGET_TYPE__INSTANCE + 1)

static const char *const type_labels[N_TYPES] = {
	[NSP__TARGET_TYPE__TARGET] = "type=\"target\"",
	[NSP__TARGET_TYPE__FRONTEND] = "type=\"frontend\"",
	[NSP__TARGET_TYPE__PROXY] = "type=\"proxy\"",
	[NSP__TARGET_TYPE__TUNNEL] = "type=\"tunnel\"",
	[NSP__TARGET_TYPE__INSTANCE] = "type=\"instance\"",
};

static void count_type(const Nsp__Target *t, void *data)
{
	uint64_t *by_type = data;
	int type = t->type ? (int)t->type : NSP__TARGET_TYPE__TARGET;
	if (type < N_TYPES)
		by_type[type]++;
}

static void counter(struct buf *out, const char *name, const char *help,
		    uint64_t v)
{
	metrics_family(out, name, "counter", help);
	metrics_sample(out, name, NULL, (double)v);
}

static void gauge(struct buf *out, const char *name, const char *help,
		  uint64_t v)
{
	metrics_family(out, name, "gauge", help);
	metrics_sample(out, name, NULL, (double)v);
}

void nsp_stats_collect(struct buf *out, void *data)
{
	struct nsp *n = data;
	const struct nsp_stats *s = &n->stats;

	uint64_t by_type[N_TYPES] = { 0 };
	nsp_registry_foreach(n->reg, count_type, by_type);
	metrics_family(out, "strait_nsp_registrations", "gauge",
		       "live registrations by type");
	for (int i = NSP__TARGET_TYPE__TARGET; i < N_TYPES; i++)
		metrics_sample(out, "strait_nsp_registrations", type_labels[i],
			       (double)by_type[i]);
	gauge(out, "strait_nsp_revision", "the registry's revision",
	      nsp_registry_revision(n->reg));

	metrics_family(out, "strait_nsp_watchers", "gauge", "open watches");
	metrics_sample(out, "strait_nsp_watchers", "kind=\"targets\"",
		       (double)n->n_twatches);
	metrics_sample(out, "strait_nsp_watchers", "kind=\"config\"",
		       (double)n->n_cwatches);

	counter(out, "strait_nsp_registers_total",
		"Register calls accepted, refreshes included", s->registers);
	counter(out, "strait_nsp_refreshes_total",
		"Register calls that changed nothing", s->refreshes);
	counter(out, "strait_nsp_unregisters_total",
		"Unregister calls that removed a registration",
		s->unregisters);
	counter(out, "strait_nsp_expired_total",
		"registrations removed for want of a refresh", s->expired);
	metrics_family(out, "strait_nsp_register_refused_total", "counter",
		       "Register calls refused, by reason");
	for (int i = 0; i < NSP_REFUSED_KINDS; i++) {
		char labels[64];
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
			 refusal_names[i]);
		metrics_sample(out, "strait_nsp_register_refused_total", labels,
			       (double)s->refused[i]);
	}
	counter(out, "strait_nsp_events_sent_total",
		"target events sent to watchers", s->events_sent);
	counter(out, "strait_nsp_snapshots_sent_total",
		"target snapshots sent to watchers", s->snapshots_sent);
	counter(out, "strait_nsp_config_reloads_total",
		"configuration changes accepted", s->config_reloads);
	counter(out, "strait_nsp_config_rejected_total",
		"configuration updates refused as invalid", s->config_rejected);
	counter(out, "strait_nsp_config_sent_total",
		"configuration answers sent to watchers", s->config_sent);

	metrics_family(out, "strait_nsp_config_valid", "gauge",
		       "1 when the directory's current files are valid");
	for (size_t i = 0; i < n->n_trenches; i++) {
		struct buf labels = { 0 };
		buf_printf(&labels, "dir=\"");
		metrics_label_escape(&labels, n->trenches[i].dir);
		buf_printf(&labels, "\"");
		metrics_sample(out, "strait_nsp_config_valid", labels.data,
			       n->trenches[i].last_error[0] ? 0 : 1);
		buf_free(&labels);
	}
	if (n->rpc)
		rpc_server_write_metrics(n->rpc, "strait_nsp", out);
}
