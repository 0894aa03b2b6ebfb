/* The agent's status (target.StatusResponse) for Status and Watch, and
 * its /metrics. The message points into the agent's own strings where
 * it can; what it had to format or allocate is listed in one block that
 * tgt_status_free() releases. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "buf.h"
#include "metrics.h"

/* Every allocation of one status, so one call frees them all. */
struct held {
	void **p;
	size_t n, cap;
	bool failed;
};

static void *take(struct held *h, size_t size)
{
	if (h->failed)
		return NULL;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;
		void **np = realloc(h->p, cap * sizeof(*np));
		if (!np)
			goto fail;
		h->p = np;
		h->cap = cap;
	}
	void *m = calloc(1, size ? size : 1);
	if (!m)
		goto fail;
	h->p[h->n++] = m;
	return m;
fail:
	h->failed = true;
	return NULL;
}

static char *text_of(struct held *h, const struct cidr *c, bool with_len)
{
	char *s = take(h, CIDR_STRLEN);
	if (s && (with_len ? cidr_format(c, s, CIDR_STRLEN)
			   : cidr_format_ip(c, s, CIDR_STRLEN)) < 0)
		s[0] = '\0';
	return s;
}

static Target__StreamKey *key_of(struct held *h, struct tgt_stream *s)
{
	Target__StreamKey *k = take(h, sizeof(*k));
	if (!k)
		return NULL;
	target__stream_key__init(k);
	k->trench = s->c->trench->name;
	k->conduit = s->c->name;
	k->stream = s->name;
	return k;
}

static void fill_conduit(struct held *h, struct tgt_conduit *c,
			 Target__ConduitState *cs)
{
	target__conduit_state__init(cs);
	cs->trench = c->trench->name;
	cs->conduit = c->name;
	cs->proxy = c->proxy_path;
	cs->attached = c->linked && c->state == TGT_C_ATTACHED;
	cs->table = c->table;
	cs->ips = take(h, 2 * sizeof(*cs->ips));
	cs->gateways = take(h, 2 * sizeof(*cs->gateways));
	cs->vips = take(h, (c->applied.n + 1) * sizeof(*cs->vips));
	if (!cs->ips || !cs->gateways || !cs->vips)
		return;
	if (cs->attached) {
		for (size_t i = 0; i < c->n_ips; i++)
			cs->ips[cs->n_ips++] = c->ips[i];
		for (int f = 0; f < 2; f++)
			if (c->link.gw[f].family)
				cs->gateways[cs->n_gateways++] =
					text_of(h, &c->link.gw[f], false);
	}
	for (size_t i = 0; i < c->applied.n; i++)
		cs->vips[cs->n_vips++] = text_of(h, &c->applied.v[i], false);
}

static size_t count_streams(const struct target_agent *a)
{
	size_t n = 0;
	struct list_node *p, *tmp, *q, *qtmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		list_for_each_safe(q, qtmp, &c->streams)
		{
			n++;
		}
	}
	return n;
}

int tgt_status_build(const struct target_agent *a, struct tgt_status *out)
{
	Target__StatusResponse *r = &out->msg;
	struct held *h = calloc(1, sizeof(*h));
	target__status_response__init(r);
	out->held = h;
	if (!h)
		return -ENOMEM;
	r->pod = (char *)a->opt->pod;
	r->nsp_connected = a->nsp && rpc_client_connected(a->nsp);
	r->changes = a->changes;
	size_t nc = 0, ns = count_streams(a);
	struct list_node *p, *tmp, *q, *qtmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		nc++;
	}
	r->conduits = take(h, (nc + 1) * sizeof(*r->conduits));
	r->streams = take(h, (ns + 1) * sizeof(*r->streams));
	if (!r->conduits || !r->streams)
		goto out;
	/* Conduits by slot and streams in the order they were opened read
	 * better than the lists' newest-first order. */
	for (unsigned k = 0; k < TGT_SLOTS; k++) {
		list_for_each_safe(p, tmp, &a->conduits)
		{
			struct tgt_conduit *c =
				list_entry(p, struct tgt_conduit, node);
			if (c->slot != k)
				continue;
			Target__ConduitState *cs = take(h, sizeof(*cs));
			if (!cs)
				goto out;
			fill_conduit(h, c, cs);
			r->conduits[r->n_conduits++] = cs;
			for (q = c->streams.prev; q != &c->streams;
			     q = q->prev) {
				struct tgt_stream *s =
					list_entry(q, struct tgt_stream, node);
				Target__StreamState *ss = take(h, sizeof(*ss));
				if (!ss)
					goto out;
				target__stream_state__init(ss);
				ss->stream = key_of(h, s);
				ss->identifier = s->registered ? s->id : 0;
				ss->state = (char *)tgt_sstate_name(s->state);
				ss->error = s->error;
				r->streams[r->n_streams++] = ss;
			}
		}
	}
	(void)qtmp;
out:
	return h->failed ? -ENOMEM : 0;
}

void tgt_status_free(struct tgt_status *s)
{
	struct held *h = s->held;
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->p[i]);
	free(h->p);
	free(h);
	s->held = NULL;
}

/* ---- /metrics ---- */

static void counter(struct buf *out, const char *name, const char *help,
		    uint64_t v)
{
	metrics_family(out, name, "counter", help);
	metrics_sample(out, name, NULL, (double)v);
}

void tgt_metrics_collect(struct buf *out, void *data)
{
	const struct target_agent *a = data;
	const struct tgt_stats *st = &a->stats;
	size_t by_state[TGT_S_DONE + 1] = { 0 }, attached = 0, vips = 0;
	struct list_node *p, *tmp, *q, *qtmp;
	list_for_each_safe(p, tmp, &a->conduits)
	{
		struct tgt_conduit *c = list_entry(p, struct tgt_conduit, node);
		attached += c->linked && c->state == TGT_C_ATTACHED;
		vips += c->applied.n;
		list_for_each_safe(q, qtmp, &c->streams)
		{
			by_state[list_entry(q, struct tgt_stream, node)->state]++;
		}
	}
	metrics_family(out, "strait_target_streams", "gauge",
		       "Streams by state.");
	for (int s = 0; s <= TGT_S_DONE; s++) {
		char label[64];
		snprintf(label, sizeof(label), "state=\"%s\"",
			 tgt_sstate_name(s));
		metrics_sample(out, "strait_target_streams", label,
			       (double)by_state[s]);
	}
	metrics_family(out, "strait_target_conduits_attached", "gauge",
		       "Conduits whose link is attached.");
	metrics_sample(out, "strait_target_conduits_attached", NULL,
		       (double)attached);
	metrics_family(out, "strait_target_vip_rules", "gauge",
		       "VIP source rules in place (one per VIP and conduit).");
	metrics_sample(out, "strait_target_vip_rules", NULL, (double)vips);
	metrics_family(out, "strait_target_nsp_connected", "gauge",
		       "1 while connected to NSP.");
	metrics_sample(out, "strait_target_nsp_connected", NULL,
		       a->nsp && rpc_client_connected(a->nsp));
	counter(out, "strait_target_opens_total", "Open calls taken.",
		st->opens);
	counter(out, "strait_target_open_failures_total",
		"Opens that failed (and were undone).", st->open_failures);
	counter(out, "strait_target_closes_total", "Close calls completed.",
		st->closes);
	counter(out, "strait_target_registers_total",
		"Register calls sent (first ones and refreshes).",
		st->registers);
	counter(out, "strait_target_register_refusals_total",
		"Register calls NSP refused.", st->register_refusals);
	counter(out, "strait_target_unregisters_total",
		"Unregister calls NSP answered.", st->unregisters);
	counter(out, "strait_target_identifier_changes_total",
		"Identifiers lost to another target while NSP did not hold "
		"ours.",
		st->id_changes);
	counter(out, "strait_target_attaches_total",
		"Attach calls the proxy answered.", st->attaches);
	counter(out, "strait_target_attach_failures_total",
		"Attach calls that failed.", st->attach_failures);
	counter(out, "strait_target_detaches_total",
		"Detach calls the proxy answered.", st->detaches);
	counter(out, "strait_target_vip_adds_total", "VIPs put on lo.",
		st->vip_adds);
	counter(out, "strait_target_vip_removals_total", "VIPs taken off lo.",
		st->vip_dels);
	counter(out, "strait_target_netlink_failures_total",
		"Route, rule or address changes the kernel refused.",
		st->net_failures);
	if (a->control)
		rpc_server_write_metrics(a->control, "strait_target_control",
					 out);
}
