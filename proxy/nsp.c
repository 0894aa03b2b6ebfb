/* What the proxy says to and hears from NSP:
 *  - its own registration, type PROXY of its trench and conduit, with its
 *    bridge addresses and context node=NAME; refreshed every 20 s, removed
 *    on a clean stop;
 *  - the LBs of its conduit (FRONTEND registrations; context netns=PATH
 *    says where the LB's end of the link goes): a watch that starts with a
 *    snapshot on every connection;
 *  - the trench's VIPs (WatchVip), for the egress rules.
 * While NSP is away the last view stays in force. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nsp.pb-c.h"
#include "nsp_client.h"
#include "proxy.h"

#define BYE_MS 1000

static const char *context(const Nsp__Target *t, const char *key)
{
	for (size_t i = 0; i < t->n_context; i++)
		if (strcmp(t->context[i]->key, key) == 0)
			return t->context[i]->value;
	return NULL;
}

/* Registration: the bridge addresses as CIDRs. */
struct reg {
	Nsp__Target t;
	Nsp__StreamRef ref;
	Nsp__Target__ContextEntry ctx, *pctx;
	char ips[2][64];
	char *pips[2];
};

static void fill(struct proxy *p, struct reg *r)
{
	nsp__stream_ref__init(&r->ref);
	r->ref.trench = (char *)p->opt->trench;
	r->ref.conduit = (char *)p->opt->conduit;
	nsp__target__init(&r->t);
	r->t.type = NSP__TARGET_TYPE__PROXY;
	r->t.stream = &r->ref;
	for (int f = 0; f < 2; f++)
		if (p->bridge_addr[f].family &&
		    cidr_format(&p->bridge_addr[f], r->ips[f], 64) == 0)
			r->pips[r->t.n_ips++] = r->ips[f];
	r->t.ips = r->pips;
	nsp__target__context_entry__init(&r->ctx);
	r->ctx.key = "node";
	r->ctx.value = (char *)p->opt->node;
	r->pctx = &r->ctx;
	r->t.context = &r->pctx;
	r->t.n_context = 1;
}

static void on_registered(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg)
{
	struct proxy *p = data;
	if (msg) {
		if (!p->registered)
			log_info("nsp: registered as the proxy of %s/%s on %s",
				 p->opt->trench, p->opt->conduit, p->opt->node);
		p->registered = true;
	} else {
		p->registered = false;
		rpc_warn_end("nsp", "proxy registration refused", st);
	}
}

void proxy_nsp_register(struct proxy *p)
{
	if (!p->bridge_ready || !p->nsp || !rpc_client_connected(p->nsp))
		return;
	struct reg r;
	fill(p, &r);
	Nsp__RegisterRequest req = NSP__REGISTER_REQUEST__INIT;
	req.target = &r.t;
	int rc = rpc_client_call(p->nsp, "nsp.TargetRegistry/Register",
				 &req.base, &nsp__register_response__descriptor,
				 on_registered, p, NULL);
	if (rc < 0)
		log_warn("nsp: cannot register: %s", strerror(-rc));
}

/* ---- the LBs ---- */

static void lb_event(struct proxy *p, const Nsp__TargetEvent *ev)
{
	const Nsp__Target *t = ev->target;
	if (!t || t->n_ips == 0)
		return;
	char name[PROXY_NAME_MAX + 8];
	proxy_lb_name(t->ips, t->n_ips, name);
	struct proxy_att *a = proxy_att_find(p, name);
	bool removed = ev->kind == NSP__TARGET_EVENT__KIND__REMOVED ||
		       t->status == NSP__TARGET_STATUS__DISABLED;
	if (removed) {
		if (a && !a->gone) {
			log_info("%s: the LB (%s) is gone from NSP", name,
				 t->ips[0]);
			a->gone = true;
		}
		return;
	}
	const char *ns = context(t, "netns");
	if (!ns || !ns[0]) {
		log_warn("nsp: LB %s registered without context netns=PATH; "
			 "it cannot be linked", t->ips[0]);
		return;
	}
	if (a && strcmp(a->netns, ns) != 0) {
		a->gone = true; /* moved: a new link in the new namespace */
		a = NULL;
	}
	if (a && a->gone) {
		a->gone = false; /* came back before it was removed */
	} else if (!a) {
		a = proxy_att_new(p, PROXY_LB, name, ns);
		if (!a) {
			log_error("nsp: out of memory for an LB");
			return;
		}
		log_info("%s: LB %s in %s", name, t->ips[0], ns);
	}
	a->seen = true;
}

static void on_lbs(void *data, const Rpc__Status *st,
		   const ProtobufCMessage *msg)
{
	struct proxy *p = data;
	if (!msg) {
		rpc_warn_end("nsp", "the LB watch ended", st);
		p->lbs_in_snapshot = false;
		return;
	}
	const Nsp__TargetWatchResponse *m = (const void *)msg;
	if (m->reset) {
		p->lbs_in_snapshot = true;
		for (struct proxy_att *a = p->atts; a; a = a->next)
			if (a->kind == PROXY_LB)
				a->seen = false;
	}
	for (size_t i = 0; i < m->n_events; i++)
		lb_event(p, m->events[i]);
	if (!m->synced)
		return;
	if (p->lbs_in_snapshot) {
		size_t n = 0;
		for (struct proxy_att *a = p->atts; a; a = a->next) {
			if (a->kind != PROXY_LB)
				continue;
			if (!a->seen && !a->gone) {
				log_info("%s: the LB is not registered any more",
					 a->name);
				a->gone = true;
			}
			n += !a->gone;
		}
		log_info("nsp: %zu LB(s) in conduit %s", n, p->opt->conduit);
		p->lbs_in_snapshot = false;
	}
	p->lbs_synced = true;
	proxy_schedule(p);
}

/* ---- the VIPs ---- */

static void on_vips(void *data, const Rpc__Status *st,
		    const ProtobufCMessage *msg)
{
	struct proxy *p = data;
	if (!msg) {
		rpc_warn_end("nsp", "the VIP watch ended", st);
		return;
	}
	const Nsp__ConfigResponse *m = (const void *)msg;
	size_t n = 0;
	for (size_t i = 0; i < m->n_vips && n < PROXY_MAX_VIPS; i++) {
		struct cidr c;
		if (cidr_parse(m->vips[i]->address, &c) == 0 ||
		    cidr_parse_ip(m->vips[i]->address, &c) == 0)
			p->vips[n++] = c;
		else
			log_warn("nsp: VIP %s: '%s' is not an address",
				 m->vips[i]->name, m->vips[i]->address);
	}
	p->n_vips = n;
	p->vips_known = true;
	log_info("nsp: %zu VIP(s) in trench %s", n, p->opt->trench);
	proxy_schedule(p);
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct proxy *p = data;
	if (!up) {
		p->registered = false;
		log_warn("nsp: not connected (%s); keeping the last LBs and "
			 "VIPs", rpc_client_error(c));
		return;
	}
	log_info("nsp: connected");
	proxy_nsp_register(p);

	Nsp__ConfigRequest creq = NSP__CONFIG_REQUEST__INIT;
	creq.trench = (char *)p->opt->trench;
	int rc = rpc_client_call(c, "nsp.Configuration/WatchVip", &creq.base,
				 &nsp__config_response__descriptor, on_vips, p,
				 NULL);
	if (rc < 0)
		log_warn("nsp: cannot watch the VIPs: %s", strerror(-rc));

	Nsp__StreamRef ref = NSP__STREAM_REF__INIT;
	ref.trench = (char *)p->opt->trench;
	ref.conduit = (char *)p->opt->conduit;
	Nsp__TargetFilter filter = NSP__TARGET_FILTER__INIT;
	filter.type = NSP__TARGET_TYPE__FRONTEND;
	filter.stream = &ref;
	Nsp__TargetWatchRequest treq = NSP__TARGET_WATCH_REQUEST__INIT;
	treq.filter = &filter;
	rc = rpc_client_call(c, "nsp.TargetRegistry/Watch", &treq.base,
			     &nsp__target_watch_response__descriptor, on_lbs, p,
			     NULL);
	if (rc < 0)
		log_warn("nsp: cannot watch the LBs: %s", strerror(-rc));
}

int proxy_nsp_start(struct proxy *p, const struct sockaddr *addr)
{
	struct rpc_client_config cfg = {
		.timing = { p->opt->keepalive_ms, p->opt->dead_ms },
		.on_state = on_state,
		.data = p,
	};
	return rpc_client_start(p->loop, addr, &cfg, &p->nsp);
}

void proxy_nsp_stop(struct proxy *p)
{
	if (p->registered) {
		struct reg r;
		fill(p, &r);
		nsp_unregister_wait(p->nsp, &r.t, BYE_MS, "");
	}
	if (p->nsp)
		rpc_client_close(p->nsp, NULL, NULL);
	p->nsp = NULL;
}
