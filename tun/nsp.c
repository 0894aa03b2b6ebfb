/* What strait-tun says to and hears from NSP (docs/tun.md, "Tables"):
 *  - its own registration: TUNNEL of the trench, ips = the underlay
 *    address, context node=NAME and port=PORT; refreshed, removed on stop;
 *  - three watches: the trench's services (WatchService), the INSTANCE
 *    registrations and the TUNNEL registrations of the trench.
 * Each answer updates a mirror here and schedules a rebuild of the view
 * (a short timer coalesces bursts). While NSP is away the last view stays
 * in force. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nsp.pb-c.h"
#include "nsp_client.h"
#include "rpc.h"
#include "tun.h"

#define BYE_MS 1000

/* One registration as the mirror holds it: its key and its spec. */
struct reg {
	char key[512];
	union {
		struct tun_instance_spec inst;
		struct tun_node_spec node;
	} u;
	bool seen; /* in the current snapshot */
};

struct mirror {
	struct reg *regs;
	size_t n, cap;
	bool in_snapshot, synced;
};

struct tun_nsp {
	struct tun_service_spec *services;
	size_t n_services;
	bool services_known;
	struct mirror inst, nodes;
	bool rebuild_pending;
};

static const char *context(const Nsp__Target *t, const char *key)
{
	for (size_t i = 0; i < t->n_context; i++)
		if (strcmp(t->context[i]->key, key) == 0)
			return t->context[i]->value;
	return NULL;
}

static void key_of(const Nsp__Target *t, char *key, size_t len)
{
	size_t o = (size_t)snprintf(
	    key, len, "%s|",
	    t->stream && t->stream->stream ? t->stream->stream : "");
	for (size_t i = 0; i < t->n_ips && o < len; i++)
		o += (size_t)snprintf(key + o, len - o, "%s,", t->ips[i]);
}

static struct reg *mirror_find(struct mirror *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->regs[i].key, key) == 0)
			return &m->regs[i];
	return NULL;
}

static struct reg *mirror_put(struct mirror *m, const char *key)
{
	struct reg *r = mirror_find(m, key);
	if (r)
		return r;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct reg *n = realloc(m->regs, cap * sizeof(*n));
		if (!n)
			return NULL;
		m->regs = n;
		m->cap = cap;
	}
	r = &m->regs[m->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", key);
	return r;
}

static void mirror_del(struct mirror *m, struct reg *r)
{
	*r = m->regs[--m->n];
}

static void schedule(struct tun_daemon *d);

/* ---- registration ---- */

struct self {
	Nsp__Target t;
	Nsp__StreamRef ref;
	Nsp__Target__ContextEntry ctx[2], *pctx[2];
	char ip[64], port[8], *pip;
};

static void fill(struct tun_daemon *d, struct self *s)
{
	const struct tun_options *o = d->opt;
	nsp__stream_ref__init(&s->ref);
	s->ref.trench = (char *)o->trench;
	nsp__target__init(&s->t);
	s->t.type = NSP__TARGET_TYPE__TUNNEL;
	s->t.stream = &s->ref;
	const struct sockaddr_storage *a = &o->underlay;
	if (a->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr,
			  s->ip, sizeof(s->ip));
	else
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)a)->sin6_addr, s->ip,
			  sizeof(s->ip));
	size_t l = strlen(s->ip);
	snprintf(s->ip + l, sizeof(s->ip) - l, "/%d",
		 a->ss_family == AF_INET ? 32 : 128);
	s->pip = s->ip;
	s->t.ips = &s->pip;
	s->t.n_ips = 1;
	snprintf(s->port, sizeof(s->port), "%u", o->port);
	const char *keys[2] = {"node", "port"};
	const char *vals[2] = {o->node, s->port};
	for (int i = 0; i < 2; i++) {
		nsp__target__context_entry__init(&s->ctx[i]);
		s->ctx[i].key = (char *)keys[i];
		s->ctx[i].value = (char *)vals[i];
		s->pctx[i] = &s->ctx[i];
	}
	s->t.context = s->pctx;
	s->t.n_context = 2;
}

static void on_registered(void *data, const Rpc__Status *st,
			  const ProtobufCMessage *msg)
{
	struct tun_daemon *d = data;
	if (msg) {
		if (!d->registered)
			log_info("nsp: registered node %s as a TUNNEL of %s",
				 d->opt->node, d->opt->trench);
		d->registered = true;
	} else {
		d->registered = false;
		rpc_warn_end("nsp", "tunnel registration refused", st);
	}
}

static void do_register(struct tun_daemon *d)
{
	if (!d->nsp || !rpc_client_connected(d->nsp))
		return;
	struct self s;
	fill(d, &s);
	Nsp__RegisterRequest req = NSP__REGISTER_REQUEST__INIT;
	req.target = &s.t;
	int rc = rpc_client_call(d->nsp, "nsp.TargetRegistry/Register",
				 &req.base, &nsp__register_response__descriptor,
				 on_registered, d, NULL);
	if (rc < 0)
		log_warn("nsp: cannot register: %s", strerror(-rc));
}

static void on_refresh(uv_timer_t *t)
{
	do_register(t->data);
}

/* ---- services ---- */

static enum tun_policy policy_of(const char *p)
{
	return p && strcmp(p, "local") == 0 ? TUN_POLICY_LOCAL
					    : TUN_POLICY_SPREAD;
}

static int parse_addr(const char *s, struct cidr *c)
{
	return cidr_parse_ip(s, c) == 0 || cidr_parse(s, c) == 0 ? 0 : -EINVAL;
}

static void on_services(void *data, const Rpc__Status *st,
			const ProtobufCMessage *msg)
{
	struct tun_daemon *d = data;
	struct tun_nsp *ns = d->ns;
	if (!msg) {
		rpc_warn_end("nsp", "the service watch ended", st);
		return;
	}
	const Nsp__ConfigResponse *m = (const void *)msg;
	struct tun_service_spec *s = calloc(m->n_services + 1, sizeof(*s));
	if (!s) {
		log_error("nsp: out of memory for %zu services", m->n_services);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < m->n_services; i++) {
		const Nsp__Service *in = m->services[i];
		struct tun_service_spec *o = &s[n];
		snprintf(o->name, sizeof(o->name), "%s", in->name);
		o->policy = policy_of(in->policy);
		o->max_instances = in->max_instances ? in->max_instances : 100;
		for (size_t j = 0; j < in->n_addresses; j++) {
			struct cidr c;
			if (parse_addr(in->addresses[j], &c) < 0) {
				log_warn("nsp: service %s: '%s' is not an "
					 "address",
					 in->name, in->addresses[j]);
				continue;
			}
			o->addr[c.family == AF_INET ? 0 : 1] = c;
		}
		n++;
	}
	free(ns->services);
	ns->services = s;
	ns->n_services = n;
	ns->services_known = true;
	log_info("nsp: %zu service(s) in trench %s", n, d->opt->trench);
	schedule(d);
}

/* ---- registrations: instances and nodes ---- */

static bool fill_instance(const Nsp__Target *t, struct tun_instance_spec *o)
{
	const char *node = context(t, "node");
	if (!t->stream || !t->stream->stream || !node)
		return false;
	memset(o, 0, sizeof(*o));
	snprintf(o->service, sizeof(o->service), "%s", t->stream->stream);
	snprintf(o->node, sizeof(o->node), "%s", node);
	o->ident = t->identifier;
	for (size_t i = 0; i < t->n_ips; i++) {
		struct cidr c;
		if (parse_addr(t->ips[i], &c) == 0)
			o->addr[c.family == AF_INET ? 0 : 1] = c;
	}
	return true;
}

static bool fill_node(const Nsp__Target *t, struct tun_node_spec *o)
{
	const char *node = context(t, "node");
	const char *port = context(t, "port");
	struct cidr c;
	if (!node || t->n_ips < 1 || parse_addr(t->ips[0], &c) < 0)
		return false;
	unsigned long p = port ? strtoul(port, NULL, 10) : TUN_DEFAULT_PORT;
	if (p == 0 || p > 65535)
		return false;
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", node);
	if (c.family == AF_INET) {
		struct sockaddr_in *in = (void *)&o->addr;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		memcpy(&in->sin_addr, c.addr, 4);
	} else {
		struct sockaddr_in6 *in6 = (void *)&o->addr;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		memcpy(&in6->sin6_addr, c.addr, 16);
	}
	return true;
}

static void on_regs(struct tun_daemon *d, struct mirror *mr, bool nodes,
		    const Rpc__Status *st, const ProtobufCMessage *msg)
{
	if (!msg) {
		rpc_warn_end("nsp",
			     nodes ? "the tunnel watch ended"
				   : "the instance watch ended",
			     st);
		return;
	}
	const Nsp__TargetWatchResponse *m = (const void *)msg;
	if (m->reset) {
		mr->in_snapshot = true;
		for (size_t i = 0; i < mr->n; i++)
			mr->regs[i].seen = false;
	}
	for (size_t i = 0; i < m->n_events; i++) {
		const Nsp__TargetEvent *ev = m->events[i];
		const Nsp__Target *t = ev->target;
		if (!t)
			continue;
		char key[512];
		key_of(t, key, sizeof(key));
		struct reg *r = mirror_find(mr, key);
		bool gone = ev->kind == NSP__TARGET_EVENT__KIND__REMOVED ||
			    t->status == NSP__TARGET_STATUS__DISABLED;
		if (gone) {
			if (r)
				mirror_del(mr, r);
			continue;
		}
		struct reg tmp;
		bool ok = nodes ? fill_node(t, &tmp.u.node)
				: fill_instance(t, &tmp.u.inst);
		if (!ok) {
			log_warn("nsp: %s %s lacks context node=NAME (or a "
				 "valid port)",
				 nodes ? "tunnel" : "instance", key);
			continue;
		}
		r = mirror_put(mr, key);
		if (!r) {
			log_error("nsp: out of memory");
			continue;
		}
		r->u = tmp.u;
		r->seen = true;
	}
	if (!m->synced)
		return;
	if (mr->in_snapshot) {
		for (size_t i = 0; i < mr->n;)
			if (!mr->regs[i].seen)
				mirror_del(mr, &mr->regs[i]);
			else
				i++;
		mr->in_snapshot = false;
		log_info("nsp: %zu %s in trench %s", mr->n,
			 nodes ? "tunnel node(s)" : "instance(s)",
			 d->opt->trench);
	}
	mr->synced = true;
	schedule(d);
}

static void on_instances(void *data, const Rpc__Status *st,
			 const ProtobufCMessage *msg)
{
	struct tun_daemon *d = data;
	on_regs(d, &d->ns->inst, false, st, msg);
}

static void on_nodes(void *data, const Rpc__Status *st,
		     const ProtobufCMessage *msg)
{
	struct tun_daemon *d = data;
	on_regs(d, &d->ns->nodes, true, st, msg);
}

static void watch(struct tun_daemon *d, int type, rpc_reply_fn fn)
{
	Nsp__StreamRef ref = NSP__STREAM_REF__INIT;
	ref.trench = (char *)d->opt->trench;
	Nsp__TargetFilter filter = NSP__TARGET_FILTER__INIT;
	filter.type = type;
	filter.stream = &ref;
	Nsp__TargetWatchRequest req = NSP__TARGET_WATCH_REQUEST__INIT;
	req.filter = &filter;
	int rc = rpc_client_call(d->nsp, "nsp.TargetRegistry/Watch", &req.base,
				 &nsp__target_watch_response__descriptor, fn, d,
				 NULL);
	if (rc < 0)
		log_warn("nsp: cannot watch: %s", strerror(-rc));
}

static void on_state(struct rpc_client *c, bool up, void *data)
{
	struct tun_daemon *d = data;
	if (!up) {
		d->registered = false;
		log_warn("nsp: not connected (%s); keeping the last tables",
			 rpc_client_error(c));
		return;
	}
	log_info("nsp: connected");
	do_register(d);
	Nsp__ConfigRequest creq = NSP__CONFIG_REQUEST__INIT;
	creq.trench = (char *)d->opt->trench;
	int rc = rpc_client_call(c, "nsp.Configuration/WatchService",
				 &creq.base, &nsp__config_response__descriptor,
				 on_services, d, NULL);
	if (rc < 0)
		log_warn("nsp: cannot watch the services: %s", strerror(-rc));
	watch(d, NSP__TARGET_TYPE__INSTANCE, on_instances);
	watch(d, NSP__TARGET_TYPE__TUNNEL, on_nodes);
}

/* ---- the view ---- */

void tun_nsp_rebuild(struct tun_daemon *d)
{
	struct tun_nsp *ns = d->ns;
	ns->rebuild_pending = false;
	struct tun_instance_spec *is = calloc(ns->inst.n + 1, sizeof(*is));
	struct tun_node_spec *nd = calloc(ns->nodes.n + 1, sizeof(*nd));
	if (!is || !nd) {
		log_error("nsp: out of memory for the view");
		goto out;
	}
	for (size_t i = 0; i < ns->inst.n; i++)
		is[i] = ns->inst.regs[i].u.inst;
	for (size_t i = 0; i < ns->nodes.n; i++)
		nd[i] = ns->nodes.regs[i].u.node;
	struct tun_spec spec = {
	    .services = ns->services,
	    .n_services = ns->n_services,
	    .instances = is,
	    .n_instances = ns->inst.n,
	    .nodes = nd,
	    .n_nodes = ns->nodes.n,
	};
	struct tun_view *v;
	size_t skipped = 0;
	char err[256];
	int rc = tun_view_build(&spec, d->opt->node, d->service_ids,
				d->node_ids, &v, &skipped, err, sizeof(err));
	if (rc < 0) {
		log_error("cannot build the tables: %s", strerror(-rc));
		goto out;
	}
	if (skipped)
		log_warn("tables: %zu item(s) left out; the first: %s", skipped,
			 err);
	tun_view_free(tun_core_set_view(d->core, v));
	bool synced = ns->services_known && ns->inst.synced && ns->nodes.synced;
	if (synced && !d->synced)
		log_info("tables ready: %zu service(s), %zu instance(s), %zu "
			 "node(s)",
			 ns->n_services, ns->inst.n, ns->nodes.n);
	d->synced = synced;
	log_debug("tables: %zu service(s), %zu instance(s), %zu node(s)",
		  ns->n_services, ns->inst.n, ns->nodes.n);
out:
	free(is);
	free(nd);
}

const char *tun_nsp_instance_node(const struct tun_daemon *d,
				  const char *service, uint32_t ident)
{
	const struct mirror *m = d->ns ? &d->ns->inst : NULL;
	for (size_t i = 0; m && i < m->n; i++) {
		const struct tun_instance_spec *is = &m->regs[i].u.inst;
		if (is->ident == ident && strcmp(is->service, service) == 0)
			return is->node;
	}
	return NULL;
}

static void on_rebuild(uv_timer_t *t)
{
	tun_nsp_rebuild(t->data);
}

static void schedule(struct tun_daemon *d)
{
	if (d->ns->rebuild_pending)
		return;
	d->ns->rebuild_pending = true;
	uv_timer_start(&d->rebuild_timer, on_rebuild, TUN_REBUILD_MS, 0);
}

int tun_nsp_start(struct tun_daemon *d, const struct sockaddr *addr)
{
	d->ns = calloc(1, sizeof(*d->ns));
	if (!d->ns)
		return -ENOMEM;
	uv_timer_init(d->loop, &d->rebuild_timer);
	uv_timer_init(d->loop, &d->refresh_timer);
	d->rebuild_timer.data = d->refresh_timer.data = d;
	uv_timer_start(&d->refresh_timer, on_refresh, TUN_NSP_REFRESH_MS,
		       TUN_NSP_REFRESH_MS);
	struct rpc_client_config cfg = {
	    .timing = {d->opt->keepalive_ms, d->opt->dead_ms},
	    .on_state = on_state,
	    .data = d,
	};
	return rpc_client_start(d->loop, addr, &cfg, &d->nsp);
}

void tun_nsp_stop(struct tun_daemon *d)
{
	if (!d->ns)
		return;
	uv_timer_stop(&d->refresh_timer);
	uv_timer_stop(&d->rebuild_timer);
	if (d->registered) {
		struct self s;
		fill(d, &s);
		nsp_unregister_wait(d->nsp, &s.t, BYE_MS, "");
	}
	if (d->nsp)
		rpc_client_close(d->nsp, NULL, NULL);
	d->nsp = NULL;
	uv_close((uv_handle_t *)&d->refresh_timer, NULL);
	uv_close((uv_handle_t *)&d->rebuild_timer, NULL);
	free(d->ns->services);
	free(d->ns->inst.regs);
	free(d->ns->nodes.regs);
	free(d->ns);
	d->ns = NULL;
}
