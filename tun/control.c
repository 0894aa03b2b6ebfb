/* The control socket: tun.Control/Status (proto/tun.proto) for straitctl
 * tun. An answer is built from the view in force and the counters, sent,
 * and freed; nothing is kept between calls.
 *
 * The view is immutable (svc.h) and the loop runs one callback at a time,
 * so the answer is one consistent moment: no lock, no copy of the tables
 * beyond the strings of the message. Services and nodes are sorted by
 * name for the reader; instances come in identifier order. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "tun.h"
#include "tun.pb-c.h"

#define STATUS_METHOD "tun.Control/Status"
#define ADDR_LEN 64 /* an address or a prefix as text, with its NUL */

/* Each message with the text its strings point to. */
struct svc_msg {
	Tun__Service m;
	char addr[2][ADDR_LEN];
	char *paddr[2];
};

struct inst_msg {
	Tun__Instance m;
	char addr[2][ADDR_LEN];
	char *paddr[2];
};

struct node_msg {
	Tun__Node m;
	char addr[ADDR_LEN];
};

/* Everything one answer allocates, freed together. */
struct answer {
	struct svc_msg *svcs;
	Tun__Service **psvcs;
	struct inst_msg *insts;
	Tun__Instance **pinsts;
	struct node_msg *nodes;
	Tun__Node **pnodes;
	char (*prefixes)[ADDR_LEN];
	char **pprefixes;
};

static void answer_free(struct answer *a)
{
	free(a->svcs);
	free(a->psvcs);
	free(a->insts);
	free(a->pinsts);
	free(a->nodes);
	free(a->pnodes);
	free(a->prefixes);
	free(a->pprefixes);
}

/* calloc that gives memory for n == 0 too, so NULL means out of memory. */
static void *alloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* The addresses of c[0..2) as bare text into text/ptrs; returns how many. */
static size_t addresses(const struct cidr c[2], char text[2][ADDR_LEN],
			char *ptrs[2])
{
	size_t n = 0;
	for (int f = 0; f < 2; f++) {
		if (c[f].family &&
		    cidr_format_ip(&c[f], text[n], ADDR_LEN) == 0) {
			ptrs[n] = text[n];
			n++;
		}
	}
	return n;
}

static int by_service_name(const void *a, const void *b)
{
	const Tun__Service *x = *(Tun__Service *const *)a;
	const Tun__Service *y = *(Tun__Service *const *)b;
	return strcmp(x->name, y->name);
}

static int by_node_name(const void *a, const void *b)
{
	const Tun__Node *x = *(Tun__Node *const *)a;
	const Tun__Node *y = *(Tun__Node *const *)b;
	return strcmp(x->name, y->name);
}

static void fill_instance(const struct tun_daemon *d, const struct tun_vsvc *s,
			  const struct tun_vinst *in, struct inst_msg *o)
{
	tun__instance__init(&o->m);
	o->m.identifier = in->ident;
	o->m.n_addresses = addresses(in->addr, o->addr, o->paddr);
	o->m.addresses = o->paddr;
	const char *node = in->node
			       ? in->node->name
			       : tun_nsp_instance_node(d, s->name, in->ident);
	o->m.node = (char *)(node ? node : "");
	o->m.local = in->local;
	o->m.reachable = in->local || in->node;
}

/* The services with their instances; a->insts has room for ni, the sum
 * of their n_instances. */
static void fill_services(const struct tun_daemon *d, struct answer *a,
			  const struct tun_vsvc *const *svcs, size_t n,
			  size_t ni, Tun__StatusResponse *r)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct tun_vsvc *s = svcs[i];
		struct svc_msg *o = &a->svcs[i];
		tun__service__init(&o->m);
		o->m.name = (char *)s->name;
		o->m.n_addresses = addresses(s->addr, o->addr, o->paddr);
		o->m.addresses = o->paddr;
		o->m.policy =
		    s->policy == TUN_POLICY_LOCAL ? "local" : "spread";
		o->m.max_instances = s->max_instances;
		o->m.n_local = (uint32_t)s->n_local;
		o->m.instances = &a->pinsts[k];
		/* Identifiers run to max_instances (65536 at most): stop at
		 * the last instance rather than scan the rest. */
		for (uint32_t id = 1; id <= s->max_instances && k < ni &&
				      o->m.n_instances < s->n_instances;
		     id++) {
			const struct tun_vinst *in = tun_view_instance(s, id);
			if (!in)
				continue;
			fill_instance(d, s, in, &a->insts[k]);
			a->pinsts[k] = &a->insts[k].m;
			k++;
			o->m.n_instances++;
		}
		a->psvcs[i] = &o->m;
	}
	qsort(a->psvcs, n, sizeof(*a->psvcs), by_service_name);
	r->services = a->psvcs;
	r->n_services = n;
}

static void fill_nodes(struct answer *a, const struct tun_vnode *const *nodes,
		       size_t n, Tun__StatusResponse *r)
{
	for (size_t i = 0; i < n; i++) {
		const struct tun_vnode *v = nodes[i];
		struct node_msg *o = &a->nodes[i];
		tun__node__init(&o->m);
		o->m.name = (char *)v->name;
		if (v->addr.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)&v->addr;
			inet_ntop(AF_INET, &in->sin_addr, o->addr, ADDR_LEN);
			o->m.port = ntohs(in->sin_port);
		} else if (v->addr.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)&v->addr;
			inet_ntop(AF_INET6, &in6->sin6_addr, o->addr, ADDR_LEN);
			o->m.port = ntohs(in6->sin6_port);
		}
		o->m.address = o->addr;
		o->m.self = v->self;
		a->pnodes[i] = &o->m;
	}
	qsort(a->pnodes, n, sizeof(*a->pnodes), by_node_name);
	r->nodes = a->pnodes;
	r->n_nodes = n;
}

static void fill_counters(const struct tun_daemon *d, Tun__Counters *o,
			  Tun__Counter *drops, Tun__Counter **pdrops)
{
	const struct tun_counters *c = &d->c;
	struct tun_core_stats cs;
	struct conntab_stats fs;
	tun_core_stats(d->core, &cs, &fs);
	tun__counters__init(o);
	o->device_rx_packets = c->tun_rx;
	o->device_rx_bytes = c->tun_rx_bytes;
	o->device_tx_packets = c->tun_tx;
	o->device_tx_bytes = c->tun_tx_bytes;
	o->udp_rx_packets = c->udp_rx;
	o->udp_rx_bytes = c->udp_rx_bytes;
	o->udp_tx_packets = c->udp_tx;
	o->udp_tx_bytes = c->udp_tx_bytes;
	o->udp_sends = c->udp_tx_sends;
	o->udp_send_calls = c->udp_tx_calls;
	o->udp_receive_batches = c->udp_rx_batches;
	o->merged_segments = c->tun_tx_merged;
	o->mss_clamped = c->mss_clamped;
	o->unreachable_sent = c->unreach_sent;
	o->flows = fs.size;
	o->flows_capacity = fs.capacity;
	o->flows_new = cs.flows_new;
	o->flows_forgotten = cs.flows_forgotten;
	o->fragments_held = cs.frags_held;
	o->fragments_released = cs.frags_released;
	struct tun_drop dr[TUN_NDROPS];
	tun_stats_drops(d, dr);
	for (size_t i = 0; i < TUN_NDROPS; i++) {
		tun__counter__init(&drops[i]);
		drops[i].name = (char *)dr[i].name;
		drops[i].value = dr[i].value;
		pdrops[i] = &drops[i];
	}
	o->drops = pdrops;
	o->n_drops = TUN_NDROPS;
}

/* This node's own settings: what it is, where it listens. */
static void fill_self(const struct tun_daemon *d, struct answer *a,
		      char *underlay, Tun__StatusResponse *r)
{
	const struct tun_options *o = d->opt;
	r->trench = (char *)o->trench;
	r->node = (char *)o->node;
	r->device = (char *)o->dev;
	r->mtu = o->mtu;
	r->port = o->port;
	const struct sockaddr_storage *u = &o->underlay;
	inet_ntop(
	    u->ss_family,
	    u->ss_family == AF_INET
		? (const void *)&((const struct sockaddr_in *)u)->sin_addr
		: (const void *)&((const struct sockaddr_in6 *)u)->sin6_addr,
	    underlay, ADDR_LEN);
	r->underlay = underlay;
	for (size_t i = 0; i < o->n_prefixes; i++)
		if (cidr_format(&o->prefixes[i],
				a->prefixes[r->n_service_prefixes],
				ADDR_LEN) == 0) {
			a->pprefixes[r->n_service_prefixes] =
			    a->prefixes[r->n_service_prefixes];
			r->n_service_prefixes++;
		}
	r->service_prefixes = a->pprefixes;
	r->nsp_connected = d->nsp && rpc_client_connected(d->nsp);
	r->registered = d->registered;
	r->tables_ready = d->synced;
}

static void status(struct rpc_call *call, const ProtobufCMessage *msg,
		   void *data)
{
	const struct tun_daemon *d = data;
	(void)msg;
	const struct tun_view *v = tun_core_view(d->core);
	const struct tun_vsvc *const *svcs;
	const struct tun_vnode *const *nodes;
	size_t ns = tun_view_services(v, &svcs);
	size_t nn = tun_view_nodes(v, &nodes);
	size_t ni = 0;
	for (size_t i = 0; i < ns; i++)
		ni += svcs[i]->n_instances;

	struct answer a = {
	    .svcs = alloc(ns, sizeof(*a.svcs)),
	    .psvcs = alloc(ns, sizeof(*a.psvcs)),
	    .insts = alloc(ni, sizeof(*a.insts)),
	    .pinsts = alloc(ni, sizeof(*a.pinsts)),
	    .nodes = alloc(nn, sizeof(*a.nodes)),
	    .pnodes = alloc(nn, sizeof(*a.pnodes)),
	    .prefixes = alloc(d->opt->n_prefixes, sizeof(*a.prefixes)),
	    .pprefixes = alloc(d->opt->n_prefixes, sizeof(*a.pprefixes)),
	};
	if (!a.svcs || !a.psvcs || !a.insts || !a.pinsts || !a.nodes ||
	    !a.pnodes || !a.prefixes || !a.pprefixes) {
		rpc_call_end(call, RPC__CODE__INTERNAL, "out of memory");
		goto out;
	}
	Tun__StatusResponse r = TUN__STATUS_RESPONSE__INIT;
	char underlay[ADDR_LEN] = "";
	Tun__Counters counters;
	Tun__Counter drops[TUN_NDROPS], *pdrops[TUN_NDROPS];
	fill_self(d, &a, underlay, &r);
	fill_services(d, &a, svcs, ns, ni, &r);
	fill_nodes(&a, nodes, nn, &r);
	fill_counters(d, &counters, drops, pdrops);
	r.counters = &counters;
	rpc_call_reply(call, &r.base);
out:
	answer_free(&a);
}

static const struct rpc_method methods[] = {
    {STATUS_METHOD, &tun__status_request__descriptor, status, false},
};

int tun_control_start(struct tun_daemon *d, const struct sockaddr *addr)
{
	struct rpc_server_config cfg = {
	    .methods = methods,
	    .n_methods = sizeof(methods) / sizeof(methods[0]),
	    .data = d,
	    .timing = {(uint32_t)d->opt->keepalive_ms,
		       (uint32_t)d->opt->dead_ms},
	};
	return rpc_server_start(d->loop, addr, &cfg, &d->control);
}

void tun_control_stop(struct tun_daemon *d)
{
	if (d->control)
		rpc_server_close(d->control, NULL, NULL);
	d->control = NULL;
}
