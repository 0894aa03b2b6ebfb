/* The local API (proto/proxy.proto) on the proxy's Unix socket:
 * Attach and Detach for strait-target, Status for straitctl proxy.
 *
 * Attach is idempotent by pod name: the same pod in the same namespace
 * gets its existing link and addresses back (created false); the same name
 * in another namespace (the pod was recreated) gets a new link with the
 * same addresses. An Attach waits for IPAM and the link; its answer comes
 * from proxy_att_answer(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy.h"
#include "proxy.pb-c.h"
#include "rtnl.h"

static struct proxy_waiter *waiter_take(struct proxy_att *a,
					struct rpc_call *call)
{
	for (struct proxy_waiter **pp = &a->waiters; *pp; pp = &(*pp)->next)
		if ((*pp)->call == call) {
			struct proxy_waiter *w = *pp;
			*pp = w->next;
			return w;
		}
	return NULL;
}

static void on_call_closed(struct rpc_call *call, void *data)
{
	struct proxy_att *a = data;
	free(waiter_take(a, call));
}

static int wait_for(struct proxy_att *a, struct rpc_call *call)
{
	struct proxy_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->call = call;
	w->att = a;
	w->next = a->waiters;
	a->waiters = w;
	rpc_call_on_close(call, on_call_closed, a);
	return 0;
}

static Rpc__Code code_of(const char *reason)
{
	if (strcmp(reason, "ipam_unavailable") == 0)
		return RPC__CODE__UNAVAILABLE;
	if (strcmp(reason, "netns_invalid") == 0)
		return RPC__CODE__INVALID_ARGUMENT;
	if (strcmp(reason, "ipam_refused") == 0)
		return RPC__CODE__FAILED_PRECONDITION;
	return RPC__CODE__INTERNAL;
}

static void reply_linked(struct proxy *p, struct proxy_att *a,
			 struct rpc_call *call, bool created)
{
	char ip[2][64] = { "", "" }, gw[2][64] = { "", "" }, mac[18];
	for (int f = 0; f < 2; f++) {
		if (a->addr[f].family)
			cidr_format(&a->addr[f], ip[f], sizeof(ip[f]));
		if (p->bridge_addr[f].family)
			cidr_format_ip(&p->bridge_addr[f], gw[f], sizeof(gw[f]));
	}
	proxy_mac_format(a->mac, mac);
	Proxy__AttachResponse r = PROXY__ATTACH_RESPONSE__INIT;
	r.ipv4 = ip[0];
	r.ipv6 = ip[1];
	r.gateway4 = gw[0];
	r.gateway6 = gw[1];
	r.mac = mac;
	r.ifname = a->ifname;
	r.created = created;
	r.trench = (char *)p->opt->trench;
	r.conduit = (char *)p->opt->conduit;
	rpc_call_reply(call, &r.base);
}

void proxy_att_answer(struct proxy *p, struct proxy_att *a)
{
	while (a->waiters) {
		struct proxy_waiter *w = a->waiters;
		a->waiters = w->next;
		rpc_call_on_close(w->call, NULL, NULL);
		if (a->state == ATT_LINKED) {
			p->stats.attach_ok++;
			reply_linked(p, a, w->call, a->created);
		} else {
			p->stats.attach_failed++;
			rpc_call_fail(w->call, code_of(a->reason),
				      a->reason[0] ? a->reason : "link_failed",
				      "%s", a->error[0] ? a->error : "detached");
		}
		free(w);
	}
}

/* The same namespace, whatever the path: a restarted agent names it by
 * its own pid (/proc/PID/ns/net), which is another path to the same
 * namespace. */
static bool same_namespace(const struct proxy_att *a, const char *netns)
{
	uint64_t dev, ino;
	return proxy_netns_id(netns, &dev, &ino) == 0 && dev == a->ns_dev &&
	       ino == a->ns_ino;
}

static bool port_up(struct proxy *p, const struct proxy_att *a)
{
	char err[128];
	struct rtnl_link_info li;
	return rtnl_link_get(p->rtnl, a->port, &li, err, sizeof(err)) == 0 &&
	       li.master == p->bridge_ifindex;
}

static void attach(struct rpc_call *call, const ProtobufCMessage *msg,
		   void *data)
{
	struct proxy *p = data;
	const Proxy__AttachRequest *req = (const void *)msg;
	char err[256], name[PROXY_NAME_MAX + 8];
	if (proxy_check_name(req->name, err, sizeof(err)) < 0) {
		rpc_call_fail(call, RPC__CODE__INVALID_ARGUMENT, "name_invalid",
			      "%s", err);
		return;
	}
	const char *ifname = req->ifname[0] ? req->ifname : "st0";
	if (proxy_check_ifname(ifname) < 0) {
		rpc_call_fail(call, RPC__CODE__INVALID_ARGUMENT, "name_invalid",
			      "ifname '%.40s' is not an interface name", ifname);
		return;
	}
	uint64_t dev, ino;
	if (req->netns[0] != '/' || strlen(req->netns) >= PROXY_PATH_MAX ||
	    proxy_netns_id(req->netns, &dev, &ino) < 0) {
		rpc_call_fail(call, RPC__CODE__INVALID_ARGUMENT, "netns_invalid",
			      "netns '%.200s' is not a namespace path that "
			      "exists", req->netns);
		return;
	}
	snprintf(name, sizeof(name), "pod-%s", req->name);
	struct proxy_att *a = proxy_att_find(p, name);
	if (a && !a->gone && a->state == ATT_LINKED &&
	    same_namespace(a, req->netns) && strcmp(a->ifname, ifname) == 0 &&
	    port_up(p, a)) {
		if (strcmp(a->netns, req->netns) != 0) {
			snprintf(a->netns, sizeof(a->netns), "%s", req->netns);
			proxy_store_put(p, a);
		}
		p->stats.attach_ok++;
		reply_linked(p, a, call, false);
		return;
	}
	if (!rpc_client_connected(p->ipam) && !(a && a->addr[0].family)) {
		rpc_call_fail(call, RPC__CODE__UNAVAILABLE, "ipam_unavailable",
			      "IPAM is unreachable (%s); no address to give",
			      rpc_client_error(p->ipam));
		return;
	}
	if (!a) {
		a = proxy_att_new(p, PROXY_POD, name, req->netns);
		if (!a) {
			rpc_call_end(call, RPC__CODE__INTERNAL, "out of memory");
			return;
		}
	} else if (a->state != ATT_ALLOCATING) {
		/* Recreated pod, another ifname, a failed or lost link: the
		 * addresses stay, the link is made again. */
		snprintf(a->netns, sizeof(a->netns), "%s", req->netns);
		a->gone = false;
		a->state = a->addr[0].family || a->addr[1].family
				   ? ATT_ALLOCATED
				   : ATT_NEW;
	}
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	if (wait_for(a, call) < 0) {
		rpc_call_end(call, RPC__CODE__INTERNAL, "out of memory");
		return;
	}
	proxy_schedule(p);
}

static void detach(struct rpc_call *call, const ProtobufCMessage *msg,
		   void *data)
{
	struct proxy *p = data;
	const Proxy__DetachRequest *req = (const void *)msg;
	char name[PROXY_NAME_MAX + 8];
	snprintf(name, sizeof(name), "pod-%.*s", PROXY_NAME_MAX, req->name);
	struct proxy_att *a = proxy_att_find(p, name);
	Proxy__DetachResponse r = PROXY__DETACH_RESPONSE__INIT;
	r.existed = a && !a->gone;
	if (a) {
		a->gone = true;
		p->stats.detach++;
		proxy_schedule(p);
	}
	rpc_call_reply(call, &r.base);
}

/* ---- Status ---- */

struct strs {
	char (*s)[64];
	char **p;
	size_t n;
};

static int strs_init(struct strs *v, size_t cap)
{
	v->s = calloc(cap ? cap : 1, sizeof(*v->s));
	v->p = calloc(cap ? cap : 1, sizeof(*v->p));
	v->n = 0;
	return v->s && v->p ? 0 : -ENOMEM;
}

static void strs_add(struct strs *v, const struct cidr *c, bool ip)
{
	if (!c->family)
		return;
	if ((ip ? cidr_format_ip : cidr_format)(c, v->s[v->n], 64) == 0) {
		v->p[v->n] = v->s[v->n];
		v->n++;
	}
}

static void strs_free(struct strs *v)
{
	free(v->s);
	free(v->p);
}

struct att_msg {
	Proxy__Attachment m;
	char mac[18];
	char ips[2][64];
	char *pips[2];
};

static void att_fill(struct proxy *p, struct proxy_att *a, struct att_msg *o)
{
	proxy__attachment__init(&o->m);
	o->m.name = a->name + (a->kind == PROXY_POD ? 4 : 0);
	o->m.netns = a->netns;
	o->m.bridge_port = a->port;
	o->m.ifname = a->ifname;
	for (int f = 0; f < 2; f++)
		if (a->addr[f].family &&
		    cidr_format(&a->addr[f], o->ips[f], 64) == 0)
			o->pips[o->m.n_ips++] = o->ips[f];
	o->m.ips = o->pips;
	proxy_mac_format(a->mac, o->mac);
	o->m.mac = o->mac;
	o->m.up = a->state == ATT_LINKED && port_up(p, a);
}

static void status(struct rpc_call *call, const ProtobufCMessage *msg,
		   void *data)
{
	struct proxy *p = data;
	(void)msg;
	size_t n = 0;
	for (struct proxy_att *a = p->atts; a; a = a->next)
		n++;
	struct att_msg *am = calloc(n ? n : 1, sizeof(*am));
	Proxy__Attachment **pods = calloc(n ? n : 1, sizeof(*pods));
	Proxy__Attachment **lbs = calloc(n ? n : 1, sizeof(*lbs));
	struct strs br, nh4, nh6, vips;
	int rc = strs_init(&br, 2) | strs_init(&nh4, PROXY_MAX_LBS) |
		 strs_init(&nh6, PROXY_MAX_LBS) |
		 strs_init(&vips, PROXY_MAX_VIPS);
	if (!am || !pods || !lbs || rc) {
		rpc_call_end(call, RPC__CODE__INTERNAL, "out of memory");
		goto out;
	}
	Proxy__StatusResponse r = PROXY__STATUS_RESPONSE__INIT;
	size_t i = 0;
	for (struct proxy_att *a = p->atts; a; a = a->next, i++) {
		if (a->gone)
			continue;
		att_fill(p, a, &am[i]);
		if (a->kind == PROXY_POD)
			pods[r.n_pods++] = &am[i].m;
		else
			lbs[r.n_lbs++] = &am[i].m;
	}
	for (int f = 0; f < 2; f++)
		strs_add(&br, &p->bridge_addr[f], false);
	for (int f = 0; f < 2; f++) {
		size_t k = p->n_nexthops[f] == (size_t)-1 ? 0 : p->n_nexthops[f];
		for (size_t j = 0; j < k; j++)
			strs_add(f ? &nh6 : &nh4, &p->nexthops[f][j], true);
	}
	for (size_t j = 0; j < p->n_ruled; j++)
		strs_add(&vips, &p->ruled[j], false);
	r.trench = (char *)p->opt->trench;
	r.conduit = (char *)p->opt->conduit;
	r.node = (char *)p->opt->node;
	r.bridge = (char *)p->opt->bridge;
	r.bridge_ips = br.p;
	r.n_bridge_ips = br.n;
	r.pods = pods;
	r.lbs = lbs;
	r.nexthops4 = nh4.p;
	r.n_nexthops4 = nh4.n;
	r.nexthops6 = nh6.p;
	r.n_nexthops6 = nh6.n;
	r.vips = vips.p;
	r.n_vips = vips.n;
	r.table = p->opt->table;
	r.nsp_connected = p->nsp && rpc_client_connected(p->nsp);
	r.ipam_connected = p->ipam && rpc_client_connected(p->ipam);
	r.registered = p->registered;
	rpc_call_reply(call, &r.base);
out:
	free(am);
	free(pods);
	free(lbs);
	strs_free(&br);
	strs_free(&nh4);
	strs_free(&nh6);
	strs_free(&vips);
}

static const struct rpc_method methods[] = {
	{ "proxy.Local/Attach", &proxy__attach_request__descriptor, attach,
	  false },
	{ "proxy.Local/Detach", &proxy__detach_request__descriptor, detach,
	  false },
	{ "proxy.Local/Status", &proxy__status_request__descriptor, status,
	  false },
};

int proxy_local_start(struct proxy *p, const struct sockaddr *addr)
{
	struct rpc_server_config cfg = {
		.methods = methods,
		.n_methods = sizeof(methods) / sizeof(methods[0]),
		.data = p,
		.timing = { p->opt->keepalive_ms, p->opt->dead_ms },
	};
	return rpc_server_start(p->loop, addr, &cfg, &p->local);
}

void proxy_local_stop(struct proxy *p)
{
	if (p->local)
		rpc_server_close(p->local, NULL, NULL);
	p->local = NULL;
}
